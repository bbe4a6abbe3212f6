"""Time tracking: entries and estimates as notices in the history, on every store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from databases import BACKENDS, fresh_database
from ticketkit import (
    EventType,
    FrozenClock,
    NotFound,
    PermissionDenied,
    Tracker,
    ValidationError,
)
from ticketkit.access import Principal, Role
from ticketkit.serde import unstructure

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Principal("alice", Role.AGENT, "default", queues=("default",))
OTHER_AGENT = Principal("bob", Role.AGENT, "default", queues=("default",))
ADMIN = Principal("root", Role.ADMIN, "default")
CUSTOMER = Principal("carol@example.com", Role.CUSTOMER, "default")


@contextmanager
def tracker_on(backend: str, tmp_path: Path) -> Iterator[Tracker]:
    clock = FrozenClock(T0)
    if backend == "memory":
        with Tracker.in_memory(clock=clock) as tracker:
            yield tracker
        return
    with fresh_database(backend, tmp_path) as url, Tracker.from_url(url, clock=clock) as tracker:
        yield tracker


@pytest.fixture(params=("memory", *BACKENDS))
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    with tracker_on(str(request.param), tmp_path) as tracker:
        yield tracker


def opened(tracker: Tracker) -> str:
    return tracker.open("Printer jams", actor=CUSTOMER.id).key


class TestLogTime:
    def test_entries_add_up_per_ticket_and_agent(self, tracker: Tracker) -> None:
        """Entries keep agent, length, day and note; the log totals them."""
        key = opened(tracker)
        one = tracker.log_time(key, "1h 30m", actor="alice", note="Cleared the tray")
        tracker.log_time(key, timedelta(minutes=20), actor="bob", on="2026-03-01")
        tracker.log_time(key, 600, actor="alice")
        log = tracker.time_log(key)
        assert one.spent == timedelta(minutes=90)
        assert one.on == date(2026, 3, 2)
        assert (one.agent, one.note, one.ticket_key) == ("alice", "Cleared the tray", key)
        assert [(e.agent, e.spent, e.on) for e in log.entries] == [
            ("alice", timedelta(minutes=90), date(2026, 3, 2)),
            ("bob", timedelta(minutes=20), date(2026, 3, 1)),
            ("alice", timedelta(minutes=10), date(2026, 3, 2)),
        ]
        assert log.spent == timedelta(hours=2)
        assert log.by_agent() == {"alice": timedelta(minutes=100), "bob": timedelta(minutes=20)}
        assert log.estimate is None
        assert log.remaining is None

    def test_is_a_notice_in_the_history(self, tracker: Tracker) -> None:
        """Logging time records who, when and how long, without raising the version."""
        key = opened(tracker)
        entry = tracker.log_time(key, "45m", actor="alice")
        event = tracker.history(key)[-1]
        assert tracker.get(key).version == 1
        assert (event.type, event.actor, event.at, event.version) == (
            EventType.TIME_LOGGED,
            "alice",
            T0,
            1,
        )
        assert event.id == entry.id
        assert dict(event.data) == {"seconds": 2700, "on": "2026-03-02", "note": None}

    def test_version_checked_writes_are_not_made_stale(self, tracker: Tracker) -> None:
        """An agent's edit pinned to the version read before someone logged time still works."""
        key = opened(tracker)
        tracker.log_time(key, "5m", actor="bob")
        tracker.update(key, title="Printer jams daily", actor="alice", expected_version=1)
        assert tracker.get(key).version == 2

    @pytest.mark.parametrize(
        ("spent", "message"),
        [
            (0, "longer than zero"),
            ("-5m", "not a length of time"),
            ("8d", "longer than 7 days"),
            ("soon", "not a length of time"),
            (0.5, "whole number of seconds"),
        ],
    )
    def test_bad_lengths_are_refused(self, tracker: Tracker, spent: object, message: str) -> None:
        """A length that is not a positive whole number of seconds up to a week stores nothing."""
        key = opened(tracker)
        before = tracker.history(key)
        with pytest.raises(ValidationError, match=message) as caught:
            tracker.log_time(key, spent, actor="alice")
        assert caught.value.field == "spent"
        assert tracker.history(key) == before

    @pytest.mark.parametrize("on", ["yesterday", "2026-02-30", datetime(2026, 3, 1), 20260301])
    def test_bad_days_are_refused(self, tracker: Tracker, on: object) -> None:
        key = opened(tracker)
        with pytest.raises(ValidationError, match="date the work was done") as caught:
            tracker.log_time(key, "5m", actor="alice", on=on)
        assert caught.value.field == "on"
        assert tracker.time_log(key).entries == ()

    def test_bad_note_and_missing_ticket(self, tracker: Tracker) -> None:
        key = opened(tracker)
        with pytest.raises(ValidationError, match="note is 1001 characters long"):
            tracker.log_time(key, "5m", actor="alice", note="x" * 1001)
        with pytest.raises(NotFound, match="no ticket TK-99"):
            tracker.log_time("TK-99", "5m", actor="alice")
        assert tracker.time_log(key).entries == ()


class TestRemoveTime:
    def test_removed_entry_leaves_the_total_and_stays_in_history(self, tracker: Tracker) -> None:
        """A wrong entry is taken back by a time_removed event naming it."""
        key = opened(tracker)
        wrong = tracker.log_time(key, "8h", actor="alice")
        right = tracker.log_time(key, "45m", actor="alice")
        removed = tracker.remove_time(key, wrong.id, actor="alice", note="meant 45 minutes")
        assert removed == wrong
        assert tracker.time_log(key).entries == (right,)
        last = tracker.history(key)[-1]
        assert last.type is EventType.TIME_REMOVED
        assert dict(last.data) == {"entry": wrong.id, "seconds": 28800, "note": "meant 45 minutes"}

    def test_an_entry_is_removed_once_and_only_from_its_ticket(self, tracker: Tracker) -> None:
        key, other = opened(tracker), opened(tracker)
        entry = tracker.log_time(key, "1h", actor="alice")
        with pytest.raises(NotFound, match=f"{other} has no time entry {entry.id}"):
            tracker.remove_time(other, entry.id, actor="alice")
        tracker.remove_time(key, entry.id, actor="alice")
        with pytest.raises(NotFound, match="or it was removed"):
            tracker.remove_time(key, entry.id, actor="alice")
        assert len([e for e in tracker.history(key) if e.type is EventType.TIME_REMOVED]) == 1


class TestEstimate:
    def test_estimate_and_remaining(self, tracker: Tracker) -> None:
        """The estimate is an event with old and new value; remaining never goes below zero."""
        key = opened(tracker)
        tracker.log_time(key, "3h", actor="alice")
        log = tracker.estimate_time(key, "4h", actor="alice")
        assert (log.estimate, log.remaining) == (timedelta(hours=4), timedelta(hours=1))
        log = tracker.estimate_time(key, "2h", actor="bob")
        assert log.remaining == timedelta(0)
        changes = [
            (e.actor, e.old, e.new)
            for e in tracker.history(key)
            if e.type is EventType.TIME_ESTIMATED
        ]
        assert changes == [("alice", None, 14400), ("bob", 14400, 7200)]

    def test_same_estimate_records_nothing_and_none_clears(self, tracker: Tracker) -> None:
        key = opened(tracker)
        tracker.estimate_time(key, "2h", actor="alice")
        count = len(tracker.history(key))
        tracker.estimate_time(key, timedelta(hours=2), actor="alice")
        assert len(tracker.history(key)) == count
        assert tracker.estimate_time(key, None, actor="alice").estimate is None
        assert tracker.history(key)[-1].new is None

    def test_bad_estimate_is_refused(self, tracker: Tracker) -> None:
        key = opened(tracker)
        with pytest.raises(ValidationError, match="estimate must be longer than zero") as caught:
            tracker.estimate_time(key, "0m", actor="alice")
        assert caught.value.field == "estimate"
        assert tracker.time_log(key).estimate is None


class TestSessions:
    def test_agents_log_and_customers_see_nothing_of_it(self, tracker: Tracker) -> None:
        """Time is for staff: customers can neither log nor read it, nor see its events."""
        key = opened(tracker)
        agent = tracker.session(AGENT)
        entry = agent.log_time(key, "30m", note="phoned the customer")
        agent.estimate_time(key, "1h")
        assert entry.agent == "alice"
        assert agent.time_log(key).spent == timedelta(minutes=30)
        customer = tracker.session(CUSTOMER)
        with pytest.raises(PermissionDenied, match="log_time"):
            customer.log_time(key, "5m")
        with pytest.raises(PermissionDenied, match="read_internal"):
            customer.time_log(key)
        seen = {e.type for e in customer.history(key)}
        assert not seen & {
            EventType.TIME_LOGGED,
            EventType.TIME_ESTIMATED,
            EventType.TIME_REMOVED,
        }
        assert "phoned" not in json.dumps(unstructure(customer.history(key)))

    def test_another_agents_entry_needs_administer(self, tracker: Tracker) -> None:
        key = opened(tracker)
        entry = tracker.session(AGENT).log_time(key, "30m")
        with pytest.raises(PermissionDenied, match="administer"):
            tracker.session(OTHER_AGENT).remove_time(key, entry.id)
        assert tracker.time_log(key).entries == (entry,)
        tracker.session(ADMIN).remove_time(key, entry.id)
        assert tracker.time_log(key).entries == ()
