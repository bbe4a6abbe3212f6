"""Fixtures for the ``ticketkit`` command's tests: a CliRunner in a fresh directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.support import CLEAN_ENV, Run, ok
from ticketkit import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("open", "Title")``: the ticketkit command in ``tmp_path``, its own environment."""
    monkeypatch.chdir(tmp_path)

    def invoke(
        *args: str, input: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        return CliRunner().invoke(
            cli.build_cli(), list(args), input=input, env={**CLEAN_ENV, **(env or {})}
        )

    return invoke


@pytest.fixture
def desk(run: Run) -> Run:
    """``run`` on an initialised database with prefix HD and two tickets, HD-1 and HD-2."""
    ok(run("init", "--prefix", "HD"))
    ok(run("open", "Printer jams", "-d", "Paper tray 3", "-t", "printer", "-p", "P2"))
    ok(run("open", "VPN drops", "-t", "network", "--assignee", "bob"))
    return run
