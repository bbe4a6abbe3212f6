"""JSON Lines: one ticket per line, read lazily.

Each non-blank line is one JSON object::

    {"source_id": "OLD-17", "title": "Printer on fire", "reporter": "ann",
     "created": "2024-05-01T09:30:00Z", "description": "…", "status": "resolved",
     "priority": "P2", "assignee": "bob", "queue": "default", "tags": ["printer"],
     "fields": {"site": "Berlin"}, "resolution": "fixed",
     "history": [{"actor": "bob", "at": "2024-05-01T10:00:00Z",
                  "field": "status", "old": "new", "new": "resolved"}],
     "comments": [{"author": "bob", "body": "Put it out.", "created": "2024-05-01T10:00:00Z",
                   "internal": false}]}

``title``, ``reporter`` and ``created`` are required; everything else is
optional. Times are ISO 8601 with a UTC offset (``Z`` or ``+02:00``).
Custom-field values take their JSON forms: decimals and dates as strings
(``"1.50"``, ``"2024-05-01"``), multi-choice values as lists. Unknown keys are
refused, so a typo does not silently drop data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from .._errors import ValidationError
from ._records import ImportedChange, ImportedComment, ImportRecord
from ._source import Source, lines_of, parse_time

__all__ = ["read_json", "record_from_data"]

_REQUIRED = ("title", "reporter", "created")
_OPTIONAL = (
    "source_id",
    "description",
    "status",
    "priority",
    "assignee",
    "queue",
    "tags",
    "fields",
    "resolution",
    "history",
    "comments",
    "watchers",
)


def _keys(
    data: object, what: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationError(f"{what} must be a JSON object, got {type(data).__name__}")
    missing = [k for k in required if k not in data]
    if missing:
        raise ValidationError(f"{what} has no {', '.join(missing)}", field=missing[0])
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise ValidationError(
            f"{what} has unknown keys {', '.join(unknown)}; known keys: "
            f"{', '.join(required + optional)}",
            field=unknown[0],
        )
    return data


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ValidationError(f"{key} must be a JSON list, got {type(value).__name__}", field=key)
    return value


def record_from_data(data: object) -> ImportRecord:
    """An :class:`ImportRecord` from one decoded JSON object of the format above."""
    top = _keys(data, "a ticket", _REQUIRED, _OPTIONAL)
    history = []
    for i, item in enumerate(_list(top, "history")):
        entry = _keys(item, f"history[{i}]", ("actor", "at", "field"), ("old", "new"))
        history.append(
            ImportedChange(
                actor=entry["actor"],
                at=parse_time(entry["at"], f"history[{i}].at"),
                field=entry["field"],
                old=entry.get("old"),
                new=entry.get("new"),
            )
        )
    comments = []
    for i, item in enumerate(_list(top, "comments")):
        entry = _keys(item, f"comments[{i}]", ("author", "body", "created"), ("internal",))
        comments.append(
            ImportedComment(
                author=entry["author"],
                body=entry["body"],
                created=parse_time(entry["created"], f"comments[{i}].created"),
                internal=entry.get("internal", False),
            )
        )
    fields = top.get("fields") or {}
    if not isinstance(fields, dict):
        raise ValidationError("fields must be a JSON object of name to value", field="fields")
    return ImportRecord(
        title=top["title"],
        reporter=top["reporter"],
        created=parse_time(top["created"], "created"),
        description=top.get("description") or "",
        status=top.get("status"),
        priority=top.get("priority"),
        assignee=top.get("assignee"),
        queue=top.get("queue"),
        tags=_list(top, "tags"),
        fields=fields,
        resolution=top.get("resolution"),
        history=history,
        comments=comments,
        source_id=top.get("source_id"),
        watchers=_list(top, "watchers"),
    )


def read_json(source: Source) -> Iterator[ImportRecord]:
    """Yield one :class:`ImportRecord` per line of a JSON Lines file, lazily.

    ``source`` is a path or an open file (text, or UTF-8 bytes). The format is
    described in this module's docstring and in ``docs/import.md``. A bad line
    raises :class:`~ticketkit.ValidationError` naming the file and line number.
    """
    with lines_of(source) as (name, handle):
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValidationError(
                        f"not valid JSON: {exc.msg} at column {exc.colno}"
                    ) from None
                record = record_from_data(data)
            except ValidationError as exc:
                raise ValidationError(f"line {number} of {name}: {exc}", field=exc.field) from exc
            yield record
