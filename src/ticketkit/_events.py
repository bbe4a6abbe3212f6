"""Domain events: every change to a ticket, with who, when, old and new value."""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
from attrs import frozen

__all__ = ["Event", "EventType", "JSONValue"]

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


def _freeze(value: Mapping[str, JSONValue]) -> Mapping[str, JSONValue]:
    if isinstance(value, types.MappingProxyType):
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
