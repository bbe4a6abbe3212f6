"""The check every store makes of an id it is given: a whole number, not a bool."""

from __future__ import annotations

from .._errors import ValidationError

__all__ = ["check_id", "is_id"]


def is_id(value: object) -> bool:
    """Whether ``value`` can be an id (``True`` is an ``int`` to Python, not to a store)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_id(value: object, field: str) -> int:
    """``value`` if it can be an id; else ``ValidationError`` naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an int, got {value!r:.60}", field=field)
    return value
