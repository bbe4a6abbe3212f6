"""Escalation levels: climbing them from events, the escalated event, data."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies
from ticketkit import ValidationError
from ticketkit._events import NOTICE_TYPES, Event, EventType
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit._workflow_data import toml_document
from ticketkit.rules import EscalationLevel, EscalationPolicy

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICKET = Ticket(
    id=7,
    key="HD-7",
    title="Mail is down",
    description="",
    status="open",
    priority=Priority.P3,
    reporter="bob@example.com",
    queue="support",
    created=NOW,
    updated=NOW,
    version=4,
)
POLICY = EscalationPolicy(
    (
        EscalationLevel("tier2", assign_to="lead", priority="P2", notify=("assignee",)),
        EscalationLevel("tier3", queue="engineering", add_tags={"Escalated"}),
        EscalationLevel("management", notify=("boss@example.com", "watchers")),
    )
)


def escalated(level: str, minutes: int = 0) -> Event:
    return Event(
        TICKET.id,
        TICKET.key,
        TICKET.version,
        EventType.ESCALATED,
        "sla",
        NOW + timedelta(minutes=minutes),
        data={"level": level, "reason": "breach:resolution", "from": None},
    )


def commented(minutes: int = 0) -> Event:
    return Event(
        TICKET.id,
        TICKET.key,
        TICKET.version,
        EventType.COMMENTED,
        "alice",
        NOW + timedelta(minutes=minutes),
        data={"level": "tier3"},
    )


class TestLevels:
    def test_a_ticket_never_escalated_has_no_level_and_climbs_to_the_first(self) -> None:
        """Without escalated events the current level is None and the next the first."""
        assert POLICY.current_level([]) is None
        assert POLICY.next_level([commented()]) == POLICY.levels[0]

    def test_the_latest_escalated_event_gives_the_current_level(self) -> None:
        """The level named by the last escalated event is current; the next follows it."""
        events = [escalated("tier2", 1), commented(2), escalated("tier3", 3), commented(4)]
        assert POLICY.current_level(events) == POLICY.level("tier3")
        assert POLICY.next_level(events) == POLICY.level("management")

    def test_the_top_level_has_no_next(self) -> None:
        """At the last level next_level is None: there is nowhere higher to go."""
        assert POLICY.next_level([escalated("management")]) is None

    def test_levels_the_policy_no_longer_has_are_passed_over(self) -> None:
        """An escalation to a removed level is ignored; the one before it counts."""
        events = [escalated("tier2", 1), escalated("tier9", 2)]
        assert POLICY.current_level(events) == POLICY.level("tier2")
        assert POLICY.current_level([escalated("gone")]) is None

    def test_an_escalated_event_with_odd_data_is_passed_over(self) -> None:
        """A level that is not a string (hand-edited history) does not break anything."""
        odd = Event(1, "HD-1", 1, EventType.ESCALATED, "x", NOW, data={"level": ["tier3"]})
        assert POLICY.current_level([escalated("tier2"), odd]) == POLICY.level("tier2")

    def test_level_looks_up_by_name(self) -> None:
        """level(name) returns that level and refuses unknown names, listing the known."""
        assert POLICY.level("tier3").queue == "engineering"
        with pytest.raises(ValidationError, match="unknown escalation level 'tier4'; the levels"):
            POLICY.level("tier4")

    def test_level_values_are_normalised(self) -> None:
        """Priority names become Priority values and tags are lower-cased."""
        assert POLICY.level("tier2").priority is Priority.P2
        assert POLICY.level("tier3").add_tags == {"escalated"}


class TestAppliesTo:
    def test_by_default_breaches_of_every_target_escalate(self) -> None:
        """The default policy escalates on breaches of any target, not on warnings."""
        for target in ("first_response", "next_response", "resolution"):
            assert POLICY.applies_to("breach", target)
            assert not POLICY.applies_to("warning", target)

    def test_the_sla_event_types_name_the_triggers(self) -> None:
        """sla_warning and sla_breached events stand for warning and breach."""
        assert POLICY.applies_to(EventType.SLA_BREACHED, "resolution")
        assert not POLICY.applies_to(EventType.SLA_WARNING, "resolution")
        with pytest.raises(ValidationError, match="trigger 'escalated'"):
            POLICY.applies_to(EventType.ESCALATED, "resolution")

    def test_on_and_targets_narrow_it(self) -> None:
        """Only the listed triggers on the listed targets escalate."""
        policy = EscalationPolicy(POLICY.levels, on={"warning"}, targets={"first_response"})
        assert policy.applies_to("warning", "first_response")
        assert not policy.applies_to("breach", "first_response")
        assert not policy.applies_to("warning", "resolution")

    def test_with_on_empty_only_rules_escalate(self) -> None:
        """on=[]: no SLA notice escalates; the policy is there for rules' escalate actions."""
        rules_only = EscalationPolicy(levels=(EscalationLevel("lead"),), on=frozenset())
        assert not any(
            rules_only.applies_to(trigger, target)
            for trigger in ("warning", "breach")
            for target in ("first_response", "next_response", "resolution")
        )
        assert EscalationPolicy.from_data(rules_only.to_data()) == rules_only

    @pytest.mark.parametrize(
        ("trigger", "target", "message"),
        [("late", "resolution", "trigger 'late'"), ("breach", "response", "target 'response'")],
    )
    def test_unknown_triggers_and_targets_are_refused(
        self, trigger: str, target: str, message: str
    ) -> None:
        """A typo in a trigger or target is an error, never a silent False."""
        with pytest.raises(ValidationError, match=message):
            POLICY.applies_to(trigger, target)


class TestEscalationEvent:
    def test_the_event_records_the_level_reason_and_previous_level(self) -> None:
        """An escalated notice event naming the level, the reason and where it came from."""
        event = POLICY.escalation_event(
            TICKET, "tier3", "breach:resolution", "sla", NOW, events=[escalated("tier2")]
        )
        assert event.type is EventType.ESCALATED
        assert (event.ticket_id, event.ticket_key, event.actor, event.at) == (7, "HD-7", "sla", NOW)
        assert event.data == {"level": "tier3", "reason": "breach:resolution", "from": "tier2"}
        assert event.field is None

    def test_the_event_keeps_the_ticket_version(self) -> None:
        """Escalation is a notice: the event carries the ticket's version, not a new one."""
        event = POLICY.escalation_event(TICKET, POLICY.levels[0], "rule:vip", "automation", NOW)
        assert event.version == TICKET.version
        assert event.type in NOTICE_TYPES
        assert event.data["from"] is None

    def test_the_recorded_event_moves_the_current_level(self) -> None:
        """After recording the event for next_level, the ticket is at that level."""
        events: list[Event] = []
        climbed = []
        while (level := POLICY.next_level(events)) is not None:
            events.append(
                POLICY.escalation_event(TICKET, level, "breach", "sla", NOW, events=events)
            )
            climbed.append(POLICY.current_level(events))
        assert climbed == list(POLICY.levels)
        assert [e.data["from"] for e in events] == [None, "tier2", "tier3"]

    def test_times_are_stored_in_utc(self) -> None:
        """An aware time in another zone is converted to UTC; a naive one is refused."""
        berlin = NOW.astimezone(timezone(timedelta(hours=1)))
        assert POLICY.escalation_event(TICKET, "tier2", "r", "sla", berlin).at.tzinfo is UTC
        with pytest.raises(ValidationError, match="naive"):
            POLICY.escalation_event(TICKET, "tier2", "r", "sla", datetime(2026, 3, 2, 9))

    @pytest.mark.parametrize(
        ("level", "reason", "actor", "message"),
        [
            ("tier9", "r", "sla", "unknown escalation level 'tier9'"),
            (EscalationLevel("tier2"), "r", "sla", "level 'tier2' given differs"),
            (EscalationLevel("other"), "r", "sla", "unknown escalation level 'other'"),
            ("tier2", " ", "sla", "reason must not be empty"),
            ("tier2", "a\nb", "sla", "reason contains the control character"),
            ("tier2", "r", "", "actor must not be empty"),
        ],
    )
    def test_bad_arguments_are_refused(
        self, level: Any, reason: str, actor: str, message: str
    ) -> None:
        """Unknown or foreign levels, empty reasons and actors raise ValidationError."""
        with pytest.raises(ValidationError, match=message):
            POLICY.escalation_event(TICKET, level, reason, actor, NOW)


names = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z")


@st.composite
def policies(draw: st.DrawFn) -> EscalationPolicy:
    levels = tuple(
        EscalationLevel(
            name,
            assign_to=draw(st.none() | strategies.names()),
            queue=draw(st.none() | strategies.names()),
            priority=draw(st.none() | st.sampled_from(Priority)),
            notify=tuple(draw(st.lists(strategies.names(), unique=True, max_size=3))),
            add_tags=draw(st.frozensets(strategies.tags(), max_size=3)),
        )
        for name in draw(st.lists(names, unique=True, min_size=1, max_size=4))
    )
    on = draw(st.frozensets(st.sampled_from(["warning", "breach"]), min_size=1))
    targets = draw(
        st.none()
        | st.frozensets(
            st.sampled_from(["first_response", "next_response", "resolution"]), min_size=1
        )
    )
    return EscalationPolicy(levels, on=on, targets=targets)


class TestPolicyData:
    @given(policies())
    def test_round_trip(self, policy: EscalationPolicy) -> None:
        """from_data(to_data(p)) == p, also through JSON and TOML."""
        data = policy.to_data()
        assert EscalationPolicy.from_data(data) == policy
        assert EscalationPolicy.from_data(json.loads(json.dumps(data))) == policy
        assert EscalationPolicy.from_data(tomllib.loads(toml_document(data))) == policy

    def test_the_documented_form(self) -> None:
        """The data form: defaults left out, priority by name, tags sorted."""
        policy = EscalationPolicy(POLICY.levels, on={"warning", "breach"}, targets={"resolution"})
        assert policy.to_data() == {
            "levels": [
                {"name": "tier2", "assign_to": "lead", "priority": "P2", "notify": ["assignee"]},
                {"name": "tier3", "queue": "engineering", "add_tags": ["escalated"]},
                {"name": "management", "notify": ["boss@example.com", "watchers"]},
            ],
            "on": ["breach", "warning"],
            "targets": ["resolution"],
        }
        assert EscalationPolicy.from_data({"levels": [{"name": "x"}]}).on == {"breach"}

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ("tier2", "the escalation policy must be a table"),
            ({}, "needs the key 'levels'"),
            ({"levels": []}, "at least one level"),
            ({"levels": "tier2"}, "levels must be a list"),
            ({"levels": [{"name": "a"}], "when": []}, "unknown key 'when'; use levels, on"),
            ({"levels": [{"name": "a"}, {"name": "a"}]}, "two escalation levels are named 'a'"),
            ({"levels": [{"name": "a", "priority": "P9"}]}, "level 'a': unknown priority 'P9'"),
            ({"levels": [{"name": "a", "assign": "x"}]}, "level 'a' has the unknown key 'assign'"),
            ({"levels": [{"assign_to": "x"}]}, "an escalation level needs the key 'name'"),
            ({"levels": [{"name": "a", "add_tags": ["two words"]}]}, "tag 'two words'"),
            ({"levels": [{"name": "a", "notify": "x@y.z"}]}, "notify must be a list"),
            ({"levels": [{"name": "a", "notify": ["x", "x"]}]}, "'x' is notified twice"),
            ({"levels": [{"name": "a"}], "on": ["late"]}, "on holds 'late'; use one or more"),
            ({"levels": [{"name": "a"}], "targets": ["response"]}, "targets holds 'response'"),
            ({"levels": [{"name": "a"}], "targets": []}, "targets is empty, so no SLA notice"),
        ],
    )
    def test_bad_data_is_refused_with_a_message_naming_it(self, data: Any, message: str) -> None:
        """Bad policy data raises ValidationError naming the bad key or value."""
        with pytest.raises(ValidationError, match=message):
            EscalationPolicy.from_data(data)


class TestPolicyCheck:
    def test_known_queues_pass_and_unknown_ones_are_refused(self) -> None:
        """A level moving tickets to a queue the tracker lacks is refused by name."""
        POLICY.check({}, ["support", "engineering"])
        with pytest.raises(ValidationError, match="'tier3' moves tickets to the queue 'engin"):
            POLICY.check({}, ["support"])
