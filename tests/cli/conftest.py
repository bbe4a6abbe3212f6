"""Fixtures for the ``ticketkit`` command's tests: a CliRunner in a fresh directory."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="session")
def desk_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ticketkit.toml (prefix HD) and tickets.db holding HD-1 and HD-2."""
    where = tmp_path_factory.mktemp("desk")
    before = Path.cwd()
    os.chdir(where)
    try:
        for args in (
            ["init", "--prefix", "HD"],
            ["open", "Printer jams", "-d", "Paper tray 3", "-t", "printer", "-p", "P2"],
            ["open", "VPN drops", "-t", "network", "--assignee", "bob"],
        ):
            ok(CliRunner().invoke(cli.build_cli(), args, env=CLEAN_ENV))
    finally:
        os.chdir(before)
    return where


@pytest.fixture
def desk(run: Run, desk_template: Path, tmp_path: Path) -> Run:
    """``run`` on an initialised database with prefix HD and two tickets, HD-1 and HD-2."""
    for name in ("ticketkit.toml", "tickets.db"):
        shutil.copy(desk_template / name, tmp_path / name)
    return run
