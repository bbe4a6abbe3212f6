"""Bad arguments are refused with a ValidationError naming the argument; nothing changes."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ticketkit import Tracker, ValidationError
from ticketkit.reports import build_report

from .desk import UNTIL, MakeTracker, at, desk

BAD = [
    ({"period": "month"}, "period", "'month'"),
    ({"since": datetime(2026, 1, 5)}, "since", "naive"),
    ({"until": datetime(2026, 1, 6)}, "until", "naive"),
    ({"since": "2026-01-05"}, "since", "'2026-01-05'"),
    ({"since": at(9, 0), "until": at(8, 0)}, "since", "is not before until"),
    ({"since": at(8, 0), "until": at(8, 0)}, "since", "is not before until"),
    ({"since": datetime(2027, 1, 1, tzinfo=UNTIL.tzinfo)}, "since", "tracker's clock"),
    ({"calendar": "9-5"}, "calendar", "BusinessCalendar"),
    ({"policy": {"first_response": "4h"}}, "policy", "SLAPolicy"),
    ({"tenant": ""}, "tenant", "tenant"),
    ({"tenant": 7}, "tenant", "7"),
    ({"where": "queue=it"}, "where", "'queue=it'"),
    ({"where": {"nonsense": 1}}, "nonsense", "nonsense"),
    ({"progress": 5}, "progress", "5"),
]


@pytest.mark.parametrize(("options", "field", "named"), BAD, ids=[b[1] for b in BAD])
def test_bad_arguments(
    make: MakeTracker, options: dict[str, object], field: str, named: str
) -> None:
    """The error names the field and the bad value; the stored history is unchanged."""
    tracker = desk(make)
    keys = ["HD-1", "BI-1", "HD-2", "HD-3", "HD-4", "HD-5"]
    before = [tracker.history(key) for key in keys]
    with pytest.raises(ValidationError) as caught:
        build_report(tracker, **options)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert named in str(caught.value)
    assert [tracker.history(key) for key in keys] == before
    assert tracker.query(limit=1000).items == tuple(
        tracker.get(key) for key in sorted(keys, key=lambda k: tracker.get(k).id)
    )


def test_progress_is_reported(make: MakeTracker) -> None:
    """``progress(done, total)`` ends at (total, total)."""
    calls: list[tuple[int, int]] = []
    build_report(desk(make), until=UNTIL, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(6, 6)]


def test_progress_on_an_empty_tracker(make: MakeTracker) -> None:
    """An empty tracker reports (0, 0) once and gives an empty report of one day."""
    calls: list[tuple[int, int]] = []
    rep = build_report(make(), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 0)]
    assert rep.empty
    assert len(rep.periods) == 1
    assert rep.periods[0].backlog == 0


def test_progress_every_hundred_tickets() -> None:
    """Called after every 100th ticket and after the last, with the total."""
    tracker = Tracker.in_memory()
    for number in range(250):
        tracker.open(title=f"ticket {number}", actor="c")
    calls: list[tuple[int, int]] = []
    build_report(
        tracker,
        until=tracker.clock.now() + timedelta(seconds=1),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(100, 250), (200, 250), (250, 250)]
