"""Typed custom fields: definitions and the validation of their values."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from attrs import field, frozen

from ._errors import ValidationError
from ._text import check_body, check_name, preview

__all__ = ["FieldDef", "FieldType", "FieldValue", "validate_field_values"]

#: What a custom field can hold once validated. Multi-choice values are tuples
#: in the order of the field's choices.
FieldValue = str | int | Decimal | bool | date | tuple[str, ...]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class FieldType(enum.StrEnum):
    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATE = "date"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    USER = "user"


def _field_type(value: object) -> FieldType:
    try:
        return FieldType(value)  # type: ignore[arg-type]
    except ValueError:
        known = ", ".join(t.value for t in FieldType)
        raise ValidationError(f"unknown custom field type {value!r}; use one of {known}") from None


def _to_choices(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(f"choices must be a list of strings, got {values!r}")
    return tuple(values)


def _check_field_name(_: object, __: object, value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError(
            f"custom field name {value!r} is not valid; use lower-case letters, digits "
            "and underscores, starting with a letter (at most 63 characters)"
        )


@frozen
class FieldDef:
    """The definition of one custom field.

    ``choices`` is required for ``choice`` and ``multi_choice`` fields and
    refused for the others. ``max_length`` applies to text; ``min_value`` and
    ``max_value`` to int and decimal fields. An ``internal`` field is for agents
    only: it is never shown to customers.
    """

    name: str = field(validator=_check_field_name)
    type: FieldType = field(converter=_field_type)
    label: str = field(default="", kw_only=True)
    required: bool = field(default=False, kw_only=True)
    choices: tuple[str, ...] = field(default=(), converter=_to_choices, kw_only=True)
    max_length: int | None = field(default=None, kw_only=True)
    min_value: int | Decimal | None = field(default=None, kw_only=True)
    max_value: int | Decimal | None = field(default=None, kw_only=True)
    internal: bool = field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.required, bool):
            raise ValidationError(f"required must be true or false, got {self.required!r}")
        if not isinstance(self.internal, bool):
            raise ValidationError(f"internal must be true or false, got {self.internal!r}")
        if not isinstance(self.label, str):
            raise ValidationError(f"a field label must be a string, got {self.label!r}")
        wants_choices = self.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE)
        if wants_choices and not self.choices:
            raise ValidationError(
                f"custom field {self.name!r} is a {self.type.value} field; give it choices"
            )
        if not wants_choices and self.choices:
            raise ValidationError(
                f"custom field {self.name!r} is a {self.type.value} field and takes no choices"
            )
        if len(set(self.choices)) != len(self.choices):
            raise ValidationError(f"custom field {self.name!r} lists a choice twice")

    @property
    def path(self) -> str:
        """The name under which queries and events refer to this field."""
        return f"fields.{self.name}"

    def validate(self, value: object) -> FieldValue:
        """Return ``value`` in its canonical form, or raise ``ValidationError``."""
        checker = _CHECKERS[self.type]
        result: FieldValue = checker(self, value)
        if self.type in (FieldType.INT, FieldType.DECIMAL):
            self._check_range(result)  # type: ignore[arg-type]
        return result

    def _fail(self, value: object, expected: str) -> ValidationError:
        return ValidationError(
            f"custom field {self.name!r} expects {expected}, got {preview(value)} "
            f"({type(value).__name__})",
            field=self.path,
        )

    def _check_range(self, value: int | Decimal) -> None:
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(
                f"custom field {self.name!r} must be at least {self.min_value}, got {value}",
                field=self.path,
            )
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(
                f"custom field {self.name!r} must be at most {self.max_value}, got {value}",
                field=self.path,
            )


def _text(fd: FieldDef, value: object) -> str:
    if not isinstance(value, str):
        raise fd._fail(value, "text")
    text = check_body(value, fd.path)
    if fd.max_length is not None and len(text) > fd.max_length:
        raise ValidationError(
            f"custom field {fd.name!r} is limited to {fd.max_length} characters, got {len(text)}",
            field=fd.path,
        )
    return text


def _int(fd: FieldDef, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise fd._fail(value, "a whole number")
    return value


def _decimal(fd: FieldDef, value: object) -> Decimal:
    if isinstance(value, bool):
        raise fd._fail(value, "a decimal number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise fd._fail(value, "a finite decimal number")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise fd._fail(value, "a decimal number") from None
    else:
        raise fd._fail(value, "a decimal number")
    if not result.is_finite():
        raise fd._fail(value, "a finite decimal number")
    return result


def _bool(fd: FieldDef, value: object) -> bool:
    if not isinstance(value, bool):
        raise fd._fail(value, "true or false")
    return value


def _date(fd: FieldDef, value: object) -> date:
    if isinstance(value, datetime):
        raise fd._fail(value, "a date without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fd._fail(value, "a date (YYYY-MM-DD)")


def _choice(fd: FieldDef, value: object) -> str:
    if not isinstance(value, str) or value not in fd.choices:
        raise ValidationError(
            f"custom field {fd.name!r} must be one of {', '.join(fd.choices)}; got {value!r}",
            field=fd.path,
        )
    return value


def _multi_choice(fd: FieldDef, value: object) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise fd._fail(value, "a list of choices")
    picked = list(value)
    for item in picked:
        _choice(fd, item)
    chosen = set(picked)
    return tuple(c for c in fd.choices if c in chosen)


def _user(fd: FieldDef, value: object) -> str:
    if not isinstance(value, str):
        raise fd._fail(value, "a user name")
    return check_name(value, fd.path)


_CHECKERS: dict[FieldType, Callable[[FieldDef, object], FieldValue]] = {
    FieldType.TEXT: _text,
    FieldType.INT: _int,
    FieldType.DECIMAL: _decimal,
    FieldType.BOOL: _bool,
    FieldType.DATE: _date,
    FieldType.CHOICE: _choice,
    FieldType.MULTI_CHOICE: _multi_choice,
    FieldType.USER: _user,
}


def validate_field_values(
    definitions: Mapping[str, FieldDef],
    values: Mapping[str, object],
    *,
    current: Mapping[str, FieldValue] | None = None,
) -> dict[str, FieldValue]:
    """Validate ``values`` (``None`` clears a field) and return the merged result.

    ``current`` holds the ticket's present values; required fields must be set
    in the result. Unknown field names are refused.
    """
    if not isinstance(values, Mapping):
        raise ValidationError(
            f"custom fields must be given as a mapping of name to value, "
            f"got {type(values).__name__}",
            field="fields",
        )
    result: dict[str, FieldValue] = dict(current or {})
    for name, value in values.items():
        fd = definitions.get(name) if isinstance(name, str) else None
        if fd is None:
            known = ", ".join(sorted(definitions)) or "none are defined"
            raise ValidationError(
                f"unknown custom field {name!r}; known fields: {known}", field=f"fields.{name}"
            )
        checked = None if value is None else fd.validate(value)
        if checked is None or checked == ():
            # No value and an empty multi-choice selection both mean "not set".
            result.pop(name, None)
        else:
            result[name] = checked
    for fd in definitions.values():
        if fd.required and fd.name not in result:
            raise ValidationError(f"custom field {fd.name!r} is required", field=fd.path)
    return {name: result[name] for name in sorted(result)}
