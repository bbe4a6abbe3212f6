"""A report as named tables of flat rows, and as CSV that is safe in a spreadsheet.

Cells are ``str``, ``int``, ``float``, ``bool`` or ``None``: dates and times are
ISO 8601 text, durations are hours (a float, rounded to 4 places), shares are
fractions from 0 to 1. :func:`write_csv` passes every cell through
:func:`ticketkit.reports.safe_cell`, so user text (titles, tags, agent and
queue names) can never run as a formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TextIO

from .._errors import ValidationError
from .._spreadsheet import write_csv as _write_rows
from ._csat import CSAT_COLUMNS, csat_table
from ._model import Durations, Group, Report, Summary

__all__ = ["TABLES", "columns", "tables", "write_csv"]

#: The names of the tables :meth:`Report.tables` returns, in order.
TABLES = (
    "volume",
    "backlog",
    "response_times",
    "sla",
    "reopens",
    "by_agent",
    "by_queue",
    "by_priority",
    "by_tag",
    "csat",
    "tickets",
    "time_by_agent",
    "time_by_ticket",
)

Row = dict[str, object]

_TICKET_COLUMNS = (
    "key",
    "title",
    "tenant",
    "queue",
    "priority",
    "tags",
    "agent",
    "opened",
    "first_response_at",
    "resolved_at",
    "first_response_hours",
    "resolution_hours",
    "resolutions",
    "reopens",
    "merged",
    "sla_first_response",
    "sla_next_response",
    "sla_resolution",
    "time_hours",
    "estimate_hours",
)


def hours(value: timedelta | None) -> float | None:
    """A duration in hours, rounded to 4 places (``None`` stays ``None``)."""
    return None if value is None else round(value.total_seconds() / 3600, 4)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _durations(prefix: str, value: Durations) -> Row:
    return {
        f"{prefix}_count": value.count,
        f"{prefix}_median_hours": hours(value.median),
        f"{prefix}_p90_hours": hours(value.p90),
    }


def _summary_row(summary: Summary) -> Row:
    row: Row = {
        "tickets": summary.tickets,
        "open": summary.open,
        "resolved": summary.resolved,
        "reopened": summary.reopened,
        "reopen_rate": _share(summary.reopened, summary.resolved),
        "merged": summary.merged,
        **_durations("first_response", summary.first_response),
        **_durations("resolution", summary.resolution),
    }
    for c in summary.sla:
        row[f"sla_{c.kind}_met"] = c.met
        row[f"sla_{c.kind}_breached"] = c.breached
        row[f"sla_{c.kind}_running"] = c.running
    return row


def _group_rows(found: Sequence[Group], dimension: str) -> list[Row]:
    return [{dimension: g.value, **_summary_row(g.summary)} for g in found]


def columns(report: Report) -> dict[str, tuple[str, ...]]:
    """The columns of each table of ``report``, in order (even for an empty table)."""
    summary_columns = tuple(_summary_row(report.summary))
    return {
        "volume": ("start", "opened", "time_hours"),
        "backlog": ("start", "backlog", "opened", "resolved", "reopened"),
        "response_times": ("metric", "count", "median_hours", "p90_hours"),
        "sla": ("kind", "met", "breached", "running", "met_share"),
        "reopens": ("resolved", "reopened", "reopen_rate"),
        "by_agent": ("agent", *summary_columns),
        "by_queue": ("queue", *summary_columns),
        "by_priority": ("priority", *summary_columns),
        "by_tag": ("tag", *summary_columns),
        "csat": CSAT_COLUMNS,
        "tickets": _TICKET_COLUMNS,
        "time_by_agent": ("agent", "hours", "entries"),
        "time_by_ticket": ("key", "hours", "entries"),
    }


def tables(report: Report) -> dict[str, list[Row]]:
    """Every table of ``report`` by name (see :data:`TABLES`)."""
    s = report.summary
    return {
        "volume": [
            {"start": p.start.isoformat(), "opened": p.opened, "time_hours": hours(p.time_spent)}
            for p in report.periods
        ],
        "backlog": [
            {
                "start": p.start.isoformat(),
                "backlog": p.backlog,
                "opened": p.opened,
                "resolved": p.resolved,
                "reopened": p.reopened,
            }
            for p in report.periods
        ],
        "response_times": [
            {
                "metric": name,
                "count": d.count,
                "median_hours": hours(d.median),
                "p90_hours": hours(d.p90),
            }
            for name, d in (("first_response", s.first_response), ("resolution", s.resolution))
        ],
        "sla": [
            {
                "kind": c.kind,
                "met": c.met,
                "breached": c.breached,
                "running": c.running,
                "met_share": _share(c.met, c.met + c.breached),
            }
            for c in s.sla
        ],
        "reopens": [
            {
                "resolved": s.resolved,
                "reopened": s.reopened,
                "reopen_rate": _share(s.reopened, s.resolved),
            }
        ],
        "by_agent": _group_rows(report.by_agent, "agent"),
        "by_queue": _group_rows(report.by_queue, "queue"),
        "by_priority": _group_rows(report.by_priority, "priority"),
        "by_tag": _group_rows(report.by_tag, "tag"),
        "csat": csat_table(report.csat),
        "tickets": [
            {
                "key": t.key,
                "title": t.title,
                "tenant": t.tenant,
                "queue": t.queue,
                "priority": t.priority,
                "tags": " ".join(t.tags),
                "agent": t.agent,
                "opened": t.opened.isoformat(),
                "first_response_at": _iso(t.first_response_at),
                "resolved_at": _iso(t.resolved_at),
                "first_response_hours": hours(t.first_response_time),
                "resolution_hours": hours(t.resolution_time),
                "resolutions": t.resolutions,
                "reopens": t.reopens,
                "merged": t.merged,
                "sla_first_response": t.sla_first_response,
                "sla_next_response": t.sla_next_response,
                "sla_resolution": t.sla_resolution,
                "time_hours": hours(t.time_spent),
                "estimate_hours": hours(t.time_estimate),
            }
            for t in report.tickets
        ],
        "time_by_agent": [
            {"agent": t.value, "hours": hours(t.spent), "entries": t.entries}
            for t in report.time_by_agent
        ],
        "time_by_ticket": [
            {"key": t.value, "hours": hours(t.spent), "entries": t.entries}
            for t in report.time_by_ticket
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def write_csv(report: Report, table: str, file: TextIO) -> int:
    """Write the table named ``table`` of ``report`` to ``file`` as CSV; return its row count.

    Every cell goes through :func:`~ticketkit.reports.safe_cell`. Open ``file``
    with ``newline=""``, as the :mod:`csv` module asks.
    """
    if table not in TABLES:
        raise ValidationError(
            f"no report table named {table!r}; use one of {', '.join(TABLES)}", field="table"
        )
    return _write_rows(file, columns(report)[table], tables(report)[table])
