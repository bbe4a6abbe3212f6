"""``events_for``, the batched read reports use, on every store, and reports on the servers.

PostgreSQL and MariaDB get a fresh database each (see ``tests/databases.py``);
when a server is down these tests fail rather than skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from databases import BACKENDS, fresh_database
from ticketkit import FrozenClock, Tracker
from ticketkit.reports import build_report

from .desk import T0, UNTIL, defaults, desk, tracker_factory


@pytest.fixture(params=("memory", *BACKENDS))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database on each store."""
    if request.param == "memory":
        yield "memory://"
        return
    with fresh_database(request.param, tmp_path) as found:
        yield found


def tracker_at(url: str, **settings: object) -> Tracker:
    defaults(settings)
    if url == "memory://":
        return Tracker.in_memory(**settings)  # type: ignore[arg-type]
    return Tracker.from_url(url, **settings)  # type: ignore[arg-type]


class TestEventsFor:
    def test_each_tickets_events_in_order(self, url: str) -> None:
        """The same events as ``events(id)`` gives, per ticket, whatever the order of ids."""
        with tracker_at(url, clock=FrozenClock(T0)) as tracker:
            keys = [tracker.open(title=f"t{n}", actor="c").key for n in range(3)]
            for round_ in range(3):
                tracker.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
                for key in keys:
                    tracker.comment(key, f"round {round_}", actor="agent")
            ids = [tracker.get(key).id for key in keys]
            store = tracker.store
            found = store.events_for([ids[2], ids[0], ids[1]])  # type: ignore[attr-defined]
            assert found == {i: store.events(i) for i in ids}
            assert [len(found[i]) for i in ids] == [4, 4, 4]
            assert [e.id for e in found[ids[0]]] == sorted(e.id for e in found[ids[0]])

    def test_missing_and_other_tenants_left_out(self, url: str) -> None:
        """Unknown ids and, with ``tenant``, other tenants' tickets are not in the result."""
        with tracker_at(url) as tracker:
            ours = tracker.open(title="ours", actor="a", tenant="acme").id
            theirs = tracker.open(title="theirs", actor="b", tenant="globex").id
            store = tracker.store
            assert store.events_for([]) == {}  # type: ignore[attr-defined]
            assert set(store.events_for([ours, theirs, 999])) == {ours, theirs}  # type: ignore[attr-defined]
            scoped = store.events_for([ours, theirs], tenant="acme")  # type: ignore[attr-defined]
            assert list(scoped) == [ours]
            assert scoped[ours] == store.events(ours)


def test_reports_agree_on_every_store(url: str, tmp_path: Path) -> None:
    """The desk of ``desk.py`` gives the same report on each store as on the memory store."""
    expected = build_report(desk(tracker_factory("memory", tmp_path)), until=UNTIL)
    tracker = desk(lambda **settings: tracker_at(url, **settings))
    try:
        assert build_report(tracker, until=UNTIL) == expected
    finally:
        tracker.close()
