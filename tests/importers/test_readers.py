"""The Trac and Roundup readers' options, and the dry run, on small hand-made sources.

The real programs' output is checked in ``test_trac_roundup.py``; these tests
build the few rows each case needs, in the same formats.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ticketkit import FieldDef, Tracker
from ticketkit.importers import (
    ImportedChange,
    ImportRecord,
    NotImported,
    plan_import,
    read_json,
    read_roundup,
    read_trac,
)

T = 1714555800  # 2024-05-01 09:30 UTC
START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
HOUR = 3600
TRAC_SCHEMA = """
CREATE TABLE ticket (id integer PRIMARY KEY, type text, time integer, changetime integer,
    component text, severity text, priority text, owner text, reporter text, cc text,
    version text, milestone text, status text, resolution text, summary text,
    description text, keywords text);
CREATE TABLE ticket_custom (ticket integer, name text, value text);
CREATE TABLE ticket_change (ticket integer, time integer, author text, field text,
    oldvalue text, newvalue text);
CREATE TABLE attachment (type text, id text, filename text, size integer, time integer,
    description text, author text);
"""
TICKET = {
    "type": "",
    "component": "",
    "severity": "",
    "priority": "major",
    "owner": "",
    "reporter": "ann",
    "cc": "",
    "version": "",
    "milestone": "",
    "status": "new",
    "resolution": "",
    "summary": "Printer on fire",
    "description": "",
    "keywords": "",
}


def trac_db(
    path: Path,
    tickets: list[dict[str, Any]],
    changes: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
    custom: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
    scale: int = 10**6,
) -> Path:
    """A Trac database with these tickets (over TICKET's values), changes and custom values."""
    db = sqlite3.connect(path)
    db.executescript(TRAC_SCHEMA)
    for n, values in enumerate(tickets, start=1):
        row = {**TICKET, **values, "id": n, "time": T * scale, "changetime": T * scale}
        db.execute(
            f"INSERT INTO ticket ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    db.executemany(
        "INSERT INTO ticket_change VALUES (?, ?, ?, ?, ?, ?)",
        [(tid, when * scale, *rest) for tid, when, *rest in changes],
    )
    db.executemany("INSERT INTO ticket_custom VALUES (?, ?, ?)", custom)
    db.commit()
    db.close()
    return path


class TestTracOptions:
    def test_times_in_seconds(self, tmp_path: Path) -> None:
        """A database from before Trac 0.12 keeps seconds; the reader tells them apart."""
        path = trac_db(
            tmp_path / "old.db",
            [{"status": "assigned", "owner": "bob"}],
            [
                (1, T + HOUR, "carl", "status", "new", "assigned"),
                (1, T + HOUR, "carl", "owner", "", "bob"),
            ],
            scale=1,
        )
        [record] = read_trac(path)
        assert record.created == START
        assert {c.at for c in record.history} == {datetime(2024, 5, 1, 10, 30, tzinfo=UTC)}

    def test_components_as_queues_and_users_renamed(self, tmp_path: Path) -> None:
        """``components="queue"`` puts each ticket in its component's queue; ``users`` renames."""
        path = trac_db(
            tmp_path / "trac.db",
            [{"component": "mail", "reporter": ""}, {"component": ""}],
            [(1, T + HOUR, "carl", "component", "print", "mail")],
        )
        records = list(read_trac(path, components="queue", users={"carl": "carl@example.com"}))
        assert [r.queue for r in records] == ["mail", "default"]
        assert records[0].reporter == "anonymous"
        assert records[0].history == (
            ImportedChange("carl@example.com", records[0].history[0].at, "queue", "print", "mail"),
        )
        tracker = Tracker.in_memory(queues={"default": "TK", "mail": "ML", "print": "PR"})
        report = tracker.import_tickets(records)
        assert report.keys == {"#1": "PR-1", "#2": "TK-1"}

    def test_priorities_and_fields(self, tmp_path: Path) -> None:
        """Priorities map by name, empty is the default; fields convert and rename."""
        path = trac_db(
            tmp_path / "trac.db",
            [{"priority": ""}, {"priority": "highest"}, {"severity": "major"}],
            custom=[(1, "hours", "3"), (2, "hours", "many"), (3, "notes", "x")],
        )
        fields = [FieldDef("hours", "int"), FieldDef("impact_level", "text")]
        reader = read_trac(
            path, fields=fields, rename={"severity": "impact_level"}, default_priority="P4"
        )
        records = list(reader)
        assert [r.priority for r in records] == ["P4", "highest", "P3"]
        assert [dict(r.fields) for r in records] == [
            {"hours": 3},
            {"hours": "many"},  # passed on for the import to refuse
            {"impact_level": "major"},
        ]
        assert reader.not_imported == [NotImported("#3", "field", "notes")]

    def test_edited_comments_and_empty_comments(self, tmp_path: Path) -> None:
        """An edited comment is imported as it reads now; empty comments are skipped."""
        path = trac_db(
            tmp_path / "trac.db",
            [{}],
            [
                (1, T + HOUR, "bob", "comment", "1", "Fixed text"),
                (1, T + HOUR, "bob", "_comment0", "Frist text", str(T + 2 * HOUR)),
                (1, T + 2 * HOUR, "carl", "comment", "2", "  "),
            ],
        )
        [record] = read_trac(path)
        assert [(c.author, c.body) for c in record.comments] == [("bob", "Fixed text")]
        assert record.history == ()

    def test_component_mapping(self, tmp_path: Path) -> None:
        """A mapping sends the components it names to queues; others stay tags."""
        path = trac_db(
            tmp_path / "trac.db", [{"component": "Mail server"}, {"component": "Web site"}]
        )
        records = list(read_trac(path, components={"Mail server": "mail"}))
        assert [(r.queue, r.tags) for r in records] == [
            ("mail", ()),
            ("default", ("web-site",)),
        ]

    def test_a_history_that_does_not_end_at_the_ticket_is_refused(self, tmp_path: Path) -> None:
        """The ticket row is the truth; a history that disagrees is named by the import."""
        path = trac_db(
            tmp_path / "trac.db",
            [{"summary": "Now"}],
            [(1, T + HOUR, "bob", "summary", "First", "Second")],
        )
        plan = plan_import(Tracker.in_memory(), read_trac(path))
        assert plan.problems[0].field == "title"
        assert "the history leaves title at 'Second'" in plan.problems[0].message


def roundup_export(directory: Path, issues: list[dict[str, Any]], journal: list[list[Any]]) -> Path:
    """A roundup-admin export directory with three users, classic statuses and priorities."""
    directory.mkdir()
    (directory / "msg-files" / "0").mkdir(parents=True)

    def write(name: str, header: list[str] | None, rows: list[list[Any]]) -> None:
        with open(directory / name, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=":", lineterminator="\n")
            if header:
                writer.writerow(header)
            writer.writerows([repr(v) for v in row] for row in rows)

    at = (2024, 5, 1, 9, 30, 0.0, 0, 0, 0)
    write("user.csv", ["id", "username"], [["1", "admin"], ["3", "ann"], ["4", "bob"]])
    write("status.csv", ["id", "name"], [["1", "unread"], ["2", "chatting"]])
    write("priority.csv", ["id", "name"], [["1", "critical"], ["3", "bug"]])
    write("keyword.csv", ["id", "name"], [["1", "Mail server"]])
    base = {
        "id": "1",
        "title": "Mail down",
        "creation": at,
        "creator": "3",
        "status": "1",
        "priority": "3",
        "assignedto": None,
        "keyword": ["1"],
        "nosy": ["3"],
        "messages": ["1", "2"],
        "files": [],
        "superseder": [],
        "is retired": False,
    }
    rows = [{**base, **issue} for issue in issues]
    header = list(rows[0])
    write("issue.csv", header, [[row[h] for h in header] for row in rows])
    later = (2024, 5, 1, 10, 0, 0.0, 0, 0, 0)
    write("msg.csv", ["id", "author", "date"], [["1", "3", at], ["2", "4", later]])
    (directory / "msg-files" / "0" / "msg1").write_text("It is down.", encoding="utf-8")
    (directory / "msg-files" / "0" / "msg2").write_text("Looking.", encoding="utf-8")
    write("issue-journals.csv", None, journal)
    return directory


class TestRoundupOptions:
    def test_custom_fields_users_and_messages(self, tmp_path: Path) -> None:
        """A customised schema's property fills a field; every message may be a comment."""
        export = roundup_export(tmp_path / "export", [{"site": "Berlin", "extra": "x"}], [])
        reader = read_roundup(
            export,
            fields=[FieldDef("site", "text")],
            users={"ann": "ann@example.com"},
            first_message_is_description=False,
        )
        [record] = reader
        assert record.fields == {"site": "Berlin"}
        assert record.reporter == "ann@example.com"
        assert record.tags == ("mail-server",)
        assert record.description == ""
        assert [(c.author, c.body) for c in record.comments] == [
            ("ann@example.com", "It is down."),
            ("bob", "Looking."),
        ]
        assert reader.not_imported == [NotImported("issue1", "field", "extra")]

    def test_multilink_changes_are_undone(self, tmp_path: Path) -> None:
        """A keyword added and one removed in one journal entry work back to the first set."""
        export = roundup_export(
            tmp_path / "export",
            [{"keyword": ["1"], "status": "2"}],
            [
                ["1", (2024, 5, 1, 9, 30, 0.0, 0, 0, 0), "3", "create", {}],
                [
                    "1",
                    (2024, 5, 1, 10, 0, 0.0, 0, 0, 0),
                    "4",
                    "set",
                    {"keyword": (("+", ["1"]), ("-", ["7"])), "status": "1"},
                ],
            ],
        )
        [record] = read_roundup(export)
        assert [(c.field, c.old, c.new) for c in record.history] == [
            ("status", "new", "open"),
            ("tags", ["7"], ["mail-server"]),
        ]

    def test_bad_date(self, tmp_path: Path) -> None:
        """A date that is not Roundup's is refused naming the file and line."""
        export = roundup_export(tmp_path / "export", [{"creation": "yesterday"}], [])
        with pytest.raises(Exception, match=r"line 2 of .*issue\.csv: creation: 'yesterday'"):
            list(read_roundup(export))

    def test_missing_class_file(self, tmp_path: Path) -> None:
        """An export without user.csv is refused naming the file."""
        export = roundup_export(tmp_path / "export", [{}], [])
        (export / "user.csv").unlink()
        with pytest.raises(Exception, match=r"user\.csv is missing"):
            list(read_roundup(export))


class TestPlanImport:
    def test_counts_problems_and_unmapped_values(self) -> None:
        """Each bad record is a problem; the others are counted; nothing is stored."""
        tracker = Tracker.in_memory()
        records = [
            ImportRecord(
                title="One",
                reporter="ann",
                created=START,
                source_id="A",
                history=[ImportedChange("bob", START, "status", "new", "open")],
            ),
            ImportRecord(title="Two", reporter="ann", created=START, source_id="A"),
            ImportRecord(title="Three", reporter="ann", created=START, queue="nowhere"),
            ImportRecord(title="Four", reporter="ann", created=START, priority="P9"),
            "not a record",
        ]
        plan = plan_import(tracker, records)  # type: ignore[arg-type]
        assert (plan.records, plan.tickets, plan.changes, plan.comments) == (5, 1, 1, 0)
        assert [(p.index, p.field) for p in plan.problems] == [
            (1, "source_id"),
            (2, "queue"),
            (3, "priority"),
            (4, None),
        ]
        assert dict(plan.unmapped) == {"priority": {"P9": 1}, "queue": {"nowhere": 1}}
        assert len(tracker.query()) == 0

    def test_a_bad_line_ends_the_reading(self) -> None:
        """A reader's bad line is the last problem: the reader cannot go on."""
        good = json.dumps({"title": "A", "reporter": "ann", "created": "2024-05-01T09:30:00Z"})
        plan = plan_import(Tracker.in_memory(), read_json(io.StringIO(f"{good}\n{{bad\n{good}\n")))
        assert (plan.records, plan.tickets) == (1, 1)
        assert [p.index for p in plan.problems] == [1]
        assert "line 2" in plan.problems[0].message
