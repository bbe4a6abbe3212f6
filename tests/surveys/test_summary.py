"""CSAT from the recorded surveys and ratings: exact numbers, by agent and by queue."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from ticketkit import Tracker, ValidationError
from ticketkit.notify import Notification
from ticketkit.surveys import CSATGroup, csat_summary, rate

from .support import START, desk, resolved, token_in


def _history(tracker: Tracker, sent: list[Notification], clock_advance: object) -> None:
    """Day 1: alice rated 5 and 3, bob 4. Day 2: bob unanswered, an unassigned ticket rated 1."""
    plan = [
        ("alice@example.com", "support", 5),
        ("alice@example.com", "support", 3),
        ("bob@example.com", "billing", 4),
        None,
        ("bob@example.com", "billing", None),
        (None, "support", 1),
    ]
    for step in plan:
        if step is None:
            clock_advance()  # type: ignore[operator]
            continue
        agent, queue, rating = step
        resolved(tracker, f"Ticket for {agent}", agent=agent, queue=queue)
        if rating is not None:
            rate(tracker, token_in(sent[-1]), rating)


def _numbers(group: CSATGroup) -> tuple[object, ...]:
    return (
        group.name,
        group.sent,
        group.answered,
        group.satisfied,
        group.response_rate,
        group.score,
        group.mean,
    )


class TestSummary:
    @pytest.mark.parametrize("backend", ["memory", "sqlite"])
    def test_exact_numbers_on_a_known_history(self, backend: str, tmp_path: Path) -> None:
        """Score = share of 4-5 answers, mean of the ratings, response rate; by agent, queue."""
        with desk(backend, tmp_path, scale="1-5") as (tracker, clock, sent):
            _history(tracker, sent, lambda: clock.advance(days=1))
            summary = csat_summary(tracker)
            assert _numbers(summary.overall) == (None, 5, 4, 2, 0.8, 0.5, 3.25)
            assert dict(summary.overall.ratings) == {"1": 1, "3": 1, "4": 1, "5": 1}
            assert [_numbers(g) for g in summary.by_agent] == [
                ("alice@example.com", 2, 2, 1, 1.0, 0.5, 4.0),
                ("bob@example.com", 2, 1, 1, 0.5, 1.0, 4.0),
                (None, 1, 1, 0, 1.0, 0.0, 1.0),
            ]
            assert [_numbers(g) for g in summary.by_queue] == [
                ("billing", 2, 1, 1, 0.5, 1.0, 4.0),
                ("support", 3, 3, 1, 1.0, 1 / 3, 3.0),
            ]
            assert [r.rating for r in summary.surveys] == [5, 3, 4, None, 1]

    def test_a_period_counts_the_surveys_sent_in_it(self) -> None:
        """[since, until) selects by the time the survey was sent."""
        with desk(scale="1-5") as (tracker, clock, sent):
            _history(tracker, sent, lambda: clock.advance(days=1))
            day2 = START + timedelta(days=1)
            later = csat_summary(tracker, since=day2)
            earlier = csat_summary(tracker, until=day2)
            assert _numbers(later.overall) == (None, 2, 1, 0, 0.5, 0.0, 1.0)
            assert _numbers(earlier.overall) == (None, 3, 3, 2, 1.0, 2 / 3, 4.0)
            assert (later.since, earlier.until) == (day2, day2)

    def test_good_or_bad(self) -> None:
        """On good_bad the score is the share of good; there is no mean."""
        with desk() as (tracker, _, sent):
            for rating in ("good", "good", "bad", None):
                resolved(tracker)
                if rating is not None:
                    rate(tracker, token_in(sent[-1]), rating)
            summary = csat_summary(tracker)
            assert _numbers(summary.overall) == (None, 4, 3, 2, 0.75, 2 / 3, None)
            assert dict(summary.overall.ratings) == {"good": 2, "bad": 1}

    def test_nothing_sent(self) -> None:
        """No surveys: zero counts and no rates, never a division by zero."""
        with desk() as (tracker, _, _):
            summary = csat_summary(tracker)
            assert _numbers(summary.overall) == (None, 0, 0, 0, None, None, None)
            assert (summary.by_agent, summary.by_queue) == ((), ())

    def test_one_tenant(self) -> None:
        """tenant= counts only that tenant's tickets."""
        with desk() as (tracker, _, sent):
            resolved(tracker)
            rate(tracker, token_in(sent[-1]), "good")
            other = tracker.open("Elsewhere", actor="dan@b.example", tenant="b").key
            tracker.transition(other, "resolve", actor="eve@b.example")
            assert len(sent) == 2
            assert csat_summary(tracker, tenant="b").overall.sent == 1
            assert csat_summary(tracker, tenant="b").overall.answered == 0
            assert csat_summary(tracker).overall.sent == 2

    def test_plain_data(self) -> None:
        """to_data is JSON as it is."""
        with desk(scale="1-5") as (tracker, clock, sent):
            _history(tracker, sent, lambda: clock.advance(days=1))
            data = json.loads(json.dumps(csat_summary(tracker).to_data()))
            assert data["overall"]["score"] == 0.5
            assert [g["name"] for g in data["by_queue"]] == ["billing", "support"]

    @pytest.mark.parametrize(
        ("settings", "field"),
        [
            ({"since": START.replace(tzinfo=None)}, "since"),
            ({"until": "yesterday"}, "until"),
            ({"since": START, "until": START}, "since"),
            ({"tenant": ""}, "tenant"),
        ],
    )
    def test_bad_arguments(self, settings: dict[str, object], field: str) -> None:
        with desk() as (tracker, _, _):
            with pytest.raises(ValidationError) as refused:
                csat_summary(tracker, **settings)  # type: ignore[arg-type]
            assert refused.value.field == field
