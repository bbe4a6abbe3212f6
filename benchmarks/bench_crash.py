"""How long crash reporting takes on SQLite, and what ``import ticketkit.crash`` costs.

Usage::

    python benchmarks/bench_crash.py              # 200 first-seen crashes, 500 repeats
    python benchmarks/bench_crash.py --n 50       # quicker
    python benchmarks/bench_crash.py --url postgresql+psycopg://…   # another database

Each crash goes the whole way a host's crash goes: ``Reporter.report(exc)``
builds the report (traceback, environment, scrubbing, fingerprint), writes it
to the spool (with ``fsync``), files it in the tracker (a ticket file with
``synchronous=FULL``) and removes it from the spool. A *first-seen* crash opens
a ticket and attaches the report; a *repeat* adds to the ticket's counter
(once its report samples are all attached). The rate limit is off for these,
so every occurrence reaches the database; the last row shows what an
occurrence costs once the rate limit holds a crash loop back. The import time
is measured in fresh interpreters, which must not have loaded SQLAlchemy or
sentry-sdk. Prints a Markdown table.

Results, 2026-11-25 02:01 UTC (2 CPU cores, Linux, Python 3.11.7, SQLite 3.40.1,
a nearly idle machine; ``python benchmarks/bench_crash.py``):

| measurement | median | p90 | target | result |
|---|---|---|---|---|
| first-seen crash filed (open + attach) | 3.86 ms | 4.62 ms | < 20 ms | pass |
| repeat occurrence filed (count update) | 2.71 ms | 2.95 ms | < 5 ms | pass |
| `import ticketkit.crash`, fresh interpreter | 10.35 ms | 10.83 ms | < 50 ms | pass |
|   of which `ticketkit.crash` on top of `ticketkit` | 0.42 ms | 0.56 ms |  |  |
|   repeat: building the report | 0.19 ms | 0.21 ms |  |  |
|   repeat: spool write + fsync + delete | 0.65 ms | 0.73 ms |  |  |
|   repeat: the database update alone | 1.32 ms | 1.50 ms |  |  |
| occurrence held back by the rate limit | 4.2 µs | 4.5 µs |  |  |

The import took 94 ms before ``import ticketkit`` became lazy (its public
names load on first use, ``__version__`` too); ``ticketkit.crash`` adds under
a millisecond and loads neither SQLAlchemy nor sentry-sdk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ticketkit import Tracker
from ticketkit.crash import Reporter, Spool
from ticketkit.crash._capture import CaptureOptions

IMPORT_PROBE = """
import sys, time
start = time.perf_counter()
import ticketkit
middle = time.perf_counter()
import ticketkit.crash
end = time.perf_counter()
heavy = sorted(m for m in ("sqlalchemy", "sentry_sdk") if m in sys.modules)
print(f'{{"total": {end - start}, "crash": {end - middle}, "heavy": {heavy!r}}}'.replace("'", '"'))
"""


def raise_error(kind: type[Exception]) -> Exception:
    """An exception with a real traceback, from the same call site every time."""
    try:
        raise kind("order 1234 failed")
    except Exception as exc:
        return exc


def timings(action: Callable[[int], object], n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        action(i)
        out.append(time.perf_counter() - start)
    return out


def measure(url: str, n: int, repeats: int, spool_dir: Path) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    with Tracker.from_url(url) as tracker:
        reporter = Reporter(
            tracker,
            options=CaptureOptions(app="bench", release="1.0.0"),
            spool=Spool(spool_dir),
            rate_limit=None,
            max_samples=5,
        )
        kinds = [type(f"BenchError{i}", (Exception,), {}) for i in range(n)]

        def first(i: int) -> None:
            assert reporter.report(raise_error(kinds[i]), mechanism="capture") is not None

        results["first"] = timings(first, n)
        for _ in range(6):  # fill the samples of the repeated crash's ticket
            reporter.report(raise_error(kinds[0]), mechanism="capture")

        def repeat(_: int) -> None:
            assert reporter.report(raise_error(kinds[0]), mechanism="capture") is not None

        results["repeat"] = timings(repeat, repeats)

        looping = Reporter(
            tracker,
            options=CaptureOptions(app="bench", release="1.0.0"),
            spool=Spool(spool_dir),
            rate_limit=1,
        )
        looping.report(raise_error(kinds[1]), mechanism="capture")

        def held(_: int) -> None:
            looping.report(raise_error(kinds[1]), mechanism="capture")

        results["held"] = timings(held, 10_000)
        looping.flush()
        # Where a repeat's time goes: building the report, the spool, the database.
        from ticketkit.crash._capture import build_report
        from ticketkit.crash._filing import file_report

        exc = raise_error(kinds[0])
        results["build"] = timings(
            lambda _: build_report(
                exc, options=reporter.options, mechanism="capture", handled=True
            ),
            repeats,
        )
        report = build_report(exc, options=reporter.options, mechanism="capture", handled=True)
        spool = Spool(spool_dir)

        def spool_once(_: int) -> None:
            path = spool.put(report)
            assert path is not None
            spool.remove(path)

        results["spool"] = timings(spool_once, repeats)
        results["file"] = timings(lambda _: file_report(tracker, report, sample=False), repeats)
    return results


def import_times(runs: int) -> tuple[list[float], list[float]]:
    total, crash = [], []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True
        )
        data = json.loads(done.stdout)
        assert data["heavy"] == [], f"import ticketkit.crash loaded {data['heavy']}"
        total.append(data["total"])
        crash.append(data["crash"])
    return total, crash


def shown(seconds: float) -> str:
    if seconds < 0.0001:
        return f"{seconds * 1_000_000:.1f} µs"
    return f"{seconds * 1000:.2f} ms"


def ms(values: list[float]) -> str:
    return shown(statistics.median(values))


def p90(values: list[float]) -> str:
    return shown(statistics.quantiles(values, n=10)[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="first-seen crashes")
    parser.add_argument("--repeats", type=int, default=500, help="repeat occurrences")
    parser.add_argument("--imports", type=int, default=20, help="fresh interpreters")
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.url or f"sqlite:///{Path(scratch) / 'crashes.db'}"
        results = measure(url, args.n, args.repeats, Path(scratch) / "spool")
    total, crash = import_times(args.imports)
    rows = [
        ("first-seen crash filed (open + attach)", results["first"], 0.020),
        ("repeat occurrence filed (count update)", results["repeat"], 0.005),
        ("`import ticketkit.crash`, fresh interpreter", total, 0.050),
        ("  of which `ticketkit.crash` on top of `ticketkit`", crash, None),
        ("  repeat: building the report", results["build"], None),
        ("  repeat: spool write + fsync + delete", results["spool"], None),
        ("  repeat: the database update alone", results["file"], None),
        ("occurrence held back by the rate limit", results["held"], None),
    ]
    backend = (args.url or "sqlite").split(":", 1)[0]
    print(f"Crash reporting on {backend}, Python {sys.version.split()[0]}\n")
    print("| measurement | median | p90 | target | result |")
    print("|---|---|---|---|---|")
    for label, values, target in rows:
        verdict = (
            "" if target is None else ("pass" if statistics.median(values) < target else "FAIL")
        )
        goal = "" if target is None else f"< {target * 1000:.0f} ms"
        print(f"| {label} | {ms(values)} | {p90(values)} | {goal} | {verdict} |")


if __name__ == "__main__":
    main()
