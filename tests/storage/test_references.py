"""External references on the SQL store: what the contract suite cannot see.

The database's own refusal is read precisely (a taken reference, not any
integrity error), and a refused reference undoes only ticketkit's part of a
host's transaction, even on PostgreSQL, where the failed insert aborts the
transaction it runs in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from databases import BACKENDS, fresh_database
from ticketkit import DuplicateReference, Tracker
from ticketkit._errors import StorageError
from ticketkit.storage.sql import SQLStore, make_engine, upgrade


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with fresh_database(request.param, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


def test_reference_to_a_missing_ticket_is_no_duplicate(engine: sa.Engine) -> None:
    """A reference for a ticket id that does not exist fails its foreign key: a StorageError."""
    store = SQLStore(engine)
    with pytest.raises(StorageError) as info, store.transaction() as tx:
        tx.add_reference(999, "crash:abc")
    assert not isinstance(info.value, DuplicateReference)
    assert store.ticket_for_reference("crash:abc") is None


def test_refused_reference_keeps_the_host_transaction(engine: sa.Engine) -> None:
    """In a host's transaction, a refused open is undone alone; the host's work commits."""
    Tracker(SQLStore(engine)).open("First crash", actor="crash", reference="crash:abc")
    with engine.connect() as conn:
        tracker = Tracker(SQLStore(conn))
        with conn.begin():
            conn.execute(sa.text("CREATE TABLE host_log (line VARCHAR(40))"))
        with conn.begin():
            conn.execute(sa.text("INSERT INTO host_log (line) VALUES ('before')"))
            with pytest.raises(DuplicateReference) as info:
                tracker.open("Same crash", actor="crash", reference="crash:abc")
            assert info.value.key == "TK-1"
            # The connection still works: on PostgreSQL only the savepoint was aborted.
            conn.execute(sa.text("INSERT INTO host_log (line) VALUES ('after')"))
            second = tracker.open("Other crash", actor="crash", reference="crash:def")
    with engine.connect() as conn:
        lines = conn.execute(sa.text("SELECT line FROM host_log ORDER BY line")).scalars().all()
    assert lines == ["after", "before"]
    store = SQLStore(engine)
    assert second.key == "TK-2"
    assert store.ticket_for_reference("crash:def") == second
    assert store.get_ticket("TK-3") is None


def test_refused_reference_leaves_the_store_usable(engine: sa.Engine) -> None:
    """After the database refused a reference, the next writes on the same pool succeed."""
    store = SQLStore(engine)
    made = Tracker(store).open("Crash", actor="crash")
    with store.transaction() as tx:
        tx.add_reference(made.id, "crash:abc")
    for _ in range(3):
        with pytest.raises(DuplicateReference), store.transaction() as tx:
            tx.add_reference(made.id, "crash:abc")
    tracker = Tracker(store)
    assert tracker.open("Next", actor="bob", reference="crash:def").key == "TK-2"
    assert tracker.by_reference("crash:abc") == tracker.get("TK-1")
