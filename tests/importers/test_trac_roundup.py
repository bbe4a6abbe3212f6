"""Importing from real Trac and Roundup data, built by the real programs.

The session fixtures run ``make_trac.py`` and ``make_roundup.py`` with the
Python of a throwaway environment that has Trac and Roundup installed (see
``conftest.py``). Each script writes what the program itself reports about its
tickets (Trac's changelog, Roundup's journal), and the tests compare the
imported tickets, comments and histories with that.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ticketkit import FieldDef, Tracker, ValidationError
from ticketkit._history import replay
from ticketkit.importers import ImportRecordError, NotImported, plan_import, read_trac

from .conftest import HERE, run

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TRAC_FIELDS = [
    FieldDef("site", "text"),
    FieldDef("billable", "bool"),
    FieldDef("type", "choice", choices=("defect", "enhancement", "task")),
    FieldDef("milestone", "text"),
]
COMPONENT_QUEUES = {"Mail": "mail", "Printing and scanning": "printing"}
TRAC_SETTINGS: dict[str, Any] = {
    "workflow": "bugtracker",
    "queues": {"default": "TK", "mail": "MAIL", "printing": "PRN"},
    "fields": TRAC_FIELDS,
}
#: Trac's field names as ticketkit's history names them (with the queue mapping).
TRAC_NAMES = {
    "summary": "title",
    "owner": "assignee",
    "keywords": "tags",
    "component": "queue",
    "description": "description",
    "status": "status",
    "priority": "priority",
    "resolution": "resolution",
}


def trac_comments(ticket: dict[str, Any]) -> list[list[Any]]:
    """The ticket's comments in Trac's changelog (an attachment's description has no number)."""
    return [c for c in ticket["changelog"] if c[2] == "comment" and c[3] and c[4].strip()]


def trac_changes(ticket: dict[str, Any]) -> list[list[Any]]:
    """The field changes in Trac's changelog that ticketkit keeps as history."""
    return [c for c in ticket["changelog"] if c[2] not in ("comment", "attachment", "cc")]


def stored(tracker: Tracker) -> int:
    """How many tickets the tracker holds."""
    return len(tracker.query(limit=1000))


def micro(when: datetime) -> int:
    return (when - EPOCH) // timedelta(microseconds=1)


@pytest.fixture(scope="session")
def trac(
    source_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """A Trac environment made by trac-admin and Trac's API, and Trac's own account of it."""
    where = tmp_path_factory.mktemp("trac")
    run(source_python, HERE / "make_trac.py", where / "env", where / "trac.json")
    expected: dict[str, Any] = json.loads((where / "trac.json").read_text(encoding="utf-8"))
    return where / "env", expected


@pytest.fixture(params=["memory", "sqlite"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    if request.param == "memory":
        yield Tracker.in_memory(**TRAC_SETTINGS)
        return
    found = Tracker.from_url(f"sqlite:///{tmp_path / 'imported.db'}", **TRAC_SETTINGS)
    yield found
    found.store.close()


def trac_reader(env: Path) -> Any:
    return read_trac(env, fields=TRAC_FIELDS, components=COMPONENT_QUEUES)


class TestTrac:
    def test_counts(self, trac: tuple[Path, dict[str, Any]], tracker: Tracker) -> None:
        """Every Trac ticket, non-empty comment and field change is imported, one event each."""
        env, expected = trac
        report = tracker.import_tickets(trac_reader(env), batch_size=7)
        assert report.imported == len(expected) == 41
        for tid, ticket in expected.items():
            key = report.keys[f"#{tid}"]
            changes, comments = trac_changes(ticket), trac_comments(ticket)
            history = tracker.history(key)
            assert len(tracker.comments(key)) == len(comments)
            assert len(history) == 1 + len(changes) + len(comments)
            assert replay(history) == tracker.get(key)

    def test_histories_keep_actors_and_times(
        self, trac: tuple[Path, dict[str, Any]], tracker: Tracker
    ) -> None:
        """Each event has the actor and time Trac recorded for the change or comment."""
        env, expected = trac
        report = tracker.import_tickets(trac_reader(env))
        for tid, ticket in expected.items():
            key = report.keys[f"#{tid}"]
            history = tracker.history(key)
            assert micro(history[0].at) == ticket["time"]
            assert history[0].actor == ticket["values"]["reporter"]
            got = {(micro(e.at), e.actor, e.field or e.type.value) for e in history[1:]}
            want = {
                (when, author, TRAC_NAMES.get(name, f"fields.{name}"))
                for when, author, name, _, _ in trac_changes(ticket)
            } | {(when, author, "commented") for when, author, *_ in trac_comments(ticket)}
            assert got == want, tid

    def test_a_ticket_in_full(self, trac: tuple[Path, dict[str, Any]], tracker: Tracker) -> None:
        """Ticket #1 reads as Trac shows it: values, comments and each change."""
        env, expected = trac
        key = tracker.import_tickets(trac_reader(env)).keys["#1"]
        ticket = tracker.get(key)
        trac_values = expected["1"]["values"]
        assert (ticket.title, ticket.description) == (
            trac_values["summary"],
            trac_values["description"],
        )
        assert key.startswith("PRN-")  # opened in the printing queue
        assert (ticket.title, ticket.status, ticket.priority.name) == (
            "Printer on fire (again)",
            "reopened",
            "P1",
        )
        assert ticket.assignee == "bob"
        assert ticket.tags == {"printer", "hardware", "urgent"}
        assert dict(ticket.fields) == {"site": "Berlin-Mitte", "billable": True, "type": "defect"}
        assert ticket.watchers == {"dora@example.com", "ann"}
        assert "'''second'''" in ticket.description  # wiki markup kept as text
        assert [c.body for c in tracker.comments(key)] == [
            "Bob, please have a look.",
            "On it.",
            "It is spreading!",
            "Put it out.",
            "Moved.",
        ]
        changes = [(e.actor, e.field, e.old, e.new) for e in tracker.history(key) if e.field]
        first_line = ticket.description.split("\n")[0]
        assert changes == [  # in a change of several fields, in ticketkit's field order
            ("carl", "status", "new", "assigned"),
            ("carl", "assignee", None, "bob"),
            ("bob", "status", "assigned", "accepted"),
            ("bob", "priority", "P2", "P1"),
            ("bob", "status", "accepted", "closed"),
            ("bob", "resolution", None, "fixed"),
            ("bob", "tags", ["hardware", "printer"], ["hardware", "printer", "urgent"]),
            ("bob", "fields.billable", False, True),
            ("bob", "fields.site", "Berlin", "Berlin-Mitte"),
            ("ann", "title", "Printer on fire", "Printer on fire (again)"),
            ("ann", "status", "closed", "reopened"),
            ("ann", "resolution", "fixed", None),
            ("dora@example.com", "description", first_line, ticket.description),
            ("dora@example.com", "queue", "printing", "mail"),
        ]
        assert tracker.as_of(key, datetime(2024, 5, 1, 10, 0, tzinfo=UTC)).status == "accepted"

    def test_components_as_tags(self, trac: tuple[Path, dict[str, Any]]) -> None:
        """By default a component is a tag, and fields no ticketkit field takes are listed."""
        env, _ = trac
        reader = read_trac(env)
        tracker = Tracker.in_memory(workflow="bugtracker")
        key = tracker.import_tickets(reader).keys["#1"]
        assert tracker.get(key).tags == {"printer", "hardware", "urgent", "mail"}
        assert NotImported("#1", "field", "site") in reader.not_imported
        assert NotImported("#1", "attachment", "fire.png") in reader.not_imported


class TestTracDryRun:
    def test_reports_without_storing(
        self, trac: tuple[Path, dict[str, Any]], tracker: Tracker
    ) -> None:
        """The dry run counts what would be imported and stores nothing."""
        env, expected = trac
        plan = plan_import(tracker, trac_reader(env))
        assert plan.ok
        assert plan.records == plan.tickets == len(expected)
        assert plan.comments == sum(len(trac_comments(t)) for t in expected.values())
        assert plan.changes == sum(len(trac_changes(t)) for t in expected.values())
        assert stored(tracker) == 0
        assert NotImported("#1", "attachment", "fire.png") in plan.not_imported
        report = tracker.import_tickets(trac_reader(env))
        events = sum(len(tracker.history(k)) for k in report.keys.values())
        assert events == plan.tickets + plan.changes + plan.comments

    def test_lists_every_value_it_cannot_map(self, trac: tuple[Path, dict[str, Any]]) -> None:
        """Into the help-desk workflow, Trac's states are unmapped; so are unknown users."""
        env, _ = trac
        tracker = Tracker.in_memory()
        plan = plan_import(tracker, read_trac(env, fields=TRAC_FIELDS), users={"ann", "bob"})
        assert not plan.ok
        assert {"accepted", "assigned", "reopened"} <= set(plan.unmapped["status"])
        assert set(plan.unmapped["field"]) == {"site", "billable", "type", "milestone"}
        assert set(plan.unmapped["user"]) == {"carl", "dora@example.com"}
        assert len(plan.problems) == plan.records
        assert plan.problems[0].source_id == "#1"
        assert "unknown custom field" in plan.problems[0].message
        assert stored(tracker) == 0

    def test_mapping_fixes_them(self, trac: tuple[Path, dict[str, Any]]) -> None:
        """A status map onto the help-desk workflow makes every ticket importable."""
        env, _ = trac
        tracker = Tracker.in_memory(fields=TRAC_FIELDS)
        statuses = {"assigned": "open", "accepted": "open", "reopened": "open"}
        plan = plan_import(tracker, read_trac(env, fields=TRAC_FIELDS, statuses=statuses))
        assert plan.ok, plan.problems[:3]
        assert dict(plan.unmapped) == {}


class TestTracBadInput:
    def test_not_a_database(self, tmp_path: Path) -> None:
        """A file that is not SQLite is refused at once, naming it."""
        path = tmp_path / "trac.db"
        path.write_text("hello", encoding="utf-8")
        with pytest.raises(ValidationError, match=r"trac\.db cannot be read as a Trac database"):
            read_trac(path)

    def test_not_trac(self, tmp_path: Path) -> None:
        """An SQLite database without Trac's tables is refused."""
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE ticket (id integer)")
        with pytest.raises(ValidationError, match="no ticket_change, ticket_custom table"):
            read_trac(path)

    def test_missing(self, tmp_path: Path) -> None:
        """A path that does not exist is refused."""
        with pytest.raises(ValidationError, match="neither a Trac environment"):
            read_trac(tmp_path / "nowhere")

    def test_bad_row_stores_nothing_of_its_batch(
        self, trac: tuple[Path, dict[str, Any]], tmp_path: Path
    ) -> None:
        """A ticket with an unknown priority stops the import; the store keeps what came before."""
        env, _ = trac
        db_path = tmp_path / "trac.db"
        with sqlite3.connect(env / "db" / "trac.db") as source, sqlite3.connect(db_path) as copy:
            source.backup(copy)
        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE ticket SET priority = 'highest' WHERE id = 6")
        tracker = Tracker.in_memory(**TRAC_SETTINGS)
        with pytest.raises(ImportRecordError) as caught:
            tracker.import_tickets(
                read_trac(db_path, fields=TRAC_FIELDS, components=COMPONENT_QUEUES), batch_size=2
            )
        assert caught.value.source_id == "#6"
        assert "unknown priority 'highest'" in str(caught.value)
        assert caught.value.report.imported == stored(tracker) == 4
