"""Tickets as ``ticketkit export`` writes them, in the forms ``ticketkit import`` reads.

JSON Lines: one object per ticket in :func:`ticketkit.importers.read_json`'s
format, with its comments and a history built from its events (original
actors and times), so that importing an export gives the same tickets. CSV:
one row per ticket in :func:`ticketkit.importers.read_csv`'s columns, each
cell through :func:`ticketkit._spreadsheet.safe_cell`; :func:`unquote` takes
off the ``'`` that neutralised a formula-like cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._events import NOTICE_TYPES, EventType
from ._priority import Priority
from ._spreadsheet import FORMULA_STARTS
from ._values import decode
from .importers import HISTORY_FIELDS
from .importers._csv import COLUMNS

if TYPE_CHECKING:
    from ._events import Event
    from ._fields import FieldDef
    from ._model import Comment, Ticket
    from .importers import ImportRecord

__all__ = ["csv_columns", "csv_row", "export_record", "unquote", "unquoted"]

_SKIPPED = NOTICE_TYPES | {EventType.OPENED, EventType.COMMENTED}


def _plain(value: Any) -> Any:
    """A ticket value in the JSON form an import record takes."""
    if isinstance(value, Priority):
        return value.name
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _value(path: str, data: Any) -> Any:
    """An event's or snapshot's JSON value at ``path`` as an import record takes it."""
    return _plain(decode(path, data))


def _current(ticket: Ticket, path: str) -> Any:
    if path.startswith("fields."):
        return _plain(ticket.fields.get(path[7:]))
    return _plain(getattr(ticket, path))


def _history(ticket: Ticket, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The changes to importable fields, each ``old`` the value the previous one left."""
    opened = next((e for e in events if e.type is EventType.OPENED), None)
    snapshot: Mapping[str, Any] = opened.data.get("ticket", {}) if opened else {}
    tracked: dict[str, Any] = {}
    for name in HISTORY_FIELDS:
        tracked[name] = _value(name, snapshot[name]) if name in snapshot else None
    for name, data in (snapshot.get("fields") or {}).items():
        tracked[f"fields.{name}"] = _value(f"fields.{name}", data)
    changes: list[dict[str, Any]] = []
    actor, at = ticket.reporter, ticket.created
    for event in events:
        if event.type in _SKIPPED or event.field is None:
            continue
        path = event.field
        if path not in HISTORY_FIELDS and not path.startswith("fields."):
            continue
        new = _value(path, event.new)
        old = tracked.get(path)
        actor, at = event.actor, event.at
        if new != old:
            changes.append(
                {"actor": actor, "at": at.isoformat(), "field": path, "old": old, "new": new}
            )
            tracked[path] = new
    # A value changed without an event of its own (an erasure, say): one last change.
    paths = set(HISTORY_FIELDS) | {f"fields.{n}" for n in ticket.fields} | set(tracked)
    for path in sorted(paths):
        now = _current(ticket, path)
        if tracked.get(path) != now:
            changes.append(
                {
                    "actor": actor,
                    "at": at.isoformat(),
                    "field": path,
                    "old": tracked.get(path),
                    "new": now,
                }
            )
    return changes


def export_record(
    ticket: Ticket, comments: Sequence[Comment], events: Sequence[Event]
) -> dict[str, Any]:
    """One ticket as a JSON Lines record of ``read_json``; ``source_id`` is its key."""
    record: dict[str, Any] = {
        "source_id": ticket.key,
        "title": ticket.title,
        "reporter": ticket.reporter,
        "created": ticket.created.isoformat(),
        "description": ticket.description,
        "status": ticket.status,
        "priority": ticket.priority.name,
        "assignee": ticket.assignee,
        "queue": ticket.queue,
        "tags": sorted(ticket.tags),
        "fields": {name: _plain(value) for name, value in sorted(ticket.fields.items())},
        "resolution": ticket.resolution,
        "watchers": sorted(ticket.watchers),
        "history": _history(ticket, events),
        "comments": [
            {
                "author": c.author,
                "body": c.body,
                "created": c.created.isoformat(),
                "internal": c.internal,
            }
            for c in comments
        ],
    }
    return {k: v for k, v in record.items() if v not in (None, [], {}, "")}


def csv_columns(fields: Iterable[str]) -> list[str]:
    """``read_csv``'s columns, then ``field:<name>`` for each custom field."""
    return [*COLUMNS, *(f"field:{name}" for name in sorted(fields))]


def _cell(value: Any) -> Any:
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, bool | int):
        return value  # safe_cell keeps numbers numbers, so -3 stays -3
    return _plain(value)


def csv_row(ticket: Ticket) -> dict[str, Any]:
    """One ticket as a CSV row of ``read_csv``'s columns (uncapped; write_csv neutralises)."""
    row: dict[str, Any] = {
        "title": ticket.title,
        "description": ticket.description,
        "reporter": ticket.reporter,
        "created": ticket.created.isoformat(),
        "status": ticket.status,
        "priority": ticket.priority.name,
        "assignee": ticket.assignee,
        "queue": ticket.queue,
        "tags": " ".join(sorted(ticket.tags)),
        "resolution": ticket.resolution,
        "source_id": ticket.key,
    }
    for name, value in ticket.fields.items():
        row[f"field:{name}"] = _cell(value)
    return row


def unquote(text: str) -> str:
    """``text`` without the ``'`` that ``safe_cell`` puts before a formula-like cell.

    Only a ``'`` followed by ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return is taken off: that is what a spreadsheet shows, too.
    """
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def _unquote_any(value: Any) -> Any:
    if isinstance(value, str):
        return unquote(value)
    if isinstance(value, list | tuple):
        return [_unquote_any(v) for v in value]
    return value


def unquoted(
    records: Iterable[ImportRecord], defs: Mapping[str, FieldDef]
) -> Iterator[ImportRecord]:
    """The records of a CSV file with :func:`unquote` applied to every text value."""
    import attrs

    texts = (
        "title",
        "description",
        "reporter",
        "status",
        "assignee",
        "queue",
        "resolution",
        "source_id",
    )
    for record in records:
        changes: dict[str, Any] = {
            name: _unquote_any(getattr(record, name))
            for name in texts
            if getattr(record, name) is not None
        }
        changes["tags"] = [unquote(t) for t in record.tags]
        changes["fields"] = {k: _unquote_any(v) for k, v in record.fields.items()}
        yield attrs.evolve(record, **changes)
