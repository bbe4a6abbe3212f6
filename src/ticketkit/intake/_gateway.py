"""The mail gateway: one raw message in, a ticket opened, commented on or reopened.

Every message is parsed safely, auto-replies and bounces are ignored, each
sender is rate-limited, and a reply only lands on a ticket whose reporter or
watcher sent it. Each message is taken in exactly once: its Message-ID becomes
the ``reference`` of the ticket or comment it adds, so the same message
delivered again (by another thread, or after a crash) changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from .._clock import Clock, ensure_utc
from .._errors import (
    ConflictError,
    DuplicateReference,
    NotFound,
    TransitionNotAllowed,
    ValidationError,
)
from .._events import EventType
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

#: Every ``IngestResult.outcome``.
OUTCOMES = ("opened", "commented", "reopened", "ignored", "refused", "duplicate")
_INACTIVE = frozenset({Category.RESOLVED, Category.CLOSED})
_NO_TEXT = "(no text)"


def _check_outcome(_: object, __: object, value: str) -> None:
    if value not in OUTCOMES:
        raise ValidationError(f"outcome {value!r} is not one of {', '.join(OUTCOMES)}")


@attrs.frozen
class IngestResult:
    """What :meth:`MailGateway.ingest` did with one message.

    ``outcome`` is one of :data:`OUTCOMES`; ``key`` names the ticket opened,
    commented on or reopened (for ``"duplicate"``, the ticket that already has
    the message); ``reason`` says why a message was ignored, refused or opened
    as a new ticket instead of a reply.
    """

    outcome: str = attrs.field(validator=_check_outcome)
    key: str | None = None
    reason: str | None = None


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
    """Takes raw mail into ``tracker``: opens tickets, adds replies, reopens.

    ``domain`` is the domain of the Message-IDs ticketkit sends (see
    :func:`~ticketkit.intake.outgoing_headers`); ``rate_limit`` is
    ``(count, window)``, the most messages one sender may send in any window;
    new tickets go to ``queue`` (``None``: the tracker's default queue) and
    ``tenant``. Thread-safe: one gateway may serve many threads.
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
        caller keeps the message and tries again later.
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
            result = self._take(message, reference)
        except DuplicateReference as exc:
            self._senders.release(sender, now)
            return self._duplicate(message, exc)
        except ValidationError as exc:
            self._senders.release(sender, now)
            return IngestResult("refused", reason=str(exc))
        return result

    # -- routing ----------------------------------------------------------------------

    def _take(self, message: IncomingMessage, reference: str) -> IngestResult:
        target = self._reply_target(message)
        if target is None:
            ticket = self._open(message, reference)
            why = None
            if message.ticket_key is not None:
                why = f"{message.ticket_key} is not a ticket this sender may reply to"
            return IngestResult("opened", key=ticket.key, reason=why)
        if self.tracker.workflow.category(target.status) not in _INACTIVE:
            self._comment(target, message, reference)
            return IngestResult("commented", key=target.key)
        action = self._reopen_action(target)
        refusal = "the workflow has no action that reopens it"
        if action is not None:
            try:
                now = ensure_utc(self.tracker.clock.now(), "clock.now()")
                self.tracker.workflow.plan(
                    target, action.name, actor=message.sender.address, now=now
                )
            except TransitionNotAllowed as exc:
                refusal = str(exc)
            else:
                self._comment(target, message, reference)
                return self._reopen(target.key, action, message.sender.address)
        ticket = self._open(message, reference)
        self.tracker.link(ticket.key, "relates", target.key, actor=message.sender.address)
        return IngestResult(
            "opened", key=ticket.key, reason=f"{target.key} was not reopened: {refusal}"
        )

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

    def _reopen_action(self, ticket: Ticket) -> Action | None:
        workflow = self.tracker.workflow
        for action in workflow.actions_from(ticket.status):
            if workflow.category(action.target) is Category.ACTIVE:
                return action
        return None

    def _reopen(self, key: str, action: Action, actor: str) -> IngestResult:
        """Carry out ``action``; a ticket another writer reopened meanwhile counts too."""
        try:
            self.tracker.transition(key, action.name, actor=actor)
        except (TransitionNotAllowed, ConflictError) as exc:
            now = self.tracker.get(key)
            if self.tracker.workflow.category(now.status) in _INACTIVE:
                return IngestResult("commented", key=key, reason=f"not reopened: {exc}")
        return IngestResult("reopened", key=key)

    # -- writes -----------------------------------------------------------------------

    def _open(self, message: IncomingMessage, reference: str) -> Ticket:
        address = message.sender.address
        ticket = self.tracker.open(
            title=_title(message.subject),
            description=_body(message.text),
            actor=address,
            reporter=address,
            queue=self.queue,
            tenant=self.tenant,
            reference=reference,
        )
        self._attach(ticket.key, message)
        return ticket

    def _comment(self, ticket: Ticket, message: IncomingMessage, reference: str) -> None:
        text = message.reply_text.strip() or message.text.strip() or _NO_TEXT
        self.tracker.comment(
            ticket.key, _body(text), actor=message.sender.address, reference=reference
        )
        self._attach(ticket.key, message)

    def _attach(self, key: str, message: IncomingMessage) -> None:
        for attachment in message.attachments:
            media = "application/octet-stream" if attachment.unsafe_inline else None
            for media_type in (media or attachment.media_type, "application/octet-stream"):
                try:
                    self.tracker.attach(
                        key,
                        attachment.filename,
                        attachment.content,
                        actor=message.sender.address,
                        media_type=media_type,
                    )
                    break
                except ValidationError as exc:
                    if exc.field != "media_type":
                        break  # over the tracker's size limit: the rest still go in

    def _duplicate(self, message: IncomingMessage, exc: DuplicateReference) -> IngestResult:
        """The message was taken in before; finish a reopen a crash may have cut short."""
        key = exc.key
        if key is not None and message.ticket_key is not None:
            try:
                ticket = self.tracker.get(key)
            except NotFound:
                return IngestResult("duplicate", key=key, reason="already taken in")
            if self._reopen_cut_short(ticket, exc.reference):
                action = self._reopen_action(ticket)
                if action is not None:
                    with contextlib.suppress(TransitionNotAllowed, ConflictError):
                        self.tracker.transition(key, action.name, actor=message.sender.address)
        return IngestResult("duplicate", key=key, reason="already taken in")

    def _reopen_cut_short(self, ticket: Ticket, reference: str) -> bool:
        """True when our comment is on an inactive ticket with no status change since."""
        if self.tracker.workflow.category(ticket.status) not in _INACTIVE:
            return False
        commented_at: datetime | None = None
        for event in self.tracker.history(ticket.key):
            if event.type is EventType.COMMENTED and event.data.get("reference") == reference:
                commented_at = event.at
            elif event.type is EventType.STATUS_CHANGED and commented_at is not None:
                return False
        return commented_at is not None
