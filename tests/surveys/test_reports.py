"""The reports' csat table: the surveys sent in the report's period, overall, by agent, queue."""

from __future__ import annotations

from datetime import timedelta

from ticketkit.reports import Report, build_report
from ticketkit.surveys import rate

from .support import START, desk, resolved, token_in


class TestReportCSAT:
    def test_the_csat_table(self) -> None:
        """Rows overall, by agent and by queue, with rates and the mean rounded."""
        with desk(scale="1-5") as (tracker, clock, sent):
            for agent, queue, rating in [
                ("alice@example.com", "support", 5),
                ("alice@example.com", "support", 2),
                ("bob@example.com", "billing", None),
            ]:
                resolved(tracker, agent=agent, queue=queue)
                if rating is not None:
                    rate(tracker, token_in(sent[-1]), rating)
            clock.advance(hours=1)
            report = build_report(tracker, since=START, until=START + timedelta(hours=1))
            table = report.tables()["csat"]
            assert [(r["dimension"], r["name"], r["sent"], r["answered"]) for r in table] == [
                ("overall", None, 3, 2),
                ("agent", "alice@example.com", 2, 2),
                ("agent", "bob@example.com", 1, 0),
                ("queue", "billing", 1, 0),
                ("queue", "support", 2, 2),
            ]
            assert table[0] == {
                "dimension": "overall",
                "name": None,
                "sent": 3,
                "answered": 2,
                "satisfied": 1,
                "response_rate": 0.6667,
                "score": 0.5,
                "mean": 3.5,
            }
            assert Report.from_data(report.to_data()) == report

    def test_outside_the_period(self) -> None:
        """Surveys sent before since are not counted; the overall row is still there."""
        with desk() as (tracker, clock, _):
            resolved(tracker)
            clock.advance(days=1)
            report = build_report(tracker, since=START + timedelta(hours=1))
            assert report.tables()["csat"][0]["sent"] == 0
