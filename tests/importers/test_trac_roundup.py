"""Importing from real Trac and Roundup data, built by the real programs.

The session fixtures run ``make_trac.py`` and ``make_roundup.py`` with the
Python of a throwaway environment that has Trac and Roundup installed (see
``conftest.py``). Each script writes what the program itself reports about its
tickets (Trac's changelog, Roundup's journal), and the tests compare the
imported tickets, comments and histories with that.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ticketkit import Action, Category, FieldDef, State, Tracker, ValidationError, Workflow
from ticketkit._history import replay
from ticketkit.importers import (
    ImportRecordError,
    NotImported,
    plan_import,
    read_roundup,
    read_trac,
)

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
    found.close()


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


# -- Roundup ---------------------------------------------------------------------------

ROUNDUP_STATES = (
    "unread",
    "deferred",
    "chatting",
    "need-eg",
    "in-progress",
    "testing",
    "done-cbb",
    "resolved",
)
#: Roundup's classic statuses, one workflow state each (state names cannot hold ``-``).
SAME_STATES = {name: name.replace("-", "_") for name in ROUNDUP_STATES}
#: Roundup's issue properties as ticketkit's history names them.
ROUNDUP_NAMES = {
    "title": "title",
    "status": "status",
    "priority": "priority",
    "assignedto": "assignee",
    "keyword": "tags",
}


def roundup_workflow() -> Workflow:
    """A workflow with Roundup's classic statuses, any one reachable from any other."""
    names = list(SAME_STATES.values())
    category = {
        "unread": Category.NEW,
        "done_cbb": Category.RESOLVED,
        "resolved": Category.RESOLVED,
    }
    return Workflow(
        name="roundup",
        states=[State(n, category.get(n, Category.ACTIVE)) for n in names],
        actions=[Action(f"to_{n}", set(names) - {n}, n) for n in names],
        initial="unread",
    )


def roundup_time(text: str) -> datetime:
    """A date as Roundup prints it: ``2024-05-01.09:35:00``."""
    return datetime.strptime(text, "%Y-%m-%d.%H:%M:%S").replace(tzinfo=UTC)


@pytest.fixture(scope="session")
def roundup(
    source_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """A Roundup export made by roundup-admin, and Roundup's own account of the issues."""
    where = tmp_path_factory.mktemp("roundup")
    run(source_python, HERE / "make_roundup.py", where / "home", where / "export", where / "o.json")
    expected: dict[str, Any] = json.loads((where / "o.json").read_text(encoding="utf-8"))
    return where / "export", expected


@pytest.fixture(params=["memory", "sqlite"])
def roundup_tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    if request.param == "memory":
        yield Tracker.in_memory(workflow=roundup_workflow())
        return
    found = Tracker.from_url(f"sqlite:///{tmp_path / 'imported.db'}", workflow=roundup_workflow())
    yield found
    found.close()


class TestRoundup:
    def test_counts_and_histories(
        self, roundup: tuple[Path, dict[str, Any]], roundup_tracker: Tracker
    ) -> None:
        """Every live issue, message and journalled change arrives with its actor and time."""
        export, expected = roundup
        tracker = roundup_tracker
        report = tracker.import_tickets(read_roundup(export, statuses=SAME_STATES), batch_size=6)
        assert report.imported == len(expected) == 20
        for iid, issue in expected.items():
            key = report.keys[f"issue{iid}"]
            history = tracker.history(key)
            assert replay(history) == tracker.get(key)
            assert history[0].actor == issue["creator"]
            assert history[0].at == roundup_time(issue["creation"])
            want_changes = {
                (roundup_time(when), who, ROUNDUP_NAMES[name])
                for when, who, action, names in issue["journal"]
                if action == "set"
                for name in names
                if name in ROUNDUP_NAMES
            }
            want_comments = {
                (roundup_time(when), who, "commented") for who, when, _ in issue["messages"][1:]
            }
            got = [(e.at, e.actor, e.field or e.type.value) for e in history[1:]]
            assert len(got) == len(want_changes) + len(want_comments)
            assert set(got) == want_changes | want_comments, iid
            comments = tracker.comments(key)
            assert [c.body for c in comments] == [body for _, _, body in issue["messages"][1:]]
            ticket = tracker.get(key)
            assert ticket.description == issue["messages"][0][2]
            assert ticket.title == issue["title"]
            assert ticket.status == SAME_STATES[issue["status"]]

    def test_an_issue_in_full(self, roundup: tuple[Path, dict[str, Any]]) -> None:
        """Issue 1 reads as Roundup shows it, mapped onto the help-desk workflow by default."""
        export, _ = roundup
        tracker = Tracker.in_memory()
        reader = read_roundup(export)
        key = tracker.import_tickets(reader).keys["issue1"]
        ticket = tracker.get(key)
        assert (ticket.title, ticket.status, ticket.priority.name, ticket.assignee) == (
            "Printer was on fire",
            "resolved",
            "P2",
            "bob",
        )
        assert ticket.tags == {"printer", "network"}
        assert ticket.watchers == {"ann", "bob"}
        changes = [(e.actor, e.field, e.old, e.new) for e in tracker.history(key) if e.field]
        assert changes == [
            ("bob", "status", "new", "open"),
            ("bob", "assignee", None, "bob"),
            ("ann", "priority", "P1", "P2"),
            ("bob", "status", "open", "resolved"),
            ("bob", "tags", ["printer"], ["network", "printer"]),
            ("carl", "title", "Printer on fire", "Printer was on fire"),
        ]
        assert NotImported("issue1", "attachment", "file1") in reader.not_imported
        assert NotImported("issue21", "issue", "retired") in reader.not_imported

    def test_dry_run(self, roundup: tuple[Path, dict[str, Any]]) -> None:
        """The dry run counts the import, lists unknown users and statuses, and stores nothing."""
        export, expected = roundup
        tracker = Tracker.in_memory()
        plan = plan_import(tracker, read_roundup(export), users={"ann", "bob"})
        assert plan.ok
        assert plan.tickets == len(expected)
        assert plan.comments == sum(len(i["messages"]) - 1 for i in expected.values())
        assert dict(plan.unmapped["user"]).keys() == {"carl"}
        assert stored(tracker) == 0
        plan = plan_import(tracker, read_roundup(export, statuses={"chatting": "talking"}))
        assert set(plan.unmapped["status"]) == {"talking"}
        assert plan.problems
        assert all("unknown state 'talking'" in p.message for p in plan.problems)
        assert stored(tracker) == 0


class TestRoundupBadInput:
    def test_missing_directory(self, tmp_path: Path) -> None:
        """A directory without issue.csv is refused at once."""
        with pytest.raises(ValidationError, match=r"has no issue\.csv"):
            read_roundup(tmp_path / "nowhere")

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ("'1':(2024,:'x'\n", r"line 1 of .*issue-journals\.csv: 3 cells, but 5 columns"),
            (
                "'1':(2024, 5, 1, 9, 35, 0.0, 0, 0, 0):'3':'set':__import__('os')\n",
                r"line 1 of .*issue-journals\.csv: \"__import__\('os'\)\" is not a value",
            ),
        ],
    )
    def test_malformed_row(
        self, roundup: tuple[Path, dict[str, Any]], tmp_path: Path, line: str, message: str
    ) -> None:
        """A malformed journal row stops the import naming file and line; nothing is stored."""
        export, _ = roundup
        copy = tmp_path / "export"
        shutil.copytree(export, copy)
        journal = copy / "issue-journals.csv"
        journal.write_text(line + journal.read_text(encoding="utf-8"), encoding="utf-8")
        tracker = Tracker.in_memory()
        with pytest.raises(ImportRecordError, match=message) as caught:
            tracker.import_tickets(read_roundup(copy))
        assert caught.value.index == 0
        assert stored(tracker) == 0

    def test_missing_message_file(
        self, roundup: tuple[Path, dict[str, Any]], tmp_path: Path
    ) -> None:
        """An export without its message files (exporttables) is refused, naming the file."""
        export, _ = roundup
        copy = tmp_path / "export"
        shutil.copytree(export, copy)
        shutil.rmtree(copy / "msg-files")
        with pytest.raises(ImportRecordError, match=r"msg-files/0/msg1 is missing"):
            Tracker.in_memory().import_tickets(read_roundup(copy))


class TestCommand:
    """``ticketkit import --format trac|roundup``, with and without ``--dry-run``."""

    def test_trac_dry_run_then_import(
        self,
        trac: tuple[Path, dict[str, Any]],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        from click.testing import CliRunner

        from ticketkit import cli

        env, expected = trac
        monkeypatch.chdir(tmp_path)
        clean = {"TICKETKIT_URL": None, "TICKETKIT_CONFIG": None, "TICKETKIT_ACTOR": None}

        def invoke(*args: str) -> Any:
            return CliRunner().invoke(cli.build_cli(), list(args), env=clean)

        assert invoke("init", "--workflow", "bugtracker", "--prefix", "TK").exit_code == 0
        planned = invoke("import", str(env), "--format", "trac", "--dry-run", "--json")
        assert planned.exit_code == 0, planned.output
        plan = json.loads(planned.stdout)
        assert (plan["ok"], plan["dry_run"]) == (True, True)
        assert plan["tickets"] == len(expected)
        assert {n["what"] for n in plan["not_imported"]} >= {"attachment"}
        listed = invoke("list", "--json")
        assert json.loads(listed.stdout)["items"] == []
        done = invoke("import", str(env), "--format", "trac", "--json")
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["imported"] == len(expected)
        shown = json.loads(invoke("show", "TK-1", "--json").stdout)
        assert shown["ticket"]["title"] == expected["1"]["values"]["summary"]
        assert shown["history"][0]["actor"] == expected["1"]["values"]["reporter"]
