"""Real programs crash in real interpreters; the tickets are then read from their SQLite file.

Each scenario of ``programs/host.py`` runs in a subprocess with ticketkit
installed; where it matters, it also runs without, and the exit code and
stderr must be the same: installing ticketkit changes nothing the host can see.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from databases import fresh_database
from ticketkit import Ticket, Tracker
from ticketkit.crash import REPORT_FILENAME, flush_spool
from ticketkit.crash._filing import define_crash_fields

from .test_spool import entries

PROGRAM = Path(__file__).resolve().parent / "programs" / "host.py"


class Host:
    """One host application's database and spool, and a way to run its scenarios."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "host.db"
        self.url = f"sqlite:///{self.path}"
        self.spool = tmp_path / "spool"
        self.cwd = tmp_path
        Tracker.from_url(self.url).close()

    def run(
        self,
        scenario: str,
        *,
        install: bool = True,
        url: str | None = None,
        interpreter_options: tuple[str, ...] = (),
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "CRASH_DB": url or self.url,
            "CRASH_SPOOL": str(self.spool),
            "CRASH_INSTALL": "1" if install else "0",
        }
        return subprocess.run(
            [sys.executable, *interpreter_options, str(PROGRAM), scenario],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            cwd=self.cwd,
            timeout=120,
            check=False,
        )

    def run_both(self, scenario: str, **options: Any) -> subprocess.CompletedProcess[str]:
        """Run with and without ticketkit; what the host sees must not differ."""
        without = self.run(scenario, install=False, **options)
        with_it = self.run(scenario, **options)
        assert with_it.returncode == without.returncode, with_it.stderr
        assert normalise(with_it.stderr) == normalise(without.stderr)
        assert with_it.stdout == without.stdout
        return with_it

    def tickets(self) -> list[Ticket]:
        with Tracker.from_url(self.url) as tracker:
            define_crash_fields(tracker)
            return list(tracker.query({"tags": {"contains": "crash"}}, limit=100))

    def report(self, ticket: Ticket) -> dict[str, Any]:
        with Tracker.from_url(self.url) as tracker:
            first = next(
                a for a in tracker.attachments(ticket.key) if a.filename == REPORT_FILENAME
            )
            data: dict[str, Any] = json.loads(tracker.attachment_content(first.id))
            return data


def normalise(stderr: str) -> str:
    """Memory addresses differ from run to run; nothing else may."""
    return re.sub(r"0x[0-9a-f]+", "0x…", stderr)


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


def only(tickets: list[Ticket]) -> Ticket:
    assert len(tickets) == 1, [t.title for t in tickets]
    return tickets[0]


class TestUncaught:
    def test_main_thread(self, host: Host) -> None:
        """A crash on the script's last line is filed before the process ends."""
        result = host.run_both("main_thread")
        assert result.returncode == 1
        assert "ValueError: card declined for 12 EUR" in result.stderr
        ticket = only(host.tickets())
        assert ticket.title.startswith("ValueError")
        assert ticket.fields["crash_count"] == 1
        assert ticket.fields["crash_release"] == "1.0.0"
        report = host.report(ticket)
        assert report["mechanism"] == "excepthook"
        assert report["handled"] is False
        assert entries(host.spool) == []

    def test_thread(self, host: Host) -> None:
        """A thread's crash names the thread, and the host's threading hook still runs."""
        result = host.run_both("in_thread")
        assert result.returncode == 0
        assert "host hook saw ValueError in payment-worker" in result.stdout
        ticket = only(host.tickets())
        assert "thread: payment-worker" in ticket.description
        assert host.report(ticket)["mechanism"] == "threading"

    def test_asyncio(self, host: Host) -> None:
        """A task error nobody retrieved and the error escaping asyncio.run: a ticket each."""
        result = host.run_both("in_asyncio")
        assert result.returncode == 1
        by_type = {t.fields["crash_exception_type"]: t for t in host.tickets()}
        assert set(by_type) == {"builtins.LookupError", "builtins.ConnectionError"}
        assert host.report(by_type["builtins.LookupError"])["mechanism"] == "asyncio"
        assert host.report(by_type["builtins.ConnectionError"])["mechanism"] == "excepthook"

    def test_interpreter_shutdown(self, host: Host) -> None:
        """An atexit callback failing during shutdown is filed (unraisable=True)."""
        result = host.run_both("at_shutdown")
        assert result.returncode == 0
        assert "Exception ignored in atexit callback" in result.stderr
        ticket = only(host.tickets())
        assert ticket.fields["crash_exception_type"] == "builtins.RuntimeError"
        assert host.report(ticket)["mechanism"] == "unraisable"

    def test_chained(self, host: Host) -> None:
        """The whole chain is on the ticket: the error, its cause, and the cause's context."""
        host.run_both("chained")
        report = host.report(only(host.tickets()))
        chain = [(e["type"], e["relation"]) for e in report["exceptions"]]
        assert chain == [
            ("builtins.RuntimeError", "raised"),
            ("builtins.ValueError", "cause"),
            ("builtins.KeyError", "context"),
        ]

    def test_exception_group(self, host: Host) -> None:
        """Every member of a nested ExceptionGroup is recorded."""
        host.run_both("group")
        report = host.report(only(host.tickets()))
        types = [e["type"].rsplit(".", 1)[-1] for e in report["exceptions"]]
        assert types == ["ExceptionGroup", "ValueError", "ExceptionGroup", "TimeoutError"]

    def test_recursion(self, host: Host) -> None:
        """A RecursionError thousands of frames deep is filed, its frames bounded."""
        result = host.run("recursion")
        assert result.returncode == 1
        ticket = only(host.tickets())
        assert ticket.fields["crash_exception_type"] == "builtins.RecursionError"
        frames = host.report(ticket)["exceptions"][0]["frames"]
        assert len(frames) <= 100


class TestNotCrashes:
    @pytest.mark.parametrize(
        ("scenario", "code"),
        [("keyboard_interrupt", None), ("clean_exit", 0), ("exit_code", 3)],
    )
    def test_nothing_is_filed(self, host: Host, scenario: str, code: int | None) -> None:
        """Ctrl-C and sys.exit() file nothing and keep their exit codes."""
        result = host.run_both(scenario)
        if code is not None:
            assert result.returncode == code
        else:
            assert result.returncode in (130, -2)  # killed by SIGINT, as Python does
        assert host.tickets() == []

    def test_interactive_session(self, host: Host) -> None:
        """Under python -i the crash is the user's business: nothing is filed."""
        result = host.run("main_thread", interpreter_options=("-i",))
        assert "ValueError: card declined" in result.stderr
        assert host.tickets() == []


class TestProcesses:
    def test_fork_child(self, host: Host) -> None:
        """A forked child's crash is filed; the parent's held-back counts are written once."""
        result = host.run("forked")
        assert result.returncode == 0
        assert "child exit code 1" in result.stdout
        by_type = {t.fields["crash_exception_type"]: t for t in host.tickets()}
        assert by_type["builtins.OSError"].fields["crash_count"] == 1
        assert by_type["builtins.ValueError"].fields["crash_count"] == 3  # not 5

    def test_crash_loop(self, host: Host) -> None:
        """10,000 identical errors: one ticket, counted 10,000 times, a few samples."""
        result = host.run("crash_loop")
        assert result.returncode == 0, result.stderr
        ticket = only(host.tickets())
        assert ticket.fields["crash_count"] == 10_000
        with Tracker.from_url(host.url) as tracker:
            assert len(tracker.attachments(ticket.key)) <= 5

    def test_simultaneous_crashes(self, host: Host) -> None:
        """12 crashes at once in 3 processes x 4 threads: one ticket, count 12."""
        result = host.run("simultaneous")
        assert result.returncode == 0, result.stderr
        assert "exit codes [0, 0, 0]" in result.stdout
        assert only(host.tickets()).fields["crash_count"] == 12

    def test_multiprocessing_children(self, host: Host) -> None:
        """Crashing children started by fork and by spawn are filed through wrap_target.

        The children's tracebacks show the wrapper's frame too; exit codes and
        output are otherwise the same as without it.
        """
        without = host.run("multiprocessing_children", install=False)
        result = host.run("multiprocessing_children")
        assert result.returncode == without.returncode == 0
        assert result.stdout == without.stdout
        assert "exit codes [1, 1]" in result.stdout
        error = "PermissionError: child cannot write the export"
        assert result.stderr.count(error) == without.stderr.count(error) == 2
        # The spawned child runs the script as __mp_main__: still the same bug.
        ticket = only(host.tickets())
        assert ticket.fields["crash_count"] == 2
        assert ticket.fields["crash_exception_type"] == "builtins.PermissionError"


class TestStoreUnavailable:
    def test_read_only_sqlite(self, host: Host) -> None:
        """With the database read-only the crash is spooled, and filed by a later flush."""
        read_only = f"sqlite:///file:{host.path}?mode=ro&uri=true"
        result = host.run_both("main_thread", url=read_only)
        assert result.returncode == 1
        assert host.tickets() == []
        assert len(entries(host.spool)) == 1
        with Tracker.from_url(host.url) as tracker:
            assert flush_spool(tracker, host.spool) == 1
        assert only(host.tickets()).fields["crash_count"] == 1
        assert entries(host.spool) == []

    def test_postgresql_refusing_connections(self, host: Host, tmp_path: Path) -> None:
        """With the server down, crashes and a crash loop are spooled with their counts."""
        for _ in range(2):
            assert host.run_both("main_thread", url="pg-down").returncode == 1
        assert host.run("crash_loop", url="pg-down").returncode == 0
        assert entries(host.spool)
        with fresh_database("postgresql", tmp_path) as url, Tracker.from_url(url) as tracker:
            flush_spool(tracker, host.spool)
            define_crash_fields(tracker)
            counts = sorted(
                t.fields["crash_count"] for t in tracker.query({"tags": {"contains": "crash"}})
            )
            assert counts == [2, 10_000]
        assert entries(host.spool) == []

    def test_spool_is_flushed_at_the_next_start(self, host: Host) -> None:
        """A crash spooled while the store was down is filed when the host starts again."""
        host.run("main_thread", url="pg-down")
        assert len(entries(host.spool)) == 1
        host.run("clean_exit")
        assert only(host.tickets()).fields["crash_count"] == 1
        assert entries(host.spool) == []
