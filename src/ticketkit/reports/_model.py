"""What a report holds: frozen, plain values that a front end can show or save.

Durations are business time (``timedelta``); in :meth:`Report.to_data` they are
seconds and in :meth:`Report.tables` hours. Every value here is computed by
:func:`ticketkit.reports.build_report`; see ``docs/reports.md`` for what each
number means exactly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from attrs import frozen

__all__ = [
    "CSATRow",
    "Compliance",
    "Durations",
    "Group",
    "PeriodRow",
    "Report",
    "Summary",
    "TicketRow",
    "TimeTotal",
]

#: The SLA outcome of one target of one ticket.
MET, BREACHED, RUNNING = "met", "breached", "running"


@frozen
class Durations:
    """How many tickets were measured, and the median and 90th percentile of their times.

    The median of an even count is the mean of the two middle values; ``p90`` is
    the nearest-rank percentile (the smallest time that at least 90 % of the
    tickets took no longer than). Both are ``None`` when nothing was measured.
    """

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None


@frozen
class Compliance:
    """How the tickets did against one SLA target kind.

    ``met`` and ``breached`` count tickets whose target was met in time or
    missed; ``running`` those whose clock still runs (or is paused) at the end
    of the report, which count as neither.
    """

    kind: str
    met: int = 0
    breached: int = 0
    running: int = 0

    @property
    def met_share(self) -> float | None:
        """``met / (met + breached)``, or ``None`` when no target was decided."""
        decided = self.met + self.breached
        return self.met / decided if decided else None


@frozen
class Summary:
    """The numbers of a set of tickets opened in the report's period.

    ``open`` are still open at the report's end; ``resolved`` reached a
    resolved- or closed-category state at least once (merged duplicates
    excepted, counted in ``merged``); ``reopened`` of those were reopened
    afterwards. ``sla`` has one :class:`Compliance` per target kind of the
    policy (none without a policy).
    """

    tickets: int = 0
    open: int = 0
    resolved: int = 0
    reopened: int = 0
    merged: int = 0
    first_response: Durations = Durations()
    resolution: Durations = Durations()
    sla: tuple[Compliance, ...] = ()

    @property
    def reopen_rate(self) -> float | None:
        """``reopened / resolved``, or ``None`` when nothing was resolved."""
        return self.reopened / self.resolved if self.resolved else None


@frozen
class Group:
    """The :class:`Summary` of the tickets that share one value of a dimension.

    ``dimension`` is ``"agent"``, ``"queue"``, ``"priority"`` or ``"tag"``;
    ``value`` is ``None`` for unassigned tickets in the ``agent`` dimension.
    """

    dimension: str
    value: str | None
    summary: Summary


@frozen
class PeriodRow:
    """One day or ISO week of the report.

    ``start`` is its first day in the report's time zone. ``opened`` counts the
    tickets opened in it, ``resolved`` the times a ticket entered a resolved- or
    closed-category state, ``reopened`` the times one left such a state, and
    ``backlog`` the tickets open at its end (whenever they were opened), and
    ``time_spent`` the time logged for days worked in it (wall-clock time, as
    agents log it).
    """

    start: date
    opened: int = 0
    resolved: int = 0
    reopened: int = 0
    backlog: int = 0
    time_spent: timedelta = timedelta(0)


@frozen
class TicketRow:
    """What the report found about one ticket opened in its period.

    ``agent`` is the assignee when the ticket was (last) resolved, else its
    assignee at the report's end. ``resolved_at`` is the final resolution (the
    start of the resolved or closed spell the ticket is in at the report's end),
    ``None`` while open. Times are business time on the report's calendar. The
    ``sla_*`` fields are ``"met"``, ``"breached"``, ``"running"`` or ``None``
    (no such target). ``time_spent`` is all the time logged on the ticket before
    the report's end, ``time_estimate`` its estimate then.
    """

    key: str
    title: str
    tenant: str
    queue: str
    priority: str
    tags: tuple[str, ...]
    agent: str | None
    opened: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    first_response_time: timedelta | None = None
    resolution_time: timedelta | None = None
    resolutions: int = 0
    reopens: int = 0
    merged: bool = False
    sla_first_response: str | None = None
    sla_next_response: str | None = None
    sla_resolution: str | None = None
    time_spent: timedelta = timedelta(0)
    time_estimate: timedelta | None = None


@frozen
class TimeTotal:
    """Time logged (see ``Tracker.log_time``) by one agent, or on one ticket.

    ``value`` is the agent or the ticket's key; ``spent`` the total of the
    live entries for days worked in the report's period; ``entries`` how many.
    """

    value: str
    spent: timedelta
    entries: int


@frozen
class CSATRow:
    """Customer satisfaction of the surveys sent in the period (see ``docs/surveys.md``).

    ``dimension`` is ``"overall"``, ``"agent"`` or ``"queue"``; ``name`` is the
    agent or queue (``None`` overall, and for the surveys of unassigned
    tickets). ``satisfied`` counts the answers "good", 4 and 5;
    ``rating_sum`` and ``rated`` are the sum and count of the 1-5 ratings.
    """

    dimension: str
    name: str | None
    sent: int
    answered: int
    satisfied: int
    rating_sum: int = 0
    rated: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def score(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None

    @property
    def mean(self) -> float | None:
        return self.rating_sum / self.rated if self.rated else None


@frozen
class Report:
    """Everything :func:`~ticketkit.reports.build_report` found, as plain values.

    The period is ``[since, until)``. ``periods`` are the days or weeks it
    touches, ``backlog_at_start`` the tickets open at ``since``. ``summary``,
    the breakdowns and ``tickets`` cover the tickets opened in the period.
    """

    since: datetime
    until: datetime
    period: str
    timezone: str
    tenant: str | None
    policy: str | None
    backlog_at_start: int
    periods: tuple[PeriodRow, ...]
    summary: Summary
    by_agent: tuple[Group, ...] = ()
    by_queue: tuple[Group, ...] = ()
    by_priority: tuple[Group, ...] = ()
    by_tag: tuple[Group, ...] = ()
    tickets: tuple[TicketRow, ...] = ()
    csat: tuple[CSATRow, ...] = ()
    time_by_agent: tuple[TimeTotal, ...] = ()
    time_by_ticket: tuple[TimeTotal, ...] = ()

    @property
    def empty(self) -> bool:
        """No ticket was opened in the period and none was open in it."""
        return (
            not self.tickets
            and not any(p.backlog for p in self.periods)
            and (self.backlog_at_start == 0)
        )

    def to_data(self) -> dict[str, object]:
        """The report as JSON-ready data; :meth:`from_data` reads it back equal."""
        from ._data import encode

        data: dict[str, object] = encode(self)
        return data

    @classmethod
    def from_data(cls, data: object) -> Report:
        """The report that :meth:`to_data` gave ``data`` for."""
        from ._data import decode

        report: Report = decode(cls, data, "$")
        return report

    def tables(self) -> dict[str, list[dict[str, object]]]:
        """The report as named tables of rows (see ``docs/reports.md``), for CSV and display."""
        from ._tables import tables

        return tables(self)
