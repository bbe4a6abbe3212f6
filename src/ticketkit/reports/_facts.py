"""What one ticket's events say, as of the end of a report.

The clocks of :mod:`ticketkit.sla` already read a history the way a report
needs it: when the ticket opened, its first response (a public comment by
someone who is not the customer), and the spells of workflow categories it went
through. :func:`ticket_facts` reuses that reading, so a report and the SLA
clocks never disagree on what a response or a resolution is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from .._events import Event, EventType
from .._model import Ticket
from .._timelog import TimeLog, time_log_of
from .._workflow import Category, Workflow
from ..sla._clocks import ClockState, TargetStatus, _Timeline, sla_status
from ..sla._policy import SLAPolicy
from ._model import BREACHED, MET, RUNNING

__all__ = ["Facts", "ticket_facts"]

_DONE = frozenset({Category.RESOLVED, Category.CLOSED})


@attrs.frozen
class Facts:
    """One ticket as of the report's end: its spells, responses, resolutions and SLA.

    ``spells`` are ``(start, done)`` pairs, oldest first, from its opening:
    ``done`` is true while it is in a resolved- or closed-category state.
    """

    ticket: Ticket
    opened: datetime
    spells: tuple[tuple[datetime, bool], ...]
    first_response: datetime | None
    resolved_at: datetime | None
    resolutions: int
    reopens: int
    merged: bool
    agent: str | None
    sla: dict[str, str] = attrs.field(factory=dict)
    time: TimeLog | None = None

    @property
    def open(self) -> bool:
        return not self.spells[-1][1]


def _snapshot(event: Event) -> Mapping[str, Any]:
    """The ticket as an ``opened`` event recorded it (empty if unreadable)."""
    found = event.data.get("ticket")
    return found if isinstance(found, Mapping) else {}


def _initial(ticket: Ticket, events: Sequence[Event]) -> Ticket:
    """``ticket`` with the status it was opened in: the clocks read the first spell from it."""
    if events and events[0].type is EventType.OPENED:
        status = _snapshot(events[0]).get("status")
        if isinstance(status, str):
            return attrs.evolve(ticket, status=status)
    for event in events:
        if event.type is EventType.STATUS_CHANGED and isinstance(event.old, str):
            return attrs.evolve(ticket, status=event.old)
    return ticket


def _agent(events: Sequence[Event], until: datetime | None) -> str | None:
    """The assignee just after ``until`` (inclusive), from the events."""
    agent: str | None = None
    for event in events:
        if until is not None and event.at > until:
            break
        if event.type is EventType.OPENED:
            value = _snapshot(event).get("assignee")
            agent = value if isinstance(value, str) else None
        elif event.type is EventType.ASSIGNED:
            agent = event.new if isinstance(event.new, str) else None
    return agent


_RANK = {MET: 0, RUNNING: 1, BREACHED: 2}


def _outcome(state: ClockState) -> str:
    if state is ClockState.MET:
        return MET
    return BREACHED if state is ClockState.BREACHED else RUNNING


def _outcomes(targets: Sequence[TargetStatus]) -> dict[str, str]:
    """Per target kind: breached if any cycle was, else running if any still is, else met."""
    found: dict[str, str] = {}
    for target in targets:
        kind, outcome = target.kind.value, _outcome(target.state)
        if _RANK[outcome] >= _RANK[found.get(kind, MET)]:
            found[kind] = outcome
    return found


def ticket_facts(
    workflow: Workflow,
    ticket: Ticket,
    events: Sequence[Event],
    until: datetime,
    is_customer: Callable[[Ticket, str], bool],
    policy: SLAPolicy | None,
) -> Facts:
    """What ``events`` say about ``ticket`` counting the changes made before ``until``."""
    seen = [e for e in events if e.at < until]
    start = _initial(ticket, events)
    timeline = _Timeline(workflow, start, seen, until, is_customer)
    spells = tuple(
        (at, cat in _DONE) for at, cat in zip(timeline.starts, timeline.categories, strict=True)
    )
    resolutions = sum(
        1 for i, (_, done) in enumerate(spells) if done and (i == 0 or not spells[i - 1][1])
    )
    reopens = sum(1 for i, (_, done) in enumerate(spells) if i and not done and spells[i - 1][1])
    merged = any(e.type is EventType.MERGED and e.field == "merged_into" for e in seen)
    resolved_at = timeline.done_since
    sla: dict[str, str] = {}
    if policy is not None and not merged:
        status = sla_status(policy, workflow, start, seen, until, is_customer=is_customer)
        sla = _outcomes((*status.history, *status.targets))
    return Facts(
        ticket=ticket,
        opened=timeline.opened,
        spells=spells,
        first_response=timeline.first_response,
        resolved_at=resolved_at,
        resolutions=resolutions,
        reopens=reopens,
        merged=merged,
        agent=_agent(seen, resolved_at),
        sla=sla,
        time=time_log_of(ticket.key, seen),
    )
