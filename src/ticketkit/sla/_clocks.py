"""SLA clocks: where each target of a ticket stands, computed from its events.

:func:`sla_status` replays a ticket's events once (linear in their number) and
measures each target on the policy's business calendar:

* A *response* is a public comment by someone who is not the customer (by
  default, the customer is the reporter). A *customer reply* is a public
  comment by the customer. Internal notes count for neither.
* ``first_response`` starts when the ticket is opened and is met by the first
  response.
* ``next_response``: after the first response, a customer reply starts a cycle
  (1, 2, ...) when no cycle is waiting; the next response meets it. The status
  shows the latest cycle; :attr:`SLAStatus.history` holds the earlier ones.
* ``resolution`` starts when the ticket is opened and is met when its status
  enters a resolved- or closed-category state; reopening clears the met time
  and the clock goes on with the time already used.
* Clocks count business time only while the status is in a new- or
  active-category state: a pending-category state pauses them, and response
  clocks also stand still while the ticket is resolved or closed.
* The target is the one for the ticket's *current* priority, queue and tier,
  applied to its whole history: raising the priority can make a target due,
  or breached, at once.
* A target whose time runs out before it is met is breached at that instant
  and stays breached even if met later. Meeting it exactly at its due instant
  is in time.

:func:`due_notices` says which warnings and breaches to record now, leaving out
those the events already record, and :func:`next_notice_at` when the next one
falls due, so a scheduler records each exactly once.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from attrs import frozen

from .._clock import ensure_utc
from .._errors import ValidationError
from .._events import Event, EventType
from .._workflow import Category
from ._calendar import BusinessCalendar
from ._policy import SLAPolicy, Target, TargetKind

if TYPE_CHECKING:
    from .._model import Ticket
    from .._workflow import Workflow

__all__ = [
    "ClockState",
    "SLANotice",
    "SLAStatus",
    "TargetStatus",
    "due_notices",
    "next_notice_at",
    "notice_event",
    "sla_status",
]

#: The actor of the events :func:`notice_event` builds.
SLA_ACTOR = "sla"

_COUNTING = frozenset({Category.NEW, Category.ACTIVE})
_DONE = frozenset({Category.RESOLVED, Category.CLOSED})
_ZERO = timedelta(0)


class ClockState(enum.StrEnum):
    """Where a target stands."""

    #: Business time counts towards the target now.
    RUNNING = "running"
    #: Not met, but no time counts now (pending, or resolved for a response target).
    PAUSED = "paused"
    #: Met in time.
    MET = "met"
    #: Its time ran out before it was met (it may have been met later).
    BREACHED = "breached"


@frozen
class TargetStatus:
    """One target of one ticket at ``SLAStatus.now``.

    ``due`` is when the target falls due: projected from now while running,
    ``None`` while paused, the breach instant once breached, and where it would
    have fallen once met in time. ``elapsed`` is the business time used (up to
    the met time, or now) and ``remaining`` is ``within - elapsed``: negative once
    breached. ``warnings`` lists the thresholds of ``warn_at`` reached so far.
    ``paused_since`` is set while an unmet clock stands still.
    """

    kind: TargetKind
    state: ClockState
    within: timedelta
    started: datetime
    due: datetime | None
    elapsed: timedelta
    remaining: timedelta
    cycle: int = 0
    met_at: datetime | None = None
    breached_at: datetime | None = None
    paused_since: datetime | None = None
    warnings: tuple[float, ...] = ()


@frozen
class SLAStatus:
    """Every target of a ticket under a policy, at ``now``; all a front end needs to draw it.

    ``targets`` holds one status per kind that has a target and has started (the
    latest next-response cycle); ``history`` the earlier next-response cycles,
    oldest first. ``next_change`` is the earliest instant after ``now`` at which a
    warning or breach of a running clock falls due, if any.
    """

    key: str
    policy: str
    now: datetime
    targets: tuple[TargetStatus, ...]
    next_change: datetime | None = None
    history: tuple[TargetStatus, ...] = ()

    def target(self, kind: TargetKind | str) -> TargetStatus | None:
        """The status of the target of ``kind``, if the ticket has one."""
        wanted = TargetKind.parse(kind)
        for status in self.targets:
            if status.kind is wanted:
                return status
        return None


@frozen
class SLANotice:
    """A warning or breach to record as an event now (see :func:`notice_event`).

    ``threshold`` is the fraction reached for a warning and ``None`` for a breach.
    ``due`` is when the target falls due: the breach instant for a breach; for a
    warning, the target's due time (projected as if it resumed now when paused).
    """

    type: EventType
    target: TargetKind
    cycle: int
    threshold: float | None
    due: datetime


def _is_reporter(ticket: Ticket, actor: str) -> bool:
    return actor == ticket.reporter


class _Timeline:
    """The facts of a ticket's history the clocks need, read in one pass."""

    def __init__(
        self,
        workflow: Workflow,
        ticket: Ticket,
        events: Sequence[Event],
        now: datetime,
        is_customer: Callable[[Ticket, str], bool],
    ) -> None:
        categories: dict[str, Category] = {}

        def category(status: Any) -> Category:
            found = categories.get(status)
            if found is None:
                try:
                    found = workflow.category(status)
                except ValidationError:  # a state the workflow no longer has
                    found = Category.ACTIVE
                categories[status] = found
            return found

        self.opened = ticket.created
        first_status: Any = None
        changes: list[tuple[datetime, Category]] = []
        self.first_response: datetime | None = None
        self.cycles: list[list[datetime | None]] = []  # [started, met_at]
        for event in events:
            kind = event.type
            if kind is EventType.STATUS_CHANGED and first_status is None:
                # The status the ticket was opened in, even when it changed after
                # ``now``: the ticket's own status is then a later one.
                first_status = event.old
            if event.at > now:
                continue
            if kind is EventType.OPENED:
                self.opened = event.at
            elif kind is EventType.STATUS_CHANGED:
                changes.append((event.at, category(event.new)))
            elif kind is EventType.COMMENTED and not event.data.get("internal", False):
                self._comment(event.at, is_customer(ticket, event.actor))
        start = category(ticket.status if first_status is None else first_status)
        self.starts = [self.opened]
        self.categories = [start]
        for at, cat in changes:
            at = max(at, self.opened)
            if cat is self.categories[-1]:
                continue
            if at == self.starts[-1]:
                self.categories[-1] = cat
            else:
                self.starts.append(at)
                self.categories.append(cat)
        # The start of the trailing run of non-counting (and of done) categories.
        self.still_since = self._trailing(lambda c: c not in _COUNTING)
        self.done_since = self._trailing(lambda c: c in _DONE)

    def _comment(self, at: datetime, customer: bool) -> None:
        if not customer:
            if self.first_response is None:
                self.first_response = at
            elif self.cycles and self.cycles[-1][1] is None:
                self.cycles[-1][1] = at
        elif self.first_response is not None and (
            not self.cycles or self.cycles[-1][1] is not None
        ):
            self.cycles.append([at, None])

    def _trailing(self, test: Callable[[Category], bool]) -> datetime | None:
        since = None
        for at, cat in zip(reversed(self.starts), reversed(self.categories), strict=True):
            if not test(cat):
                break
            since = at
        return since

    def runs(
        self, start: datetime, end: datetime, now: datetime
    ) -> list[tuple[datetime, datetime]]:
        """The intervals of ``[start, end)`` in which clocks count."""
        found: list[tuple[datetime, datetime]] = []
        starts, cats = self.starts, self.categories
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        while i < len(starts) and starts[i] < end:
            if cats[i] in _COUNTING:
                a = max(starts[i], start)
                b = min(starts[i + 1] if i + 1 < len(starts) else now, end)
                if a < b:
                    found.append((a, b))
            i += 1
        return found


def _measure(
    calendar: BusinessCalendar,
    warn_at: tuple[float, ...],
    target: Target,
    cycle: int,
    started: datetime,
    runs: list[tuple[datetime, datetime]],
    met_at: datetime | None,
    paused_since: datetime | None,
    now: datetime,
) -> tuple[TargetStatus, list[datetime]]:
    """The status of one clock, and the future instants of its warnings and breach."""
    within = target.within
    marks = [(within * f, f) for f in warn_at] + [(within, None)]
    reached: list[float] = []
    breached_at: datetime | None = None
    used = _ZERO
    for a, b in runs:
        spent = calendar.elapsed(a, b)
        while marks and marks[0][0] <= used + spent:
            amount, fraction = marks.pop(0)
            at = calendar.add(a, amount - used)
            if met_at is not None and at >= met_at:
                marks.clear()
                break
            if fraction is None:
                breached_at = at
            else:
                reached.append(fraction)
        used += spent
    upcoming: list[datetime] = []
    running = met_at is None and paused_since is None
    base = max(now, started)
    if breached_at is not None:
        state, due = ClockState.BREACHED, breached_at
    elif met_at is not None:
        state, due = ClockState.MET, calendar.add(met_at, within - used)
    elif not running:
        state, due = ClockState.PAUSED, None
    else:
        state, due = ClockState.RUNNING, calendar.add(base, within - used)
    if running:
        upcoming = [calendar.add(base, amount - used) for amount, _ in marks]
    status = TargetStatus(
        kind=target.kind,
        state=state,
        within=within,
        started=started,
        due=due,
        elapsed=used,
        remaining=within - used,
        cycle=cycle,
        met_at=met_at,
        breached_at=breached_at,
        paused_since=paused_since,
        warnings=tuple(reached),
    )
    return status, upcoming


def sla_status(
    policy: SLAPolicy,
    workflow: Workflow,
    ticket: Ticket,
    events: Sequence[Event],
    now: datetime,
    *,
    is_customer: Callable[[Ticket, str], bool] | None = None,
) -> SLAStatus:
    """Where each target of ``policy`` stands for ``ticket`` at ``now``.

    ``events`` are the ticket's events, oldest first (as a store returns them);
    events after ``now`` are ignored. ``is_customer(ticket, actor)`` tells
    customers from agents (default: the reporter is the customer).
    """
    now = ensure_utc(now, "now")
    timeline = _Timeline(workflow, ticket, events, now, is_customer or _is_reporter)
    calendar, warn_at = policy.calendar, policy.warn_at
    targets: list[TargetStatus] = []
    history: list[TargetStatus] = []
    upcoming: list[datetime] = []

    def clock(target: Target, cycle: int, started: datetime, met: datetime | None) -> TargetStatus:
        end = now if met is None else met
        still = timeline.still_since
        paused = None if met is not None or still is None else max(still, started)
        status, later = _measure(
            calendar,
            warn_at,
            target,
            cycle,
            started,
            timeline.runs(started, end, now),
            met,
            paused,
            now,
        )
        upcoming.extend(later)
        return status

    first = policy.target_for(TargetKind.FIRST_RESPONSE, ticket)
    if first is not None:
        targets.append(clock(first, 0, timeline.opened, timeline.first_response))
    following = policy.target_for(TargetKind.NEXT_RESPONSE, ticket)
    if following is not None:
        for number, (started, met) in enumerate(timeline.cycles, start=1):
            assert started is not None
            status = clock(following, number, started, met)
            (targets if number == len(timeline.cycles) else history).append(status)
    resolution = policy.target_for(TargetKind.RESOLUTION, ticket)
    if resolution is not None:
        targets.append(clock(resolution, 0, timeline.opened, timeline.done_since))
    return SLAStatus(
        key=ticket.key,
        policy=policy.name,
        now=now,
        targets=tuple(targets),
        next_change=min(upcoming, default=None),
        history=tuple(history),
    )


def _recorded(
    events: Sequence[Event],
) -> tuple[set[tuple[str, int, float]], set[tuple[str, int]]]:
    warnings: set[tuple[str, int, float]] = set()
    breaches: set[tuple[str, int]] = set()
    for event in events:
        if event.type is EventType.SLA_WARNING:
            data = event.data
            threshold = data.get("threshold")
            if isinstance(threshold, (int, float)):
                warnings.add((str(data.get("target")), _int(data.get("cycle")), float(threshold)))
        elif event.type is EventType.SLA_BREACHED:
            data = event.data
            breaches.add((str(data.get("target")), _int(data.get("cycle"))))
    return warnings, breaches


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def due_notices(policy: SLAPolicy, status: SLAStatus, events: Sequence[Event]) -> list[SLANotice]:
    """The warnings and breaches due by ``status.now`` that ``events`` do not record yet.

    A breach is recorded once per target and cycle, a warning once per target,
    cycle and threshold. A warning overtaken by the target being met or breached
    before it was recorded is left out: the breach (or nothing) says it all.
    """
    warned, breached = _recorded(events)
    notices: list[SLANotice] = []
    for target in (*status.history, *status.targets):
        kind = target.kind
        if target.state is ClockState.BREACHED:
            if (kind.value, target.cycle) not in breached:
                assert target.breached_at is not None
                notices.append(
                    SLANotice(EventType.SLA_BREACHED, kind, target.cycle, None, target.breached_at)
                )
        elif target.state is not ClockState.MET and target.warnings:
            due = target.due
            if due is None:
                due = policy.calendar.add(status.now, target.remaining)
            for fraction in target.warnings:
                if (kind.value, target.cycle, fraction) not in warned:
                    notices.append(
                        SLANotice(EventType.SLA_WARNING, kind, target.cycle, fraction, due)
                    )
    return notices


def next_notice_at(
    policy: SLAPolicy, status: SLAStatus, events: Sequence[Event]
) -> datetime | None:
    """The earliest instant after ``status.now`` at which a warning or breach that
    ``events`` do not record yet falls due; ``None`` when no running clock has one."""
    warned, breached = _recorded(events)
    running = [t for t in status.targets if t.state is ClockState.RUNNING]
    if not any(
        (t.kind.value, t.cycle) in breached
        or any((t.kind.value, t.cycle, f) in warned for f in policy.warn_at if f not in t.warnings)
        for t in running
    ):
        return status.next_change  # nothing ahead is recorded yet: no calendar work needed
    found: list[datetime] = []
    for target in running:
        key = target.kind.value
        for fraction in policy.warn_at:
            if fraction not in target.warnings and (key, target.cycle, fraction) not in warned:
                left = target.within * fraction - target.elapsed
                if left > _ZERO:
                    found.append(policy.calendar.add(status.now, left))
        if (key, target.cycle) not in breached and target.due is not None:
            found.append(target.due)
    return min(found, default=None)


def notice_event(ticket: Ticket, notice: SLANotice, at: datetime) -> Event:
    """The event that records ``notice`` on ``ticket`` at ``at`` (actor ``"sla"``).

    It carries the ticket's current version: a notice does not change the ticket.
    """
    data: Mapping[str, Any] = {
        "target": notice.target.value,
        "cycle": notice.cycle,
        "threshold": notice.threshold,
        "due": notice.due.isoformat(),
    }
    return Event(
        ticket_id=ticket.id,
        ticket_key=ticket.key,
        version=ticket.version,
        type=notice.type,
        actor=SLA_ACTOR,
        at=ensure_utc(at, "at"),
        field=None,
        data=data,
    )
