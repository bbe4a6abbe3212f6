"""A host application's own transactions on an engine it shares with ticketkit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from databases import BACKENDS, fresh_database
from ticketkit import Tracker
from ticketkit.storage.sql import SQLStore, check_schema, make_engine


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        check_schema(engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE host_orders (n INTEGER)"))
        try:
            yield engine
        finally:
            engine.dispose()


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


class TestHostTransactions:
    def test_host_rollback_undoes_host_writes(self, engine: Engine) -> None:
        """A rolled-back transaction of the host leaves none of its rows behind."""

        def failing_order() -> None:
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO host_orders VALUES (1)"))
                raise RuntimeError("host fails")

        with pytest.raises(RuntimeError):
            failing_order()
        assert count(engine, "SELECT COUNT(*) FROM host_orders") == 0

    def test_ticket_written_in_host_transaction_goes_with_its_rollback(
        self, engine: Engine
    ) -> None:
        """On the host's connection, a ticket opened in its transaction is undone with it."""
        with engine.connect() as conn:
            tracker = Tracker(SQLStore(conn))
            with conn.begin() as host:
                conn.execute(text("INSERT INTO host_orders VALUES (1)"))
                tracker.open(title="Order 1 failed", actor="shop")
                host.rollback()
        assert count(engine, "SELECT COUNT(*) FROM host_orders") == 0
        assert count(engine, "SELECT COUNT(*) FROM tk_tickets") == 0

    def test_ticket_written_in_host_transaction_is_kept_on_commit(self, engine: Engine) -> None:
        """When the host commits, its rows and the ticket are both kept."""
        with engine.connect() as conn:
            tracker = Tracker(SQLStore(conn))
            with conn.begin():
                conn.execute(text("INSERT INTO host_orders VALUES (1)"))
                tracker.open(title="Order 1 failed", actor="shop")
        assert count(engine, "SELECT COUNT(*) FROM host_orders") == 1
        with Tracker(SQLStore(engine)) as tracker:
            assert tracker.get("TK-1").title == "Order 1 failed"
