"""run_due across processes: each job exactly once; the worker loop."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from automation.support import MONDAY
from databases import fresh_database
from ticketkit import Automation, EventType, FrozenClock, Tracker
from ticketkit.sla import SLAPolicy, Target, TargetKind
from ticketkit.worker import run_worker

POLICY = SLAPolicy(
    targets=(
        Target(TargetKind.FIRST_RESPONSE, timedelta(hours=1)),
        Target(TargetKind.RESOLUTION, timedelta(hours=2)),
    ),
    warn_at=(0.5,),
)
TICKETS = 120
#: First response (1 h) has broken, its warning overtaken; resolution (2 h) has warned.
RUN_AT = MONDAY + timedelta(minutes=90)


def _run(url: str, start: multiprocessing.synchronize.Event, out: multiprocessing.Queue) -> None:
    clock = FrozenClock(RUN_AT)
    with Tracker.from_url(url, clock=clock, automation=Automation(sla=POLICY)) as tracker:
        start.wait(30)
        report = tracker.run_due()
        out.put((report.tickets, report.sla_warnings, report.sla_breaches))


@pytest.mark.parametrize("backend", ["postgresql", "sqlite", "mysql"])
def test_four_processes_do_each_job_once(backend: str, tmp_path: Path) -> None:
    """4 processes run run_due at the same instant: every warning and breach is recorded once."""
    with fresh_database(backend, tmp_path) as url:
        clock = FrozenClock(MONDAY)
        with Tracker.from_url(url, clock=clock, automation=Automation(sla=POLICY)) as tracker:
            keys = [tracker.open(f"t{i}", actor="c@example.com").key for i in range(TICKETS)]
        context = multiprocessing.get_context("spawn")
        start, out = context.Event(), context.Queue()
        workers = [context.Process(target=_run, args=(url, start, out)) for _ in range(4)]
        for process in workers:
            process.start()
        start.set()
        results = [out.get(timeout=120) for _ in workers]
        for process in workers:
            process.join(60)
            assert process.exitcode == 0
        assert sum(r[0] for r in results) == TICKETS
        assert sum(r[1] for r in results) == TICKETS
        assert sum(r[2] for r in results) == TICKETS
        with Tracker.from_url(url) as tracker:
            for key in keys:
                recorded = [
                    (e.type, e.data["target"])
                    for e in tracker.history(key)
                    if e.type in (EventType.SLA_WARNING, EventType.SLA_BREACHED)
                ]
                assert sorted(recorded) == [
                    (EventType.SLA_BREACHED, "first_response"),
                    (EventType.SLA_WARNING, "resolution"),
                ]
            assert tracker.store.due_count(RUN_AT) == 0
            assert tracker.store.due_count(MONDAY + timedelta(hours=2)) == TICKETS


class TestWorker:
    def test_run_worker_once(self) -> None:
        """The worker loop runs run_due; once=True returns its report."""
        clock = FrozenClock(MONDAY)
        tracker = Tracker.in_memory(clock=clock, automation=Automation(sla=POLICY))
        tracker.open("x", actor="c@example.com")
        clock.advance(hours=3)
        report = run_worker(tracker, once=True)
        assert report is not None
        assert report.sla_breaches == 2

    def test_run_worker_stops_when_told(self) -> None:
        tracker = Tracker.in_memory(automation=Automation(sla=POLICY))
        stop = threading.Event()
        thread = threading.Thread(target=run_worker, args=(tracker,), kwargs={"stop": stop})
        thread.start()
        stop.set()
        thread.join(5)
        assert not thread.is_alive()

    def test_the_worker_command(self, tmp_path: Path) -> None:
        """`python -m ticketkit worker URL --config FILE --once` does the due work."""
        url = f"sqlite:///{tmp_path / 'desk.db'}"
        past = FrozenClock(MONDAY)
        with Tracker.from_url(
            url, clock=past, automation=Automation(sla=POLICY), prefix="HD"
        ) as tracker:
            key = tracker.open("old", actor="c@example.com").key
        config = tmp_path / "desk.toml"
        config.write_text(
            '[tracker]\nprefix = "HD"\n\n[automation.sla]\nwarn_at = [0.5]\n'
            '[[automation.sla.targets]]\nkind = "resolution"\nwithin = "2h"\n',
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, "-m", "ticketkit", "worker", url, "--config", str(config), "--once"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "sla_breaches=1" in done.stdout
        with Tracker.from_url(url, prefix="HD") as tracker:
            types = [e.type for e in tracker.history(key)]
        assert EventType.SLA_BREACHED in types

    def test_a_bad_config_is_refused(self, tmp_path: Path) -> None:
        config = tmp_path / "bad.toml"
        config.write_text("[surprise]\n", encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "ticketkit", "worker", "memory://", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2
        assert "surprise" in done.stderr


class TestClickCommand:
    """`ticketkit worker` under the click command: the URL as an argument, or the group's --url."""

    @pytest.mark.parametrize("where", ["argument", "group option"])
    def test_runs_once(self, where: str, tmp_path: Path) -> None:
        from click.testing import CliRunner

        from ticketkit import cli

        url = f"sqlite:///{tmp_path / 'desk.db'}"
        with Tracker.from_url(url, clock=FrozenClock(MONDAY)) as tracker:
            tracker.open("old", actor="c@example.com")
        config = tmp_path / "desk.toml"
        config.write_text(
            '[[automation.sla.targets]]\nkind = "resolution"\nwithin = "2h"\n', encoding="utf-8"
        )
        rest = ["--config", str(config), "--once"]
        args = ["worker", url, *rest] if where == "argument" else ["--url", url, "worker", *rest]
        result = CliRunner().invoke(cli.build_cli(), args)
        assert result.exit_code == 0, result.output
        assert "RunReport(" in result.output
