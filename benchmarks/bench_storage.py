"""ticketkit's SQL store on SQLite next to plain ``sqlite3`` running the same statements.

Usage::

    python benchmarks/bench_storage.py --n 2000             # the four operations
    python benchmarks/bench_storage.py --only create,fetch  # some of them
    python benchmarks/bench_storage.py --large              # bulk import of 1,000,000 tickets
    python benchmarks/bench_storage.py --url postgresql+psycopg://…  # ticketkit elsewhere

Both sides use one SQLite file each, with ticketkit's settings (WAL,
``synchronous=FULL``, foreign keys on) and ticketkit's schema: tables, indexes
and the full-text search triggers (the ``sqlite3`` side's file is built by
ticketkit's migrations). The ``sqlite3`` side issues what ticketkit issues for
the same operation: for a create, ``BEGIN IMMEDIATE``, the key-sequence
upsert, the ticket insert and the ``opened`` event insert, ``COMMIT``; for a
status change, the same with the ticket read, the versioned update and the
event insert; a query or a fetch sends no ``BEGIN`` (each is single ``SELECT``
statements, as ticketkit's reads are on SQLite), a fetch being the ticket by
key and its events by the ticket's key. Each side's query and fetch batches
run five times and the fastest counts (reads change nothing). Prints Markdown
tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ticketkit import Tracker

OPERATIONS = ("create", "update", "query", "fetch")
QUERIES = 100
FETCHES = 1000
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


READ_REPEATS = 5  # each side's query and fetch batches run this often; the best counts


def best_of(batch: Callable[[], None]) -> float:
    """The shortest of ``READ_REPEATS`` timings of ``batch()``, in seconds.

    Reads change nothing, so a batch can run again; the fastest run is the one
    least disturbed by other work on the machine, for each side alike.
    """
    times = []
    for _ in range(READ_REPEATS):
        start = time.perf_counter()
        batch()
        times.append(time.perf_counter() - start)
    return min(times)


# -- ticketkit -----------------------------------------------------------------------


def tk_run(url: str, n: int, only: set[str]) -> dict[str, float]:
    """Seconds per operation batch, on ticketkit."""
    rng = random.Random(1)
    out: dict[str, float] = {}
    with Tracker.from_url(url) as tracker:
        start = time.perf_counter()
        keys = [
            tracker.open(
                f"Ticket {i}",
                "Something is broken.",
                actor="ann@example.com",
                priority=rng.choice(PRIORITIES),
            ).key
            for i in range(n)
        ]
        out["create"] = time.perf_counter() - start
        start = time.perf_counter()
        for i, key in enumerate(keys):
            tracker.transition(key, "start" if i % 2 == 0 else "resolve", actor="bob")
        out["update"] = time.perf_counter() - start
        if "query" in only:

            def queries() -> None:
                for i in range(QUERIES):
                    page = tracker.query(
                        {"status": "open", "priority": PRIORITIES[i % 5]}, limit=50
                    )
                    assert page.items

            out["query"] = best_of(queries)
        if "fetch" in only:
            picks = [rng.choice(keys) for _ in range(FETCHES)]

            def fetches() -> None:
                for key in picks:
                    tracker.get(key)
                    assert len(tracker.history(key)) == 2

            out["fetch"] = best_of(fetches)
    return out


# -- plain sqlite3 -------------------------------------------------------------------


def _schema(path: Path) -> None:
    """ticketkit's schema, built by its migrations: tables, indexes and search triggers."""
    from ticketkit.storage.sql._migrate import upgrade

    upgrade(f"sqlite:///{path}")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ")


_TICKET_COLUMNS = (
    "key, title, description, title_folded, description_folded, status, priority, reporter, "
    "queue, assignee, impact, urgency, resolution, merged_into, tags, fields, watchers, links, "
    "created, updated, resolved_at, version"
)
_EVENT_INSERT = (
    "INSERT INTO tk_events (ticket_id, ticket_key, version, type, actor, at, field, old, new, "
    "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def raw_run(path: Path, n: int, only: set[str]) -> dict[str, float]:
    """Seconds per operation batch, on sqlite3 with the same statements."""
    rng = random.Random(1)
    out: dict[str, float] = {}
    conn = _connect(path)
    ids: list[tuple[int, str]] = []
    start = time.perf_counter()
    for i in range(n):
        now = datetime.now(UTC)
        title, description = f"Ticket {i}", "Something is broken."
        priority = int(rng.choice(PRIORITIES)[1])
        conn.execute("BEGIN IMMEDIATE")
        (number,) = conn.execute(
            "INSERT INTO tk_key_sequences (prefix, last_number) VALUES (?, ?) "
            "ON CONFLICT (prefix) DO UPDATE SET "
            "last_number = (tk_key_sequences.last_number + excluded.last_number) "
            "RETURNING tk_key_sequences.last_number",
            ("TK", 1),
        ).fetchone()
        key = f"TK-{number}"
        snapshot = {
            "title": title,
            "description": description,
            "status": "new",
            "priority": f"P{priority}",
            "reporter": "ann@example.com",
            "queue": "default",
            "assignee": None,
            "impact": None,
            "urgency": None,
            "resolution": None,
            "tags": [],
            "fields": {},
            "watchers": [],
            "links": [],
            "merged_into": None,
            "resolved_at": None,
        }
        cursor = conn.execute(
            f"INSERT INTO tk_tickets ({_TICKET_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, 'new', ?, ?, 'default', NULL, NULL, NULL, NULL, NULL, ?, ?, ?, ?, "
            "?, ?, NULL, 1)",
            (
                key,
                title,
                description,
                title.casefold(),
                description.casefold(),
                priority,
                "ann@example.com",
                "[]",
                "{}",
                "[]",
                "[]",
                _stamp(now),
                _stamp(now),
            ),
        )
        ticket_id = cursor.lastrowid
        assert ticket_id is not None
        conn.execute(
            _EVENT_INSERT,
            (
                ticket_id,
                key,
                1,
                "opened",
                "ann@example.com",
                _stamp(now),
                None,
                None,
                None,
                _dumps({"ticket": snapshot}),
            ),
        )
        conn.execute("COMMIT")
        ids.append((ticket_id, key))
    out["create"] = time.perf_counter() - start

    start = time.perf_counter()
    for i, (_, key) in enumerate(ids):
        now = datetime.now(UTC)
        target = "open" if i % 2 == 0 else "resolved"
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT * FROM tk_tickets WHERE key = ?", (key,)).fetchone()
        ticket_id, version = row[0], row[22]  # the columns through version, as in 0001
        resolved = _stamp(now) if target == "resolved" else None
        conn.execute(
            "UPDATE tk_tickets SET key = ?, title = ?, description = ?, title_folded = ?, "
            "description_folded = ?, status = ?, priority = ?, reporter = ?, queue = ?, "
            "assignee = ?, impact = ?, urgency = ?, resolution = ?, merged_into = ?, tags = ?, "
            "fields = ?, watchers = ?, links = ?, created = ?, updated = ?, resolved_at = ?, "
            "version = ? WHERE id = ? AND version = ?",
            (*row[1:6], target, *row[7:20], _stamp(now), resolved, version + 1, ticket_id, version),
        )
        conn.execute(
            _EVENT_INSERT,
            (
                ticket_id,
                key,
                version + 1,
                "status_changed",
                "bob",
                _stamp(now),
                "status",
                '"new"',
                _dumps(target),
                _dumps({"action": "start", "resolved_at": resolved}),
            ),
        )
        conn.execute("COMMIT")
    out["update"] = time.perf_counter() - start

    if "query" in only:

        def queries() -> None:
            for i in range(QUERIES):
                # ticketkit reads in autocommit mode (one SELECT is its own snapshot).
                rows = conn.execute(
                    "SELECT * FROM tk_tickets WHERE status = ? AND priority = ? "
                    "ORDER BY id LIMIT 51 OFFSET 0",
                    ("open", i % 5 + 1),
                ).fetchall()
                assert rows

        out["query"] = best_of(queries)
    if "fetch" in only:
        picks = [rng.choice(ids) for _ in range(FETCHES)]

        def fetches() -> None:
            for _, key in picks:
                # As ticketkit: two single-statement reads, the history by the ticket's key.
                ticket = conn.execute("SELECT * FROM tk_tickets WHERE key = ?", (key,)).fetchone()
                history = conn.execute(
                    "SELECT tk_events.* FROM tk_events JOIN tk_tickets "
                    "ON tk_tickets.id = tk_events.ticket_id WHERE tk_tickets.key = ? "
                    "ORDER BY tk_events.id",
                    (key,),
                ).fetchall()
                assert ticket is not None
                assert len(history) == 2

        out["fetch"] = best_of(fetches)
    conn.close()
    return out


# -- the comparison table ------------------------------------------------------------


def _row(op: str, n: int, tk: float, raw: float | None) -> str:
    count = {"create": n, "update": n, "query": QUERIES, "fetch": FETCHES}[op]
    label = {
        "create": f"create {n} tickets, one transaction each",
        "update": f"{n} status changes, one transaction each",
        "query": f"{QUERIES} filtered queries (status + priority, limit 50)",
        "fetch": f"{FETCHES} fetches of a ticket with its history",
    }[op]
    if op in ("create", "update"):
        tk_text = f"{count / tk:,.0f}/s"
        raw_text = "–" if raw is None else f"{count / raw:,.0f}/s"
        ratio = None if raw is None else raw / tk  # ticketkit's rate / sqlite3's rate
        target, ok = "≥ 0.5× rate", ratio is not None and ratio >= 0.5
    else:
        tk_text = f"{tk * 1000 / count:.2f} ms each"
        raw_text = "–" if raw is None else f"{raw * 1000 / count:.2f} ms each"
        ratio = None if raw is None else tk / raw  # ticketkit's time / sqlite3's time
        target, ok = "≤ 2× time", ratio is not None and ratio <= 2
    shown = "–" if ratio is None else f"{ratio:.2f}×"
    verdict = "–" if ratio is None else ("pass" if ok else "FAIL")
    return f"| {label} | {tk_text} | {raw_text} | {shown} | {target} | {verdict} |"


def compare(n: int, only: set[str], url: str | None, where: Path) -> None:
    tk_url = url or f"sqlite:///{where / 'ticketkit.db'}"
    raw_path = where / "sqlite3.db"
    _schema(raw_path)
    tk = tk_run(tk_url, n, only)
    raw = raw_run(raw_path, n, only) if url is None or url.startswith("sqlite") else {}
    print(f"\nN = {n:,}; ticketkit on {tk_url.split('://')[0]}, sqlite3 {sqlite3.sqlite_version}\n")
    print("| operation | ticketkit | sqlite3 | ratio | target | result |")
    print("|---|---|---|---|---|---|")
    for op in OPERATIONS:
        if op in only:
            print(_row(op, n, tk[op], raw.get(op)))


# -- bulk import of a large number of tickets -----------------------------------------


_PATHS = {
    "new": (),
    "open": ("open",),
    "pending_customer": ("open", "pending_customer"),
    "resolved": ("open", "resolved"),
    "closed": ("open", "resolved", "closed"),
}


def _records(n: int) -> Iterator[Any]:
    """Tickets as another system would export them, each with its status history."""
    from ticketkit.importers import ImportedChange, ImportRecord

    rng = random.Random(7)
    people = [f"agent{i}@example.com" for i in range(50)]
    statuses = list(_PATHS)
    for i in range(n):
        created = T0 + timedelta(minutes=i)
        status = rng.choice(statuses)
        history, before = [], "new"
        for step, after in enumerate(_PATHS[status], start=1):
            at = created + timedelta(hours=step)
            history.append(ImportedChange(rng.choice(people), at, "status", before, after))
            before = after
        yield ImportRecord(
            title=f"Imported ticket {i}",
            description="Copied from the old help desk.",
            reporter=f"customer{i % 1000}@example.com",
            created=created,
            status=status,
            priority=rng.choice(PRIORITIES),
            assignee=rng.choice(people),
            history=history,
        )


def large_child(n: int, path: Path, batch: int) -> dict[str, float]:
    """Run in a fresh process: import, then query; report time and peak RSS."""
    from ticketkit._bulk import import_tickets

    url = f"sqlite:///{path}"
    with Tracker.from_url(url) as tracker:
        start = time.perf_counter()
        report = import_tickets(tracker, _records(n), batch_size=batch)
        seconds = time.perf_counter() - start
        assert report.imported == n
        rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        timings = []
        for i in range(25):
            start = time.perf_counter()
            page = tracker.query({"status": "open", "priority": PRIORITIES[i % 5]}, limit=50)
            timings.append(time.perf_counter() - start)
            assert len(page.items) == 50
    return {
        "seconds": seconds,
        "rss_mb": rss_import,
        "query_ms": statistics.median(timings[5:]) * 1000,
        "size_mb": path.stat().st_size / 2**20,
    }


def large(sizes: list[int], where: Path, batch: int) -> None:
    print(f"\nBulk import into SQLite (batch_size={batch}); peak RSS of a fresh process\n")
    print(
        "| tickets | import time | tickets/s | peak RSS | target | 50-row query (median) "
        "| target | result |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        path = where / f"large-{n}.db"
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--large-child",
                str(n),
                "--path",
                str(path),
                "--batch",
                str(batch),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        got = json.loads(done.stdout.strip().splitlines()[-1])
        ok = got["rss_mb"] < 200 and got["query_ms"] < 10
        print(
            f"| {n:,} | {got['seconds']:.0f} s | {n / got['seconds']:,.0f} | "
            f"{got['rss_mb']:.0f} MB | < 200 MB | {got['query_ms']:.2f} ms | < 10 ms | "
            f"{'pass' if ok else 'FAIL'} |",
            flush=True,
        )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="tickets to create (default 2000)")
    parser.add_argument(
        "--only",
        default=",".join(OPERATIONS),
        help=f"comma-separated operations out of {', '.join(OPERATIONS)}",
    )
    parser.add_argument("--url", help="run ticketkit on this database instead of a SQLite file")
    parser.add_argument(
        "--large",
        action="store_true",
        help="bulk-import 100,000 and --large-n tickets; report RSS and query time",
    )
    parser.add_argument("--large-n", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=500, help="import batch size")
    parser.add_argument("--dir", type=Path, help="where to put the database files")
    parser.add_argument("--large-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.large_child:
        print(json.dumps(large_child(args.large_child, args.path, args.batch)))
        return
    only = {op.strip() for op in args.only.split(",") if op.strip()}
    unknown = only - set(OPERATIONS)
    if unknown:
        parser.error(f"unknown operations {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        where = Path(tmp)
        print(
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs"
        )
        if args.large:
            sizes = sorted({min(100_000, args.large_n), args.large_n})
            large(sizes, where, args.batch)
        else:
            compare(args.n, only, args.url, where)


if __name__ == "__main__":
    main()
