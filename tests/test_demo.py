"""``python -m ticketkit demo``: the project's showcase, run as a user would run it."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from ticketkit import Tracker, demo
from ticketkit.__main__ import main as package_main


def squeeze(text: str) -> str:
    """``text`` with each run of spaces made one, so column widths do not matter."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def run_module(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def output() -> str:
    result = run_module("demo", "--url", "memory://")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.fixture(scope="module")
def squeezed(output: str) -> str:
    return squeeze(output)


class TestDemo:
    def test_status_changes(self, squeezed: str) -> None:
        """Each step says which workflow action moved which ticket from where to where."""
        for line in (
            "Mon 05 Jan 09:10 HD-1 alice start: new → open",
            "HD-1 alice wait_for_customer: open → pending_customer, with a reply",
            "HD-1 bob@example.com customer_replied: pending_customer → open, with a reply",
            "HD-1 alice resolve: open → resolved, with a reply",
            "Tue 06 Jan 11:40 HD-1 alice close: resolved → closed",
            "HD-2 carol@example.com reopen: resolved → open",
            "HD-4 alice merged into HD-1 as a duplicate: new → closed",
        ):
            assert line in squeezed

    def test_internal_note_and_late_reopen(self, squeezed: str) -> None:
        """The internal note is shown, and a reopen after the window is refused with the reason."""
        assert "HD-1 alice internal note 'Relay queue holds 40k" in squeezed
        assert "Fri 16 Jan 16:40 HD-3 dave@example.com reopen refused:" in squeezed
        assert "allowed only within 7 days of resolution" in squeezed

    def test_table(self, output: str) -> None:
        """The table lists every ticket with its final status, priority and assignee."""
        table = output.split("\nTickets\n", 1)[1].split("\nSLA targets", 1)[0]
        rows = [line.split() for line in table.strip().splitlines()]
        assert rows[0] == ["KEY", "STATUS", "PRIO", "ASSIGNEE", "RESOLUTION", "TITLE"]
        assert [row[:5] for row in rows[1:]] == [
            ["HD-1", "closed", "P1", "alice", "–"],
            ["HD-2", "closed", "P3", "sam", "–"],
            ["HD-3", "closed", "P5", "–", "–"],
            ["HD-4", "closed", "P2", "–", "duplicate"],
        ]

    def test_sla(self, output: str, squeezed: str) -> None:
        """The scheduler records the missed first response when time passes; the SLA table
        shows each open-and-shut ticket's targets, the merged duplicate has none."""
        assert "Mon 05 Jan 11:25 HD-2 sla SLA breached: first response (due 11:00)" in squeezed
        table = output.split("\nSLA targets", 1)[1].split("\nHistory", 1)[0]
        rows = [line.split(None, 2) for line in table.splitlines()[1:] if line.strip()]
        assert rows[0][:2] == ["KEY", "PRIO"]
        assert rows[0][2].split() == ["FIRST", "RESPONSE", "RESOLUTION"]
        assert [row[:2] for row in rows[1:]] == [["HD-1", "P1"], ["HD-2", "P3"], ["HD-3", "P5"]]
        assert rows[2][2].split() == ["breached", "(145", "of", "120", "min)", "met", "(265", "of",
                                      "960", "min)"]  # fmt: skip
        assert "2026-01-05 11:25 sla SLA breached: first response (due 11:00)" in squeezed

    def test_history(self, squeezed: str) -> None:
        """Each ticket's history lists time, actor and old → new values, oldest first."""
        history = squeezed.split("\nHistory (time, actor, what changed: old → new)\n", 1)[1]
        hd1 = history.split("HD-1 Cannot send e-mail (closed)\n", 1)[1].split("\n\n", 1)[0]
        lines = hd1.splitlines()
        assert (
            lines[0]
            == "2026-01-05 09:00 bob@example.com opened 'Cannot send e-mail' as new, priority P1"
        )
        assert "2026-01-05 09:10 alice assignee: – → alice" in lines
        assert "2026-01-05 09:10 alice status: new → open (start)" in lines
        assert lines[-1] == "2026-01-06 11:40 alice status: resolved → closed (close)"
        hd4 = history.split("HD-4 Mail stuck in outbox (closed)", 1)[1]
        assert "resolution: – → duplicate" in hd4
        assert "merged into HD-1" in hd4

    def test_deterministic(self, output: str) -> None:
        """A frozen clock makes every run print exactly the same."""
        buffer = io.StringIO()
        demo.run(out=buffer)
        assert buffer.getvalue() == output


class TestCommandLine:
    def test_url_option(self) -> None:
        """``--url memory://`` works; an unknown store is a clear error, not a traceback."""
        assert run_module("demo", "--url", "memory://").returncode == 0
        result = run_module("demo", "--url", "nosuch://somewhere")
        assert result.returncode == 1
        assert result.stderr.startswith("ticketkit demo: ")
        assert "'nosuch'" in result.stderr
        assert "Traceback" not in result.stderr

    def test_default_keeps_the_tickets_in_a_sqlite_file(self, output: str, tmp_path: Path) -> None:
        """Without --url the demo writes ticketkit-demo.db afresh each run and tells the story."""
        for _ in range(2):
            result = run_module("demo", cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            assert result.stdout == output
        with Tracker.from_url(f"sqlite:///{tmp_path / demo.DEMO_FILE}") as tracker:
            kept = list(tracker.query(limit=100))
        assert [t.key for t in kept] == [f"HD-{n}" for n in range(1, len(kept) + 1)]
        assert all(t.key in output for t in kept)

    def test_sqlite_gives_the_same_story(self, output: str, tmp_path: Path) -> None:
        """On a new SQLite file the demo prints exactly what it prints in memory."""
        url = f"sqlite:///{tmp_path / 'demo.db'}"
        result = run_module("demo", "--url", url)
        assert result.returncode == 0, result.stderr
        assert result.stdout == output

    def test_refuses_a_store_that_holds_tickets(self, tmp_path: Path) -> None:
        """The demo never writes its tickets among someone's real ones."""
        url = f"sqlite:///{tmp_path / 'helpdesk.db'}"
        with Tracker.from_url(url) as tracker:
            tracker.open(title="A real ticket", actor="bob")
        result = run_module("demo", "--url", url)
        assert result.returncode == 1
        assert "the demo needs an empty store" in result.stderr
        with Tracker.from_url(url) as tracker:
            assert len(tracker.query()) == 1

    def test_usage(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Without a command the usage is printed; an unknown command is refused."""
        assert package_main([]) == 2
        assert "demo" in capsys.readouterr().out
        assert package_main(["--help"]) == 0
        assert package_main(["nope"]) == 2
        assert "unknown command 'nope'" in capsys.readouterr().err
