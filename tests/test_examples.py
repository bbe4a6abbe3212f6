"""Every program in examples/ runs as a user would run it and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: Lines each example must print; every example in examples/ must be listed.
EXPECTED = {
    "quickstart.py": [
        "opened HD-1 (P1, new) and HD-2 (P3)",
        "alice can: start, resolve",
        "HD-1 is resolved at version 7",
        "refused: cannot 'close' HD-2: it is 'new'; from 'new' you can: start, resolve",
        "3 comments, 2 visible to the customer",
        "History of HD-1:",
        "  09:00  v1  bob@example.com  opened 'Cannot send e-mail'",
        "  09:05  v3  alice            status: new -> open",
        "  09:05  v4  alice            internal note",
        "  09:37  v7  alice            status: open -> resolved",
    ],
    "custom_workflow.py": [
        "workflow 'change', states: requested, approved, deployed, rejected, closed",
        "CHG-1 opened as 'requested'",
        "Thu 16:00  approve: refused: it has no assignee; assign it before 'approve'",
        "Thu 16:00  approve: now 'approved'",
        "Fri 16:00  deploy: refused: nobody deploys on a Friday; try again on Monday",
        "Mon 16:00  deploy: now 'deployed'",
        "Mon 16:00  roll_back: invalid: action 'roll_back' needs a comment saying why; "
        "pass comment='...'",
        "Mon 16:00  roll_back: now 'approved'",
        "  deploy   Deploy to production",
        "round trip through TOML gives the same workflow: True",
    ],
    "crashing_app.py": [
        "3 bad prices: BUG-1 counted 3 times",
        "the crashing run exited with 1, as it would without ticketkit",
        "3 crash tickets:",
        "  BUG-1  x3  __main__.parse_price  ValueError: could not convert string to float: '12,50'",
        "a crash from 1.4.0 after the fix: resolved, counted 4 times",
        "a crash from 1.5.0: open, tags crash, regression",
    ],
}
#: Examples that keep their tickets in a SQLite file, so they need the ``sql`` extra.
NEEDS_SQL = {"crashing_app.py"}


def test_every_example_is_checked() -> None:
    """A new example must say here what it prints."""
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, tmp_path: Path) -> None:
    """The example exits with 0, writes nothing to stderr and prints its key lines."""
    if name in NEEDS_SQL:
        pytest.importorskip("sqlalchemy", reason="the example needs the sql extra")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    for line in EXPECTED[name]:
        assert line in lines
