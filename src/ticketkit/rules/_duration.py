"""Lengths of time as plain data: ``"30m"``, ``"8h"``, ``"2d 4h"`` or seconds.

One compact form for every duration that automation settings keep as data
(rule triggers, auto-close waits, SLA targets). :func:`parse_duration` reads
it and :func:`format_duration` writes it; ``parse_duration(format_duration(d))
== d`` for every non-negative ``timedelta`` (microseconds included).

The form: one or more ``<number><unit>`` parts, largest unit first, separated by
optional spaces; units ``w`` (weeks), ``d`` (days), ``h``, ``m``, ``s``; the
number is a whole number, or a decimal on the last part (``"1.5h"``). A plain
number (``90``, ``"90"``, ``1.5``) counts seconds. A day is 24 hours of the
calendar the duration is used with: on a business calendar ``"1d"`` is 24
business hours, not one working day.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from .._errors import ValidationError

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([wdhms])\s*")
_PLAIN = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_HINT = "use a length such as '30m', '8h', '2d 4h' or a number of seconds"
_MAX = timedelta.max.total_seconds()


def _fail(value: object, what: str, why: str = "") -> ValidationError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValidationError(f"{what} {shown} is not a length of time{why}; {_HINT}", field=what)


def _from_seconds(seconds: Decimal, value: object, what: str) -> timedelta:
    if seconds < 0:
        raise _fail(value, what, " (it is negative)")
    if seconds > _MAX:
        raise _fail(value, what, " (it is too long)")
    micro = (seconds * 1_000_000).to_integral_value()
    return timedelta(microseconds=int(micro))


def parse_duration(value: object, what: str = "duration") -> timedelta:
    """The ``timedelta`` that ``value`` gives: a ``timedelta``, seconds, or ``"2d 4h"``.

    Negative lengths and anything else are refused with a
    :class:`~ticketkit.ValidationError` on ``what`` that names the value. Zero is
    accepted; callers that need a positive length check it.
    """
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise _fail(value, what, " (it is negative)")
        return value
    if isinstance(value, bool):
        raise _fail(value, what)
    if isinstance(value, int):
        return _from_seconds(Decimal(value), value, what)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _fail(value, what)
        return _from_seconds(Decimal(repr(value)), value, what)
    if not isinstance(value, str):
        raise _fail(value, what)
    try:
        if _PLAIN.match(value):
            return _from_seconds(Decimal(value.strip()), value, what)
        return _from_seconds(_parse_parts(value, what), value, what)
    except InvalidOperation:  # pragma: no cover - the patterns admit only decimals
        raise _fail(value, what) from None


def _parse_parts(value: str, what: str) -> Decimal:
    total = Decimal(0)
    position = 0
    previous = math.inf
    parts = 0
    while position < len(value):
        found = _PART.match(value, position)
        if found is None:
            raise _fail(value, what)
        number, unit = found.groups()
        size = _UNITS[unit]
        if size >= previous:
            raise _fail(value, what, f" (give each unit once, largest first: {unit!r} repeats)")
        if "." in number and found.end() != len(value):
            raise _fail(value, what, " (only the last part may have a fraction)")
        total += Decimal(number) * size
        previous = size
        position = found.end()
        parts += 1
    if not parts:
        raise _fail(value, what)
    return total


def format_duration(value: timedelta) -> str:
    """The compact form of ``value``: ``"2d 4h"``, ``"30m"``, ``"0s"``, ``"1.5s"``.

    Days are the largest unit written (``"14d"``, not ``"2w"``). Refuses a
    negative ``timedelta``.
    """
    if not isinstance(value, timedelta):
        raise ValidationError(f"a duration must be a timedelta, got {value!r}")
    if value < timedelta(0):
        raise ValidationError(f"a duration cannot be negative, got {value}; {_HINT}")
    micro = value // timedelta(microseconds=1)
    seconds, fraction = divmod(micro, 1_000_000)
    parts = []
    for unit in "dhm":
        count, seconds = divmod(seconds, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    if seconds or fraction or not parts:
        if fraction:
            text = f"{seconds}.{fraction:06d}".rstrip("0")
            parts.append(f"{text}s")
        else:
            parts.append(f"{seconds}s")
    return " ".join(parts)
