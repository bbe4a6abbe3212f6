"""The mail gateway: one raw message in, a ticket opened, commented on or reopened.

Every message is parsed safely, auto-replies and bounces are ignored, each
sender is rate-limited, and a reply only lands on a ticket whose reporter or
watcher sent it. A reply to a ticket that is resolved, closed or waiting for
the customer also carries out the workflow action that takes it back to work.

Each message is taken in exactly once, by one write: the ticket or comment it
adds, its files and the action its reply carries out are stored together or
not at all, and its Message-ID becomes the ``reference`` of that ticket or
comment, so the same message delivered again (by another thread, or after a
crash) changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from .._clock import Clock, ensure_utc
from .._edits import check_filename, check_media_type
from .._errors import (
    ConflictError,
    DuplicateReference,
    NotFound,
    StorageError,
    TransitionNotAllowed,
    ValidationError,
)
from .._guards import TransitionInputs
from .._model import NewAttachment
from .._text import MAX_BODY, MAX_REFERENCE, MAX_TITLE
from .._workflow import Action, Category
from ._errors import IntakeError, MailRefused
from ._limits import MailLimits
from ._message import IncomingMessage, parse_message
from ._rate_limit import SlidingWindow

if TYPE_CHECKING:
    from .._model import Ticket
    from .._tracker import Tracker

__all__ = ["OUTCOMES", "IngestResult", "MailGateway"]

#: Who of a new message's To and Cc follow its ticket: nobody, those at the
#: sender's own domain (colleagues), or everyone copied.
CC_RULES = ("none", "same_domain", "all")
#: Every ``IngestResult.outcome``.
OUTCOMES = ("opened", "commented", "reopened", "ignored", "refused", "duplicate")
_INACTIVE = frozenset({Category.RESOLVED, Category.CLOSED})
#: The states a customer's reply takes back to work: done, or waiting for them.
_WAKE = _INACTIVE | {Category.PENDING}
_NO_TEXT = "(no text)"
_OCTET_STREAM = "application/octet-stream"
#: Tries of a message's write when other writers keep moving its ticket on, or
#: the database aborts it to break a deadlock.
_ATTEMPTS = 5


def _check_outcome(_: object, __: object, value: str) -> None:
    if value not in OUTCOMES:
        raise ValidationError(f"outcome {value!r} is not one of {', '.join(OUTCOMES)}")


@attrs.frozen
class IngestResult:
    """What :meth:`MailGateway.ingest` did with one message.

    ``outcome`` is one of :data:`OUTCOMES`; ``key`` names the ticket opened,
    commented on or reopened (for ``"duplicate"``, the ticket that already has
    the message); ``reason`` says why a message was ignored, refused or opened
    as a new ticket instead of a reply. ``skipped`` names the attachments that
    were not stored because they are over the tracker's ``max_attachment_size``.
    """

    outcome: str = attrs.field(validator=_check_outcome)
    key: str | None = None
    reason: str | None = None
    skipped: tuple[str, ...] = ()


def mail_reference(message: IncomingMessage, raw: bytes) -> str:
    """The reference a message's ticket or comment gets: ``mail:<Message-ID>``.

    A message without a Message-ID (or with one too long to store) is named
    by a SHA-256 hash instead, so the same bytes still count as the same mail.
    """
    if message.message_id is not None:
        reference = f"mail:{message.message_id}"
        if len(reference) <= MAX_REFERENCE:
            return reference
        digest = hashlib.sha256(message.message_id.encode("utf-8", "replace")).hexdigest()
        return f"mail:id-sha256:{digest}"
    return f"mail:sha256:{hashlib.sha256(raw).hexdigest()}"


def _title(subject: str) -> str:
    title = " ".join(subject.split()) or "(no subject)"
    return title if len(title) <= MAX_TITLE else title[: MAX_TITLE - 1] + "…"


def _body(text: str) -> str:
    return text if len(text) <= MAX_BODY else text[: MAX_BODY - 1] + "…"


class MailGateway:
    """Takes raw mail into ``tracker``: opens tickets, adds replies, reopens, resumes.

    ``domain`` is the domain of the Message-IDs ticketkit sends (see
    :func:`~ticketkit.intake.outgoing_headers`); ``rate_limit`` is
    ``(count, window)``, the most messages one sender may send in any window;
    new tickets go to ``queue`` (``None``: the tracker's default queue) and
    ``tenant``. ``cc`` (see :data:`CC_RULES`) makes the people a new message
    is copied to watchers of its ticket, so they follow it and may reply;
    ``own_addresses`` are the help desk's own, never made watchers.
    Thread-safe: one gateway may serve many threads.
    """

    def __init__(
        self,
        tracker: Tracker,
        *,
        domain: str,
        limits: MailLimits = MailLimits(),  # noqa: B008 - immutable
        rate_limit: tuple[int, timedelta] = (20, timedelta(hours=1)),
        queue: str | None = None,
        tenant: str = "default",
        clock: Clock | None = None,
        cc: str = "none",
        own_addresses: Sequence[str] = (),
    ) -> None:
        if not isinstance(domain, str) or not domain.strip() or any(c in domain for c in "<>@ "):
            raise IntakeError(
                f"domain {domain!r} is not a host name; pass the domain of the mail"
                " ticketkit sends, like 'help.example.com'"
            )
        if not isinstance(limits, MailLimits):
            raise IntakeError(f"limits must be a MailLimits, got {type(limits).__name__}")
        count, window = rate_limit if isinstance(rate_limit, tuple) else (None, None)
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or count < 1
            or not isinstance(window, timedelta)
            or window <= timedelta(0)
        ):
            raise IntakeError(
                f"rate_limit must be (count, window), a positive count and a positive"
                f" timedelta, got {rate_limit!r}; e.g. (20, timedelta(hours=1))"
            )
        if cc not in CC_RULES:
            raise IntakeError(f"cc must be one of {', '.join(CC_RULES)}, got {cc!r}")
        if isinstance(own_addresses, str) or not all(
            isinstance(a, str) and "@" in a for a in own_addresses
        ):
            raise IntakeError(
                f"own_addresses must be a list of the help desk's mail addresses, "
                f"got {own_addresses!r}"
            )
        self.cc = cc
        self.own_addresses = frozenset(a.strip().lower() for a in own_addresses)
        self.tracker = tracker
        self.domain = domain.strip()
        self.limits = limits
        self.queue = queue
        self.tenant = tenant
        self.clock: Clock = clock or tracker.clock
        self._senders = SlidingWindow(count, window)

    def __repr__(self) -> str:
        return f"MailGateway(domain={self.domain!r}, tenant={self.tenant!r})"

    def ingest(self, raw: bytes) -> IngestResult:
        """Take in one message; never raises for anything wrong with the message.

        A store that cannot be reached still raises (``StorageError``), so the
        caller keeps the message and tries again later. A write the database
        aborted to break a deadlock is done again here first: each message is
        taken in by one write (two, for a reply opening a new ticket beside an
        old one), so nothing of a rolled-back attempt remains.
        """
        try:
            message = parse_message(raw, limits=self.limits, our_domain=self.domain)
        except MailRefused as exc:
            return IngestResult("refused", reason=exc.reason)
        except IntakeError as exc:
            return IngestResult("refused", reason=str(exc))
        if message.is_auto:
            return IngestResult("ignored", reason=message.auto_reason)
        sender = message.sender.address.lower()
        now = ensure_utc(self.clock.now(), "clock.now()")
        if not self._senders.reserve(sender, now):
            return IngestResult("refused", reason="rate_limited")
        reference = mail_reference(message, raw)
        try:
            return self._take_retrying(message, reference)
        except DuplicateReference as exc:
            self._senders.release(sender, now)
            return self._duplicate(message, exc)
        except ValidationError as exc:
            self._senders.release(sender, now)
            return IngestResult("refused", reason=str(exc))
        except BaseException:
            self._senders.release(sender, now)  # not taken in: it will come again
            raise

    def _take_retrying(self, message: IncomingMessage, reference: str) -> IngestResult:
        for attempt in range(_ATTEMPTS):
            try:
                return self._take(message, reference)
            except StorageError as exc:
                if not exc.retryable or attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- routing ----------------------------------------------------------------------

    def _take(self, message: IncomingMessage, reference: str) -> IngestResult:
        files, skipped = self._files(message)
        target = self._reply_target(message)
        if target is None:
            ticket = self._open(message, reference, files)
            why = None
            if message.ticket_key is not None:
                why = f"{message.ticket_key} is not a ticket this sender may reply to"
            return IngestResult("opened", key=ticket.key, reason=why, skipped=skipped)
        return self._reply(target, message, reference, files, skipped)

    def _reply_target(self, message: IncomingMessage) -> Ticket | None:
        """The ticket a reply may land on, or None: it must exist and know the sender."""
        if message.ticket_key is None:
            return None
        try:
            ticket = self.tracker.get(message.ticket_key)
            if ticket.merged_into is not None:
                ticket = self.tracker.get(ticket.merged_into)
        except (NotFound, ValidationError):
            return None
        if ticket.tenant != self.tenant:
            return None
        sender = message.sender.address.lower()
        people = {ticket.reporter.lower(), *(w.lower() for w in ticket.watchers)}
        return ticket if sender in people else None

    def _reply(
        self,
        target: Ticket,
        message: IncomingMessage,
        reference: str,
        files: Sequence[NewAttachment],
        skipped: tuple[str, ...],
    ) -> IngestResult:
        """Comment on ``target``, in the same write as the action that wakes it up, if any.

        The action is chosen on the version read and carried out pinned to it;
        when another writer moves the ticket on meanwhile, the ticket is read
        again and the choice made again.
        """
        sender = message.sender.address
        text = _body(message.reply_text.strip() or message.text.strip() or _NO_TEXT)
        why: str | None = None
        for _ in range(_ATTEMPTS):
            category = self.tracker.workflow.category(target.status)
            action, refusal = self._wake_action(target, sender, text)
            if action is None and category in _INACTIVE:
                return self._open_beside(target, message, reference, files, skipped, refusal)
            if action is None:
                why = None
                break
            try:
                self.tracker.transition(
                    target.key,
                    action.name,
                    actor=sender,
                    comment=text,
                    reference=reference,
                    attachments=files,
                    expected_version=target.version,
                )
            except (TransitionNotAllowed, ConflictError) as exc:
                why = f"{action.name!r} not carried out: {exc}"
                target = self.tracker.get(target.key)
                continue
            outcome = "reopened" if category in _INACTIVE else "commented"
            return IngestResult(outcome, key=target.key, skipped=skipped)
        # No action to take, or the ticket kept changing under every try: comment only.
        self.tracker.comment(target.key, text, actor=sender, reference=reference, attachments=files)
        return IngestResult("commented", key=target.key, reason=why, skipped=skipped)

    def _wake_action(
        self, ticket: Ticket, actor: str, comment: str
    ) -> tuple[Action | None, str | None]:
        """The action a customer's reply carries out on ``ticket``, or why there is none.

        For a resolved or closed ticket (reopen) and for one waiting for the
        customer (the help desk's ``customer_replied``): the first action, in
        the workflow's order, that leads from the ticket's state to an active
        state and that the workflow allows the sender now with the reply as
        its comment. Other tickets need no action.
        """
        workflow = self.tracker.workflow
        if workflow.category(ticket.status) not in _WAKE:
            return None, None
        now = ensure_utc(self.tracker.clock.now(), "clock.now()")
        inputs = TransitionInputs(comment=comment)
        refusal = "the workflow has no action from it to an active state"
        refused = False
        for action in workflow.actions_from(ticket.status):
            if workflow.category(action.target) is not Category.ACTIVE:
                continue
            try:
                workflow.plan(ticket, action.name, actor=actor, now=now, inputs=inputs)
            except (TransitionNotAllowed, ValidationError) as exc:
                if not refused:
                    refusal, refused = str(exc), True
                continue
            return action, None
        return None, refusal

    def _open_beside(
        self,
        old: Ticket,
        message: IncomingMessage,
        reference: str,
        files: Sequence[NewAttachment],
        skipped: tuple[str, ...],
        refusal: str | None,
    ) -> IngestResult:
        """A reply to a ticket that cannot be reopened: a new ticket, related to the old."""
        ticket = self._open(message, reference, files)
        self.tracker.link(ticket.key, "relates", old.key, actor=message.sender.address)
        return IngestResult(
            "opened",
            key=ticket.key,
            reason=f"{old.key} was not reopened: {refusal}",
            skipped=skipped,
        )

    # -- writes -----------------------------------------------------------------------

    def _files(self, message: IncomingMessage) -> tuple[list[NewAttachment], tuple[str, ...]]:
        """What to store of the message's attachments, decided before anything is written.

        A file over the tracker's size limit is left out (its name is returned);
        a type the tracker would refuse, and any type for a file that must not
        be shown inline (HTML, SVG, XML), becomes ``application/octet-stream``.
        """
        limit = self.tracker.config.max_attachment_size
        files: list[NewAttachment] = []
        skipped: list[str] = []
        for number, attachment in enumerate(message.attachments, 1):
            if attachment.size > limit:
                skipped.append(attachment.filename)
                continue
            try:
                name = check_filename(attachment.filename)
            except ValidationError:
                name = f"attachment-{number}"
            media = _OCTET_STREAM if attachment.unsafe_inline else attachment.media_type
            try:
                media = check_media_type(media, name)
            except ValidationError:
                media = _OCTET_STREAM
            files.append(NewAttachment(name, attachment.content, media))
        return files, tuple(skipped)

    def _open(
        self, message: IncomingMessage, reference: str, files: Sequence[NewAttachment]
    ) -> Ticket:
        address = message.sender.address
        return self.tracker.open(
            title=_title(message.subject),
            description=_body(message.text),
            actor=address,
            reporter=address,
            queue=self.queue,
            tenant=self.tenant,
            reference=reference,
            attachments=files,
            watchers=self._copied(message),
        )

    def _copied(self, message: IncomingMessage) -> list[str]:
        """The To and Cc addresses that follow a new ticket, by the ``cc`` rule.

        Never the sender, the help desk's own addresses, or addresses at the
        gateway's domain (where its own mail comes from).
        """
        if self.cc == "none":
            return []
        sender = message.sender.address.lower()
        home = sender.rpartition("@")[2]
        found = []
        for address in message.recipients:
            domain = address.rpartition("@")[2]
            if (
                address == sender
                or address in self.own_addresses
                or domain == self.domain.lower()
                or domain.endswith("." + self.domain.lower())
            ):
                continue
            if self.cc == "all" or domain == home:
                found.append(address)
        return found

    def _duplicate(self, message: IncomingMessage, exc: DuplicateReference) -> IngestResult:
        """The message was taken in before (its ticket or comment holds the reference).

        A reply that opened a new ticket beside one it could not reopen is
        linked to it in a second write: make sure that link is there.
        """
        key = exc.key
        if key is not None and message.ticket_key is not None:
            old = self._reply_target(message)
            if (
                old is not None
                and old.key != key
                and self.tracker.workflow.category(old.status) in _INACTIVE
                and self._opened_by(key, exc.reference)
            ):
                with contextlib.suppress(NotFound, ValidationError, ConflictError):
                    self.tracker.link(key, "relates", old.key, actor=message.sender.address)
        return IngestResult("duplicate", key=key, reason="already taken in")

    def _opened_by(self, key: str, reference: str) -> bool:
        """Whether ``reference`` opened the ticket ``key`` (rather than commented on it)."""
        history = self.tracker.history(key)
        return bool(history) and history[0].data.get("reference") == reference
