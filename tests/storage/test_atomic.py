"""Atomicity: a write that fails part-way leaves nothing behind, on every SQL backend.

A listener on the store's engine makes the Nth INSERT, UPDATE or DELETE of an
operation fail, for N = 1, 2, … until the operation has fewer write statements
than N and succeeds. After each failure every table, read from a second
connection, must be exactly as before: no ticket, version, event, comment,
attachment, link, tag or key number of the failed operation survives.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from databases import BACKENDS, fresh_database
from ticketkit import Tracker
from ticketkit._errors import StorageError
from ticketkit._fields import FieldDef
from ticketkit.storage.sql import SQLStore
from ticketkit.storage.sql._schema import metadata

WRITES = ("INSERT", "UPDATE", "DELETE")
ACTOR = "alice@example.com"


class InjectedFault(RuntimeError):
    """Stands for a bug in host code (an event hook, a custom type) raising mid-write."""


Snapshot = dict[str, list[tuple[Any, ...]]]
Operation = Callable[[Tracker, str, str], object]


@pytest.fixture(scope="module", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database per backend for the module; each test opens its own tickets in it."""
    with fresh_database(request.param, tmp_path_factory.mktemp("atomic")) as url:
        Tracker.from_url(url).close()
        yield url


@pytest.fixture
def tracker(database: str) -> Iterator[Tracker]:
    with Tracker.from_url(database, fields=[FieldDef("team", "text")]) as tracker:
        yield tracker


@pytest.fixture
def observer(database: str) -> Iterator[sa.Engine]:
    """A second engine: what other connections see, not what the failed one thought."""
    engine = sa.create_engine(database)
    yield engine
    engine.dispose()


def snapshot(engine: sa.Engine) -> Snapshot:
    """Every row of every ticketkit table, in primary-key order."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def database_fault(engine: sa.Engine) -> Exception:
    """The driver's own OperationalError, as a dropped connection or full disk raises it."""
    dbapi: Any = engine.dialect.loaded_dbapi
    error: Exception = dbapi.OperationalError("injected fault: the server went away")
    return error


@contextmanager
def fail_at(store: SQLStore, n: int, fault: str) -> Iterator[list[str]]:
    """Raise on the ``n``-th write statement run on ``store``'s engine; yield what ran."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(WRITES):
            return
        seen.append(statement)
        if len(seen) == n:
            raise InjectedFault(statement) if fault == "bug" else database_fault(store.engine)

    sa.event.listen(store.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", before)


def store_of(tracker: Tracker) -> SQLStore:
    assert isinstance(tracker.store, SQLStore)
    return tracker.store


def open_pair(tracker: Tracker) -> tuple[str, str]:
    """Two tickets with tags, a watcher and a custom field, so side tables have rows."""
    first = tracker.open(
        "Printer on fire", "smoke", actor=ACTOR, tags={"hw"}, fields={"team": "ops"}
    )
    second = tracker.open("Printer smoking", actor="bob", watchers={"carol"})
    return first.key, second.key


def attempt(operation: Operation, tracker: Tracker, a: str, b: str) -> Exception | None:
    """Run ``operation``; return what it raised, if anything."""
    try:
        operation(tracker, a, b)
    except Exception as exc:  # the caller checks the type
        return exc
    return None


OPERATIONS: dict[str, Operation] = {
    "open": lambda t, a, b: t.open(
        "New one", "text", actor=ACTOR, tags={"x", "y"}, fields={"team": "dev"}, watchers={"dan"}
    ),
    "update": lambda t, a, b: t.update(
        a, title="Renamed", add_tags={"urgent"}, fields={"team": "sec"}, actor=ACTOR
    ),
    "transition with comment": lambda t, a, b: t.transition(
        a, "resolve", comment="Replaced the fuser", actor=ACTOR
    ),
    "comment": lambda t, a, b: t.comment(a, "Any news?", actor=ACTOR, internal=True),
    "attach": lambda t, a, b: t.attach(a, "log.txt", b"line\n" * 100, actor=ACTOR),
    "link": lambda t, a, b: t.link(a, "blocks", b, actor=ACTOR),
    "merge": lambda t, a, b: t.merge(b, a, actor=ACTOR),
}


class TestFailedWriteLeavesNothing:
    @pytest.mark.parametrize("fault", ["bug", "database"])
    @pytest.mark.parametrize("name", list(OPERATIONS))
    def test_every_statement(
        self, tracker: Tracker, observer: sa.Engine, name: str, fault: str
    ) -> None:
        """Failing at each write statement in turn changes nothing; then the write succeeds."""
        a, b = open_pair(tracker)
        operation = OPERATIONS[name]
        before = snapshot(observer)
        tickets = {key: tracker.get(key) for key in (a, b)}
        history = {key: tracker.history(key) for key in (a, b)}
        expected = StorageError if fault == "database" else InjectedFault
        for n in itertools.count(1):
            with fail_at(store_of(tracker), n, fault) as seen:
                error = attempt(operation, tracker, a, b)
            if error is None:
                assert len(seen) == n - 1, "the fault fired but the operation succeeded"
                break
            assert isinstance(error, expected), repr(error)
            assert len(seen) == n
            if fault == "database":
                assert "injected fault" in str(error)
                assert isinstance(error.__cause__, sa.exc.DBAPIError)
            assert snapshot(observer) == before, f"failure at write {n} left rows behind"
            assert {key: tracker.get(key) for key in (a, b)} == tickets
            assert {key: tracker.history(key) for key in (a, b)} == history
        assert n > 2, f"{name} ran only {n - 1} write statement(s); expected several"
        assert snapshot(observer) != before

    def test_open_after_failures_takes_the_next_key(self, tracker: Tracker) -> None:
        """Failed opens do not use up key numbers: the next open gets the next key."""
        last = tracker.open("before", actor=ACTOR).key
        number = int(last.split("-")[1])
        for n in (1, 2, 3, 4):
            with fail_at(store_of(tracker), n, "bug"), pytest.raises(InjectedFault):
                tracker.open("doomed", actor=ACTOR, tags={"t"})
        assert tracker.open("after", actor=ACTOR).key == f"TK-{number + 1}"
        assert tracker.query({"title": "doomed"}).items == ()

    def test_failed_comment_then_normal_writes(self, tracker: Tracker) -> None:
        """After a failed write the same tracker reads and writes normally."""
        a, _ = open_pair(tracker)
        with fail_at(store_of(tracker), 2, "database"), pytest.raises(StorageError):
            tracker.comment(a, "lost", actor=ACTOR)
        ticket = tracker.get(a)
        comment = tracker.comment(a, "kept", actor=ACTOR, expected_version=ticket.version)
        assert [c.body for c in tracker.comments(a)] == ["kept"]
        assert comment.body == "kept"
        assert tracker.get(a).version == ticket.version + 1
