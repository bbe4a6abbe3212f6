"""Properties of any history: volume adds up, backlog agrees with replaying each ticket."""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from ticketkit import Category, FrozenClock, NotFound, Tracker
from ticketkit.reports import Report, build_report

from .desk import T0

DONE = {Category.RESOLVED, Category.CLOSED}

#: (what, which ticket, hours to wait before it)
steps = st.lists(
    st.tuples(
        st.sampled_from(["open", "open", "comment", "start", "resolve", "close", "reopen"]),
        st.integers(0, 5),
        st.integers(0, 7),
    ),
    max_size=25,
)


def play(script: list[tuple[str, int, int]]) -> Tracker:
    """Apply the steps that the workflow allows, in order, skipping the rest."""
    clock = FrozenClock(T0)
    tracker = Tracker.in_memory(clock=clock)
    keys: list[str] = []
    for what, which, wait in script:
        clock.advance(timedelta(hours=wait))
        if what == "open" or not keys:
            keys.append(tracker.open(title="t", actor=f"cust{len(keys)}").key)
            continue
        key = keys[which % len(keys)]
        if what == "comment":
            tracker.comment(key, "hello", actor="agent")
            continue
        allowed = {a.name for a in tracker.available_actions(key, "agent")}
        if what in allowed:
            tracker.transition(key, what, actor="agent")
    clock.advance(timedelta(hours=1))
    return tracker


def is_open(tracker: Tracker, key: str, when: object) -> bool:
    try:
        ticket = tracker.as_of(key, when)  # type: ignore[arg-type]
    except NotFound:
        return False
    return tracker.workflow.category(ticket.status) not in DONE


@given(steps, st.sampled_from(["day", "week"]))
def test_volume_and_backlog(script: list[tuple[str, int, int]], period: str) -> None:
    """Volume sums to the tickets opened; each backlog is the tickets open just before
    the period ends, as replaying their histories says; it is never negative."""
    tracker = play(script)
    report = build_report(tracker, period=period)
    keys = [t.key for t in tracker.query(limit=1000)]
    assert sum(p.opened for p in report.periods) == len(keys) == report.summary.tickets
    assert report.backlog_at_start == 0
    backlog = 0
    for index, row in enumerate(report.periods):
        backlog += row.opened - row.resolved + row.reopened
        assert row.backlog == backlog >= 0
        last = index == len(report.periods) - 1
        step = timedelta(days=7 if period == "week" else 1)
        end = report.until if last else report.since + step * (index + 1)
        instant = end - timedelta(microseconds=1)
        assert row.backlog == sum(is_open(tracker, key, instant) for key in keys)
    summary = report.summary
    assert summary.open == sum(is_open(tracker, key, report.until) for key in keys)
    assert 0 <= summary.reopened <= summary.resolved <= summary.tickets
    assert summary.resolution.count == summary.tickets - summary.open


@given(steps, st.sampled_from(["day", "week"]))
def test_data_round_trip(script: list[tuple[str, int, int]], period: str) -> None:
    """``Report.from_data`` reads back what ``to_data`` gave, through JSON text."""
    report = build_report(play(script), period=period)
    assert Report.from_data(json.loads(json.dumps(report.to_data()))) == report
