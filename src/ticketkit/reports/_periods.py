"""Days and ISO weeks in a time zone, and the volume and backlog series over them.

A day starts at local midnight in the report's time zone; a week on Monday's.
The first and last periods are cut at ``since`` and ``until``. A ticket is in
the backlog at an instant when it was opened before it and the last change of
its status before it left it in a new-, active- or pending-category state.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ._facts import Facts
from ._model import PeriodRow

__all__ = ["PERIODS", "boundary", "period_start", "series"]

PERIODS = ("day", "week")


def period_start(at: datetime, period: str, zone: ZoneInfo) -> date:
    """The first day of the period that holds the instant ``at``."""
    day = at.astimezone(zone).date()
    return day - timedelta(days=day.weekday()) if period == "week" else day


def boundary(day: date, zone: ZoneInfo) -> datetime:
    """The instant (UTC) at which ``day`` starts in ``zone``."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _starts(since: datetime, until: datetime, period: str, zone: ZoneInfo) -> list[date]:
    step = timedelta(days=7 if period == "week" else 1)
    days = [period_start(since, period, zone)]
    while boundary(days[-1] + step, zone) < until:
        days.append(days[-1] + step)
    return days


def _changes(facts: Facts) -> Iterable[tuple[datetime, str]]:
    """``(instant, what)``: the opening, each resolution and each reopening."""
    yield facts.opened, "opened"
    before = False
    for at, done in facts.spells:
        if done and not before:
            yield at, "resolved"
        elif before and not done:
            yield at, "reopened"
        before = done


def series(
    all_facts: Iterable[Facts], since: datetime, until: datetime, period: str, zone: ZoneInfo
) -> tuple[int, tuple[PeriodRow, ...]]:
    """The backlog at ``since`` and one row per period of ``[since, until)``."""
    days = _starts(since, until, period, zone)
    edges = [since] + [boundary(d, zone) for d in days[1:]]
    counts = [{"opened": 0, "resolved": 0, "reopened": 0} for _ in days]
    at_start = 0
    for facts in all_facts:
        for at, what in _changes(facts):
            if at >= until:
                continue
            if at < since:
                at_start += -1 if what == "resolved" else 1
                continue
            counts[bisect.bisect_right(edges, at) - 1][what] += 1
    rows: list[PeriodRow] = []
    backlog = at_start
    for day, count in zip(days, counts, strict=True):
        backlog += count["opened"] - count["resolved"] + count["reopened"]
        rows.append(
            PeriodRow(
                start=day,
                opened=count["opened"],
                resolved=count["resolved"],
                reopened=count["reopened"],
                backlog=backlog,
            )
        )
    return at_start, tuple(rows)
