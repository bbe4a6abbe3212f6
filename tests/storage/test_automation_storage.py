"""The SQL store's automation tables under real concurrency and at size.

The store contract (``ticketkit._testing_automation``) checks the behaviour on
every store with threads. Here: two transactions open at the same time on
PostgreSQL and MariaDB, where the second must skip the rows the first holds
(``SELECT … FOR UPDATE SKIP LOCKED``) instead of waiting for them or taking
them too; counters bumped by separate OS processes; and the plans of the
scheduler's queries over 100,000 scheduled tickets, which must read the
``(due_at, ticket_id)`` index instead of scanning or sorting the table.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa

from databases import fresh_database
from ticketkit import Priority
from ticketkit._automation_records import OutboxItem
from ticketkit._model import Ticket
from ticketkit.storage.sql import SQLStore, SQLTransaction, upgrade
from ticketkit.storage.sql import _automation as automation
from ticketkit.storage.sql._schema import schedule

from .test_processes import PROCESS_BACKENDS, relaxed_commits

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SERVERS = ("postgresql", "mysql")
T = TypeVar("T")


def draft(n: int) -> Ticket:
    return Ticket(
        id=0,
        key="",
        title=f"Scheduled {n}",
        description="",
        status="new",
        priority=Priority.P3,
        reporter="customer@example.com",
        queue="default",
        created=AT,
        updated=AT,
        version=1,
    )


def make_tickets(store: SQLStore, count: int) -> list[int]:
    ids: list[int] = []
    for start in range(0, count, 5000):
        with store.transaction() as tx:
            assert isinstance(tx, SQLTransaction)
            made = tx.create_tickets(
                [draft(n) for n in range(start, min(count, start + 5000))], "AU"
            )
            ids.extend(t.id for t in made)
    return ids


@pytest.fixture(params=SERVERS)
def server_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLStore]:
    with fresh_database(request.param, tmp_path) as url:
        upgrade(url)
        store = SQLStore.from_url(url)
        try:
            yield store
        finally:
            store.close()


def in_other_thread(work: Callable[[], T], *, timeout: float = 20.0) -> tuple[bool, list[T]]:
    """Run ``work`` in a thread; (whether it finished within ``timeout``, [its result])."""
    result: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout)
    finished = not thread.is_alive()
    if finished and errors:
        raise errors[0]
    return finished, result


class _Rollback(Exception):
    """Ends the first transaction without committing it."""


class TestSkipLocked:
    """On PostgreSQL and MariaDB a second claimer skips what an open transaction holds."""

    def test_statements_ask_for_skip_locked(self) -> None:
        """The claim and lease queries carry FOR UPDATE SKIP LOCKED on both servers."""
        for name in ("postgresql+psycopg", "mysql+pymysql"):
            dialect = sa.create_engine(f"{name}://").dialect
            for stmt in (automation._DUE, automation._LEASABLE):
                assert "FOR UPDATE SKIP LOCKED" in str(stmt.compile(dialect=dialect))

    def test_second_transaction_skips_claimed_rows(self, server_store: SQLStore) -> None:
        """While the first holds three claimed rows, the second claims the other three at once;
        the first's rollback gives its rows back, the second's commit keeps its claim."""
        store = server_store
        ids = make_tickets(store, 6)
        with store.transaction() as tx:
            for i, ticket_id in enumerate(ids):
                tx.set_due(ticket_id, AT + timedelta(minutes=i))
        seen: dict[str, Any] = {}

        def claim_rest() -> list[int]:
            with store.transaction() as second:
                claimed = second.claim_due(AT + timedelta(hours=1), 10)
                for ticket_id in claimed:  # what a scheduler does next
                    second.set_due(ticket_id, AT + timedelta(days=1))
                return claimed

        def first_then_fail() -> None:
            with store.transaction() as first:
                seen["first"] = first.claim_due(AT + timedelta(hours=1), 3)
                seen["finished"], seen["second"] = in_other_thread(claim_rest)
                raise _Rollback  # release the rows; a waiting second claimer then goes on

        with pytest.raises(_Rollback):
            first_then_fail()
        assert seen["first"] == ids[:3]
        assert seen["finished"], "the second transaction waited for the rows the first held"
        assert seen["second"] == [ids[3:]]
        assert store.due_count(AT + timedelta(hours=1)) == 3
        assert store.next_due() == AT
        with store.transaction() as tx:
            assert tx.claim_due(AT + timedelta(hours=1), 10) == ids[:3]

    def test_second_transaction_skips_leased_items(self, server_store: SQLStore) -> None:
        """While the first leases two items, the second leases the others at once; after the
        first commits, its items stay leased and nobody gets them again."""
        store = server_store
        item = OutboxItem(0, "email", {"n": 1}, AT, AT)
        with store.transaction() as tx:
            added = [i.id for i in tx.add_outbox([item] * 5)]
        until = AT + timedelta(minutes=5)
        with store.transaction() as first:
            assert [i.id for i in first.lease_outbox(AT, until, 2)] == added[:2]

            def lease_rest() -> list[int]:
                with store.transaction() as second:
                    return [i.id for i in second.lease_outbox(AT, until, 10)]

            finished, second_lease = in_other_thread(lease_rest)
        assert finished, "the second transaction waited for the items the first held"
        assert second_lease == [added[2:]]
        with store.transaction() as tx:
            assert tx.lease_outbox(AT + timedelta(minutes=1), until, 10) == []
        assert {i.lease_until for i in store.outbox()} == {until}


def bump(url: str, rounds: int) -> list[int]:
    """In a process of its own: take ``rounds`` values of one counter, one per transaction."""
    store = SQLStore.from_url(url, durability="normal")
    try:
        got = []
        for _ in range(rounds):
            with store.transaction() as tx:
                got.append(tx.next_counter("route:shared"))
        return got
    finally:
        store.close()


@pytest.mark.parametrize("backend", PROCESS_BACKENDS)
def test_counters_never_repeat_across_processes(backend: str, tmp_path: Path) -> None:
    """Four processes bumping one counter at once get 0 … n-1, each value once."""
    workers, rounds = 4, 40
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        url = relaxed_commits(url)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(bump, url, rounds) for _ in range(workers)]
            values = [v for f in futures for v in f.result()]
        assert sorted(values) == list(range(workers * rounds))


# -- the scheduler's queries at size ------------------------------------------------------

#: Scheduled tickets in the plan tests: the full 100,000 on SQLite, fewer on the servers
#: (their planners choose by statistics, which ANALYZE brings up to date either way).
SIZES = {"sqlite": 100_000, "postgresql": 20_000, "mysql": 20_000}


@pytest.fixture(scope="module", params=("sqlite", *SERVERS))
def crowded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SQLStore]:
    """A database with many scheduled tickets, due one second apart."""
    backend = str(request.param)
    with fresh_database(backend, tmp_path_factory.mktemp("crowded")) as url:
        upgrade(url)
        store = SQLStore.from_url(url)
        try:
            ids = make_tickets(store, SIZES[backend])
            rows = [
                {"ticket_id": t, "tenant": "default", "due_at": AT + timedelta(seconds=n)}
                for n, t in enumerate(ids)
            ]
            with store.engine.begin() as conn:
                conn.execute(sa.insert(schedule), rows)
                if backend == "postgresql":
                    conn.execute(sa.text("ANALYZE tk_schedule"))
                elif backend == "mysql":
                    conn.execute(sa.text("ANALYZE TABLE tk_schedule"))
                else:
                    conn.execute(sa.text("ANALYZE"))
            yield store
        finally:
            store.close()


def plan(store: SQLStore, stmt: Any, values: dict[str, Any]) -> str:
    """The database's plan for ``stmt`` with ``values``, as one text."""
    with store.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect)
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        params: Any
        given = {**compiled.params, **values}
        if compiled.positional:
            params = tuple(given[name] for name in compiled.positiontup)
        else:
            params = given
        found = conn.exec_driver_sql(prefix + str(compiled), params).all()
    return "\n".join(" | ".join(str(v) for v in row) for row in found)


INDEX = "ix_tk_schedule_due_at_ticket_id"


class TestScheduleAtSize:
    """claim_due and next_due read the due_at index, never the whole table."""

    def test_claim_due_reads_the_index_in_order(self, crowded: SQLStore) -> None:
        """The claim query walks the (due_at, ticket_id) index: no table scan, no sort."""
        now = (AT + timedelta(days=365)).replace(tzinfo=None)
        found = plan(crowded, automation._DUE, {"b_now": now, "b_limit": 100})
        assert INDEX in found, found
        low = found.lower()
        for bad in ("seq scan", "filesort", "temp b-tree"):
            assert bad not in low, found
        if crowded.dialect == "sqlite":
            assert "SCAN tk_schedule" not in found, found

    def test_next_due_reads_one_index_entry(self, crowded: SQLStore) -> None:
        """next_due is the index's first entry (or MariaDB answers it from the index alone)."""
        found = plan(crowded, automation._NEXT_DUE, {})
        if crowded.dialect == "mysql":
            assert "Select tables optimized away" in found, found
        else:
            assert INDEX in found, found
            assert "seq scan" not in found.lower(), found

    def test_claims_come_back_in_order_at_size(self, crowded: SQLStore) -> None:
        """With every ticket scheduled, a claim takes the earliest ones; a rollback keeps all."""
        count = SIZES[crowded.dialect]
        assert crowded.next_due() == AT
        assert crowded.due_count(AT + timedelta(seconds=count)) == count
        claimed: list[int] = []

        def claim_then_fail() -> None:
            with crowded.transaction() as tx:
                claimed.extend(tx.claim_due(AT + timedelta(days=365), 100))
                raise _Rollback

        with pytest.raises(_Rollback):
            claim_then_fail()
        assert len(claimed) == 100
        assert claimed == sorted(claimed)
        assert crowded.due_count(AT + timedelta(days=365)) == count
