"""Engines: SQLite pragmas and transaction modes, and driver errors made readable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from ..._errors import StorageError, TicketkitError, ValidationError

__all__ = ["Durability", "begin_write", "make_engine", "owns_transactions", "translate_errors"]

Durability = Literal["full", "normal"]

# An engine-wide execution option: this SQLite engine leaves transactions to us.
_IMMEDIATE = "ticketkit_begin_immediate"


def owns_transactions(engine: Engine) -> bool:
    """Whether ``engine`` is a SQLite engine of :func:`make_engine`, in autocommit mode."""
    return bool(engine.get_execution_options().get(_IMMEDIATE, False))


def begin_write(conn: Connection) -> None:
    """Start a write transaction on SQLite by taking the write lock at once.

    Call it first thing inside ``conn.begin()``. It does something only on
    SQLite engines built by :func:`make_engine`; elsewhere the driver begins.
    It is called where needed rather than from a ``begin`` event listener: any
    engine-level listener makes SQLAlchemy dispatch events on every statement.
    """
    driver: Any = conn.connection.dbapi_connection
    if conn.get_execution_options().get(_IMMEDIATE, False) and not driver.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_setup(engine: Engine, durability: Durability, busy_timeout: float) -> None:
    """WAL, foreign keys, a busy timeout, and ``BEGIN IMMEDIATE`` for writes.

    Reads run in SQLite's autocommit mode: every read of the store is a single
    statement (``get_ticket``, ``events``, ``query``…), and a single statement
    sees one snapshot of the database.

    The store begins its write transactions itself (:func:`begin_write`): a
    write transaction takes the write lock at once, so two writers queue on the
    busy timeout instead of deadlocking on a lock upgrade. A host's own
    transactions on this engine are begun by pysqlite before their first write
    (a deferred ``BEGIN``) and are undone by their rollback.
    """
    memory = engine.url.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        # pysqlite's own transaction handling stays on: it sends BEGIN before the
        # first INSERT/UPDATE/DELETE, so a host's transaction on this engine is a
        # real one that its rollback undoes, while SELECTs run in autocommit mode.
        # The store's writes take the write lock first with BEGIN IMMEDIATE.
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA synchronous = {durability.upper()}")
        finally:
            cursor.close()


def make_engine(
    url: str,
    *,
    durability: Durability = "full",
    busy_timeout: float = 30.0,
    **engine_options: Any,
) -> Engine:
    """An engine for ``url`` set up the way ticketkit needs it."""
    if durability not in ("full", "normal"):
        raise ValidationError(
            f"durability must be 'full' or 'normal', got {durability!r}", field="durability"
        )
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValidationError(f"cannot parse database URL {_safe(url)!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise ValidationError(
            f"unsupported database {backend!r} in URL {_safe(url)!r}; use sqlite:///file.db, "
            "postgresql+psycopg://… or mysql+pymysql://…"
        )
    options: dict[str, Any] = {"pool_pre_ping": backend != "sqlite"}
    if backend in ("mysql", "mariadb"):
        options["isolation_level"] = "READ COMMITTED"
    if backend == "sqlite":
        options["execution_options"] = {_IMMEDIATE: True}
    options.update(engine_options)
    if backend == "sqlite" and "execution_options" in engine_options:
        options["execution_options"] = {**engine_options["execution_options"], _IMMEDIATE: True}
    try:
        engine = create_engine(parsed, **options)
    except NoSuchModuleError as exc:
        raise ValidationError(
            f"unknown database dialect or driver in URL {_safe(url)!r}; use sqlite:///file.db, "
            "postgresql+psycopg://… or mysql+pymysql://…"
        ) from exc
    except ImportError as exc:
        extra = {"postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}.get(
            backend, "sql"
        )
        raise ImportError(
            f"the database driver for {backend} is not installed; "
            f"install it with: pip install 'ticketkit[{extra}]' ({exc})"
        ) from exc
    if backend == "sqlite":
        _sqlite_setup(engine, durability, busy_timeout)
    return engine


def _safe(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", url)


def _driver_text(exc: DBAPIError) -> str:
    """The driver's message, without PyMySQL's ``(code, "text")`` tuple wrapping."""
    orig = exc.orig
    if orig is None:
        return str(exc)
    args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return f"{args[1]} (error {args[0]})"
    return str(orig)


def describe(exc: DBAPIError, where: str) -> str:
    """What went wrong with the database ``where``, and what to do about it."""
    text = _driver_text(exc).strip()
    first = text.splitlines()[0] if text else type(exc.orig).__name__
    low = text.lower()
    if "database is locked" in low or "database table is locked" in low:
        return (
            f"the database {where} stayed locked by another writer past the busy timeout; "
            "try again, or raise busy_timeout"
        )
    if "lock wait timeout" in low or "lock timeout" in low:
        return (
            f"the database {where} kept a row locked by another transaction past the lock "
            f"timeout; try again ({first})"
        )
    if "deadlock" in low or "could not serialize" in low:
        return f"the database {where} aborted the transaction to break a deadlock; try again"
    if "readonly database" in low or "read-only" in low or "read only" in low:
        return f"the database {where} is read-only; check the file's and directory's permissions"
    if "unable to open database file" in low:
        return (
            f"cannot open the database file {where}; check that its directory exists and is "
            "writable"
        )
    if "file is not a database" in low:
        return (
            f"the file {where} is not a SQLite database (or it is encrypted or damaged); "
            "point the URL at a ticketkit database or at a new file"
        )
    if "disk is full" in low or "no space left" in low:
        return f"the disk holding the database {where} is full; free some space and try again"
    if ("database" in low and "does not exist" in low) or "unknown database" in low:
        return (
            f"the database {where} does not exist on the server; create it first "
            f"(CREATE DATABASE …) ({first})"
        )
    if (
        "connection refused" in low
        or "can't connect" in low
        or "could not connect" in low
        or "server has gone away" in low
        or "lost connection" in low
        or ("connection" in low and ("failed" in low or "timeout" in low or "closed" in low))
    ):
        return f"cannot connect to the database {where}: {first}"
    if "access denied" in low or "authentication failed" in low or "password" in low:
        return f"the database {where} refused the login; check the user name and password"
    return f"the database {where} refused the operation: {first}"


#: Words of the driver errors after which the same work may well succeed if done again.
_RETRYABLE = ("deadlock", "could not serialize", "lock wait timeout", "lock timeout", "is locked")


def storage_error(exc: SQLAlchemyError, where: str) -> StorageError:
    """The :class:`StorageError` that explains ``exc``; raise it ``from exc``."""
    if isinstance(exc, DBAPIError):
        low = _driver_text(exc).lower()
        retryable = any(word in low for word in _RETRYABLE)
        return StorageError(describe(exc, where), retryable=retryable)
    return StorageError(f"the database {where} failed: {exc}")


@contextmanager
def translate_errors(where: str) -> Iterator[None]:
    """Turn driver and SQLAlchemy errors into :class:`StorageError` naming the problem."""
    try:
        yield
    except TicketkitError:
        raise
    except SQLAlchemyError as exc:
        raise storage_error(exc, where) from exc
