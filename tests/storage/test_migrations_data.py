"""Upgrading a database that holds tickets: nothing is lost, and the old tickets are searchable.

The database is made at an older revision and filled through the tracker on
an :class:`SQLStore` (whose writes never touch the search structures, which the
database maintains itself, and touch the references table only for a ticket
opened with a reference, so they work on 0001 too; only opening through
``Tracker.from_url`` insists on the newest schema). Then it is upgraded to
HEAD, and every row of every table must be as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from databases import BACKENDS, fresh_database
from ticketkit import DuplicateReference, FrozenClock, Tracker
from ticketkit._history import replay
from ticketkit.storage.sql import SQLStore, current_revision, upgrade
from ticketkit.storage.sql._migrate import HEAD
from ticketkit.storage.sql._schema import metadata

START = datetime(2026, 2, 1, 9, 30, 0, 250000, tzinfo=UTC)

# (title, description, comments as (body, internal))
TICKETS: list[tuple[str, str, list[tuple[str, bool]]]] = [
    ("Printer jams daily", "The office printer jams\nevery morning", []),
    ("Mailbox quota reached", "Outgoing mail waits", [("Spooler blocks the printer", False)]),
    ("Drucker streikt", "Große Straße, zweiter Stock — Papierstau", [("Erledigt?", True)]),
    ("Laptop battery drains", "", [("Replaced battery", False), ("Customer grumpy", True)]),
    ("Unicode ☃ snowman", "Emoji 🎉 and tabs\tand 'quotes' \"double\" and \\ backslash", []),
]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path) as url:
        yield url


def fill(url: str) -> None:
    """Tickets with history, comments, internal notes and attachments, written at 0001."""
    clock = FrozenClock(START)
    store = SQLStore.from_url(url)
    try:
        tracker = Tracker(store, clock=clock)
        for title, description, comments in TICKETS:
            clock.advance(minutes=3, microseconds=7)
            ticket = tracker.open(
                title=title, description=description, actor="bob@example.com", tags=["legacy"]
            )
            for body, internal in comments:
                clock.advance(minutes=1)
                tracker.comment(ticket.key, body, actor="alice", internal=internal)
        tracker.assign("TK-1", "alice", actor="carol")
        tracker.transition("TK-1", "start", actor="alice")
        tracker.update("TK-2", actor="bob@example.com", title="Mailbox quota exceeded")
        tracker.attach("TK-3", "scan.bin", bytes(range(256)) * 3, actor="alice")
        tracker.attach("TK-5", "empty.txt", b"", actor="alice")
        tracker.link("TK-4", "relates", "TK-1", actor="alice")
    finally:
        store.close()


def dump(url: str) -> dict[str, list[Any]]:
    """Every row of every table of the code's metadata that exists, in primary key order."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            present = set(sa.inspect(conn).get_table_names())
            return {
                table.name: [
                    tuple(row)
                    for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                ]
                for table in metadata.sorted_tables
                if table.name in present
            }
    finally:
        engine.dispose()


def snapshot(tracker: Tracker) -> dict[str, Any]:
    """What the tracker reads back for each ticket, attachment bytes included."""
    found: dict[str, Any] = {}
    for n in range(1, len(TICKETS) + 1):
        key = f"TK-{n}"
        attachments = tracker.attachments(key)
        found[key] = (
            tracker.get(key),
            tracker.history(key),
            tracker.comments(key),
            attachments,
            [tracker.attachment_content(a.id) for a in attachments],
        )
    return found


def test_upgrade_keeps_every_row_and_makes_old_tickets_searchable(url: str) -> None:
    """From 0001 to HEAD: rows byte-identical, history replays, old text is found."""
    assert upgrade(url, "0001") == "0001"
    fill(url)
    before_rows = dump(url)
    store = SQLStore.from_url(url)
    try:
        before = snapshot(Tracker(store))
    finally:
        store.close()
    assert sum(len(rows) for rows in before_rows.values()) > 30

    assert upgrade(url) == HEAD == "0003"

    after_rows = dump(url)
    assert after_rows.pop("tk_ticket_references") == []
    assert after_rows == before_rows
    with Tracker.from_url(url, create=False) as tracker:  # the schema check passes now
        after = snapshot(tracker)
        assert after == before
        for ticket, history, *_ in after.values():
            assert replay(history) == ticket
        assert after["TK-3"][4] == [bytes(range(256)) * 3]

        def found(text: str) -> list[str]:
            return [hit.ticket.key for hit in tracker.search(text)]

        assert found("printer") == ["TK-1", "TK-2"]  # title and description, then a comment
        assert found("exceeded") == ["TK-2"]  # the title as updated before the upgrade
        assert found("quota mailbox") == ["TK-2"]
        assert found("papierstau") == ["TK-3"]
        assert found("grumpy") == ["TK-4"]  # an internal note
        assert found("snowman") == ["TK-5"]
        assert found("backslash") == ["TK-5"]

        # Writes after the upgrade are indexed as they happen.
        tracker.comment("TK-5", "Frosty weather tomorrow", actor="alice")
        tracker.update("TK-1", actor="bob@example.com", title="Plotter jams daily")
        assert found("frosty") == ["TK-5"]
        assert found("plotter") == ["TK-1"]


def test_upgrade_of_an_empty_0001_database(url: str) -> None:
    """A database at 0001 without tickets upgrades, and search finds nothing."""
    upgrade(url, "0001")
    assert upgrade(url) == HEAD
    engine = sa.create_engine(url)
    try:
        assert current_revision(engine) == HEAD
    finally:
        engine.dispose()
    with Tracker.from_url(url, create=False) as tracker:
        assert tracker.search("printer") == []
        tracker.open(title="Printer jams", actor="bob")
        assert [h.ticket.key for h in tracker.search("printer")] == ["TK-1"]


def test_upgrade_from_0002_keeps_every_row_and_adds_references(url: str) -> None:
    """From 0002 to 0003: rows unchanged, references table empty, then references work."""
    assert upgrade(url, "0002") == "0002"
    fill(url)
    before_rows = dump(url)
    assert "tk_ticket_references" not in before_rows
    store = SQLStore.from_url(url)
    try:
        before = snapshot(Tracker(store))
    finally:
        store.close()

    assert upgrade(url) == "0003"

    after_rows = dump(url)
    assert after_rows.pop("tk_ticket_references") == []
    assert after_rows == before_rows
    with Tracker.from_url(url, create=False) as tracker:
        assert snapshot(tracker) == before
        assert tracker.by_reference("crash:abc") is None
        ticket = tracker.open("Crash after upgrade", actor="crash", reference="crash:abc")
        assert ticket.key == f"TK-{len(TICKETS) + 1}"
        assert tracker.by_reference("crash:abc") == ticket
        with pytest.raises(DuplicateReference):
            tracker.open("Same crash", actor="crash", reference="crash:abc")
        assert tracker.open("Next", actor="bob").key == f"TK-{len(TICKETS) + 2}"
