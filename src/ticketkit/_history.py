"""Turning ticket changes into events, and events back into tickets.

:func:`diff_events` compares two versions of a ticket and records each
changed value as an event; :func:`replay` rebuilds a ticket from its events.
Replaying the events of a ticket always gives the stored ticket back; the
property tests hold the two to that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import evolve

from ._errors import ValidationError
from ._events import NOTICE_TYPES, Event, EventType, JSONValue
from ._model import Ticket
from ._values import decode, encode

__all__ = ["SNAPSHOT_FIELDS", "diff_events", "replay", "snapshot"]

#: The ticket attributes an ``opened`` event records, in order.
SNAPSHOT_FIELDS = (
    "title",
    "description",
    "status",
    "priority",
    "reporter",
    "queue",
    "assignee",
    "impact",
    "urgency",
    "resolution",
    "tags",
    "fields",
    "watchers",
    "links",
    "merged_into",
    "resolved_at",
    "tenant",
    "organisation",
)
# What a snapshot written before tenants existed stands for.
_SNAPSHOT_DEFAULTS: dict[str, JSONValue] = {"tenant": "default", "organisation": None}

# Fields whose changes are recorded, in the order their events are written.
_TRACKED = (
    "status",
    "resolution",
    "assignee",
    "priority",
    "impact",
    "urgency",
    "title",
    "description",
    "queue",
    "tags",
    "watchers",
    "links",
    "merged_into",
)

_TYPES = {
    "status": EventType.STATUS_CHANGED,
    "assignee": EventType.ASSIGNED,
    "merged_into": EventType.MERGED,
}


def snapshot(ticket: Ticket) -> dict[str, JSONValue]:
    """The JSON form of the values an ``opened`` event records."""
    return {name: encode(name, getattr(ticket, name)) for name in SNAPSHOT_FIELDS}


def _set_delta(old: frozenset[Any], new: frozenset[Any]) -> tuple[list[Any], list[Any]]:
    return sorted(new - old), sorted(old - new)


def diff_events(
    old: Ticket,
    new: Ticket,
    *,
    actor: str,
    at: datetime,
    data: Mapping[str, Mapping[str, JSONValue]] | None = None,
) -> list[Event]:
    """One event per changed value between ``old`` and ``new`` (``new.version`` apiece).

    ``data`` adds facts to the event of a field, such as the workflow action
    for ``status``.
    """
    extra = data or {}
    events: list[Event] = []

    def record(kind: EventType, field: str, before: Any, after: Any, facts: dict[str, Any]) -> None:
        facts.update(extra.get(field, {}))
        events.append(
            Event(
                ticket_id=new.id,
                ticket_key=new.key,
                version=new.version,
                type=kind,
                actor=actor,
                at=at,
                field=field,
                old=encode(field, before),
                new=encode(field, after),
                data=facts,
            )
        )

    for name in _TRACKED:
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        facts: dict[str, Any] = {}
        kind = _TYPES.get(name, EventType.FIELD_CHANGED)
        if name == "status":
            facts["resolved_at"] = encode("resolved_at", new.resolved_at)
        elif name == "watchers":
            added, removed = _set_delta(before, after)
            kind = EventType.WATCHER_ADDED if added else EventType.WATCHER_REMOVED
            facts.update(added=added, removed=removed)
        elif name == "links":
            added, removed = _set_delta(before, after)
            kind = EventType.LINKED if added else EventType.UNLINKED
            facts.update(
                added=[[link.kind.value, link.key] for link in added],
                removed=[[link.kind.value, link.key] for link in removed],
            )
        record(kind, name, before, after, facts)
    for name in sorted(set(old.fields) | set(new.fields)):
        before, after = old.fields.get(name), new.fields.get(name)
        if before != after:
            record(EventType.FIELD_CHANGED, f"fields.{name}", before, after, {})
    return events


def replay(events: Sequence[Event]) -> Ticket:
    """Rebuild a ticket from its events, oldest first; the first must be ``opened``."""
    if not events or events[0].type is not EventType.OPENED:
        raise ValidationError("a ticket's history must begin with its 'opened' event")
    first = events[0]
    opened = first.data["ticket"]
    values = {
        name: decode(name, opened[name] if name in opened else _SNAPSHOT_DEFAULTS[name])
        for name in SNAPSHOT_FIELDS
    }
    ticket = Ticket(
        id=first.ticket_id,
        key=first.ticket_key,
        created=first.at,
        updated=first.at,
        version=first.version,
        **values,
    )
    for event in events[1:]:
        if event.type not in NOTICE_TYPES:
            ticket = apply_event(ticket, event)
    return ticket


def apply_event(ticket: Ticket, event: Event) -> Ticket:
    """The ticket after one more event."""
    changes: dict[str, Any] = {"version": event.version, "updated": event.at}
    field = event.field
    if field is not None:
        if field.startswith("fields."):
            values = dict(ticket.fields)
            value = decode(field, event.new)
            if value is None:
                values.pop(field[7:], None)
            else:
                values[field[7:]] = value
            changes["fields"] = values
        else:
            changes[field] = decode(field, event.new)
    if event.type is EventType.STATUS_CHANGED:
        changes["resolved_at"] = decode("resolved_at", event.data.get("resolved_at"))
    return evolve(ticket, **changes)
