"""``ticketkit report``: the help desk's numbers, as a summary, JSON, CSV or an HTML page.

stdout gets one thing: the summary (a Rich table on a terminal, tab-separated
lines otherwise), ``--json`` (``Report.to_data()``) or ``--csv TABLE``.
``--html FILE`` and ``--csv-dir DIR`` write files besides. A progress bar goes
to stderr while the report is built, when stderr is a terminal or with
``--progress``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

from ._cli_config import open_tracker, url_option
from ._cli_output import emit_json, use_rich
from .cli import reporting, say

if TYPE_CHECKING:
    from ._tracker import Tracker
    from .reports import Report

__all__ = ["report_command"]


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO date or date and time; a date is the start of that day."""
    if value is None:
        return None
    try:
        if "T" in value or " " in value.strip():
            return datetime.fromisoformat(value.strip())
        return datetime.combine(date.fromisoformat(value.strip()), time(0))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD or an ISO date and time "
            "such as 2026-01-05T09:00+01:00",
            ctx=ctx,
            param=param,
        ) from None


def _zone(tracker: Tracker) -> tzinfo:
    """The time zone of the tracker's SLA calendar, in which plain dates are read."""
    automation = tracker.automation
    if automation is not None and automation.sla is not None:
        return ZoneInfo(automation.sla.calendar.timezone)
    return UTC


def _aware(value: datetime | None, zone: tzinfo) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr, and the function that moves it (``None`` if not shown)."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task("Reading tickets", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def _hours(value: timedelta | None) -> str:
    from .reports._tables import hours

    found = hours(value)
    return "–" if found is None else f"{found:g} h"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _overview(report: Report) -> list[tuple[str, str]]:
    s = report.summary
    rows = [
        ("period", f"{report.since.isoformat()} to {report.until.isoformat()}"),
        ("tenant", report.tenant or "every tenant"),
        ("tickets opened", str(s.tickets)),
        ("still open", str(s.open)),
        ("backlog at the end", str(report.periods[-1].backlog if report.periods else 0)),
        ("resolved", str(s.resolved)),
        ("reopen rate", _share(s.reopen_rate)),
        ("merged", str(s.merged)),
        (
            "first response median / p90",
            f"{_hours(s.first_response.median)} / {_hours(s.first_response.p90)}",
        ),
        ("resolution median / p90", f"{_hours(s.resolution.median)} / {_hours(s.resolution.p90)}"),
    ]
    for c in s.sla:
        rows.append(
            (
                f"SLA {c.kind}",
                f"{c.met} met, {c.breached} breached, {c.running} running "
                f"({_share(c.met_share)} met)",
            )
        )
    return rows


def _agents(report: Report) -> list[list[str]]:
    return [
        [
            g.value or "(unassigned)",
            str(g.summary.tickets),
            str(g.summary.open),
            str(g.summary.resolved),
            _hours(g.summary.first_response.median),
            _hours(g.summary.resolution.median),
            _share(g.summary.reopen_rate),
        ]
        for g in report.by_agent
    ]


_AGENT_COLUMNS = ("agent", "tickets", "open", "resolved", "first response", "resolution", "reopens")


def _print_summary(ctx: click.Context, report: Report) -> None:
    if report.empty:
        say("no ticket was open in this period")
    if not use_rich(ctx):
        for name, value in _overview(report):
            click.echo(f"{name}\t{value}")
        for row in _agents(report):
            click.echo("\t".join(["agent", *row]))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    color = ctx.find_root().params.get("color")
    console = Console(file=sys.stdout, force_terminal=True if color else None, highlight=False)
    overview = Table("", "", title="Help-desk report", show_header=False)
    for name, value in _overview(report):
        overview.add_row(Text(name), Text(value))
    console.print(overview)
    if report.by_agent:
        agents = Table(*_AGENT_COLUMNS, title="By agent (medians, business hours)")
        for row in _agents(report):
            agents.add_row(*map(Text, row))
        console.print(agents)


def report_command() -> click.Command:
    """``ticketkit report`` (see the module)."""
    from .reports import TABLES

    @click.command("report")
    @url_option
    @click.option("--since", callback=_moment, help="First day (YYYY-MM-DD) or instant.")
    @click.option(
        "--until", callback=_moment, help="Day (YYYY-MM-DD, not included) or instant to end at."
    )
    @click.option("--period", type=click.Choice(["day", "week"]), default="day", show_default=True)
    @click.option("--tenant", help="Only this help desk (tenant) [default: every tenant].")
    @click.option(
        "--html", "html_file", type=click.Path(dir_okay=False), help="Write an HTML page."
    )
    @click.option("--csv", "csv_table", type=click.Choice(TABLES), help="Print this table as CSV.")
    @click.option(
        "--csv-dir",
        type=click.Path(file_okay=False),
        help="Write every table as TABLE.csv into this directory.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    @click.option(
        "--progress/--no-progress",
        default=None,
        help="Show a progress bar on stderr [default: when stderr is a terminal].",
    )
    @click.pass_context
    def report(
        ctx: click.Context,
        url: str | None,
        since: datetime | None,
        until: datetime | None,
        period: str,
        tenant: str | None,
        html_file: str | None,
        csv_table: str | None,
        csv_dir: str | None,
        as_json: bool,
        progress: bool | None,
    ) -> None:
        """Report ticket volume, backlog, response and resolution times, SLA compliance
        and reopens, from the tickets' history.

        Dates without a time zone are read in the SLA calendar's zone (else UTC);
        times are business hours on that calendar. --until defaults to now.
        """
        from .reports import build_report, write_csv, write_html

        if as_json and csv_table:
            raise click.UsageError("give --json or --csv, not both: stdout takes one of them")
        show = sys.stderr.isatty() if progress is None else progress
        with reporting(), open_tracker(ctx, url) as tracker:
            zone = _zone(tracker)
            with _progress(show) as advance:
                built = build_report(
                    tracker,
                    since=_aware(since, zone),
                    until=_aware(until, zone),
                    period=period,
                    tenant=tenant,
                    progress=advance,
                )
        with reporting():
            if html_file is not None:
                write_html(built, Path(html_file))
                say(f"wrote {html_file}")
            if csv_dir is not None:
                folder = Path(csv_dir)
                folder.mkdir(parents=True, exist_ok=True)
                for table in TABLES:
                    with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as f:
                        write_csv(built, table, f)
                say(f"wrote {len(TABLES)} tables to {csv_dir}")
        if as_json:
            emit_json(built.to_data())
        elif csv_table is not None:
            write_csv(built, csv_table, sys.stdout)
        elif html_file is None and csv_dir is None:
            _print_summary(ctx, built)

    return report
