"""One ticket per external reference, with real OS processes racing for it.

Each worker is a separate Python process (the "spawn" start method, as on
macOS and Windows) with its own tracker, engine and connections; all of them
open a ticket with the same reference at the same moment. Only the database
stands between them, so only its uniqueness check can make exactly one win.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from databases import fresh_database
from ticketkit import DuplicateReference, Tracker

from .test_processes import PROCESS_BACKENDS, WORKERS, all_keys, relaxed_commits

#: Rounds, each a new reference that all workers claim at the same moment.
ROUNDS = 5
#: Seconds between rounds: long enough for every worker to finish the last one.
GAP = 1.0


def _reference(n: int) -> str:
    return "crash:abc" if n == 0 else f"crash:abc{n}"


def claim(url: str, worker: int, start_at: float) -> list[tuple[str, str | None, str | None]]:
    """In each round, at its moment, open a ticket with the round's reference.

    Returns per round ``("opened", key, key)``, or ``("refused", the error's key,
    the key by_reference finds afterwards)``; a refusal raised by the store's
    insert (not by the tracker's look-up first) is ``"refused-by-insert"``.
    """
    results: list[tuple[str, str | None, str | None]] = []
    with Tracker.from_url(url, create=False, durability="normal") as tracker:
        tracker.by_reference("warm-up")  # connect before the race, not during it
        for n in range(ROUNDS):
            reference = _reference(n)
            time.sleep(max(0.0, start_at + n * GAP - time.time()))
            try:
                key = tracker.open(
                    f"crash seen by {worker}", actor=f"w{worker}", reference=reference
                ).key
            except DuplicateReference as exc:
                found = tracker.by_reference(reference)
                how = "refused" if exc.__cause__ is None else "refused-by-insert"
                results.append((how, exc.key, None if found is None else found.key))
            else:
                results.append(("opened", key, key))
    return results


@pytest.fixture(params=PROCESS_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with the tables created, before any worker starts."""
    with fresh_database(request.param, tmp_path) as url:
        Tracker.from_url(url).close()
        yield relaxed_commits(url)


class TestOneTicketPerReference:
    def test_processes_opening_with_one_reference_make_one_ticket(self, url: str) -> None:
        """8 processes open with the same reference at once: one ticket, 7 DuplicateReference."""
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(WORKERS, mp_context=context) as pool:
            start_at = time.time() + 3  # time for every worker process to start
            futures = [pool.submit(claim, url, w, start_at) for w in range(WORKERS)]
            results = [f.result() for f in futures]
        by_insert = 0
        winners = []
        for n in range(ROUNDS):
            outcomes = [worker[n] for worker in results]
            opened = [key for how, key, _ in outcomes if how == "opened"]
            assert len(opened) == 1, outcomes
            winners.append(opened[0])
            refused = [o for o in outcomes if o[0] != "opened"]
            assert len(refused) == WORKERS - 1
            # Each refusal names the winner, and the winner is what by_reference finds.
            assert {(key, found) for _, key, found in refused} == {(opened[0], opened[0])}
            by_insert += sum(how == "refused-by-insert" for how, _, _ in refused)
        print(f"{url.split(':')[0]}: {by_insert} of {ROUNDS * (WORKERS - 1)} refused by the insert")
        # The losers' transactions gave out no key: the winners hold TK-1 … TK-ROUNDS.
        assert set(winners) == {f"TK-{n}" for n in range(1, ROUNDS + 1)}
        with Tracker.from_url(url, create=False) as tracker:
            assert sorted(all_keys(tracker)) == sorted(winners)
            for n, key in enumerate(winners):
                found = tracker.by_reference(_reference(n))
                assert found is not None
                assert found.key == key
                assert len(tracker.history(key)) == 1
