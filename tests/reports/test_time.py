"""Time logged on tickets, in reports: by agent, by ticket, by period and per ticket row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from ticketkit import FrozenClock
from ticketkit.reports import TimeTotal, build_report, write_csv

from .desk import MakeTracker

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def logged(make: MakeTracker):  # type: ignore[no-untyped-def]
    """Two tickets; time on Monday, Tuesday and the week before; one entry taken back."""
    clock = FrozenClock(MONDAY)
    tracker = make(clock=clock)
    one = tracker.open("VPN drops", actor="ann@example.com").key
    two = tracker.open("Printer jams", actor="bob@example.com").key
    tracker.estimate_time(one, "3h", actor="alice")
    tracker.log_time(one, "1h", actor="alice")  # Monday
    tracker.log_time(one, "30m", actor="=bob", on="2026-03-03")  # Tuesday
    tracker.log_time(two, "2h", actor="alice", on="2026-03-03")
    wrong = tracker.log_time(two, "8h", actor="alice", on="2026-03-03")
    tracker.remove_time(two, wrong.id, actor="alice")
    tracker.log_time(two, "4h", actor="alice", on="2026-02-23")  # before the period
    clock.advance(days=2)
    return tracker, one, two


class TestTimeInReports:
    def test_totals_by_agent_and_ticket(self, make: MakeTracker) -> None:
        """Live entries for days in the period, most time first; removed ones do not count."""
        tracker, one, two = logged(make)
        report = build_report(tracker, since=MONDAY.replace(hour=0))
        assert report.time_by_agent == (
            TimeTotal("alice", timedelta(hours=3), 2),
            TimeTotal("=bob", timedelta(minutes=30), 1),
        )
        assert report.time_by_ticket == (
            TimeTotal(two, timedelta(hours=2), 1),
            TimeTotal(one, timedelta(hours=1, minutes=30), 2),
        )

    def test_per_period_and_per_ticket(self, make: MakeTracker) -> None:
        """Each day has the time worked on it; a ticket row has all its time and estimate."""
        tracker, one, two = logged(make)
        report = build_report(tracker, since=MONDAY.replace(hour=0))
        assert [(p.start.isoformat(), p.time_spent) for p in report.periods] == [
            ("2026-03-02", timedelta(hours=1)),
            ("2026-03-03", timedelta(hours=2, minutes=30)),
            ("2026-03-04", timedelta(0)),
        ]
        rows = {row.key: row for row in report.tickets}
        assert (rows[one].time_spent, rows[one].time_estimate) == (
            timedelta(hours=1, minutes=30),
            timedelta(hours=3),
        )
        assert (rows[two].time_spent, rows[two].time_estimate) == (timedelta(hours=6), None)
        weekly = build_report(tracker, since=MONDAY.replace(hour=0), period="week")
        assert [p.time_spent for p in weekly.periods] == [timedelta(hours=3, minutes=30)]

    def test_tables_and_csv(self, make: MakeTracker) -> None:
        """Hours in the tables; an agent's name that looks like a formula is neutralised."""
        tracker, _, _ = logged(make)
        report = build_report(tracker, since=MONDAY.replace(hour=0))
        assert report.tables()["time_by_agent"] == [
            {"agent": "alice", "hours": 3.0, "entries": 2},
            {"agent": "=bob", "hours": 0.5, "entries": 1},
        ]
        out = io.StringIO()
        write_csv(report, "time_by_agent", out)
        assert list(csv.reader(io.StringIO(out.getvalue())))[2] == ["'=bob", "0.5", "1"]
        data = report.to_data()
        assert data["time_by_agent"][0] == {"value": "alice", "spent": 10800.0, "entries": 2}
