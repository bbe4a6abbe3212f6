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
from typing import Any

from sqlalchemy import Connection, CursorResult
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase

__all__ = ["Prepared"]


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
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
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
