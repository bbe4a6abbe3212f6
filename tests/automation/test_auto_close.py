"""Auto-close: resolved tickets close, waiting tickets are reminded and then closed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from automation.support import BACKENDS, tracker_on
from ticketkit import AutoClose, Automation, EventType, Notifications, ValidationError

AGENT = "alice@example.com"
CUSTOMER = "bob@example.com"
SETTINGS = AutoClose(
    resolved_after=timedelta(days=7),
    remind_after=timedelta(days=3),
    close_pending_after=timedelta(days=7),
)


@pytest.mark.parametrize("backend", BACKENDS)
class TestAutoClose:
    def test_a_resolved_ticket_closes_after_the_wait(self, backend: str, tmp_path: Path) -> None:
        """Seven days after resolution, with no customer reply, the ticket is closed."""
        with tracker_on(backend, tmp_path, automation=Automation(auto_close=SETTINGS)) as (
            tracker,
            clock,
            _,
        ):
            ticket = tracker.open("Mail", actor=CUSTOMER)
            tracker.transition(ticket.key, "resolve", actor=AGENT)
            clock.advance(days=6)
            assert tracker.run_due().closed == 0
            clock.advance(days=1)
            assert tracker.run_due().closed == 1
            closed = tracker.get(ticket.key)
            assert closed.status == "closed"
            last = tracker.history(ticket.key)[-1]
            assert (last.type, last.actor, last.data["action"]) == (
                EventType.STATUS_CHANGED,
                "automation",
                "close",
            )
            assert tracker.run_due().closed == 0

    def test_a_customer_reply_restarts_the_wait(self, backend: str, tmp_path: Path) -> None:
        """The wait counts from the customer's last reply when that is later."""
        with tracker_on(backend, tmp_path, automation=Automation(auto_close=SETTINGS)) as (
            tracker,
            clock,
            _,
        ):
            ticket = tracker.open("Mail", actor=CUSTOMER)
            tracker.transition(ticket.key, "resolve", actor=AGENT)
            clock.advance(days=5)
            tracker.comment(ticket.key, "Works now, thanks", actor=CUSTOMER)
            clock.advance(days=5)
            assert tracker.run_due().closed == 0
            clock.advance(days=2)
            assert tracker.run_due().closed == 1

    def test_waiting_tickets_are_reminded_then_closed(self, backend: str, tmp_path: Path) -> None:
        """Pending for 3 days: a reminder to the customer; for 7: resolved by the workflow."""
        automation = Automation(auto_close=SETTINGS, notifications=Notifications())
        with tracker_on(backend, tmp_path, automation=automation) as (tracker, clock, inbox):
            ticket = tracker.open("VPN", actor=CUSTOMER)
            tracker.transition(ticket.key, "start", actor=AGENT)
            tracker.transition(ticket.key, "wait_for_customer", actor=AGENT)
            inbox.sent.clear()
            clock.advance(days=3)
            assert tracker.run_due().reminders == 1
            assert tracker.run_due().reminders == 0
            assert [n.template for n in inbox.to(CUSTOMER)] == ["reminder"]
            reminder = inbox.to(CUSTOMER)[0]
            assert ticket.key in reminder.subject
            assert "waiting for your reply since 2026-01-05" in reminder.body
            clock.advance(days=4)
            report = tracker.run_due()
            assert report.closed == 1
            # helpdesk has no action from pending straight to closed: it resolves.
            assert tracker.get(ticket.key).status == "resolved"
            clock.advance(days=7)
            assert tracker.run_due().closed == 1
            assert tracker.get(ticket.key).status == "closed"


class TestSettings:
    def test_remind_after_must_come_first(self) -> None:
        with pytest.raises(ValidationError, match="remind_after"):
            AutoClose(remind_after=timedelta(days=8), close_pending_after=timedelta(days=7))

    def test_non_positive_waits_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="resolved_after"):
            AutoClose(resolved_after=timedelta(0))

    def test_round_trip(self) -> None:
        assert AutoClose.from_data(SETTINGS.to_data()) == SETTINGS

    def test_a_step_turned_off_round_trips_through_toml(self) -> None:
        """TOML has no null: a step turned off is written "off"."""
        import tomllib

        from ticketkit._workflow_data import toml_document

        quiet = AutoClose(remind_after=None, resolved_after=None)
        data = tomllib.loads(toml_document(quiet.to_data()))
        assert data["remind_after"] == "off"
        assert AutoClose.from_data(data) == quiet

    def test_unknown_action_is_refused(self) -> None:
        from ticketkit import Tracker

        with pytest.raises(ValidationError, match="vanish"):
            Tracker.in_memory(automation=Automation(auto_close=AutoClose(close_action="vanish")))


def test_a_refused_close_keeps_the_work_done_before_it(tmp_path: Path) -> None:
    """When the workflow refuses the auto-close, a timed rule's reply of the same run stays,
    with its event; the refusal is counted and not retried until the ticket changes."""
    from ticketkit.rules import Anchor, Elapsed, Reply, Rule

    nudge = Rule(
        name="nudge",
        trigger=Elapsed(Anchor.STATUS_CHANGE, timedelta(days=1), business=False),
        actions=(Reply("Still waiting for you on $key"),),
    )
    refused = AutoClose(remind_after=None, close_pending_after=timedelta(days=1),
                        pending_action="start")  # fmt: skip
    automation = Automation(auto_close=refused, rules=[nudge])
    with tracker_on("sqlite", tmp_path, automation=automation) as (tracker, clock, _):
        ticket = tracker.open("VPN", actor=CUSTOMER)
        tracker.transition(ticket.key, "start", actor=AGENT)
        tracker.transition(ticket.key, "wait_for_customer", actor=AGENT)
        clock.advance(days=1)
        report = tracker.run_due()
        assert (report.rules, report.closed, report.errors) == (1, 0, 1)
        replies = [c for c in tracker.comments(ticket.key) if c.author == "rule:nudge"]
        assert len(replies) == 1
        commented = [e for e in tracker.history(ticket.key) if e.type is EventType.COMMENTED]
        assert replies[0].id in {e.data["comment_id"] for e in commented}
        assert tracker.get(ticket.key).status == "pending_customer"
        assert tracker.store.next_due() is None
