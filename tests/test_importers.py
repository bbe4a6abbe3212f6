"""Readers for import files: JSON Lines and CSV, read lazily with line numbers in errors."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ticketkit import FieldDef, Tracker, ValidationError
from ticketkit._bulk import import_tickets
from ticketkit._history import replay
from ticketkit.importers import ImportedChange, ImportedComment, ImportRecord, read_csv, read_json

TICKET: dict[str, Any] = {
    "source_id": "OLD-17",
    "title": "Printer on fire",
    "reporter": "ann",
    "created": "2024-05-01T09:30:00Z",
    "description": "Smoke.",
    "status": "resolved",
    "priority": "P2",
    "assignee": "bob",
    "tags": ["printer"],
    "fields": {"site": "Berlin"},
    "resolution": "fixed",
    "watchers": ["carl"],
    "history": [
        {
            "actor": "bob",
            "at": "2024-05-01T10:00:00Z",
            "field": "assignee",
            "old": None,
            "new": "bob",
        },
        {
            "actor": "bob",
            "at": "2024-05-01T11:00:00+01:00",
            "field": "status",
            "old": "new",
            "new": "resolved",
        },
        {"actor": "bob", "at": "2024-05-01T10:00:00Z", "field": "resolution", "new": "fixed"},
    ],
    "comments": [
        {
            "author": "bob",
            "body": "Put it out.",
            "created": "2024-05-01T10:30:00Z",
            "internal": True,
        }
    ],
}
T = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def jsonl(*objects: object) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)


class TestReadJson:
    def test_reads_every_key(self, tmp_path: Path) -> None:
        """One record per line with its history and comments."""
        path = tmp_path / "t.jsonl"
        path.write_text(jsonl(TICKET), encoding="utf-8")
        [record] = read_json(path)
        assert record == ImportRecord(
            source_id="OLD-17",
            title="Printer on fire",
            reporter="ann",
            created=T,
            description="Smoke.",
            status="resolved",
            priority="P2",
            assignee="bob",
            tags=["printer"],
            fields={"site": "Berlin"},
            resolution="fixed",
            history=[
                ImportedChange("bob", T + timedelta(minutes=30), "assignee", None, "bob"),
                ImportedChange(
                    "bob",
                    datetime(2024, 5, 1, 11, tzinfo=timezone(timedelta(hours=1))),
                    "status",
                    "new",
                    "resolved",
                ),
                ImportedChange("bob", T + timedelta(minutes=30), "resolution", None, "fixed"),
            ],
            comments=[ImportedComment("bob", "Put it out.", T + timedelta(hours=1), True)],
            watchers=["carl"],
        )

    def test_text_and_binary_files_and_blank_lines(self) -> None:
        """Open files work, text or UTF-8 bytes; blank lines are skipped."""
        text = jsonl(TICKET) + "\n   \n" + jsonl({**TICKET, "source_id": "OLD-18"})
        assert [r.source_id for r in read_json(io.StringIO(text))] == ["OLD-17", "OLD-18"]
        raw = io.BytesIO(text.encode())
        assert [r.source_id for r in read_json(raw)] == ["OLD-17", "OLD-18"]
        assert not raw.closed

    def test_reads_lazily(self) -> None:
        """The first record comes before later lines are read: a bad line 3 is not seen yet."""
        records = read_json(io.StringIO(jsonl(TICKET, TICKET) + "{oops\n"))
        assert next(records).title == "Printer on fire"
        next(records)
        with pytest.raises(ValidationError, match="line 3"):
            next(records)

    @pytest.mark.parametrize(
        ("line", "words", "field"),
        [
            ("{oops", "not valid JSON", None),
            ("[1, 2]", "must be a JSON object", None),
            (json.dumps({"title": "x", "reporter": "ann"}), "has no created", "created"),
            (json.dumps({**TICKET, "titel": "x"}), "unknown keys titel", "titel"),
            (json.dumps({**TICKET, "created": "2024-05-01 09:30"}), "no UTC offset", "created"),
            (json.dumps({**TICKET, "created": "yesterday"}), "not an ISO 8601 time", "created"),
            (json.dumps({**TICKET, "tags": "a b"}), "tags must be a JSON list", "tags"),
            (
                json.dumps({**TICKET, "history": [{"actor": "bob", "field": "status"}]}),
                "history[0] has no at",
                "at",
            ),
        ],
    )
    def test_bad_lines_name_their_number(self, line: str, words: str, field: str | None) -> None:
        source = io.StringIO(jsonl(TICKET) + "\n" + line + "\n")
        source.name = "old.jsonl"
        with pytest.raises(ValidationError) as caught:
            list(read_json(source))
        assert str(caught.value).startswith("line 3 of old.jsonl: ")
        assert words in str(caught.value)
        assert caught.value.field == field

    def test_imports_with_history_that_replays(self) -> None:
        """What read_json gives imports, and the history replays to the ticket."""
        tracker = Tracker.in_memory(fields=[FieldDef("site", "text")])
        report = import_tickets(tracker, read_json(io.StringIO(jsonl(TICKET))))
        key = report.keys["OLD-17"]
        assert replay(tracker.history(key)) == tracker.get(key)
        assert [e.actor for e in tracker.history(key)] == ["ann", "bob", "bob", "bob", "bob"]


CSV = """\
Summary,Details,Opened by,Opened,State,Prio,Owner,Labels,Site,Hours,Urgent,Areas,Ignored
Mail down,"Since
this morning",ann,2024-05-01T09:30:00Z,open,P1,bob,"mail, outage",Berlin,3,yes,"net, mail",x
Printer,,carl,2024-05-02T09:30:00+02:00,,,,,,,,,
"""
MAPPING: dict[str, str | None] = {
    "Summary": "title",
    "Details": "description",
    "Opened by": "reporter",
    "Opened": "created",
    "State": "status",
    "Prio": "priority",
    "Owner": "assignee",
    "Labels": "tags",
    "Site": "field:site",
    "Hours": "field:hours",
    "Urgent": "field:urgent",
    "Areas": "field:areas",
    "Ignored": None,
}
CSV_FIELDS = [
    FieldDef("site", "text"),
    FieldDef("hours", "int"),
    FieldDef("urgent", "bool"),
    FieldDef("areas", "multi_choice", choices=("net", "mail", "print")),
]


class TestReadCsv:
    def test_reads_rows_with_a_mapping_and_field_types(self) -> None:
        """Columns are renamed, tags split, custom fields read as their types."""
        first, second = read_csv(io.StringIO(CSV), mapping=MAPPING, fields=CSV_FIELDS)
        assert first == ImportRecord(
            title="Mail down",
            description="Since\nthis morning",
            reporter="ann",
            created=T,
            status="open",
            priority="P1",
            assignee="bob",
            tags=["mail", "outage"],
            fields={"site": "Berlin", "hours": 3, "urgent": True, "areas": ["net", "mail"]},
        )
        assert second == ImportRecord(
            title="Printer",
            reporter="carl",
            created=datetime(2024, 5, 2, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        )

    def test_default_column_names_and_paths(self, tmp_path: Path) -> None:
        """Without a mapping the columns are ticketkit's own names; fields stay text."""
        path = tmp_path / "t.csv"
        path.write_text(
            "title,reporter,created,tags,field:site,source_id\n"
            "A,ann,2024-05-01T09:30:00Z,a b,Bonn,X-1\n",
            encoding="utf-8",
        )
        [record] = read_csv(path)
        assert (record.tags, dict(record.fields), record.source_id) == (
            ("a", "b"),
            {"site": "Bonn"},
            "X-1",
        )

    def test_imports(self) -> None:
        tracker = Tracker.in_memory(fields=CSV_FIELDS)
        records = read_csv(io.StringIO(CSV), mapping=MAPPING, fields=tracker.config.fields)
        assert import_tickets(tracker, records).imported == 2
        ticket = tracker.get("TK-1")
        assert (ticket.status, ticket.fields["areas"]) == ("open", ("net", "mail"))
        assert replay(tracker.history("TK-1")) == ticket

    @pytest.mark.parametrize(
        ("text", "words", "field"),
        [
            (
                "title,reporter,created,colour\n",
                "line 1 of t.csv: unknown column 'colour'",
                "colour",
            ),
            ("title,reporter\n", "line 1 of t.csv: no created column", "created"),
            ("title,title,reporter,created\n", "two columns hold title", "title"),
        ],
    )
    def test_bad_headers(self, text: str, words: str, field: str) -> None:
        source = io.StringIO(text)
        source.name = "t.csv"
        with pytest.raises(ValidationError) as caught:
            list(read_csv(source))
        assert words in str(caught.value)
        assert caught.value.field == field

    @pytest.mark.parametrize(
        ("row", "words", "field"),
        [
            (",ann,2024-05-01T09:30:00Z,1", "title must not be empty", "title"),
            ("A,ann,2024-05-01,1", "no UTC offset", "created"),
            ("A,ann,2024-05-01T09:30:00Z", "has 3 cells but the header names 4", None),
            ("A,ann,2024-05-01T09:30:00Z,many", "expects a whole number", "fields.hours"),
        ],
    )
    def test_bad_rows_name_their_line(self, row: str, words: str, field: str | None) -> None:
        """Line numbers count physical lines, so a quoted multi-line cell above shifts them."""
        text = 'title,reporter,created,field:hours\nA,ann,2024-05-01T09:30:00Z,"1\n"\n' + row + "\n"
        source = io.StringIO(text)
        source.name = "t.csv"
        with pytest.raises(ValidationError) as caught:
            list(read_csv(source, fields=[FieldDef("hours", "int")]))
        assert str(caught.value).startswith("line 4 of t.csv: ")
        assert words in str(caught.value)
        assert caught.value.field == field

    def test_blank_rows_and_empty_files(self) -> None:
        assert list(read_csv(io.StringIO(""))) == []
        text = "title,reporter,created\n\n,,\nA,ann,2024-05-01T09:30:00Z\n"
        assert [r.title for r in read_csv(io.StringIO(text))] == ["A"]
