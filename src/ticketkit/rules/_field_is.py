"""The field comparison of automation rules: ``FieldIs("priority", "lt", "P3")``.

Split from :mod:`._conditions` (which re-exports it): the operators, which
fields take which, and how a rule's JSON value compares with a ticket's value.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from attrs import frozen

from .._errors import ValidationError
from .._events import JSONValue
from .._fields import FieldDef, FieldType
from .._model import Ticket, check_tag
from .._priority import Priority
from .._text import check_name, parse_choice
from .._workflow import Category, Workflow

if typing.TYPE_CHECKING:
    from ._conditions import RuleContext

__all__ = ["FIELD_OPS", "FieldIs", "Op"]


class Op(enum.StrEnum):
    """The operators of :class:`FieldIs`."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    IS_SET = "is_set"
    IS_EMPTY = "is_empty"


_ORDER_OPS = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})
_LIST_OPS = frozenset({Op.IN, Op.NOT_IN})
_PRESENCE_OPS = frozenset({Op.IS_SET, Op.IS_EMPTY})
_EQUALITY = frozenset({Op.EQ, Op.NE}) | _LIST_OPS | _PRESENCE_OPS

#: The ticket fields a condition can name (besides ``fields.<name>``) and the
#: operators each takes.
FIELD_OPS: Mapping[str, frozenset[Op]] = {
    "status": _EQUALITY,
    "category": _EQUALITY,
    "priority": _EQUALITY | _ORDER_OPS,
    "queue": _EQUALITY,
    "assignee": _EQUALITY,
    "reporter": _EQUALITY,
    "organisation": _EQUALITY,
    "tags": frozenset({Op.CONTAINS}) | _PRESENCE_OPS,
    "title": _EQUALITY | {Op.CONTAINS},
    "description": _EQUALITY | {Op.CONTAINS},
}
_TYPE_OPS: Mapping[FieldType, frozenset[Op]] = {
    FieldType.TEXT: _EQUALITY | {Op.CONTAINS} | _ORDER_OPS,
    FieldType.INT: _EQUALITY | _ORDER_OPS,
    FieldType.DECIMAL: _EQUALITY | _ORDER_OPS,
    FieldType.DATE: _EQUALITY | _ORDER_OPS,
    FieldType.BOOL: frozenset({Op.EQ, Op.NE}) | _PRESENCE_OPS,
    FieldType.CHOICE: _EQUALITY,
    FieldType.USER: _EQUALITY,
    FieldType.MULTI_CHOICE: frozenset({Op.EQ, Op.NE, Op.CONTAINS}) | _PRESENCE_OPS,
}
_FIELD_HINT = ", ".join([*FIELD_OPS, "fields.<name>"])


def _ops(names: Iterable[Op]) -> str:
    return ", ".join(op.value for op in Op if op in names)


def _check_field(value: object) -> str:
    if not isinstance(value, str) or not (
        value in FIELD_OPS or (value.startswith("fields.") and len(value) > 7)
    ):
        raise ValidationError(
            f"a condition cannot look at the field {value!r}; use one of {_FIELD_HINT}",
            field="field",
        )
    return value


def _plain(value: object) -> JSONValue:
    """A Python date or decimal as the JSON text a rule keeps."""
    if isinstance(value, datetime):
        raise ValidationError(f"compare dates, not datetimes: {value!r}", field="value")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Priority):
        return value.name
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _one(name: str, value: object) -> object:
    """One comparison value for the built-in field ``name``, in its checked form."""
    if name.startswith("fields.") and isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, list | tuple | dict | set | frozenset):
        raise ValidationError(
            f"a condition on {name!r} compares with one value here, got {value!r:.60}",
            field=name,
        )
    if name == "priority":
        return Priority.parse(value)
    if name == "category":
        return parse_choice(Category, value, "state category", field="category")
    if name == "tags":
        return check_tag(value)
    if name.startswith("fields."):
        if value is None:
            raise ValidationError(
                f"a condition on {name!r} needs a value; use is_empty to test for none",
                field=name,
            )
        return _plain(value)
    if not isinstance(value, str):
        raise ValidationError(
            f"a condition on {name!r} compares with a string, got {value!r:.60}", field=name
        )
    if name in ("title", "description"):
        return value
    return check_name(value, name)


def _to_op(value: object) -> Op:
    return parse_choice(Op, value, "condition operator", field="op")


@frozen(init=False)
class FieldIs:
    """``field op value``: ``FieldIs("priority", "lt", "P3")`` holds for P1 and P2.

    Fields: ``status``, ``category`` (the category of the status in the workflow),
    ``priority`` (ordered: P1 < P2 < ...), ``queue``, ``assignee``, ``reporter``,
    ``organisation``, ``tags``, ``title``, ``description`` and ``fields.<name>``.
    Operators: ``eq ne lt le gt ge in not_in contains is_set is_empty``;
    ``in``/``not_in`` take a list, ``is_set``/``is_empty`` no value. ``contains``
    is a case-insensitive substring on text and membership on tags and
    multi-choice fields. A field that is not set matches only ``ne``,
    ``not_in`` and ``is_empty``.
    """

    field: str
    op: Op
    value: JSONValue

    def __init__(self, field: str, op: Op | str = "eq", value: JSONValue = None) -> None:
        name = _check_field(field)
        checked = _to_op(op)
        allowed = FIELD_OPS.get(name)
        if allowed is not None and checked not in allowed:
            raise ValidationError(
                f"the operator {checked.value!r} does not apply to {name!r}; "
                f"use one of {_ops(allowed)}",
                field=name,
            )
        if checked in _PRESENCE_OPS:
            if value is not None:
                raise ValidationError(
                    f"{checked.value} on {name!r} takes no value, got {value!r:.60}", field=name
                )
            kept: JSONValue = None
        elif checked in _LIST_OPS:
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
                raise ValidationError(
                    f"{checked.value} on {name!r} takes a list of values, got {value!r:.60}",
                    field=name,
                )
            kept = tuple(_one(name, item) for item in value)
            if not kept:
                raise ValidationError(f"{checked.value} on {name!r} needs at least one value")
        else:
            kept = _one(name, value)
            if checked is Op.CONTAINS and kept == "":
                raise ValidationError(f"contains on {name!r} needs a non-empty string")
        self.__attrs_init__(name, checked, kept)

    def matches(self, ticket: Ticket, context: RuleContext) -> bool:
        """Whether the ticket's value compares as the condition says."""
        actual = _value_of(ticket, self.field, context)
        op, want = self.op, self.value
        empty = actual is None or actual == "" or actual == () or actual == frozenset()
        if op in _PRESENCE_OPS:
            return empty is (op is Op.IS_EMPTY)
        if actual is None:
            return op in (Op.NE, Op.NOT_IN)
        if op is Op.CONTAINS:
            if isinstance(actual, str):
                return str(want).casefold() in actual.casefold()
            return isinstance(actual, tuple | frozenset) and want in actual
        if op in _LIST_OPS:
            found = any(_same(actual, _like(actual, w)) for w in want)
            return found is (op is Op.IN)
        if op in (Op.EQ, Op.NE):
            return _same(actual, _like(actual, want)) is (op is Op.EQ)
        other = _like(actual, want)
        try:
            if op is Op.LT:
                return bool(actual < other)
            if op is Op.LE:
                return bool(actual <= other)
            if op is Op.GT:
                return bool(actual > other)
            return bool(actual >= other)
        except TypeError:
            return False

    def to_data(self) -> dict[str, JSONValue]:
        """``{"field": ..., "op": ..., "value": ...}`` (no value for is_set/is_empty)."""
        data: dict[str, JSONValue] = {"field": self.field, "op": self.op.value}
        if self.op not in _PRESENCE_OPS:
            data["value"] = _data(self.value)
        return data

    def check(self, fields: Mapping[str, FieldDef], workflow: Workflow) -> None:
        """Refuse a custom field that is not defined, a value it cannot hold, an unknown status."""
        values = self.value if self.op in _LIST_OPS else (self.value,)
        if self.field == "status" and self.op not in _PRESENCE_OPS:
            for value in values:
                workflow.state(value)
        if not self.field.startswith("fields."):
            return
        name = self.field[7:]
        fd = fields.get(name)
        if fd is None:
            known = ", ".join(f"fields.{n}" for n in sorted(fields)) or "none are defined"
            raise ValidationError(
                f"unknown custom field {self.field!r}; known fields: {known}", field=self.field
            )
        allowed = _TYPE_OPS[fd.type]
        if self.op not in allowed:
            raise ValidationError(
                f"the operator {self.op.value!r} does not apply to the {fd.type.value} field "
                f"{self.field!r}; use one of {_ops(allowed)}",
                field=self.field,
            )
        if self.op in _PRESENCE_OPS:
            return
        for value in values:
            if fd.type is FieldType.MULTI_CHOICE and not isinstance(value, list | tuple):
                fd.validate([value])
            else:
                fd.validate(value)


def _data(value: object) -> JSONValue:
    if isinstance(value, tuple):
        return [_data(item) for item in value]
    return _plain(value)


def _value_of(ticket: Ticket, name: str, context: RuleContext) -> typing.Any:
    if name == "category":
        try:
            return context.workflow.category(ticket.status)
        except ValidationError:
            return None
    if name.startswith("fields."):
        return ticket.fields.get(name[7:])
    return getattr(ticket, name)


def _like(actual: object, want: object) -> object:
    """``want`` (as a rule keeps it) in the type of the ticket's value, when it can be."""
    try:
        if isinstance(actual, Decimal) and isinstance(want, int | float | str):
            return Decimal(str(want))
        if isinstance(actual, date) and isinstance(want, str):
            return date.fromisoformat(want)
    except (InvalidOperation, ValueError):
        return want
    return want


def _same(actual: object, want: object) -> bool:
    if isinstance(actual, tuple) and isinstance(want, list | tuple):
        return set(actual) == set(want)
    return bool(actual == want)
