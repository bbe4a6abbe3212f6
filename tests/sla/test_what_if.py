"""What if: the compliance other SLA policies would have given on the recorded history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ticketkit import FrozenClock, Tracker, ValidationError
from ticketkit.reports import Compliance, build_report
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target, WhatIf, what_if

#: Monday 5 January 2026, 09:00 UTC.
MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OFFICE = BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC")
AGENT = "alice@example.com"


def at(days: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY.replace(day=5 + days, hour=hour, minute=minute)


#: Per ticket: opened, first public reply by an agent, resolved. Business hours
#: to the reply / to the resolution, on a 09:00-17:00 weekday calendar, at the
#: end (Wednesday 10:00):
PLAN = [
    (at(0, 9), at(0, 9, 30), at(0, 12)),  # 0.5 h / 3 h
    (at(0, 10), at(0, 11, 30), at(0, 16)),  # 1.5 h / 6 h
    (at(0, 15), at(1, 9, 30), at(1, 10, 30)),  # 2 + 0.5 = 2.5 h / 2 + 1.5 = 3.5 h
    (at(0, 16), at(0, 16, 45), at(1, 15)),  # 0.75 h / 1 + 6 = 7 h
    (at(1, 9), None, None),  # open: 8 + 1 = 9 h so far
    (at(1, 16, 30), None, None),  # open: 0.5 + 1 = 1.5 h so far
]
END = at(2, 10)

FOUR = SLAPolicy(
    targets=(Target("first_response", "1h"), Target("resolution", "4h")),
    calendar=OFFICE,
    name="four",
)
EIGHT = SLAPolicy(
    targets=(Target("first_response", "2h"), Target("resolution", "8h")),
    calendar=OFFICE,
    name="eight",
)


def record(tracker: Tracker, clock: FrozenClock) -> None:
    steps: list[tuple[datetime, int, str, int]] = []
    for i, (opened, replied, resolved) in enumerate(PLAN):
        steps.append((opened, 0, "open", i))
        if replied is not None:
            steps.append((replied, 1, "reply", i))
        if resolved is not None:
            steps.append((resolved, 2, "resolve", i))
    keys: dict[int, str] = {}
    for when, _, what, i in sorted(steps):
        clock.set(when)
        if what == "open":
            keys[i] = tracker.open(f"Ticket {i}", actor="carol@example.com").key
        elif what == "reply":
            tracker.comment(keys[i], "On it.", actor=AGENT)
        else:
            tracker.transition(keys[i], "resolve", actor=AGENT)
    clock.set(END)


@pytest.fixture(params=["memory", "sqlite"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    clock = FrozenClock(MONDAY)
    if request.param == "memory":
        opened = Tracker.in_memory(clock=clock)
    else:
        opened = Tracker.from_url(f"sqlite:///{tmp_path / 'what-if.db'}", clock=clock)
    with opened:
        record(opened, clock)
        yield opened


class TestWhatIf:
    def test_numbers_known_by_hand(self, tracker: Tracker) -> None:
        """Business hours decide: 4 h of resolution is met by 2 of 5, 8 h by 4 of 5."""
        four, eight = what_if(tracker, {"4h": FOUR, "8h": EIGHT})
        assert four.compliance == (
            Compliance("first_response", met=2, breached=4, running=0),
            Compliance("resolution", met=2, breached=3, running=1),
        )
        assert eight.compliance == (
            Compliance("first_response", met=3, breached=2, running=1),
            Compliance("resolution", met=4, breached=1, running=1),
        )
        assert four.kind("resolution").met_share == pytest.approx(0.4)
        assert eight.kind("resolution").met_share == pytest.approx(0.8)
        assert (four.label, four.policy, four.tickets) == ("4h", "four", 6)
        assert (four.since, four.until) == (at(0, 0), END)

    def test_describe(self, tracker: Tracker) -> None:
        """One line per policy: the share met per target kind, and what still runs."""
        lines = [result.describe() for result in what_if(tracker, {"4h": FOUR, "8h": EIGHT})]
        assert lines == [
            "4h: first_response 33% met (2 of 6); resolution 40% met (2 of 5), 1 running; "
            "6 tickets",
            "8h: first_response 60% met (3 of 5), 1 running; resolution 80% met (4 of 5), "
            "1 running; 6 tickets",
        ]

    def test_list_of_policies_labelled_by_name(self, tracker: Tracker) -> None:
        """Policies given as a list are labelled by their names, in the order given."""
        results = what_if(tracker, [EIGHT, FOUR])
        assert [r.label for r in results] == ["eight", "four"]
        assert results[1] == what_if(tracker, {"four": FOUR})[0]

    def test_period_and_filters(self, tracker: Tracker) -> None:
        """Only tickets opened in [since, until) count, clocks measured at until."""
        (tuesday,) = what_if(tracker, {"4h": FOUR}, since=at(1, 0))
        assert tuesday.tickets == 2
        assert tuesday.kind("resolution") == Compliance("resolution", breached=1, running=1)
        (early,) = what_if(tracker, {"4h": FOUR}, until=at(0, 13))
        assert early.tickets == 2
        # At 13:00 the second ticket has run 3 business hours of its 4.
        assert early.kind("resolution") == Compliance("resolution", met=1, running=1)
        (nobody,) = what_if(tracker, {"4h": FOUR}, tenant="elsewhere")
        assert nobody.tickets == 0
        assert nobody.kind("resolution").met_share is None
        assert (
            nobody.describe()
            == "4h: first_response none decided; resolution none decided; 0 tickets"
        )

    def test_agrees_with_the_report(self, tracker: Tracker) -> None:
        """A what-if gives the compliance a report with that policy gives."""
        report = build_report(tracker, policy=EIGHT)
        assert what_if(tracker, [EIGHT])[0].compliance == report.summary.sla

    def test_to_data(self, tracker: Tracker) -> None:
        """to_data() is plain JSON-ready data."""
        data = what_if(tracker, {"8h": EIGHT})[0].to_data()
        assert json.loads(json.dumps(data)) == data
        assert data["compliance"][1] == {
            "kind": "resolution",
            "met": 4,
            "breached": 1,
            "running": 1,
            "met_share": 0.8,
        }
        assert data["until"] == "2026-01-07T10:00:00+00:00"

    def test_nothing_written(self, tracker: Tracker) -> None:
        """The history, the tickets and the outbox are as before."""
        keys = [t.key for t in tracker.query(limit=100).items]
        before = ([tracker.history(k) for k in keys], [tracker.get(k) for k in keys])
        outbox = tracker.store.outbox(limit=1000)
        what_if(tracker, {"4h": FOUR, "8h": EIGHT})
        assert ([tracker.history(k) for k in keys], [tracker.get(k) for k in keys]) == before
        assert tracker.store.outbox(limit=1000) == outbox

    def test_unknown_kind(self, tracker: Tracker) -> None:
        """Asking for a kind the policy has no target of names the kinds it has."""
        only = SLAPolicy(targets=(Target("resolution", "4h"),), calendar=OFFICE)
        with pytest.raises(ValidationError, match="its kinds: resolution"):
            what_if(tracker, [only])[0].kind("first_response")


class TestBadInput:
    @pytest.mark.parametrize(
        ("policies", "kwargs", "field"),
        [
            (FOUR, {}, "policies"),
            ([], {}, "policies"),
            ("4h", {}, "policies"),
            ([FOUR, "eight"], {}, "policies"),
            ({"": FOUR}, {}, "policies"),
            ([FOUR, FOUR], {}, "policies"),
            ({"4h": FOUR}, {"since": datetime(2026, 1, 5)}, "since"),
            ({"4h": FOUR}, {"until": "tomorrow"}, "until"),
            ({"4h": FOUR}, {"since": at(1, 0), "until": at(0, 0)}, "since"),
            ({"4h": FOUR}, {"tenant": 3}, "tenant"),
        ],
    )
    def test_refused(
        self, tracker: Tracker, policies: Any, kwargs: dict[str, Any], field: str
    ) -> None:
        """Bad arguments raise ValidationError naming the argument."""
        with pytest.raises(ValidationError) as caught:
            what_if(tracker, policies, **kwargs)
        assert caught.value.field == field

    def test_result_is_plain_value(self) -> None:
        """WhatIf is a frozen value."""
        result = WhatIf("a", "b", MONDAY, END, 0, ())
        with pytest.raises(AttributeError):
            result.label = "c"  # type: ignore[misc]
