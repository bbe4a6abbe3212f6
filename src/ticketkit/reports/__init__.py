"""Help-desk reports: volume, backlog, response and resolution times, SLA compliance.

Everything is computed from the tickets' events by :func:`build_report`, which
returns a :class:`Report` of plain frozen values. :meth:`Report.tables` gives
named tables, :func:`write_csv` writes one as spreadsheet-safe CSV, and
:func:`write_html` a self-contained HTML page with charts (that one needs the
``reports`` extra: ``pip install 'ticketkit[reports]'``). See ``docs/reports.md``.
"""

from __future__ import annotations

from .._spreadsheet import safe_cell
from ._build import build_report
from ._html import write_html
from ._model import (
    Compliance,
    Durations,
    Group,
    PeriodRow,
    Report,
    Summary,
    TicketRow,
    TimeTotal,
)
from ._tables import TABLES, write_csv

__all__ = [
    "TABLES",
    "Compliance",
    "Durations",
    "Group",
    "PeriodRow",
    "Report",
    "Summary",
    "TicketRow",
    "TimeTotal",
    "build_report",
    "safe_cell",
    "write_csv",
    "write_html",
]
