"""``ticketkit export`` and ``ticketkit import``: round trips, CSV safety, dry runs, bad input."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

import ticketkit
from cli.support import Run, as_json, ok, refused
from ticketkit import FieldDef
from ticketkit._spreadsheet import FORMULA_STARTS

CONFIG = """\
url = "sqlite:///tickets.db"
[tracker]
prefix = "HD"
[[tracker.fields]]
name = "cost"
type = "decimal"
[[tracker.fields]]
name = "due"
type = "date"
[[tracker.fields]]
name = "seats"
type = "int"
"""
FIELDS = [FieldDef("cost", "decimal"), FieldDef("due", "date"), FieldDef("seats", "int")]
NASTY = ['=HYPERLINK("http://evil","x")', "+1+1", "-2", "@SUM(A1)", "Plain", "Tabbed"]


def seed(directory: Path) -> None:
    """A help desk with a history: several actors, times, comments, notes, a merge."""
    clock = ticketkit.FrozenClock()
    url = f"sqlite:///{directory / 'tickets.db'}"
    with ticketkit.Tracker.from_url(url, clock=clock, prefix="HD", fields=FIELDS) as tracker:
        for n, title in enumerate(NASTY):
            tracker.open(
                title,
                "\tindented\r\nsecond line" if title == "Tabbed" else f"about {title}",
                actor=f"customer{n}@example.com",
                priority=f"P{n % 5 + 1}",
                tags=["printer", f"t{n}"],
                fields={"cost": "1.50", "due": "2026-03-01", "seats": -3} if n == 0 else None,
            )
        clock.advance(minutes=5)
        tracker.assign("HD-1", "bob", actor="carl")
        clock.advance(minutes=5)
        tracker.transition("HD-1", "start", actor="bob", comment="Looking")
        clock.advance(hours=1)
        tracker.comment("HD-1", "Customer sounds upset", actor="bob", internal=True)
        tracker.update("HD-1", fields={"seats": 4}, tags=["printer", "hw"], actor="bob")
        clock.advance(hours=2)
        tracker.transition("HD-1", "resolve", actor="bob", comment="Replaced the tray")
        tracker.transition("HD-2", "start", actor="dora")
        tracker.merge("HD-3", "HD-2", actor="dora")
        clock.advance(timedelta(days=1))
        tracker.transition("HD-1", "close", actor="carl")


@pytest.fixture
def source(run: Run, tmp_path: Path) -> Path:
    """The current directory set up with the config file and the seeded database."""
    (tmp_path / "ticketkit.toml").write_text(CONFIG, encoding="utf-8")
    ok(run("init"))
    seed(tmp_path)
    return tmp_path


def fresh(directory: Path) -> dict[str, str | None]:
    """Environment naming a new database (with the same config) in ``directory``."""
    directory.mkdir()
    (directory / "ticketkit.toml").write_text(CONFIG, encoding="utf-8")
    return {
        "TICKETKIT_CONFIG": str(directory / "ticketkit.toml"),
        "TICKETKIT_URL": str(directory / "tickets.db"),
    }


def stored(url: Path) -> ticketkit.Tracker:
    return ticketkit.Tracker.from_url(f"sqlite:///{url}", prefix="HD", fields=FIELDS, create=False)


IMPORTED_FIELDS = ("status_changed", "assigned", "field_changed", "commented")


def story(tracker: ticketkit.Tracker, key: str) -> list[tuple[str, str, str, str | None]]:
    """The events an export keeps: opened, changes of importable fields, comments."""
    kept = []
    for e in tracker.history(key):
        if e.type.value == "opened" or (
            e.type.value in IMPORTED_FIELDS and e.field not in ("watchers", "links")
        ):
            kept.append((e.type.value, e.actor, e.at.isoformat(), e.field))
    return kept


class TestJsonRoundTrip:
    def test_export_then_import_keeps_everything(self, run: Run, source: Path) -> None:
        """Export, import into a fresh database: same tickets, comments, history actors, times."""
        exported = ok(run("export")).stdout
        assert len(exported.splitlines()) == len(NASTY)
        (source / "export.jsonl").write_text(exported, encoding="utf-8")
        env = fresh(source / "copy")
        ok(run("init", env=env))
        report = as_json(run("import", "export.jsonl", "--json", env=env))
        assert report["imported"] == len(NASTY)
        assert report["keys"] == {f"HD-{n}": f"HD-{n}" for n in range(1, len(NASTY) + 1)}
        with stored(source / "tickets.db") as old, stored(source / "copy" / "tickets.db") as new:
            for n in range(1, len(NASTY) + 1):
                key = f"HD-{n}"
                a, b = old.get(key), new.get(key)
                for name in (
                    "title",
                    "description",
                    "status",
                    "priority",
                    "assignee",
                    "tags",
                    "fields",
                    "resolution",
                    "reporter",
                    "created",
                    "updated",
                    "watchers",
                ):
                    assert getattr(a, name) == getattr(b, name), (key, name)
                assert [(c.author, c.body, c.created, c.internal) for c in old.comments(key)] == [
                    (c.author, c.body, c.created, c.internal) for c in new.comments(key)
                ]
                # A change and a comment at the same instant: the import puts the change first.
                assert sorted(story(old, key)) == sorted(story(new, key)), key
            assert new.get("HD-1").fields["cost"] == old.get("HD-1").fields["cost"]
            assert new.get("HD-3").status == "closed"

    def test_exported_record_format(self, run: Run, source: Path) -> None:
        """Each line is read_json's record: key as source_id, history with old and new values."""
        first = json.loads(ok(run("export")).stdout.splitlines()[0])
        assert first["source_id"] == "HD-1"
        assert first["fields"] == {"cost": "1.50", "due": "2026-03-01", "seats": 4}
        assert first["history"][0] == {
            "actor": "carl",
            "at": "2026-01-05T09:05:00+00:00",
            "field": "assignee",
            "old": None,
            "new": "bob",
        }
        assert {
            "author": "bob",
            "body": "Customer sounds upset",
            "internal": True,
            "created": "2026-01-05T10:10:00+00:00",
        } in first["comments"]

    def test_import_from_stdin(self, run: Run, source: Path) -> None:
        """``import -`` reads JSON Lines from stdin."""
        exported = ok(run("export")).stdout
        env = fresh(source / "copy")
        ok(run("init", env=env))
        assert ok(run("import", "-", input=exported, env=env)).stdout == (
            f"imported {len(NASTY)} tickets in 1 batches\n"
        )

    def test_export_to_file(self, run: Run, source: Path) -> None:
        """``--output FILE`` writes the file and says so on stderr; a bad path exits 1."""
        result = ok(run("export", "-o", "out.jsonl"))
        assert result.stdout == ""
        assert "exported 6 tickets to out.jsonl" in result.stderr
        assert len((source / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 6
        assert run("export", "-o", str(source / "no" / "dir" / "x")).exit_code == 1


class TestCsv:
    def test_cells_are_neutralised(self, run: Run, source: Path) -> None:
        """No cell of the CSV export starts with = + - @ or a tab; such text gets a ' first."""
        ok(run("export", "--format", "csv", "-o", "out.csv"))
        raw = (source / "out.csv").read_bytes()
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        assert rows[0][:3] == ["title", "description", "reporter"]
        assert rows[0][-3:] == ["field:cost", "field:due", "field:seats"]
        for row in rows:
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), cell
        titles = [row[0] for row in rows[1:]]
        assert titles == ["'" + t if t.startswith(FORMULA_STARTS) else t for t in NASTY]
        assert rows[6][1] == "'\tindented\r\nsecond line"
        assert rows[3][-1] == ""  # HD-3 has no seats; HD-1 has 4, a number, kept as one
        assert rows[1][-3:] == ["1.50", "2026-03-01", "4"]

    def test_round_trip(self, run: Run, source: Path) -> None:
        """A CSV export imports back: same titles (the ' taken off), statuses, fields, tags."""
        csv_text = ok(run("export", "--format", "csv")).stdout_bytes.decode("utf-8")
        (source / "out.csv").write_text(csv_text, encoding="utf-8", newline="")
        env = fresh(source / "copy")
        ok(run("init", env=env))
        ok(run("import", "out.csv", env=env))
        with stored(source / "tickets.db") as old, stored(source / "copy" / "tickets.db") as new:
            for n in range(1, len(NASTY) + 1):
                a, b = old.get(f"HD-{n}"), new.get(f"HD-{n}")
                for name in (
                    "title",
                    "description",
                    "status",
                    "priority",
                    "assignee",
                    "tags",
                    "fields",
                    "resolution",
                    "reporter",
                    "created",
                ):
                    assert getattr(a, name) == getattr(b, name), (n, name)

    def test_keep_quotes(self, run: Run, source: Path) -> None:
        """``--keep-quotes`` imports the cells as written, ' included."""
        ok(run("export", "--format", "csv", "-o", "out.csv"))
        env = fresh(source / "copy")
        ok(run("init", env=env))
        ok(run("import", "out.csv", "--keep-quotes", env=env))
        titles = [t["title"] for t in as_json(run("list", "--json", env=env))["items"]]
        assert titles[:2] == ["'" + NASTY[0], "'" + NASTY[1]]

    def test_foreign_columns_with_map(self, run: Run, tmp_path: Path) -> None:
        """``--map COLUMN=NAME`` reads another system's columns; ``COLUMN=`` skips one."""
        ok(run("init"))
        (tmp_path / "other.csv").write_text(
            "Summary,Opened by,Opened,Notes\nVPN drops,carl,2024-05-02T08:00:00+02:00,x\n",
            encoding="utf-8",
        )
        maps = ["Summary=title", "Opened by=reporter", "Opened=created", "Notes="]
        ok(run("import", "other.csv", *[f"--map={m}" for m in maps]))
        ticket = as_json(run("list", "--json"))["items"][0]
        assert (ticket["title"], ticket["reporter"]) == ("VPN drops", "carl")
        assert ticket["created"] == "2024-05-02T06:00:00+00:00"


class TestDryRunAndBadInput:
    def test_dry_run_stores_nothing(self, run: Run, source: Path) -> None:
        """``--dry-run`` checks every record and stores nothing."""
        ok(run("export", "-o", "out.jsonl"))
        env = fresh(source / "copy")
        ok(run("init", env=env))
        report = as_json(run("import", "out.jsonl", "--dry-run", "--json", env=env))
        assert report == {
            "imported": 0,
            "checked": 6,
            "batches": 0,
            "dry_run": True,
            "keys": {},
            "ok": True,
            "tickets": 6,
            "changes": report["changes"],
            "comments": 3,
            "problems": [],
            "unmapped": {},
            "not_imported": [],
        }
        assert report["changes"] > 0
        assert as_json(run("list", "--json", env=env))["items"] == []
        assert "nothing stored" in ok(run("import", "out.jsonl", "--dry-run", env=env)).stdout

    def test_dry_run_lists_every_problem_and_unknown_value(self, run: Run, tmp_path: Path) -> None:
        """Unlike the import, a dry run goes on past a bad record and names every unknown value."""
        ok(run("init"))
        good = {"title": "Fine", "reporter": "ann", "created": "2024-05-01T09:30:00Z"}
        lines = [
            {**good, "status": "frozen", "source_id": "A"},
            good,
            {**good, "status": "frozen", "source_id": "B"},
            {**good, "queue": "nowhere", "source_id": "C"},
        ]
        (tmp_path / "in.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        result = run("import", "in.jsonl", "--dry-run", "--json")
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert (report["ok"], report["checked"], report["tickets"]) == (False, 4, 1)
        assert [(p["index"], p["source_id"], p["field"]) for p in report["problems"]] == [
            (0, "A", "status"),
            (2, "B", "status"),
            (3, "C", "queue"),
        ]
        assert report["unmapped"] == {"status": {"frozen": 2}, "queue": {"nowhere": 1}}
        text = run("import", "in.jsonl", "--dry-run")
        assert text.exit_code == 1
        assert "unknown status: 'frozen' (2)" in text.stderr
        assert "Error: record 0 (A)" in text.stderr
        assert "and 2 more record(s) would be refused" in text.stderr
        assert as_json(run("list", "--json"))["items"] == []

    @pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
    def test_bad_line_names_it_and_changes_nothing(
        self, run: Run, tmp_path: Path, dry_run: list[str]
    ) -> None:
        """A bad JSON line exits 1 naming its line and record; the database is unchanged."""
        ok(run("init"))
        ok(run("open", "Already here"))
        good = {"title": "Fine", "reporter": "ann", "created": "2024-05-01T09:30:00Z"}
        bad = {**good, "status": "frozen", "source_id": "OLD-3"}
        lines = [json.dumps(good), json.dumps(good), json.dumps(bad)]
        (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        if dry_run:
            result = run("import", "in.jsonl", *dry_run)
            assert result.exit_code == 1
            assert "Error: record 2 (OLD-3): unknown state 'frozen'" in result.stderr
        else:
            refused(run("import", "in.jsonl", *dry_run), 1, "record 2", "OLD-3", "'frozen'")
        (tmp_path / "in.jsonl").write_text(lines[0] + "\n{oops\n", encoding="utf-8")
        refused(run("import", "in.jsonl", *dry_run), 1, "line 2 of in.jsonl", "not valid JSON")
        assert [t["title"] for t in as_json(run("list", "--json"))["items"]] == ["Already here"]

    def test_bad_csv_row(self, run: Run, tmp_path: Path) -> None:
        """A bad CSV row exits 1 naming its line; nothing is stored."""
        ok(run("init"))
        (tmp_path / "in.csv").write_text(
            "title,reporter,created\nA,ann,2024-05-01T09:30:00Z\nB,ann,yesterday\n",
            encoding="utf-8",
        )
        refused(run("import", "in.csv"), 1, "line 3 of in.csv", "'yesterday'")
        assert as_json(run("list", "--json"))["items"] == []

    def test_missing_file_and_bad_map(self, run: Run) -> None:
        """A file that is not there or a --map without = is a usage error (exit 2)."""
        ok(run("init"))
        assert run("import", "nosuch.jsonl").exit_code == 2
        assert run("import", "-", "--format", "csv", "--map", "x", input="").exit_code == 2


class TestExportRecord:
    def test_redacted_and_erased_tickets_export_and_import(self) -> None:
        """Redacted values export as "[redacted]", erased people as their pseudonym; both import."""
        from ticketkit._cli_records import export_record
        from ticketkit.access import Principal
        from ticketkit.importers import read_json

        tracker = ticketkit.Tracker.in_memory(prefix="HD", clock=ticketkit.FrozenClock())
        key = tracker.open("Printer", "call ann on 555", actor="ann@example.com").key
        tracker.update(key, description="call ann on 556", actor="bob")
        tracker.assign(key, "bob", actor="bob")
        admin = tracker.session(Principal(id="root", role="admin", tenant="default"))
        admin.redact_field(key, "description")
        pseudonym = admin.erase_person("ann@example.com")
        record = export_record(tracker.get(key), tracker.comments(key), tracker.history(key))
        assert (record["description"], record["reporter"]) == ("[redacted]", pseudonym)
        assert "555" not in json.dumps(record)
        copy = ticketkit.Tracker.in_memory(prefix="HD")
        copy.import_tickets(read_json(io.StringIO(json.dumps(record) + "\n")))
        ticket = copy.get("HD-1")
        assert (ticket.description, ticket.reporter, ticket.assignee) == (
            "[redacted]",
            pseudonym,
            "bob",
        )
        assert [(e.actor, e.field) for e in copy.history("HD-1")][1:] == [("bob", "assignee")]
