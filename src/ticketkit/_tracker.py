"""The Tracker: the one object a host application talks to."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from attrs import evolve

from . import _changes as changes
from . import _edits as edits
from . import _relations as relations
from ._clock import Clock, SystemClock, ensure_utc
from ._config import KEY_PATTERN, TrackerConfig
from ._errors import (
    ConflictError,
    DuplicateReference,
    NotFound,
    StorageError,
    ValidationError,
)
from ._events import Event, EventType
from ._fields import FieldDef
from ._guards import TransitionInputs
from ._history import diff_events, replay, snapshot
from ._model import Attachment, Comment, LinkKind, NewAttachment, Ticket
from ._query import Condition, Page, Query, check_query, query_of
from ._search import SearchHit, search
from ._subscriptions import Subscribers, Subscription
from ._text import check_name, check_reference
from ._workflow import Action, Workflow
from .storage import Store, Transaction

if TYPE_CHECKING:
    from ._automation import Automation
    from ._automator import Automator, RunReport
    from ._macros import Macro
    from ._timelog import TimeEntry, TimeLog
    from .access import Policy, Principal, Session
    from .importers import ImportRecord, ImportReport
    from .kb import KnowledgeBase, Suggestions
    from .notify import DeliveryReport, Notifier
    from .sla import SLAStatus

__all__ = ["Tracker"]

Ref = str | int
_UNSET = edits.UNSET
_KNOWN_KEYS = 4096  # checked key strings remembered, per tracker
_REFERENCE_ATTEMPTS = 5  # tries of a comment with a reference when other writes race it


class Tracker:
    """Tickets, their workflow and their history, kept in a :class:`~ticketkit.storage.Store`.

    Every write is one transaction of the store: the new ticket state and the
    events that describe the change are kept together or not at all. Every
    write takes ``expected_version=``; when the ticket has moved on since,
    :class:`~ticketkit.ConflictError` is raised and nothing changes.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        config: TrackerConfig | None = None,
        automation: Automation | None = None,
        notifiers: Mapping[str, Notifier] | None = None,
        macros: Iterable[Macro | Mapping[str, Any]] = (),
        **settings: Any,
    ) -> None:
        if config is not None and settings:
            raise ValidationError("pass either config= or individual settings, not both")
        self.store = store
        self.clock: Clock = clock or SystemClock()
        unknown = sorted(set(settings) - {a.name for a in attrs.fields(TrackerConfig)})
        if unknown:
            known = ", ".join(a.name for a in attrs.fields(TrackerConfig))
            raise ValidationError(
                f"unknown tracker setting {unknown[0]!r}; the settings are {known}"
            )
        self.config = config or TrackerConfig(**settings)
        self._subscribers = Subscribers()
        # Key strings already checked, as given -> normalised; reads by key skip the regex.
        self._keys: dict[str, str] = {}
        self._config_lock = threading.Lock()
        self.notifiers: dict[str, Notifier] = dict(notifiers or {})
        self._automator: Automator | None = None
        if automation is not None:
            self.automation = automation
        self._macros: tuple[Macro, ...] = ()
        if macros:
            self.macros = macros

    # -- construction ---------------------------------------------------------------

    @classmethod
    def in_memory(cls, *, clock: Clock | None = None, **settings: Any) -> Tracker:
        """A tracker on the in-memory reference store (settings as for :class:`TrackerConfig`)."""
        from .storage.memory import MemoryStore

        return cls(MemoryStore(), clock=clock, **settings)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        clock: Clock | None = None,
        durability: str = "full",
        busy_timeout: float = 30.0,
        create: bool = True,
        **settings: Any,
    ) -> Tracker:
        """A tracker on the database a URL names.

        ``sqlite:///helpdesk.db`` (the embedded default), ``postgresql+psycopg://…``,
        ``mysql+pymysql://…`` (these need the ``sql`` extra and a driver extra), or
        ``memory://``. A new, empty database gets ticketkit's tables when ``create``
        is true; one at an older schema raises :class:`SchemaVersionError` saying
        what to run. ``durability`` and ``busy_timeout`` apply to SQLite.
        """
        if not isinstance(url, str):
            raise ValidationError(f"a store URL must be a string, got {url!r}")
        if url.strip() in ("memory://", "memory:"):
            return cls.in_memory(clock=clock, **settings)
        scheme = url.split(":", 1)[0].split("+", 1)[0].strip().lower()
        if scheme not in ("sqlite", "postgresql", "mysql", "mariadb"):
            raise ValidationError(
                f"unsupported database {scheme!r} in URL {url.split('@')[-1]!r}; use "
                "sqlite:///file.db, postgresql+psycopg://…, mysql+pymysql://… or memory://"
            )
        from .storage.sql import open_store

        store = open_store(url, durability=durability, busy_timeout=busy_timeout, create=create)
        try:
            return cls(store, clock=clock, **settings)
        except BaseException:
            store.close()
            raise

    @property
    def workflow(self) -> Workflow:
        return self.config.workflow

    def define_fields(self, *defs: FieldDef) -> None:
        """Add custom field definitions to this tracker, from now on.

        Defining a field again exactly as it is defined changes nothing, so a
        component can define the fields it needs every time it starts. A name
        that is already defined differently raises :class:`ValidationError` and
        no field of the call is added. Tickets already stored are not checked.
        """
        with self._config_lock:
            fields = dict(self.config.fields)
            for new in defs:
                if not isinstance(new, FieldDef):
                    raise ValidationError(
                        f"define_fields takes FieldDef objects, got {new!r}", field="fields"
                    )
                known = fields.setdefault(new.name, new)
                if known != new:
                    differ = [
                        a.name
                        for a in attrs.fields(FieldDef)
                        if getattr(known, a.name) != getattr(new, a.name)
                    ]
                    raise ValidationError(
                        f"custom field {new.name!r} is already defined with another "
                        f"{' and '.join(differ)} ({known!r}); define it the same way, or "
                        "give the new field another name",
                        field=f"fields.{new.name}",
                    )
            if len(fields) != len(self.config.fields):
                self.config = evolve(self.config, fields=fields)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Tracker workflow={self.workflow.name!r} store={self.store!r}>"

    # -- reading --------------------------------------------------------------------

    def _ref(self, ref: object) -> Ref:
        if isinstance(ref, Ticket):
            return ref.id
        if isinstance(ref, int) and not isinstance(ref, bool):
            if ref < 1:
                raise NotFound(f"no ticket with id {ref}")
            return ref
        if not isinstance(ref, str):
            raise ValidationError(
                f"a ticket reference is a key such as 'HD-12' or an id, got {ref!r}", field="key"
            )
        known = self._keys.get(ref)
        if known is not None:
            return known
        key = ref.strip().upper()
        match = KEY_PATTERN.match(key)
        if match is None:
            shown = ref if len(ref) <= 40 else ref[:37] + "..."
            raise ValidationError(
                f"{shown!r} is not a ticket key; keys look like 'HD-12'", field="key"
            )
        if match.group(1) not in self.config.prefixes:
            raise NotFound(
                f"no ticket {key}: this tracker's keys begin with "
                f"{', '.join(sorted(self.config.prefixes))}"
            )
        if len(self._keys) >= _KNOWN_KEYS:
            self._keys.clear()
        self._keys[ref] = key
        return key

    def _load(self, source: Store | Transaction, ref: object) -> Ticket:
        resolved = self._ref(ref)
        ticket = source.get_ticket(resolved)
        if ticket is None:
            raise NotFound(
                f"no ticket {resolved}"
                if isinstance(resolved, str)
                else f"no ticket with id {resolved}"
            )
        return ticket

    def get(self, ref: Ref) -> Ticket:
        """The ticket with this key (``"HD-12"``) or id; :class:`NotFound` if none."""
        return self._load(self.store, ref)

    def by_reference(self, reference: str) -> Ticket | None:
        """The ticket opened with this external ``reference``, or ``None``.

        References match exactly (case and spaces count). A ticket keeps its
        references when it is merged: the result may be a merged duplicate, whose
        ``merged_into`` names the ticket to work on.
        """
        return self.store.ticket_for_reference(check_reference(reference))

    def history(self, ref: Ref) -> list[Event]:
        """Every recorded change to the ticket, oldest first."""
        resolved = self._ref(ref)
        by_key = getattr(self.store, "events_by_key", None)
        if isinstance(resolved, str) and by_key is not None:
            # One statement instead of two where the store can (the SQL store).
            found: list[Event] = by_key(resolved)
            if found:
                return found
        return self.store.events(self._load(self.store, resolved).id)

    def as_of(self, ref: Ref, when: datetime) -> Ticket:
        """The ticket as it was at ``when``, rebuilt from its events."""
        ticket = self.get(ref)
        events = self.store.events(ticket.id, until=ensure_utc(when, "when"))
        if not events:
            raise NotFound(f"{ticket.key} did not exist yet at {when.isoformat()}")
        return replay(events)

    def comments(self, ref: Ref, *, internal: bool = True) -> list[Comment]:
        """The ticket's comments, oldest first; ``internal=False`` leaves out internal notes."""
        comments = self.store.comments(self.get(ref).id)
        return comments if internal else [c for c in comments if not c.internal]

    def attachments(self, ref: Ref) -> list[Attachment]:
        return self.store.attachments(self.get(ref).id)

    def attachment_content(self, attachment_id: int) -> bytes:
        content = None
        if isinstance(attachment_id, int) and not isinstance(attachment_id, bool):
            content = self.store.attachment_content(attachment_id)
        if content is None:
            raise NotFound(f"no attachment with id {attachment_id!r}")
        return content

    def query(
        self,
        where: Query | Mapping[str, Any] | Sequence[Condition] | None = None,
        *,
        text: str | None = None,
        order_by: Sequence[str] | str = ("id",),
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Tickets that match, one page at a time.

        ``where`` maps field names (any ticket field, ``tags``, or ``fields.<name>``)
        to a value or to ``{operator: value}``; ``text`` searches title and
        description; ``order_by`` names fields, ``-`` first for descending. Pass the
        page's ``next_cursor`` back unchanged to get the next page.
        """
        query = query_of(where, text=text, order_by=order_by, limit=limit, cursor=cursor)
        return self.store.query(check_query(query, self.config.fields))

    def search(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        """The tickets whose title, description or comments best match ``text``, best first.

        Words match whole and ignoring case; a ticket matches if it holds any of
        them, and ranks higher the more (and rarer) words it holds, most of all
        in its title and description. Punctuation and operators in ``text`` are
        never query syntax. ``limit`` is 1 to 100. Internal notes are searched.
        """
        return search(self.store, text, limit)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base kept in this tracker's store: articles and their solutions."""
        from .kb import KnowledgeBase

        return KnowledgeBase(self)

    def suggest(self, ref: Ref, *, articles: int = 3, tickets: int = 5) -> Suggestions:
        """Published knowledge-base articles and similar tickets for the ticket, best first.

        Ranked by the store's full-text engine over the ticket's title and
        description, an article rising further when the tickets most like this
        one were solved by it (see :mod:`ticketkit.kb`). Similar tickets exclude
        the ticket itself and those merged with it; an open one very like it is
        flagged ``likely_duplicate``. Only the ticket's tenant is searched.
        """
        from .kb import suggest

        return suggest(self, ticket=self.get(ref), articles=articles, tickets=tickets)

    # -- time tracking (see ticketkit._timelog) ----------------------------------------

    def log_time(
        self, ref: Ref, spent: object, *, actor: str, on: object = None, note: str | None = None
    ) -> TimeEntry:
        """Record that ``actor`` spent ``spent`` (``"1h 30m"``, a ``timedelta`` or
        seconds; at most a week) on the ticket on the day ``on`` (a ``date`` or
        ``"YYYY-MM-DD"``; default: today in UTC). A ``time_logged`` notice: the
        ticket's version does not change."""
        from ._timelog import log_time

        return log_time(self, ref, spent, actor=actor, on=on, note=note)

    def remove_time(
        self, ref: Ref, entry: int, *, actor: str, note: str | None = None
    ) -> TimeEntry:
        """Take back a wrong time entry (its ``id``); it stays in the history."""
        from ._timelog import remove_time

        return remove_time(self, ref, entry, actor=actor, note=note)

    def estimate_time(self, ref: Ref, estimate: object, *, actor: str) -> TimeLog:
        """Set (or with ``None`` clear) the ticket's estimate; return its time log."""
        from ._timelog import estimate_time

        return estimate_time(self, ref, estimate, actor=actor)

    def time_log(self, ref: Ref) -> TimeLog:
        """The ticket's live time entries, their total and its estimate."""
        from ._timelog import time_log

        return time_log(self, ref)

    # -- macros (see ticketkit._macros) ------------------------------------------------

    @property
    def macros(self) -> tuple[Macro, ...]:
        """The help desk's :class:`~ticketkit.Macro` s, in the order a front end lists them.

        Setting them (a list of macros or their data tables, as
        :meth:`Macro.from_data` reads them; ``()`` for none) checks each against this
        tracker's fields, queues and workflow: :class:`ValidationError` names the
        macro and what does not fit, and the macros stay as they were.
        """
        return self._macros

    @macros.setter
    def macros(self, macros: Iterable[Macro | Mapping[str, Any]]) -> None:
        from ._macros import check_macros

        found = check_macros(macros)
        for macro in found:
            macro.check(self.config)
        self._macros = found

    def macro(self, name: str) -> Macro:
        """The macro called ``name``; :class:`NotFound` naming the known ones if none is."""
        from ._macro_apply import find_macro

        return find_macro(self._macros, name)

    def apply_macro(
        self,
        ref: Ref,
        name: str,
        *,
        actor: str,
        expected_version: int | None = None,
        comment: str | None = None,
    ) -> Ticket:
        """Apply the macro ``name`` to the ticket as ``actor``: every step in one write.

        Field changes, priority, queue, assignee (``"me"`` is ``actor``), tags, the
        reply (followed by ``comment``, the agent's own words, in the same comment),
        then the workflow action: one transaction, one new version, each event
        marked ``data["macro"]``. A step that cannot be done raises (naming the
        macro and the step) and nothing is stored. A macro that changes nothing
        records nothing.
        """
        from ._macro_apply import apply_macro

        return apply_macro(
            self, ref, name, actor=actor, expected_version=expected_version, comment=comment
        )

    def available_macros(self, ref: Ref | Ticket, actor: str) -> list[Macro]:
        """The macros ``actor`` could apply to the ticket now: those without an action,
        and those whose action the workflow offers (as :meth:`available_actions`) once
        the macro's other steps are done."""
        from ._macro_apply import available_macros

        ticket = ref if isinstance(ref, Ticket) else self.get(ref)
        return available_macros(self, ticket, actor)

    def available_actions(self, ref: Ref | Ticket, actor: str) -> list[Action]:
        """The workflow actions a front end should offer ``actor`` on this ticket now."""
        ticket = ref if isinstance(ref, Ticket) else self.get(ref)
        if ticket.merged_into is not None:
            return []
        return self.workflow.available_actions(ticket, check_name(actor, "actor"), self.clock.now())

    # -- moving in --------------------------------------------------------------------

    def import_tickets(
        self,
        records: Iterable[ImportRecord],
        *,
        batch_size: int = 500,
        progress: Callable[[int, int | None], object] | None = None,
    ) -> ImportReport:
        """Import tickets from another system, keeping their history, in batches.

        Each batch is one transaction; ``progress(done, total)`` is called after
        each. See :mod:`ticketkit.importers` for the record format and the CSV and
        JSON Lines readers.
        """
        from ._bulk import import_tickets

        return import_tickets(self, records, batch_size=batch_size, progress=progress)

    # -- events ---------------------------------------------------------------------

    def subscribe(
        self, callback: Callable[[Event], object], *event_types: EventType | str
    ) -> Subscription:
        """Call ``callback(event)`` after each stored change (of the given types, or all).

        Callbacks run after the change is committed; one that raises is logged and
        never undoes the change or stops the others.
        """
        return self._subscribers.add(callback, event_types)

    def _publish(self, stored: Sequence[Event]) -> None:
        """After a commit: the subscribers, then the rules the events trigger."""
        self._subscribers.publish(stored)
        if self._automator is not None:
            self._automator.after_commit(stored)

    # -- automation (SLA, rules, routing, scheduler, notifications) -------------------

    @property
    def automation(self) -> Automation | None:
        """The help desk's :class:`~ticketkit.Automation`, or ``None``.

        Setting it checks it against this tracker's fields, queues and workflow
        (:class:`ValidationError` names what does not fit) and applies it from the
        next write on.
        """
        return None if self._automator is None else self._automator.automation

    @automation.setter
    def automation(self, automation: Automation | None) -> None:
        from ._automation import Automation
        from ._automator import Automator

        if automation is None:
            self._automator = None
            return
        if not isinstance(automation, Automation):
            raise ValidationError(
                f"automation must be an Automation, got {automation!r}", field="automation"
            )
        self._automator = Automator(self, automation)

    def sla_status(self, ref: Ref) -> SLAStatus:
        """Each SLA target of the ticket now: due time, business time left, state.

        :class:`ValidationError` when the tracker has no SLA policy.
        """
        automation = self.automation
        if automation is None or automation.sla is None:
            raise ValidationError(
                "this tracker has no SLA policy; give it automation=Automation(sla=SLAPolicy(...))",
                field="sla",
            )
        ticket = self.get(ref)
        assert self._automator is not None
        return self._automator.sla_status(ticket, self.store.events(ticket.id), self._now())

    def run_due(self, now: datetime | None = None) -> RunReport:
        """Do every time-based job that is due: SLA warnings and breaches, timed rules,
        reminders, auto-close, and notifications waiting to be (re)sent.

        Safe to call from many processes at once: each job is done exactly once.
        ``now`` defaults to the tracker's clock.
        """
        from ._automator import RunReport

        when = self._now() if now is None else ensure_utc(now, "now")
        if self._automator is None:
            return RunReport(delivery=self.deliver_notifications(when) if self.notifiers else None)
        return self._automator.run_due(when)

    def reschedule(self, *, batch_size: int = 500) -> int:
        """Work out every ticket's next due instant again (after setting or changing
        :attr:`automation` on a database that already holds tickets, or after an
        import); return how many tickets have scheduled work."""
        if self._automator is None:
            raise ValidationError("this tracker has no automation to schedule", field="automation")
        return self._automator.reschedule(self._now(), batch_size)

    def deliver_notifications(self, now: datetime | None = None) -> DeliveryReport:
        """Send the notifications in the outbox that are due, through :attr:`notifiers`."""
        from .notify import deliver_outbox

        when = self._now() if now is None else ensure_utc(now, "now")
        return deliver_outbox(self.store, self.notifiers, when)

    # -- writing --------------------------------------------------------------------

    def _now(self) -> datetime:
        return ensure_utc(self.clock.now(), "clock.now()")

    @staticmethod
    def _check_version(ticket: Ticket, expected_version: int | None) -> None:
        if expected_version is None:
            return
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise ValidationError(
                f"expected_version must be a whole number, got {expected_version!r}",
                field="expected_version",
            )
        if expected_version != ticket.version:
            raise ConflictError.stale(ticket.key, expected_version, ticket.version)

    def _write(
        self,
        ref: Ref,
        actor: str,
        expected_version: int | None,
        change: Callable[[Transaction, Ticket, str, datetime], tuple[Ticket, list[Event]]],
    ) -> Ticket:
        """Load, check the version, apply ``change`` and store the result atomically."""
        actor = check_name(actor, "actor")
        now = self._now()
        with self.store.transaction() as tx:
            current = self._load(tx, ref)
            self._check_version(current, expected_version)
            new, events = change(tx, current, actor, now)
            if not events:
                return current
            tx.update_ticket(new, current.version)
            stored = tx.add_events(events)
            if self._automator is not None:
                self._automator.on_write(tx, new, stored)
        self._publish(stored)
        return new

    def _field_write(
        self,
        ref: Ref,
        actor: str,
        expected_version: int | None,
        edit: Callable[[Ticket, datetime], Ticket],
        data: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Ticket:
        def change(
            tx: Transaction, current: Ticket, actor: str, now: datetime
        ) -> tuple[Ticket, list[Event]]:
            new = edit(current, now)
            return new, diff_events(current, new, actor=actor, at=now, data=data)

        return self._write(ref, actor, expected_version, change)

    def open(
        self,
        title: str,
        description: str = "",
        *,
        actor: str,
        reporter: str | None = None,
        priority: Any = _UNSET,
        impact: Any = _UNSET,
        urgency: Any = _UNSET,
        assignee: str | None = None,
        queue: str | None = None,
        tags: Iterable[str] = (),
        fields: Mapping[str, object] | None = None,
        watchers: Iterable[str] = (),
        reference: str | None = None,
        tenant: str = "default",
        organisation: str | None = None,
        attachments: Iterable[NewAttachment] = (),
    ) -> Ticket:
        """Open a ticket in the workflow's initial state; ``reporter`` defaults to ``actor``.

        Give ``priority`` directly, or ``impact`` and ``urgency`` to derive it through
        the priority matrix. ``reference`` is an external identifier (a crash
        fingerprint, a Message-ID) that no other ticket may have: when one has it,
        :class:`DuplicateReference` is raised and nothing is stored, however many
        threads or processes try at once. Find the ticket with :meth:`by_reference`.

        ``tenant`` names the help desk the ticket belongs to (in a multi-tenant host)
        and ``organisation`` the reporter's company inside it; neither changes later.
        The tracker itself is not scoped: it trusts its caller to name them.

        ``attachments`` (:class:`NewAttachment` values) are stored in the same write,
        each with its ``attachment_added`` event at version 1: the ticket and its
        files are kept together or not at all. Each file is checked as
        :meth:`attach` checks it; one bad file refuses the whole call.
        """
        actor = check_name(actor, "actor")
        if reference is not None:
            reference = check_reference(reference)
        files = edits.check_attachments(attachments, self.config.max_attachment_size)
        now = self._now()
        draft = edits.new_ticket(
            self.config,
            title=title,
            description=description,
            reporter=actor if reporter is None else reporter,
            now=now,
            priority=priority,
            impact=impact,
            urgency=urgency,
            assignee=assignee,
            queue=queue,
            tags=tags,
            fields=fields,
            watchers=watchers,
            tenant=tenant,
            organisation=organisation,
        )
        prefix = self.config.queues[draft.queue]
        if reference is not None:
            # Saves a doomed transaction in the common case; the insert below decides.
            existing = self.store.ticket_for_reference(reference)
            if existing is not None:
                raise self._duplicate(reference, existing.key)
        try:
            with self.store.transaction() as tx:
                routed = None
                if self._automator is not None and draft.assignee is None:
                    routed = self._automator.route(tx, draft)
                    if routed is not None:
                        draft = evolve(draft, assignee=routed)
                ticket = tx.create_ticket(draft, prefix)
                data: dict[str, Any] = {"ticket": snapshot(ticket)}
                if routed is not None:
                    data["routed"] = True
                if reference is not None:
                    data["reference"] = reference
                opened = Event(
                    ticket_id=ticket.id,
                    ticket_key=ticket.key,
                    version=1,
                    type=EventType.OPENED,
                    actor=actor,
                    at=now,
                    data=data,
                )
                files_added = changes.attachment_events(tx, ticket, files, actor, now)
                stored = tx.add_events([opened, *files_added])
                if self._automator is not None:
                    self._automator.on_write(tx, ticket, stored)
                if reference is not None:
                    # Last, so the reference is held for as short a time as possible.
                    tx.add_reference(ticket.id, reference)
        except DuplicateReference as exc:
            # Another writer claimed it first; its transaction has committed and ours
            # has rolled back (on PostgreSQL it could not go on), so read the holder now.
            raise self._duplicate(reference or exc.reference, exc.key) from exc
        self._publish(stored)
        return ticket

    def _duplicate(self, reference: str, key: str | None) -> DuplicateReference:
        if key is None:
            try:
                holder = self.store.ticket_for_reference(reference)
            except StorageError:
                holder = None
            key = None if holder is None else holder.key
        return DuplicateReference(
            f"reference {reference!r} already belongs to "
            f"{key or 'another ticket'}; nothing was opened (find that ticket with "
            "by_reference())",
            reference=reference,
            key=key,
        )

    def update(
        self,
        ref: Ref,
        *,
        actor: str,
        expected_version: int | None = None,
        title: Any = _UNSET,
        description: Any = _UNSET,
        priority: Any = _UNSET,
        impact: Any = _UNSET,
        urgency: Any = _UNSET,
        queue: Any = _UNSET,
        tags: Any = _UNSET,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        fields: Mapping[str, object] | None = None,
        tenant: Any = _UNSET,
        organisation: Any = _UNSET,
    ) -> Ticket:
        """Change fields; ``fields`` updates custom fields by name (``None`` clears one).

        A change that sets every value to what it already was records nothing and
        keeps the version. ``tenant`` and ``organisation`` cannot be changed: giving
        another value than the ticket's raises :class:`ValidationError`.
        """
        return self._field_write(
            ref,
            actor,
            expected_version,
            lambda t, now: edits.edit(
                self.config,
                t,
                now,
                title=title,
                description=description,
                priority=priority,
                impact=impact,
                urgency=urgency,
                queue=queue,
                tags=tags,
                add_tags=add_tags,
                remove_tags=remove_tags,
                fields=fields,
                tenant=tenant,
                organisation=organisation,
            ),
        )

    def assign(
        self, ref: Ref, assignee: str | None, *, actor: str, expected_version: int | None = None
    ) -> Ticket:
        """Give the ticket to ``assignee`` (``None`` leaves it unassigned)."""
        return self._field_write(
            ref,
            actor,
            expected_version,
            lambda t, now: edits.edit(self.config, t, now, assignee=assignee),
        )

    def transition(
        self,
        ref: Ref,
        action: str,
        *,
        actor: str,
        comment: str | None = None,
        internal: bool = False,
        resolution: str | None = None,
        fields: Mapping[str, object] | None = None,
        expected_version: int | None = None,
        reference: str | None = None,
        attachments: Iterable[NewAttachment] = (),
    ) -> Ticket:
        """Carry out a workflow action; a ``comment`` given with it is added in the same write.

        :class:`TransitionNotAllowed` when the action does not start from the ticket's
        status or a guard refuses; :class:`ValidationError` when the action needs a
        comment, resolution or field that was not given. ``reference`` is the
        comment's external identifier, as for :meth:`comment` (it needs a
        ``comment``); ``attachments`` are stored in the same write, as for :meth:`open`.
        Everything the write adds is recorded at the ticket's one new version.
        """
        if comment is not None:
            comment = edits.check_comment(comment)
        if not isinstance(internal, bool):
            raise ValidationError(
                f"internal must be true or false, got {internal!r}", field="internal"
            )
        if resolution is not None and not isinstance(resolution, str):
            raise ValidationError(
                f"resolution must be a string such as 'fixed', got {resolution!r}",
                field="resolution",
            )
        if fields is not None and not isinstance(fields, Mapping):
            raise ValidationError(
                f"fields must map field names to values, got {fields!r}", field="fields"
            )
        if reference is not None:
            reference = check_reference(reference)
            if comment is None:
                raise ValidationError(
                    "reference names the comment of a transition; give comment= too, or "
                    "leave reference out",
                    field="reference",
                )
        files = edits.check_attachments(attachments, self.config.max_attachment_size)
        inputs = TransitionInputs(comment=comment, resolution=resolution, fields=dict(fields or {}))

        def change(
            tx: Transaction, current: Ticket, actor: str, now: datetime
        ) -> tuple[Ticket, list[Event]]:
            new, events = changes.transition(self.config, current, action, actor, now, inputs)
            if comment is not None:
                events.append(
                    changes.comment_event(
                        tx, new, comment, actor, now, internal, reference=reference
                    )
                )
            events += changes.attachment_events(tx, new, files, actor, now)
            return new, events

        return self._write_once(ref, actor, expected_version, change, reference)

    def comment(
        self,
        ref: Ref,
        body: str,
        *,
        actor: str,
        internal: bool = False,
        expected_version: int | None = None,
        reference: str | None = None,
        attachments: Iterable[NewAttachment] = (),
    ) -> Comment:
        """Add a public reply, or with ``internal=True`` a note only agents see.

        ``reference`` is an external identifier of the comment (the Message-ID
        of the mail it came from) that nothing else in the store may have: when
        it was used before, :class:`DuplicateReference` is raised and nothing is
        added, however many threads or processes try at once. The ticket is then
        found with :meth:`by_reference`.

        ``attachments`` (:class:`NewAttachment` values) are stored in the same
        write, at the comment's version: the comment and its files are kept
        together or not at all. One bad file refuses the whole call.
        """
        body = edits.check_comment(body)
        if not isinstance(internal, bool):
            raise ValidationError(
                f"internal must be true or false, got {internal!r}", field="internal"
            )
        if reference is not None:
            reference = check_reference(reference)
        files = edits.check_attachments(attachments, self.config.max_attachment_size)
        added: list[Comment] = []

        def change(
            tx: Transaction, current: Ticket, actor: str, now: datetime
        ) -> tuple[Ticket, list[Event]]:
            added.clear()  # a retried write starts again
            new = evolve(current, version=current.version + 1, updated=now)
            events = [
                changes.comment_event(
                    tx, new, body, actor, now, internal, added, reference=reference
                )
            ]
            events += changes.attachment_events(tx, new, files, actor, now)
            return new, events

        self._write_once(ref, actor, expected_version, change, reference)
        return added[0]

    def _write_once(
        self,
        ref: Ref,
        actor: str,
        expected_version: int | None,
        change: Callable[[Transaction, Ticket, str, datetime], tuple[Ticket, list[Event]]],
        reference: str | None,
    ) -> Ticket:
        """:meth:`_write` for a change that claims ``reference``: at most once, ever.

        A used reference raises :class:`DuplicateReference`. A conflict with another
        write (perhaps the same change from another process) looks for the
        reference again, then tries again, unless ``expected_version`` pinned it.
        So does a write the database aborted to break a deadlock (MariaDB's, when
        writers of one reference meet on the ticket's row): it rolled back whole.
        """
        if reference is None:
            return self._write(ref, actor, expected_version, change)
        for attempt in range(_REFERENCE_ATTEMPTS):
            existing = self.store.ticket_for_reference(reference)
            if existing is not None:
                raise self._duplicate(reference, existing.key)
            try:
                return self._write(ref, actor, expected_version, change)
            except DuplicateReference as exc:
                raise self._duplicate(reference, exc.key) from exc
            except ConflictError:
                if expected_version is not None or attempt == _REFERENCE_ATTEMPTS - 1:
                    raise
            except StorageError as exc:
                if not exc.retryable or attempt == _REFERENCE_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # part the writers
        raise AssertionError("unreachable")  # pragma: no cover

    def attach(
        self,
        ref: Ref,
        filename: str,
        content: bytes,
        *,
        actor: str,
        media_type: str | None = None,
        expected_version: int | None = None,
    ) -> Attachment:
        """Attach a file; the store keeps the bytes, the ticket records name, type, size, hash.

        To store files together with a new ticket or a comment, pass
        ``attachments=`` to :meth:`open` or :meth:`comment` instead.
        """
        file = edits.check_attachment(
            filename, content, media_type, self.config.max_attachment_size
        )
        added: list[Attachment] = []

        def change(
            tx: Transaction, current: Ticket, actor: str, now: datetime
        ) -> tuple[Ticket, list[Event]]:
            added.clear()
            new = evolve(current, version=current.version + 1, updated=now)
            return new, changes.attachment_events(tx, new, [file], actor, now, added)

        self._write(ref, actor, expected_version, change)
        return added[0]

    def watch(
        self, ref: Ref, who: str, *, actor: str, expected_version: int | None = None
    ) -> Ticket:
        """Add ``who`` to the people told about changes to this ticket."""
        return self._set_watcher(ref, who, True, actor, expected_version)

    def unwatch(
        self, ref: Ref, who: str, *, actor: str, expected_version: int | None = None
    ) -> Ticket:
        """Stop telling ``who`` about changes to this ticket."""
        return self._set_watcher(ref, who, False, actor, expected_version)

    def _set_watcher(
        self, ref: Ref, who: str, watching: bool, actor: str, expected_version: int | None
    ) -> Ticket:
        who = check_name(who, "watcher")

        def edit(t: Ticket, now: datetime) -> Ticket:
            if (who in t.watchers) == watching:
                return t  # nothing to change: no event, same version
            watchers = t.watchers | {who} if watching else t.watchers - {who}
            return evolve(t, watchers=watchers, version=t.version + 1, updated=now)

        return self._field_write(ref, actor, expected_version, edit)

    def link(
        self,
        ref: Ref,
        kind: LinkKind | str,
        target: Ref,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Ticket:
        """Link two tickets (``"blocks"``, ``"parent_of"``, …); both record the link.

        Parent links may not form a cycle and a ticket has at most one parent.
        Linking what is already linked changes nothing.
        """
        return relations.link(self, ref, LinkKind.parse(kind), target, actor, expected_version)

    def unlink(
        self,
        ref: Ref,
        kind: LinkKind | str,
        target: Ref,
        *,
        actor: str,
        expected_version: int | None = None,
    ) -> Ticket:
        """Remove a link from both tickets."""
        return relations.unlink(self, ref, LinkKind.parse(kind), target, actor, expected_version)

    def merge(
        self, ref: Ref, into: Ref, *, actor: str, expected_version: int | None = None
    ) -> Ticket:
        """Merge duplicate ``ref`` into ``into``: the duplicate is closed as a duplicate,
        linked to the survivor, and its reporter and watchers watch the survivor.
        Returns the survivor."""
        return relations.merge(self, ref, into, actor, expected_version)

    # -- access control (ticketkit.access) -------------------------------------------

    @property
    def policy(self) -> Policy:
        """The access policy of :meth:`session` (``ticketkit.access.DEFAULT_POLICY``
        unless set: ``tracker.policy = RolePolicy(...)`` or a callable)."""
        policy: Policy | None = getattr(self, "_policy", None)
        if policy is None:
            from .access import DEFAULT_POLICY

            return DEFAULT_POLICY
        return policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        self._policy = policy

    def session(self, principal: Principal, *, policy: Policy | None = None) -> Session:
        """This tracker as ``principal`` may use it: every call checked by ``policy``
        (default :attr:`policy`), reads scoped to the principal's tenant.

        The tracker itself stays unscoped, for trusted host code.
        """
        from .access import Session

        return Session(self, principal, self.policy if policy is None else policy)
