"""Full-text search beyond the store contract: input checks, index use, every write path.

The contract (``ticketkit.testing``, section "full-text search") says what every
store finds; these tests check how the SQL store gets there: each dialect's
statement uses its index (``EXPLAIN``), the bulk writes and the importer keep the
index current, the largest texts are accepted, and the memory store ranks
exactly as SQLite's FTS5 does.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from attrs import evolve

from databases import BACKENDS, fresh_database
from ticketkit import FrozenClock, Priority, SearchHit, Tracker, ValidationError
from ticketkit._model import Comment, Ticket
from ticketkit._text import MAX_BODY
from ticketkit.importers import ImportedComment, ImportRecord
from ticketkit.storage.memory import MemoryStore
from ticketkit.storage.sql import SQLStore, _migrate
from ticketkit.storage.sql._schema import metadata
from ticketkit.storage.sql._search import (
    PG_COMMENT_VECTOR,
    PG_TICKET_VECTOR,
    SEARCH_COLUMNS,
    SEARCH_COLUMNS_BY_DIALECT,
    SEARCH_INDEXES,
    TICKET_SEARCH_INDEXES,
    include_name,
    search_statement,
)

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=BACKENDS)
def tracker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tracker]:
    """One database per backend, shared by this module's tests (each adds its own words)."""
    with fresh_database(request.param, tmp_path_factory.mktemp("search")) as url:
        tracker = Tracker.from_url(url, clock=FrozenClock(START))
        tracker.open(title="Printer jams", description="The printer jams daily", actor="bob")
        tracker.open(title="Mailbox full", actor="bob")
        tracker.comment("TK-2", "Spooler blocks the printer", actor="alice")
        try:
            yield tracker
        finally:
            tracker.close()


def found(tracker: Tracker, text: str) -> list[str]:
    return [hit.ticket.key for hit in tracker.search(text, limit=100)]


class TestSearchArguments:
    @pytest.mark.parametrize(
        ("text", "limit", "field", "message"),
        [
            ("", 20, "text", "must not be empty"),
            ("   \n\t", 20, "text", "must not be empty"),
            (None, 20, "text", "must be a string, got NoneType"),
            (b"printer", 20, "text", "must be a string, got bytes"),
            (["printer"], 20, "text", "must be a string, got list"),
            ("x" * 1001, 20, "text", "1001 characters long; the limit is 1000"),
            ("printer", 0, "limit", "from 1 to 100, got 0"),
            ("printer", 101, "limit", "from 1 to 100, got 101"),
            ("printer", -5, "limit", "got -5"),
            ("printer", True, "limit", "got True"),
            ("printer", "5", "limit", "got '5'"),
            ("printer", 2.0, "limit", "got 2.0"),
            ("printer", None, "limit", "got None"),
        ],
    )
    def test_bad_arguments_are_refused(
        self, text: Any, limit: Any, field: str, message: str
    ) -> None:
        """Empty or non-string text, too long a text and a limit outside 1..100 say so."""
        tracker = Tracker.in_memory()
        with pytest.raises(ValidationError, match=message) as info:
            tracker.search(text, limit=limit)
        assert info.value.field == field

    def test_limits_at_the_edges_are_fine(self) -> None:
        """A 1000-character text and limits 1 and 100 are accepted."""
        tracker = Tracker.in_memory()
        tracker.open(title="Printer jams", actor="bob")
        assert tracker.search(("printer " * 200)[:1000], limit=100)[0].ticket.key == "TK-1"
        assert len(tracker.search("printer", limit=1)) == 1

    def test_hits_are_frozen_search_hits(self) -> None:
        """A hit is an immutable SearchHit exported from ticketkit."""
        tracker = Tracker.in_memory()
        tracker.open(title="Printer jams", actor="bob")
        (hit,) = tracker.search("printer")
        assert isinstance(hit, SearchHit)
        with pytest.raises(AttributeError):
            hit.score = 2.0  # type: ignore[misc]


class TestIndexUse:
    @pytest.mark.parametrize("tenant", [None, "default"])
    def test_statement_uses_the_index(self, tracker: Tracker, tenant: str | None) -> None:
        """EXPLAIN shows each dialect's full-text index, never a scan of the text; on
        PostgreSQL the stored vectors are read, never recomputed from the text."""
        store = tracker.store
        assert isinstance(store, SQLStore)
        stmt = search_statement(store.dialect, "printer spooler", 20, tenant)
        assert stmt is not None
        with store.engine.connect() as conn:
            compiled = stmt.compile(dialect=conn.dialect)
            params: Any = compiled.params
            if compiled.positional:
                params = tuple(params[name] for name in compiled.positiontup or ())
            if store.dialect == "sqlite":
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
                details = " | ".join(str(row[-1]) for row in plan)
                assert "SCAN tk_search VIRTUAL TABLE INDEX" in details, details
            elif store.dialect == "postgresql":
                # Tiny tables make any plan cheap; forbid sequential scans so that only a
                # condition the index can serve avoids one. VERBOSE shows each scan's
                # output, where ts_rank is computed.
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = conn.exec_driver_sql(f"EXPLAIN VERBOSE {compiled}", params).scalars()
                details = "\n".join(plan)
                assert "Seq Scan" not in details, details
                if tenant is None:
                    # (With a tenant, these tiny tables are read through the tenant's
                    # indexes instead, the match a filter on the stored vector.)
                    for index in TICKET_SEARCH_INDEXES:
                        assert f"Bitmap Index Scan on {index}" in details, details
                for table in ("tk_tickets", "tk_comments"):
                    column = rf"{table}(_\d+)?\.search_vector"  # the planner may alias it
                    assert re.search(rf"Output: .*ts_rank\({column}, ", details), details
                    assert re.search(rf"(Recheck Cond|Filter): \({column} @@ ", details), details
                assert "to_tsvector" not in details, details
            else:
                plan = conn.exec_driver_sql(f"EXPLAIN {compiled}", params).mappings().all()
                # (With a tenant, tk_tickets is also read by tenant, to join and scope.)
                access = {(row["table"], row["type"], row["key"]) for row in plan}
                for table, index in zip(
                    ("tk_tickets", "tk_comments"), TICKET_SEARCH_INDEXES, strict=True
                ):
                    assert (table, "fulltext", index) in access, plan

    def test_ticket_search_indexes_are_on_the_searched_columns(self, tracker: Tracker) -> None:
        """The ticket and comment indexes are GIN indexes on search_vector on PostgreSQL,
        FULLTEXT indexes on the folded text on MariaDB/MySQL; SQLite has none."""
        store = tracker.store
        assert isinstance(store, SQLStore)
        with store.engine.connect() as conn:
            if store.dialect == "postgresql":
                found = dict(
                    conn.execute(
                        sa.text(
                            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN :names"
                        ).bindparams(sa.bindparam("names", expanding=True)),
                        {"names": list(TICKET_SEARCH_INDEXES)},
                    ).all()
                )
                assert found == {
                    name: f"CREATE INDEX {name} ON public.{table} USING gin (search_vector)"
                    for name, table in zip(
                        TICKET_SEARCH_INDEXES, ("tk_tickets", "tk_comments"), strict=True
                    )
                }
            else:
                inspector = sa.inspect(conn)
                found = {
                    i["name"]: i["column_names"]
                    for table in ("tk_tickets", "tk_comments")
                    for i in inspector.get_indexes(table)
                    if i["name"] in TICKET_SEARCH_INDEXES
                }
                assert found == (
                    {}
                    if store.dialect == "sqlite"
                    else {
                        "ix_tk_tickets_search": ["title_folded", "description_folded"],
                        "ix_tk_comments_search": ["search_body"],
                    }
                )

    def test_search_structures_are_all_the_metadata_leaves_out(self, tracker: Tracker) -> None:
        """Without the filter, the schema comparison sees the search structures and nothing else;
        with it, nothing."""
        store = tracker.store
        assert isinstance(store, SQLStore)
        with store.engine.connect() as conn:
            opts: dict[str, Any] = {"version_table": _migrate.VERSION_TABLE}
            unfiltered = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
            opts["include_name"] = include_name
            filtered = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
        assert filtered == []
        seen = set()
        for diff in unfiltered:
            if diff[0] == "remove_column":
                seen.add((diff[0], f"{diff[2]}.{diff[3].name}"))
            else:
                seen.add((diff[0], diff[1].name))
        if store.dialect == "sqlite":
            assert {name for _, name in seen} == {
                f"{table}{part}"
                for table in ("tk_search", "tk_article_search")
                for part in ("", "_config", "_content", "_data", "_docsize", "_idx")
            }
            assert {kind for kind, _ in seen} == {"remove_table"}
            assert SEARCH_COLUMNS_BY_DIALECT["sqlite"] == ()
        else:
            columns = SEARCH_COLUMNS_BY_DIALECT[store.dialect]
            assert set(columns) <= set(SEARCH_COLUMNS)
            expected = {("remove_index", name) for name in SEARCH_INDEXES}
            expected |= {("remove_column", f"{table}.{column}") for table, column in columns}
            assert seen == expected


class TestWritePaths:
    def test_bulk_writes_are_searchable(self, tracker: Tracker) -> None:
        """The SQL store's bulk methods keep the index current, in their transaction."""
        store = tracker.store
        assert isinstance(store, SQLStore)
        draft = Ticket(
            id=0,
            key="",
            title="Bulkhead leaking",
            description="Seawater everywhere",
            status="new",
            priority=Priority.P3,
            reporter="bob",
            queue="default",
            created=START,
            updated=START,
            version=1,
        )
        with store.transaction() as tx:
            made = tx.create_tickets([draft, evolve(draft, title="Bulkhead painted")], "BLK")
            tx.add_comments(
                [Comment(0, made[1].id, made[1].key, "alice", "Lighthouse keeper approves", START)]
            )
        assert found(tracker, "bulkhead") == ["BLK-1", "BLK-2"]
        assert found(tracker, "lighthouse") == ["BLK-2"]
        assert found(tracker, "seawater") == ["BLK-1", "BLK-2"]

    def test_imported_tickets_are_searchable(self, tracker: Tracker) -> None:
        """Tickets and comments brought in by the importer are found."""
        records = [
            ImportRecord(
                title=f"Imported gearbox {n}",
                reporter="legacy",
                created=START,
                description="Migrated from the old tracker",
                comments=[ImportedComment("eve", "Flywheel wobbles", START, internal=True)]
                if n == 2
                else [],
            )
            for n in range(3)
        ]
        report = tracker.import_tickets(records)
        assert report.imported == 3
        assert len(found(tracker, "gearbox")) == 3
        (key,) = found(tracker, "flywheel")
        assert tracker.get(key).title == "Imported gearbox 2"

    def test_failed_transaction_leaves_the_index_alone(self, tracker: Tracker) -> None:
        """A ticket written in a transaction that fails is never found."""
        store = tracker.store

        class Boom(Exception):
            pass

        draft = evolve(tracker.get("TK-1"), id=0, key="", title="Xylophone tuning")

        def fail() -> None:
            with store.transaction() as tx:
                tx.create_ticket(draft, "TK")
                raise Boom

        with pytest.raises(Boom):
            fail()
        assert found(tracker, "xylophone") == []

    def test_largest_texts_are_stored_and_found(self, tracker: Tracker) -> None:
        """A description of MAX_BODY characters of distinct words is accepted and searched.

        PostgreSQL indexes the first 100,000 characters of each text (a tsvector
        holds at most 1 MB), so only the words early in a long text are tested.
        """
        rng = random.Random(7)
        letters = "abcdefghijklmnopqrstuvwxyz"
        body = " ".join("".join(rng.choices(letters, k=7)) for _ in range(MAX_BODY // 8))
        body = ("Quokka " + body)[:MAX_BODY]
        ticket = tracker.open(title="Enormous", description=body, actor="bob")
        tracker.comment(ticket.key, "Wombat " + body[: MAX_BODY - 7], actor="alice")
        assert tracker.get(ticket.key).description == body
        assert found(tracker, "quokka") == [ticket.key]
        assert found(tracker, "wombat") == [ticket.key]


def test_only_redaction_purges_the_sqlite_index(tmp_path: Path) -> None:
    """SQLite runs FTS5 'optimize' in a redaction's transaction, never for normal writes."""
    from sqlalchemy import event

    tracker = Tracker.from_url(f"sqlite:///{tmp_path / 'purge.db'}")

    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    engine = tracker.store.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", record)
    try:
        ticket = tracker.open("Numbat", "with a zebrafinch", actor="bob")
        comment = tracker.comment(ticket.key, "zebrafinch again", actor="bob")
        tracker.update(ticket.key, actor="bob", description="plain")
        assert not [s for s in sent if "optimize" in s]
        with tracker.store.transaction() as tx:
            tx.update_comment(evolve(comment, body=""))
        assert len([s for s in sent if "optimize" in s]) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert found(tracker, "zebrafinch") == []
    tracker.close()


def _corpus(store: MemoryStore | SQLStore, seed: int) -> None:
    """Random tickets and comments, written in the same order to any store."""
    rng = random.Random(seed)
    vocabulary = [f"w{n:03d}x" for n in range(60)]

    def text(count: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(count))

    base = Ticket(0, "", "x", "", "new", Priority.P3, "bob", "default", START, START, 1)
    tickets = []
    with store.transaction() as tx:
        for _ in range(25):
            made = tx.create_ticket(evolve(base, title=text(3), description=text(12)), "TK")
            tickets.append(made)
    for _ in range(40):
        ticket = rng.choice(tickets)
        with store.transaction() as tx:
            tx.add_comment(Comment(0, ticket.id, ticket.key, "al", text(rng.randint(1, 9)), START))
    for i, ticket in enumerate(tickets[::3]):
        with store.transaction() as tx:
            current = tx.get_ticket(ticket.id)
            assert current is not None
            changed = evolve(current, version=current.version + 1, title=text(3))
            if i % 2:
                changed = evolve(changed, description=text(5))
            tx.update_ticket(changed, current.version)


def test_stored_vectors_hold_what_the_code_says(tmp_path: Path) -> None:
    """On PostgreSQL each ticket's and comment's search_vector is PG_TICKET_VECTOR or
    PG_COMMENT_VECTOR of its text as it is now, after creates, updates, comments, bulk
    writes and a redaction: ranking on the columns ranks as on the expressions."""
    with fresh_database("postgresql", tmp_path) as url:
        store = SQLStore.from_url(url)
        try:
            _migrate.upgrade(store.engine)
            _corpus(store, seed=5)
            base = Ticket(0, "", "x", "", "new", Priority.P3, "bob", "default", START, START, 1)
            draft = evolve(base, title="Wi-Fi drops", description="mail bob@example.com")
            with store.transaction() as tx:
                made = tx.create_tickets([draft, evolve(draft, title="C:\\temp full")], "BLK")
                (comment,) = tx.add_comments(
                    [Comment(0, made[0].id, made[0].key, "al", "Call bob@example.com", START)]
                )
            with store.transaction() as tx:
                tx.update_comment(evolve(comment, body="[redacted] wi-fi"))
            with store.engine.connect() as conn:
                # (count, not bool_and: a NULL vector would compare as NULL, and be skipped)
                same = {
                    table: conn.execute(
                        sa.text(
                            f"SELECT count(*) FILTER (WHERE search_vector = ({vector})), "
                            f"count(*) FROM {table}"
                        )
                    ).one()
                    for table, vector in (
                        ("tk_tickets", PG_TICKET_VECTOR),
                        ("tk_comments", PG_COMMENT_VECTOR),
                    )
                }
                redacted = conn.execute(
                    sa.text("SELECT search_vector::text FROM tk_comments WHERE id = :id"),
                    {"id": comment.id},
                ).scalar()
        finally:
            store.close()
    assert same == {"tk_tickets": (27, 27), "tk_comments": (41, 41)}
    assert redacted == "'fi':3 'redacted':1 'wi':2"


def _ranking(store: MemoryStore | SQLStore, text: str) -> list[tuple[str, float]]:
    return [(t.key, score) for t, score in store.search(text, limit=100)]


def same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> bool:
    """The same tickets with the same scores (to rounding), each list best first.

    Tickets whose scores differ only by rounding may come in either order.
    """
    assert dict(got) == pytest.approx(dict(want))
    for hits in (got, want):
        scores = [score for _, score in hits]
        assert all(a >= b - 1e-9 for a, b in itertools.pairwise(scores)), hits
    return len(got) == len(want)


class TestMemoryReference:
    QUERIES = ("w001x", "w002x w003x", "w010x w011x w012x w013x", "W020X w020x", "w059x w000x")

    def test_incremental_index_equals_a_fresh_one(self) -> None:
        """After updates and comments, the memory index ranks as one built from scratch."""
        changed = MemoryStore()
        _corpus(changed, seed=3)
        fresh = MemoryStore()
        with fresh.transaction() as tx:
            for n in range(1, 26):
                ticket = changed.get_ticket(n)
                assert ticket is not None
                tx.create_ticket(evolve(ticket, id=0, key=""), "TK")
        with fresh.transaction() as tx:
            for n in range(1, 26):
                for comment in changed.comments(n):
                    tx.add_comment(evolve(comment, id=0))
        for text in self.QUERIES:
            assert same_ranking(_ranking(changed, text), _ranking(fresh, text)), text

    def test_memory_ranks_as_sqlite_fts5(self, tmp_path: Path) -> None:
        """The memory store's BM25 gives SQLite's scores, in SQLite's order."""
        memory = MemoryStore()
        _corpus(memory, seed=11)
        with fresh_database("sqlite", tmp_path) as url:
            sqlite = SQLStore.from_url(url)
            try:
                _migrate.upgrade(sqlite.engine)
                _corpus(sqlite, seed=11)
                for text in self.QUERIES:
                    assert same_ranking(_ranking(memory, text), _ranking(sqlite, text)), text
            finally:
                sqlite.close()
