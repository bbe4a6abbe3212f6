"""SLA clocks: first response, next response and resolution, computed from events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from ticketkit import FrozenClock, Tracker
from ticketkit._builtin_workflows import helpdesk
from ticketkit._events import Event, EventType
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit.sla import (
    BusinessCalendar,
    ClockState,
    SLANotice,
    SLAPolicy,
    SLAStatus,
    Target,
    TargetKind,
    due_notices,
    next_notice_at,
    notice_event,
    sla_status,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
H = timedelta(hours=1)
WF = helpdesk()
FIRST, NEXT, RESOLUTION = TargetKind.FIRST_RESPONSE, TargetKind.NEXT_RESPONSE, TargetKind.RESOLUTION


ALWAYS = BusinessCalendar.always()
#: Monday to Friday, 09:00-17:00 UTC.
OFFICE = BusinessCalendar.weekdays()


def policy(
    calendar: BusinessCalendar = ALWAYS, warn_at: tuple[float, ...] = (0.5, 0.75)
) -> SLAPolicy:
    return SLAPolicy(
        targets=(
            Target(FIRST, "4h"),
            Target(NEXT, "2h"),
            Target(RESOLUTION, "24h"),
            Target(FIRST, "1h", priority="P1"),
            Target(RESOLUTION, "8h", priority="P1"),
        ),
        calendar=calendar,
        warn_at=warn_at,
    )


POLICY = policy()


def at(hours: float) -> datetime:
    return T0 + hours * H


class Story:
    """A ticket's events, written the way the tracker writes them; times in hours after T0."""

    def __init__(self, *, status: str = "new", priority: Priority = Priority.P3) -> None:
        self.ticket = Ticket(
            id=1,
            key="HD-1",
            title="Mail is down",
            description="",
            status=status,
            priority=priority,
            reporter="carol",
            queue="default",
            created=T0,
            updated=T0,
            version=1,
        )
        self.events = [self._event(EventType.OPENED, "carol", T0, data={"ticket": {}})]
        self.comments = 0

    def _event(self, kind: EventType, actor: str, when: datetime, **kw: Any) -> Event:
        return Event(1, "HD-1", self.ticket.version, kind, actor, when, **kw)

    def _bump(self, when: datetime, **changes: Any) -> None:
        self.ticket = attrs.evolve(
            self.ticket, version=self.ticket.version + 1, updated=when, **changes
        )

    def move(self, hours: float, status: str, actor: str = "alice") -> Story:
        old = self.ticket.status
        self._bump(at(hours), status=status)
        data = {"action": "x", "resolved_at": None}
        self.events.append(
            self._event(
                EventType.STATUS_CHANGED,
                actor,
                at(hours),
                field="status",
                old=old,
                new=status,
                data=data,
            )
        )
        return self

    def reply(self, hours: float, actor: str = "alice", *, internal: bool = False) -> Story:
        self._bump(at(hours))
        self.comments += 1
        self.events.append(
            self._event(
                EventType.COMMENTED,
                actor,
                at(hours),
                data={"comment_id": self.comments, "internal": internal},
            )
        )
        return self

    def customer(self, hours: float) -> Story:
        return self.reply(hours, "carol")

    def prioritise(self, hours: float, priority: Priority) -> Story:
        old = self.ticket.priority
        self._bump(at(hours), priority=priority)
        self.events.append(
            self._event(
                EventType.FIELD_CHANGED,
                "alice",
                at(hours),
                field="priority",
                old=old.name,
                new=priority.name,
            )
        )
        return self

    def status(self, hours: float, pol: SLAPolicy = POLICY, **kw: Any) -> SLAStatus:
        return sla_status(pol, WF, self.ticket, self.events, at(hours), **kw)

    def record(self, notices: list[SLANotice], hours: float) -> None:
        self.events.extend(notice_event(self.ticket, n, at(hours)) for n in notices)


def target(status: SLAStatus, kind: TargetKind) -> Any:
    found = status.target(kind)
    assert found is not None
    return found


class TestFirstResponse:
    def test_runs_from_opening(self) -> None:
        """Before any response the clock runs from opening and is due `within` later."""
        first = target(Story().status(1), FIRST)
        assert first.state is ClockState.RUNNING
        assert (first.started, first.due) == (T0, at(4))
        assert (first.elapsed, first.remaining) == (H, 3 * H)
        assert (first.cycle, first.met_at, first.breached_at, first.paused_since) == (
            0,
            None,
            None,
            None,
        )

    def test_met_by_an_agents_public_reply(self) -> None:
        """An agent's public comment meets it; the time stops counting there."""
        first = target(Story().reply(1.5).status(10), FIRST)
        assert first.state is ClockState.MET
        assert (first.met_at, first.elapsed, first.remaining, first.due) == (
            at(1.5),
            1.5 * H,
            2.5 * H,
            at(4),
        )

    def test_notes_and_customer_replies_are_not_responses(self) -> None:
        """An internal note, or a comment by the customer, leaves the clock running."""
        story = Story().reply(1, internal=True).customer(2)
        assert target(story.status(3), FIRST).state is ClockState.RUNNING

    def test_is_customer_decides_who_the_customer_is(self) -> None:
        """With is_customer, a colleague of the reporter does not respond for the help desk."""
        story = Story().reply(1, "dave@customer")

        def customer(ticket: Ticket, actor: str) -> bool:
            return actor == ticket.reporter or actor.endswith("@customer")

        assert target(story.status(2), FIRST).state is ClockState.MET
        assert target(story.status(2, is_customer=customer), FIRST).state is ClockState.RUNNING

    def test_breached_when_time_runs_out(self) -> None:
        """Without a response in time it is breached at the due instant; remaining goes negative."""
        first = target(Story().status(5), FIRST)
        assert first.state is ClockState.BREACHED
        assert (first.breached_at, first.due, first.remaining) == (at(4), at(4), -H)

    def test_stays_breached_when_met_late(self) -> None:
        """A late response sets met_at, but the target stays breached."""
        first = target(Story().reply(6).status(7), FIRST)
        assert first.state is ClockState.BREACHED
        assert (first.met_at, first.breached_at, first.elapsed) == (at(6), at(4), 6 * H)

    def test_met_exactly_when_due_is_in_time(self) -> None:
        """A response at the due instant meets the target."""
        assert target(Story().reply(4).status(5), FIRST).state is ClockState.MET

    def test_warnings_reached_so_far(self) -> None:
        """warnings lists each warn_at fraction whose time has been used."""
        story = Story()
        assert target(story.status(1.9), FIRST).warnings == ()
        assert target(story.status(2), FIRST).warnings == (0.5,)
        assert target(story.status(3.5), FIRST).warnings == (0.5, 0.75)

    def test_before_opening_nothing_is_used(self) -> None:
        """Asked about an instant before the ticket was opened, the clock has not started."""
        first = target(Story().status(-3), FIRST)
        assert (first.state, first.elapsed, first.due) == (ClockState.RUNNING, timedelta(0), at(4))

    def test_events_after_now_are_ignored(self) -> None:
        """The status at an earlier instant does not see later events."""
        story = Story().reply(2)
        assert target(story.status(1), FIRST).state is ClockState.RUNNING


class TestPause:
    def test_pending_pauses_and_resumes(self) -> None:
        """Pending time does not count; the clock goes on where it stopped."""
        story = Story().move(0.5, "open").reply(0.5).move(1, "pending_customer")
        paused = target(story.status(3), RESOLUTION)
        assert paused.state is ClockState.PAUSED
        assert (paused.due, paused.paused_since, paused.elapsed) == (None, at(1), H)
        story.move(5, "open")
        running = target(story.status(6), RESOLUTION)
        assert running.state is ClockState.RUNNING
        assert (running.elapsed, running.due, running.paused_since) == (2 * H, at(6 + 22), None)

    def test_pending_pauses_response_clocks_too(self) -> None:
        """First response does not fall due while the ticket waits for the customer."""
        story = Story().move(1, "pending_customer")
        first = target(story.status(10), FIRST)
        assert (first.state, first.elapsed, first.paused_since) == (ClockState.PAUSED, H, at(1))

    def test_response_clocks_stand_still_while_resolved(self) -> None:
        """A ticket resolved without a public reply does not breach its first response."""
        story = Story().move(2, "resolved")
        first = target(story.status(30), FIRST)
        assert (first.state, first.elapsed) == (ClockState.PAUSED, 2 * H)
        assert story.status(30).next_change is None

    def test_a_past_now_reads_the_status_the_ticket_was_opened_in(self) -> None:
        """Clocks as of an earlier time start from the opening status, not today's."""
        story = Story().move(5, "pending_customer")  # the ticket is pending now
        before = target(story.status(3), FIRST)  # as of 3 h: it was new, so running
        assert (before.state, before.elapsed) == (ClockState.RUNNING, 3 * H)

    def test_several_pauses_add_up(self) -> None:
        """Only the running intervals between pauses count."""
        story = Story().move(0, "open").reply(0)
        for start in (1, 3, 5):
            story.move(start, "pending_customer").move(start + 1, "open")
        assert target(story.status(8), RESOLUTION).elapsed == 5 * H


class TestResolution:
    def test_met_when_resolved(self) -> None:
        """Entering a resolved-category state meets the resolution target."""
        res = target(Story().move(1, "open").move(5, "resolved").status(9), RESOLUTION)
        assert (res.state, res.met_at, res.elapsed, res.due) == (
            ClockState.MET,
            at(5),
            5 * H,
            at(24),
        )

    def test_closing_keeps_the_met_time(self) -> None:
        """Resolved then closed: met when it was resolved."""
        story = Story().move(5, "resolved").move(7, "closed")
        assert target(story.status(9), RESOLUTION).met_at == at(5)

    def test_reopen_resumes_with_the_time_used(self) -> None:
        """A reopen clears the met time; the clock goes on from the time already used."""
        story = Story().move(5, "resolved").move(10, "open")
        res = target(story.status(11), RESOLUTION)
        assert (res.state, res.met_at, res.elapsed, res.due) == (
            ClockState.RUNNING,
            None,
            6 * H,
            at(11 + 18),
        )

    def test_breached_before_resolution_stays_breached(self) -> None:
        """Resolved late: breached at the due instant, met_at set too."""
        res = target(Story().move(30, "resolved").status(31), RESOLUTION)
        assert (res.state, res.breached_at, res.met_at) == (ClockState.BREACHED, at(24), at(30))

    def test_breach_after_a_reopen(self) -> None:
        """The time before and after a reopen adds up to a breach."""
        story = Story().move(20, "resolved").move(40, "open")
        res = target(story.status(45), RESOLUTION)
        assert (res.state, res.breached_at) == (ClockState.BREACHED, at(44))


class TestNextResponse:
    def test_no_cycle_before_the_first_response(self) -> None:
        """Customer replies before the first response start no next-response cycle."""
        status = Story().customer(1).status(2)
        assert status.target(NEXT) is None
        assert [t.kind for t in status.targets] == [FIRST, RESOLUTION]

    def test_a_customer_reply_starts_a_cycle_the_next_response_meets(self) -> None:
        """After the first response, a customer reply starts cycle 1; more replies do not."""
        story = Story().reply(1).customer(2).customer(2.5)
        running = target(story.status(3), NEXT)
        assert (running.cycle, running.started, running.state, running.due) == (
            1,
            at(2),
            ClockState.RUNNING,
            at(4),
        )
        met = target(story.reply(3.5).status(4), NEXT)
        assert (met.cycle, met.state, met.met_at) == (1, ClockState.MET, at(3.5))

    def test_status_shows_the_latest_cycle_and_keeps_the_others(self) -> None:
        """Cycle 2 is the current one; cycle 1 is in history."""
        story = Story().reply(1).customer(2).reply(3).customer(5)
        status = story.status(6)
        assert (target(status, NEXT).cycle, target(status, NEXT).started) == (2, at(5))
        assert [(t.cycle, t.state) for t in status.history] == [(1, ClockState.MET)]

    def test_cycle_breach(self) -> None:
        """A cycle not answered within its target is breached."""
        cycle = target(Story().reply(1).customer(2).status(5), NEXT)
        assert (cycle.state, cycle.breached_at) == (ClockState.BREACHED, at(4))


class TestRetarget:
    def test_target_follows_the_current_priority(self) -> None:
        """Raising the priority applies the P1 target to the whole history."""
        story = Story().prioritise(2, Priority.P1)
        first = target(story.status(2), FIRST)
        assert (first.within, first.state, first.breached_at) == (H, ClockState.BREACHED, at(1))
        assert target(Story().status(2), FIRST).state is ClockState.RUNNING

    def test_no_target_no_status(self) -> None:
        """A kind without a target for the ticket has no status."""
        only_p1 = SLAPolicy(targets=(Target(FIRST, "1h", priority="P1"),), calendar=ALWAYS)
        assert Story().status(1, only_p1).targets == ()


class TestNotices:
    def test_due_warnings_and_their_event(self) -> None:
        """Warnings that fell due are notices; notice_event records one without a new version."""
        story = Story()
        notices = due_notices(POLICY, story.status(3), story.events)
        assert notices == [
            SLANotice(EventType.SLA_WARNING, FIRST, 0, 0.5, at(4)),
            SLANotice(EventType.SLA_WARNING, FIRST, 0, 0.75, at(4)),
        ]
        event = notice_event(story.ticket, notices[1], at(3))
        assert (event.type, event.actor, event.version, event.field, event.at) == (
            EventType.SLA_WARNING,
            "sla",
            story.ticket.version,
            None,
            at(3),
        )
        assert dict(event.data) == {
            "target": "first_response",
            "cycle": 0,
            "threshold": 0.75,
            "due": at(4).isoformat(),
        }

    def test_recorded_notices_are_not_due_again(self) -> None:
        """Once recorded as events, the same notices are not returned again."""
        story = Story()
        story.record(due_notices(POLICY, story.status(2.5), story.events), 2.5)
        assert due_notices(POLICY, story.status(2.5), story.events) == []
        assert due_notices(POLICY, story.status(3.5), story.events) == [
            SLANotice(EventType.SLA_WARNING, FIRST, 0, 0.75, at(4))
        ]

    def test_breach_notice_overtakes_unrecorded_warnings(self) -> None:
        """A scheduler that comes late records the breach, not the stale warnings."""
        story = Story()
        assert due_notices(POLICY, story.status(5), story.events) == [
            SLANotice(EventType.SLA_BREACHED, FIRST, 0, None, at(4))
        ]

    def test_a_breach_is_recorded_once_even_after_a_retarget(self) -> None:
        """Breached under P1, back to P3, breached again: still one breach event."""
        story = Story(priority=Priority.P1)
        story.record(due_notices(POLICY, story.status(1.5), story.events), 1.5)
        story.prioritise(2, Priority.P3)
        assert target(story.status(3), FIRST).state is ClockState.RUNNING
        assert next_notice_at(POLICY, story.status(3), story.events) == at(12)  # resolution 50 %
        assert due_notices(POLICY, story.status(5), story.events) == []

    def test_warnings_recorded_before_a_retarget_are_not_next(self) -> None:
        """Warned under P1, lowered to P3: the P3 warnings are recorded already; next is the due."""
        story = Story(priority=Priority.P1)
        story.record(due_notices(POLICY, story.status(0.8), story.events), 0.8)
        story.prioritise(0.9, Priority.P3)
        status = story.status(1)
        assert target(status, FIRST).warnings == ()
        assert status.next_change == at(2)
        assert next_notice_at(POLICY, status, story.events) == at(4)

    def test_breach_of_an_earlier_cycle_is_still_recorded(self) -> None:
        """A cycle breached and answered between scheduler runs still gets its breach."""
        story = Story().reply(1).customer(2).reply(5).customer(6)
        status = story.status(6.5)
        notices = due_notices(POLICY, status, story.events)
        assert SLANotice(EventType.SLA_BREACHED, NEXT, 1, None, at(4)) in notices

    def test_paused_warning_gets_a_projected_due(self) -> None:
        """A warning recorded while paused says when the target falls due if it resumed now."""
        story = Story().move(3, "pending_customer")
        notices = due_notices(POLICY, story.status(5), story.events)
        assert notices[-1] == SLANotice(EventType.SLA_WARNING, FIRST, 0, 0.75, at(6))

    def test_next_notice_and_next_change(self) -> None:
        """next_notice_at skips what is recorded; next_change does not."""
        story = Story()
        status = story.status(1)
        assert status.next_change == at(2) == next_notice_at(POLICY, status, story.events)
        story.record(due_notices(POLICY, story.status(3), story.events), 3)
        status = story.status(3)
        assert (status.next_change, next_notice_at(POLICY, status, story.events)) == (at(4), at(4))

    def test_nothing_next_when_every_clock_stopped(self) -> None:
        """A resolved ticket with a met first response has nothing coming."""
        story = Story().reply(1).move(2, "resolved")
        status = story.status(3)
        assert (status.next_change, next_notice_at(POLICY, status, story.events)) == (None, None)


OFFICE_POLICY = policy(OFFICE)


def wk(day: int, hour: float) -> float:
    """Hours after T0 (Monday 2 March 2026, 09:00 UTC) of ``hour`` o'clock on ``day`` days later."""
    return day * 24 + hour - 9


class TestOfficeHours:
    """On a Monday-Friday 09:00-17:00 calendar, nights and weekends do not count."""

    def test_due_skips_the_weekend(self) -> None:
        """Opened Friday 16:00 with 4 business hours: due Monday 12:00, paused by the calendar."""
        story = Story()
        story.ticket = attrs.evolve(story.ticket, created=at(wk(4, 16)))
        story.events[0] = attrs.evolve(story.events[0], at=at(wk(4, 16)))
        first = target(story.status(wk(5, 12), OFFICE_POLICY), FIRST)
        assert (first.state, first.elapsed, first.remaining) == (ClockState.RUNNING, H, 3 * H)
        assert first.due == at(wk(7, 12))
        assert story.status(wk(5, 12), OFFICE_POLICY).next_change == at(wk(7, 10))

    def test_opened_at_night_starts_counting_in_the_morning(self) -> None:
        """A ticket opened Tuesday 20:00 is due Wednesday 13:00 and warned at 11:00 and 12:00."""
        story = Story()
        story.ticket = attrs.evolve(story.ticket, created=at(wk(1, 20)))
        story.events[0] = attrs.evolve(story.events[0], at=at(wk(1, 20)))
        status = story.status(wk(2, 8), OFFICE_POLICY)
        assert target(status, FIRST).due == at(wk(2, 13))
        assert target(status, FIRST).elapsed == timedelta(0)
        assert status.next_change == at(wk(2, 11))
        assert target(story.status(wk(2, 12), OFFICE_POLICY), FIRST).warnings == (0.5, 0.75)

    def test_breach_across_a_night(self) -> None:
        """Opened Monday 15:00, no response: breached Tuesday 11:00."""
        story = Story()
        story.ticket = attrs.evolve(story.ticket, created=at(wk(0, 15)))
        story.events[0] = attrs.evolve(story.events[0], at=at(wk(0, 15)))
        first = target(story.status(wk(1, 12), OFFICE_POLICY), FIRST)
        assert (first.state, first.breached_at) == (ClockState.BREACHED, at(wk(1, 11)))
        assert first.remaining == -H

    def test_pending_over_a_weekend(self) -> None:
        """Pending from Wednesday 10:00 to Monday 11:00: only business time outside it counts."""
        story = Story().move(0, "open").reply(0).move(wk(2, 10), "pending_customer")
        paused = target(story.status(wk(6, 12), OFFICE_POLICY), RESOLUTION)
        assert (paused.state, paused.paused_since) == (ClockState.PAUSED, at(wk(2, 10)))
        assert paused.elapsed == 2 * 8 * H + H
        story.move(wk(7, 11), "open")
        res = target(story.status(wk(7, 12), OFFICE_POLICY), RESOLUTION)
        assert (res.state, res.elapsed) == (ClockState.RUNNING, 2 * 8 * H + 2 * H)
        assert res.due == at(wk(8, 10))  # 6 h left: Monday 12:00-17:00, Tuesday 09:00-10:00

    def test_next_response_cycle_over_a_night(self) -> None:
        """A customer reply at 16:30 is due 2 business hours later: 10:30 next morning."""
        story = Story().reply(wk(0, 10)).customer(wk(0, 16.5))
        cycle = target(story.status(wk(0, 18), OFFICE_POLICY), NEXT)
        assert (cycle.cycle, cycle.due, cycle.elapsed) == (1, at(wk(1, 10.5)), 0.5 * H)


class TestWithTheTracker:
    def test_the_tracker_s_events_drive_the_clocks(self) -> None:
        """Events written by Tracker.open/comment/transition are read as specified."""
        clock = FrozenClock(T0)
        tracker = Tracker.in_memory(clock=clock, prefix="HD")
        ticket = tracker.open("Mail is down", actor="carol")
        clock.advance(hours=1)
        tracker.comment(ticket.key, "Looking", actor="alice", internal=True)
        clock.advance(hours=1)
        tracker.transition(ticket.key, "start", actor="alice", comment="On it")
        clock.advance(hours=1)
        tracker.comment(ticket.key, "Still broken", actor="carol")
        tracker.transition(ticket.key, "wait_for_customer", actor="alice", comment="Which mail?")
        clock.advance(hours=2)
        tracker.transition(ticket.key, "customer_replied", actor="carol")
        clock.advance(hours=1)
        current = tracker.get(ticket.key)
        status = sla_status(POLICY, tracker.workflow, current, tracker.history(ticket.key), at(6))
        first, following, res = status.targets
        assert (first.state, first.met_at) == (ClockState.MET, at(2))
        assert (following.cycle, following.met_at) == (1, at(3))
        assert (res.state, res.elapsed) == (ClockState.RUNNING, 4 * H)


# ---- properties -------------------------------------------------------------------------

_STEP = st.sampled_from(["open", "pending_customer", "resolved", "reply", "note", "customer"])


@st.composite
def stories(draw: st.DrawFn) -> tuple[Story, float]:
    story = Story(priority=draw(st.sampled_from([Priority.P1, Priority.P3])))
    hours = 0.0
    for step in draw(st.lists(_STEP, max_size=12)):
        hours += draw(st.integers(0, 40)) / 4
        if step in ("reply", "note"):
            story.reply(hours, internal=step == "note")
        elif step == "customer":
            story.customer(hours)
        elif step != story.ticket.status:
            story.move(hours, step)
    return story, hours + draw(st.integers(0, 120)) / 4


def _check_story(story: Story, now: float, pol: SLAPolicy) -> None:
    status = story.status(now, pol)
    for t in (*status.history, *status.targets):
        assert t.remaining + t.elapsed == t.within
        assert timedelta(0) <= t.elapsed <= at(now) - t.started
        if t.state is ClockState.RUNNING:
            assert t.due is not None
            assert t.due > at(now)
            assert pol.calendar.elapsed(at(now), t.due) == t.remaining
        if t.state is ClockState.BREACHED:
            assert t.breached_at is not None
            assert t.breached_at <= at(now)
    notices = due_notices(pol, status, story.events)
    story.record(notices, now)
    assert due_notices(pol, story.status(now, pol), story.events) == []
    upcoming = next_notice_at(pol, story.status(now, pol), story.events)
    if upcoming is not None:
        later = sla_status(pol, WF, story.ticket, story.events, upcoming)
        assert upcoming > at(now)
        assert due_notices(pol, later, story.events), "the next notice falls due at its instant"


class TestProperties:
    @given(stories())
    def test_clock_invariants_on_a_24_7_calendar(self, drawn: tuple[Story, float]) -> None:
        """remaining + elapsed == within; due_notices is idempotent; next_notice_at is exact."""
        story, now = drawn
        _check_story(story, now, POLICY)

    @given(stories(), st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]))
    def test_clock_invariants_on_office_hours(self, drawn: tuple[Story, float], zone: str) -> None:
        """The same invariants hold when nights, weekends and DST changes do not count."""
        story, now = drawn
        calendar = BusinessCalendar.weekdays("08:30", "17:00", timezone=zone)
        _check_story(story, now, policy(calendar))


def test_the_opened_snapshot_is_never_read() -> None:
    """sla_status never decodes the opened event's ticket snapshot (it can be large)."""
    story = Story()

    class Exploding(dict[str, Any]):
        def get(self, *args: Any) -> Any:
            raise AssertionError("the opened event's data was read")

        def __getitem__(self, key: str) -> Any:
            raise AssertionError("the opened event's data was read")

    object.__setattr__(story.events[0], "data", Exploding())
    assert target(story.status(1), FIRST).state is ClockState.RUNNING
