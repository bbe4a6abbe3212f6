"""SLA policies: targets, choosing the target for a ticket, checks, and plain data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit._errors import ValidationError
from ticketkit._fields import FieldDef
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit.rules._duration import parse_duration
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target, TargetKind

FIRST, NEXT, RESOLUTION = TargetKind.FIRST_RESPONSE, TargetKind.NEXT_RESPONSE, TargetKind.RESOLUTION
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def ticket(**changes: Any) -> Ticket:
    base = Ticket(
        id=1,
        key="HD-1",
        title="t",
        description="",
        status="new",
        priority=Priority.P3,
        reporter="carol",
        queue="support",
        created=T0,
        updated=T0,
        version=1,
    )
    return attrs.evolve(base, **changes)


class TestTarget:
    def test_accepts_names_and_duration_text(self) -> None:
        """Kind, priority and within may be given as text."""
        target = Target("first_response", "1h 30m", priority="p1", queue="it", tier="gold")
        assert target == Target(FIRST, timedelta(minutes=90), Priority.P1, "it", "gold")

    @pytest.mark.parametrize(
        "within", [timedelta(0), "0s", 0, -5, -1.5, float("-inf"), timedelta(hours=-1)]
    )
    def test_refuses_zero_or_negative_time(self, within: object) -> None:
        """A target needs a positive length of time."""
        with pytest.raises(ValidationError, match="positive") as caught:
            Target(FIRST, within)
        assert caught.value.field == "within"

    @pytest.mark.parametrize("within", ["soon", "4x", "4h 2h", "-1h", "", None, True, float("nan")])
    def test_refuses_what_is_not_a_duration(self, within: object) -> None:
        """Text that is not days/hours/minutes/seconds is refused, naming the value."""
        with pytest.raises(ValidationError, match="within"):
            Target(FIRST, within)

    def test_refuses_unknown_kind_and_priority(self) -> None:
        """Unknown kinds and priorities name the value and what to use instead."""
        with pytest.raises(ValidationError, match=r"'reply'.*first_response"):
            Target("reply", "1h")
        with pytest.raises(ValidationError, match="P9"):
            Target(FIRST, "1h", priority="P9")

    def test_refuses_blank_queue_or_tier(self) -> None:
        """Queue and tier are names: empty ones are refused."""
        with pytest.raises(ValidationError, match="queue"):
            Target(FIRST, "1h", queue=" ")
        with pytest.raises(ValidationError, match="tier"):
            Target(FIRST, "1h", tier="")


def _policy(*targets: Target, **options: Any) -> SLAPolicy:
    return SLAPolicy(targets=targets, **options)


class TestPolicyChecks:
    def test_defaults(self) -> None:
        """Named 'default', a 24/7 calendar, one warning at 75 %."""
        policy = _policy(Target(FIRST, "4h"))
        assert (policy.name, policy.calendar, policy.warn_at, policy.tier_field) == (
            "default",
            BusinessCalendar.always(),
            (0.75,),
            None,
        )

    def test_refuses_no_targets(self) -> None:
        """A policy without targets is refused."""
        with pytest.raises(ValidationError, match="no targets"):
            _policy()

    def test_refuses_duplicate_targets(self) -> None:
        """Two targets for the same kind, priority, queue and tier are refused, named."""
        with pytest.raises(ValidationError, match="two targets for first_response P1 queue 'it'"):
            _policy(
                Target(FIRST, "4h", priority="P1", queue="it"),
                Target(FIRST, "2h", priority="P1", queue="it"),
            )

    def test_same_scope_for_other_kinds_is_fine(self) -> None:
        """One target per kind for the same scope is allowed."""
        policy = _policy(
            Target(FIRST, "4h", priority="P1"), Target(RESOLUTION, "4h", priority="P1")
        )
        assert len(policy.targets) == 2

    @pytest.mark.parametrize("warn_at", [(0,), (1,), (1.5,), (-0.1,), ("0.5",), (True,), 0.5])
    def test_refuses_thresholds_outside_zero_one(self, warn_at: Any) -> None:
        """Each warning threshold is a fraction strictly between 0 and 1."""
        with pytest.raises(ValidationError, match=r"warn_at|threshold"):
            _policy(Target(FIRST, "4h"), warn_at=warn_at)

    def test_thresholds_are_sorted_and_unique(self) -> None:
        """Thresholds are kept in order; one given twice is refused."""
        assert _policy(Target(FIRST, "4h"), warn_at=[0.9, 0.5]).warn_at == (0.5, 0.9)
        assert _policy(Target(FIRST, "4h"), warn_at=()).warn_at == ()
        with pytest.raises(ValidationError, match="twice"):
            _policy(Target(FIRST, "4h"), warn_at=(0.5, 0.5))

    def test_refuses_a_tier_without_tier_field(self) -> None:
        """A target for a tier needs the field that holds the tier."""
        with pytest.raises(ValidationError, match="tier_field"):
            _policy(Target(FIRST, "1h", tier="gold"))

    def test_refuses_what_is_not_a_calendar_or_a_target(self) -> None:
        """The calendar must be a BusinessCalendar and targets Target objects."""
        with pytest.raises(ValidationError, match="BusinessCalendar"):
            _policy(Target(FIRST, "4h"), calendar="9-5")
        with pytest.raises(ValidationError, match="not a Target"):
            SLAPolicy(targets=[{"kind": "first_response", "within": "4h"}])


class TestTargetFor:
    POLICY = _policy(
        Target(FIRST, "8h"),
        Target(FIRST, "4h", priority="P2"),
        Target(FIRST, "6h", queue="it"),
        Target(FIRST, "2h", priority="P2", queue="it"),
        Target(FIRST, "3h", tier="gold"),
        Target(FIRST, "1h", priority="P2", queue="it", tier="gold"),
        Target(RESOLUTION, "5d"),
        tier_field="tier",
    )

    @pytest.mark.parametrize(
        ("changes", "within"),
        [
            ({}, "8h"),
            ({"priority": Priority.P2}, "4h"),
            ({"queue": "it"}, "6h"),
            ({"priority": Priority.P2, "queue": "it"}, "2h"),
            ({"fields": {"tier": "gold"}}, "3h"),
            ({"priority": Priority.P2, "fields": {"tier": "gold"}}, "4h"),
            ({"priority": Priority.P2, "queue": "it", "fields": {"tier": "gold"}}, "1h"),
            ({"queue": "it", "fields": {"tier": "silver"}}, "6h"),
        ],
    )
    def test_most_specific_target_wins(self, changes: dict[str, Any], within: str) -> None:
        """More narrowing keys win; between equals, priority beats queue beats tier."""
        found = self.POLICY.target_for(FIRST, ticket(**changes))
        assert found is not None
        assert found.within == parse_duration(within)

    def test_no_matching_target(self) -> None:
        """None when no target of the kind covers the ticket."""
        assert self.POLICY.target_for("next_response", ticket()) is None
        assert _policy(Target(FIRST, "1h", priority="P1")).target_for(FIRST, ticket()) is None

    def test_tier_is_read_from_the_tier_field(self) -> None:
        """The tier is the text in tier_field; no tier field, no tier."""
        assert self.POLICY.tier_of(ticket(fields={"tier": "gold"})) == "gold"
        assert self.POLICY.tier_of(ticket()) is None
        assert _policy(Target(FIRST, "1h")).tier_of(ticket(fields={"tier": "gold"})) is None


class TestCheckAgainstTheTracker:
    FIELDS: ClassVar[dict[str, FieldDef]] = {
        "tier": FieldDef("tier", "choice", choices=("gold", "silver"))
    }

    def test_known_names_pass(self) -> None:
        """A policy naming known queues, fields and tiers passes."""
        policy = _policy(Target(FIRST, "1h", queue="it", tier="gold"), tier_field="tier")
        policy.check(self.FIELDS, ["it", "support"])

    def test_unknown_tier_field(self) -> None:
        """A tier_field that is not a custom field is refused."""
        with pytest.raises(ValidationError, match="'level', which is not defined") as caught:
            _policy(Target(FIRST, "1h"), tier_field="level").check(self.FIELDS, ["it"])
        assert caught.value.field == "tier_field"

    def test_unknown_queue(self) -> None:
        """A target for a queue the tracker does not have is refused."""
        with pytest.raises(ValidationError, match="unknown queue 'ops'"):
            _policy(Target(FIRST, "1h", queue="ops")).check(self.FIELDS, ["it"])

    def test_tier_not_a_choice(self) -> None:
        """A tier that is not a choice of the tier field is refused."""
        with pytest.raises(ValidationError, match="'bronze'"):
            _policy(Target(FIRST, "1h", tier="bronze"), tier_field="tier").check(self.FIELDS, [])


_names = st.text("abcdefgh", min_size=1, max_size=6)


@st.composite
def policies(draw: st.DrawFn) -> SLAPolicy:
    scopes = draw(
        st.lists(
            st.tuples(
                st.sampled_from(list(TargetKind)),
                st.none() | st.sampled_from(list(Priority)),
                st.none() | _names,
                st.none() | _names,
            ),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    targets = tuple(
        Target(kind, draw(st.timedeltas(timedelta(seconds=1), timedelta(days=90))), p, q, t)
        for kind, p, q, t in scopes
    )
    tiered = any(t.tier is not None for t in targets)
    calendar = draw(
        st.sampled_from(
            [
                BusinessCalendar.always(),
                BusinessCalendar.weekdays(timezone="Europe/Berlin", holidays=["2026-12-25"]),
            ]
        )
    )
    return SLAPolicy(
        targets=targets,
        name=draw(_names),
        calendar=calendar,
        warn_at=draw(st.lists(st.floats(0.01, 0.99), unique=True, max_size=3)),
        tier_field=draw(_names) if tiered else draw(st.none() | _names),
    )


class TestData:
    def test_durations_use_the_compact_form(self) -> None:
        """within reads '1h 30m', '1.5h' or seconds, and writes the compact form."""
        for given_as in ("1h 30m", "1.5h", 5400, 5400.0, timedelta(minutes=90)):
            assert Target(FIRST, given_as).within == timedelta(minutes=90)
        assert Target(FIRST, "90m").to_data()["within"] == "1h 30m"

    def test_data_form(self) -> None:
        """Targets as kind/within plus the narrowing keys; durations as text."""
        policy = _policy(
            Target(FIRST, "4h"),
            Target(RESOLUTION, "2d 4h", priority="P1", queue="it", tier="gold"),
            tier_field="tier",
            warn_at=(0.5, 0.9),
            calendar=BusinessCalendar.weekdays(),
        )
        data = policy.to_data()
        assert data["targets"] == [
            {"kind": "first_response", "within": "4h"},
            {
                "kind": "resolution",
                "within": "2d 4h",
                "priority": "P1",
                "queue": "it",
                "tier": "gold",
            },
        ]
        assert (data["name"], data["warn_at"], data["tier_field"]) == (
            "default",
            [0.5, 0.9],
            "tier",
        )
        assert data["calendar"] == BusinessCalendar.weekdays().to_data()

    def test_minimal_data(self) -> None:
        """Only targets are required; seconds are accepted for within."""
        policy = SLAPolicy.from_data({"targets": [{"kind": "first_response", "within": 3600}]})
        assert policy == _policy(Target(FIRST, H))

    @given(policies())
    def test_round_trip_through_json(self, policy: SLAPolicy) -> None:
        """from_data(to_data()) gives the policy back, also after a trip through JSON."""
        assert SLAPolicy.from_data(policy.to_data()) == policy
        assert SLAPolicy.from_data(json.loads(json.dumps(policy.to_data()))) == policy

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ([], "must be a mapping"),
            ({}, "needs 'targets'"),
            ({"targets": "4h"}, "must be a list"),
            ({"targets": [], "tiers": []}, r"unknown keys \['tiers'\]"),
            ({"targets": [{"kind": "first_response"}]}, "needs 'within'"),
            ({"targets": [{"within": "1h"}]}, "needs 'kind'"),
            ({"targets": [{"kind": "resolution", "within": "1h", "when": 1}]}, "'when'"),
            ({"targets": ["resolution"]}, "must be a mapping"),
            ({"targets": [{"kind": "resolution", "within": "0s"}]}, "positive"),
            ({"targets": [{"kind": "resolution", "within": "1h"}], "warn_at": [2]}, "between"),
            ({"targets": [{"kind": "resolution", "within": "1h"}], "calendar": {}}, "hours"),
        ],
    )
    def test_bad_data(self, data: Any, message: str) -> None:
        """Bad data is refused with a message that names the problem."""
        with pytest.raises(ValidationError, match=message):
            SLAPolicy.from_data(data)
