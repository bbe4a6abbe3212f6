"""Upgrading a database that holds tickets: nothing is lost, and the old tickets are searchable.

The tickets are written by this ticketkit's tracker into a scratch database at
HEAD (:func:`fill`), then copied into the database under test, made at an
older revision, column by column: only the columns that revision has, with
their stored values untouched (:func:`copy_rows`). That database is then
upgraded to HEAD, and every row of every table must be as it was, the new
columns holding what the migrations say (tenant ``'default'``, nothing
redacted); it ends up equal, row for row, to the scratch database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from databases import BACKENDS, fresh_database
from ticketkit import DuplicateReference, FrozenClock, Tracker
from ticketkit._history import replay
from ticketkit.storage.sql import SQLStore, _migrate, current_revision, upgrade
from ticketkit.storage.sql._migrate import HEAD
from ticketkit.storage.sql._schema import metadata
from ticketkit.storage.sql._search import SEARCH_COLUMNS

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
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def source(backend: str, tmp_path: Path) -> Iterator[str]:
    """A scratch database at HEAD holding the tickets of :func:`fill`."""
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        fill(url)
        yield url


def fill(url: str) -> None:
    """Tickets with history, comments, internal notes, attachments and a link."""
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


def _reflected(conn: sa.Connection) -> dict[str, sa.Table]:
    """The tables of the code's metadata that exist, as the database has them (no type
    processing: values are read and written as stored), without search-only columns."""
    present = set(sa.inspect(conn).get_table_names())
    found = {}
    for table in metadata.sorted_tables:
        if table.name in present:
            reflected = sa.Table(table.name, sa.MetaData(), autoload_with=conn)
            for table_name, column in SEARCH_COLUMNS:
                if table_name == table.name and column in reflected.c:
                    reflected._columns.remove(reflected.c[column])
            found[table.name] = reflected
    return found


def copy_rows(source: str, target: str) -> None:
    """Every row of ``source`` into the same tables of ``target``, in the columns it has."""
    src, dst = sa.create_engine(source), sa.create_engine(target)
    try:
        with src.connect() as read, dst.begin() as write:
            have = _reflected(read)
            for name, table in _reflected(write).items():
                columns = [have[name].c[c.name] for c in table.columns]
                found = [dict(r._mapping) for r in read.execute(sa.select(*columns))]
                if found:
                    write.execute(sa.insert(table), found)
                if write.dialect.name == "postgresql" and "id" in table.c:
                    write.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT max(id) FROM {name})) WHERE EXISTS (SELECT 1 FROM {name})"
                        )
                    )
    finally:
        src.dispose()
        dst.dispose()


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of the code's metadata that exists, in primary key order."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: [
                    dict(row._mapping)
                    for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))
                ]
                for name, table in _reflected(conn).items()
            }
    finally:
        engine.dispose()


def at_revision(url: str, revision: str, source: str) -> dict[str, list[dict[str, Any]]]:
    """``url`` made at ``revision`` and given the tickets of ``source``; its rows."""
    assert upgrade(url, revision) == revision
    copy_rows(source, url)
    rows = dump(url)
    assert sum(len(found) for found in rows.values()) > 30
    return rows


def projected(
    rows: dict[str, list[dict[str, Any]]], like: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """``rows`` with only the tables and columns that ``like`` has."""
    columns = {name: set(found[0]) if found else set() for name, found in like.items()}
    return {
        name: [{k: v for k, v in row.items() if k in columns[name]} for row in rows[name]]
        for name in like
    }


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


def read_back(url: str) -> dict[str, Any]:
    with Tracker.from_url(url, create=False) as tracker:
        return snapshot(tracker)


def test_upgrade_keeps_every_row_and_makes_old_tickets_searchable(url: str, source: str) -> None:
    """From 0001 to HEAD: rows byte-identical, history replays, old text is found."""
    before_rows = at_revision(url, "0001", source)
    before = read_back(source)

    assert upgrade(url) == HEAD == "0007"

    after_rows = dump(url)
    assert projected(after_rows, before_rows) == before_rows
    assert after_rows == dump(source)
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


def test_upgrade_from_0002_keeps_every_row_and_adds_references(url: str, source: str) -> None:
    """From 0002 to HEAD: rows unchanged, references table empty, then references work."""
    before_rows = at_revision(url, "0002", source)
    assert "tk_ticket_references" not in before_rows
    before = read_back(source)

    assert upgrade(url) == HEAD

    after_rows = dump(url)
    assert after_rows["tk_ticket_references"] == []
    assert projected(after_rows, before_rows) == before_rows
    with Tracker.from_url(url, create=False) as tracker:
        assert snapshot(tracker) == before
        assert tracker.by_reference("crash:abc") is None
        ticket = tracker.open("Crash after upgrade", actor="crash", reference="crash:abc")
        assert ticket.key == f"TK-{len(TICKETS) + 1}"
        assert tracker.by_reference("crash:abc") == ticket
        with pytest.raises(DuplicateReference):
            tracker.open("Same crash", actor="crash", reference="crash:abc")
        assert tracker.open("Next", actor="bob").key == f"TK-{len(TICKETS) + 2}"


def test_upgrade_from_0003_puts_every_ticket_in_the_default_tenant(url: str, source: str) -> None:
    """From 0003 on: every row kept, tenant 'default', nothing redacted, scoping works."""
    before_rows = at_revision(url, "0003", source)
    assert "tenant" not in before_rows["tk_tickets"][0]
    assert "redacted_at" not in before_rows["tk_comments"][0]
    assert "tk_access_denials" not in before_rows
    before = read_back(source)

    assert upgrade(url) == HEAD

    after_rows = dump(url)
    assert projected(after_rows, before_rows) == before_rows
    assert len(after_rows["tk_tickets"]) == len(TICKETS)
    assert {(r["tenant"], r["organisation"]) for r in after_rows["tk_tickets"]} == {
        ("default", None)
    }
    assert {(r["redacted_at"], r["redacted_by"]) for r in after_rows["tk_comments"]} == {
        (None, None)
    }
    assert after_rows["tk_access_denials"] == []
    assert after_rows == dump(source)
    with Tracker.from_url(url, create=False) as tracker:
        after = snapshot(tracker)
        assert after == before
        assert {ticket.tenant for ticket, *_ in after.values()} == {"default"}
        for ticket, history, *_ in after.values():
            assert replay(history) == ticket
        store = tracker.store
        assert store.get_ticket("TK-1", tenant="default") == after["TK-1"][0]
        assert store.get_ticket("TK-1", tenant="acme") is None
        assert [t.key for t, _ in store.search("printer", limit=10, tenant="default")] == [
            "TK-1",
            "TK-2",
        ]
        assert store.search("printer", limit=10, tenant="acme") == []
        acme = tracker.open("Acme's printer", actor="ann@acme.example", tenant="acme")
        assert store.get_ticket(acme.key, tenant="acme") == acme
        assert store.get_ticket(acme.key, tenant="default") is None


def test_upgrade_from_0004_adds_empty_automation_tables_that_work(url: str, source: str) -> None:
    """From 0004 on: every row kept, the automation tables empty, then usable."""
    before_rows = at_revision(url, "0004", source)
    assert not {"tk_schedule", "tk_outbox", "tk_counters"} & set(before_rows)
    before = read_back(source)

    assert upgrade(url) == HEAD == "0007"

    after_rows = dump(url)
    assert projected(after_rows, before_rows) == before_rows
    assert after_rows["tk_schedule"] == after_rows["tk_outbox"] == after_rows["tk_counters"] == []
    assert after_rows == dump(source)
    with Tracker.from_url(url, create=False) as tracker:
        assert snapshot(tracker) == before
        store = tracker.store
        old = [tracker.get(f"TK-{n}") for n in range(1, len(TICKETS) + 1)]
        assert store.count_open(["alice", "nobody"], [old[0].status]) == {"alice": 1, "nobody": 0}
        later = START.replace(year=2027)
        with store.transaction() as tx:
            for n, ticket in enumerate(old):
                tx.set_due(ticket.id, later.replace(minute=n))
            assert tx.next_counter("route:default") == 0
        assert store.next_due() == later.replace(minute=0)
        with store.transaction() as tx:
            assert tx.claim_due(later.replace(minute=1), 10) == [old[0].id, old[1].id]
            assert [e.type for e in tx.events(old[0].id)] == [
                e.type for e in tracker.history("TK-1")
            ]
        assert store.due_count(later.replace(minute=59)) == len(TICKETS) - 2


def test_upgrade_from_0005_adds_an_empty_knowledge_base_that_works(url: str, source: str) -> None:
    """From 0005 on: every row kept, the knowledge base empty, then usable with the
    old tickets (articles written, searched, listed and linked to them)."""
    before_rows = at_revision(url, "0005", source)
    kb_tables = {"tk_articles", "tk_article_tags", "tk_article_revisions", "tk_solutions"}
    assert not kb_tables & set(before_rows)
    before = read_back(source)

    assert upgrade(url) == HEAD == "0007"

    after_rows = dump(url)
    assert projected(after_rows, before_rows) == before_rows
    assert [after_rows[name] for name in sorted(kb_tables)] == [[], [], [], []]
    assert after_rows == dump(source)
    with Tracker.from_url(url, create=False) as tracker:
        assert snapshot(tracker) == before
        kb = tracker.kb
        assert kb.articles() == []
        assert kb.search("printer") == []
        article = kb.create(
            "Printer jams every morning",
            "Open tray 2 and remove the torn sheet.",
            actor="alice",
            tags=["printer", "hardware"],
            status="published",
        )
        assert article.key == "KB-1"
        assert [h.article.key for h in kb.search("printer jams")] == ["KB-1"]
        assert [a.key for a in kb.articles(tag="printer")] == ["KB-1"]
        assert kb.link("TK-1", article.key, actor="alice") is not None
        assert kb.link("TK-2", article.key, actor="alice") is not None
        assert [s.ticket_key for s in kb.solved(article.key)] == ["TK-1", "TK-2"]
        assert [a.key for a in kb.solutions("TK-1")] == ["KB-1"]
        assert tracker.history("TK-1")[-1].type.value == "solution_linked"
        found = tracker.suggest("TK-1")
        assert [s.article.key for s in found.articles] == ["KB-1"]


def downgrade(url: str, revision: str) -> str | None:
    """Alembic's downgrade to ``revision`` (ticketkit itself never downgrades); the
    revision reached."""
    engine = sa.create_engine(url)
    try:
        with _migrate._migrating(engine) as conn:
            command.downgrade(_migrate._config(conn), revision)
        return current_revision(engine)
    finally:
        engine.dispose()


SEARCHES = ("printer", "exceeded", "quota mailbox", "papierstau", "grumpy", "snowman", "erledigt")


def hits(url: str) -> dict[str, list[tuple[str, float | None]]]:
    """Each of :data:`SEARCHES`' tickets and scores, best first.

    Without scores on MariaDB/MySQL: InnoDB's relevance counts every entry its index
    has held, and the copy's index never held the old title of the updated ticket.
    """
    with Tracker.from_url(url, create=False) as tracker:
        scored = make_url(url).get_backend_name() != "mysql"
        return {
            text: [(hit.ticket.key, hit.score if scored else None) for hit in tracker.search(text)]
            for text in SEARCHES
        }


def test_upgrade_from_0006_searches_the_old_tickets_as_before(url: str, source: str) -> None:
    """From 0006 to 0007 (stored search vectors on PostgreSQL, nothing elsewhere): every
    row kept, and the old tickets and comments are found with the scores of tickets
    written at 0007; down to 0006 and up again changes nothing either."""
    before_rows = at_revision(url, "0006", source)
    before = read_back(source)
    expected = hits(source)
    assert [key for key, _ in expected["printer"]] == ["TK-1", "TK-2"]
    assert all(expected.values()), expected

    assert upgrade(url) == HEAD == "0007"

    assert dump(url) == before_rows == dump(source)
    assert read_back(url) == before
    assert hits(url) == expected
    assert downgrade(url, "0006") == "0006"
    assert dump(url) == before_rows
    assert upgrade(url) == HEAD
    assert hits(url) == expected
    with Tracker.from_url(url, create=False) as tracker:
        tracker.comment("TK-5", "Frosty weather tomorrow", actor="alice")
        tracker.update("TK-1", actor="bob@example.com", title="Plotter jams daily")
        assert [hit.ticket.key for hit in tracker.search("frosty plotter")] == ["TK-1", "TK-5"]
