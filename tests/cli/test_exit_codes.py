"""Exit codes a script can rely on, the same for every command; the real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.support import Run, as_json, ok, refused
from ticketkit.cli import EXIT_CODES

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"

#: One run of each command that needs an existing ticket, with HD-9 (not there).
ON_A_MISSING_TICKET = [
    ["show", "HD-9"],
    ["transition", "HD-9", "start"],
    ["comment", "HD-9", "hello"],
    ["assign", "HD-9", "bob"],
]

#: One run of every command that reads or writes the database.
EVERY_DATABASE_COMMAND = [
    ["init"],
    ["open", "Title"],
    ["show", "HD-1"],
    ["list"],
    ["search", "word"],
    ["transition", "HD-1", "start"],
    ["comment", "HD-1", "hello"],
    ["assign", "HD-1", "bob"],
    ["export"],
    ["import", "-"],
    ["db", "current"],
]


def test_the_table_is_complete() -> None:
    """The documented codes: 0, 1, 2, 3, 4 and 75."""
    assert sorted(EXIT_CODES) == [0, 1, 2, 3, 4, 75]


class TestExitCodes:
    @pytest.mark.parametrize("args", ON_A_MISSING_TICKET, ids=lambda a: a[0])
    def test_not_found_exits_3(self, desk: Run, args: list[str]) -> None:
        """A ticket that is not there: exit 3, ``Error: no ticket HD-9``."""
        refused(desk(*args), 3, "no ticket HD-9")

    def test_key_of_another_prefix_exits_3(self, desk: Run) -> None:
        """A key with a prefix the tracker does not use is not found either."""
        refused(desk("show", "XY-1"), 3, "begin with HD")

    def test_not_a_key_exits_1(self, desk: Run) -> None:
        """Something that is not a key at all is refused: exit 1."""
        refused(desk("show", "hello world"), 1, "not a ticket key")

    @pytest.mark.parametrize(
        "args",
        [
            ["transition", "HD-1", "start", "--expected-version", "5"],
            ["comment", "HD-1", "hi", "--expected-version", "5"],
            ["assign", "HD-1", "bob", "--expected-version", "5"],
        ],
        ids=lambda a: a[0],
    )
    def test_conflict_exits_4(self, desk: Run, args: list[str]) -> None:
        """A stale ``--expected-version``: exit 4, nothing changed."""
        refused(desk(*args), 4, "HD-1 is at version 1, not 5")
        assert '"version": 1' in desk("show", "HD-1", "--json").stdout

    @pytest.mark.parametrize(
        "args",
        [
            ["open", " "],
            ["transition", "HD-1", "close"],
            ["transition", "HD-1", "nosuch"],
            ["comment", "HD-1", ""],
            ["list", "--priority", "P0"],
            ["search", " " * 3 + "x" * 1001],
        ],
        ids=lambda a: "-".join(a[:2]),
    )
    def test_refusal_exits_1(self, desk: Run, args: list[str]) -> None:
        """ticketkit refusing a value or an action: exit 1, one line, no traceback."""
        refused(desk(*args), 1)

    @pytest.mark.parametrize(
        "args",
        [["nosuch"], ["open"], ["list", "--limit", "0"], ["show"], ["list", "--bogus"]],
        ids=lambda a: "-".join(a),
    )
    def test_usage_error_exits_2(self, desk: Run, args: list[str]) -> None:
        """An unknown command or option, or a missing argument: exit 2."""
        result = desk(*args)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert "Usage:" in result.stderr

    @pytest.mark.parametrize("args", EVERY_DATABASE_COMMAND, ids=lambda a: a[0])
    def test_unreachable_database_exits_75(self, run: Run, args: list[str]) -> None:
        """Every command exits 75 (EX_TEMPFAIL) when the database cannot be reached."""
        refused(run("--url", UNREACHABLE, *args, input=""), 75, "cannot connect")

    def test_old_schema_exits_1(self, run: Run, tmp_path: Path) -> None:
        """A database without ticketkit's tables is refused (1): waiting will not mend it."""
        import sqlite3

        with sqlite3.connect(tmp_path / "tickets.db") as conn:
            conn.execute("CREATE TABLE other (x)")
        refused(run("list"), 1, "no ticketkit tables")


def console_script() -> list[str]:
    """The installed ``ticketkit`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("ticketkit")
    assert script.exists(), f"{script}: install the project into the environment (pip install -e .)"
    return [str(script)]


class TestConsoleScript:
    def test_entry_point_variable_and_exit_codes(self, run: Run, tmp_path: Path) -> None:
        """The real ``ticketkit`` script: $TICKETKIT_URL, stdin, a pipe, exit codes 0, 3, 75."""
        ok(run("--url", "desk.db", "init"))
        env = {**os.environ, "TICKETKIT_URL": str(tmp_path / "desk.db"), "TICKETKIT_ACTOR": "ci"}
        env.pop("TICKETKIT_CONFIG", None)

        def script(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*console_script(), *args],
                cwd=tmp_path,
                env=env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        opened = script("open", "Piped", "-d", "-", stdin="from a pipe\n")
        assert (opened.returncode, opened.stdout, opened.stderr) == (0, "TK-1\n", "")
        shown = as_json(run("show", "TK-1", "--json", env={"TICKETKIT_URL": "desk.db"}))
        assert (shown["ticket"]["description"], shown["ticket"]["reporter"]) == (
            "from a pipe",
            "ci",
        )
        missing = script("show", "TK-7")
        assert (missing.returncode, missing.stdout) == (3, "")
        assert missing.stderr == "Error: no ticket TK-7\n"
        assert script("--url", UNREACHABLE, "list").returncode == 75

    def test_python_dash_m(self, tmp_path: Path) -> None:
        """``python -m ticketkit.cli`` is the same command."""
        result = subprocess.run(
            [sys.executable, "-m", "ticketkit.cli", "--help"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        for command in (
            "init",
            "open",
            "show",
            "list",
            "search",
            "transition",
            "comment",
            "assign",
            "import",
            "export",
            "demo",
            "db",
            "mail",
            "worker",
        ):
            assert f"  {command} " in result.stdout, command
