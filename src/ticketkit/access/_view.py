"""What a principal sees of a ticket, its history, comments and attachments.

A principal whom the policy allows ``read_internal`` (by default agents, team leads
and admins) sees everything it may read, unchanged. Everyone else (customers) gets
the customer view:

* no internal notes, and no ``commented`` events of internal notes;
* no internal custom fields (``FieldDef(internal=True)``), nor fields the tracker
  does not define, in the ticket, its history or the ``opened`` snapshot;
* no one else's address: watchers are reduced to the viewer; every other name in
  the reporter, assignee, user-type custom fields, event actors, old and new
  values, comment authors and attachment uploaders is replaced by
  :data:`SOMEONE` unless it is the viewer's own or a staff member's. Who counts
  as staff is the ``staff`` argument (names, or a function such as
  :meth:`Directory.is_staff`); without it, names that look like e-mail addresses
  (contain ``@``) are hidden and other names, such as agents' handles, are shown;
* links only to tickets that ``keys`` accepts (none without it), and only the event
  data a front end needs (the workflow action, comment and attachment facts).

Free text (titles, descriptions, comment bodies) is shown as written.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from attrs import evolve

from .._errors import ValidationError
from .._events import Event, EventType, JSONValue
from .._fields import FieldDef, FieldType, FieldValue
from .._model import Attachment, Comment, Link, Ticket
from ._policy import Permission, Policy, PolicyFunction, decide
from ._principal import Principal
from ._rules import DEFAULT_POLICY

__all__ = [
    "SOMEONE",
    "Staff",
    "sees_internal",
    "view_attachments",
    "view_comments",
    "view_events",
    "view_ticket",
]

#: What a customer sees instead of another person's name.
SOMEONE = "someone"
#: How the help desk works on a ticket (its SLA clocks, escalations, rules, the
#: knowledge-base articles it links, drafts among them) is for staff; a customer
#: sees what changed, not why.
_STAFF_ONLY = frozenset(
    {
        EventType.SLA_WARNING,
        EventType.SLA_BREACHED,
        EventType.ESCALATED,
        EventType.RULE_APPLIED,
        EventType.SOLUTION_LINKED,
        EventType.SOLUTION_UNLINKED,
        EventType.TIME_LOGGED,
        EventType.TIME_REMOVED,
        EventType.TIME_ESTIMATED,
        EventType.SURVEY_SENT,
        EventType.CSAT_RATED,
    }
)

#: Who may be named to customers: names, a predicate, or ``None`` (names without ``@``).
Staff = Callable[[str], bool] | Collection[str] | None

# The event data a customer sees; everything else (imported extras, references) is left out.
_DATA_KEYS = frozenset(
    {
        "action",
        "resolved_at",
        "comment_id",
        "internal",
        "attachment_id",
        "filename",
        "media_type",
        "size",
        "sha256",
        "source",
        "added",
        "removed",
        "ticket",
        "field",
    }
)


def sees_internal(
    principal: Principal,
    ticket: Ticket | None = None,
    *,
    policy: Policy | PolicyFunction | None = None,
) -> bool:
    """Does ``principal`` see internal notes and fields (the policy's ``read_internal``)?"""
    return decide(
        DEFAULT_POLICY if policy is None else policy, principal, Permission.READ_INTERNAL, ticket
    ).allowed


class _Lens:
    """The customer view for one principal: which names, fields and keys it keeps."""

    def __init__(
        self,
        principal: Principal,
        fields: Mapping[str, FieldDef],
        staff: Staff,
        keys: Callable[[str], bool] | None,
    ) -> None:
        self.me = principal.id
        self.fields = fields
        self.shown = _staff_test(staff)
        self.keys = keys or (lambda key: False)

    def name(self, value: Any) -> Any:
        if not isinstance(value, str) or value == self.me or self.shown(value):
            return value
        return SOMEONE

    def visible_field(self, name: str) -> bool:
        fd = self.fields.get(name)
        return fd is not None and not fd.internal

    def field_value(self, name: str, value: Any) -> Any:
        """A custom field's value (Python or JSON form) with other people's names hidden."""
        fd = self.fields.get(name)
        if fd is not None and fd.type is FieldType.USER:
            return self.name(value)
        return value

    def json_value(self, path: str | None, value: JSONValue) -> JSONValue:
        """The JSON form of the value at ``path`` as the customer sees it."""
        if path in ("reporter", "assignee"):
            return self.name(value)
        if path == "watchers" and isinstance(value, list):
            return [v for v in value if v == self.me]
        if path == "links" and isinstance(value, list):
            return [v for v in value if isinstance(v, Mapping) and self.keys(str(v.get("key")))]
        if path == "fields" and isinstance(value, Mapping):
            return {
                n: self.field_value(n, v) for n, v in value.items() if self.visible_field(str(n))
            }
        if path is not None and path.startswith("fields."):
            return self.field_value(path[7:], value)
        return value

    def ticket(self, ticket: Ticket) -> Ticket:
        fields: dict[str, FieldValue] = {
            name: self.field_value(name, value)
            for name, value in ticket.fields.items()
            if self.visible_field(name)
        }
        links: frozenset[Link] = frozenset(lk for lk in ticket.links if self.keys(lk.key))
        return evolve(
            ticket,
            reporter=self.name(ticket.reporter),
            assignee=self.name(ticket.assignee),
            watchers=ticket.watchers & {self.me},
            fields=fields,
            links=links,
        )

    def event(self, event: Event) -> Event | None:
        data = event.data
        path = event.field
        if path is not None and path.startswith("fields.") and not self.visible_field(path[7:]):
            return None
        named = data.get("field")
        if (
            isinstance(named, str)
            and named.startswith("fields.")
            and not self.visible_field(named[7:])
        ):
            return None
        if data.get("internal") is True or event.type in _STAFF_ONLY:
            return None
        shown: dict[str, JSONValue] = {k: data[k] for k in data if k in _DATA_KEYS}
        if path == "watchers" or event.type in (
            EventType.WATCHER_ADDED,
            EventType.WATCHER_REMOVED,
        ):
            for key in ("added", "removed"):
                if isinstance(shown.get(key), list):
                    shown[key] = [v for v in shown[key] if v == self.me]
            if not shown.get("added") and not shown.get("removed"):
                return None
        if path == "links" or event.type in (EventType.LINKED, EventType.UNLINKED):
            for key in ("added", "removed"):
                if isinstance(shown.get(key), list):
                    shown[key] = [
                        v
                        for v in shown[key]
                        if isinstance(v, list) and len(v) == 2 and self.keys(str(v[1]))
                    ]
            if not shown.get("added") and not shown.get("removed"):
                return None
        if (
            event.type is EventType.MERGED
            and "source" in shown
            and not self.keys(str(shown["source"]))
        ):
            del shown["source"]
        snapshot = shown.get("ticket")
        if isinstance(snapshot, Mapping):
            shown["ticket"] = {k: self.json_value(k, v) for k, v in snapshot.items()}
        return evolve(
            event,
            actor=self.name(event.actor),
            old=self.json_value(path, event.old),
            new=self.json_value(path, event.new),
            data=shown,
        )


def _staff_test(staff: Staff) -> Callable[[str], bool]:
    if staff is None:
        return lambda name: "@" not in name
    if isinstance(staff, str):
        raise ValidationError(
            f"staff must be a collection of names or a function, not the string {staff!r}",
            field="staff",
        )
    if callable(staff):
        return staff
    if isinstance(staff, Collection):
        names = frozenset(staff)
        return names.__contains__
    raise ValidationError(
        f"staff must be a collection of names or a function, got {staff!r}", field="staff"
    )


def _lens(
    principal: Principal,
    ticket: Ticket | None,
    fields: Mapping[str, FieldDef],
    policy: Policy | PolicyFunction | None,
    staff: Staff,
    keys: Callable[[str], bool] | None,
) -> _Lens | None:
    """``None`` when the principal sees everything, else the customer view to apply."""
    if sees_internal(principal, ticket, policy=policy):
        return None
    return _Lens(principal, fields, staff, keys)


def view_ticket(
    principal: Principal,
    ticket: Ticket,
    fields: Mapping[str, FieldDef],
    *,
    policy: Policy | PolicyFunction | None = None,
    staff: Staff = None,
    keys: Callable[[str], bool] | None = None,
) -> Ticket:
    """``ticket`` as ``principal`` may see it (``fields``: the tracker's field definitions).

    ``keys`` tells which linked tickets the principal may see; ``staff`` who may be
    named (see the module documentation). The policy's ``read_internal`` decides
    between everything and the customer view.
    """
    lens = _lens(principal, ticket, fields, policy, staff, keys)
    return ticket if lens is None else lens.ticket(ticket)


def view_events(
    principal: Principal,
    ticket: Ticket,
    events: Iterable[Event],
    fields: Mapping[str, FieldDef],
    *,
    policy: Policy | PolicyFunction | None = None,
    staff: Staff = None,
    keys: Callable[[str], bool] | None = None,
) -> list[Event]:
    """The events of ``ticket`` that ``principal`` may see, each as they may see it."""
    lens = _lens(principal, ticket, fields, policy, staff, keys)
    if lens is None:
        return list(events)
    return [shown for e in events if (shown := lens.event(e)) is not None]


def view_comments(
    principal: Principal,
    ticket: Ticket,
    comments: Iterable[Comment],
    *,
    policy: Policy | PolicyFunction | None = None,
    staff: Staff = None,
) -> list[Comment]:
    """The comments ``principal`` may read: customers get no internal notes, no addresses."""
    lens = _lens(principal, ticket, {}, policy, staff, None)
    if lens is None:
        return list(comments)
    return [
        evolve(c, author=lens.name(c.author), redacted_by=lens.name(c.redacted_by))
        for c in comments
        if not c.internal
    ]


def view_attachments(
    principal: Principal,
    ticket: Ticket,
    attachments: Iterable[Attachment],
    *,
    policy: Policy | PolicyFunction | None = None,
    staff: Staff = None,
) -> list[Attachment]:
    """The attachments with the uploader hidden from customers unless it is them or staff."""
    lens = _lens(principal, ticket, {}, policy, staff, None)
    if lens is None:
        return list(attachments)
    return [evolve(a, uploaded_by=lens.name(a.uploaded_by)) for a in attachments]
