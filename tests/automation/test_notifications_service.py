"""Notifications from a tracker: what is sent to whom, through the outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from automation.support import BACKENDS, tracker_on
from ticketkit import Automation, DuplicateReference, EventType, Notifications
from ticketkit.rules import Note, Notify, OnEvent, Rule

AGENT = "alice@example.com"
CUSTOMER = "bob@example.com"


def desk(**extra: object) -> Automation:
    return Automation(notifications=Notifications(), **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
class TestWhoIsTold:
    def test_acknowledgement_assignment_and_status(self, backend: str, tmp_path: Path) -> None:
        """The reporter gets an acknowledgement with the key; assignee and status changes follow."""
        with tracker_on(backend, tmp_path, automation=desk()) as (tracker, _, inbox):
            ticket = tracker.open("Mail is down", actor=CUSTOMER)
            (ack,) = inbox.to(CUSTOMER)
            assert ack.template == "created"
            assert ticket.key in ack.subject
            assert ticket.key in ack.body
            tracker.assign(ticket.key, AGENT, actor="lead@example.com")
            assert [n.template for n in inbox.to(AGENT)] == ["assigned"]
            tracker.transition(ticket.key, "start", actor=AGENT)
            assert [n.template for n in inbox.to(CUSTOMER)] == ["created", "status_changed"]
            # Customers are not told who works on their ticket.
            assert AGENT not in inbox.to(CUSTOMER)[1].body
            # Nobody is told about their own change.
            assert [n.template for n in inbox.to(AGENT)] == ["assigned"]
            assert tracker.store.outbox(pending=True) == []

    def test_a_failed_send_is_retried_and_undoes_nothing(
        self, backend: str, tmp_path: Path
    ) -> None:
        """A notifier that fails leaves the ticket stored and the message queued for run_due."""
        with tracker_on(backend, tmp_path, automation=desk()) as (tracker, clock, inbox):
            inbox.fail = OSError("mail server down")
            ticket = tracker.open("Mail is down", actor=CUSTOMER)
            assert tracker.get(ticket.key).title == "Mail is down"
            (waiting,) = tracker.store.outbox(pending=True)
            assert waiting.attempts == 1
            assert "mail server down" in (waiting.last_error or "")
            inbox.fail = None
            clock.advance(minutes=1)
            report = tracker.run_due()
            assert report.delivery is not None
            assert report.delivery.sent == 1
            assert [n.template for n in inbox.to(CUSTOMER)] == ["created"]
            assert tracker.store.outbox(pending=True) == []

    def test_a_rolled_back_write_sends_nothing(self, backend: str, tmp_path: Path) -> None:
        """The outbox is written in the change's transaction: no change, no message."""
        with tracker_on(backend, tmp_path, automation=desk()) as (tracker, _, inbox):
            tracker.open("First", actor=CUSTOMER, reference="crash-1")
            inbox.sent.clear()
            with pytest.raises(DuplicateReference):
                tracker.open("Second", actor="carol@example.com", reference="crash-1")
            assert inbox.sent == []
            assert all("Second" not in str(i.payload) for i in tracker.store.outbox())


def shared_desk() -> Automation:
    """A desk that knows its staff: everyone but the agent is a customer, CCs included."""
    return desk(customer=lambda ticket, actor: actor != AGENT)


@pytest.mark.parametrize("backend", BACKENDS)
class TestReplies:
    def test_public_replies_reach_the_reporter_and_ccs_notes_reach_nobody(
        self, backend: str, tmp_path: Path
    ) -> None:
        """A public reply goes to the reporter and watchers with its text; a note goes nowhere."""
        with tracker_on(backend, tmp_path, automation=shared_desk()) as (tracker, _, inbox):
            key = tracker.open("Mail is down", actor=CUSTOMER).key
            tracker.watch(key, "carol@example.com", actor=AGENT)
            tracker.assign(key, AGENT, actor=AGENT)
            inbox.sent.clear()
            tracker.comment(key, "Router 3 is suspect.", actor=AGENT, internal=True)
            assert inbox.sent == []
            tracker.comment(key, "We are restarting the mail server.", actor=AGENT)
            told = sorted((n.recipients, n.template) for n in inbox.sent)
            assert told == [
                (("bob@example.com",), "replied"),
                (("carol@example.com",), "replied"),
            ]
            assert all("We are restarting the mail server." in n.body for n in inbox.sent)
            assert all(AGENT not in n.body for n in inbox.sent)  # customers see "someone"

    def test_a_customers_reply_reaches_the_assignee_and_the_other_followers(
        self, backend: str, tmp_path: Path
    ) -> None:
        """The writer is not told; the assignee is; another customer never sees the address."""
        with tracker_on(backend, tmp_path, automation=shared_desk()) as (tracker, _, inbox):
            key = tracker.open("Mail is down", actor=CUSTOMER).key
            tracker.watch(key, "carol@example.com", actor=AGENT)
            tracker.assign(key, AGENT, actor=AGENT)
            inbox.sent.clear()
            tracker.comment(key, "Still down.", actor="carol@example.com")
            by = {n.recipients[0]: n for n in inbox.sent}
            assert sorted(by) == [AGENT, CUSTOMER]
            assert by[AGENT].body.startswith("carol@example.com replied")
            assert by[CUSTOMER].body.startswith("someone replied")
            assert "carol@example.com" not in by[CUSTOMER].body

    def test_a_reply_with_a_status_change_tells_both(self, backend: str, tmp_path: Path) -> None:
        with tracker_on(backend, tmp_path, automation=desk()) as (tracker, _, inbox):
            key = tracker.open("Mail is down", actor=CUSTOMER).key
            inbox.sent.clear()
            tracker.transition(key, "resolve", actor=AGENT, comment="Fixed.")
            assert sorted(n.template for n in inbox.to(CUSTOMER)) == ["replied", "status_changed"]

    def test_replied_can_be_turned_off(self, backend: str, tmp_path: Path) -> None:
        automation = Automation(notifications=Notifications(send={"created"}))
        with tracker_on(backend, tmp_path, automation=automation) as (tracker, _, inbox):
            key = tracker.open("Mail is down", actor=CUSTOMER).key
            tracker.comment(key, "On it.", actor=AGENT)
            assert [n.template for n in inbox.sent] == ["created"]


class TestOpenedAssigned:
    def test_an_assignee_given_or_routed_at_opening_is_told(self, tmp_path: Path) -> None:
        """A ticket opened with an assignee, or routed as it opens, tells the assignee."""
        from ticketkit.rules import Agent, Router

        router = Router(agents=(Agent("ann@example.com"),))
        with tracker_on("memory", tmp_path, automation=desk(router=router)) as (tracker, _, inbox):
            given = tracker.open("Given", actor=CUSTOMER, assignee=AGENT)
            routed = tracker.open("Routed", actor=CUSTOMER)
            assert [(n.template, n.ticket_key) for n in inbox.to(AGENT)] == [
                ("assigned", given.key)
            ]
            assert [(n.template, n.ticket_key) for n in inbox.to("ann@example.com")] == [
                ("assigned", routed.key)
            ]


class TestRulesAndPrivacy:
    def test_a_notify_action_and_internal_notes(self, tmp_path: Path) -> None:
        """A rule notifies whom it names; its internal note never reaches the customer."""
        rule = Rule(
            name="tell-watchers",
            trigger=OnEvent(frozenset({EventType.OPENED})),
            actions=(Note("zanzibar internal triage"), Notify("rule", to=("watchers",))),
        )
        with tracker_on("memory", tmp_path, automation=desk(rules=[rule])) as (
            tracker,
            _,
            inbox,
        ):
            ticket = tracker.open("Mail is down", actor=CUSTOMER, watchers=["watch@example.com"])
            assert [n.template for n in inbox.to("watch@example.com")] == ["rule"]
            assert all("zanzibar" not in n.body for n in inbox.to(CUSTOMER))
            notes = [c for c in tracker.comments(ticket.key) if c.internal]
            assert [c.body for c in notes] == ["zanzibar internal triage"]

    def test_sla_breach_goes_to_the_assignee(self, tmp_path: Path) -> None:
        from ticketkit.sla import SLAPolicy, Target, TargetKind

        sla = SLAPolicy(targets=(Target(TargetKind.RESOLUTION, timedelta(hours=1)),))
        with tracker_on("sqlite", tmp_path, automation=desk(sla=sla)) as (tracker, clock, inbox):
            tracker.open("x", actor=CUSTOMER, assignee=AGENT)
            clock.advance(minutes=50)
            tracker.run_due()
            clock.advance(hours=1)
            tracker.run_due()
            assert sorted(n.template for n in inbox.to(AGENT)) == [
                "assigned",
                "sla_breached",
                "sla_warning",
            ]


class TestThreading:
    def test_a_reply_to_the_acknowledgement_names_its_ticket(self, tmp_path: Path) -> None:
        """With a domain, notifications carry threading headers; a customer's reply to the
        acknowledgement parses back to the ticket even without the subject tag."""
        from ticketkit.intake import parse_message

        automation = Automation(notifications=Notifications(domain="help.example.com"))
        with tracker_on("memory", tmp_path, automation=automation) as (tracker, _, inbox):
            ticket = tracker.open("Printer", actor=CUSTOMER)
            (ack,) = inbox.to(CUSTOMER)
            assert ack.headers["Message-ID"].startswith(f"<tk.{ticket.key}.")
            assert ack.headers["References"] == f"<tk.{ticket.key}@help.example.com>"
            reply = (
                f"From: {CUSTOMER}\r\nTo: help@help.example.com\r\nSubject: Re: your ticket\r\n"
                f"Message-ID: <r1@customer.example>\r\nIn-Reply-To: {ack.headers['Message-ID']}\r\n"
                "\r\nIt works again.\r\n"
            ).encode()
            parsed = parse_message(reply, our_domain="help.example.com")
            assert parsed.ticket_key == ticket.key

    def test_without_a_domain_there_are_no_threading_headers(self, tmp_path: Path) -> None:
        with tracker_on("memory", tmp_path, automation=desk()) as (tracker, _, inbox):
            tracker.open("Printer", actor=CUSTOMER)
            assert "Message-ID" not in inbox.to(CUSTOMER)[0].headers

    def test_a_bad_domain_is_refused(self) -> None:
        from ticketkit import ValidationError

        with pytest.raises(ValidationError, match="domain"):
            Notifications(domain="not a host")
