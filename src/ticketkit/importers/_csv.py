"""Flat CSV: one ticket per row, read lazily.

The first row names the columns: ``title``, ``reporter`` and ``created`` are
required; ``description``, ``status``, ``priority``, ``assignee``, ``queue``,
``tags`` (separated by spaces or commas), ``resolution`` and ``source_id`` are
optional, and ``field:<name>`` columns hold custom fields. An empty cell means
"not given". ``mapping`` renames the file's own columns (``{"Summary":
"title"}``); map a column to ``None`` to skip it. History and comments do not
fit in a flat row: use JSON Lines for those.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .._errors import ValidationError
from .._fields import FieldDef, FieldType
from .._text import check_name, check_title
from ._records import ImportRecord
from ._source import Source, lines_of, parse_time

__all__ = ["COLUMNS", "read_csv"]

#: The column names read_csv understands, besides ``field:<name>``.
COLUMNS = (
    "title",
    "description",
    "reporter",
    "created",
    "status",
    "priority",
    "assignee",
    "queue",
    "tags",
    "resolution",
    "source_id",
)
_REQUIRED = ("title", "reporter", "created")
_TAG_SPLIT = re.compile(r"[\s,]+")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _columns(header: list[str], mapping: Mapping[str, str | None], name: str) -> list[str | None]:
    """What each column of the file is, as one of COLUMNS or field:<name> (None: skipped)."""
    found: list[str | None] = []
    for column in header:
        target = mapping[column] if column in mapping else column.strip()
        if target is not None and target not in COLUMNS and not target.startswith("field:"):
            raise ValidationError(
                f"line 1 of {name}: unknown column {column!r}; use one of "
                f"{', '.join(COLUMNS)} or field:<name>, or map it with "
                f"mapping={{{column!r}: 'title'}} (None to skip it)",
                field=column,
            )
        if target is not None and target in found:
            raise ValidationError(f"line 1 of {name}: two columns hold {target}", field=target)
        found.append(target)
    missing = [c for c in _REQUIRED if c not in found]
    if missing:
        raise ValidationError(
            f"line 1 of {name}: no {', '.join(missing)} column; the file's columns are "
            f"{', '.join(header)}",
            field=missing[0],
        )
    return found


def _field_value(fd: FieldDef | None, text: str) -> object:
    """A custom field's cell as the field's type wants it (text when no definition)."""
    if fd is None:
        return text
    if fd.type is FieldType.INT:
        try:
            return int(text)
        except ValueError:
            raise ValidationError(
                f"custom field {fd.name!r} expects a whole number, got {text!r}", field=fd.path
            ) from None
    if fd.type is FieldType.BOOL:
        low = text.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        raise ValidationError(
            f"custom field {fd.name!r} expects true or false (yes/no, 1/0), got {text!r}",
            field=fd.path,
        )
    if fd.type is FieldType.MULTI_CHOICE:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _record(values: dict[str, str], definitions: Mapping[str, FieldDef]) -> ImportRecord:
    def opt(key: str) -> str | None:
        return values.get(key) or None

    fields: dict[str, Any] = {}
    for key, text in values.items():
        if key.startswith("field:") and text:
            field_name = key[6:]
            fields[field_name] = _field_value(definitions.get(field_name), text)
    return ImportRecord(
        title=check_title(values.get("title", "")),
        reporter=check_name(values.get("reporter", ""), "reporter"),
        created=parse_time(values.get("created", ""), "created"),
        description=values.get("description", ""),
        status=opt("status"),
        priority=opt("priority"),
        assignee=opt("assignee"),
        queue=opt("queue"),
        tags=[t for t in _TAG_SPLIT.split(values.get("tags", "")) if t],
        fields=fields,
        resolution=opt("resolution"),
        source_id=opt("source_id"),
    )


def read_csv(
    source: Source,
    *,
    mapping: Mapping[str, str | None] | None = None,
    fields: Iterable[FieldDef] | Mapping[str, FieldDef] = (),
) -> Iterator[ImportRecord]:
    """Yield one :class:`ImportRecord` per row of a CSV file, lazily.

    ``source`` is a path or an open file; the first row names the columns (see
    this module's docstring and ``docs/import.md``). ``mapping`` maps the file's
    column names to ticketkit's. Give ``fields`` (such as
    ``tracker.config.fields``) to read custom-field cells as their types: whole
    numbers, true/false, comma-separated choices; without it cells stay text. A
    bad row raises :class:`~ticketkit.ValidationError` naming the file and line.
    """
    if mapping is not None and not isinstance(mapping, Mapping):
        raise ValidationError("mapping must map the file's column names to ticketkit's")
    defs = dict(fields) if isinstance(fields, Mapping) else {fd.name: fd for fd in fields}
    with lines_of(source, newline="") as (name, handle):
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        columns = _columns(header, mapping or {}, name)
        line = reader.line_num
        for row in reader:
            try:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(columns):
                    raise ValidationError(
                        f"the row has {len(row)} cells but the header names {len(columns)}"
                    )
                values = {c: cell for c, cell in zip(columns, row, strict=True) if c is not None}
                record = _record(values, defs)
            except ValidationError as exc:
                raise ValidationError(f"line {line + 1} of {name}: {exc}", field=exc.field) from exc
            finally:
                line = reader.line_num
            yield record
