"""Domain events: every change to a ticket, with who, when, old and new value."""

from __future__ import annotations

import enum
import json
import types
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from attrs import frozen

if TYPE_CHECKING:
    from ._model import Ticket

__all__ = ["NOTICE_TYPES", "Event", "EventType", "JSONObjectText", "JSONValue", "ticket_event"]

#: A value that ``json.dumps`` accepts as it is. Event values are stored this
#: way so any store can keep them and any front end can show them.
JSONValue = Any


class EventType(enum.StrEnum):
    OPENED = "opened"
    FIELD_CHANGED = "field_changed"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    COMMENTED = "commented"
    ATTACHMENT_ADDED = "attachment_added"
    LINKED = "linked"
    UNLINKED = "unlinked"
    MERGED = "merged"
    WATCHER_ADDED = "watcher_added"
    WATCHER_REMOVED = "watcher_removed"
    #: A comment or value was redacted: the event says which, by whom and when, never what.
    REDACTED = "redacted"
    #: A person's data was erased from the ticket.
    ERASED = "erased"
    #: An SLA target reached a warning threshold (data: target, cycle, threshold, due).
    SLA_WARNING = "sla_warning"
    #: An SLA target was missed (data: target, cycle, due).
    SLA_BREACHED = "sla_breached"
    #: The ticket was escalated to a level (data: level, reason).
    ESCALATED = "escalated"
    #: An automation rule acted on the ticket (data: rule, trigger, anchor).
    RULE_APPLIED = "rule_applied"
    #: The customer was reminded that the ticket waits for them (data: reminder).
    REMINDED = "reminded"
    #: A knowledge-base article was recorded as the ticket's solution (data: article_id, article).
    SOLUTION_LINKED = "solution_linked"
    #: A knowledge-base article is no longer the ticket's solution (data: article_id, article).
    SOLUTION_UNLINKED = "solution_unlinked"
    #: An agent logged time spent on the ticket (data: seconds, on, note).
    TIME_LOGGED = "time_logged"
    #: A time entry was taken back (data: entry, the time_logged event's id; seconds; note).
    TIME_REMOVED = "time_removed"
    #: The estimate changed (field ``time_estimate``; old and new in seconds or null).
    TIME_ESTIMATED = "time_estimated"
    #: A satisfaction survey went to the reporter after a resolution (data: survey, scale,
    #: expires, agent, queue, recipient).
    SURVEY_SENT = "survey_sent"
    #: The reporter answered a satisfaction survey (data: survey, sent, scale, rating,
    #: satisfied, comment).
    CSAT_RATED = "csat_rated"


#: Events that record that something happened to a ticket without changing it:
#: they carry the ticket's current version, do not raise it, and replay skips them.
NOTICE_TYPES = frozenset(
    {
        EventType.SLA_WARNING,
        EventType.SLA_BREACHED,
        EventType.ESCALATED,
        EventType.RULE_APPLIED,
        EventType.REMINDED,
        EventType.SOLUTION_LINKED,
        EventType.SOLUTION_UNLINKED,
        EventType.TIME_LOGGED,
        EventType.TIME_REMOVED,
        EventType.TIME_ESTIMATED,
        EventType.SURVEY_SENT,
        EventType.CSAT_RATED,
    }
)


class JSONObjectText(Mapping[str, JSONValue]):
    """A read-only JSON object kept as its text and decoded when first read.

    Stores keep an event's ``data`` as JSON text, and most readers of a history
    never look at it (an ``opened`` event's data is the whole ticket): a store
    can hand the text over as it is and leave the decoding to the first reader.
    It compares equal to any mapping with the same items.
    """

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text = text
        self._value: dict[str, JSONValue] | None = None

    def _decoded(self) -> dict[str, JSONValue]:
        value = self._value
        if value is None:
            value = self._value = json.loads(self._text)
        return value

    def __getitem__(self, key: str) -> JSONValue:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self._decoded() == dict(other.items())

    __hash__ = None  # type: ignore[assignment]  # a mapping, as mappingproxy is not hashable

    def __repr__(self) -> str:
        return repr(types.MappingProxyType(self._decoded()))


def _freeze(value: Mapping[str, JSONValue]) -> Mapping[str, JSONValue]:
    if isinstance(value, (types.MappingProxyType, JSONObjectText)):
        return value
    return types.MappingProxyType(dict(value))


@frozen
class Event:
    """One recorded change.

    ``version`` is the ticket version the change produced; one operation may
    record several events with the same version (for example a transition that
    also sets the resolution). ``field``, ``old`` and ``new`` describe a changed
    value in its JSON form (see :mod:`ticketkit.serde`); ``data`` holds extra
    facts such as the workflow action or the comment id. ``id`` is assigned by
    the store and orders all events.
    """

    ticket_id: int
    ticket_key: str
    version: int
    type: EventType
    actor: str
    at: datetime
    field: str | None = None
    old: JSONValue = None
    new: JSONValue = None
    data: Mapping[str, JSONValue] = attrs.field(
        factory=lambda: types.MappingProxyType({}), converter=_freeze
    )
    id: int = 0


def ticket_event(ticket: Ticket, kind: EventType, actor: str, at: datetime, **data: Any) -> Event:
    """An event of ``ticket`` at its current version, with ``data`` as its facts.

    For a notice (see :data:`NOTICE_TYPES`), and for a record of a change made
    in the same write that raised the ticket to that version.
    """
    return Event(
        ticket_id=ticket.id,
        ticket_key=ticket.key,
        version=ticket.version,
        type=kind,
        actor=actor,
        at=at,
        data=data,
    )
