"""``build_report``: read the tickets and their events once, compute every number."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import attrs

from .._clock import optional_instant
from .._errors import ValidationError
from .._model import Ticket
from .._query import Query
from .._scan import Progress, check_scope, histories, tickets_before
from .._timelog import TimeEntry
from ..sla._calendar import BusinessCalendar
from ..sla._policy import SLAPolicy, TargetKind
from ..surveys._summary import SurveyRecord, survey_records
from ._aggregate import groups, summary, ticket_row, time_totals
from ._csat import csat_rows
from ._facts import Facts, ticket_facts
from ._model import PeriodRow, Report, TimeTotal
from ._periods import PERIODS, boundary, period_start, series

if TYPE_CHECKING:
    from .._tracker import Tracker

__all__ = ["build_report"]


def _check(
    period: object,
    calendar: object,
    policy: object,
    tenant: object,
    where: object,
    progress: object,
) -> None:
    if period not in PERIODS:
        raise ValidationError(f"period must be 'day' or 'week', got {period!r}", field="period")
    if calendar is not None and not isinstance(calendar, BusinessCalendar):
        raise ValidationError(
            f"calendar must be a ticketkit.sla.BusinessCalendar or None, got {calendar!r}",
            field="calendar",
        )
    if policy is not None and not isinstance(policy, SLAPolicy):
        raise ValidationError(
            f"policy must be a ticketkit.sla.SLAPolicy or None, got {policy!r}", field="policy"
        )
    check_scope(tenant, where, progress)


def build_report(
    tracker: Tracker,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    period: str = "day",
    calendar: BusinessCalendar | None = None,
    policy: SLAPolicy | None = None,
    tenant: str | None = None,
    where: Mapping[str, Any] | Query | None = None,
    progress: Progress | None = None,
) -> Report:
    """The help desk's numbers for the tickets opened in ``[since, until)``.

    ``until`` defaults to the tracker's clock, ``since`` to the start of the day
    (or week) of the first ticket that matches. ``where`` filters tickets by
    their current values as :meth:`Tracker.query` does; ``tenant`` keeps one
    tenant's tickets (``None``: every tenant). ``policy`` (default: the
    tracker's SLA policy) is replayed over each ticket's events; ``calendar``
    (default: that policy's calendar, else 24/7) measures business hours and
    sets the time zone of days and weeks. ``progress(done, total)`` is called
    as tickets are read. See ``docs/reports.md`` for every definition.
    """
    since = optional_instant(since, "since")
    until = optional_instant(until, "until")
    _check(period, calendar, policy, tenant, where, progress)
    if since is not None and until is not None and since >= until:
        raise ValidationError(
            f"since {since.isoformat()} is not before until {until.isoformat()}; "
            "give a since earlier than until",
            field="since",
        )
    automation = tracker.automation
    customer = automation.customer if automation is not None else None
    if policy is None and automation is not None:
        policy = automation.sla
    if calendar is None:
        calendar = policy.calendar if policy is not None else BusinessCalendar.always()
    zone = ZoneInfo(calendar.timezone)
    end = tracker.clock.now().astimezone(UTC) if until is None else until
    tickets = tickets_before(tracker, where, tenant, end)
    if since is None:
        first = min((t.created for t in tickets), default=end)
        if first >= end:
            first = end - timedelta(microseconds=1)
        since = boundary(period_start(first, period, zone), zone)
    elif since >= end:
        raise ValidationError(
            f"since {since.isoformat()} is not before the tracker's clock {end.isoformat()}; "
            "give an earlier since, or an until",
            field="since",
        )
    workflow = tracker.workflow
    is_customer = customer if customer is not None else _is_reporter
    facts: list[Facts] = []
    surveys: list[SurveyRecord] = []
    total = len(tickets)
    found = histories(tracker, tickets)
    for done, (ticket, events) in enumerate(zip(tickets, found, strict=True), start=1):
        facts.append(ticket_facts(workflow, ticket, events, end, is_customer, policy))
        surveys.extend(survey_records(ticket, events))
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    if progress is not None and not total:
        progress(0, 0)
    at_start, periods = series(facts, since, end, period, zone)
    first_day = since.astimezone(zone).date()
    last_day = (end - timedelta(microseconds=1)).astimezone(zone).date()
    totals, entries = time_totals(facts, first_day, last_day)
    periods = _with_time(periods, entries)
    rows = tuple(ticket_row(f, calendar) for f in facts if since <= f.opened < end)
    kinds = _kinds(policy)
    return Report(
        since=since,
        until=end,
        period=period,
        timezone=calendar.timezone,
        tenant=tenant,
        policy=None if policy is None else policy.name,
        backlog_at_start=at_start,
        periods=periods,
        summary=summary(rows, kinds),
        by_agent=groups("agent", rows, lambda r: (r.agent,), kinds),
        by_queue=groups("queue", rows, lambda r: (r.queue,), kinds),
        by_priority=groups("priority", rows, lambda r: (r.priority,), kinds),
        by_tag=groups("tag", rows, lambda r: r.tags, kinds),
        tickets=rows,
        csat=csat_rows(surveys, since, end),
        time_by_agent=_time_totals(totals, lambda key: isinstance(key, str)),
        time_by_ticket=_time_totals(totals, lambda key: isinstance(key, tuple)),
    )


def _with_time(periods: tuple[PeriodRow, ...], entries: list[TimeEntry]) -> tuple[PeriodRow, ...]:
    """The periods with the time logged for the days worked in each."""
    if not entries or not periods:
        return periods
    starts = [p.start for p in periods]
    spent = [timedelta(0) for _ in periods]
    for entry in entries:
        spent[max(bisect.bisect_right(starts, entry.on) - 1, 0)] += entry.spent
    return tuple(attrs.evolve(p, time_spent=t) for p, t in zip(periods, spent, strict=True))


def _time_totals(
    totals: Mapping[str | tuple[str, str], tuple[timedelta, int]],
    wanted: Callable[[str | tuple[str, str]], bool],
) -> tuple[TimeTotal, ...]:
    """The totals whose key ``wanted`` keeps, most time first (ties by name)."""
    found = [
        TimeTotal(key if isinstance(key, str) else key[1], spent, count)
        for key, (spent, count) in totals.items()
        if wanted(key)
    ]
    return tuple(sorted(found, key=lambda t: (-t.spent, t.value)))


def _is_reporter(ticket: Ticket, actor: str) -> bool:
    return actor == ticket.reporter


def _kinds(policy: SLAPolicy | None) -> tuple[str, ...]:
    if policy is None:
        return ()
    present = {target.kind for target in policy.targets}
    return tuple(kind.value for kind in TargetKind if kind in present)
