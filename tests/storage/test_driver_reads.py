"""The SQLite store's kept connections: fresh data, one per thread, closed with the store.

On ticketkit's SQLite engines each thread keeps a ``sqlite3`` connection to
read on (see ``ticketkit.storage.sql._driver_reads``) and one to write on
(``SQLStore._writer``). Keeping a connection must never mean reading stale
data, running out of pooled connections, or leaking them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from ticketkit import ConflictError, StorageError, Tracker
from ticketkit.storage.sql import SQLStore


def kept(tracker: Tracker) -> list[sqlite3.Connection]:
    """The driver connections the tracker's store keeps for reading."""
    store = tracker.store
    assert isinstance(store, SQLStore)
    assert store._driver is not None
    return [pooled.dbapi_connection for _pid, pooled in store._driver._kept]


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kept.db'}"


def test_reads_see_what_another_tracker_committed_since(url: str) -> None:
    with Tracker.from_url(url) as reader, Tracker.from_url(url) as writer:
        key = writer.open("first", actor="ann").key
        assert reader.get(key).status == "new"  # the reader now keeps a connection
        writer.transition(key, "start", actor="bob")
        writer.open("second", actor="ann")
        assert reader.get(key).status == "open"
        assert [e.type.value for e in reader.history(key)] == ["opened", "status_changed"]
        assert len(reader.query({}).items) == 2


def test_each_thread_reads_on_its_own_connection(url: str) -> None:
    with Tracker.from_url(url) as tracker:
        key = tracker.open("shared", actor="ann").key
        seen: list[str] = []

        def read() -> None:
            seen.append(tracker.get(key).title)

        threads = [threading.Thread(target=read) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        tracker.get(key)
        assert seen == ["shared"] * 3
        connections = kept(tracker)
        assert len(connections) == 4
        assert len({id(c) for c in connections}) == 4


def test_closing_the_tracker_closes_the_kept_connections(url: str) -> None:
    tracker = Tracker.from_url(url)
    key = tracker.open("x", actor="ann").key
    tracker.get(key)
    connections = kept(tracker)
    assert connections
    tracker.close()
    for connection in connections:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")


def test_a_failed_read_is_a_storage_error_and_the_next_read_works(url: str) -> None:
    with Tracker.from_url(url) as tracker:
        key = tracker.open("x", actor="ann").key
        tracker.get(key)
        with sqlite3.connect(url.removeprefix("sqlite:///")) as other:
            other.execute("ALTER TABLE tk_tickets RENAME TO tk_tickets_gone")
        with pytest.raises(StorageError, match="no such table") as caught:
            tracker.get(key)
        assert isinstance(caught.value.__cause__.__cause__, sqlite3.OperationalError)  # type: ignore[union-attr]
        with sqlite3.connect(url.removeprefix("sqlite:///")) as other:
            other.execute("ALTER TABLE tk_tickets_gone RENAME TO tk_tickets")
        assert tracker.get(key).title == "x"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_reads_on_a_connection_of_its_own(url: str) -> None:
    with Tracker.from_url(url) as tracker:
        key = tracker.open("before fork", actor="ann").key
        tracker.get(key)
        parents = {id(c) for c in kept(tracker)}
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what it read and whether it used a new connection
            try:
                title = tracker.get(key).title
                store = tracker.store
                assert isinstance(store, SQLStore)
                assert store._driver is not None
                fresh = id(store._driver._driver()) not in parents
                os.write(write_end, f"{title}|{fresh}".encode())
            finally:
                os._exit(0)
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        answer = os.read(read_end, 1000).decode()
        os.close(read_end)
        assert os.waitstatus_to_exitcode(status) == 0
        assert answer == "before fork|True"
        assert tracker.get(key).title == "before fork"  # the parent's connection still works


def writers(tracker: Tracker) -> list[Any]:
    store = tracker.store
    assert isinstance(store, SQLStore)
    return [conn for _pid, conn in store._kept_writers]


def test_more_writing_threads_than_the_pool_holds(url: str) -> None:
    """24 threads each keep a write connection; the pool (5 + 10 overflow) never runs dry."""
    with Tracker.from_url(url) as tracker:
        barrier = threading.Barrier(24)
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                barrier.wait()
                for i in range(5):
                    tracker.open(f"thread {n} ticket {i}", actor=f"user{n}")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(24)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(writers(tracker)) == 24
        keys = {t.key for t in tracker.query({}, limit=200).items}
        assert keys == {f"TK-{n}" for n in range(1, 121)}


def test_a_failed_write_leaves_the_kept_connection_usable(url: str) -> None:
    with Tracker.from_url(url) as tracker:
        key = tracker.open("x", actor="ann").key
        with pytest.raises(ConflictError):
            tracker.update(key, title="stale", actor="ann", expected_version=7)
        assert tracker.update(key, title="fresh", actor="ann").title == "fresh"
        assert len(writers(tracker)) == 1


def test_closing_the_tracker_closes_the_kept_write_connections(url: str) -> None:
    tracker = Tracker.from_url(url)
    tracker.open("x", actor="ann")
    kept_writers = writers(tracker)
    assert kept_writers
    tracker.close()
    assert all(conn.closed for conn in kept_writers)
