"""``ticketkit export`` and ``ticketkit import``: tickets out to JSON Lines or CSV, and back.

``export --format json`` writes :func:`ticketkit.importers.read_json`'s
format with comments and history (original actors and times), so ``export``
then ``import`` into a fresh database keeps tickets, statuses, comments and
history. ``--format csv`` writes one row per ticket, every cell through
:func:`ticketkit._spreadsheet.safe_cell`. ``import`` reads either, a Trac
environment or a Roundup export, through :mod:`ticketkit.importers` into
``Tracker.import_tickets``; ``import --dry-run`` is ``plan_import``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO, cast

import attrs
import click

from ._cli_config import json_option, open_tracker, url_option
from ._cli_output import emit_json
from .cli import reporting, say

if TYPE_CHECKING:
    from ._model import Ticket
    from ._tracker import Tracker
    from .importers import ImportRecord, Progress

__all__ = ["export_command", "import_command"]

_FORMATS = click.Choice(["json", "csv"])
_SOURCES = click.Choice(["json", "csv", "trac", "roundup"])


def _tickets(tracker: Tracker) -> Iterator[Ticket]:
    """Every ticket of every tenant, in id order, a page at a time."""
    cursor = None
    while True:
        page = tracker.query(order_by=("id",), limit=1000, cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def export_command() -> click.Command:
    @click.command("export", short_help="Write every ticket as JSON Lines or CSV.")
    @click.option("--format", "fmt", type=_FORMATS, default="json", show_default=True)
    @click.option(
        "-o", "--output", default="-", show_default=True, help="File to write; - is stdout."
    )
    @url_option
    @click.pass_context
    def export(ctx: click.Context, fmt: str, output: str, url: str | None) -> None:
        """Write every ticket as JSON Lines (with comments and history) or CSV.

        JSON Lines is what ticketkit import reads back. In CSV, cells that a
        spreadsheet would run as a formula (starting with = + - @) get a ' in front.
        """
        import json

        from ._cli_records import csv_columns, csv_row, export_record
        from ._spreadsheet import write_csv

        with reporting(), open_tracker(ctx, url) as tracker, _output(output) as out:
            if fmt == "csv":
                columns = csv_columns(tracker.config.fields)
                count = write_csv(
                    cast(TextIO, out), columns, (csv_row(t) for t in _tickets(tracker))
                )
            else:
                count = 0
                for ticket in _tickets(tracker):
                    record = export_record(
                        ticket, tracker.comments(ticket.id), tracker.history(ticket.id)
                    )
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    count += 1
        if output != "-":
            say(f"exported {count} tickets to {output}")

    return export


@contextmanager
def _output(name: str) -> Iterator[IO[str]]:
    """stdout for ``-``, else the file, opened for writing (a failure exits 1)."""
    if name == "-":
        yield sys.stdout
        return
    try:
        out = open(name, "w", encoding="utf-8", newline="")  # noqa: SIM115
    except OSError as exc:
        raise click.FileError(name, hint=exc.strerror or str(exc)) from None
    with out:
        yield out


@contextmanager
def _progress(show: bool) -> Iterator[Progress | None]:
    """A Rich progress display on stderr, when ``show`` (stderr is a terminal)."""
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.completed} tickets"),
        console=Console(stderr=True),
        transient=True,
    ) as display:
        task = display.add_task("import", total=None)

        def update(done: int, total: int | None) -> None:
            display.update(task, completed=done, total=total)

        yield update


def _dry_run(tracker: Tracker, records: Iterable[ImportRecord], as_json: bool) -> None:
    """Print what importing ``records`` would do (``plan_import``); exit 1 on a problem."""
    from ._errors import ValidationError
    from .importers import plan_import

    plan = plan_import(tracker, records)
    if as_json:
        emit_json(
            {
                "imported": 0,
                "checked": plan.records,
                "batches": 0,
                "dry_run": True,
                "keys": {},
                "ok": plan.ok,
                "tickets": plan.tickets,
                "changes": plan.changes,
                "comments": plan.comments,
                "problems": [attrs.asdict(p) for p in plan.problems],
                "unmapped": {kind: dict(values) for kind, values in plan.unmapped.items()},
                "not_imported": [attrs.asdict(n) for n in plan.not_imported],
            }
        )
        if not plan.ok:
            raise SystemExit(1)
        return
    for kind, values in plan.unmapped.items():
        shown = ", ".join(f"{value!r} ({count})" for value, count in values.items())
        say(f"unknown {kind}: {shown}")
    if plan.not_imported:
        say(
            f"{len(plan.not_imported)} things the source has cannot be imported (--json lists them)"
        )
    if plan.problems:
        first = plan.problems[0]
        where = f"record {first.index}" + (f" ({first.source_id})" if first.source_id else "")
        more = len(plan.problems) - 1
        also = f"; and {more} more record(s) would be refused" if more else ""
        raise ValidationError(f"{where}: {first.message}{also}", field=first.field)
    click.echo(
        f"checked {plan.records} tickets: all can be imported, with {plan.changes} changes "
        f"and {plan.comments} comments (nothing stored)"
    )


def _records(
    source: str | IO[str],
    fmt: str,
    mapping: dict[str, str | None],
    keep_quotes: bool,
    tracker: Tracker,
) -> Iterable[ImportRecord]:
    from ._cli_records import unquoted
    from .importers import read_csv, read_json, read_roundup, read_trac

    if fmt in ("trac", "roundup"):
        if not isinstance(source, str):
            raise click.BadParameter(f"a {fmt} source is a path, not stdin", param_hint="FILE")
        reader = read_trac if fmt == "trac" else read_roundup
        return reader(source)
    if fmt == "json":
        return read_json(source)
    records = read_csv(source, mapping=mapping or None, fields=tracker.config.fields)
    return records if keep_quotes else unquoted(records, tracker.config.fields)


def _mapping(given: tuple[str, ...]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for item in given:
        column, sep, target = item.partition("=")
        if not sep:
            raise click.BadParameter(f"use COLUMN=NAME (or COLUMN= to skip), got {item!r}")
        found[column] = target.strip() or None
    return found


def import_command() -> click.Command:
    @click.command("import", short_help="Import tickets with their history.")
    @click.argument("file", type=click.Path(exists=True, allow_dash=True))
    @click.option(
        "--format",
        "fmt",
        type=_SOURCES,
        help="json (JSON Lines), csv, trac (a Trac environment or its trac.db) or roundup "
        "(a roundup-admin export directory) [default: csv for *.csv, else json].",
    )
    @click.option(
        "--dry-run",
        is_flag=True,
        help="Check every record and list what cannot be mapped; store nothing.",
    )
    @click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True)
    @click.option(
        "--map",
        "columns",
        multiple=True,
        metavar="COLUMN=NAME",
        help="CSV: read the file's COLUMN as NAME (title, reporter, ...); COLUMN= skips it.",
    )
    @click.option(
        "--keep-quotes", is_flag=True, help="CSV: keep a ' before = + - @ (see docs/cli.md)."
    )
    @url_option
    @json_option
    @click.pass_context
    def import_(
        ctx: click.Context,
        file: str,
        fmt: str | None,
        dry_run: bool,
        batch_size: int,
        columns: tuple[str, ...],
        keep_quotes: bool,
        url: str | None,
        as_json: bool,
    ) -> None:
        """Import tickets, with their history, from FILE: JSON Lines or CSV (- is stdin),
        a Trac environment, or a roundup-admin export directory.

        The import stops at the first bad record, naming its line and record
        number; the batches before it are kept (use --dry-run first: it reads
        everything, stores nothing, and lists every record that would stop the
        import and every status, priority, queue, field or user it cannot map).
        """
        fmt = fmt or ("csv" if file.lower().endswith(".csv") else "json")
        mapping = _mapping(columns)
        if fmt in ("json", "csv") and file != "-" and Path(file).is_dir():
            raise click.BadParameter(
                f"{file!r} is a directory; give a {fmt} file", param_hint="FILE"
            )
        source: str | IO[str] = sys.stdin if file == "-" else file
        with reporting(), open_tracker(ctx, url) as tracker:
            records = _records(source, fmt, mapping, keep_quotes, tracker)
            if dry_run:
                _dry_run(tracker, records, as_json)
                return
            with _progress(sys.stderr.isatty()) as progress:
                report = tracker.import_tickets(records, batch_size=batch_size, progress=progress)
        result: dict[str, Any] = {
            "imported": report.imported,
            "checked": report.imported,
            "batches": report.batches,
            "dry_run": False,
            "keys": dict(report.keys),
        }
        if as_json:
            emit_json(result)
        else:
            click.echo(f"imported {report.imported} tickets in {report.batches} batches")

    return import_
