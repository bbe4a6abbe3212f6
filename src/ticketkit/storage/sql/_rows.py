"""Converting between model objects and table rows."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ..._access_log import Denial
from ..._events import Event, EventType
from ..._fields import FieldValue
from ..._model import Attachment, Comment, Ticket
from ..._priority import Impact, Priority, Urgency
from ..._values import decode, encode

__all__ = [
    "EVENT_COLUMNS",
    "TICKET_COLUMNS",
    "attachment_from_row",
    "comment_from_row",
    "comment_row",
    "denial_from_row",
    "denial_row",
    "event_from_row",
    "event_from_tuple",
    "event_row",
    "field_rows",
    "ticket_from_row",
    "ticket_from_tuple",
    "ticket_row",
]


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "key": ticket.key,
        "title": ticket.title,
        "description": ticket.description,
        "title_folded": ticket.title.casefold(),
        "description_folded": ticket.description.casefold(),
        "status": ticket.status,
        "priority": int(ticket.priority),
        "reporter": ticket.reporter,
        "queue": ticket.queue,
        "assignee": ticket.assignee,
        "impact": None if ticket.impact is None else ticket.impact.value,
        "urgency": None if ticket.urgency is None else ticket.urgency.value,
        "resolution": ticket.resolution,
        "merged_into": ticket.merged_into,
        "tags": encode("tags", ticket.tags),
        "fields": encode("fields", ticket.fields),
        "watchers": encode("watchers", ticket.watchers),
        "links": encode("links", ticket.links),
        "created": ticket.created,
        "updated": ticket.updated,
        "resolved_at": ticket.resolved_at,
        "version": ticket.version,
        "tenant": ticket.tenant,
        "organisation": ticket.organisation,
    }


# The ticket columns in the order :func:`ticket_from_tuple` reads them.
TICKET_COLUMNS = (
    "id",
    "key",
    "title",
    "description",
    "status",
    "priority",
    "reporter",
    "queue",
    "created",
    "updated",
    "version",
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

_PRIORITY: dict[Any, Priority] = {p.value: p for p in Priority}
_IMPACT: dict[Any, Impact | None] = {None: None, **{i.value: i for i in Impact}}
_URGENCY: dict[Any, Urgency | None] = {None: None, **{u.value: u for u in Urgency}}
_EVENT_TYPE: dict[Any, EventType] = {t.value: t for t in EventType}
_NO_NAMES: frozenset[Any] = frozenset()
# For the SQLite driver's decoding in _driver_reads.
PRIORITY, IMPACT, URGENCY, EVENT_TYPE = _PRIORITY, _IMPACT, _URGENCY, _EVENT_TYPE
_NO_FIELDS: Mapping[str, FieldValue] = types.MappingProxyType({})


def _lookup(table: Mapping[Any, Any], kind: Callable[[Any], Any], value: Any) -> Any:
    """``table[value]``, or ``kind(value)`` to raise its error for a value not in it."""
    try:
        return table[value]
    except KeyError:
        return kind(value)


lookup = _lookup


def ticket_from_tuple(row: Sequence[Any]) -> Ticket:
    """A ticket from the values of :data:`TICKET_COLUMNS`, in that order.

    The fast path of every read: JSON and datetimes come already decoded from
    the column types; empty sets and fields share one frozen empty value.
    """
    (
        id_,
        key,
        title,
        description,
        status,
        priority,
        reporter,
        queue,
        created,
        updated,
        version,
        assignee,
        impact,
        urgency,
        resolution,
        tags,
        fields,
        watchers,
        links,
        merged_into,
        resolved_at,
        tenant,
        organisation,
    ) = row
    return Ticket(
        id_,
        key,
        title,
        description,
        status,
        _lookup(_PRIORITY, Priority, priority),
        reporter,
        queue,
        created,
        updated,
        version,
        assignee,
        _lookup(_IMPACT, Impact, impact),
        _lookup(_URGENCY, Urgency, urgency),
        resolution,
        frozenset(tags) if tags else _NO_NAMES,
        decode("fields", fields) if fields else _NO_FIELDS,
        frozenset(watchers) if watchers else _NO_NAMES,
        decode("links", links) if links else _NO_NAMES,
        merged_into,
        resolved_at,
        tenant,
        organisation,
    )


def ticket_from_row(row: Mapping[Any, Any]) -> Ticket:
    return ticket_from_tuple([row[name] for name in TICKET_COLUMNS])


def field_rows(ticket_id: int, fields: Mapping[str, FieldValue]) -> Iterator[dict[str, Any]]:
    """One index row per custom-field value, the value in the column of its type."""
    for name, value in fields.items():
        items = value if isinstance(value, tuple) else (value,)
        for position, item in enumerate(items):
            row: dict[str, Any] = {
                "ticket_id": ticket_id,
                "name": name,
                "item": position,
                "v_str": None,
                "v_int": None,
                "v_num": None,
                "v_date": None,
                "v_text": None,
                "v_fold": None,
            }
            if isinstance(item, bool):
                row["v_int"] = int(item)
            elif isinstance(item, int):
                row["v_int"] = item
            elif isinstance(item, Decimal):
                row["v_num"] = item
            elif isinstance(item, date):
                row["v_date"] = item
            else:
                # v_str (indexed) holds what fits; v_text the whole value; v_fold the
                # case-folded value for "contains".
                row["v_str"] = item if len(item) <= 255 else None
                row["v_text"] = item
                row["v_fold"] = item.casefold()
            yield row


def event_row(event: Event) -> dict[str, Any]:
    return {
        "ticket_id": event.ticket_id,
        "ticket_key": event.ticket_key,
        "version": event.version,
        "type": event.type.value,
        "actor": event.actor,
        "at": event.at,
        "field": event.field,
        "old": event.old,
        "new": event.new,
        "data": dict(event.data),
    }


# The event columns in the order :func:`event_from_tuple` reads them.
EVENT_COLUMNS = (
    "ticket_id",
    "ticket_key",
    "version",
    "type",
    "actor",
    "at",
    "field",
    "old",
    "new",
    "data",
    "id",
)


def event_from_tuple(row: Sequence[Any]) -> Event:
    """An event from the values of :data:`EVENT_COLUMNS`, in that order."""
    ticket_id, ticket_key, version, type_, actor, at, field, old, new, data, id_ = row
    return Event(
        ticket_id,
        ticket_key,
        version,
        _lookup(_EVENT_TYPE, EventType, type_),
        actor,
        at,
        field,
        old,
        new,
        data,
        id_,
    )


def event_from_row(row: Mapping[Any, Any]) -> Event:
    return event_from_tuple([row[name] for name in EVENT_COLUMNS])


def comment_from_row(row: Mapping[Any, Any]) -> Comment:
    return Comment(
        id=row["id"],
        ticket_id=row["ticket_id"],
        ticket_key=row["ticket_key"],
        author=row["author"],
        body=row["body"],
        created=row["created"],
        internal=bool(row["internal"]),
        redacted_at=row["redacted_at"],
        redacted_by=row["redacted_by"],
    )


def comment_row(comment: Comment) -> dict[str, Any]:
    """The values of a new comment's row (all but the id)."""
    return {
        "ticket_id": comment.ticket_id,
        "ticket_key": comment.ticket_key,
        "author": comment.author,
        "body": comment.body,
        "internal": comment.internal,
        "created": comment.created,
        "redacted_at": comment.redacted_at,
        "redacted_by": comment.redacted_by,
    }


def denial_row(denial: Denial) -> dict[str, Any]:
    return {
        "at": denial.at,
        "principal": denial.principal,
        "role": str(denial.role),
        "tenant": denial.tenant,
        "permission": str(denial.permission),
        "target": denial.target,
        "reason": denial.reason,
    }


def denial_from_row(row: Mapping[Any, Any]) -> Denial:
    return Denial(
        at=row["at"],
        principal=row["principal"],
        role=row["role"],
        tenant=row["tenant"],
        permission=row["permission"],
        target=row["target"],
        reason=row["reason"],
        id=row["id"],
    )


def attachment_from_row(row: Mapping[Any, Any]) -> Attachment:
    return Attachment(
        id=row["id"],
        ticket_id=row["ticket_id"],
        ticket_key=row["ticket_key"],
        filename=row["filename"],
        media_type=row["media_type"],
        size=row["size"],
        sha256=row["sha256"],
        uploaded_by=row["uploaded_by"],
        created=row["created"],
    )
