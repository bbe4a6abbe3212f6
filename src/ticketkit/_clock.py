"""Time as a dependency: the domain never reads the system clock itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from ._errors import ValidationError

__all__ = ["Clock", "FrozenClock", "SystemClock", "ensure_utc", "optional_instant"]


@runtime_checkable
class Clock(Protocol):
    """Anything with a ``now()`` that returns a timezone-aware datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FrozenClock:
    """A clock that stands still until told to move; for tests and replays."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (
            ensure_utc(start, "start")
            if start is not None
            else datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        )

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)``; return the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if not isinstance(step, timedelta):
            raise ValidationError(f"advance takes a timedelta, got {step!r}")
        if step < timedelta(0):
            raise ValidationError(f"a FrozenClock only moves forward, got {step}")
        self._now += step
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (a timezone-aware datetime)."""
        self._now = ensure_utc(when, "when")

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()!r})"


def ensure_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` in UTC; refuse naive datetimes, whose meaning is unknown."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, got {type(value).__name__}", field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{name} {value.isoformat()} is naive; pass a timezone-aware datetime "
            "such as datetime.now(timezone.utc)",
            field=name,
        )
    return value.astimezone(UTC)


def optional_instant(value: object, name: str) -> datetime | None:
    """``value`` in UTC, or ``None``; a report's or a dry run's ``since`` and ``until``.

    Anything but ``None`` or a timezone-aware datetime is a
    :class:`ValidationError` on ``name`` saying what to pass.
    """
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(
            f"{name} must be a timezone-aware datetime or None, got {value!r:.60}; "
            "pass datetime(2026, 1, 1, tzinfo=timezone.utc)",
            field=name,
        )
    return ensure_utc(value, name)
