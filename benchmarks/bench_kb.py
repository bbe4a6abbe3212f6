"""The knowledge base in the store: article search at 2,000 articles, and a batch of solutions.

Usage::

    python benchmarks/bench_kb.py                       # SQLite (and the memory store)
    python benchmarks/bench_kb.py --articles 20000      # more articles
    python benchmarks/bench_kb.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test

The store is filled with ``--articles`` articles (default 2,000): copies of the
61 hand-written articles of ``data/kb_eval.json`` with their numbers changed,
two thirds published and the rest drafts or archived, in two tenants (nine in
ten in ``default``), each written in its own transaction as ``tracker.kb``
does (article, first revision, tags and search index). Then 2,000 tickets,
each linked as solved by one or two articles.

Measured, each over 500 calls on a warm store:

``search_articles``
    ``default``'s published articles, limit 10, for the words ``Tracker.suggest``
    sends for each of the set's 266 tickets (``query_text``: up to 48
    distinctive words of its title and description), and for its title alone.
``solutions(ticket_ids=…)``
    ten random tickets at once, as suggestions ask for the tickets most like a
    new one; next to ten calls of one ticket each.

Prints a Markdown table: median and 95th percentile per call, in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_databases import server_database
from kb_eval import EvalSet, load

from ticketkit._model import Ticket
from ticketkit._testing_support import draft as new_ticket
from ticketkit.kb import Article, ArticleStatus, Solution
from ticketkit.kb._suggest import query_text
from ticketkit.storage import Store
from ticketkit.storage.memory import MemoryStore
from ticketkit.storage.sql import SQLStore, upgrade

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CALLS = 500
TICKETS = 2000
PUBLISHED = [ArticleStatus.PUBLISHED]
_NUMBER = re.compile(r"\d+")


@contextmanager
def _store(kind: str, tmp: Path) -> Iterator[Store]:
    """A new, empty store: ``memory``, ``sqlite`` or a server URL."""
    if kind == "memory":
        yield MemoryStore()
        return
    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}"
        upgrade(url)
        store = SQLStore.from_url(url)
        try:
            yield store
        finally:
            store.close()
        return
    with server_database(kind) as url:
        upgrade(url)
        store = SQLStore.from_url(url)
        try:
            yield store
        finally:
            store.close()


def _renumbered(text: str, rng: random.Random) -> str:
    return _NUMBER.sub(lambda _: str(rng.randrange(1, 9999)), text)


def fill(store: Store, data: EvalSet, count: int) -> tuple[float, list[Ticket]]:
    """``count`` articles and 2,000 tickets with their solutions; seconds per article written."""
    rng = random.Random(3)
    statuses = [ArticleStatus.PUBLISHED] * 4 + [ArticleStatus.DRAFT, ArticleStatus.ARCHIVED]
    ids = []
    start = time.perf_counter()
    for n in range(count):
        source = data.articles[n % len(data.articles)]
        title = source.title if n < len(data.articles) else f"{source.title} ({n})"
        draft = Article(
            id=0,
            title=title[:255],
            body=_renumbered(source.body, rng),
            status=statuses[n % len(statuses)] if n >= len(data.articles) else statuses[0],
            version=1,
            author="kb@example.com",
            created=AT,
            updated_by="kb@example.com",
            updated=AT,
            tags=frozenset(source.tags),
            tenant="other" if n % 10 == 9 else "default",
        )
        with store.transaction() as tx:
            ids.append(tx.create_article(draft, note="first draft").id)
    per_article = (time.perf_counter() - start) / count
    tickets = []
    with store.transaction() as tx:
        for n in range(TICKETS):
            draft_ticket = new_ticket(
                title=f"Ticket {n}",
                tenant="default",
                reporter="customer@example.com",
                at=AT,
                status="resolved",
            )
            tickets.append(tx.create_ticket(draft_ticket, "TK"))
    with store.transaction() as tx:
        for n, ticket in enumerate(tickets):
            for article_id in rng.sample(ids, 1 + n % 2):
                at = AT + timedelta(seconds=n)
                tx.add_solution(Solution(ticket.id, ticket.key, article_id, "agent", at))
    return per_article, tickets


def timed(calls: list[Callable[[], Any]]) -> tuple[float, float]:
    """Median and 95th percentile of the calls, in milliseconds."""
    times = []
    for call in calls:
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def measure(store: Store, data: EvalSet, tickets: list[Ticket]) -> dict[str, tuple[float, float]]:
    rng = random.Random(5)
    long_queries = [query_text(t.title, t.description) for t in data.tickets]
    short_queries = [query_text(t.title) for t in data.tickets]

    def search(text: str) -> Callable[[], Any]:
        return lambda: store.search_articles(text, limit=10, tenant="default", statuses=PUBLISHED)

    batches = [[t.id for t in rng.sample(tickets, 10)] for _ in range(CALLS)]

    def one_by_one(ids: list[int]) -> Callable[[], Any]:
        return lambda: [store.solutions(ticket_ids=[i], tenant="default") for i in ids]

    for text in long_queries[:20]:  # warm the caches (statements, pages)
        search(text)()
    return {
        "search_articles, suggest's words (up to 48)": timed(
            [search(rng.choice(long_queries)) for _ in range(CALLS)]
        ),
        "search_articles, the ticket's title": timed(
            [search(rng.choice(short_queries)) for _ in range(CALLS)]
        ),
        "solutions(ticket_ids=10 ids), one call": timed(
            [lambda ids=ids: store.solutions(ticket_ids=ids, tenant="default") for ids in batches]
        ),
        "solutions for 10 tickets, 10 calls of one": timed([one_by_one(ids) for ids in batches]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a database URL instead of SQLite and memory")
    parser.add_argument("--articles", type=int, default=2000, help="articles in the store")
    args = parser.parse_args(argv)
    data = load()
    kinds = [args.url] if args.url else ["sqlite", "memory"]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for kind in kinds:
            name = kind.split(":", 1)[0].split("+", 1)[0]
            with _store(kind, Path(directory)) as store:
                per_article, tickets = fill(store, data, args.articles)
                results[name] = measure(store, data, tickets)
                print(f"{name}: wrote {args.articles:,} articles, {per_article * 1000:.2f} ms each")
    names = list(results)
    print(f"\n{args.articles:,} articles, {TICKETS:,} tickets; median / p95 of {CALLS} calls\n")
    print("| operation | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for operation in results[names[0]]:
        cells = [
            f"{results[n][operation][0]:.2f} / {results[n][operation][1]:.2f} ms" for n in names
        ]
        print(f"| {operation} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
