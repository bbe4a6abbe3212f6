"""Queries over tickets: conditions, ordering and keyset pagination.

The query is data (so a front end can build it from a form or a URL); the
tracker checks it against the ticket fields and custom fields it knows, and
every store runs the same checked query. :func:`matches` and
:func:`sort_key` are the reference semantics that the memory store uses and
every other store must agree with.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import evolve, frozen

from ._clock import ensure_utc
from ._errors import InvalidCursor, ValidationError
from ._fields import FieldDef, FieldType
from ._model import Ticket, check_tag
from ._priority import Impact, Priority, Urgency
from ._values import decode, encode

__all__ = [
    "MAX_LIMIT",
    "NULLABLE_FIELDS",
    "Condition",
    "Op",
    "Page",
    "Query",
    "check_query",
    "cursor_of",
    "decode_cursor",
    "encode_cursor",
    "matches",
    "query_of",
    "sort_key",
    "value_of",
]

MAX_LIMIT = 1000


class Op(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    CONTAINS = "contains"
    IS_NULL = "is_null"
    #: ``Condition("any", Op.ANY, (cond, ...))`` holds when at least one of the
    #: conditions does (none of them an ``any``); no conditions match nothing.
    ANY = "any"


@frozen
class Condition:
    """``field op value``: ``Condition("priority", Op.IN, ("P1", "P2"))``."""

    field: str
    op: Op
    value: Any = None


def query_of(
    where: Query | Mapping[str, Any] | Sequence[Condition] | None,
    *,
    text: str | None,
    order_by: Sequence[str] | str,
    limit: int,
    cursor: str | None,
) -> Query:
    """The query ``Tracker.query``'s arguments describe: a ``Query``, or its parts.

    A ``Query`` comes with none of the other arguments changed from their defaults.
    """
    if isinstance(where, Query):
        if text is not None or order_by != ("id",) or limit != 50 or cursor is not None:
            raise ValidationError(
                "pass either a Query or the text/order_by/limit/cursor arguments, not "
                "both; use attrs.evolve(query, ...) to change a Query"
            )
        return where
    return Query.build(where, text=text, order_by=order_by, limit=limit, cursor=cursor)


_KNOWN_FINGERPRINTS = 1024
_FINGERPRINTS: dict[object, str] = {}


@frozen
class Query:
    """A checked, runnable query. Build one with :meth:`build` or ``tracker.query``."""

    conditions: tuple[Condition, ...] = ()
    text: str | None = None
    order_by: tuple[str, ...] = ("id",)
    limit: int = 50
    cursor: str | None = None
    #: Filled in by :func:`check_query`: the type of each custom field the query
    #: names, so that a store can pick the right column. Not part of the fingerprint.
    field_types: tuple[tuple[str, FieldType], ...] = ()

    @classmethod
    def build(
        cls,
        where: Mapping[str, Any] | Sequence[Condition] | None = None,
        *,
        text: str | None = None,
        order_by: Sequence[str] | str = ("id",),
        limit: int = 50,
        cursor: str | None = None,
    ) -> Query:
        """Build from ``{"field": value}`` or ``{"field": {"op": value}}`` (``None`` for all)."""
        conditions: list[Condition] = []
        if isinstance(where, Mapping):
            for name, spec in where.items():
                if isinstance(spec, Mapping):
                    if not spec:
                        raise ValidationError(f"no operator given for {name!r}", field=name)
                    for op, value in spec.items():
                        conditions.append(Condition(name, _parse_op(op, name), value))
                else:
                    conditions.append(Condition(name, Op.EQ, spec))
        elif where is not None:
            conditions.extend(where)
        if isinstance(order_by, str):
            order_by = (order_by,)
        return cls(tuple(conditions), text, tuple(order_by), limit, cursor)

    def fingerprint(self) -> str:
        """Identifies the query (not its page) so a cursor cannot move to another one.

        Remembered for recent queries: a page with a next cursor computes it.
        """
        try:
            key = (
                self.conditions,
                tuple(type(c.value) for c in self.conditions),
                self.text,
                self.order_by,
            )
            known = _FINGERPRINTS.get(key)
        except TypeError:  # a value that cannot be hashed: compute it every time
            return self._fingerprint()
        if known is None:
            if len(_FINGERPRINTS) >= _KNOWN_FINGERPRINTS:
                _FINGERPRINTS.clear()
            known = _FINGERPRINTS[key] = self._fingerprint()
        return known

    def _fingerprint(self) -> str:
        shape = [
            [[c.field, c.op.value, _jsonable(c.value)] for c in self.conditions],
            self.text,
            list(self.order_by),
        ]
        raw = json.dumps(shape, sort_keys=True, default=str).encode()
        return hashlib.sha256(raw).hexdigest()[:16]


@frozen
class Page:
    """One page of results and the cursor of the next page (``None`` on the last)."""

    items: tuple[Ticket, ...]
    next_cursor: str | None = None

    def __iter__(self) -> Any:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _parse_op(op: object, name: str) -> Op:
    try:
        return Op(op)  # type: ignore[arg-type]
    except ValueError:
        ops = ", ".join(o.value for o in Op)
        raise ValidationError(
            f"unknown operator {op!r} for {name!r}; use one of {ops}", field=name
        ) from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Condition):
        return [value.field, value.op.value, _jsonable(value.value)]
    if isinstance(value, frozenset | set | tuple | list):
        return sorted((_jsonable(v) for v in value), key=repr)
    if isinstance(value, enum.Enum):
        return value.value
    return value


# -- field catalogue ---------------------------------------------------------------

_SCALAR = "scalar"
_SET = "set"
_TEXT = "text"

_BUILTIN: dict[str, str] = {
    "id": _SCALAR,
    "key": _SCALAR,
    "title": _TEXT,
    "description": _TEXT,
    "status": _SCALAR,
    "priority": _SCALAR,
    "reporter": _SCALAR,
    "queue": _SCALAR,
    "assignee": _SCALAR,
    "resolution": _SCALAR,
    "impact": _SCALAR,
    "urgency": _SCALAR,
    "created": _SCALAR,
    "updated": _SCALAR,
    "resolved_at": _SCALAR,
    "version": _SCALAR,
    "merged_into": _SCALAR,
    "tenant": _SCALAR,
    "organisation": _SCALAR,
    "tags": _SET,
    "watchers": _SET,
}
#: Built-in fields that can be missing (``None``); stores must handle NULL for them.
NULLABLE_FIELDS = frozenset(
    {"assignee", "resolution", "impact", "urgency", "resolved_at", "merged_into", "organisation"}
)
_UNORDERED = {"impact", "urgency", "key"}
_ORDERED_TYPES = frozenset(FieldType) - {FieldType.MULTI_CHOICE}


def _field_kind(name: str, defs: Mapping[str, FieldDef]) -> tuple[str, FieldDef | None]:
    if not isinstance(name, str):
        raise ValidationError(f"a query field name must be a string, got {name!r}")
    if name in _BUILTIN:
        return _BUILTIN[name], None
    if name.startswith("fields.") and name[7:] in defs:
        fd = defs[name[7:]]
        kinds = {FieldType.MULTI_CHOICE: _SET, FieldType.TEXT: _TEXT}
        return kinds.get(fd.type, _SCALAR), fd
    known = ", ".join(sorted(_BUILTIN)) + "".join(f", fields.{n}" for n in sorted(defs))
    raise ValidationError(f"cannot query on unknown field {name!r}; known: {known}", field=name)


def _normalise(name: str, fd: FieldDef | None, value: Any) -> Any:
    if fd is not None:
        if fd.type is FieldType.MULTI_CHOICE:
            if isinstance(value, str):
                return fd.validate([value])[0]  # type: ignore[index]
            return fd.validate(value)
        return fd.validate(value)
    if name == "priority":
        return Priority.parse(value)
    if name == "impact":
        return Impact.parse(value)
    if name == "urgency":
        return Urgency.parse(value)
    if name in ("created", "updated", "resolved_at"):
        return ensure_utc(value, name)
    if name in ("id", "version"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be a whole number, got {value!r}", field=name)
        return value
    if name in ("tags",):
        return check_tag(value)
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be compared with a string, got {value!r}", field=name)
    return value


def check_query(query: Query, defs: Mapping[str, FieldDef]) -> Query:
    """Return ``query`` with names checked and values normalised, or raise ``ValidationError``."""
    if isinstance(query.limit, bool) or not isinstance(query.limit, int):
        raise ValidationError(f"limit must be a whole number, got {query.limit!r}", field="limit")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise ValidationError(
            f"limit must be between 1 and {MAX_LIMIT}, got {query.limit}", field="limit"
        )
    if query.text is not None and (not isinstance(query.text, str) or not query.text.strip()):
        raise ValidationError("text search needs a non-empty string", field="text")
    conditions = [_check_condition(cond, defs, nested=False) for cond in query.conditions]
    order = []
    for item in query.order_by:
        if not isinstance(item, str) or not item.strip("-"):
            raise ValidationError(f"cannot sort by {item!r}", field="order_by")
        name = item.removeprefix("-")
        kind, fd = _field_kind(name, defs)
        if kind == _SET:
            raise ValidationError(
                f"cannot sort by {name!r}: it holds several values", field="order_by"
            )
        if not _orderable(name, fd):
            hint = {"key": "id", "impact": "priority", "urgency": "priority"}.get(name, "id")
            raise ValidationError(
                f"cannot sort by {name!r}: its values have no useful order; sort by {hint!r}",
                field="order_by",
            )
        order.append(item)
    if "id" not in [o.removeprefix("-") for o in order]:
        order.append("id")
    named = {c.field[7:] for c in _flat(conditions) if c.field.startswith("fields.")}
    named |= {o.lstrip("-")[7:] for o in order if o.lstrip("-").startswith("fields.")}
    checked = evolve(
        query,
        conditions=tuple(conditions),
        order_by=tuple(order),
        field_types=tuple((name, defs[name].type) for name in sorted(named)),
    )
    if checked.cursor is not None:
        if not isinstance(checked.cursor, str):
            raise InvalidCursor(
                f"cursor must be the string a page gave as next_cursor, got {checked.cursor!r}",
                field="cursor",
            )
        decode_cursor(checked)
    return checked


def _flat(conditions: Sequence[Condition]) -> list[Condition]:
    """The conditions with those inside ``any`` in place of it."""
    found: list[Condition] = []
    for cond in conditions:
        found.extend(cond.value if cond.op is Op.ANY else (cond,))
    return found


def _check_any(cond: Condition, defs: Mapping[str, FieldDef], *, nested: bool) -> Condition:
    if nested:
        raise ValidationError("an 'any' condition cannot hold another 'any'", field="any")
    if cond.field != "any":
        raise ValidationError(
            f"the 'any' operator goes with the field name 'any', not {cond.field!r}: "
            "Condition('any', Op.ANY, (condition, ...))",
            field=cond.field,
        )
    if isinstance(cond.value, str | bytes | Mapping) or not isinstance(
        cond.value, Sequence | set | frozenset
    ):
        raise ValidationError(
            f"'any' takes a list of conditions, got {cond.value!r:.60}", field="any"
        )
    return Condition(
        "any", Op.ANY, tuple(_check_condition(c, defs, nested=True) for c in cond.value)
    )


def _check_condition(cond: object, defs: Mapping[str, FieldDef], *, nested: bool) -> Condition:
    """``cond`` with its name checked and its value normalised (``nested`` inside ``any``)."""
    if not isinstance(cond, Condition):
        raise ValidationError(f"not a query condition: {cond!r}")
    if cond.op == Op.ANY:
        return _check_any(cond, defs, nested=nested)
    kind, fd = _field_kind(cond.field, defs)
    op = _parse_op(cond.op, cond.field)
    if op is Op.IS_NULL:
        if cond.field in ("tags", "watchers"):
            raise ValidationError(
                f"{cond.field!r} is never null, only empty; there is no is_null for it",
                field=cond.field,
            )
        if not isinstance(cond.value, bool):
            raise ValidationError(
                f"is_null on {cond.field!r} takes true or false, got {cond.value!r}",
                field=cond.field,
            )
        value: Any = cond.value
    elif op in (Op.IN, Op.NOT_IN):
        if kind == _SET:
            raise ValidationError(
                f"{cond.field!r} holds several values; use contains, not {op.value}",
                field=cond.field,
            )
        if isinstance(cond.value, str | bytes) or not isinstance(
            cond.value, Sequence | set | frozenset
        ):
            raise ValidationError(
                f"{op.value} on {cond.field!r} takes a list of values, got {cond.value!r}",
                field=cond.field,
            )
        value = frozenset(_normalise(cond.field, fd, v) for v in cond.value)
    elif op is Op.CONTAINS:
        if kind == _SCALAR:
            raise ValidationError(
                f"contains works on tags, watchers, multi-choice and text fields, "
                f"not on {cond.field!r}",
                field=cond.field,
            )
        if kind == _TEXT:
            if not isinstance(cond.value, str) or not cond.value:
                raise ValidationError(
                    f"contains on {cond.field!r} takes a non-empty string", field=cond.field
                )
            value = cond.value
        else:
            value = _normalise(cond.field, fd, cond.value)
    else:
        if kind == _SET:
            raise ValidationError(
                f"{cond.field!r} holds several values; use contains, not {op.value}",
                field=cond.field,
            )
        if op in (Op.LT, Op.LE, Op.GT, Op.GE) and not _orderable(cond.field, fd):
            raise ValidationError(
                f"{op.value} needs an ordered field; {cond.field!r} is not one "
                "(compare priority, id or times instead)",
                field=cond.field,
            )
        value = _normalise(cond.field, fd, cond.value)
    return Condition(cond.field, op, value)


def _orderable(name: str, fd: FieldDef | None) -> bool:
    """Can ``lt``/``gt`` and sorting apply? Strings order by code point.

    ``impact`` and ``urgency`` are ranks whose names do not sort (order by
    ``priority``, derived from them), and keys would sort ``HD-10`` before
    ``HD-2`` (order by ``id``).
    """
    if fd is not None:
        return fd.type in _ORDERED_TYPES
    return name not in _UNORDERED and _BUILTIN.get(name) in (_SCALAR, _TEXT)


# -- reference semantics ------------------------------------------------------------


def value_of(ticket: Ticket, name: str) -> Any:
    if name.startswith("fields."):
        return ticket.fields.get(name[7:])
    return getattr(ticket, name)


def matches(ticket: Ticket, query: Query) -> bool:
    """Does ``ticket`` satisfy every condition and the text search of a checked query?"""
    if query.text is not None:
        needle = query.text.casefold()
        if needle not in ticket.title.casefold() and needle not in ticket.description.casefold():
            return False
    return all(_holds_for(ticket, c) for c in query.conditions)


def _holds_for(ticket: Ticket, cond: Condition) -> bool:
    if cond.op is Op.ANY:
        return any(_holds(value_of(ticket, c.field), c) for c in cond.value)
    return _holds(value_of(ticket, cond.field), cond)


def _holds(actual: Any, cond: Condition) -> bool:
    op, want = cond.op, cond.value
    if op is Op.IS_NULL:
        return (actual is None) is want
    if op is Op.CONTAINS:
        if isinstance(actual, str):
            return want.casefold() in actual.casefold()
        return actual is not None and want in actual
    if actual is None:
        return op in (Op.NE, Op.NOT_IN)
    if op is Op.EQ:
        return bool(actual == want)
    if op is Op.NE:
        return bool(actual != want)
    if op is Op.IN:
        return actual in want
    if op is Op.NOT_IN:
        return actual not in want
    if op is Op.LT:
        return bool(actual < want)
    if op is Op.LE:
        return bool(actual <= want)
    if op is Op.GT:
        return bool(actual > want)
    return bool(actual >= want)


class _Key:
    """One sort column: ``None`` sorts after every value, and ``desc`` reverses both."""

    __slots__ = ("desc", "value")

    def __init__(self, value: Any, desc: bool) -> None:
        self.value = value
        self.desc = desc

    def _lt(self, other: _Key) -> bool:
        a, b = self.value, other.value
        if a is None or b is None:
            return a is not None and b is None  # None is the largest
        return bool(a < b)

    def __lt__(self, other: _Key) -> bool:
        return other._lt(self) if self.desc else self._lt(other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.value == other.value

    def __hash__(self) -> int:  # pragma: no cover - keys are only compared
        return hash(self.value)


def sort_key(ticket: Ticket, order_by: Sequence[str]) -> tuple[_Key, ...]:
    """The sort key of ``ticket`` under a checked ``order_by``.

    ``None`` sorts last in ascending order and first in descending order
    (PostgreSQL's rule), so every store can give the same order.
    """
    return tuple(
        _Key(value_of(ticket, name.removeprefix("-")), name.startswith("-")) for name in order_by
    )


# -- cursors ------------------------------------------------------------------------


def encode_cursor(query: Query, last: Ticket) -> str:
    """An opaque cursor that resumes ``query`` after ``last``."""
    values = [
        _encode_sort_value(name.removeprefix("-"), value_of(last, name.removeprefix("-")))
        for name in query.order_by
    ]
    payload = json.dumps({"q": query.fingerprint(), "v": values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(query: Query) -> tuple[_Key, ...]:
    """The sort key a cursor resumes after; ``InvalidCursor`` if it is not one of ours."""
    assert query.cursor is not None
    try:
        padded = query.cursor + "=" * (-len(query.cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        fingerprint, raw = payload["q"], payload["v"]
        if not isinstance(raw, list) or len(raw) != len(query.order_by):
            raise ValueError("wrong number of values")
        values = [
            _decode_sort_value(name.removeprefix("-"), item)
            for name, item in zip(query.order_by, raw, strict=True)
        ]
    except (
        ValueError,
        KeyError,
        TypeError,
        ArithmeticError,
        binascii.Error,
        UnicodeDecodeError,
        AttributeError,
    ):
        raise InvalidCursor(
            f"cursor {query.cursor[:40]!r} is not valid; pass the next_cursor of the "
            "previous page unchanged",
            field="cursor",
        ) from None
    if fingerprint != query.fingerprint():
        raise InvalidCursor(
            "the cursor belongs to a different query; keep the same filters and order "
            "while paging, or start again without a cursor",
            field="cursor",
        )
    return tuple(
        _Key(value, name.startswith("-"))
        for name, value in zip(query.order_by, values, strict=True)
    )


def _encode_sort_value(name: str, value: Any) -> Any:
    if name in ("id", "version"):
        return value
    return encode(name, value)


def _decode_sort_value(name: str, data: Any) -> Any:
    if name in ("id", "version"):
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError("id must be an integer")
        return data
    value = decode(name, data)
    if isinstance(value, datetime):
        value = ensure_utc(value)
    return value


def cursor_of(query: Query) -> tuple[_Key, ...] | None:
    return None if query.cursor is None else decode_cursor(query)
