"""Storage failures surface as ticketkit errors that say what is wrong, and change nothing.

No raw driver or SQLAlchemy exception may reach the caller: each is a
:class:`~ticketkit.TicketkitError` whose message names the database (never its
password) and the problem, with the driver's exception chained as ``__cause__``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from databases import MYSQL_URL, POSTGRES_URL
from ticketkit import TicketkitError, Tracker, ValidationError
from ticketkit._errors import StorageError


def open_error(url: str, **options: object) -> TicketkitError:
    """The error ``Tracker.from_url`` raises for ``url``."""
    with pytest.raises(TicketkitError) as info:
        Tracker.from_url(url, **options).close()  # type: ignore[arg-type]
    return info.value


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    """A SQLite database holding one ticket, TK-1, at version 1."""
    path = tmp_path / "tickets.db"
    with Tracker.from_url(f"sqlite:///{path}") as tracker:
        tracker.open("Printer on fire", actor="alice")
    return path


def dump(path: Path) -> list[object]:
    """Every ticket, event and comment row in the file, read with the standard library."""
    with sqlite3.connect(path) as conn:
        rows: list[object] = []
        for table in ("tk_tickets", "tk_events", "tk_comments", "tk_key_sequences"):
            rows += conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    conn.close()
    return rows


class TestBadURL:
    @pytest.mark.parametrize(
        "url",
        ["foo://x", "oracle://scott:tiger@db.example.com/orcl", "mssql+pyodbc://h/db"],
    )
    def test_unknown_dialect(self, url: str) -> None:
        """A database ticketkit does not support is a ValidationError naming it and the choices."""
        error = open_error(url)
        assert isinstance(error, ValidationError)
        assert "unsupported database" in str(error)
        assert "sqlite:///" in str(error)
        assert "postgresql+psycopg://" in str(error)
        assert "tiger" not in str(error)

    def test_unknown_driver(self) -> None:
        """A supported database with a driver SQLAlchemy does not know is a ValidationError."""
        error = open_error("postgresql+nosuchdriver://h/db")
        assert isinstance(error, ValidationError)
        assert "driver" in str(error)

    def test_unparsable(self) -> None:
        """Text that is not a URL at all is a ValidationError that quotes it."""
        error = open_error("not a url")
        assert isinstance(error, ValidationError)
        assert "'not a url'" in str(error)


class TestUnreachableServer:
    @pytest.mark.parametrize("server", [POSTGRES_URL, MYSQL_URL], ids=["postgresql", "mysql"])
    def test_nothing_listens_on_the_port(self, server: str) -> None:
        """No server on port 1: StorageError saying it cannot connect, without the password."""
        url = make_url(server).set(port=1, password="s3cret-pw").render_as_string(False)
        started = time.monotonic()
        error = open_error(url)
        assert time.monotonic() - started < 10
        assert isinstance(error, StorageError)
        message = str(error)
        assert "cannot connect" in message
        assert "127.0.0.1:1" in message
        assert "s3cret-pw" not in message
        assert error.__cause__ is not None

    @pytest.mark.parametrize("server", [POSTGRES_URL, MYSQL_URL], ids=["postgresql", "mysql"])
    def test_missing_database(self, server: str) -> None:
        """A database the server does not have: StorageError naming it."""
        url = make_url(server).set(database="tk_no_such_db").render_as_string(False)
        error = open_error(url)
        assert isinstance(error, StorageError)
        assert "tk_no_such_db" in str(error)
        assert "does not exist" in str(error) or "unknown database" in str(error).lower()


class TestSQLiteFile:
    def test_directory_does_not_exist(self, tmp_path: Path) -> None:
        """A file in a missing directory: StorageError saying so, and no directory is made."""
        missing = tmp_path / "no" / "such" / "dir"
        error = open_error(f"sqlite:///{missing / 'tickets.db'}")
        assert isinstance(error, StorageError)
        assert "directory" in str(error)
        assert str(missing) in str(error)
        assert not (tmp_path / "no").exists()

    def test_read_only(self, sqlite_file: Path) -> None:
        """A write to a database opened read-only is a StorageError; the file is unchanged.

        Tests run as root here, which ignores file permissions, so ``chmod`` cannot
        make a file read-only. SQLite's own ``mode=ro`` URI parameter opens it
        read-only whoever the user is, exactly as a file without write permission
        is opened, and SQLite refuses the write with SQLITE_READONLY.
        """
        before = dump(sqlite_file)
        url = f"sqlite:///file:{sqlite_file}?mode=ro&uri=true"
        with Tracker.from_url(url) as tracker:
            assert tracker.get("TK-1").title == "Printer on fire"
            with pytest.raises(StorageError, match="read-only") as info:
                tracker.comment("TK-1", "hello", actor="bob")
            assert str(sqlite_file) in str(info.value)
            with pytest.raises(StorageError, match="read-only"):
                tracker.open("Another", actor="bob")
        assert dump(sqlite_file) == before

    def test_locked_past_busy_timeout(self, sqlite_file: Path) -> None:
        """Another writer holding the lock past busy_timeout: StorageError about the lock, soon.

        Once the other writer lets go, the data is as it was and writes work again.
        """
        before = dump(sqlite_file)
        other = sqlite3.connect(sqlite_file, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("UPDATE tk_tickets SET title = 'held' WHERE key = 'TK-1'")
            with Tracker.from_url(f"sqlite:///{sqlite_file}", busy_timeout=0.2) as tracker:
                assert tracker.get("TK-1").title == "Printer on fire"  # readers are not blocked
                started = time.monotonic()
                with pytest.raises(StorageError, match="locked") as info:
                    tracker.comment("TK-1", "hello", actor="bob")
                waited = time.monotonic() - started
                assert 0.15 < waited < 2.0
                assert "busy_timeout" in str(info.value)
                other.execute("ROLLBACK")
                assert dump(sqlite_file) == before
                tracker.comment("TK-1", "hello", actor="bob", expected_version=1)
                assert tracker.get("TK-1").version == 2
        finally:
            other.close()

    def test_not_a_database(self, tmp_path: Path) -> None:
        """A file that is not a SQLite database: StorageError saying so; the file is untouched."""
        path = tmp_path / "notes.txt"
        path.write_bytes(b"these are my notes, not a database\n" * 100)
        error = open_error(f"sqlite:///{path}")
        assert isinstance(error, StorageError)
        assert "is not a SQLite database" in str(error)
        assert path.read_bytes() == b"these are my notes, not a database\n" * 100
