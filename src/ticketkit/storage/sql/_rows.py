"""Converting between model objects and table rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ..._events import Event, EventType
from ..._fields import FieldValue
from ..._model import Attachment, Comment, Ticket
from ..._priority import Impact, Priority, Urgency
from ..._values import decode, encode

__all__ = [
    "attachment_from_row",
    "comment_from_row",
    "event_from_row",
    "event_row",
    "field_rows",
    "ticket_from_row",
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
    }


def ticket_from_row(row: Mapping[Any, Any]) -> Ticket:
    return Ticket(
        id=row["id"],
        key=row["key"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        priority=Priority(row["priority"]),
        reporter=row["reporter"],
        queue=row["queue"],
        created=row["created"],
        updated=row["updated"],
        version=row["version"],
        assignee=row["assignee"],
        impact=None if row["impact"] is None else Impact(row["impact"]),
        urgency=None if row["urgency"] is None else Urgency(row["urgency"]),
        resolution=row["resolution"],
        tags=decode("tags", row["tags"]),
        fields=decode("fields", row["fields"]),
        watchers=decode("watchers", row["watchers"]),
        links=decode("links", row["links"]),
        merged_into=row["merged_into"],
        resolved_at=row["resolved_at"],
    )


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


def event_from_row(row: Mapping[Any, Any]) -> Event:
    return Event(
        id=row["id"],
        ticket_id=row["ticket_id"],
        ticket_key=row["ticket_key"],
        version=row["version"],
        type=EventType(row["type"]),
        actor=row["actor"],
        at=row["at"],
        field=row["field"],
        old=row["old"],
        new=row["new"],
        data=row["data"],
    )


def comment_from_row(row: Mapping[Any, Any]) -> Comment:
    return Comment(
        id=row["id"],
        ticket_id=row["ticket_id"],
        ticket_key=row["ticket_key"],
        author=row["author"],
        body=row["body"],
        created=row["created"],
        internal=bool(row["internal"]),
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
