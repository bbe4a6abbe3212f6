"""The SQL store's knowledge base beyond the store contract.

The contract (``ticketkit._testing_kb``) says what every store does; these
tests check how the SQL store does it on SQLite, PostgreSQL and MariaDB: each
read uses its index at size (``EXPLAIN`` over 2,000 articles), a batch of
solutions is one statement, concurrent links of one article to one ticket
record it once, a failed transaction leaves the search index alone, the
largest texts are stored and searched, bad input is refused with nothing
stored, and the memory store ranks articles exactly as SQLite's FTS5 does.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from attrs import evolve

from databases import BACKENDS, fresh_database
from ticketkit import ValidationError
from ticketkit._model import Ticket
from ticketkit._testing_support import draft
from ticketkit._text import MAX_BODY
from ticketkit.kb import Article, ArticleStatus, Solution
from ticketkit.storage.memory import MemoryStore
from ticketkit.storage.sql import SQLStore, SQLTransaction, upgrade
from ticketkit.storage.sql import _kb as kb
from ticketkit.storage.sql._kb_search import (
    MYSQL_ARTICLE_TEXT,
    PG_ARTICLE_VECTOR,
    article_search_statement,
)
from ticketkit.storage.sql._schema import article_tags, articles, solutions

AT = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
PUBLISHED = [ArticleStatus.PUBLISHED]


class _Boom(Exception):
    pass


def article(title: str, body: str = "Body.", **changes: Any) -> Article:
    values: dict[str, Any] = {
        "id": 0,
        "title": title,
        "body": body,
        "status": ArticleStatus.PUBLISHED,
        "version": 1,
        "author": "alice",
        "created": AT,
        "updated_by": "alice",
        "updated": AT,
    }
    values.update(changes)
    return Article(**values)


def ticket_draft(n: int, tenant: str = "default") -> Ticket:
    return draft(title=f"Ticket {n}", tenant=tenant, reporter="customer@example.com", at=AT)


def make_tickets(store: SQLStore, count: int, tenant: str = "default") -> list[Ticket]:
    with store.transaction() as tx:
        assert isinstance(tx, SQLTransaction)
        return tx.create_tickets([ticket_draft(n, tenant) for n in range(count)], "KBT")


@pytest.fixture(scope="module", params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SQLStore]:
    """One database per backend for this module; each test keeps to a tenant of its own."""
    with fresh_database(request.param, tmp_path_factory.mktemp("kb")) as url:
        upgrade(url)
        store = SQLStore.from_url(url)
        try:
            yield store
        finally:
            store.close()


def titles(hits: list[tuple[Article, float]]) -> list[str]:
    return [a.title for a, _ in hits]


def found_soon(store: SQLStore, word: str) -> list[int]:
    """The ids search finds for ``word``; on MariaDB, once it finds any, within 5 s.

    A commit that overflows InnoDB's full-text cache (``innodb_ft_cache_size``,
    8 MB; one article of a million characters of distinct words does) has the
    cache merged by a background thread, and for about 0.1 s searches may miss
    that commit's words (measured: 1 of 15 such commits).
    """
    deadline = time.monotonic() + (5.0 if store.dialect == "mysql" else 0.0)
    while True:
        found = [a.id for a, _ in store.search_articles(word, limit=5)]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


class TestSearchBehaviour:
    def test_the_filter_is_part_of_the_search(self, store: SQLStore) -> None:
        """Thirty better matches in other statuses and tenants never crowd out the one kept."""
        crowd = [
            article("Zeppelin zeppelin zeppelin", "zeppelin " * 20, tenant="t-filter", status=s)
            for s in (ArticleStatus.DRAFT, ArticleStatus.ARCHIVED)
            for _ in range(10)
        ]
        crowd += [article("Zeppelin zeppelin", "zeppelin " * 20, tenant="t-other")] * 10
        with store.transaction() as tx:
            for a in crowd:
                tx.create_article(a)
            kept = tx.create_article(article("Hangar notes", "A zeppelin once.", tenant="t-filter"))
        hits = store.search_articles("zeppelin", limit=1, tenant="t-filter", statuses=PUBLISHED)
        assert [a.id for a, _ in hits] == [kept.id]
        assert len(store.search_articles("zeppelin", limit=100, tenant="t-filter")) == 21

    def test_failed_transaction_leaves_the_index_alone(self, store: SQLStore) -> None:
        """An article written or changed in a transaction that fails is searched as before."""
        with store.transaction() as tx:
            kept = tx.create_article(article("Marimba tuning", tenant="t-fail"))

        def fail() -> None:
            with store.transaction() as tx:
                tx.create_article(article("Xylophone tuning", tenant="t-fail"))
                tx.update_article(evolve(kept, version=2, title="Xylophone repair"), 1)
                raise _Boom

        with pytest.raises(_Boom):
            fail()
        assert store.search_articles("xylophone", limit=5, tenant="t-fail") == []
        assert titles(store.search_articles("marimba", limit=5, tenant="t-fail")) == [
            "Marimba tuning"
        ]

    def test_largest_texts_are_stored_and_found(self, store: SQLStore) -> None:
        """A body of MAX_BODY characters of distinct words is kept whole and searched.

        PostgreSQL indexes the first 100,000 characters of each text, so only a
        word early in the body is looked for.
        """
        rng = random.Random(5)
        letters = "abcdefghijklmnopqrstuvwxyz"
        body = " ".join("".join(rng.choices(letters, k=7)) for _ in range(MAX_BODY // 8))
        body = ("Quokka " + body)[:MAX_BODY]
        title = "Enormous " + "word " * 48
        tags = frozenset(f"tag{n:02d}-{'x' * 58}" for n in range(40))
        with store.transaction() as tx:
            made = tx.create_article(article(title.strip(), body, tags=tags, tenant="t-big"))
        assert store.get_article(made.id) == made
        assert store.article_revisions(made.id)[0].body == body
        assert found_soon(store, "quokka") == [made.id]
        assert [a.id for a in store.articles(tag=sorted(tags)[0])] == [made.id]

    def test_tag_filter_follows_edits(self, store: SQLStore) -> None:
        """An edit that changes the tags moves the article from one tag's listing to another's."""
        with store.transaction() as tx:
            made = tx.create_article(article("Tagged", tags=frozenset({"old-tag", "kept"})))
        with store.transaction() as tx:
            tx.update_article(evolve(made, version=2, tags=frozenset({"new-tag", "kept"})), 1)
        assert store.articles(tag="old-tag") == []
        assert [a.id for a in store.articles(tag="new-tag")] == [made.id]
        assert [a.id for a in store.articles(tag="kept")] == [made.id]
        assert [a.title for a, _ in store.search_articles("tag", limit=5)] == ["Tagged"]


class TestSolutionsInSQL:
    def test_a_duplicate_link_leaves_the_transaction_usable(self, store: SQLStore) -> None:
        """After a refused duplicate (which would abort a PostgreSQL transaction if it failed
        a statement), the same transaction goes on writing and commits."""
        (ticket,) = make_tickets(store, 1, tenant="t-dup")
        with store.transaction() as tx:
            made = tx.create_article(article("Linked once", tenant="t-dup"))
            link = Solution(ticket.id, ticket.key, made.id, "alice", AT, "t-dup")
            assert tx.add_solution(link)
        with store.transaction() as tx:
            assert not tx.add_solution(evolve(link, linked_by="bob"))
            later = tx.create_article(article("Written after", tenant="t-dup"))
            assert tx.add_solution(evolve(link, article_id=later.id))
        assert store.solutions(ticket_ids=[ticket.id]) == [
            link,
            evolve(link, article_id=later.id),
        ]

    def test_concurrent_links_are_recorded_once(self, store: SQLStore) -> None:
        """Eight transactions linking the same pair at once: one records it, seven are told no."""
        from ticketkit._testing_support import run_threads

        (ticket,) = make_tickets(store, 1, tenant="t-race")
        with store.transaction() as tx:
            made = tx.create_article(article("Raced", tenant="t-race"))
        results: list[bool] = []

        def link(i: int) -> None:
            with store.transaction() as tx:
                results.append(
                    tx.add_solution(Solution(ticket.id, ticket.key, made.id, f"agent{i}", AT))
                )

        run_threads(8, link)
        assert sorted(results) == [False] * 7 + [True]
        (stored,) = store.solutions(article_id=made.id)
        assert stored.linked_by.startswith("agent")

    def test_a_batch_of_tickets_is_one_statement(self, store: SQLStore) -> None:
        """solutions(ticket_ids=…) for ten tickets sends one SELECT, whatever it finds."""
        made = make_tickets(store, 10, tenant="t-batch")
        with store.transaction() as tx:
            answer = tx.create_article(article("Batch answer", tenant="t-batch"))
            for i, ticket in enumerate(made[::2]):
                tx.add_solution(
                    Solution(
                        ticket.id,
                        ticket.key,
                        answer.id,
                        "alice",
                        AT + timedelta(minutes=9 - i),
                        "t-batch",
                    )
                )
        sent: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            sent.append(statement)

        sa.event.listen(store.engine, "before_cursor_execute", record)
        try:
            found = store.solutions(ticket_ids=[t.id for t in made], tenant="t-batch")
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", record)
        assert [s.ticket_key for s in found] == [t.key for t in reversed(made[::2])]
        assert len([s for s in sent if "tk_solutions" in s]) == 1, sent
        assert not [s for s in sent if "tk_articles" in s], sent


class TestBadInput:
    def test_bad_values_are_refused_and_nothing_is_stored(self, store: SQLStore) -> None:
        """Each names the bad value; no article, revision or link is left behind."""
        before = store.articles(tenant="t-bad")
        attempts: list[tuple[Any, str]] = [
            (lambda tx: tx.create_article("not an article"), "takes an Article"),
            (lambda tx: tx.update_article({"id": 1}, 1), "takes an Article"),
            (lambda tx: tx.add_solution(("ticket", "article")), "takes a Solution"),
            (lambda tx: tx.remove_solution("1", 2), "ticket_id must be an int"),
            (lambda tx: tx.rename_in_articles("", "x", tenant="t-bad"), "non-empty person"),
        ]

        def write_then(attempt: Any) -> None:
            with store.transaction() as tx:
                tx.create_article(article("Must not stay", tenant="t-bad"))
                attempt(tx)

        for attempt, message in attempts:
            with pytest.raises(ValidationError, match=message):
                write_then(attempt)
        reads: list[tuple[Any, str]] = [
            (lambda: store.solutions(), "ticket_ids or article_id"),
            (lambda: store.solutions(ticket_ids=["1"]), "ticket_ids must be an int"),
            (lambda: store.solutions(article_id=1.5), "article_id must be an int"),
            (lambda: store.articles(limit=0), "from 1 to 1000"),
            (lambda: store.articles(after="KB-1"), "after must be an int"),
            (lambda: store.articles(statuses=["gone"]), "gone"),
            (lambda: store.search_articles("x", limit=5, statuses="published"), "statuses"),
        ]
        for read, message in reads:
            with pytest.raises(ValidationError, match=message):
                read()
        assert store.articles(tenant="t-bad") == before == []
        assert store.search_articles("stay", limit=5, tenant="t-bad") == []

    def test_ids_that_are_not_ids_find_nothing(self, store: SQLStore) -> None:
        """A key, a float or a bool given for an id is as absent as an unknown id."""
        for wrong in ("1", 1.0, True, None):
            assert store.get_article(wrong) is None  # type: ignore[arg-type]
            assert store.article_revisions(wrong) == []  # type: ignore[arg-type]

    def test_statuses_that_keep_nothing_find_nothing(self, store: SQLStore) -> None:
        """An empty list of statuses lists and searches nothing."""
        with store.transaction() as tx:
            tx.create_article(article("Nobody sees this", tenant="t-none"))
        assert store.articles(tenant="t-none", statuses=[]) == []
        assert store.search_articles("nobody", limit=5, tenant="t-none", statuses=[]) == []
        assert len(store.search_articles("nobody", limit=5, tenant="t-none")) == 1


@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_generated_search_column_holds_what_the_code_says(backend: str, tmp_path: Path) -> None:
    """The column migration 0006 generates is _kb_search's documented expression, and
    follows edits."""
    column, expression = {
        "postgresql": ("search_vector", PG_ARTICLE_VECTOR),
        "mysql": ("search_text", MYSQL_ARTICLE_TEXT),
    }[backend]
    with fresh_database(backend, tmp_path) as url:
        upgrade(url)
        store = SQLStore.from_url(url)
        try:
            with store.transaction() as tx:
                made = tx.create_article(
                    article(
                        "Wi-Fi drops",
                        "Ünïcode body; e-mail bob@example.com",
                        tags=frozenset({"net"}),
                    )
                )
            with store.transaction() as tx:
                tx.update_article(evolve(made, version=2, body="Changed body"), 1)
            with store.engine.connect() as conn:
                same, stored = conn.execute(
                    sa.text(f"SELECT {column} = ({expression}), {column} FROM tk_articles")
                ).one()
        finally:
            store.close()
    assert same
    assert "changed" in str(stored)
    assert "bob" not in str(stored)


# -- the reads at size ----------------------------------------------------------------------

SIZE = 2000
TENANTS = 10
RARE = "zeppelin"  # in 5 articles of 2,000


@pytest.fixture(scope="module", params=BACKENDS)
def crowded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SQLStore]:
    """2,000 articles over ten tenants and three statuses, 2,000 tickets, 2,000 solutions."""
    backend = str(request.param)
    with fresh_database(backend, tmp_path_factory.mktemp("crowded")) as url:
        upgrade(url)
        store = SQLStore.from_url(url)
        try:
            fill(store)
            analyze(store)
            yield store
        finally:
            store.close()


def analyze(store: SQLStore) -> None:
    """Bring the planner's statistics up to date, as the servers' housekeeping would."""
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            # VACUUM as well, as autovacuum would: rows written in bulk wait in the GIN
            # index's pending list, which the planner prices high until it is merged.
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(sa.text("VACUUM ANALYZE"))
        elif store.dialect == "mysql":
            for table in ("tk_articles", "tk_article_tags", "tk_solutions"):
                conn.execute(sa.text(f"ANALYZE TABLE {table}"))
        else:
            conn.execute(sa.text("ANALYZE"))
            conn.commit()


def fill(store: SQLStore) -> None:
    rng = random.Random(17)
    words = [f"w{n:03d}" for n in range(300)]
    statuses = list(ArticleStatus)
    rows = []
    for n in range(SIZE):
        text = " ".join(rng.choices(words, k=60)) + (f" {RARE}" if n % 400 == 7 else "")
        rows.append(
            {
                "tenant": f"t{n % TENANTS}",
                "title": f"Printer problem {n}",
                "body": text,
                "tags": sorted({f"tag{n % 50}", "printer"}),
                "status": statuses[n % 3].value,
                "version": 1,
                "author": "alice",
                "created": AT,
                "updated_by": "alice",
                "updated": AT,
                "source_ticket": None,
            }
        )
    with store.engine.begin() as conn:
        conn.execute(sa.insert(articles), rows)
        conn.execute(
            sa.insert(article_tags),
            [{"article_id": n + 1, "tag": t} for n, r in enumerate(rows) for t in r["tags"]],
        )
    made = make_tickets(store, SIZE)
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(solutions),
            [
                {
                    "ticket_id": t.id,
                    "article_id": 1 + (n * 7) % SIZE,
                    "tenant": "default",
                    "linked_by": "alice",
                    "linked_at": AT,
                }
                for n, t in enumerate(made)
            ],
        )


def plan(store: SQLStore, stmt: Any) -> str:
    """The database's plan for ``stmt`` (with its bound values), as one text."""
    with store.engine.connect() as conn:
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params: Any = compiled.params
        if compiled.positional:
            params = tuple(params[name] for name in compiled.positiontup or ())
        if conn.dialect.name == "sqlite":
            found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
        elif conn.dialect.name == "postgresql":
            # Forbid sequential scans so that only an expression that matches the index's
            # can avoid one (as tests/storage/test_search.py does for tickets).
            conn.exec_driver_sql("SET enable_seqscan = off")
            found = conn.exec_driver_sql(f"EXPLAIN {compiled}", params).all()
        else:
            found = conn.exec_driver_sql(f"EXPLAIN {compiled}", params).mappings().all()
            return "\n".join(f"{r['table']} {r['type']} {r['key']} {r['Extra']}" for r in found)
    return "\n".join(" | ".join(str(v) for v in row) for row in found)


class TestReadsAtSize:
    """Each read goes through its index with 2,000 articles in the table."""

    @pytest.mark.parametrize("scoped", [False, True])
    def test_search_uses_the_full_text_index(self, crowded: SQLStore, scoped: bool) -> None:
        """A rare word is found through the full-text index, with or without the tenant and
        status conditions in the statement. (For a word in nearly every article,
        PostgreSQL rightly reads the tenant's published articles through their own index
        instead.)"""
        tenant, statuses = ("t7", frozenset(PUBLISHED)) if scoped else (None, None)
        stmt = article_search_statement(crowded.dialect, RARE, 10, tenant, statuses)
        found = plan(crowded, stmt)
        if crowded.dialect == "sqlite":
            # One match (0:M), never a probe per article (0:=M), then primary-key lookups.
            assert "SCAN tk_article_search VIRTUAL TABLE INDEX 0:M" in found, found
            assert "=M" not in found, found
            assert "SEARCH tk_articles USING INTEGER PRIMARY KEY" in found, found
        elif crowded.dialect == "postgresql":
            assert "Bitmap Index Scan on ix_tk_articles_search" in found, found
            assert "Seq Scan" not in found, found
        else:
            assert "tk_articles fulltext ix_tk_articles_search" in found, found

    def test_search_at_size_keeps_to_tenant_and_status(self, crowded: SQLStore) -> None:
        """The rare word's articles of one tenant and status, and no others."""
        everywhere = crowded.search_articles(RARE, limit=100)
        assert len(everywhere) == 5
        kept = crowded.search_articles(RARE, limit=100, tenant="t7", statuses=PUBLISHED)
        assert kept == [(a, s) for a, s in everywhere if a.tenant == "t7" and a.status in PUBLISHED]
        assert kept

    def test_listing_reads_the_tenant_status_index(self, crowded: SQLStore) -> None:
        """A tenant's published articles in id order come from (tenant, status, id)."""
        stmt = kb.articles_statement(
            tenant="t3", statuses=frozenset(PUBLISHED), tag=None, after=0, limit=100
        )
        found = plan(crowded, stmt)
        assert "ix_tk_articles_tenant_status_id" in found, found
        low = found.lower()
        assert "seq scan" not in low, found
        listed = crowded.articles(tenant="t3", statuses=PUBLISHED, limit=1000)
        assert [a.id for a in listed] == sorted(a.id for a in listed)
        assert {(a.tenant, a.status) for a in listed} == {("t3", ArticleStatus.PUBLISHED)}
        assert len(listed) == len([n for n in range(SIZE) if n % 10 == 3 and n % 3 == 1])

    def test_tag_filter_reads_the_tag_index(self, crowded: SQLStore) -> None:
        """Articles with one tag come from (tag, article_id), not from a scan of the tags."""
        stmt = kb.articles_statement(tenant=None, statuses=None, tag="tag7", after=0, limit=100)
        found = plan(crowded, stmt)
        assert "ix_tk_article_tags_tag_article_id" in found, found
        assert "seq scan" not in found.lower(), found
        assert [a.id for a in crowded.articles(tag="tag7")] == list(range(8, SIZE + 1, 50))

    def test_solutions_read_their_keys(self, crowded: SQLStore) -> None:
        """A batch of tickets reads the primary key; an article's tickets its index."""
        by_tickets = plan(crowded, kb.solutions_statement(list(range(1, 11)), None, None))
        by_article = plan(crowded, kb.solutions_statement(None, 8, None))
        if crowded.dialect == "sqlite":
            assert "tk_solutions USING" in by_tickets, by_tickets
            assert "ix_tk_solutions_article_id" in by_article, by_article
        elif crowded.dialect == "postgresql":
            assert "pk_tk_solutions" in by_tickets, by_tickets
            assert "ix_tk_solutions_article_id" in by_article, by_article
        else:
            assert "tk_solutions range PRIMARY" in by_tickets, by_tickets
            assert "ix_tk_solutions_article_id" in by_article, by_article
        for found in (by_tickets, by_article):
            assert "seq scan" not in found.lower(), found
            assert "SCAN tk_solutions" not in found, found
        assert len(crowded.solutions(ticket_ids=list(range(1, 11)))) == 10


# -- the memory store as the reference ---------------------------------------------------


def corpus(store: MemoryStore | SQLStore, seed: int) -> None:
    """Random articles, edited, written in the same order to any store."""
    rng = random.Random(seed)
    vocabulary = [f"v{n:03d}y" for n in range(50)]

    def text(count: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(count))

    made = []
    with store.transaction() as tx:
        for _ in range(30):
            tags = frozenset(rng.sample(vocabulary, rng.randint(0, 3)))
            made.append(tx.create_article(article(text(4), text(rng.randint(5, 30)), tags=tags)))
    for i, a in enumerate(made[::4]):
        with store.transaction() as tx:
            changed = evolve(a, version=2, title=text(3))
            if i % 2:
                changed = evolve(changed, body=text(8), tags=frozenset({rng.choice(vocabulary)}))
            tx.update_article(changed, 1)


def ranking(store: MemoryStore | SQLStore, text: str) -> list[tuple[int, float]]:
    return [(a.id, score) for a, score in store.search_articles(text, limit=100)]


def same_ranking(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> bool:
    """The same articles with the same scores (to rounding), each list best first."""
    assert dict(got) == pytest.approx(dict(want))
    for hits in (got, want):
        scores = [score for _, score in hits]
        assert all(a >= b - 1e-9 for a, b in itertools.pairwise(scores)), hits
    return len(got) == len(want)


def test_memory_ranks_articles_as_sqlite_fts5(tmp_path: Path) -> None:
    """The memory store's BM25 over title, body and tags gives SQLite's scores, in order."""
    memory = MemoryStore()
    corpus(memory, seed=23)
    with fresh_database("sqlite", tmp_path) as url:
        upgrade(url)
        sqlite = SQLStore.from_url(url)
        try:
            corpus(sqlite, seed=23)
            for text in ("v001y", "v002y v003y", "v010y v011y v012y v013y", "V020Y", "v049y v000y"):
                assert same_ranking(ranking(memory, text), ranking(sqlite, text)), text
                assert ranking(sqlite, text), text
        finally:
            sqlite.close()
