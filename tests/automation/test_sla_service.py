"""SLA clocks on a tracker: status, warnings and breaches recorded once, escalation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from automation.support import BACKENDS, tracker_on
from ticketkit import Automation, EventType, Notifications, ValidationError
from ticketkit.rules import EscalationLevel, EscalationPolicy, OnEvent, Reply, Rule
from ticketkit.sla import BusinessCalendar, ClockState, SLAPolicy, Target, TargetKind

POLICY = SLAPolicy(
    targets=(
        Target(TargetKind.FIRST_RESPONSE, timedelta(hours=4)),
        Target(TargetKind.RESOLUTION, timedelta(hours=8)),
    ),
    warn_at=(0.75,),
)
AGENT = "alice@example.com"
LEAD = "lead@example.com"
CUSTOMER = "bob@example.com"


def automation(**extra: object) -> Automation:
    return Automation(sla=POLICY, **extra)  # type: ignore[arg-type]


def notices(tracker, key: str, kind: EventType) -> list[dict]:
    return [dict(e.data) for e in tracker.history(key) if e.type is kind]


@pytest.mark.parametrize("backend", BACKENDS)
class TestClocksOnATracker:
    def test_status_of_a_new_ticket(self, backend: str, tmp_path: Path) -> None:
        """A new ticket's first-response and resolution clocks run from its opening."""
        with tracker_on(backend, tmp_path, automation=automation()) as (tracker, clock, _):
            ticket = tracker.open("Mail is down", actor=CUSTOMER)
            clock.advance(hours=1)
            status = tracker.sla_status(ticket.key)
            first = status.target(TargetKind.FIRST_RESPONSE)
            assert first is not None
            assert first.state is ClockState.RUNNING
            assert first.due == ticket.created + timedelta(hours=4)
            assert first.remaining == timedelta(hours=3)

    def test_warning_then_breach_each_recorded_once(self, backend: str, tmp_path: Path) -> None:
        """At 75 % a warning, at 100 % a breach: each once, however often run_due runs."""
        with tracker_on(backend, tmp_path, automation=automation()) as (tracker, clock, _):
            ticket = tracker.open("Mail is down", actor=CUSTOMER)
            clock.advance(hours=2)
            assert tracker.run_due().sla_warnings == 0
            clock.advance(hours=1)
            first = tracker.run_due()
            assert first.sla_warnings == 1
            assert tracker.run_due().sla_warnings == 0
            warned = notices(tracker, ticket.key, EventType.SLA_WARNING)
            assert [(w["target"], w["threshold"]) for w in warned] == [("first_response", 0.75)]
            clock.advance(hours=1)
            assert tracker.run_due().sla_breaches == 1
            clock.advance(hours=10)
            later = tracker.run_due()
            # The resolution clock warned at 6 h and broke at 8 h: both fall in this run,
            # and a warning overtaken by its breach is not recorded.
            assert (later.sla_warnings, later.sla_breaches) == (0, 1)
            tracker.run_due()
            breached = notices(tracker, ticket.key, EventType.SLA_BREACHED)
            assert sorted(b["target"] for b in breached) == ["first_response", "resolution"]
            assert tracker.sla_status(ticket.key).target(TargetKind.RESOLUTION).state is (
                ClockState.BREACHED
            )
            # Notices never change the ticket: same version, and as_of still rebuilds it.
            assert tracker.get(ticket.key).version == ticket.version
            assert tracker.as_of(ticket.key, clock.now()) == tracker.get(ticket.key)

    def test_an_agent_reply_meets_first_response(self, backend: str, tmp_path: Path) -> None:
        """A public reply by someone other than the customer stops the first-response clock."""
        with tracker_on(backend, tmp_path, automation=automation()) as (tracker, clock, _):
            ticket = tracker.open("Mail is down", actor=CUSTOMER)
            clock.advance(hours=1)
            tracker.comment(ticket.key, "Internal only", actor=AGENT, internal=True)
            assert tracker.sla_status(ticket.key).target(TargetKind.FIRST_RESPONSE).state is (
                ClockState.RUNNING
            )
            tracker.comment(ticket.key, "Looking at it", actor=AGENT)
            clock.advance(hours=10)
            tracker.run_due()
            first = tracker.sla_status(ticket.key).target(TargetKind.FIRST_RESPONSE)
            assert first.state is ClockState.MET
            targets = [n["target"] for n in notices(tracker, ticket.key, EventType.SLA_BREACHED)]
            assert targets == ["resolution"]

    def test_an_automatic_reply_is_not_a_response(self, backend: str, tmp_path: Path) -> None:
        """A rule's reply to a new ticket leaves the first-response clock running."""
        thanks = Rule(
            name="thanks",
            trigger=OnEvent(frozenset({EventType.OPENED})),
            actions=(Reply("We have received $key"),),
        )
        with tracker_on(backend, tmp_path, automation=automation(rules=[thanks])) as (
            tracker,
            _,
            _i,
        ):
            ticket = tracker.open("Mail is down", actor=CUSTOMER)
            assert [c.author for c in tracker.comments(ticket.key)] == ["rule:thanks"]
            first = tracker.sla_status(ticket.key).target(TargetKind.FIRST_RESPONSE)
            assert first.state is ClockState.RUNNING

    def test_waiting_for_the_customer_pauses(self, backend: str, tmp_path: Path) -> None:
        """In a pending state the clocks stop; nothing falls due until the ticket moves on."""
        with tracker_on(backend, tmp_path, automation=automation()) as (tracker, clock, _):
            ticket = tracker.open("Mail is down", actor=CUSTOMER)
            tracker.transition(ticket.key, "start", actor=AGENT)
            tracker.comment(ticket.key, "Which client?", actor=AGENT)
            clock.advance(hours=1)
            tracker.transition(ticket.key, "wait_for_customer", actor=AGENT)
            clock.advance(days=3)
            assert tracker.run_due().sla_breaches == 0
            resolution = tracker.sla_status(ticket.key).target(TargetKind.RESOLUTION)
            assert resolution.state is ClockState.PAUSED
            assert resolution.elapsed == timedelta(hours=1)
            tracker.transition(ticket.key, "customer_replied", actor=CUSTOMER)
            clock.advance(hours=7)
            assert tracker.run_due().sla_breaches == 1


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
class TestEscalation:
    def test_a_breach_escalates_and_notifies(self, backend: str, tmp_path: Path) -> None:
        """A breach moves the ticket to the next level: assigned, recorded and told."""
        policy = EscalationPolicy(
            levels=(EscalationLevel("lead", assign_to=LEAD, notify=("assignee",)),),
        )
        with tracker_on(
            backend,
            tmp_path,
            automation=automation(escalation=policy, notifications=Notifications()),
        ) as (tracker, clock, inbox):
            ticket = tracker.open("Mail is down", actor=CUSTOMER, assignee=AGENT)
            clock.advance(hours=4)
            report = tracker.run_due()
            assert (report.sla_breaches, report.escalations) == (1, 1)
            after = tracker.get(ticket.key)
            assert after.assignee == LEAD
            assert after.version == ticket.version + 1
            escalated = notices(tracker, ticket.key, EventType.ESCALATED)
            assert [e["level"] for e in escalated] == ["lead"]
            # At the top level a further breach records the breach and escalates no more.
            clock.advance(hours=10)
            assert tracker.run_due().escalations == 0
            assert "escalated" in inbox.templates()
            assert inbox.to(LEAD)


class TestSettings:
    def test_sla_status_without_a_policy(self) -> None:
        """A tracker without an SLA policy says so."""
        from ticketkit import Tracker

        tracker = Tracker.in_memory()
        ticket = tracker.open("x", actor=CUSTOMER)
        with pytest.raises(ValidationError, match="no SLA policy"):
            tracker.sla_status(ticket.key)

    def test_a_policy_naming_an_unknown_queue_is_refused(self) -> None:
        """Automation is checked against the tracker when it is set."""
        from ticketkit import Tracker

        bad = SLAPolicy(targets=(Target(TargetKind.RESOLUTION, timedelta(hours=1), queue="nope"),))
        with pytest.raises(ValidationError, match="nope"):
            Tracker.in_memory(automation=Automation(sla=bad))

    def test_business_hours_move_the_due_time(self) -> None:
        """On a 9-17 calendar, 4 business hours from Friday 15:00 end on Monday 11:00."""
        from datetime import UTC, datetime

        from ticketkit import FrozenClock, Tracker

        calendar = BusinessCalendar.weekdays("09:00", "17:00", timezone="UTC")
        policy = SLAPolicy(
            targets=(Target(TargetKind.FIRST_RESPONSE, timedelta(hours=4)),), calendar=calendar
        )
        clock = FrozenClock(datetime(2026, 1, 9, 15, 0, tzinfo=UTC))
        tracker = Tracker.in_memory(clock=clock, automation=Automation(sla=policy))
        ticket = tracker.open("x", actor=CUSTOMER)
        due = tracker.sla_status(ticket.key).target(TargetKind.FIRST_RESPONSE).due
        assert due == datetime(2026, 1, 12, 11, 0, tzinfo=UTC)
        assert tracker.store.next_due() == datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
