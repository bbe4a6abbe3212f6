"""From the facts of single tickets to rows, summaries and breakdowns."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta

from .._timelog import TimeEntry
from ..sla._calendar import BusinessCalendar
from ._facts import Facts
from ._model import BREACHED, MET, RUNNING, Compliance, Durations, Group, Summary, TicketRow

__all__ = ["durations", "groups", "summary", "ticket_row", "time_totals"]


def durations(values: Iterable[timedelta]) -> Durations:
    """Count, median (mean of the middle two for an even count) and nearest-rank p90."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return Durations()
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Durations(count=n, median=median, p90=ordered[math.ceil(0.9 * n) - 1])


def ticket_row(facts: Facts, calendar: BusinessCalendar) -> TicketRow:
    """One ticket's line of the report: its times on ``calendar`` and its SLA outcomes."""
    ticket = facts.ticket
    counted = not facts.merged
    first = facts.first_response if counted else None
    resolved = facts.resolved_at if counted else None
    return TicketRow(
        key=ticket.key,
        title=ticket.title,
        tenant=ticket.tenant,
        queue=ticket.queue,
        priority=ticket.priority.name,
        tags=tuple(sorted(ticket.tags)),
        agent=facts.agent,
        opened=facts.opened,
        first_response_at=first,
        resolved_at=resolved,
        first_response_time=None if first is None else calendar.elapsed(facts.opened, first),
        resolution_time=None if resolved is None else calendar.elapsed(facts.opened, resolved),
        resolutions=facts.resolutions,
        reopens=facts.reopens,
        merged=facts.merged,
        sla_first_response=facts.sla.get("first_response"),
        sla_next_response=facts.sla.get("next_response"),
        sla_resolution=facts.sla.get("resolution"),
        time_spent=facts.time.spent if facts.time else timedelta(0),
        time_estimate=facts.time.estimate if facts.time else None,
    )


def time_totals(
    all_facts: Iterable[Facts], first: date, last: date
) -> tuple[dict[str | tuple[str, str], tuple[timedelta, int]], list[TimeEntry]]:
    """The live time entries for days worked from ``first`` to ``last``, and their totals.

    Totals are keyed by agent and by ``("ticket", key)``: ``(spent, entries)``.
    """
    totals: dict[str | tuple[str, str], tuple[timedelta, int]] = {}
    found: list[TimeEntry] = []
    for facts in all_facts:
        if facts.time is None:
            continue
        for entry in facts.time.entries:
            if not first <= entry.on <= last:
                continue
            found.append(entry)
            for key in (entry.agent, ("ticket", entry.ticket_key)):
                spent, count = totals.get(key, (timedelta(0), 0))
                totals[key] = (spent + entry.spent, count + 1)
    return totals, found


def _compliance(kind: str, rows: Sequence[TicketRow]) -> Compliance:
    outcomes = [getattr(row, f"sla_{kind}") for row in rows]
    return Compliance(
        kind=kind,
        met=outcomes.count(MET),
        breached=outcomes.count(BREACHED),
        running=outcomes.count(RUNNING),
    )


def summary(rows: Sequence[TicketRow], kinds: Sequence[str]) -> Summary:
    """The numbers of ``rows``; merged duplicates count only as tickets and as merged."""
    counted = [row for row in rows if not row.merged]
    resolved = [row for row in counted if row.resolutions]
    return Summary(
        tickets=len(rows),
        open=sum(1 for row in counted if row.resolved_at is None),
        resolved=len(resolved),
        reopened=sum(1 for row in resolved if row.reopens),
        merged=len(rows) - len(counted),
        first_response=durations(
            row.first_response_time for row in counted if row.first_response_time is not None
        ),
        resolution=durations(
            row.resolution_time for row in counted if row.resolution_time is not None
        ),
        sla=tuple(_compliance(kind, counted) for kind in kinds),
    )


def _sort_key(value: str | None) -> tuple[bool, str]:
    return (value is None, value or "")


def groups(
    dimension: str,
    rows: Sequence[TicketRow],
    values: Callable[[TicketRow], Iterable[str | None]],
    kinds: Sequence[str],
) -> tuple[Group, ...]:
    """One :class:`Group` per value ``values(row)`` gives, sorted (``None`` last)."""
    members: dict[str | None, list[TicketRow]] = {}
    for row in rows:
        for value in values(row):
            members.setdefault(value, []).append(row)
    return tuple(
        Group(dimension=dimension, value=value, summary=summary(members[value], kinds))
        for value in sorted(members, key=_sort_key)
    )
