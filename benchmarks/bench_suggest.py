"""How good and how fast ``Tracker.suggest`` is, on the hand-written evaluation set.

The set (``benchmarks/data/kb_eval.json``, see its README) holds published
knowledge-base articles and tickets labelled with the article that solves
them, with duplicates and tickets no article solves. Two protocols:

cold
    Every article is published; every ticket is opened in id order; nothing is
    linked. Each labelled ticket is asked for 3 articles: this is the text
    match alone.
history
    The labelled tickets are split by id: the first half are the past (opened,
    resolved, and linked to their article, as agents do), the second half are
    new tickets, asked for 3 articles. The same new tickets are also ranked by
    text alone (``use_tickets=False``) to show what the past adds.

Metrics, over the tickets asked (each has exactly one right article):

- ``hit@1`` and ``hit@3``: the share of tickets whose right article is first,
  or among the first three (also called success@k or recall@k);
- ``precision@3``: right articles among the first three, divided by three
  (the standard definition; with one right article per ticket it is at most
  1/3, and equals ``hit@3 / 3``);
- ``MRR``: the mean of 1/rank of the right article (0 when it is not in the
  first 10).

Duplicates: for each ticket labelled ``duplicate_of`` an earlier one, is the
earlier one among the 5 similar tickets, and is it flagged
``likely_duplicate``; and how many flags, over all tickets, point at a ticket
that is not a labelled duplicate pair.

Latency: the median and 95th percentile of one ``suggest`` call, on the set
and on a store grown to ``--scale`` tickets (copies of the set's texts with
numbers changed, so the words' frequencies stay realistic).

    python benchmarks/bench_suggest.py                      # memory and SQLite
    python benchmarks/bench_suggest.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/bench_suggest.py --scale 20000        # latency with 20,000 tickets
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_databases import server_database
from kb_eval import EvalSet, EvalTicket, load

from ticketkit import Tracker
from ticketkit.kb import Suggestions, suggest


@dataclass
class Ranking:
    """Where the right article came in each ticket's suggestions (None: not in the top 10)."""

    ranks: list[int | None]

    def hit(self, k: int) -> float:
        return sum(1 for r in self.ranks if r is not None and r <= k) / len(self.ranks)

    def precision(self, k: int) -> float:
        return self.hit(k) / k

    def mrr(self) -> float:
        return sum(1 / r for r in self.ranks if r is not None) / len(self.ranks)


def _rank(found: Suggestions, right: str) -> int | None:
    for i, s in enumerate(found.articles, start=1):
        if s.article.key == right:
            return i
    return None


@contextmanager
def _tracker(kind: str, tmp: Path) -> Iterator[Tracker]:
    """A new, empty tracker: ``memory``, ``sqlite`` or a server URL."""
    if kind == "memory":
        with Tracker.in_memory() as tracker:
            yield tracker
    elif kind == "sqlite":
        with Tracker.from_url(f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}") as tracker:
            yield tracker
    else:
        with server_database(kind) as url, Tracker.from_url(url) as tracker:
            yield tracker


def _publish(tracker: Tracker, data: EvalSet) -> dict[str, str]:
    keys = {}
    for article in data.articles:
        made = tracker.kb.create(
            article.title, article.body, actor="kb", tags=article.tags, status="published"
        )
        keys[article.id] = made.key
    return keys


def _open(tracker: Tracker, tickets: Iterable[EvalTicket]) -> dict[str, str]:
    return {
        t.id: tracker.open(
            title=t.title, description=t.description, actor=f"{t.id}@example.com"
        ).key
        for t in tickets
    }


def _ask(tracker: Tracker, key: str, *, use_tickets: bool = True) -> Suggestions:
    ticket = tracker.get(key)
    return suggest(
        tracker,
        title=ticket.title,
        description=ticket.description,
        ticket=ticket,
        tenant=ticket.tenant,
        articles=10,
        tickets=5,
        use_tickets=use_tickets,
    )


def cold(tracker: Tracker, data: EvalSet) -> tuple[Ranking, dict[str, float]]:
    articles = _publish(tracker, data)
    keys = _open(tracker, data.tickets)
    ranks = [_rank(_ask(tracker, keys[t.id]), articles[t.article]) for t in data.labelled()]  # type: ignore[index]
    return Ranking(ranks), duplicates(tracker, data, keys)


def history(tracker: Tracker, data: EvalSet) -> tuple[Ranking, Ranking]:
    articles = _publish(tracker, data)
    labelled = list(data.labelled())
    past, new = labelled[: len(labelled) // 2], labelled[len(labelled) // 2 :]
    keys = _open(tracker, data.tickets)
    for t in past:
        tracker.transition(keys[t.id], "resolve", actor="agent")
        tracker.kb.link(keys[t.id], articles[t.article], actor="agent")  # type: ignore[index]
    with_past = [_rank(_ask(tracker, keys[t.id]), articles[t.article]) for t in new]  # type: ignore[index]
    text_only = [
        _rank(_ask(tracker, keys[t.id], use_tickets=False), articles[t.article])  # type: ignore[index]
        for t in new
    ]
    return Ranking(with_past), Ranking(text_only)


def duplicates(tracker: Tracker, data: EvalSet, keys: dict[str, str]) -> dict[str, float]:
    pairs = {(keys[t.id], keys[t.duplicate_of]) for t in data.duplicates()}  # type: ignore[index]
    pairs |= {(b, a) for a, b in pairs}
    found = flagged = 0
    for t in data.duplicates():
        similar = _ask(tracker, keys[t.id]).tickets
        original = keys[t.duplicate_of]  # type: ignore[index]
        found += any(s.ticket.key == original for s in similar)
        flagged += any(s.ticket.key == original and s.likely_duplicate for s in similar)
    flags = wrong = 0
    for key in keys.values():
        for s in _ask(tracker, key).tickets:
            if s.likely_duplicate:
                flags += 1
                wrong += (key, s.ticket.key) not in pairs
    total = len(data.duplicates())
    return {
        "pairs": total,
        "found@5": found / total,
        "flagged": flagged / total,
        "flags": flags,
        "wrong flags": wrong,
    }


def latency(tracker: Tracker, keys: Sequence[str], repeat: int = 200) -> tuple[float, float]:
    chosen = random.Random(7).choices(list(keys), k=repeat)
    times = []
    for key in chosen:
        start = time.perf_counter()
        tracker.suggest(key)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def grow(tracker: Tracker, data: EvalSet, total: int) -> list[str]:
    """Open copies of the set's tickets (numbers changed) until the store holds ``total``."""
    rng = random.Random(11)
    keys = []
    have = len(data.tickets)
    records = list(data.tickets)
    while have < total:
        t = rng.choice(records)
        n = rng.randrange(1, 999)
        keys.append(
            tracker.open(
                title=f"{t.title} ({n})", description=f"{t.description}\nref {n}", actor="x@y"
            ).key
        )
        have += 1
    return keys


def _row(name: str, r: Ranking) -> str:
    return (
        f"| {name} | {len(r.ranks)} | {r.hit(1):.3f} | {r.hit(3):.3f} | {r.precision(3):.3f} "
        f"| {r.mrr():.3f} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a database URL instead of memory and SQLite")
    parser.add_argument("--scale", type=int, default=0, help="tickets for the latency test")
    args = parser.parse_args(argv)
    data = load()
    print(
        f"set: {len(data.articles)} articles, {len(data.tickets)} tickets, "
        f"{len(data.labelled())} labelled, {len(data.unlabelled())} without an article, "
        f"{len(data.duplicates())} duplicates\n"
    )
    kinds = [args.url] if args.url else ["memory", "sqlite"]
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        for kind in kinds:
            name = kind.split(":", 1)[0]
            with _tracker(kind, tmp) as tracker:
                ranking, dup = cold(tracker, data)
                keys = [t.key for t in tracker.query(limit=500).items]
                median, p95 = latency(tracker, keys)
            with _tracker(kind, tmp) as tracker:
                with_past, text_only = history(tracker, data)
            print(f"### {name}\n")
            print("| protocol | tickets asked | hit@1 | hit@3 | precision@3 | MRR |")
            print("|---|---|---|---|---|---|")
            print(_row("cold: text only, all labelled tickets", ranking))
            print(_row("history: second half, text only", text_only))
            print(_row("history: second half, with past solutions", with_past))
            print(
                f"\nduplicates: {dup['pairs']:.0f} pairs, original among 5 similar "
                f"{dup['found@5']:.3f}, flagged {dup['flagged']:.3f}; "
                f"{dup['flags']:.0f} flags in all, {dup['wrong flags']:.0f} not a labelled pair"
            )
            print(f"suggest latency on the set: median {median:.2f} ms, p95 {p95:.2f} ms")
            if args.scale:
                with _tracker(kind, tmp) as tracker:
                    _publish(tracker, data)
                    keys = list(_open(tracker, data.tickets).values())
                    start = time.perf_counter()
                    keys += grow(tracker, data, args.scale)
                    took = time.perf_counter() - start
                    median, p95 = latency(tracker, keys)
                print(
                    f"suggest latency with {args.scale:,} tickets (grown in {took:.0f} s): "
                    f"median {median:.2f} ms, p95 {p95:.2f} ms"
                )
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
