"""Opening what a reader reads, and turning its text into record values."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any

from .._errors import ValidationError

__all__ = ["Source", "lines_of", "parse_time"]

#: A path, or a file object opened for reading (text, or bytes in UTF-8).
Source = str | os.PathLike[str] | IO[str] | IO[bytes]


@contextmanager
def lines_of(source: Source, *, newline: str | None = None) -> Iterator[tuple[str, IO[str]]]:
    """``(name, text file)`` for ``source``; a path is opened here and closed afterwards."""
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8-sig", newline=newline) as handle:
            yield os.fspath(source), handle
        return
    if not hasattr(source, "read"):
        raise ValidationError(
            f"read a path or an open file, not a {type(source).__name__}", field="source"
        )
    name = str(getattr(source, "name", "<file>"))
    if isinstance(source, io.TextIOBase):
        yield name, source
        return
    probe: Any = source
    if isinstance(probe, io.RawIOBase | io.BufferedIOBase) or "b" in getattr(probe, "mode", ""):
        text = io.TextIOWrapper(probe, encoding="utf-8-sig", newline=newline)
        try:
            yield name, text
        finally:
            text.detach()  # leave the caller's file open
        return
    yield name, source  # type: ignore[misc]


def parse_time(value: object, what: str) -> datetime:
    """An ISO 8601 time with its UTC offset (``2024-05-01T09:30:00+02:00`` or ``…Z``)."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be an ISO 8601 time string, got {value!r}", field=what)
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            f"{what} {value!r} is not an ISO 8601 time; write it like 2024-05-01T09:30:00Z",
            field=what,
        ) from None
    if moment.tzinfo is None:
        raise ValidationError(
            f"{what} {value!r} has no UTC offset; add one, such as Z or +02:00", field=what
        )
    return moment
