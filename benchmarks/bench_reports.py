"""How long ``ticketkit.reports.build_report`` takes, and its peak memory.

Usage::

    python benchmarks/bench_reports.py                    # 1,000 and 10,000 tickets
    python benchmarks/bench_reports.py --sizes 1000       # fewer
    python benchmarks/bench_reports.py --postgres         # also $TICKETKIT_TEST_POSTGRES_URL

Each store gets the same tickets, imported with their history through
``Tracker.import_tickets`` (not timed): opened over 90 days, each with an
assignment, a first public reply, a move to ``open``; 80 % resolved, a tenth of
those reopened and resolved again; an SLA policy on a 09:00-17:00 weekday
calendar. Then one ``build_report(tracker, period="week")`` is timed with
``time.perf_counter`` (wall) and ``time.process_time`` (CPU of this process,
which leaves out a database server's work but also the waiting on a busy
machine) and traced with ``tracemalloc`` (peak of Python allocations while it
runs; tracing slows the run, so the times come from a separate untraced run).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ticketkit import Automation, FrozenClock, Tracker
from ticketkit.importers import ImportedChange, ImportedComment, ImportRecord
from ticketkit.reports import build_report
from ticketkit.sla import BusinessCalendar, SLAPolicy, Target

T0 = datetime(2026, 1, 5, tzinfo=UTC)
AGENTS = ("alice", "bob", "carol", "dave")
QUEUES = ("default",)
POLICY = SLAPolicy(
    name="standard",
    targets=[Target("first_response", "4h"), Target("resolution", "16h")],
    calendar=BusinessCalendar.weekdays("09:00", "17:00"),
)


def records(n: int, seed: int = 1) -> Iterator[ImportRecord]:
    """``n`` tickets with a plausible history, the same for the same seed."""
    rng = random.Random(seed)
    for i in range(n):
        opened = T0 + timedelta(minutes=rng.randrange(90 * 24 * 60))
        agent = rng.choice(AGENTS)
        reply = opened + timedelta(minutes=rng.randrange(5, 600))
        changes = [
            ImportedChange(agent, opened + timedelta(minutes=1), "assignee", None, agent),
            ImportedChange(agent, reply, "status", "new", "open"),
        ]
        status = "open"
        if rng.random() < 0.8:
            done = reply + timedelta(minutes=rng.randrange(30, 5000))
            changes.append(ImportedChange(agent, done, "status", "open", "resolved"))
            status = "resolved"
            if rng.random() < 0.1:
                back = done + timedelta(hours=rng.randrange(1, 48))
                again = back + timedelta(hours=rng.randrange(1, 24))
                changes.append(ImportedChange("customer", back, "status", "resolved", "open"))
                changes.append(ImportedChange(agent, again, "status", "open", "resolved"))
        yield ImportRecord(
            title=f"Ticket {i}",
            reporter=f"customer{i % 500}@example.com",
            created=opened,
            assignee=agent,
            status=status,
            tags=(rng.choice(("mail", "vpn", "printer", "login")),),
            comments=(ImportedComment(agent, "Looking into it.", reply),),
            history=tuple(changes),
        )


@contextmanager
def database(store: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database for ``store``; a PostgreSQL one is dropped after."""
    if store == "memory":
        yield "memory://"
        return
    if store == "sqlite":
        yield f"sqlite:///{directory / 'bench.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(
        os.environ.get(
            "TICKETKIT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    )
    name = f"tk_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def measure(store: str, n: int) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of this process and peak MiB of one report over ``n``
    tickets on ``store``."""
    clock = FrozenClock(T0 + timedelta(days=120))
    automation = Automation(sla=POLICY)
    with tempfile.TemporaryDirectory() as tmp, database(store, Path(tmp)) as url:
        if store == "memory":
            tracker = Tracker.in_memory(clock=clock, automation=automation)
        else:
            tracker = Tracker.from_url(url, clock=clock, automation=automation)
        with tracker:
            tracker.import_tickets(records(n), batch_size=1000)
            start, cpu = time.perf_counter(), time.process_time()
            report = build_report(tracker, period="week")
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert report.summary.tickets == n, report.summary
            tracemalloc.start()
            build_report(tracker, period="week")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return seconds, cpu, peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="ticket counts, comma separated")
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL")
    args = parser.parse_args(argv)
    stores = ["memory", "sqlite"] + (["postgresql"] if args.postgres else [])
    print("| tickets | store | seconds | CPU seconds | peak memory (MiB) |")
    print("|---:|---|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",")):
        for store in stores:
            seconds, cpu, peak = measure(store, n)
            print(f"| {n:,} | {store} | {seconds:.2f} | {cpu:.2f} | {peak:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
