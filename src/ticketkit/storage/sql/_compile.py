"""Compiling a checked :class:`~ticketkit.Query` to one SQL ``SELECT``.

The result must agree with the reference semantics in ``ticketkit._query``
(``matches`` and ``sort_key``) on every backend: missing values only match
``ne``, ``not_in`` and ``is_null``; ``None`` sorts last ascending and first
descending; text matching is case-folded; ids break ties. Values are always
bound parameters.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true

from ..._fields import FieldType
from ..._query import NULLABLE_FIELDS, Condition, Op, Query, cursor_of
from ._schema import field_values, ticket_tags, ticket_watchers, tickets

__all__ = ["compile_query", "filter_of"]

_FOLDED = {"title": tickets.c.title_folded, "description": tickets.c.description_folded}
_SETS = {
    "tags": (ticket_tags, ticket_tags.c.tag),
    "watchers": (ticket_watchers, ticket_watchers.c.watcher),
}
_FIELD_COLUMN = {
    FieldType.INT: "v_int",
    FieldType.BOOL: "v_int",
    FieldType.DECIMAL: "v_num",
    FieldType.DATE: "v_date",
    FieldType.TEXT: "v_text",
    FieldType.CHOICE: "v_text",
    FieldType.USER: "v_text",
    FieldType.MULTI_CHOICE: "v_str",
}


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: Any, needle: str) -> ColumnElement[bool]:
    return column.like(f"%{escape_like(needle.casefold())}%", escape="\\")  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """The value as the database holds it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, enum.IntEnum):
        return int(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _field_column(value: Any, kind: FieldType | None) -> str:
    if isinstance(value, bool | int):
        return "v_int"
    if isinstance(value, Decimal):
        return "v_num"
    if isinstance(value, date):
        return "v_date"
    if kind is FieldType.MULTI_CHOICE:
        return "v_str"
    return "v_str" if isinstance(value, str) and len(value) <= 255 else "v_text"


def _field_ids(name: str, *where: ColumnElement[bool]) -> Select[Any]:
    return select(field_values.c.ticket_id).where(field_values.c.name == name, *where)


def _field_condition(cond: Condition, kind: FieldType | None) -> ColumnElement[bool]:
    name, op, value = cond.field[7:], cond.op, cond.value
    if op is Op.IS_NULL:
        ids = _field_ids(name)
        return tickets.c.id.not_in(ids) if value else tickets.c.id.in_(ids)
    if op is Op.CONTAINS:
        if kind is FieldType.MULTI_CHOICE:
            return tickets.c.id.in_(_field_ids(name, field_values.c.v_str == value))
        return tickets.c.id.in_(_field_ids(name, _contains(field_values.c.v_fold, value)))
    if op in (Op.IN, Op.NOT_IN):
        values = sorted(value, key=repr)
        if not values:
            return false() if op is Op.IN else true()
        columns = {_field_column(v, kind) for v in values}
        column = field_values.c["v_text" if len(columns) > 1 else columns.pop()]
        ids = _field_ids(name, column.in_([_plain(v) for v in values]))
        return tickets.c.id.in_(ids) if op is Op.IN else tickets.c.id.not_in(ids)
    column = field_values.c[_field_column(value, kind)]
    if op in (Op.LT, Op.LE, Op.GT, Op.GE) and column.name == "v_str":
        column = field_values.c.v_text
    test = _compare(column, op if op is not Op.NE else Op.EQ, _plain(value))
    ids = _field_ids(name, test)
    return tickets.c.id.not_in(ids) if op is Op.NE else tickets.c.id.in_(ids)


def _compare(column: Any, op: Op, value: Any) -> ColumnElement[bool]:
    if op is Op.EQ:
        return column == value  # type: ignore[no-any-return]
    if op is Op.NE:
        return column != value  # type: ignore[no-any-return]
    if op is Op.LT:
        return column < value  # type: ignore[no-any-return]
    if op is Op.LE:
        return column <= value  # type: ignore[no-any-return]
    if op is Op.GT:
        return column > value  # type: ignore[no-any-return]
    return column >= value  # type: ignore[no-any-return]


def _condition(cond: Condition, types: dict[str, FieldType]) -> ColumnElement[bool]:
    if cond.op is Op.ANY:
        inner = [_condition(c, types) for c in cond.value]
        return or_(*inner) if inner else false()
    if cond.field.startswith("fields."):
        return _field_condition(cond, types.get(cond.field[7:]))
    op, value = cond.op, cond.value
    if cond.field in _SETS:
        table, column = _SETS[cond.field]
        ids = select(table.c.ticket_id).where(column == value)
        return tickets.c.id.in_(ids)
    column = tickets.c[cond.field]
    if op is Op.IS_NULL:
        return column.is_(None) if value else column.is_not(None)
    if op is Op.CONTAINS:
        return _contains(_FOLDED[cond.field], value)
    nullable = cond.field in NULLABLE_FIELDS
    if op in (Op.IN, Op.NOT_IN):
        values = [_plain(v) for v in sorted(value, key=repr)]
        if op is Op.IN:
            return column.in_(values) if values else false()
        test: ColumnElement[bool] = column.not_in(values) if values else true()
        return or_(column.is_(None), test) if nullable else test
    test = _compare(column, op, _plain(value))
    return or_(column.is_(None), test) if nullable and op is Op.NE else test


def _sort_column(name: str, types: dict[str, FieldType]) -> tuple[Any, bool]:
    """The expression to sort on and whether it can be NULL."""
    if name.startswith("fields."):
        kind = types[name[7:]]
        column = field_values.c[_FIELD_COLUMN[kind]]
        sub = (
            select(column)
            .where(
                field_values.c.ticket_id == tickets.c.id,
                field_values.c.name == name[7:],
                field_values.c.item == 0,
            )
            .scalar_subquery()
        )
        return sub, True
    return tickets.c[name], name in NULLABLE_FIELDS


def _after(column: Any, value: Any, desc: bool, nullable: bool) -> ColumnElement[bool]:
    """Rows that come strictly after ``value`` in this column's order."""
    if value is None:
        return column.is_not(None) if desc else false()
    if desc:
        return column < value  # type: ignore[no-any-return]
    if nullable:
        return or_(column > value, column.is_(None))
    return column > value  # type: ignore[no-any-return]


def _equal(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def compile_query(
    query: Query,
    columns: Sequence[ColumnElement[Any]] | None = None,
    tenant: str | None = None,
) -> Select[Any]:
    """``SELECT`` the matching tickets in order, one more than a page (to see if more follow).

    With ``tenant``, the statement keeps to that tenant's tickets (a bound
    ``tenant = ?`` beside the query's own conditions, cursor included).

    The same query (``Query`` is immutable) gets the same ``Select`` object back
    from a small cache, which spares building it and lets SQLAlchemy's statement
    cache find its compiled form at once: a dashboard repeats its queries.
    """
    cols = tuple(columns) if columns is not None else None
    # Equal values of different types (1, True, Decimal(1)) may need different
    # columns, so the types are part of the key.
    kinds = tuple(_kinds(c) for c in query.conditions)
    try:
        return _cached_query(query, kinds, cols, tenant)
    except TypeError:  # a value that cannot be hashed: build the statement afresh
        return _build_query(query, cols, tenant)


def _kinds(cond: Condition) -> Any:
    """The types of a condition's values (those inside ``any`` too), for the cache key."""
    if cond.op is Op.ANY:
        return tuple(_kinds(c) for c in cond.value)
    value = cond.value
    return tuple(map(type, value)) if isinstance(value, tuple) else type(value)


@functools.lru_cache(maxsize=256)
def _cached_query(
    query: Query,
    kinds: tuple[Any, ...],
    columns: tuple[ColumnElement[Any], ...] | None,
    tenant: str | None,
) -> Select[Any]:
    return _build_query(query, columns, tenant)


def _filters(query: Query, types: dict[str, FieldType]) -> list[ColumnElement[bool]]:
    where = [_condition(c, types) for c in query.conditions]
    if query.text is not None:
        where.append(
            or_(
                _contains(tickets.c.title_folded, query.text),
                _contains(tickets.c.description_folded, query.text),
            )
        )
    return where


def filter_of(query: Query) -> ColumnElement[bool]:
    """The conditions and text of a checked query as one clause on ``tk_tickets``.

    Its order, limit and cursor play no part: for a search kept to a query's tickets.
    """
    return and_(true(), *_filters(query, dict(query.field_types)))


def _build_query(
    query: Query, columns: Sequence[ColumnElement[Any]] | None, tenant: str | None
) -> Select[Any]:
    types = dict(query.field_types)
    stmt = select(*(columns or tickets.c))
    where: list[ColumnElement[bool]] = [] if tenant is None else [tickets.c.tenant == tenant]
    where.extend(_filters(query, types))
    order: list[Any] = []
    keys = []
    for item in query.order_by:
        name = item.removeprefix("-")
        desc = item.startswith("-")
        column, nullable = _sort_column(name, types)
        keys.append((column, desc, nullable))
        if nullable:
            order.append(column.is_(None).desc() if desc else column.is_(None).asc())
        order.append(column.desc() if desc else column.asc())
    after = cursor_of(query)
    if after is not None:
        branches = []
        for i, (column, desc, nullable) in enumerate(keys):
            prefix = [_equal(keys[j][0], _plain(after[j].value)) for j in range(i)]
            branches.append(and_(*prefix, _after(column, _plain(after[i].value), desc, nullable)))
        where.append(or_(*branches))
    if where:
        stmt = stmt.where(and_(*where))
    return stmt.order_by(*order).limit(query.limit + 1)
