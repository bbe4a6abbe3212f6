"""Checks for the text people type into tickets."""

from __future__ import annotations

import enum
import re
import reprlib
from typing import TypeVar

from ._errors import ValidationError

_E = TypeVar("_E", bound=enum.Enum)

__all__ = [
    "MAX_BODY",
    "MAX_NAME",
    "MAX_REFERENCE",
    "MAX_TITLE",
    "check_body",
    "check_name",
    "check_note",
    "check_reference",
    "check_title",
    "parse_choice",
]

MAX_TITLE = 255
MAX_BODY = 1_000_000
MAX_NAME = 254
MAX_REFERENCE = 200

# C0 controls other than tab, newline and carriage return; DEL; C1 controls.
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
# A single-line value may not hold line breaks or tabs either.
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]")
# Half of a UTF-16 pair on its own: not a character, and no database can store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def check_title(value: object, field: str = "title") -> str:
    """Return a stripped, single-line title, or raise ``ValidationError``."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, got {type(value).__name__}", field=field)
    text = value.strip()
    if not text:
        raise ValidationError(f"{field} must not be empty or only white space", field=field)
    if len(text) > MAX_TITLE:
        raise ValidationError(
            f"{field} is {len(text)} characters long; the limit is {MAX_TITLE}", field=field
        )
    bad = _LINE_CONTROL.search(text)
    if bad:
        raise ValidationError(
            f"{field} contains the control character {_describe(bad.group())}; "
            "use plain single-line text",
            field=field,
        )
    return text


def check_body(value: object, field: str = "description", *, allow_empty: bool = True) -> str:
    """Return multi-line text (tabs and line breaks allowed), or raise ``ValidationError``."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, got {type(value).__name__}", field=field)
    if not allow_empty and not value.strip():
        raise ValidationError(f"{field} must not be empty or only white space", field=field)
    if len(value) > MAX_BODY:
        raise ValidationError(
            f"{field} is {len(value)} characters long; the limit is {MAX_BODY}", field=field
        )
    bad = _BODY_CONTROL.search(value)
    if bad:
        raise ValidationError(
            f"{field} contains the control character {_describe(bad.group())}; "
            "remove it (tabs and line breaks are fine)",
            field=field,
        )
    return value


def check_note(value: object, field: str, limit: int) -> str | None:
    """An optional short text (a note, a rating's comment): stripped, ``None`` when empty.

    Multi-line text as :func:`check_body` takes it, at most ``limit`` characters.
    """
    if value is None:
        return None
    text = check_body(value, field).strip()
    if len(text) > limit:
        raise ValidationError(
            f"{field} is {len(text)} characters long; the limit is {limit}", field=field
        )
    return text or None


def check_name(value: object, field: str) -> str:
    """Return an identifier for a person, queue or tag: non-empty, one line, no spaces around."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, got {type(value).__name__}", field=field)
    text = value.strip()
    if not text:
        raise ValidationError(f"{field} must not be empty or only white space", field=field)
    if len(text) > MAX_NAME:
        raise ValidationError(
            f"{field} is {len(text)} characters long; the limit is {MAX_NAME}", field=field
        )
    bad = _LINE_CONTROL.search(text)
    if bad:
        raise ValidationError(
            f"{field} contains the control character {_describe(bad.group())}", field=field
        )
    return text


def check_reference(value: object, field: str = "reference") -> str:
    """Return an external reference exactly as given, or raise ``ValidationError``.

    References are compared exactly (case and spaces count), so nothing is
    stripped or folded; what cannot be a reference is refused instead.
    """
    if not isinstance(value, str):
        raise ValidationError(
            f"{field} must be a string such as 'crash:3f2a9c', got {type(value).__name__}",
            field=field,
        )
    if not value.strip():
        raise ValidationError(f"{field} must not be empty or only white space", field=field)
    if len(value) > MAX_REFERENCE:
        raise ValidationError(
            f"{field} is {len(value)} characters long; the limit is {MAX_REFERENCE} "
            "(use a hash of a longer identifier)",
            field=field,
        )
    bad = _LINE_CONTROL.search(value)
    if bad:
        raise ValidationError(
            f"{field} contains the control character {_describe(bad.group())}; "
            "use printable single-line text",
            field=field,
        )
    bad = _SURROGATE.search(value)
    if bad:
        raise ValidationError(
            f"{field} contains the lone surrogate {_describe(bad.group())}, which is not a "
            "character; decode the identifier properly (or hash it)",
            field=field,
        )
    return value


_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel = 3
_PREVIEW.maxstring = _PREVIEW.maxother = 40
_PREVIEW.maxlist = _PREVIEW.maxdict = _PREVIEW.maxtuple = _PREVIEW.maxset = 4


def preview(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for error messages.

    Safe on anything a caller may pass: a huge string or a deeply nested list
    is shortened level by level, never rendered whole.
    """
    shown = _PREVIEW.repr(value)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def parse_choice(cls: type[_E], value: object, what: str, *, field: str) -> _E:
    """The member of the string enum ``cls`` that ``value`` names, case and spaces aside.

    A member is returned as it is; anything else is a :class:`ValidationError`
    on ``field`` that names the ``what`` and lists the choices.
    """
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value.strip().lower())
        except ValueError:
            pass
    choices = ", ".join(str(m.value) for m in cls)
    raise ValidationError(f"unknown {what} {preview(value)}; use one of {choices}", field=field)
