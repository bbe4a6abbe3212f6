"""The SQLite store's precompiled writes send exactly what ``Connection.execute`` would.

``Prepared`` skips SQLAlchemy's per-call compilation and applies the column
types' bind processing itself; a difference in that processing (a datetime
stored without its microseconds, JSON in another form) would make rows written
one way compare unequal to values bound the other way, as cursor pagination on
``updated`` does. So each statement is run both ways and the SQL and the
driver's parameters must be identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, event, insert
from sqlalchemy.dialects import sqlite as sqlite_dialect

from ticketkit import Priority
from ticketkit._events import Event, EventType
from ticketkit._model import Link, LinkKind, Ticket
from ticketkit.storage.sql import _rows as rows
from ticketkit.storage.sql._prepared import Prepared, bind_processor
from ticketkit.storage.sql._schema import events, metadata, tickets
from ticketkit.storage.sql._store import _ROW_KEYS, _UPDATE_TICKET
from ticketkit.storage.sql._types import JSONText, UTCDateTime

MOMENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # no microseconds: the case that broke
TICKET = Ticket(
    id=7,
    key="HD-7",
    title="Printer ÄÖ on fire",
    description="Line one\nline two",
    status="open",
    priority=Priority.P2,
    reporter="ann@example.com",
    queue="default",
    created=MOMENT,
    updated=datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC),
    version=3,
    assignee="bob",
    tags=frozenset({"printer", "fire"}),
    fields={"cost": Decimal("12.50"), "seen": MOMENT.date(), "os": ("linux", "mac")},
    watchers=frozenset({"carol"}),
    links=frozenset({Link(LinkKind.BLOCKS, "HD-1")}),
    resolved_at=MOMENT,
)
EVENT = Event(
    ticket_id=7,
    ticket_key="HD-7",
    version=3,
    type=EventType.STATUS_CHANGED,
    actor="bob",
    at=MOMENT,
    field="status",
    old="new",
    new="open",
    data={"action": "start", "nested": {"n": 1}},
)


def sent(conn: Connection, run: Any) -> tuple[str, Any]:
    """The SQL and parameters the driver received while ``run()`` ran."""
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, _many: Any) -> None:
        seen.append((statement, tuple(params)))

    event.listen(conn, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(conn, "before_cursor_execute", record)
    assert len(seen) == 1
    return seen[0]


@pytest.fixture
def conn(tmp_path: Path) -> Any:
    engine = create_engine(f"sqlite:///{tmp_path / 'p.db'}")
    metadata.create_all(engine)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def both_ways(
    conn: Connection, stmt: Any, columns: Any, values: Mapping[str, Any]
) -> tuple[tuple[str, Any], tuple[str, Any]]:
    prepared = Prepared(stmt, conn.dialect, columns)
    with conn.begin_nested() as savepoint:
        via_execute = sent(conn, lambda: conn.execute(stmt, dict(values)))
        savepoint.rollback()
    with conn.begin_nested() as savepoint:
        via_prepared = sent(conn, lambda: prepared.run(conn, values))
        savepoint.rollback()
    return via_execute, via_prepared


def test_ticket_insert_is_sent_as_execute_sends_it(conn: Connection) -> None:
    row = rows.ticket_row(TICKET)
    via_execute, via_prepared = both_ways(conn, insert(tickets), _ROW_KEYS, row)
    assert via_prepared == via_execute
    assert "2026-03-02 09:00:00.000000" in via_prepared[1]


def test_ticket_update_is_sent_as_execute_sends_it(conn: Connection) -> None:
    values = {**rows.ticket_row(TICKET), "b_id": 7, "b_version": 2}
    via_execute, via_prepared = both_ways(conn, _UPDATE_TICKET, _ROW_KEYS, values)
    assert via_prepared == via_execute


def test_event_insert_is_sent_as_execute_sends_it(conn: Connection) -> None:
    columns = rows.EVENT_COLUMNS[:-1]
    via_execute, via_prepared = both_ways(conn, insert(events), columns, rows.event_row(EVENT))
    assert via_prepared == via_execute


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
SQLITE = sqlite_dialect.dialect()


@pytest.mark.parametrize(
    ("column_type", "values"),
    [
        (UTCDateTime(), st.datetimes(timezones=st.timezones()) | st.none()),
        (JSONText(), JSON_VALUES),
    ],
)
def test_fused_processors_give_what_sqlalchemys_chain_gives(column_type: Any, values: Any) -> None:
    """Prepared's one-function processors agree with the type's and the dialect's, chained."""
    fused = bind_processor(column_type, SQLITE)
    chained = column_type.dialect_impl(SQLITE).bind_processor(SQLITE)
    assert fused is not chained

    @given(values)
    def agree(value: Any) -> None:
        assert fused(value) == chained(value)

    agree()
