"""The conditions of automation rules: field comparisons, tags, text; all/any/not.

Each condition is a frozen value with ``matches(ticket, context)`` and
``to_data()``; :func:`condition_from_data` reads the data back. Names and
operators are checked when a condition is built; the custom fields a
condition names are checked against their definitions by ``Rule.check``.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

from attrs import field, frozen

from .._clock import ensure_utc
from .._errors import ValidationError
from .._events import Event, JSONValue
from .._fields import FieldDef
from .._model import Comment, Ticket, check_tag
from .._workflow import Workflow
from ._data import check_bool, check_table, in_context, read_list, read_table
from ._field_is import FieldIs

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
    found = tuple(read_list(value, "where", of=", ".join(_PLACES), single=True))
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
        check_bool(self.regex, "regex")
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


def _parts(data: object, where: str) -> list[Condition]:
    items = read_list(data, where, of="conditions", field="when")
    return [condition_from_data(item, f"{where}[{i}]") for i, item in enumerate(items)]


def condition_from_data(data: object, where: str = "condition") -> Condition:
    """The condition ``data`` describes (the form ``to_data`` writes).

    Errors name ``where`` (such as ``"rule 'vip', when.all[2]"``) and the problem.
    """
    table = check_table(data, where)
    kinds = [k for k in _KEYS if k in table]
    if len(kinds) != 1:
        raise ValidationError(
            f"{where} must have exactly one of the keys {', '.join(_KEYS)}; "
            f"got {sorted(map(str, table))!r}"
        )
    kind = kinds[0]
    values = read_table(table, where, {kind}, _OTHER_KEYS.get(kind, ()))
    return in_context(where, lambda: _build(kind, values, where))


#: The keys a condition's table may have besides its kind.
_OTHER_KEYS = {"field": ("op", "value"), "text": ("where", "regex")}


def _build(kind: str, table: Mapping[str, typing.Any], where: str) -> Condition:
    if kind == "field":
        return FieldIs(table["field"], table.get("op", "eq"), table.get("value"))
    if kind == "has_tag":
        return HasTag(table["has_tag"])
    if kind == "text":
        return TextMatches(table["text"], table.get("where", _PLACES), table.get("regex", False))
    if kind == "not":
        return Not(condition_from_data(table["not"], f"{where}.not"))
    parts = _parts(table[kind], f"{where}.{kind}")
    return All(*parts) if kind == "all" else Any(*parts)
