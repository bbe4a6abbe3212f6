"""Schema migrations: Alembic scripts shipped in ``migrations/``, run programmatically.

The revision is kept in ``tk_alembic_version``, so a host application that shares
the database keeps its own ``alembic_version``. Checking a database that is
already at :data:`HEAD` reads one row and never imports Alembic.
"""

from __future__ import annotations

import shlex
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import attrs
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, inspect, select, text

from ..._errors import SchemaVersionError, ValidationError
from ._engine import begin_write, make_engine, translate_errors

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "VERSION_TABLE", "check_schema", "current_revision", "upgrade"]

#: The newest schema revision this version of ticketkit ships (and needs).
HEAD = "0007"
#: The table where Alembic records the revision of ticketkit's tables.
VERSION_TABLE = "tk_alembic_version"
SCRIPT_LOCATION = "ticketkit.storage.sql:migrations"
PREFIX = "tk_"

_version = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32)))
_LOCK_SECONDS = 60


@attrs.frozen
class _State:
    """What a database holds of ticketkit's schema."""

    versioned: bool  # the version table exists
    revision: str | None
    tables: tuple[str, ...]  # ticketkit's tables, without the version table

    @property
    def empty(self) -> bool:
        return self.revision is None and not self.tables


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _fix(engine: Engine) -> str:
    """What to run to upgrade this database (the URL without its password)."""
    url = engine.url._replace(password=None).render_as_string(hide_password=False)
    return (
        f"ticketkit db upgrade {shlex.quote(url)} "
        f"(or from Python: ticketkit.storage.sql.upgrade({url!r}))"
    )


def _state(conn: Connection) -> _State:
    names = inspect(conn).get_table_names()
    tables = tuple(sorted(n for n in names if n.startswith(PREFIX) and n != VERSION_TABLE))
    if VERSION_TABLE not in names:
        return _State(versioned=False, revision=None, tables=tables)
    found = sorted(str(r) for r in conn.execute(select(_version.c.version_num)).scalars())
    if len(found) > 1:
        raise SchemaVersionError(
            f"the table {VERSION_TABLE} holds several revisions ({', '.join(found)}); "
            "ticketkit's migrations never branch, so the database is damaged: restore it "
            "from a backup",
            found=",".join(found),
            expected=HEAD,
        )
    return _State(versioned=True, revision=found[0] if found else None, tables=tables)


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    return {s.revision for s in script.walk_revisions()}


def _refuse(state: _State, engine: Engine, *, create: bool) -> None:
    """Raise :class:`SchemaVersionError` unless ticketkit can use (or create) the schema."""
    where = _where(engine)
    if state.revision == HEAD:
        return
    if state.revision is None:
        if state.tables:
            raise SchemaVersionError(
                f"the database {where} has ticketkit tables ({', '.join(state.tables)}) but "
                f"no schema revision in {VERSION_TABLE}: it is not a ticketkit database or it "
                "is damaged; point ticketkit at another database, or restore this one from "
                "a backup",
                found=None,
                expected=HEAD,
            )
        if not create:
            raise SchemaVersionError(
                f"the database {where} has no ticketkit tables yet; create them with: "
                f"{_fix(engine)}",
                found=None,
                expected=HEAD,
            )
        return
    if state.revision in _known_revisions():
        raise SchemaVersionError(
            f"the database {where} has ticketkit schema revision {state.revision}, but this "
            f"version of ticketkit needs revision {HEAD}; upgrade the database with: "
            f"{_fix(engine)}",
            found=state.revision,
            expected=HEAD,
        )
    raise SchemaVersionError(
        f"the database {where} has ticketkit schema revision {state.revision!r}, which this "
        f"version of ticketkit (schema revision {HEAD}) does not know: the database was "
        "written by a newer ticketkit; upgrade the package (pip install -U ticketkit)",
        found=state.revision,
        expected=HEAD,
    )


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config(attributes={"connection": connection})
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    return config


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the schema lock, so concurrent upgrades run one at a time.

    SQLite: ``BEGIN IMMEDIATE`` (the write lock). PostgreSQL: a transaction-level
    advisory lock. MariaDB/MySQL: a named lock held until after the commit, since
    its DDL commits on its own and only the version row waits for the commit.
    """
    with engine.connect() as conn:
        backend = conn.dialect.name
        if backend not in ("mysql", "mariadb"):
            with conn.begin():
                begin_write(conn)
                if backend == "postgresql":
                    key = zlib.crc32(b"ticketkit.schema")
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
                yield conn
            return
        name = f"ticketkit.schema.{engine.url.database}"[:64]
        got = conn.execute(
            text("SELECT GET_LOCK(:name, :seconds)"), {"name": name, "seconds": _LOCK_SECONDS}
        ).scalar()
        conn.commit()
        if got != 1:
            raise SchemaVersionError(
                f"another process kept the schema of {_where(engine)} locked for "
                f"{_LOCK_SECONDS} s while upgrading it; try again",
                found=None,
                expected=HEAD,
            )
        try:
            with conn.begin():
                yield conn
        finally:
            conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            conn.commit()


def _run_upgrade(conn: Connection, revision: str) -> None:
    from alembic import command
    from alembic.util import CommandError

    try:
        command.upgrade(_config(conn), revision)
    except CommandError as exc:
        raise ValidationError(
            f"cannot upgrade to schema revision {revision!r}: {exc}; the newest is {HEAD!r} "
            "(or 'head')",
            field="revision",
        ) from exc


def _read_revision(conn: Connection) -> str | None:
    return _state(conn).revision


def current_revision(engine: Engine) -> str | None:
    """The schema revision of the database, or ``None`` when ticketkit never created it."""
    with translate_errors(_where(engine)), engine.connect() as conn, conn.begin():
        return _read_revision(conn)


def upgrade(target: str | Engine, revision: str = "head") -> str:
    """Create ticketkit's tables or bring them to ``revision``; return the revision reached.

    ``target`` is a database URL or an :class:`~sqlalchemy.Engine`. Running it on a
    database that is already there changes nothing. Tables of other applications,
    and their own ``alembic_version``, are left alone.
    """
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with translate_errors(_where(engine)), _migrating(engine) as conn:
            state = _state(conn)
            if state.revision != HEAD:
                _refuse_unless_upgradable(state, engine)
            _run_upgrade(conn, revision)
            reached = _read_revision(conn)
    finally:
        if isinstance(target, str):
            engine.dispose()
    assert reached is not None
    return reached


def _refuse_unless_upgradable(state: _State, engine: Engine) -> None:
    """Raise unless Alembic can take this database forward from where it is."""
    if state.revision is None or state.revision not in _known_revisions():
        _refuse(state, engine, create=True)


def check_schema(engine: Engine, *, create: bool = True) -> None:
    """Make sure the database holds ticketkit's schema at :data:`HEAD`.

    An empty database is given the schema when ``create`` is true. Anything else
    that is not at :data:`HEAD` raises :class:`~ticketkit.SchemaVersionError`
    saying what to do: upgrade the database (older), upgrade ticketkit (newer),
    or use another database (ticketkit tables without a recorded revision).
    """
    with translate_errors(_where(engine)):
        with engine.connect() as conn, conn.begin():
            state = _state(conn)
        if state.revision == HEAD:
            return
        if state.revision is None and (create or state.tables):
            # Empty: create the schema. Tables without a revision: on MariaDB/MySQL another
            # process may be creating them right now (DDL commits at once, the revision at
            # the end), so look again while holding the lock before calling them damaged.
            with _migrating(engine) as conn:
                state = _state(conn)
                if state.empty and create:
                    _run_upgrade(conn, HEAD)
                    return
        _refuse(state, engine, create=create)
