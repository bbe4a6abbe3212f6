"""Sessions: the Tracker's API for one principal, every call checked by a policy.

A :class:`Session` is what a front end holds for a signed-in user. It offers the
Tracker's operations with the actor fixed to the principal, and it

* asks the policy before every operation, and records each refusal in the
  store's access log (:meth:`Session.denials` shows it to administrators);
* reads only the principal's tenant: every store read carries
  ``tenant=principal.tenant``, and queries add the principal's visibility
  conditions, so another tenant's data is never even loaded;
* answers for a ticket the principal may not see exactly as for one that does
  not exist (:class:`~ticketkit.NotFound`, same message), and raises
  :class:`~ticketkit.PermissionDenied` naming the permission for a visible
  ticket the principal may not change (nothing is changed);
* shows customers what the view functions leave of a ticket: no internal
  notes, no internal fields, no other customers' addresses.

The plain :class:`~ticketkit.Tracker` stays unscoped, for trusted host code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import evolve

from .._access_log import Denial
from .._clock import ensure_utc
from .._edits import check_attachments
from .._errors import ConflictError, NotFound, PermissionDenied, ValidationError
from .._events import Event, EventType
from .._history import replay
from .._model import Attachment, Comment, LinkKind, NewAttachment, Ticket
from .._query import Condition, Page, Query, check_query, query_of
from .._search import SearchHit, check_search, terms, words
from .._subscriptions import Subscription
from .._text import check_name, check_reference
from .._workflow import Action
from . import _personal
from ._policy import Decision, Permission, Policy, PolicyFunction, as_policy
from ._principal import Principal
from ._rules import visibility_conditions
from ._view import view_attachments, view_comments, view_events, view_ticket

if TYPE_CHECKING:
    from .._macros import Macro
    from .._timelog import TimeEntry, TimeLog
    from .._tracker import Ref, Tracker
    from ..kb import Suggestions
    from ..sla import SLAStatus
    from ._kb import SessionKnowledgeBase

__all__ = ["Session"]

T = TypeVar("T")

_RETRIES = 5  # a write re-checked after a concurrent change, at most this often
_SCAN_PAGE = 500  # tickets read per page when a search must look at visible tickets only


class Session:
    """The Tracker's operations as one principal may carry them out.

    Make one with :meth:`ticketkit.Tracker.session`. Every method takes the
    same arguments as the Tracker's method of the same name, without
    ``actor=`` (the actor is always ``principal.id``).
    """

    def __init__(
        self, tracker: Tracker, principal: Principal, policy: Policy | PolicyFunction
    ) -> None:
        if not isinstance(principal, Principal):
            raise ValidationError(
                f"a session needs a ticketkit.access.Principal, got {principal!r}",
                field="principal",
            )
        check_name(principal.id, "principal.id")
        self.tracker = tracker
        self.principal = principal
        self.policy: Policy = as_policy(policy)
        self.tenant: str = principal.tenant
        self._scope: tuple[Condition, ...] | None = None

    def __repr__(self) -> str:
        p = self.principal
        return f"<Session {p.id!r} role={p.role.value} tenant={p.tenant!r}>"

    # -- checks -------------------------------------------------------------------

    def decide(
        self, permission: Permission | str, ticket: Ticket | None = None, detail: str | None = None
    ) -> Decision:
        """The policy's :class:`~ticketkit.access.Decision` for this principal (records nothing)."""
        return self.policy.decide(self.principal, Permission.parse(permission), ticket, detail)

    def _allowed(
        self, permission: Permission | str, ticket: Ticket | None, detail: str | None = None
    ) -> bool:
        return bool(self.decide(permission, ticket, detail).allowed)

    def _record(self, permission: Permission | str, target: str, reason: str) -> None:
        """Write one refusal to the access log; a failing log never hides the refusal."""
        _personal.record_denial(self, str(permission), target, reason)

    def _require(
        self, permission: Permission | str, ticket: Ticket | None, detail: str | None = None
    ) -> None:
        decision = self.decide(permission, ticket, detail)
        if decision.allowed:
            return
        what = Permission.parse(permission).value
        target = " ".join(x for x in (ticket and ticket.key, detail) if x) or "-"
        self._record(what, target, decision.reason)
        on = f" on {ticket.key}" if ticket is not None else ""
        extra = f" ({detail})" if detail else ""
        raise PermissionDenied(
            f"permission {what!r}{extra} denied to {self.principal.id}{on}: {decision.reason}"
        )

    @staticmethod
    def _missing(resolved: Ref) -> NotFound:
        # Word for word what Tracker.get says of a ticket that does not exist.
        if isinstance(resolved, str):
            return NotFound(f"no ticket {resolved}")
        return NotFound(f"no ticket with id {resolved}")

    def _find(self, ref: object, permission: Permission | str = "read") -> Ticket:
        """The ticket, if this principal may see it; else the NotFound of a missing one."""
        resolved = self.tracker._ref(ref.key if isinstance(ref, Ticket) else ref)
        ticket = self.tracker.store.get_ticket(resolved, tenant=self.tenant)
        if ticket is not None:
            decision = self.decide("read", ticket)
            if decision.allowed:
                return ticket
            reason = decision.reason
        else:
            reason = "no such ticket in the tenant"
        self._record(permission, str(resolved), reason)
        raise self._missing(resolved)

    def _readable(self, ticket: Ticket) -> bool:
        return ticket.tenant == self.tenant and self._allowed("read", ticket)

    @property
    def sees_internal(self) -> bool:
        """Whether this principal reads internal notes and fields (agents and above)."""
        return self._allowed("read_internal", None)

    def _key_visible(self, key: str) -> bool:
        ticket = self.tracker.store.get_ticket(key, tenant=self.tenant)
        return ticket is not None and self._allowed("read", ticket)

    def _view(self, ticket: Ticket) -> Ticket:
        return view_ticket(
            self.principal,
            ticket,
            self.tracker.config.fields,
            policy=self.policy,
            keys=self._key_visible,
        )

    def _write(
        self,
        ref: object,
        permission: Permission | str,
        check: Callable[[Ticket], None],
        write: Callable[[Ticket, int], T],
        expected_version: int | None,
    ) -> T:
        """Find, check, and write pinned to the version checked; re-check after a race."""
        for attempt in range(_RETRIES):
            ticket = self._find(ref, permission)
            check(ticket)
            version = ticket.version if expected_version is None else expected_version
            try:
                return write(ticket, version)
            except ConflictError:
                if expected_version is not None or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading ------------------------------------------------------------------

    def get(self, ref: Ref) -> Ticket:
        """The ticket, as this principal may see it; :class:`NotFound` if hidden or missing."""
        return self._view(self._find(ref))

    def by_reference(self, reference: str) -> Ticket | None:
        """The visible ticket opened with this external reference, or ``None``."""
        ticket = self.tracker.store.ticket_for_reference(
            check_reference(reference), tenant=self.tenant
        )
        if ticket is None or not self._readable(ticket):
            return None
        return self._view(ticket)

    def history(self, ref: Ref) -> list[Event]:
        """The ticket's events this principal may see, oldest first."""
        ticket = self._find(ref)
        events = self.tracker.store.events(ticket.id, tenant=self.tenant)
        return self._view_events(ticket, events)

    def sla_status(self, ref: Ref) -> SLAStatus:
        """The ticket's SLA clocks (:meth:`Tracker.sla_status`), for staff who may read it.

        Customers are refused: how the help desk measures itself is for staff.
        """
        ticket = self._find(ref)
        if not self.sees_internal:
            self._require(Permission.ADMINISTER, ticket, "SLA status")
        return self.tracker.sla_status(ticket.id)

    # -- time tracking ----------------------------------------------------------------

    def time_log(self, ref: Ref) -> TimeLog:
        """The ticket's time entries and estimate, for staff who read internal notes."""
        ticket = self._find(ref)
        self._require(Permission.READ_INTERNAL, ticket, "time log")
        return self.tracker.time_log(ticket.id)

    def log_time(
        self, ref: Ref, spent: object, *, on: object = None, note: str | None = None
    ) -> TimeEntry:
        """Log the principal's own time on the ticket (``log_time``)."""
        ticket = self._find(ref)
        self._require(Permission.LOG_TIME, ticket)
        return self.tracker.log_time(ticket.id, spent, actor=self.principal.id, on=on, note=note)

    def remove_time(self, ref: Ref, entry: int, *, note: str | None = None) -> TimeEntry:
        """Take back a time entry: one's own with ``log_time``; another's needs ``administer``."""
        ticket = self._find(ref)
        self._require(Permission.LOG_TIME, ticket)
        log = self.tracker.time_log(ticket.id)
        mine = any(e.id == entry and e.agent == self.principal.id for e in log.entries)
        if not mine and any(e.id == entry for e in log.entries):
            self._require(Permission.ADMINISTER, ticket, "another person's time entry")
        return self.tracker.remove_time(ticket.id, entry, actor=self.principal.id, note=note)

    def estimate_time(self, ref: Ref, estimate: object) -> TimeLog:
        """Set or clear the ticket's estimate (``log_time``)."""
        ticket = self._find(ref)
        self._require(Permission.LOG_TIME, ticket)
        return self.tracker.estimate_time(ticket.id, estimate, actor=self.principal.id)

    def _view_events(self, ticket: Ticket, events: list[Event]) -> list[Event]:
        return view_events(
            self.principal,
            ticket,
            events,
            self.tracker.config.fields,
            policy=self.policy,
            keys=self._key_visible,
        )

    def as_of(self, ref: Ref, when: datetime) -> Ticket:
        """The ticket as it was at ``when``, as this principal may see it."""
        ticket = self._find(ref)
        events = self.tracker.store.events(
            ticket.id, until=ensure_utc(when, "when"), tenant=self.tenant
        )
        if not events:
            raise NotFound(f"{ticket.key} did not exist yet at {when.isoformat()}")
        return self._view(replay(events))

    def comments(self, ref: Ref, *, internal: bool = True) -> list[Comment]:
        """The comments this principal may read, oldest first (customers: no internal notes)."""
        ticket = self._find(ref)
        found = self.tracker.store.comments(ticket.id, tenant=self.tenant)
        if not internal:
            found = [c for c in found if not c.internal]
        return view_comments(self.principal, ticket, found, policy=self.policy)

    def attachments(self, ref: Ref) -> list[Attachment]:
        """The attachments of a visible ticket (customers see no other uploader's address)."""
        ticket = self._find(ref)
        found = self.tracker.store.attachments(ticket.id, tenant=self.tenant)
        return view_attachments(self.principal, ticket, found, policy=self.policy)

    def attachment_content(self, attachment_id: int) -> bytes:
        """An attachment's bytes; the NotFound of a missing one unless its ticket is visible."""
        missing = NotFound(f"no attachment with id {attachment_id!r}")
        if not isinstance(attachment_id, int) or isinstance(attachment_id, bool):
            raise missing
        store = self.tracker.store
        meta = store.get_attachment(attachment_id, tenant=self.tenant)
        ticket = None if meta is None else store.get_ticket(meta.ticket_id, tenant=self.tenant)
        content = None
        if ticket is not None and self._readable(ticket):
            content = store.attachment_content(attachment_id, tenant=self.tenant)
        if content is None:
            self._record("read", f"attachment {attachment_id}", "no visible attachment")
            raise missing
        return content

    def _check_query_fields(self, query: Query) -> None:
        """Customers may not filter or sort on what they may not see (no value oracles)."""
        if self.sees_internal:
            return
        internal = {
            f"fields.{name}"
            for name, fd in self.tracker.config.fields.items()
            if getattr(fd, "internal", False)
        }
        me = self.principal.id
        todo: list[object] = list(query.conditions)
        while todo:
            cond = todo.pop()
            if not isinstance(cond, Condition):
                continue  # check_query refuses it
            if cond.op == "any" and isinstance(cond.value, tuple | list):
                todo.extend(cond.value)  # every alternative is checked too
                continue
            if cond.field in internal:
                raise ValidationError(
                    f"cannot query on unknown field {cond.field!r}", field=cond.field
                )
            if cond.field in ("watchers", "reporter") and cond.value != me:
                raise ValidationError(
                    f"a customer may only look for their own address in {cond.field!r}; "
                    f"compare it with {me!r}",
                    field=cond.field,
                )
        for item in query.order_by:
            if isinstance(item, str) and item.removeprefix("-") in internal | {"reporter"}:
                raise ValidationError(f"cannot sort by {item!r}", field="order_by")

    def query(
        self,
        where: Query | Mapping[str, Any] | Sequence[Condition] | None = None,
        *,
        text: str | None = None,
        order_by: Sequence[str] | str = ("id",),
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Tickets that match, among those this principal may see, one page at a time.

        The principal's visibility conditions are part of the query, so a cursor
        only resumes the query (and the principal) it came from.
        """
        query = query_of(where, text=text, order_by=order_by, limit=limit, cursor=cursor)
        self._check_query_fields(query)
        if self._scope is None:
            self._scope = tuple(visibility_conditions(self.principal, self.policy))
        query = Query(
            conditions=(*query.conditions, *self._scope),
            text=query.text,
            order_by=query.order_by,
            limit=query.limit,
            cursor=query.cursor,
        )
        page = self.tracker.store.query(
            check_query(query, self.tracker.config.fields), tenant=self.tenant
        )
        items = tuple(self._view(t) for t in page.items if self._readable(t))
        return Page(items, page.next_cursor)

    def search(self, text: str, *, limit: int = 20) -> list[SearchHit]:
        """The visible tickets that best match ``text``, best first.

        For principals who may not read internal notes, a ticket matches (and
        ranks) only by its title, description and public comments.
        """
        checked, most = check_search(text, limit)
        wanted = [w.casefold() for w in words(checked)]
        if not wanted:
            return []
        if not self.sees_internal:
            return self._public_search(wanted, most)
        if self._scope is None:
            self._scope = tuple(visibility_conditions(self.principal, self.policy))
        visible = check_query(Query(conditions=self._scope), self.tracker.config.fields)
        found = self.tracker.store.search(checked, limit=most, tenant=self.tenant, where=visible)
        return [SearchHit(self._view(t), s) for t, s in found if self._readable(t)]

    def _public_search(self, wanted: list[str], most: int) -> list[SearchHit]:
        hits: list[SearchHit] = []
        cursor: str | None = None
        while True:
            page = self.query(limit=_SCAN_PAGE, cursor=cursor)
            for ticket in page.items:
                score = self._public_score(ticket, wanted)
                if score > 0:
                    hits.append(SearchHit(ticket, score))
            cursor = page.next_cursor
            if cursor is None:
                break
        hits.sort(key=lambda h: (-h.score, h.ticket.id))
        return hits[:most]

    def _public_score(self, ticket: Ticket, wanted: list[str]) -> float:
        main = set(terms(f"{ticket.title} {ticket.description}"))
        public = [
            c.body
            for c in self.tracker.store.comments(ticket.id, tenant=self.tenant)
            if not c.internal and getattr(c, "redacted_at", None) is None
        ]
        rest = set(terms(" ".join(public)))
        return float(sum(3 if w in main else 1 if w in rest else 0 for w in wanted))

    def available_actions(self, ref: Ref | Ticket) -> list[Action]:
        """The workflow actions this principal may take on the ticket now."""
        ticket = self._find(ref)
        offered = self.tracker.available_actions(ticket, self.principal.id)
        return [a for a in offered if self._allowed("transition", ticket, a.name)]

    # -- macros -------------------------------------------------------------------

    def available_macros(self, ref: Ref | Ticket) -> list[Macro]:
        """The macros this principal may apply to the ticket now.

        Macros are a staff tool: principals without ``read_internal`` (customers,
        under the default policy) get none. Of the tracker's
        :meth:`~ticketkit.Tracker.available_macros`, those remain whose every step
        the policy allows (see :meth:`ticketkit.Macro.permissions`).
        """
        ticket = self._find(ref)
        if not self._allowed("read_internal", ticket):
            return []
        me = self.principal.id
        return [
            macro
            for macro in self.tracker.available_macros(ticket, me)
            if all(self._allowed(p, ticket, d) for p, d in macro.permissions(me))
        ]

    def apply_macro(
        self,
        ref: Ref,
        name: str,
        *,
        expected_version: int | None = None,
        comment: str | None = None,
    ) -> Ticket:
        """Apply a macro as the principal: ``read_internal`` first, then each step's
        permission (``change_field`` per field, ``assign``, ``comment`` or
        ``internal_note``, ``transition``). A refusal raises
        :class:`~ticketkit.PermissionDenied` naming it, and nothing is stored."""
        me = self.principal.id

        def check(ticket: Ticket) -> None:
            self._require("read_internal", ticket, "macros")
            macro = self.tracker.macro(name)
            for permission, detail in macro.permissions(me, comment=comment is not None):
                self._require(permission, ticket, detail)

        new = self._write(
            ref,
            "read_internal",
            check,
            lambda t, v: self.tracker.apply_macro(
                t.key, name, actor=me, expected_version=v, comment=comment
            ),
            expected_version,
        )
        return self._view(new)

    def subscribe(
        self, callback: Callable[[Event], object], *event_types: EventType | str
    ) -> Subscription:
        """Call ``callback(event)`` after each stored change this principal may see.

        Events of other tenants and of tickets the principal may not read are
        never delivered; customers get each event as :func:`view_events` leaves it.
        """
        if not callable(callback):
            raise ValidationError(f"subscribe needs a callable, got {callback!r}")

        def deliver(event: Event) -> None:
            ticket = self.tracker.store.get_ticket(event.ticket_id, tenant=self.tenant)
            if ticket is None or not self._readable(ticket):
                return
            for shown in self._view_events(ticket, [event]):
                callback(shown)

        deliver.__name__ = getattr(callback, "__name__", "callback")
        return self.tracker.subscribe(deliver, *event_types)

    # -- writing ------------------------------------------------------------------

    def _files(self, attachments: Iterable[NewAttachment]) -> tuple[NewAttachment, ...]:
        """``attachments=`` checked once, so the permission check and the write see the same."""
        return check_attachments(attachments, self.tracker.config.max_attachment_size)

    def open(
        self,
        title: str,
        description: str = "",
        *,
        reporter: str | None = None,
        assignee: str | None = None,
        queue: str | None = None,
        watchers: Iterable[str] = (),
        fields: Mapping[str, object] | None = None,
        attachments: Iterable[NewAttachment] = (),
        **more: Any,
    ) -> Ticket:
        """Open a ticket in the principal's tenant (and organisation); the principal reports it.

        Opening for someone else (``reporter``), assigning, adding watchers,
        setting fields and attaching files need the permissions those changes
        need on their own.
        """
        if "tenant" in more or "organisation" in more or "actor" in more:
            raise ValidationError(
                "a session opens tickets in its principal's tenant and organisation, as "
                "its principal; use the Tracker for anything else"
            )
        target = queue or self.tracker.config.default_queue
        self._require("create", None, target)
        if reporter is not None and reporter != self.principal.id:
            self._require("change_field", None, "reporter")
        if assignee is not None:
            self._require("assign", None, assignee)
        watchers = list(watchers)
        for other in watchers:
            if other != self.principal.id:
                self._require("watch", None, other)
        for name in fields or {}:
            self._require("change_field", None, f"fields.{name}")
        for name in ("priority", "impact", "urgency", "tags"):
            if more.get(name) not in (None, ()):
                self._require("change_field", None, name)
        files = self._files(attachments)
        if files:
            self._require("attach", None)
        ticket = self.tracker.open(
            title,
            description,
            actor=self.principal.id,
            reporter=reporter,
            assignee=assignee,
            queue=queue,
            watchers=watchers,
            fields=fields,
            tenant=self.tenant,
            organisation=self.principal.organisation,
            attachments=files,
            **more,
        )
        return self._view(ticket)

    def update(self, ref: Ref, *, expected_version: int | None = None, **changes: Any) -> Ticket:
        """Change fields; each field changed needs ``change_field`` for its name."""
        names = [n for n in changes if n not in ("fields", "add_tags", "remove_tags")]
        if changes.get("add_tags") or changes.get("remove_tags"):
            names.append("tags")
        names += [f"fields.{n}" for n in changes.get("fields") or {}]

        def check(ticket: Ticket) -> None:
            for name in sorted(set(names)):
                self._require("change_field", ticket, name)

        new = self._write(
            ref,
            "change_field",
            check,
            lambda t, v: self.tracker.update(
                t.key, actor=self.principal.id, expected_version=v, **changes
            ),
            expected_version,
        )
        return self._view(new)

    def assign(
        self, ref: Ref, assignee: str | None, *, expected_version: int | None = None
    ) -> Ticket:
        new = self._write(
            ref,
            "assign",
            lambda t: self._require("assign", t, assignee),
            lambda t, v: self.tracker.assign(
                t.key, assignee, actor=self.principal.id, expected_version=v
            ),
            expected_version,
        )
        return self._view(new)

    def transition(
        self,
        ref: Ref,
        action: str,
        *,
        comment: str | None = None,
        internal: bool = False,
        resolution: str | None = None,
        fields: Mapping[str, object] | None = None,
        expected_version: int | None = None,
    ) -> Ticket:
        """Carry out a workflow action the policy allows this principal on this ticket."""

        def check(ticket: Ticket) -> None:
            self._require("transition", ticket, str(action))
            if comment is not None:
                self._require("internal_note" if internal else "comment", ticket)
            for name in fields or {}:
                self._require("change_field", ticket, f"fields.{name}")

        new = self._write(
            ref,
            "transition",
            check,
            lambda t, v: self.tracker.transition(
                t.key,
                action,
                actor=self.principal.id,
                comment=comment,
                internal=internal,
                resolution=resolution,
                fields=fields,
                expected_version=v,
            ),
            expected_version,
        )
        return self._view(new)

    def comment(
        self,
        ref: Ref,
        body: str,
        *,
        internal: bool = False,
        expected_version: int | None = None,
        attachments: Iterable[NewAttachment] = (),
    ) -> Comment:
        """A public reply (``comment``), or an internal note (``internal_note``).

        Files given with it (stored in the same write) need ``attach`` as well.
        """
        permission = "internal_note" if internal is True else "comment"
        files = self._files(attachments)

        def check(ticket: Ticket) -> None:
            self._require(permission, ticket)
            if files:
                self._require("attach", ticket)

        return self._write(
            ref,
            permission,
            check,
            lambda t, v: self.tracker.comment(
                t.key,
                body,
                actor=self.principal.id,
                internal=internal,
                expected_version=v,
                attachments=files,
            ),
            expected_version,
        )

    def attach(
        self,
        ref: Ref,
        filename: str,
        content: bytes,
        *,
        media_type: str | None = None,
        expected_version: int | None = None,
    ) -> Attachment:
        return self._write(
            ref,
            "attach",
            lambda t: self._require("attach", t),
            lambda t, v: self.tracker.attach(
                t.key,
                filename,
                content,
                actor=self.principal.id,
                media_type=media_type,
                expected_version=v,
            ),
            expected_version,
        )

    def watch(
        self, ref: Ref, who: str | None = None, *, expected_version: int | None = None
    ) -> Ticket:
        """Add ``who`` (default: the principal) to the ticket's watchers."""
        return self._set_watcher(ref, who, True, expected_version)

    def unwatch(
        self, ref: Ref, who: str | None = None, *, expected_version: int | None = None
    ) -> Ticket:
        return self._set_watcher(ref, who, False, expected_version)

    def _set_watcher(
        self, ref: Ref, who: str | None, watching: bool, expected_version: int | None
    ) -> Ticket:
        person = self.principal.id if who is None else check_name(who, "watcher")
        detail = None if person == self.principal.id else person
        method = self.tracker.watch if watching else self.tracker.unwatch
        new = self._write(
            ref,
            "watch",
            lambda t: self._require("watch", t, detail),
            lambda t, v: method(t.key, person, actor=self.principal.id, expected_version=v),
            expected_version,
        )
        return self._view(new)

    def _pair(
        self,
        ref: Ref,
        other: Ref,
        permission: str,
        write: Callable[[Ticket, Ticket, int], Ticket],
        expected_version: int | None,
    ) -> Ticket:
        def check(ticket: Ticket) -> None:
            self._require(permission, ticket)

        def both(ticket: Ticket, version: int) -> Ticket:
            second = self._find(other, permission)
            self._require(permission, second)
            return write(ticket, second, version)

        return self._view(self._write(ref, permission, check, both, expected_version))

    def link(
        self, ref: Ref, kind: LinkKind | str, target: Ref, *, expected_version: int | None = None
    ) -> Ticket:
        """Link two tickets this principal may both see and link."""
        return self._pair(
            ref,
            target,
            "link",
            lambda a, b, v: self.tracker.link(
                a.key, kind, b.key, actor=self.principal.id, expected_version=v
            ),
            expected_version,
        )

    def unlink(
        self, ref: Ref, kind: LinkKind | str, target: Ref, *, expected_version: int | None = None
    ) -> Ticket:
        return self._pair(
            ref,
            target,
            "link",
            lambda a, b, v: self.tracker.unlink(
                a.key, kind, b.key, actor=self.principal.id, expected_version=v
            ),
            expected_version,
        )

    def merge(self, ref: Ref, into: Ref, *, expected_version: int | None = None) -> Ticket:
        """Merge ``ref`` into ``into``; both must be visible and mergeable. Returns the survivor."""
        return self._pair(
            ref,
            into,
            "merge",
            lambda a, b, v: self.tracker.merge(
                a.key, b.key, actor=self.principal.id, expected_version=v
            ),
            expected_version,
        )

    # -- personal data and the access log ------------------------------------------

    def redact_comment(self, ref: Ref, comment_id: int) -> Comment:
        """Remove a comment's text everywhere it is kept; a ``redacted`` event records who, when."""
        return _personal.redact_comment(self, ref, comment_id)

    def redact_field(self, ref: Ref, field: str) -> Ticket:
        """Clear a custom field (or the description) now and in every past event."""
        return _personal.redact_field(self, ref, field)

    def erase_person(self, person: str) -> str:
        """Replace ``person`` by a pseudonym across the tenant; return the pseudonym."""
        return _personal.erase_person(self, person)

    def export_person(self, person: str) -> dict[str, Any]:
        """Everything the tenant holds about ``person``, JSON-ready."""
        return _personal.export_person(self, person)

    def denials(self, *, limit: int = 100) -> list[Denial]:
        """The tenant's refused attempts, newest first (administrators only)."""
        self._require("administer", None, "access log")
        return list(self.tracker.store.denials(tenant=self.tenant, limit=limit))

    # -- the knowledge base -------------------------------------------------------

    @property
    def kb(self) -> SessionKnowledgeBase:
        """The knowledge base as this principal may use it (see :mod:`ticketkit.kb`)."""
        from ._kb import SessionKnowledgeBase

        return SessionKnowledgeBase(self)

    def suggest(self, ref: Ref, *, articles: int = 3, tickets: int = 5) -> Suggestions:
        """Published articles and similar tickets for a ticket this principal may read.

        Similar tickets are those the principal may read, and only for principals
        who read internal notes: a customer gets articles alone, ranked by their
        text alone, since the ranking of tickets uses internal notes. For staff,
        articles rise when similar tickets they may read were solved by them.
        """
        from ..kb import Suggestions, suggest

        ticket = self._find(ref)
        if not self.sees_internal:
            found = suggest(self.tracker, ticket=ticket, articles=articles, use_tickets=False)
            return Suggestions(articles=found.articles)
        if self._scope is None:
            self._scope = tuple(visibility_conditions(self.principal, self.policy))
        found = suggest(
            self.tracker,
            ticket=ticket,
            articles=articles,
            tickets=tickets,
            where=check_query(Query(conditions=self._scope), self.tracker.config.fields),
            visible=self._readable,
        )
        return Suggestions(
            articles=found.articles,
            tickets=tuple(evolve(s, ticket=self._view(s.ticket)) for s in found.tickets),
        )
