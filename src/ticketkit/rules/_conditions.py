"""The conditions of automation rules: field comparisons, tags, text; all/any/not.

Each condition is a frozen value with ``matches(ticket, context)`` and
``to_data()``; :func:`condition_from_data` reads the data back. Names and
operators are checked when a condition is built; the custom fields a
condition names are checked against their definitions by ``Rule.check``.
"""

from __future__ import annotations

import enum
import re
import typing
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from attrs import field, frozen

from .._clock import ensure_utc
from .._errors import ValidationError
from .._events import Event, JSONValue
from .._fields import FieldDef, FieldType
from .._model import Comment, Ticket, check_tag
from .._priority import Priority
from .._text import check_name, parse_choice
from .._workflow import Category, Workflow

__all__ = [
    "All",
    "Any",
    "Condition",
    "FieldIs",
    "HasTag",
    "Not",
    "RuleContext",
    "TextMatches",
    "check_condition",
    "condition_from_data",
]


def _check_now(value: datetime) -> datetime:
    return ensure_utc(value, "now")


@frozen
class RuleContext:
    """What a rule may know besides the ticket.

    ``event`` is the event that triggered the rule (``None`` for a time-based
    rule), ``comment`` the comment that event added, ``is_customer`` whether the
    event's actor is the customer.
    """

    workflow: Workflow
    now: datetime = field(converter=_check_now)
    event: Event | None = None
    comment: Comment | None = None
    is_customer: bool | None = None


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


@frozen
class HasTag:
    """Holds when the ticket has the tag (tags compare case-insensitively)."""

    tag: str = field(converter=check_tag)

    def matches(self, ticket: Ticket, context: RuleContext) -> bool:
        """Whether ``tag`` is among the ticket's tags."""
        return self.tag in ticket.tags

    def to_data(self) -> dict[str, JSONValue]:
        """``{"has_tag": tag}``."""
        return {"has_tag": self.tag}


_PLACES = ("title", "description", "comment")


def _places(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise ValidationError(f"where must be a list of {', '.join(_PLACES)}, got {value!r}")
    found = tuple(value)
    for place in found:
        if place not in _PLACES:
            raise ValidationError(
                f"text cannot be searched in {place!r}; use {', '.join(_PLACES)}", field="where"
            )
    if not found or len(set(found)) != len(found):
        raise ValidationError(
            f"where must list {', '.join(_PLACES)} each at most once, got {list(found)!r}",
            field="where",
        )
    return tuple(p for p in _PLACES if p in found)


def _pattern(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"a text condition needs a non-empty pattern, got {value!r:.60}", field="text"
        )
    return value


@frozen
class TextMatches:
    """Holds when ``pattern`` occurs (case-insensitively) in the title, description or comment.

    ``comment`` is the comment that triggered the rule, if any. With
    ``regex=True`` the pattern is a regular expression searched anywhere in the
    text; a bad expression is refused when the condition is built.
    """

    pattern: str = field(converter=_pattern)
    where: tuple[str, ...] = field(default=_PLACES, converter=_places)
    regex: bool = False
    _compiled: re.Pattern[str] | None = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.regex, bool):
            raise ValidationError(f"regex must be true or false, got {self.regex!r}")
        compiled = None
        if self.regex:
            try:
                compiled = re.compile(self.pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValidationError(
                    f"the regular expression {self.pattern!r} is not valid ({exc}); fix it "
                    "or set regex to false to match plain text",
                    field="text",
                ) from None
        object.__setattr__(self, "_compiled", compiled)

    def _texts(self, ticket: Ticket, context: RuleContext) -> Iterator[str]:
        for place in self.where:
            if place == "comment":
                if context.comment is not None:
                    yield context.comment.body
            else:
                yield getattr(ticket, place)

    def matches(self, ticket: Ticket, context: RuleContext) -> bool:
        """Whether the pattern is found in one of the places."""
        if self._compiled is not None:
            return any(self._compiled.search(text) for text in self._texts(ticket, context))
        needle = self.pattern.casefold()
        return any(needle in text.casefold() for text in self._texts(ticket, context))

    def to_data(self) -> dict[str, JSONValue]:
        """``{"text": pattern, "where": [...], "regex": bool}``."""
        return {"text": self.pattern, "where": list(self.where), "regex": self.regex}


def _conditions(values: Iterable[Condition]) -> tuple[Condition, ...]:
    found = tuple(values)
    for item in found:
        if not isinstance(item, CONDITION_TYPES):
            raise ValidationError(
                f"{item!r:.60} is not a condition; use FieldIs, HasTag, TextMatches, All, Any "
                "or Not"
            )
    return found


@frozen(init=False)
class All:
    """Holds when every one of its conditions does; ``All()`` always holds."""

    conditions: tuple[Condition, ...]

    def __init__(self, *conditions: Condition) -> None:
        self.__attrs_init__(_conditions(conditions))

    def matches(self, ticket: Ticket, context: RuleContext) -> bool:
        """Whether all conditions hold."""
        return all(c.matches(ticket, context) for c in self.conditions)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"all": [...]}``."""
        return {"all": [c.to_data() for c in self.conditions]}


@frozen(init=False)
class Any:
    """Holds when at least one of its conditions does; ``Any()`` never holds."""

    conditions: tuple[Condition, ...]

    def __init__(self, *conditions: Condition) -> None:
        self.__attrs_init__(_conditions(conditions))

    def matches(self, ticket: Ticket, context: RuleContext) -> bool:
        """Whether any condition holds."""
        return any(c.matches(ticket, context) for c in self.conditions)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"any": [...]}``."""
        return {"any": [c.to_data() for c in self.conditions]}


def _condition(value: Condition) -> Condition:
    return _conditions((value,))[0]


@frozen
class Not:
    """Holds when its condition does not."""

    condition: Condition = field(converter=_condition)

    def matches(self, ticket: Ticket, context: RuleContext) -> bool:
        """Whether the condition fails."""
        return not self.condition.matches(ticket, context)

    def to_data(self) -> dict[str, JSONValue]:
        """``{"not": {...}}``."""
        return {"not": self.condition.to_data()}


#: Any condition of a rule.
Condition = FieldIs | HasTag | TextMatches | All | Any | Not
CONDITION_TYPES = (FieldIs, HasTag, TextMatches, All, Any, Not)


def field_conditions(condition: Condition) -> Iterator[FieldIs]:
    """Every :class:`FieldIs` inside ``condition``."""
    if isinstance(condition, FieldIs):
        yield condition
    elif isinstance(condition, All | Any):
        for part in condition.conditions:
            yield from field_conditions(part)
    elif isinstance(condition, Not):
        yield from field_conditions(condition.condition)


def check_condition(
    condition: Condition, fields: Mapping[str, FieldDef], workflow: Workflow
) -> None:
    """Check every field comparison in ``condition`` against the definitions."""
    for item in field_conditions(condition):
        item.check(fields, workflow)


_KEYS = ("field", "has_tag", "text", "all", "any", "not")


def _table(data: object, where: str) -> Mapping[str, typing.Any]:
    if not isinstance(data, Mapping):
        raise ValidationError(f"{where} must be a table (mapping), got {data!r:.60}")
    return data


def _only(data: Mapping[str, typing.Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed, key=str)
    if unknown:
        raise ValidationError(
            f"{where} has the unknown key {unknown[0]!r}; its keys are {', '.join(sorted(allowed))}"
        )


def _parts(data: object, where: str) -> list[Condition]:
    if not isinstance(data, list | tuple):
        raise ValidationError(f"{where} must be a list of conditions, got {data!r:.60}")
    return [condition_from_data(item, f"{where}[{i}]") for i, item in enumerate(data)]


def condition_from_data(data: object, where: str = "condition") -> Condition:
    """The condition ``data`` describes (the form ``to_data`` writes).

    Errors name ``where`` (such as ``"rule 'vip', when.all[2]"``) and the problem.
    """
    table = _table(data, where)
    kinds = [k for k in _KEYS if k in table]
    if len(kinds) != 1:
        raise ValidationError(
            f"{where} must have exactly one of the keys {', '.join(_KEYS)}; "
            f"got {sorted(map(str, table))!r}"
        )
    kind = kinds[0]
    try:
        if kind == "field":
            _only(table, where, {"field", "op", "value"})
            return FieldIs(table["field"], table.get("op", "eq"), table.get("value"))
        if kind == "has_tag":
            _only(table, where, {"has_tag"})
            return HasTag(table["has_tag"])
        if kind == "text":
            _only(table, where, {"text", "where", "regex"})
            return TextMatches(
                table["text"], table.get("where", _PLACES), table.get("regex", False)
            )
        _only(table, where, {kind})
        if kind == "not":
            return Not(condition_from_data(table["not"], f"{where}.not"))
        parts = _parts(table[kind], f"{where}.{kind}")
        return All(*parts) if kind == "all" else Any(*parts)
    except ValidationError as exc:
        if str(exc).startswith(where):
            raise
        raise ValidationError(f"{where}: {exc}", field=exc.field) from None
