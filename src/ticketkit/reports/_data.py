"""Reports as JSON-ready data and back, without a converter library.

Datetimes are ISO 8601 strings with their offset, dates ``YYYY-MM-DD``,
durations seconds (a float), tuples lists, report classes objects. Reading
checks every value and raises :class:`ticketkit.ValidationError` naming where
(``$.summary.tickets``) on bad data.
"""

from __future__ import annotations

import functools
import types
import typing
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import attrs

from .._errors import ValidationError

__all__ = ["decode", "encode"]

T = TypeVar("T")


def encode(value: Any) -> Any:
    """``value`` (a report class, tuple, date, time, duration or scalar) as JSON data."""
    if attrs.has(type(value)):
        return {f.name: encode(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, tuple):
        return [encode(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    from . import _model

    return typing.get_type_hints(cls, vars(_model))


def _bad(where: str, expected: str, value: object) -> ValidationError:
    return ValidationError(
        f"{where}: expected {expected}, got {value!r:.60}; pass data that Report.to_data made",
        field=where,
    )


def decode(kind: Any, data: object, where: str) -> Any:
    """The value of type ``kind`` that :func:`encode` made ``data`` from."""
    origin = typing.get_origin(kind)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return None if data is None else decode(options[0], data, where)
    if origin is tuple:
        if not isinstance(data, list):
            raise _bad(where, "a list", data)
        item = typing.get_args(kind)[0]
        return tuple(decode(item, v, f"{where}[{i}]") for i, v in enumerate(data))
    if isinstance(kind, type) and attrs.has(kind):
        if not isinstance(data, dict):
            raise _bad(where, "an object", data)
        hints = _hints(kind)
        values = {}
        for f in attrs.fields(kind):
            if f.name in data:
                values[f.name] = decode(hints[f.name], data[f.name], f"{where}.{f.name}")
            elif f.default is attrs.NOTHING:
                raise _bad(f"{where}.{f.name}", "a value", None)
        return kind(**values)
    return _scalar(kind, data, where)


def _scalar(kind: Any, data: object, where: str) -> Any:
    if kind is datetime:
        if not isinstance(data, str):
            raise _bad(where, "an ISO 8601 date and time", data)
        try:
            found = datetime.fromisoformat(data)
        except ValueError:
            raise _bad(where, "an ISO 8601 date and time", data) from None
        if found.tzinfo is None:
            raise _bad(where, "a date and time with a UTC offset", data)
        return found
    if kind is date:
        if not isinstance(data, str):
            raise _bad(where, "an ISO 8601 date", data)
        try:
            return date.fromisoformat(data)
        except ValueError:
            raise _bad(where, "an ISO 8601 date", data) from None
    if kind is timedelta:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise _bad(where, "a number of seconds", data)
        return timedelta(seconds=data)
    if kind is bool:
        if not isinstance(data, bool):
            raise _bad(where, "true or false", data)
        return data
    if kind is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise _bad(where, "a whole number", data)
        return data
    if kind is str:
        if not isinstance(data, str):
            raise _bad(where, "a string", data)
        return data
    raise _bad(where, str(kind), data)  # pragma: no cover - every field type is listed above
