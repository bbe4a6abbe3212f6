"""Concurrency with real OS processes: no lost update, no duplicate or missing key.

Each worker is a separate Python process (the "spawn" start method, as on
macOS and Windows) with its own tracker, engine and connections, so the only
thing the workers share is the database: exactly what the store's locking and
version checks must get right.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from databases import fresh_database
from ticketkit import ConflictError, Tracker
from ticketkit._events import EventType
from ticketkit._fields import FieldDef

WORKERS = 8
UPDATES = 250  # per worker
OPENS = 500  # per worker
FIELDS = [FieldDef("counter", "int")]

# MariaDB runs these too; it is the slowest of the three at this contention.
PROCESS_BACKENDS = ("sqlite", "postgresql", "mysql")


def _tracker(url: str) -> Tracker:
    return Tracker.from_url(url, fields=FIELDS, create=False, durability="normal")


def relaxed_commits(url: str) -> str:
    """``url`` with commits that do not wait for the disk, where a session can choose that.

    Whether a commit waits for fsync decides only what survives a power cut, not
    what concurrent transactions lock or see, which is what these tests check;
    waiting for the disk on each of thousands of serialised commits would only
    make them slow. SQLite gets ``durability="normal"`` (see ``_tracker``) and
    PostgreSQL ``synchronous_commit=off``; MariaDB's setting is server-wide, so
    it keeps its own.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.update_query_dict({"options": "-c synchronous_commit=off"})
    return parsed.render_as_string(hide_password=False)


def bump_counter(url: str, worker: int, count: int) -> int:
    """Increment the ticket's counter ``count`` times; return the conflicts met.

    Each increment is a read-modify-write based on the version read, so an
    update the store lost (overwrote without a conflict) leaves the counter
    short. After a conflict the worker backs off for a random time that doubles
    with each conflict in a row, as a real client would, so that eight
    processes on two cores spend their time writing rather than colliding.
    """
    rng = random.Random(worker)
    conflicts = 0
    with _tracker(url) as tracker:
        done = streak = 0
        while done < count:
            ticket = tracker.get("TK-1")
            counter = ticket.fields.get("counter", 0)
            assert isinstance(counter, int)
            try:
                tracker.update(
                    "TK-1",
                    fields={"counter": counter + 1},
                    actor=f"worker{worker}",
                    expected_version=ticket.version,
                )
            except ConflictError:
                conflicts += 1
                streak += 1
                time.sleep(rng.uniform(0, min(0.064, 0.001 * 2**streak)))
                continue
            done += 1
            streak = 0
    return conflicts


def open_tickets(url: str, worker: int, count: int) -> list[str]:
    """Open ``count`` tickets; return their keys."""
    with _tracker(url) as tracker:
        return [
            tracker.open(f"ticket {i} of worker {worker}", actor=f"worker{worker}").key
            for i in range(count)
        ]


NEW_QUEUES = [f"q{n}" for n in range(30)]


def open_in_new_queues(url: str, worker: int, start_at: float) -> list[str]:
    """From ``start_at`` on, open one ticket in each of ``NEW_QUEUES``; return the keys.

    All workers start at the same moment and go through the queues in the same
    order, so several of them reserve the first number of each prefix at once.
    """
    queues = {q: q.upper() for q in NEW_QUEUES}
    settings = {"fields": FIELDS, "queues": queues, "default_queue": "q0"}
    with Tracker.from_url(url, create=False, **settings) as tracker:
        time.sleep(max(0.0, start_at - time.time()))
        return [
            tracker.open(f"first in {q}", queue=q, actor=f"worker{worker}").key for q in NEW_QUEUES
        ]


@pytest.fixture(params=PROCESS_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with the tables created, before any worker starts."""
    with fresh_database(request.param, tmp_path) as url:
        Tracker.from_url(url, fields=FIELDS).close()
        yield relaxed_commits(url)


def all_keys(tracker: Tracker) -> list[str]:
    """The keys of every ticket in the store, page by page."""
    keys: list[str] = []
    cursor = None
    while True:
        page = tracker.query(order_by="id", limit=1000, cursor=cursor)
        keys += [t.key for t in page.items]
        if page.next_cursor is None:
            return keys
        cursor = page.next_cursor


def run_workers(function: object, url: str, count: int) -> list[object]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
        futures = [pool.submit(function, url, w, count) for w in range(WORKERS)]  # type: ignore[arg-type]
        return [f.result() for f in futures]


class TestConcurrentUpdates:
    def test_no_update_is_lost(self, url: str) -> None:
        """8 processes x 250 version-checked updates of one ticket: all 2,000 land, once."""
        with _tracker(url) as tracker:
            tracker.open("shared", actor="setup")
        started = time.perf_counter()
        conflicts = run_workers(bump_counter, url, UPDATES)
        elapsed = time.perf_counter() - started
        with _tracker(url) as tracker:
            ticket = tracker.get("TK-1")
            history = tracker.history("TK-1")
        print(f"{url.split(':')[0]}: {elapsed:.1f}s, conflicts {sum(conflicts)}")  # type: ignore[arg-type]
        assert ticket.fields["counter"] == WORKERS * UPDATES
        assert ticket.version == WORKERS * UPDATES + 1
        assert history[0].type is EventType.OPENED
        changes = history[1:]
        assert len(changes) == WORKERS * UPDATES
        assert [e.version for e in changes] == list(range(2, WORKERS * UPDATES + 2))
        assert [e.new for e in changes] == list(range(1, WORKERS * UPDATES + 1))
        assert Counter(e.actor for e in changes) == {f"worker{w}": UPDATES for w in range(WORKERS)}


class TestConcurrentOpens:
    def test_keys_are_unique_and_without_gaps(self, url: str) -> None:
        """8 processes x 500 opens: 4,000 distinct keys TK-1..TK-4000, none twice, none missing."""
        started = time.perf_counter()
        results = run_workers(open_tickets, url, OPENS)
        elapsed = time.perf_counter() - started
        print(f"{url.split(':')[0]}: {elapsed:.1f}s")
        keys = [key for keys in results for key in keys]  # type: ignore[attr-defined]
        assert len(keys) == len(set(keys)) == WORKERS * OPENS
        assert set(keys) == {f"TK-{n}" for n in range(1, WORKERS * OPENS + 1)}
        with _tracker(url) as tracker:
            stored = all_keys(tracker)
        assert sorted(stored) == sorted(keys)


class TestFirstKeyOfANewPrefix:
    def test_writers_that_start_a_prefix_together_neither_deadlock_nor_collide(
        self, url: str
    ) -> None:
        """8 processes open the first tickets of 30 new queues at the same moment.

        Creating a prefix's key sequence is the one place where writers race to
        insert the same row; on MariaDB an update-then-insert there deadlocked.
        """
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
            start_at = time.time() + 3  # time for every worker process to start
            futures = [pool.submit(open_in_new_queues, url, w, start_at) for w in range(WORKERS)]
            keys = [key for f in futures for key in f.result()]
        assert len(keys) == len(set(keys)) == WORKERS * len(NEW_QUEUES)
        expected = {f"{q.upper()}-{n}" for q in NEW_QUEUES for n in range(1, WORKERS + 1)}
        assert set(keys) == expected
