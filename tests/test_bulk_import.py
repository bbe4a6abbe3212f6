"""Bulk import through ticketkit._bulk.import_tickets, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from databases import BACKENDS, fresh_database
from ticketkit import EventType, FieldDef, Priority, Tracker, ValidationError
from ticketkit._bulk import import_tickets
from ticketkit._history import replay
from ticketkit.importers import ImportedChange, ImportedComment, ImportRecord, ImportRecordError

T0 = datetime(2023, 6, 1, 8, 0, tzinfo=UTC)
FIELDS = [
    FieldDef("site", "text"),
    FieldDef("cost", "decimal"),
    FieldDef("due", "date"),
    FieldDef("areas", "multi_choice", choices=("net", "mail", "print")),
]
SETTINGS: dict[str, Any] = {
    "queues": {"support": "HD", "bugs": "BUG"},
    "default_queue": "support",
    "fields": FIELDS,
}


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


@pytest.fixture(params=("memory", *BACKENDS))
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    if request.param == "memory":
        yield Tracker.in_memory(**SETTINGS)
        return
    with fresh_database(request.param, tmp_path) as url:
        tracker = Tracker.from_url(url, **SETTINGS)
        try:
            yield tracker
        finally:
            tracker.close()


def full_record(n: int = 0) -> ImportRecord:
    """A resolved ticket with a status, assignee and field history and two comments."""
    return ImportRecord(
        source_id=f"OLD-{n}",
        title=f"Printer {n} on fire",
        description="Smoke everywhere.\nSend help.",
        reporter="ann@example.com",
        created=hours(0),
        status="resolved",
        priority="P2",
        assignee="bob",
        tags=["printer", "Fire"],
        fields={"site": "Berlin", "cost": "12.50", "due": "2023-06-09", "areas": ["print"]},
        resolution="fixed",
        history=[
            ImportedChange("carl", hours(1), "assignee", None, "dave"),
            ImportedChange("dave", hours(2), "status", "new", "open"),
            ImportedChange("dave", hours(3), "fields.site", "Bonn", "Berlin"),
            ImportedChange("carl", hours(4), "assignee", "dave", "bob"),
            ImportedChange("bob", hours(6), "status", "open", "resolved"),
            ImportedChange("bob", hours(6), "resolution", None, "fixed"),
        ],
        comments=[
            ImportedComment("bob", "Looking.", hours(2.5), internal=True),
            ImportedComment("ann@example.com", "Thanks!", hours(7)),
        ],
    )


def plain(n: int, **changes: Any) -> ImportRecord:
    values: dict[str, Any] = {
        "title": f"Ticket {n}",
        "reporter": "ann",
        "created": hours(n),
        "source_id": f"S{n}",
    }
    values.update(changes)
    return ImportRecord(**values)


def stored_count(tracker: Tracker) -> int:
    return len(tracker.query({}, limit=1000).items)


class TestRoundTrip:
    def test_history_replays_to_the_stored_ticket(self, tracker: Tracker) -> None:
        """replay(history) equals the stored ticket for every imported ticket."""
        report = import_tickets(tracker, [full_record(n) for n in range(4)])
        assert report.imported == 4
        for key in report.keys.values():
            assert replay(tracker.history(key)) == tracker.get(key)

    def test_values_are_the_records(self, tracker: Tracker) -> None:
        """The stored ticket holds the record's current values."""
        key = import_tickets(tracker, [full_record()]).keys["OLD-0"]
        ticket = tracker.get(key)
        assert (ticket.status, ticket.assignee, ticket.resolution) == ("resolved", "bob", "fixed")
        assert ticket.priority is Priority.P2
        assert ticket.tags == {"printer", "fire"}
        assert dict(ticket.fields) == {
            "areas": ("print",),
            "cost": __import__("decimal").Decimal("12.50"),
            "due": date(2023, 6, 9),
            "site": "Berlin",
        }
        assert (ticket.created, ticket.updated, ticket.resolved_at) == (T0, hours(7), hours(6))
        assert ticket.version == len(tracker.history(key))

    def test_events_keep_their_actors_and_times(self, tracker: Tracker) -> None:
        """Opened by the reporter at created, then each change and comment in time order."""
        key = import_tickets(tracker, [full_record()]).keys["OLD-0"]
        seen = [(e.type, e.actor, e.at, e.field) for e in tracker.history(key)]
        assert seen == [
            (EventType.OPENED, "ann@example.com", hours(0), None),
            (EventType.ASSIGNED, "carl", hours(1), "assignee"),
            (EventType.STATUS_CHANGED, "dave", hours(2), "status"),
            (EventType.COMMENTED, "bob", hours(2.5), None),
            (EventType.FIELD_CHANGED, "dave", hours(3), "fields.site"),
            (EventType.ASSIGNED, "carl", hours(4), "assignee"),
            (EventType.STATUS_CHANGED, "bob", hours(6), "status"),
            (EventType.FIELD_CHANGED, "bob", hours(6), "resolution"),
            (EventType.COMMENTED, "ann@example.com", hours(7), None),
        ]
        assert [e.version for e in tracker.history(key)] == list(range(1, 10))

    def test_opened_event_holds_the_first_state_and_source_id(self, tracker: Tracker) -> None:
        """The snapshot is the ticket as first opened, worked back through the history."""
        key = import_tickets(tracker, [full_record()]).keys["OLD-0"]
        opened = tracker.history(key)[0]
        assert opened.data["source_id"] == "OLD-0"
        first = opened.data["ticket"]
        assert (first["status"], first["assignee"], first["resolution"]) == ("new", None, None)
        assert first["fields"]["site"] == "Bonn"

    def test_comments_in_order_with_their_events(self, tracker: Tracker) -> None:
        """Comments keep author, time and visibility; their events point at them."""
        key = import_tickets(tracker, [full_record()]).keys["OLD-0"]
        comments = tracker.comments(key)
        assert [(c.author, c.body, c.created, c.internal) for c in comments] == [
            ("bob", "Looking.", hours(2.5), True),
            ("ann@example.com", "Thanks!", hours(7), False),
        ]
        events = [e for e in tracker.history(key) if e.type is EventType.COMMENTED]
        assert [e.data["comment_id"] for e in events] == [c.id for c in comments]

    def test_as_of_sees_the_imported_past(self, tracker: Tracker) -> None:
        """as_of rebuilds the ticket at a time inside the imported history."""
        key = import_tickets(tracker, [full_record()]).keys["OLD-0"]
        then = tracker.as_of(key, hours(3.5))
        assert (then.status, then.assignee, then.fields["site"]) == ("open", "dave", "Berlin")

    def test_keys_continue_the_trackers_sequence(self, tracker: Tracker) -> None:
        """Imported tickets get fresh keys after those already given out, per queue prefix."""
        tracker.open("Before", actor="ann")
        records = [plain(1), plain(2, queue="bugs"), plain(3), plain(4, queue="bugs")]
        report = import_tickets(tracker, records)
        assert dict(report.keys) == {"S1": "HD-2", "S2": "BUG-1", "S3": "HD-3", "S4": "BUG-2"}
        assert tracker.open("After", actor="ann").key == "HD-4"
        for key in report.keys.values():
            assert replay(tracker.history(key)) == tracker.get(key)

    def test_status_defaults(self, tracker: Tracker) -> None:
        """No status: the history's last, else the initial state; a closed one is resolved."""
        records = [
            plain(1),
            plain(2, history=[ImportedChange("bob", hours(3), "status", "new", "open")]),
            plain(3, status="closed"),
        ]
        keys = import_tickets(tracker, records).keys
        assert tracker.get(keys["S1"]).status == "new"
        assert tracker.get(keys["S2"]).status == "open"
        closed = tracker.get(keys["S3"])
        assert (closed.status, closed.resolved_at, closed.version) == ("closed", hours(3), 1)

    def test_imported_tickets_work_like_any_other(self, tracker: Tracker) -> None:
        """An imported ticket takes further changes through the tracker."""
        key = import_tickets(tracker, [plain(1, status="open")]).keys["S1"]
        tracker.transition(key, "resolve", actor="bob")
        tracker.comment(key, "Done", actor="bob")
        assert replay(tracker.history(key)) == tracker.get(key)
        assert tracker.get(key).version == 3


class TestBatches:
    def test_progress_after_each_batch(self, tracker: Tracker) -> None:
        """batch_size=3 over 10 records: four batches, progress with running counts."""
        calls: list[tuple[int, int | None]] = []
        report = import_tickets(
            tracker,
            [plain(n) for n in range(10)],
            batch_size=3,
            progress=lambda done, total: calls.append((done, total)),
        )
        assert calls == [(3, 10), (6, 10), (9, 10), (10, 10)]
        assert (report.imported, report.batches) == (10, 4)
        assert stored_count(tracker) == 10

    def test_generator_input_streams(self, tracker: Tracker) -> None:
        """A generator is read one batch ahead at most; total is None."""
        pulled: list[int] = []

        def records() -> Iterator[ImportRecord]:
            for n in range(7):
                pulled.append(n)
                yield plain(n)

        calls: list[tuple[int, int | None, int]] = []
        import_tickets(
            tracker,
            records(),
            batch_size=3,
            progress=lambda done, total: calls.append((done, total, len(pulled))),
        )
        assert calls == [(3, None, 3), (6, None, 6), (7, None, 7)]

    def test_a_batch_boundary_at_the_end(self, tracker: Tracker) -> None:
        """When the records end with a full batch, no empty batch follows."""
        calls: list[int] = []
        report = import_tickets(
            tracker,
            (plain(n) for n in range(6)),
            batch_size=3,
            progress=lambda d, t: calls.append(d),
        )
        assert (calls, report.batches) == ([3, 6], 2)

    def test_no_records(self, tracker: Tracker) -> None:
        report = import_tickets(tracker, [])
        assert (report.imported, report.batches, dict(report.keys)) == (0, 0, {})

    def test_bad_record_in_batch_two_keeps_batch_one(self, tracker: Tracker) -> None:
        """The import stops at the bad record: batch 1 kept, nothing of batch 2 stored."""
        records = [plain(n) for n in range(10)]
        records[4] = plain(4, title="   ")
        with pytest.raises(ImportRecordError) as caught:
            import_tickets(tracker, records, batch_size=3)
        error = caught.value
        assert (error.index, error.source_id, error.field) == (4, "S4", "title")
        assert "record 4 (source_id 'S4')" in str(error)
        assert "title" in str(error)
        assert (error.report.imported, error.report.batches) == (3, 1)
        assert dict(error.report.keys) == {"S0": "HD-1", "S1": "HD-2", "S2": "HD-3"}
        assert stored_count(tracker) == 3
        assert tracker.open("Next", actor="ann").key == "HD-4"

    def test_storage_failure_rolls_back_only_its_batch(self, tracker: Tracker) -> None:
        """A store failure in batch 2 undoes batch 2 alone and says what was kept."""
        failing = _FailOnBatch(tracker, 2)
        with pytest.raises(RuntimeError, match="disk on fire") as caught:
            import_tickets(failing.tracker, [plain(n) for n in range(7)], batch_size=3)
        assert any("the 3 records before this batch" in n for n in caught.value.__notes__)
        assert stored_count(tracker) == 3
        assert tracker.open("Next", actor="ann").key == "HD-4"

    def test_batch_size_must_be_positive(self, tracker: Tracker) -> None:
        with pytest.raises(ValidationError, match="batch_size"):
            import_tickets(tracker, [plain(1)], batch_size=0)


class _FailOnBatch:
    """The tracker's store, whose n-th transaction fails after writing tickets."""

    def __init__(self, tracker: Tracker, n: int) -> None:
        self.store = tracker.store
        self.n = n
        self.count = 0
        self.tracker = Tracker(self, config=tracker.config)  # type: ignore[arg-type]

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.count += 1
        with self.store.transaction() as tx:
            yield _FailingTx(tx) if self.count == self.n else tx


class _FailingTx:
    def __init__(self, tx: Any) -> None:
        self._tx = tx

    def __getattr__(self, name: str) -> Any:
        if name in ("add_events", "insert_events", "add_events_many"):
            raise RuntimeError("disk on fire")
        return getattr(self._tx, name)


def _error(tracker: Tracker, record: Any) -> ImportRecordError:
    with pytest.raises(ImportRecordError) as caught:
        import_tickets(tracker, [plain(0), record])
    assert caught.value.index == 1
    assert stored_count(tracker) == 0
    return caught.value


class TestRefusedRecords:
    """Each bad record raises ImportRecordError naming the record and field; nothing stored."""

    @pytest.mark.parametrize(
        ("changes", "field", "words"),
        [
            ({"status": "frozen"}, "status", "unknown state 'frozen'"),
            ({"reporter": ""}, "reporter", "reporter must not be empty"),
            ({"created": datetime(2023, 1, 1)}, "created", "naive"),
            ({"priority": "P9"}, "priority", "unknown priority"),
            ({"queue": "nope"}, "queue", "unknown queue"),
            ({"fields": {"colour": "red"}}, "fields.colour", "unknown custom field"),
            ({"fields": {"areas": ["food"]}}, "fields.areas", "must be one of"),
            (
                {"history": [ImportedChange("bob", hours(-1), "status", "new", "open")]},
                "history[0].at",
                "before the ticket was created",
            ),
            (
                {"history": [ImportedChange("bob", hours(2), "watchers", [], ["x"])]},
                "history[0].field",
                "cannot record changes to 'watchers'",
            ),
            (
                {
                    "history": [
                        ImportedChange("bob", hours(2), "status", "new", "open"),
                        ImportedChange("bob", hours(3), "status", "new", "resolved"),
                    ]
                },
                "history[1].old",
                "must be the value the previous change left",
            ),
            (
                {
                    "status": "resolved",
                    "history": [ImportedChange("bob", hours(2), "status", "new", "open")],
                },
                "status",
                "history leaves status at 'open' but the record says 'resolved'",
            ),
            (
                {"history": [ImportedChange("", hours(2), "assignee", None, "bob")]},
                "history[0].actor",
                "actor must not be empty",
            ),
            (
                {"comments": [ImportedComment("bob", "  ", hours(2))]},
                "comments[0]",
                "comment must not be empty",
            ),
            ({"source_id": "S0"}, "source_id", "already used"),
        ],
    )
    def test_refused(
        self, tracker: Tracker, changes: dict[str, Any], field: str, words: str
    ) -> None:
        error = _error(tracker, plain(1, **changes))
        assert error.field == field
        assert words in str(error)
        assert "record 1" in str(error)

    def test_not_a_record(self, tracker: Tracker) -> None:
        error = _error(tracker, {"title": "x"})
        assert "not an ImportRecord" in str(error)

    def test_a_readers_error_stops_the_import(self, tracker: Tracker) -> None:
        """A ValidationError from the input iterator becomes an ImportRecordError."""

        def records() -> Iterator[ImportRecord]:
            yield plain(0)
            raise ValidationError("line 2 of x.jsonl: not valid JSON", field=None)

        with pytest.raises(ImportRecordError, match=r"line 2 of x\.jsonl") as caught:
            import_tickets(tracker, records())
        assert caught.value.index == 1
        assert stored_count(tracker) == 0

    def test_tags_as_one_string_are_refused_when_built(self) -> None:
        with pytest.raises(ValidationError, match="single string"):
            plain(1, tags="a b")


@pytest.mark.parametrize("backend", BACKENDS)
def test_sql_bulk_methods_match_the_single_ones(backend: str, tmp_path: Path) -> None:
    """create_tickets, add_events_many and add_comments give ids in order, keys in sequence."""
    from ticketkit import Comment, Event
    from ticketkit.storage.sql import SQLStore, open_store

    with fresh_database(backend, tmp_path) as url:
        store = open_store(url)
        assert isinstance(store, SQLStore)
        try:
            tracker = Tracker(store)
            draft = tracker.open("seed", actor="ann")
            with store.transaction() as tx:
                made = tx.create_tickets([evolve_draft(draft, f"T{i}") for i in range(3)], "TK")
                assert [t.key for t in made] == ["TK-2", "TK-3", "TK-4"]
                notes = tx.add_comments(
                    [Comment(0, t.id, t.key, "bob", f"c{t.id}", T0) for t in made]
                )
                added = tx.add_events_many(
                    [Event(t.id, t.key, 1, EventType.OPENED, "ann", T0) for t in made]
                )
            assert [n.id for n in notes] == sorted(n.id for n in notes)
            assert [e.id for e in added] == sorted({e.id for e in added})
            for ticket, note in zip(made, notes, strict=True):
                assert store.get_ticket(ticket.key) == ticket
                assert store.comments(ticket.id) == [note]
        finally:
            store.close()


def evolve_draft(ticket: Any, title: str) -> Any:
    from attrs import evolve

    return evolve(ticket, id=0, key="", title=title)
