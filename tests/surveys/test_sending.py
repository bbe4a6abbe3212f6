"""Surveys go to the reporter once per resolution, through the outbox and the notifiers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ticketkit import Automation, EventType, Notifications, ValidationError
from ticketkit.access import Principal, Role
from ticketkit.surveys import SurveyTokenError, check_token, rate

from .support import AGENT, CUSTOMER, START, desk, resolved, survey, token_in, types_of


class TestSending:
    def test_resolving_sends_a_survey_with_a_link(self) -> None:
        """Resolving queues and delivers one survey to the reporter, its link holding a token."""
        with desk() as (tracker, _, sent):
            key = resolved(tracker)
            [note] = sent
            assert (note.template, note.recipients, note.channel) == (
                "survey",
                (CUSTOMER,),
                "email",
            )
            assert note.subject == "[HD-1] How did we do? Printer jams"
            assert "https://help.example/survey?token=" in note.body
            assert "until 2026-03-16 09:00 UTC" in note.body
            assert check_token(tracker, token_in(note)).ticket_key == key
            assert [item.sent_at is not None for item in tracker.store.outbox()] == [True]

    def test_the_survey_is_recorded_as_a_notice(self) -> None:
        """survey_sent keeps the version and records the scale, expiry, agent and queue."""
        with desk(scale="1-5") as (tracker, _, _):
            key = resolved(tracker)
            last = tracker.history(key)[-1]
            assert last.type is EventType.SURVEY_SENT
            assert last.actor == "automation"
            assert last.version == tracker.get(key).version
            assert {k: v for k, v in last.data.items() if k != "survey"} == {
                "scale": "1-5",
                "expires": (START + timedelta(days=14)).isoformat(),
                "agent": AGENT,
                "queue": "support",
                "recipient": CUSTOMER,
            }

    def test_only_a_resolution_sends_one(self) -> None:
        """Opening, assigning, starting and closing send nothing; resolving sends one."""
        with desk() as (tracker, _, sent):
            key = tracker.open("Printer jams", actor=CUSTOMER).key
            tracker.assign(key, AGENT, actor="lead@example.com")
            tracker.transition(key, "start", actor=AGENT)
            assert sent == []
            tracker.transition(key, "resolve", actor=AGENT)
            tracker.transition(key, "close", actor=AGENT)
            tracker.comment(key, "Thanks!", actor=CUSTOMER)
            assert [n.template for n in sent] == ["survey"]
            assert types_of(tracker, key).count("survey_sent") == 1

    def test_no_survey_when_the_customer_resolved_it(self) -> None:
        """A reporter who resolves their own ticket is not asked how we did."""
        with desk() as (tracker, _, sent):
            key = tracker.open("Never mind", actor=CUSTOMER).key
            tracker.transition(key, "resolve", actor=CUSTOMER)
            assert sent == []
            assert "survey_sent" not in types_of(tracker, key)

    def test_no_survey_to_a_reporter_without_an_address(self) -> None:
        """With addresses_only, a reporter known by a login name gets none, and none is recorded."""
        with desk() as (tracker, _, sent):
            key = resolved(tracker, reporter="carol")
            assert sent == []
            assert "survey_sent" not in types_of(tracker, key)

    def test_a_survey_channel_of_its_own(self) -> None:
        """Survey(channel=...) sends through that notifier instead of the notifications'."""
        with desk(channel="survey") as (tracker, _, sent):
            resolved(tracker)
            assert [n.channel for n in sent] == ["survey"]

    def test_reopened_and_resolved_again_sends_a_new_survey(self) -> None:
        """Each resolution has its own survey; the newer one supersedes the older token."""
        with desk() as (tracker, clock, sent):
            key = resolved(tracker)
            first = token_in(sent[-1])
            clock.advance(hours=1)
            tracker.transition(key, "reopen", actor=CUSTOMER)
            assert check_token(tracker, first).ticket_key == key  # still answerable
            tracker.transition(key, "resolve", actor=AGENT)
            second = token_in(sent[-1])
            assert [n.template for n in sent] == ["survey", "survey"]
            before = tracker.history(key)
            with pytest.raises(SurveyTokenError) as refused:
                rate(tracker, first, "bad")
            assert refused.value.reason == "superseded"
            assert tracker.history(key) == before
            assert rate(tracker, second, "good").rating == "good"

    def test_subscribers_hear_of_the_survey_after_the_resolution(self) -> None:
        """survey_sent is published right after the resolving write's own events."""
        with desk() as (tracker, _, _):
            heard: list[str] = []
            tracker.subscribe(lambda e: heard.append(e.type.value))
            resolved(tracker)
            assert heard[-2:] == ["status_changed", "survey_sent"]
            tracker.comment("HD-1", "Thanks", actor=CUSTOMER)
            assert heard[-1] == "commented"
            assert heard.count("survey_sent") == 1

    def test_customers_do_not_see_survey_events(self) -> None:
        """survey_sent and csat_rated are staff-only in a customer's view of the history."""
        with desk() as (tracker, _, sent):
            key = resolved(tracker)
            rate(tracker, token_in(sent[-1]), "good", comment="Great")
            carol = tracker.session(Principal(CUSTOMER, Role.CUSTOMER, "default"))
            seen = {e.type for e in carol.history(key)}
            assert EventType.STATUS_CHANGED in seen
            assert not seen & {EventType.SURVEY_SENT, EventType.CSAT_RATED}
            assert {EventType.SURVEY_SENT, EventType.CSAT_RATED} <= {
                e.type for e in tracker.history(key)
            }


class TestDelay:
    def test_a_delayed_survey_goes_out_from_run_due(self) -> None:
        """With delay='1h' nothing goes out on resolving; run_due sends it an hour later, once."""
        with desk(delay="1h") as (tracker, clock, sent):
            key = resolved(tracker)
            assert sent == []
            heard: list[str] = []
            tracker.subscribe(lambda e: heard.append(e.type.value))
            clock.advance(minutes=59)
            tracker.run_due()
            assert sent == []
            clock.advance(minutes=1)
            tracker.run_due()
            tracker.run_due()
            assert [n.template for n in sent] == ["survey"]
            assert types_of(tracker, key).count("survey_sent") == 1
            assert heard == ["survey_sent"]
            assert check_token(tracker, token_in(sent[0])).expires == clock.now() + timedelta(
                days=14
            )

    def test_reopened_before_the_delay_sends_nothing(self) -> None:
        """A ticket reopened before its survey fell due owes none for that resolution."""
        with desk(delay="1h") as (tracker, clock, sent):
            key = resolved(tracker)
            clock.advance(minutes=30)
            tracker.transition(key, "reopen", actor=CUSTOMER)
            clock.advance(hours=2)
            tracker.run_due()
            assert sent == []

    def test_a_survey_too_late_for_its_validity_is_dropped(self) -> None:
        """Surveys turned on later do not mail the customers of old resolutions."""
        with desk() as (tracker, clock, sent):
            tracker.automation = None
            resolved(tracker)
            clock.advance(days=15)
            tracker.automation = Automation(
                notifications=Notifications(send=()), survey=survey(delay="1h")
            )
            tracker.reschedule()
            tracker.run_due()
            assert sent == []


class TestSettingsAgainstTheTracker:
    def test_a_survey_needs_notifications(self) -> None:
        """Without Notifications a survey could not be sent: refused when it is set."""
        with desk() as (tracker, _, _):
            with pytest.raises(ValidationError, match="notifications") as refused:
                tracker.automation = Automation(survey=survey())
            assert refused.value.field == "survey"
