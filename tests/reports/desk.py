"""A small help desk whose every report number is known by hand (see ``docs/reports.md``).

Times are UTC; the calendar is 09:00-17:00 on weekdays. Monday 2026-01-05:

* HD-1 (cust1, tag mail) opened 09:00, assigned to alice, answered 10:00 (1 h),
  resolved 13:00 (4 h), then reassigned to carol (alice stays its agent).
* HD-2 (cust2, tags mail vpn, queue billing) opened 10:00; the customer writes
  10:30, bob notes internally 11:00 and answers 12:00 (2 h); resolved Tuesday
  10:00 (7 h + 1 h = 8 business hours).
* HD-3 (cust4, P1) opened Tuesday 09:00, never answered, still open.
* HD-4 (cust5) opened Wednesday 09:00, alice answers 09:15 (0.25 h), resolves
  11:00, the customer reopens it Thursday 09:00, alice resolves it again 12:00:
  its resolution time is the final one, 8 h + 3 h = 11 h.
* HD-5 (cust6) opened Wednesday 10:00, merged into HD-1 at 10:30.
* HD-6 (cust3, tag vpn) opened Friday 16:00, alice answers 16:30 (0.5 h),
  resolves it Monday 2026-01-12 10:00: 2 business hours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import ticketkit
from ticketkit import Automation, FrozenClock, Tracker
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday
UNTIL = datetime(2026, 1, 13, tzinfo=UTC)  # Tuesday 00:00, after the last change
CALENDAR = BusinessCalendar.weekdays("09:00", "17:00")
POLICY = SLAPolicy(
    name="standard",
    targets=[Target("first_response", "1h"), Target("resolution", "8h")],
    calendar=CALENDAR,
)
STORES = ("memory", "sqlite")

MakeTracker = Callable[..., Tracker]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` of January 2026 at ``hour:minute`` UTC."""
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def defaults(settings: dict[str, object]) -> dict[str, object]:
    """``settings`` with a frozen clock at T0, and the desk's prefix and queues."""
    settings.setdefault("clock", FrozenClock(T0))
    settings.setdefault("prefix", "HD")
    settings.setdefault("queues", {"default": "HD", "billing": "BI"})
    return settings


def tracker_factory(store: str, tmp_path: Path) -> MakeTracker:
    """A function that makes an empty tracker on ``store`` with a frozen clock at T0."""
    made: list[Tracker] = []

    def make(**settings: object) -> Tracker:
        defaults(settings)
        if store == "memory":
            tracker = Tracker.in_memory(**settings)  # type: ignore[arg-type]
        else:
            url = f"sqlite:///{tmp_path / f'reports-{len(made)}.db'}"
            tracker = Tracker.from_url(url, **settings)  # type: ignore[arg-type]
        made.append(tracker)
        return tracker

    make.made = made  # type: ignore[attr-defined]
    return make


def desk(make: MakeTracker, *, automation: Automation | None = None) -> Tracker:
    """The help desk of the module docstring, its clock at :data:`UNTIL`."""
    if automation is None:
        automation = Automation(sla=POLICY)
    tracker = make(automation=automation)
    clock = tracker.clock
    assert isinstance(clock, FrozenClock)

    def when(moment: datetime) -> None:
        clock.set(moment)

    when(at(5, 9))
    one = tracker.open(title="Mail is down", actor="cust1", tags=["mail"], assignee="alice")
    when(at(5, 10))
    two = tracker.open(title="Invoice VPN", actor="cust2", tags=["mail", "vpn"], queue="billing")
    tracker.comment(one.key, "Looking", actor="alice")
    when(at(5, 10, 30))
    tracker.comment(two.key, "Any news?", actor="cust2")
    when(at(5, 11))
    tracker.comment(two.key, "check the router", actor="bob", internal=True)
    when(at(5, 12))
    tracker.comment(two.key, "Fixed the VPN", actor="bob")
    tracker.assign(two.key, "bob", actor="bob")
    when(at(5, 13))
    tracker.transition(one.key, "resolve", actor="alice")
    when(at(5, 14))
    tracker.assign(one.key, "carol", actor="carol")
    when(at(6, 9))
    three = tracker.open(title="Printer", actor="cust4", priority="P1")
    when(at(6, 10))
    tracker.transition(two.key, "resolve", actor="bob")
    when(at(7, 9))
    four = tracker.open(title="Login", actor="cust5", assignee="alice")
    when(at(7, 9, 15))
    tracker.comment(four.key, "On it", actor="alice")
    when(at(7, 10))
    five = tracker.open(title="Mail is down again", actor="cust6")
    when(at(7, 10, 30))
    tracker.merge(five.key, one.key, actor="alice")
    when(at(7, 11))
    tracker.transition(four.key, "resolve", actor="alice")
    when(at(8, 9))
    tracker.transition(four.key, "reopen", actor="cust5")
    when(at(8, 12))
    tracker.transition(four.key, "resolve", actor="alice")
    when(at(9, 16))
    six = tracker.open(title="VPN slow", actor="cust3", tags=["vpn"], assignee="alice")
    when(at(9, 16, 30))
    tracker.comment(six.key, "Rebooted it", actor="alice")
    when(at(12, 10))
    tracker.transition(six.key, "resolve", actor="alice")
    when(UNTIL)
    assert [one.key, two.key, three.key, four.key, five.key, six.key] == [
        "HD-1",
        "BI-1",
        "HD-2",
        "HD-3",
        "HD-4",
        "HD-5",
    ], "keys as the tests expect"
    return tracker


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


__all__ = ["STORES", "UNTIL", "at", "desk", "hours", "ticketkit", "tracker_factory"]
