"""How long ``Tracker.run_due`` takes over many open tickets with running SLA clocks.

Usage::

    python benchmarks/bench_run_due.py                 # 100,000 tickets, 1,000 of them due
    python benchmarks/bench_run_due.py --n 10000 --due 100   # quicker
    python benchmarks/bench_run_due.py --url postgresql+psycopg://…

Set-up (not timed): ``--n`` open tickets are imported into a new SQLite file
(``synchronous=FULL``), every one with a first-response (4 h) and a resolution
(8 h) clock and a warning at 75 %, and ``Tracker.reschedule()`` gives each its
next due instant. ``--due`` of them were opened 10 hours before the run, so
both their clocks have warned and broken; the others were opened just before
it, so nothing of theirs is due yet.

Timed: ``run_due`` at that instant, which records 2 breaches on each due
ticket (their warnings, overtaken, are not recorded) and reschedules it; then
``run_due`` again with
nothing due. Both find their work through the index on the schedule's due
time, never by reading the tickets that are not due. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ticketkit import Automation, FrozenClock, Tracker
from ticketkit.importers import ImportRecord
from ticketkit.sla import SLAPolicy, Target, TargetKind

POLICY = SLAPolicy(
    targets=(
        Target(TargetKind.FIRST_RESPONSE, timedelta(hours=4)),
        Target(TargetKind.RESOLUTION, timedelta(hours=8)),
    ),
    warn_at=(0.75,),
)
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _records(n: int, due: int) -> Iterator[ImportRecord]:
    for i in range(n):
        opened = NOW - (timedelta(hours=10) if i < due else timedelta(minutes=5))
        yield ImportRecord(
            title=f"Ticket {i}",
            reporter=f"customer{i % 500}@example.com",
            created=opened,
            description="The printer on floor 3 is out of toner again.",
            status="open",
        )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="open tickets")
    parser.add_argument("--due", type=int, default=1_000, help="of which due at the run")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the empty case")
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        clock = FrozenClock(NOW)
        with Tracker.from_url(url, clock=clock, automation=Automation(sla=POLICY)) as tracker:
            started = time.perf_counter()
            tracker.import_tickets(_records(args.n, args.due), batch_size=2_000)
            imported = time.perf_counter() - started
            started = time.perf_counter()
            scheduled = tracker.reschedule(batch_size=1_000)
            rescheduled = time.perf_counter() - started
            assert scheduled == args.n, (scheduled, args.n)
            assert tracker.store.due_count(NOW) == args.due

            started = time.perf_counter()
            report = tracker.run_due()
            busy = time.perf_counter() - started
            assert report.tickets == args.due, report
            assert report.sla_breaches == 2 * args.due, report
            idle = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                assert tracker.run_due().tickets == 0
                idle.append(time.perf_counter() - started)
    backend = url.split(":")[0]
    idle_ms = statistics.median(idle) * 1000
    per_ticket = busy / max(args.due, 1) * 1000
    print(f"{args.n:,} open tickets, {args.due:,} due; {backend}; Python {sys.version.split()[0]}")
    print(f"(set-up: import {imported:.1f} s, reschedule {rescheduled:.1f} s)\n")
    print("| measurement | result | target |")
    print("|---|---|---|")
    print(
        f"| run_due, {args.due:,} tickets due ({2 * args.due:,} breaches) | {busy:.2f} s | < 5 s |"
    )
    print(f"|   per due ticket | {per_ticket:.2f} ms |  |")
    print(f"| run_due, nothing due (median of {args.repeat}) | {idle_ms:.2f} ms |  |")
    print(f"| peak memory of the process | {_peak_mb():.0f} MB |  |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
