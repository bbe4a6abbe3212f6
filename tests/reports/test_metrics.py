"""Every number of a report, computed by hand for the desk of ``desk.py``, on each store."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from ticketkit import Automation, Event, Query, Tracker, _scan
from ticketkit.access import Principal, Role
from ticketkit.reports import Compliance, Durations, PeriodRow, Report, build_report
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target
from ticketkit.storage.memory import MemoryStore

from .desk import CALENDAR, UNTIL, MakeTracker, at, defaults, desk, hours, tracker_factory


def report(make: MakeTracker, **options: object) -> Report:
    return build_report(desk(make), until=UNTIL, **options)  # type: ignore[arg-type]


def row(rep: Report, key: str) -> object:
    return next(t for t in rep.tickets if t.key == key)


class TestVolumeAndBacklog:
    def test_days(self, make: MakeTracker) -> None:
        """One row per day from the first ticket's day: opened, resolved, reopened, backlog."""
        rep = report(make)
        assert rep.since == at(5, 0)
        assert rep.until == UNTIL
        assert rep.backlog_at_start == 0
        assert [
            (p.start.day, p.opened, p.resolved, p.reopened, p.backlog) for p in rep.periods
        ] == [
            (5, 2, 1, 0, 1),
            (6, 1, 1, 0, 1),
            (7, 2, 2, 0, 1),  # HD-3 resolved and HD-4 merged
            (8, 0, 1, 1, 1),  # HD-3 reopened and resolved again
            (9, 1, 0, 0, 2),
            (10, 0, 0, 0, 2),
            (11, 0, 0, 0, 2),
            (12, 0, 1, 0, 1),
        ]

    def test_iso_weeks(self, make: MakeTracker) -> None:
        """Weeks start on Monday."""
        rep = report(make, period="week")
        assert rep.periods == (
            PeriodRow(start=date(2026, 1, 5), opened=6, resolved=5, reopened=1, backlog=2),
            PeriodRow(start=date(2026, 1, 12), opened=0, resolved=1, reopened=0, backlog=1),
        )

    def test_backlog_from_status_events_not_todays_state(self, make: MakeTracker) -> None:
        """At Wednesday 10:45, HD-3 (resolved since) was open and HD-4 already merged."""
        rep = build_report(desk(make), since=at(7, 0), until=at(7, 10, 45))
        assert rep.backlog_at_start == 1  # HD-2
        assert rep.periods == (
            PeriodRow(start=date(2026, 1, 7), opened=2, resolved=1, reopened=0, backlog=2),
        )
        assert [t.key for t in rep.tickets] == ["HD-3", "HD-4"]
        assert row(rep, "HD-3").resolved_at is None  # type: ignore[attr-defined]

    def test_since_limits_the_tickets_measured(self, make: MakeTracker) -> None:
        """Tickets opened before ``since`` count in the backlog only."""
        rep = build_report(desk(make), since=at(8, 0), until=UNTIL)
        assert rep.backlog_at_start == 1
        assert [t.key for t in rep.tickets] == ["HD-5"]
        assert rep.summary.tickets == 1
        assert [p.backlog for p in rep.periods] == [1, 2, 2, 2, 1]

    def test_days_in_the_calendars_time_zone(self, make: MakeTracker) -> None:
        """In Tokyo (UTC+9), Monday 16:00 UTC is already Tuesday."""
        calendar = BusinessCalendar.weekdays("09:00", "17:00", timezone="Asia/Tokyo")
        rep = report(make, calendar=calendar)
        assert rep.timezone == "Asia/Tokyo"
        assert rep.periods[0].start == date(2026, 1, 5)
        # HD-5 opened Friday 16:00 UTC, Saturday 01:00 in Tokyo.
        assert {p.start.day: p.opened for p in rep.periods}[10] == 1


class TestTimes:
    def test_median_and_p90(self, make: MakeTracker) -> None:
        """First responses 1, 2, 0.25, 0.5 h; resolutions 4, 8, 11, 2 h (no merged, no open)."""
        summary = report(make).summary
        assert summary.first_response == Durations(4, hours(0.75), hours(2))
        assert summary.resolution == Durations(4, hours(6), hours(11))

    def test_customer_replies_and_internal_notes_are_no_response(self, make: MakeTracker) -> None:
        """BI-1's first response is bob's public answer at 12:00, not the 10:30 or 11:00 ones."""
        ticket = row(report(make), "BI-1")
        assert ticket.first_response_at == at(5, 12)  # type: ignore[attr-defined]
        assert ticket.first_response_time == hours(2)  # type: ignore[attr-defined]
        assert ticket.resolution_time == hours(8)  # type: ignore[attr-defined]

    def test_business_hours_over_a_weekend(self, make: MakeTracker) -> None:
        """Friday 16:00 to Monday 10:00 on a 09:00-17:00 calendar is 2 business hours."""
        ticket = row(report(make), "HD-5")
        assert ticket.resolution_time == hours(2)  # type: ignore[attr-defined]
        assert ticket.first_response_time == hours(0.5)  # type: ignore[attr-defined]

    def test_another_calendar(self, make: MakeTracker) -> None:
        """On a 24/7 calendar the same ticket took 66 hours."""
        rep = report(make, calendar=BusinessCalendar.always())
        assert row(rep, "HD-5").resolution_time == hours(66)  # type: ignore[attr-defined]
        assert rep.timezone == "UTC"

    def test_no_policy_no_calendar_is_24_7(self, make: MakeTracker) -> None:
        """Without automation, business time is plain elapsed time."""
        rep = build_report(desk(make, automation=Automation()), until=UNTIL)
        assert row(rep, "HD-5").resolution_time == hours(66)  # type: ignore[attr-defined]
        assert rep.policy is None
        assert rep.summary.sla == ()

    def test_a_reopened_ticket_counts_its_final_resolution(self, make: MakeTracker) -> None:
        """HD-3: opened Wednesday 09:00, resolved 11:00, reopened, resolved Thursday 12:00."""
        ticket = row(report(make), "HD-3")
        assert ticket.resolved_at == at(8, 12)  # type: ignore[attr-defined]
        assert ticket.resolution_time == hours(11)  # type: ignore[attr-defined]
        assert (ticket.resolutions, ticket.reopens) == (2, 1)  # type: ignore[attr-defined]

    def test_the_automations_customer_test(self, make: MakeTracker) -> None:
        """With ``automation.customer``, a reply by another customer is no response."""
        tracker = make(automation=Automation(customer=lambda t, actor: actor.startswith("cust")))
        clock = tracker.clock
        ticket = tracker.open(title="Shared mailbox", actor="portal")
        clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        tracker.comment(ticket.key, "me too", actor="cust9")
        clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        tracker.comment(ticket.key, "fixed", actor="alice")
        clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        rep = build_report(tracker)
        assert rep.tickets[0].first_response_time == hours(2)


class TestSLA:
    def test_compliance_replayed_without_any_worker(self, make: MakeTracker) -> None:
        """First response 1 h: BI-1 and HD-2 breached; resolution 8 h: HD-2 breached."""
        rep = report(make)
        assert rep.policy == "standard"
        assert rep.summary.sla == (
            Compliance("first_response", met=3, breached=2, running=0),
            Compliance("resolution", met=4, breached=1, running=0),
        )
        assert rep.summary.sla[0].met_share == 0.6

    def test_what_if_another_policy(self, make: MakeTracker) -> None:
        """Promising 4 h for both: BI-1 answered in time; resolutions over 4 h breached."""
        policy = SLAPolicy(
            name="what-if",
            targets=[Target("first_response", "4h"), Target("resolution", "4h")],
            calendar=CALENDAR,
        )
        rep = report(make, policy=policy)
        assert rep.policy == "what-if"
        assert rep.summary.sla == (
            Compliance("first_response", met=4, breached=1, running=0),
            Compliance("resolution", met=2, breached=3, running=0),
        )

    def test_running_clocks_are_neither_met_nor_breached(self, make: MakeTracker) -> None:
        """At Tuesday 09:30 HD-2's clocks still run, and so does BI-1's resolution clock."""
        rep = build_report(desk(make), until=at(6, 9, 30))
        assert rep.summary.sla == (
            Compliance("first_response", met=1, breached=1, running=1),
            Compliance("resolution", met=1, breached=0, running=2),
        )
        assert rep.summary.sla[0].met_share == 0.5
        assert row(rep, "HD-2").sla_first_response == "running"  # type: ignore[attr-defined]


class TestReopensAndMerges:
    def test_reopen_rate(self, make: MakeTracker) -> None:
        """Four tickets resolved, one of them reopened."""
        summary = report(make).summary
        assert (summary.resolved, summary.reopened, summary.reopen_rate) == (4, 1, 0.25)

    def test_merged_duplicate(self, make: MakeTracker) -> None:
        """A merged duplicate is a ticket opened and closed, but no resolution or response."""
        rep = report(make)
        ticket = row(rep, "HD-4")
        assert ticket.merged  # type: ignore[attr-defined]
        assert ticket.resolved_at is None  # type: ignore[attr-defined]
        assert ticket.sla_first_response is None  # type: ignore[attr-defined]
        assert (rep.summary.tickets, rep.summary.open, rep.summary.merged) == (6, 1, 1)


class TestBreakdowns:
    def test_by_agent_is_the_assignee_at_resolution(self, make: MakeTracker) -> None:
        """HD-1 was reassigned to carol after alice resolved it: it stays alice's."""
        rep = report(make)
        assert [(g.value, g.summary.tickets) for g in rep.by_agent] == [
            ("alice", 3),
            ("bob", 1),
            (None, 2),
        ]
        alice = rep.by_agent[0].summary
        assert alice.first_response == Durations(3, hours(0.5), hours(1))
        assert alice.resolution == Durations(3, hours(4), hours(11))
        assert (alice.resolved, alice.reopened) == (3, 1)
        unassigned = rep.by_agent[2].summary
        assert (unassigned.open, unassigned.merged) == (1, 1)

    def test_by_queue_priority_and_tag(self, make: MakeTracker) -> None:
        """Current queue, priority and tags; a ticket is in each of its tags' groups."""
        rep = report(make)
        assert [(g.value, g.summary.tickets) for g in rep.by_queue] == [
            ("billing", 1),
            ("default", 5),
        ]
        assert [(g.value, g.summary.tickets) for g in rep.by_priority] == [("P1", 1), ("P3", 5)]
        assert [(g.value, g.summary.tickets) for g in rep.by_tag] == [("mail", 2), ("vpn", 2)]
        vpn = rep.by_tag[1].summary
        assert vpn.resolution == Durations(2, hours(5), hours(8))
        assert rep.by_priority[0].summary.sla == (
            Compliance("first_response", breached=1),
            Compliance("resolution", breached=1),
        )


class TestFilters:
    def test_where(self, make: MakeTracker) -> None:
        """``where`` keeps the tickets that match it now, as ``tracker.query`` does."""
        rep = build_report(desk(make), until=UNTIL, where={"queue": "billing"})
        assert [t.key for t in rep.tickets] == ["BI-1"]
        assert [p.backlog for p in rep.periods] == [1] + [0] * 7

    def test_where_as_a_query_with_text(self, make: MakeTracker) -> None:
        """A ``Query`` keeps its conditions and its text search."""
        query = Query.build({"priority": "P3"}, text="mail")
        rep = build_report(desk(make), until=UNTIL, where=query)
        assert [t.key for t in rep.tickets] == ["HD-1", "HD-4"]

    def test_tenants_are_separate(self, make: MakeTracker) -> None:
        """Each tenant's report has its own tickets; no tenant means every tenant."""
        tracker = make()
        tracker.open(title="ours", actor="a", tenant="acme")
        tracker.open(title="theirs", actor="b", tenant="globex")
        tracker.open(title="theirs too", actor="c", tenant="globex")
        tracker.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
        assert [t.title for t in build_report(tracker, tenant="acme").tickets] == ["ours"]
        globex = build_report(tracker, tenant="globex")
        assert globex.summary.tickets == 2
        assert globex.tenant == "globex"
        assert build_report(tracker).summary.tickets == 3
        assert build_report(tracker, tenant="nobody").empty


class TestPersonalData:
    def test_erased_and_redacted_data(self, make: MakeTracker) -> None:
        """Erasing a customer and redacting a comment and a title change no number."""
        tracker = desk(make)
        before = build_report(tracker, until=UNTIL)
        root = tracker.session(Principal("root", Role.ADMIN, "default"))
        comment = tracker.comments("BI-1")[0]
        root.redact_comment("BI-1", comment.id)
        root.redact_field("HD-1", "title")
        root.erase_person("cust2")
        root.erase_person("alice")
        after = build_report(tracker, until=UNTIL)
        assert after.summary == before.summary
        assert after.periods == before.periods
        agents = [g.value for g in after.by_agent]
        assert agents[0] == "bob"
        assert agents[1] is not None
        assert agents[1].startswith("erased-")
        assert agents[2] is None
        assert after.by_agent[1].summary == before.by_agent[0].summary


def test_memory_and_sqlite_agree(tmp_path: Path) -> None:
    """The same history gives the same report on both stores."""
    found = []
    for store in ("memory", "sqlite"):
        factory = tracker_factory(store, tmp_path)
        tracker = desk(factory)
        found.append(build_report(tracker, until=UNTIL, period="week"))
        tracker.close()
    assert found[0] == found[1]
    assert found[0].summary.tickets == 6


class BatchingStore:
    """A memory store that also reads many tickets' events at once, counting the calls."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.batches: list[int] = []
        self.reporting = False

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def events(self, ticket_id: int, **options: object) -> list[Event]:
        assert not self.reporting, "a report reads one ticket at a time from a batching store"
        return self.inner.events(ticket_id, **options)  # type: ignore[arg-type]

    def events_for(self, ticket_ids: list[int]) -> dict[int, list[Event]]:
        self.batches.append(len(ticket_ids))
        return {i: self.inner.events(i) for i in ticket_ids}


def test_a_store_that_reads_events_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``store.events_for(ids)`` is used when the store has it, BATCH tickets at a time."""
    monkeypatch.setattr(_scan, "BATCH", 4)
    expected = build_report(desk(tracker_factory("memory", tmp_path)), until=UNTIL)
    store = BatchingStore()
    tracker = desk(lambda **settings: Tracker(store, **defaults(settings)))  # type: ignore[arg-type]
    store.reporting = True
    assert build_report(tracker, until=UNTIL) == expected
    assert store.batches == [4, 2]
