"""One-statement reads on SQLite straight through the driver.

For a read of one ticket or one ticket's history, SQLite takes about 10 µs;
SQLAlchemy's connection, execution and result layers took ten times that. On
an engine built by :func:`~._engine.make_engine` for SQLite (autocommit mode,
no per-statement events), these reads check out the pooled ``sqlite3``
connection, run the statement's SQL (compiled once, from the same SQLAlchemy
``Select`` the other backends run) and decode the driver's values here: the
column types' result processing is repeated in :func:`ticket_from_driver` and
:func:`event_from_driver`, which the contract suite checks against every other
store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select
from sqlalchemy.exc import DBAPIError

from ..._events import Event
from ..._model import Ticket
from . import _rows as rows

__all__ = ["DriverReads", "event_from_driver", "ticket_from_driver"]


class DriverReads:
    """Run single-parameter ``SELECT`` statements on a SQLite engine's driver connections."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sql: dict[Select[Any], str] = {}

    def _text(self, stmt: Select[Any]) -> str:
        sql = self._sql.get(stmt)
        if sql is None:
            compiled = stmt.compile(dialect=self._engine.dialect)
            if compiled.positiontup is None or len(compiled.positiontup) != 1:
                raise AssertionError(f"expected one positional parameter in {compiled}")
            sql = self._sql[stmt] = str(compiled)
        return sql

    def all(
        self, stmt: Select[Any], value: int | str, within: Connection | None = None
    ) -> list[Sequence[Any]]:
        """The rows ``stmt`` returns for its one bound parameter set to ``value``.

        On a pooled connection of its own, or inside the transaction of ``within``.
        """
        sql = self._text(stmt)
        connection = self._engine.raw_connection() if within is None else within.connection
        driver: Any = connection.driver_connection
        try:
            found: list[Sequence[Any]] = driver.execute(sql, (value,)).fetchall()
        except self._engine.dialect.loaded_dbapi.Error as exc:
            # Wrapped as SQLAlchemy wraps it, so that translate_errors explains it.
            raise DBAPIError.instance(
                sql, (value,), exc, self._engine.dialect.loaded_dbapi.Error
            ) from exc
        finally:
            if within is None:
                connection.close()
        return found


def _moment(value: str | None) -> datetime | None:
    """A stored SQLite datetime (naive UTC text) as an aware UTC datetime.

    Parsing with the offset appended is several times faster than ``replace``
    afterwards, and gives the same value with ``tzinfo`` the ``UTC`` singleton.
    """
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def _json(value: str | None) -> Any:
    if value is None:
        return None
    if value == "[]":
        return []
    if value == "{}":
        return {}
    return json.loads(value)


def ticket_from_driver(row: Sequence[Any]) -> Ticket:
    """A ticket from the driver's values of :data:`_rows.TICKET_COLUMNS`."""
    values = list(row)
    values[8] = _moment(values[8])  # created
    values[9] = _moment(values[9])  # updated
    values[15] = _json(values[15])  # tags
    values[16] = _json(values[16])  # fields
    values[17] = _json(values[17])  # watchers
    values[18] = _json(values[18])  # links
    values[20] = _moment(values[20])  # resolved_at
    return rows.ticket_from_tuple(values)


def event_from_driver(row: Sequence[Any]) -> Event:
    """An event from the driver's values of :data:`_rows.EVENT_COLUMNS`."""
    values = list(row)
    values[5] = _moment(values[5])  # at
    values[7] = _json(values[7])  # old
    values[8] = _json(values[8])  # new
    values[9] = _json(values[9])  # data
    return rows.event_from_tuple(values)
