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
import os
import threading
import types
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import Connection, Engine, Select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..._events import Event, EventType, JSONObjectText
from ..._model import Ticket, freeze_fields
from ..._priority import Impact, Priority, Urgency
from ..._values import decode
from . import _rows as rows
from ._engine import storage_error

__all__ = ["BIND_ORDER", "DriverReads", "event_from_driver", "ticket_from_driver"]

#: The bound parameters :meth:`DriverReads.all` fills, in the order it takes their values.
BIND_ORDER = ("b_ref", "b_tenant")


_SHAPES = 256  # compiled query shapes kept per engine
_LONG_WAY = object()


class DriverReads:
    """Run single-parameter ``SELECT`` statements on a SQLite engine's driver connections.

    Each thread reads on a ``sqlite3`` connection of its own, taken from the
    engine's pool once (so it has the pool's pragmas) and then kept: checking a
    connection out of the pool and back in cost more than the ``SELECT``. The
    driver runs these reads in autocommit mode, so a kept connection holds no
    snapshot or lock between reads and sees every committed write. A forked
    child takes new connections rather than use its parent's. :meth:`close`
    closes them all.
    """

    def __init__(self, engine: Engine, where: str) -> None:
        self._engine = engine
        self._where = where  # the database, as errors name it
        self._sql: dict[Select[Any], str] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._kept: list[tuple[int, Any]] = []
        self._shapes: dict[Any, Any] = {}

    def _text(self, stmt: Select[Any]) -> str:
        sql = self._sql.get(stmt)
        if sql is None:
            compiled = stmt.compile(dialect=self._engine.dialect)
            names = tuple(compiled.positiontup or ())
            if not names or names != BIND_ORDER[: len(names)]:
                raise AssertionError(
                    f"expected positional parameters {BIND_ORDER} (or the first of them) in "
                    f"that order in {compiled}, got {names}"
                )
            sql = self._sql[stmt] = str(compiled)
        return sql

    def _driver(self) -> Any:
        """This thread's kept ``sqlite3`` connection."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            pooled = self._engine.raw_connection()
            pooled.detach()  # ours to keep and close, no longer the pool's
            local.connection = pooled
            local.pid = os.getpid()
            with self._lock:
                self._kept.append((local.pid, pooled))
        return local.connection.dbapi_connection

    def all(
        self, stmt: Select[Any], values: tuple[Any, ...], within: Connection | None = None
    ) -> list[Sequence[Any]]:
        """The rows ``stmt`` returns for its bound parameters set to ``values``.

        ``values`` go to the parameters of :data:`BIND_ORDER`, in that order
        (``b_ref`` and, for a read scoped to a tenant, ``b_tenant``); they are
        plain ints and strings, which need no bind processing. On this thread's
        kept connection, or inside the transaction of ``within``.
        """
        sql = self._text(stmt)
        driver: Any = self._driver() if within is None else within.connection.dbapi_connection
        try:
            found: list[Sequence[Any]] = driver.execute(sql, values).fetchall()
        except self._engine.dialect.loaded_dbapi.Error as exc:
            wrapped = self._wrap(exc, sql, values)
            raise storage_error(wrapped, self._where) from wrapped
        return found

    def _wrap(self, exc: Exception, sql: str, params: Any) -> SQLAlchemyError:
        """The driver's ``exc`` wrapped as SQLAlchemy wraps it, for :func:`storage_error`."""
        wrapped = DBAPIError.instance(sql, params, exc, self._engine.dialect.loaded_dbapi.Error)
        wrapped.__cause__ = exc
        return wrapped

    def select(self, stmt: Select[Any]) -> list[Sequence[Any]] | None:
        """The rows of any ``SELECT`` (a compiled query), or ``None`` if it must go the long way.

        Compiled once per statement shape, as SQLAlchemy's own cache does: the
        statement's cache key finds the compiled SQL, and its extracted values
        become the parameters, each through its type's bind processing.
        Statements that SQLAlchemy rewrites per call (expanding ``IN`` lists)
        return ``None``; the caller runs those through ``Connection.execute``.
        """
        cache_key = stmt._generate_cache_key()
        if cache_key is None:
            return None
        entry = self._shapes.get(cache_key.key)
        if entry is None:
            entry = self._shapes[cache_key.key] = self._compile(stmt, cache_key)
            if len(self._shapes) > _SHAPES:
                self._shapes.pop(next(iter(self._shapes)))
        if entry is _LONG_WAY:
            return None
        compiled, sql, steps = entry
        named = compiled.construct_params(extracted_parameters=cache_key.bindparams)
        params = tuple(
            named[name] if process is None else process(named[name]) for name, process in steps
        )
        try:
            found: list[Sequence[Any]] = self._driver().execute(sql, params).fetchall()
        except self._engine.dialect.loaded_dbapi.Error as exc:
            wrapped = self._wrap(exc, sql, params)
            raise storage_error(wrapped, self._where) from wrapped
        return found

    def _compile(self, stmt: Select[Any], cache_key: Any) -> Any:
        dialect = self._engine.dialect
        compiled = stmt.compile(dialect=dialect, cache_key=cache_key)
        if (
            compiled.positiontup is None
            or compiled.post_compile_params
            or compiled.literal_execute_params
        ):
            return _LONG_WAY
        steps = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]
        return compiled, str(compiled), steps

    def close(self) -> None:
        """Close the connections this process's threads kept."""
        pid = os.getpid()
        with self._lock:
            kept, self._kept = self._kept, []
        for owner, pooled in kept:
            if owner == pid:  # a forked child leaves its parent's connections alone
                pooled.close()
        self._local = threading.local()


_parse_moment = datetime.fromisoformat
_loads = json.loads
_NO_NAMES: frozenset[Any] = frozenset()
_NO_FIELDS: Mapping[str, Any] = types.MappingProxyType({})
_NO_DATA: Mapping[str, Any] = types.MappingProxyType({})
_PRIORITY = rows.PRIORITY


def _trusted_constructor(cls: type[Any]) -> Any:
    """A constructor for ``cls`` that sets its slots directly, for values already checked.

    attrs' ``__init__`` of a frozen, slotted class sets each field through
    ``object.__setattr__`` (a type lookup per field); this one calls each slot's
    descriptor, about a quarter faster, which is a tenth of a page of fifty
    tickets. It is generated from the class's fields, so it cannot fall out of
    step with them; it refuses classes whose fields validate or convert, except
    ``fields``, whose converter only freezes a mapping (the decoder passes one
    already frozen). A test checks it builds what ``cls(...)`` builds.
    """
    names = []
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for attribute in attrs.fields(cls):
        if attribute.validator is not None or (
            attribute.converter is not None and attribute.name != "fields"
        ):
            raise AssertionError(f"{cls.__name__}.{attribute.name} validates or converts")
        names.append(attribute.name)
        namespace[f"_set_{attribute.name}"] = cls.__dict__[attribute.name].__set__
    body = [f"def build({', '.join(names)}):", "    self = _new(_cls)"]
    body += [f"    _set_{name}(self, {name})" for name in names]
    body.append("    return self")
    exec("\n".join(body), namespace)
    return namespace["build"]


_ticket = _trusted_constructor(Ticket)


def _moment(value: str | None) -> datetime | None:
    """A stored SQLite datetime (naive UTC text) as an aware UTC datetime.

    Parsing with the offset appended is several times faster than ``replace``
    afterwards, and gives the same value with ``tzinfo`` the ``UTC`` singleton.
    """
    return None if value is None else _parse_moment(value + "+00:00")


def _json(value: str | None) -> Any:
    """A stored JSON value, with the common small values decoded without the parser."""
    if value is None:
        return None
    if value[0] == '"' and "\\" not in value:
        return value[1:-1]
    if value == "null":
        return None
    return _loads(value)


def ticket_from_driver(row: Sequence[Any]) -> Ticket:
    """A ticket from the driver's values of :data:`_rows.TICKET_COLUMNS`.

    Does in one function what the column types' result processing and
    :func:`_rows.ticket_from_tuple` do, for the SQLite driver's values: a page
    of fifty tickets spends most of its time here.
    """
    (
        id_,
        key,
        title,
        description,
        status,
        priority,
        reporter,
        queue,
        created,
        updated,
        version,
        assignee,
        impact,
        urgency,
        resolution,
        tags,
        fields,
        watchers,
        links,
        merged_into,
        resolved_at,
        tenant,
        organisation,
    ) = row
    created_at = _parse_moment(created + "+00:00")
    ticket: Ticket = _ticket(
        id_,
        key,
        title,
        description,
        status,
        _PRIORITY.get(priority) or Priority(priority),
        reporter,
        queue,
        created_at,
        created_at if updated == created else _parse_moment(updated + "+00:00"),
        version,
        assignee,
        None if impact is None else rows.lookup(rows.IMPACT, Impact, impact),
        None if urgency is None else rows.lookup(rows.URGENCY, Urgency, urgency),
        resolution,
        _NO_NAMES if tags == "[]" else frozenset(_loads(tags)),
        _NO_FIELDS if fields == "{}" else freeze_fields(decode("fields", _loads(fields))),
        _NO_NAMES if watchers == "[]" else frozenset(_loads(watchers)),
        _NO_NAMES if links == "[]" else decode("links", _loads(links)),
        merged_into,
        None if resolved_at is None else _parse_moment(resolved_at + "+00:00"),
        tenant,
        organisation,
    )
    return ticket


def event_from_driver(row: Sequence[Any]) -> Event:
    """An event from the driver's values of :data:`_rows.EVENT_COLUMNS`."""
    ticket_id, ticket_key, version, type_, actor, at, field, old, new, data, id_ = row
    return Event(
        ticket_id,
        ticket_key,
        version,
        rows.EVENT_TYPE[type_] if type_ in rows.EVENT_TYPE else EventType(type_),
        actor,
        _parse_moment(at + "+00:00"),
        field,
        None if old is None else _json(old),
        None if new is None else _json(new),
        _NO_DATA if data is None or data == "{}" else JSONObjectText(data),
        id_,
    )
