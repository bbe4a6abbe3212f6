"""``ticketkit report`` against a real SQLite file, in a command group built here."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from ticketkit import Automation, Tracker
from ticketkit._cli_report import report_command
from ticketkit.reports import TABLES, Report, build_report

from .desk import POLICY, UNTIL, desk, tracker_factory

CONFIG = """
[tracker]
prefix = "HD"
queues = { default = "HD", billing = "BI" }

[automation.sla]
name = "standard"

[automation.sla.calendar]
timezone = "UTC"
hours = { mon = [["09:00", "17:00"]], tue = [["09:00", "17:00"]], wed = [["09:00", "17:00"]], thu = [["09:00", "17:00"]], fri = [["09:00", "17:00"]] }

[[automation.sla.targets]]
kind = "first_response"
within = "1h"

[[automation.sla.targets]]
kind = "resolution"
within = "8h"
"""  # noqa: E501


def group() -> click.Group:
    """A stand-in for the ``ticketkit`` group: the root options the command reads."""
    g = click.Group(
        "ticketkit",
        params=[
            click.Option(["--url"]),
            click.Option(["--config"]),
            click.Option(["--color/--no-color"], default=None),
        ],
    )
    g.add_command(report_command())
    return g


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The desk of ``desk.py`` in a SQLite file, and its configuration in the working directory."""
    factory = tracker_factory("sqlite", tmp_path)
    desk(factory).close()
    (tmp_path / "ticketkit.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "reports-0.db"


def invoke(database: Path, *args: str) -> Result:
    return CliRunner().invoke(
        group(), ["--url", str(database), "report", "--until", "2026-01-13", *args]
    )


def expected(database: Path) -> Report:
    with Tracker.from_url(f"sqlite:///{database}", automation=Automation(sla=POLICY)) as tracker:
        return build_report(tracker, until=UNTIL)


class TestOutput:
    def test_summary(self, database: Path) -> None:
        """Without options: tab-separated lines on stdout when it is not a terminal."""
        result = invoke(database)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert "tickets opened\t6" in lines
        assert "first response median / p90\t0.75 h / 2 h" in lines
        assert "resolution median / p90\t6 h / 11 h" in lines
        assert "SLA first_response\t3 met, 2 breached, 0 running (60% met)" in lines
        assert "reopen rate\t25%" in lines
        assert "agent\talice\t3\t0\t3\t0.5 h\t4 h\t33%" in lines
        assert result.stderr == ""

    def test_rich_summary(self, database: Path) -> None:
        """``ticketkit --color`` gives Rich tables."""
        result = CliRunner().invoke(
            group(), ["--url", str(database), "--color", "report", "--until", "2026-01-13"]
        )
        assert result.exit_code == 0, result.output
        assert "Help-desk report" in result.stdout
        assert "By agent" in result.stdout

    def test_json_is_the_reports_data(self, database: Path) -> None:
        """``--json`` prints ``Report.to_data()``; the config file's SLA policy is used."""
        result = invoke(database, "--json")
        assert result.exit_code == 0, result.output
        assert Report.from_data(json.loads(result.stdout)) == expected(database)

    def test_csv_table(self, database: Path) -> None:
        """``--csv TABLE`` prints that table."""
        result = invoke(database, "--csv", "by_agent")
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [row["agent"] for row in rows] == ["alice", "bob", ""]
        assert rows[0]["resolution_median_hours"] == "4.0"

    def test_files(self, database: Path, tmp_path: Path) -> None:
        """``--html`` and ``--csv-dir`` write files and say so on stderr; stdout stays empty."""
        result = invoke(
            database, "--html", str(tmp_path / "r.html"), "--csv-dir", str(tmp_path / "csv")
        )
        assert result.exit_code == 0, result.output
        assert result.stdout == ""
        assert "wrote" in result.stderr
        assert (tmp_path / "r.html").read_text().count("<svg") == 4
        assert sorted(p.stem for p in (tmp_path / "csv").iterdir()) == sorted(TABLES)

    def test_progress_never_touches_stdout(self, database: Path) -> None:
        """``--progress`` draws on stderr; stdout is the JSON alone."""
        result = invoke(database, "--json", "--progress")
        assert result.exit_code == 0, result.output
        json.loads(result.stdout)

    def test_tenant_and_week(self, database: Path) -> None:
        """``--tenant`` and ``--period week`` reach the report."""
        result = invoke(database, "--json", "--tenant", "default", "--period", "week")
        data = json.loads(result.stdout)
        assert (data["tenant"], data["period"], len(data["periods"])) == ("default", "week", 2)
        result = invoke(database, "--json", "--tenant", "nobody")
        assert json.loads(result.stdout)["tickets"] == []

    def test_empty_period(self, database: Path) -> None:
        """A period before any ticket: zeros, and a note on stderr."""
        result = CliRunner().invoke(
            group(),
            ["--url", str(database), "report", "--since", "2025-12-01", "--until", "2025-12-02"],
        )
        assert result.exit_code == 0, result.output
        assert "tickets opened\t0" in result.stdout.splitlines()
        assert "no ticket was open" in result.stderr


class TestRefusals:
    def test_since_after_until(self, database: Path) -> None:
        """One line naming the bad value, exit 1."""
        result = invoke(database, "--since", "2026-02-01")
        assert result.exit_code == 1
        assert "since 2026-02-01T00:00:00+00:00 is not before until" in result.stderr
        assert result.stdout == ""

    def test_not_a_date(self, database: Path) -> None:
        """A usage error (exit 2) that says what a date looks like."""
        result = invoke(database, "--since", "last monday")
        assert result.exit_code == 2
        assert "YYYY-MM-DD" in result.stderr

    def test_json_and_csv(self, database: Path) -> None:
        """stdout takes one of them."""
        result = invoke(database, "--json", "--csv", "sla")
        assert result.exit_code == 2
        assert "not both" in result.stderr

    def test_no_database(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A SQLite file that is not there is refused, not created."""
        monkeypatch.chdir(tmp_path)
        result = invoke(tmp_path / "missing.db")
        assert result.exit_code == 1
        assert not (tmp_path / "missing.db").exists()
        assert result.stderr.count("\n") == 1
