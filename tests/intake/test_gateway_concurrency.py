"""Replies that arrive at the same time as each other.

Different replies to one resolved ticket, taken in by several threads at once:
every reply becomes a comment, the ticket is reopened exactly once, and no
message's ``ingest`` raises. On PostgreSQL and MariaDB a gate holds each
reply's transaction after it has read the ticket until all of them have, so
the transactions really overlap: every one of them saw the ticket resolved,
one reopens it, and the others must notice and only comment.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from faults import Gate, hook
from ticketkit import EventType, Tracker
from ticketkit._testing_support import run_threads
from ticketkit.intake import IngestResult, MailGateway

from .corpus_support import OUR_DOMAIN
from .gateway_support import STORES, reply, tracker_on

SENDERS = ["Ann <ann@example.com>", "Bob <bob@example.com>", "Cy <cy@example.com>"]


def resolved_ticket(tracker: Tracker) -> str:
    key = tracker.open("Printer", actor="ann@example.com").key
    for person in ("bob@example.com", "cy@example.com"):
        tracker.watch(key, person, actor="agent")
    tracker.transition(key, "resolve", actor="agent")
    return key


def reply_at_once(tracker: Tracker, key: str, count: int) -> list[IngestResult]:
    """``count`` different replies to ``key``, each from its own thread, started together."""
    gateway = MailGateway(tracker, domain=OUR_DOMAIN)
    replies = [
        reply(
            key,
            f"Reply number {n}",
            f"<r{n}@mail.example.com>",
            sender=SENDERS[n % len(SENDERS)],
        )
        for n in range(count)
    ]
    results: list[IngestResult | None] = [None] * count

    def take(n: int) -> None:
        results[n] = gateway.ingest(replies[n])

    run_threads(count, take)  # re-raises the first exception a thread's ingest raised
    assert None not in results
    return [r for r in results if r is not None]


def check_reopened_once(tracker: Tracker, key: str, results: list[IngestResult]) -> None:
    count = len(results)
    outcomes = Counter(r.outcome for r in results)
    assert outcomes == {"reopened": 1, "commented": count - 1}
    assert {r.key for r in results} == {key}
    assert tracker.get(key).status == "open"
    assert sorted(c.body for c in tracker.comments(key)) == [
        f"Reply number {n}" for n in range(count)
    ]
    changes = [(e.old, e.new) for e in tracker.history(key) if e.type is EventType.STATUS_CHANGED]
    assert changes == [("new", "resolved"), ("resolved", "open")]


@pytest.mark.parametrize("store", STORES)
def test_replies_at_once_reopen_the_ticket_once(store: str, tmp_path: Path) -> None:
    """Four threads, four replies: four comments, one reopen, no exception."""
    with tracker_on(store, tmp_path) as tracker:
        key = resolved_ticket(tracker)
        results = reply_at_once(tracker, key, 4)
        check_reopened_once(tracker, key, results)


@pytest.mark.parametrize("store", ["postgresql", "mysql"])
@pytest.mark.parametrize("count", [2, 3])
def test_overlapping_transactions_reopen_the_ticket_once(
    store: str, count: int, tmp_path: Path
) -> None:
    """Every reply's transaction reads the resolved ticket before any of them writes."""
    with tracker_on(store, tmp_path) as tracker:
        key = resolved_ticket(tracker)
        gate = Gate(count)
        hook(tracker, gate)
        results = reply_at_once(tracker, key, count)
        assert gate.passed == count
        check_reopened_once(tracker, key, results)
