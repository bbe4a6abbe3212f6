"""Write statements compiled once and sent with ``exec_driver_sql``, for SQLite.

SQLAlchemy's ``Connection.execute`` of an ``Insert`` or ``Update`` looks the
statement up in its compiled cache, builds the parameters by name and runs each
column type's bind processing, about 15 µs a statement before SQLite sees it;
a ticket's create or status change sends three or four. :class:`Prepared` does
that work once per statement: it keeps the SQL text, the order of its
positional parameters and each parameter's bind processor (the same functions
``execute`` would apply), and sends the values through
``Connection.exec_driver_sql``: still inside SQLAlchemy's transaction, error
handling and execution events, without the per-call compilation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeEngine

from ._types import JSONText, UTCDateTime, dump_json

__all__ = ["Prepared", "bind_processor"]


def _sqlite_moment(value: datetime | None) -> str | None:
    """An aware datetime as SQLite's ``DATETIME`` stores it: naive UTC text with microseconds."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if value == [] and isinstance(value, list):
        return "[]"
    if value == {} and isinstance(value, dict):
        return "{}"
    return dump_json(value)


# One function where SQLAlchemy chains the type's processing and the dialect's
# (for a datetime, a conversion and then a %-format of every part); a test
# checks each gives what SQLAlchemy's chain gives.
_FUSED: dict[tuple[type[TypeEngine[Any]], str], Callable[[Any], Any]] = {
    (UTCDateTime, "sqlite"): _sqlite_moment,
    (JSONText, "sqlite"): _json_text,
}


def bind_processor(type_: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """What ``Connection.execute`` does to a value of ``type_`` on ``dialect``, as one function."""
    fused = _FUSED.get((type(type_), dialect.name))
    if fused is not None:
        return fused
    return type_.dialect_impl(dialect).bind_processor(dialect)


class Prepared:
    """One DML statement compiled for a positional dialect.

    ``columns`` names the columns an ``INSERT`` or ``UPDATE`` sets, each bound
    to the value of that name, as ``Connection.execute`` would compile it for
    parameters with those keys.
    """

    def __init__(
        self, stmt: UpdateBase, dialect: Dialect, columns: Sequence[str] | None = None
    ) -> None:
        compiled = stmt.compile(
            dialect=dialect, column_keys=None if columns is None else list(columns)
        )
        if compiled.positiontup is None:
            raise AssertionError(f"{dialect.name} does not take positional parameters")
        self.sql = str(compiled)
        self._steps: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, bind_processor(compiled.binds[name].type, dialect))
            for name in compiled.positiontup
        ]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's parameters for ``values`` (by bind name), processed as their types say."""
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in self._steps
        )

    def run(self, conn: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        return conn.exec_driver_sql(self.sql, self.params(values))
