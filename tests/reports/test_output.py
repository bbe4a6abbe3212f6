"""A report as data, tables, CSV and HTML: round-trips, safe cells, escaped text."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ticketkit import Tracker, ValidationError
from ticketkit._spreadsheet import FORMULA_STARTS
from ticketkit.reports import TABLES, Report, build_report, safe_cell, write_csv, write_html

from .desk import UNTIL, MakeTracker, desk

HOSTILE = "<script>alert(1)</script>"


def hostile(make: MakeTracker) -> Tracker:
    """A tracker whose user text is formulas and markup wherever text can go."""
    tracker = make(queues={"default": "HD", "=SUM(A1)": "SU"})
    clock = tracker.clock
    first = tracker.open(
        title='=HYPERLINK("http://evil.example", "click")',
        actor="@cust",
        tags=["=1+1", "<script>"],
        assignee="@SUM(A1:A9)",
        queue="=SUM(A1)",
    )
    second = tracker.open(title=HOSTILE, actor="-cust", tags=["+tag"], assignee=HOSTILE)
    clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    tracker.comment(first.key, "hi", actor="@SUM(A1:A9)")
    tracker.transition(first.key, "resolve", actor="@SUM(A1:A9)")
    tracker.transition(second.key, "resolve", actor=HOSTILE)
    clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    return tracker


def read_csv(report: Report, table: str) -> list[list[str]]:
    out = io.StringIO(newline="")
    write_csv(report, table, out)
    return list(csv.reader(io.StringIO(out.getvalue(), newline="")))


class TestData:
    def test_round_trip_through_json(self, make: MakeTracker) -> None:
        """``Report.from_data(json.loads(json.dumps(report.to_data())))`` is the report."""
        report = build_report(desk(make), until=UNTIL)
        data = json.loads(json.dumps(report.to_data()))
        assert Report.from_data(data) == report
        assert data["summary"]["first_response"] == {"count": 4, "median": 2700.0, "p90": 7200.0}
        assert data["periods"][0] == {
            "start": "2026-01-05",
            "opened": 2,
            "resolved": 1,
            "reopened": 0,
            "backlog": 1,
            "time_spent": 0.0,
        }

    @pytest.mark.parametrize(
        ("mangle", "where"),
        [
            (lambda d: d.update(since="yesterday"), "$.since"),
            (lambda d: d["summary"].update(tickets="6"), "$.summary.tickets"),
            (lambda d: d["periods"][0].update(start=5), "$.periods[0].start"),
            (lambda d: d.pop("until"), "$.until"),
        ],
    )
    def test_bad_data_is_refused(self, make: MakeTracker, mangle: object, where: str) -> None:
        """Reading names the place of the bad value."""
        data = build_report(desk(make), until=UNTIL).to_data()
        mangle(data)  # type: ignore[operator]
        with pytest.raises(ValidationError) as caught:
            Report.from_data(data)
        assert caught.value.field == where
        assert where in str(caught.value)


class TestTables:
    def test_names_and_rows(self, make: MakeTracker) -> None:
        """Every table is there; durations are hours, shares fractions."""
        found = build_report(desk(make), until=UNTIL).tables()
        assert tuple(found) == TABLES
        assert found["volume"][:2] == [
            {"start": "2026-01-05", "opened": 2, "time_hours": 0.0},
            {"start": "2026-01-06", "opened": 1, "time_hours": 0.0},
        ]
        assert found["response_times"] == [
            {"metric": "first_response", "count": 4, "median_hours": 0.75, "p90_hours": 2.0},
            {"metric": "resolution", "count": 4, "median_hours": 6.0, "p90_hours": 11.0},
        ]
        assert found["sla"][0] == {
            "kind": "first_response",
            "met": 3,
            "breached": 2,
            "running": 0,
            "met_share": 0.6,
        }
        assert found["reopens"] == [{"resolved": 4, "reopened": 1, "reopen_rate": 0.25}]
        assert found["by_agent"][0]["agent"] == "alice"
        assert found["by_agent"][0]["resolution_median_hours"] == 4.0
        assert found["by_tag"][1]["tag"] == "vpn"
        assert found["tickets"][0]["key"] == "HD-1"

    def test_unknown_table(self, make: MakeTracker) -> None:
        """``write_csv`` names the tables it knows."""
        report = build_report(make())
        with pytest.raises(ValidationError, match=r"no report table named 'agents'.*by_agent"):
            write_csv(report, "agents", io.StringIO())

    def test_every_csv_cell_is_safe(self, make: MakeTracker) -> None:
        """No cell of any table starts like a formula; user text is neutralised, not lost."""
        report = build_report(hostile(make))
        text: dict[str, str] = {}
        for table in TABLES:
            rows = read_csv(report, table)
            for line in rows:
                for cell in line:
                    assert not cell.startswith(FORMULA_STARTS), (table, cell)
            text[table] = "\n".join(",".join(line) for line in rows)
        assert "'=HYPERLINK" in text["tickets"]
        assert "'@SUM(A1:A9)" in text["tickets"]
        assert "'=SUM(A1)" in text["tickets"]
        assert "<script> =1+1" in text["tickets"]  # not at the start: no formula
        assert "'@SUM(A1:A9)" in text["by_agent"]
        assert "'=SUM(A1)" in text["by_queue"]
        assert "'=1+1" in text["by_tag"]
        assert "'+tag" in text["by_tag"]

    def test_safe_cell_is_reexported(self) -> None:
        """The same neutraliser as ``ticketkit._spreadsheet``."""
        assert safe_cell("=1") == "'=1"
        assert safe_cell(-3) == -3


class _Checker(HTMLParser):
    """Collects tags, and refuses anything that would load from elsewhere or run."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        assert tag not in ("script", "link", "img", "iframe", "object")
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "href") or not (value or "").startswith("http"), value


def page(report: Report) -> str:
    out = io.StringIO()
    write_html(report, out)
    return out.getvalue()


class TestHTML:
    def test_user_text_is_escaped(self, make: MakeTracker) -> None:
        """Tags, agent names, queue names and titles with markup appear as text."""
        text = page(build_report(hostile(make)))
        checker = _Checker()
        checker.feed(text)
        assert "<script" not in text.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "&lt;script&gt;</td>" in text  # the tag
        assert "=SUM(A1)" in text  # HTML needs no formula guard

    def test_self_contained_with_four_charts(self, make: MakeTracker) -> None:
        """Backlog, volume, resolution times and SLA: inline SVG, no external resource."""
        text = page(build_report(desk(make), until=UNTIL))
        checker = _Checker()
        checker.feed(text)
        assert text.startswith("<!DOCTYPE html>")
        assert checker.tags.count("svg") == 4
        assert checker.tags.count("table") == len(TABLES)
        assert "url(http" not in text
        assert "@import" not in text

    def test_deterministic(self, make: MakeTracker, tmp_path: Path) -> None:
        """The same report gives the same bytes, to a path or to a file."""
        report = build_report(desk(make), until=UNTIL)
        write_html(report, tmp_path / "a.html")
        write_html(report, str(tmp_path / "b.html"))
        assert (tmp_path / "a.html").read_text() == (tmp_path / "b.html").read_text()
        assert (tmp_path / "a.html").read_text(encoding="utf-8") == page(report)

    def test_long_tables_are_cut_with_a_note(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A table longer than MAX_ROWS shows its first rows and says where the rest are."""
        from ticketkit.reports import _html

        monkeypatch.setattr(_html, "MAX_ROWS", 2)
        tracker = Tracker.in_memory()
        for n in range(3):
            tracker.open(f"Ticket {n}", actor="ann@example.com")
        text = page(build_report(tracker))
        tickets = text[text.index('<h2 id="tickets">') : text.index('<h2 id="time_by_agent">')]
        assert tickets.count("<tr>") == 3  # the header and two rows
        assert "The first 2 of 3 rows" in tickets
        assert "ticketkit report --csv tickets" in tickets

    def test_an_all_zero_chart_has_whole_ticket_ticks(self) -> None:
        """A backlog of 0 throughout is drawn on a 0 to 1 axis, not a fractional one."""
        tracker = Tracker.in_memory()
        key = tracker.open("Done at once", actor="ann@example.com").key
        tracker.transition(key, "resolve", actor="alice")
        text = page(build_report(tracker))
        backlog = text[text.index("<svg") : text.index("</svg>")]
        labels = re.findall(r"<text[^>]*>([^<]*)</text>", backlog)
        assert "0" in labels
        assert "1" in labels
        assert not [label for label in labels if "." in label]

    def test_empty_tracker(self, make: MakeTracker) -> None:
        """A valid page that says there is no data."""
        text = page(build_report(make()))
        _Checker().feed(text)
        assert "No data" in text
        assert "<svg" not in text
        assert text.rstrip().endswith("</html>")


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


class TestImports:
    def test_matplotlib_only_when_drawing(self) -> None:
        """``import ticketkit`` skips the reports; ``import ticketkit.reports`` skips matplotlib."""
        done = run(
            "import sys, ticketkit\n"
            "assert 'ticketkit.reports' not in sys.modules\n"
            "import ticketkit.reports\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib'\n"
            "print('ok')"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "ok\n"

    def test_missing_matplotlib_names_the_extra(self) -> None:
        """Without matplotlib, write_html raises an ImportError naming the ``reports`` extra."""
        done = run(
            "import io, sys\n"
            "sys.modules['matplotlib'] = None\n"
            "import ticketkit\n"
            "from ticketkit.reports import build_report, write_html\n"
            "report = build_report(ticketkit.Tracker.in_memory())\n"
            "try:\n"
            "    write_html(report, io.StringIO())\n"
            "except ImportError as exc:\n"
            "    print(exc)\n"
        )
        assert done.returncode == 0, done.stderr
        assert "pip install 'ticketkit[reports]'" in done.stdout
