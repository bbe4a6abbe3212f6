"""Automation rules on a tracker: event triggers, timed triggers, the depth limit."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from automation.support import BACKENDS, tracker_on
from ticketkit import Automation, EventType, Priority, ValidationError
from ticketkit.rules import (
    AddTag,
    Anchor,
    Elapsed,
    FieldIs,
    HasTag,
    Note,
    OnEvent,
    Rule,
    RuleSet,
    SetPriority,
    Transition,
)

AGENT = "alice@example.com"
CUSTOMER = "bob@example.com"


def applied(tracker, key: str) -> list[str]:
    return [e.data["rule"] for e in tracker.history(key) if e.type is EventType.RULE_APPLIED]


@pytest.mark.parametrize("backend", BACKENDS)
class TestEventRules:
    def test_a_rule_acts_on_the_event_that_triggers_it(self, backend: str, tmp_path: Path) -> None:
        """A VIP ticket opened gets priority P1 in one further write, by the rule."""
        vip = Rule(
            name="vip-first",
            trigger=OnEvent(frozenset({EventType.OPENED})),
            when=HasTag("vip"),
            actions=(SetPriority(Priority.P1), AddTag("escalated")),
        )
        with tracker_on(backend, tmp_path, automation=Automation(rules=[vip])) as (tracker, _, _i):
            plain = tracker.open("Printer", actor=CUSTOMER)
            ticket = tracker.open("CEO laptop", actor=CUSTOMER, tags=["vip"])
            now = tracker.get(ticket.key)
            assert now.priority is Priority.P1
            assert now.tags == {"vip", "escalated"}
            assert now.version == 2
            changes = [e for e in tracker.history(ticket.key) if e.version == 2]
            assert {e.actor for e in changes} == {"rule:vip-first"}
            assert applied(tracker, ticket.key) == ["vip-first"]
            assert tracker.get(plain.key).priority is Priority.P3
            assert applied(tracker, plain.key) == []

    def test_a_customer_reply_reopens_a_waiting_ticket(self, backend: str, tmp_path: Path) -> None:
        """`by: customer` tells the reporter's reply from an agent's."""
        reopen = Rule(
            name="customer-replied",
            trigger=OnEvent(frozenset({EventType.COMMENTED}), by="customer"),
            when=FieldIs("status", "eq", "pending_customer"),
            actions=(Transition("customer_replied"),),
        )
        with tracker_on(backend, tmp_path, automation=Automation(rules=[reopen])) as (
            tracker,
            _,
            _i,
        ):
            ticket = tracker.open("VPN", actor=CUSTOMER)
            tracker.transition(ticket.key, "start", actor=AGENT)
            tracker.transition(ticket.key, "wait_for_customer", actor=AGENT)
            tracker.comment(ticket.key, "Anything else?", actor=AGENT)
            assert tracker.get(ticket.key).status == "pending_customer"
            tracker.comment(ticket.key, "Here is the log", actor=CUSTOMER)
            assert tracker.get(ticket.key).status == "open"


class TestDepthLimit:
    def test_a_rule_that_triggers_itself_stops_at_the_limit(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A rule whose note triggers it again runs max_depth times, then stops with a warning."""
        from ticketkit import Tracker

        echo = Rule(
            name="echo",
            trigger=OnEvent(frozenset({EventType.COMMENTED})),
            actions=(Note("echo of $key"),),
        )
        tracker = Tracker.in_memory(automation=Automation(rules=RuleSet((echo,), max_depth=4)))
        ticket = tracker.open("Loop", actor=CUSTOMER)
        with caplog.at_level(logging.WARNING, logger="ticketkit"):
            tracker.comment(ticket.key, "start", actor=CUSTOMER)
        notes = [c for c in tracker.comments(ticket.key) if c.author == "rule:echo"]
        assert len(notes) == 4
        assert notes[0].body == f"echo of {ticket.key}"
        assert any("max_depth" in r.getMessage() for r in caplog.records)
        # The next change starts again from depth 0: the limit is per chain, not global.
        tracker.comment(ticket.key, "again", actor=CUSTOMER)
        assert len([c for c in tracker.comments(ticket.key) if c.author == "rule:echo"]) == 8


@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgresql"])
class TestTimedRules:
    def test_fires_once_per_customer_reply(self, backend: str, tmp_path: Path) -> None:
        """'8 hours since the last customer reply' fires once, and again after a new reply."""
        nudge = Rule(
            name="nudge",
            trigger=Elapsed(Anchor.CUSTOMER_REPLY, timedelta(hours=8), business=False),
            when=FieldIs("category", "eq", "active"),
            actions=(Note("Customer waits since their last reply"), AddTag("waiting")),
        )
        with tracker_on(backend, tmp_path, automation=Automation(rules=[nudge])) as (
            tracker,
            clock,
            _,
        ):
            ticket = tracker.open("Disk full", actor=CUSTOMER)
            tracker.transition(ticket.key, "start", actor=AGENT)
            tracker.comment(ticket.key, "Still broken", actor=CUSTOMER)
            clock.advance(hours=7)
            assert tracker.run_due().rules == 0
            clock.advance(hours=1)
            assert tracker.run_due().rules == 1
            assert tracker.run_due().rules == 0
            assert "waiting" in tracker.get(ticket.key).tags
            tracker.comment(ticket.key, "Hello?", actor=CUSTOMER)
            clock.advance(hours=8)
            assert tracker.run_due().rules == 1
            assert applied(tracker, ticket.key) == ["nudge", "nudge"]

    def test_condition_false_at_due_time(self, backend: str, tmp_path: Path) -> None:
        """A timed rule whose condition fails when due does nothing and is not retried in a loop."""
        nudge = Rule(
            name="nudge",
            trigger=Elapsed(Anchor.CREATED, timedelta(hours=1), business=False),
            when=HasTag("urgent"),
            actions=(AddTag("nudged"),),
        )
        with tracker_on(backend, tmp_path, automation=Automation(rules=[nudge])) as (
            tracker,
            clock,
            _,
        ):
            ticket = tracker.open("Quiet", actor=CUSTOMER)
            clock.advance(hours=2)
            assert tracker.run_due().rules == 0
            assert tracker.store.next_due() is None
            # The condition comes true later: the next change schedules it at once.
            tracker.update(ticket.key, add_tags=["urgent"], actor=AGENT)
            assert tracker.run_due().rules == 1
            assert "nudged" in tracker.get(ticket.key).tags


class TestBadRules:
    def test_a_rule_naming_an_unknown_field_is_refused(self) -> None:
        """Rules are checked against the tracker's fields when automation is set."""
        from ticketkit import Tracker

        rule = Rule(
            name="bad",
            trigger=OnEvent(frozenset({EventType.OPENED})),
            when=FieldIs("fields.severity", "eq", "high"),
            actions=(AddTag("x"),),
        )
        with pytest.raises(ValidationError, match="severity"):
            Tracker.in_memory(automation=Automation(rules=[rule]))

    def test_a_rule_naming_an_unknown_action_is_refused(self) -> None:
        from ticketkit import Tracker

        rule = Rule(
            name="bad",
            trigger=OnEvent(frozenset({EventType.OPENED})),
            actions=(Transition("teleport"),),
        )
        with pytest.raises(ValidationError, match="teleport"):
            Tracker.in_memory(automation=Automation(rules=[rule]))


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
class TestRulesOnScheduledEvents:
    def test_a_warning_escalates_through_a_rule(self, backend: str, tmp_path: Path) -> None:
        """A rule on sla_warning escalates: the scheduler's events trigger rules too."""
        from ticketkit.rules import Escalate, EscalationLevel, EscalationPolicy
        from ticketkit.sla import SLAPolicy, Target, TargetKind

        sla = SLAPolicy(targets=(Target(TargetKind.RESOLUTION, timedelta(hours=4)),))
        escalation = EscalationPolicy(
            levels=(EscalationLevel("lead", assign_to="lead"), EscalationLevel("boss")),
            on=frozenset(),  # only rules escalate
        )
        rule = Rule(
            name="warn-up",
            trigger=OnEvent(frozenset({EventType.SLA_WARNING})),
            when=FieldIs("priority", "le", "P3"),
            actions=(Escalate(), AddTag("escalated")),
        )
        automation = Automation(sla=sla, rules=[rule], escalation=escalation)
        with tracker_on(backend, tmp_path, automation=automation) as (tracker, clock, _):
            ticket = tracker.open("Server room hot", actor=CUSTOMER, assignee=AGENT)
            clock.advance(hours=3)
            report = tracker.run_due()
            assert (report.sla_warnings, report.escalations) == (1, 0)
            after = tracker.get(ticket.key)
            assert after.assignee == "lead"
            assert "escalated" in after.tags
            kinds = [e.type for e in tracker.history(ticket.key)]
            assert kinds.index(EventType.SLA_WARNING) < kinds.index(EventType.ESCALATED)
            assert applied(tracker, ticket.key) == ["warn-up"]
            clock.advance(hours=2)
            assert tracker.run_due().sla_breaches == 1
            assert tracker.get(ticket.key).assignee == "lead"  # a breach escalates no further
