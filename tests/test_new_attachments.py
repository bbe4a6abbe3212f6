"""Files stored in the same write as a new ticket, a comment or a workflow action.

``attachments=`` on ``Tracker.open``, ``Tracker.comment`` and
``Tracker.transition`` keeps the change and its files together or not at all,
on every store; the files are checked as ``Tracker.attach`` checks them,
before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from databases import fresh_database
from faults import Boom, FailOn, hook
from ticketkit import (
    DuplicateReference,
    EventType,
    FrozenClock,
    NewAttachment,
    PermissionDenied,
    Tracker,
    TransitionNotAllowed,
    ValidationError,
)
from ticketkit._history import replay
from ticketkit.access import DEFAULT_RULES, Principal, Role, RolePolicy

BACKENDS = ("memory", "sqlite", "postgresql", "mysql")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LOG = NewAttachment("log.txt", b"line 1\nline 2\n")
SHOT = NewAttachment("screen.png", b"\x89PNG fake", media_type="Image/PNG")
BLOB = NewAttachment("core", b"\x00\x01\x02")


def make_tracker(url: str | None) -> Tracker:
    settings: dict[str, Any] = {
        "clock": FrozenClock(START),
        "workflow": "helpdesk",
        "queues": {"support": "HD"},
        "default_queue": "support",
        "max_attachment_size": 64,
    }
    return Tracker.in_memory(**settings) if url is None else Tracker.from_url(url, **settings)


@pytest.fixture(params=BACKENDS)
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    if request.param == "memory":
        yield make_tracker(None)
        return
    with fresh_database(request.param, tmp_path) as url, make_tracker(url) as tracker:
        yield tracker


@pytest.fixture
def memory() -> Tracker:
    return make_tracker(None)


def stored(tracker: Tracker, key: str) -> list[tuple[str, str, bytes]]:
    return [
        (a.filename, a.media_type, tracker.attachment_content(a.id))
        for a in tracker.attachments(key)
    ]


def everything(tracker: Tracker) -> dict[str, Any]:
    """What the tracker holds, through the public API."""
    keys = [t.key for t in tracker.query(None, limit=100).items]
    return {
        "tickets": [tracker.get(k) for k in keys],
        "history": {k: tracker.history(k) for k in keys},
        "comments": {k: tracker.comments(k) for k in keys},
        "attachments": {k: stored(tracker, k) for k in keys},
    }


def assert_replays(tracker: Tracker, key: str) -> None:
    assert replay(tracker.history(key)) == tracker.get(key)


class TestOpenWithAttachments:
    def test_the_ticket_and_its_files_are_one_write_at_version_1(self, tracker: Tracker) -> None:
        """Each file is stored with an attachment_added event at the opened version."""
        ticket = tracker.open("Crash", actor="bob", attachments=[LOG, SHOT, BLOB])
        assert ticket.version == 1
        assert stored(tracker, ticket.key) == [
            ("log.txt", "text/plain", LOG.content),
            ("screen.png", "image/png", SHOT.content),
            ("core", "application/octet-stream", BLOB.content),
        ]
        history = tracker.history(ticket.key)
        assert [(e.type, e.version) for e in history] == [
            (EventType.OPENED, 1),
            *[(EventType.ATTACHMENT_ADDED, 1)] * 3,
        ]
        metas = tracker.attachments(ticket.key)
        assert [dict(e.data) for e in history[1:]] == [
            {
                "attachment_id": m.id,
                "filename": m.filename,
                "media_type": m.media_type,
                "size": m.size,
                "sha256": hashlib.sha256(tracker.attachment_content(m.id)).hexdigest(),
            }
            for m in metas
        ]
        assert {m.uploaded_by for m in metas} == {"bob"}
        assert_replays(tracker, ticket.key)
        assert tracker.as_of(ticket.key, START) == tracker.get(ticket.key)

    def test_no_attachments_is_the_plain_open(self, tracker: Tracker) -> None:
        """An empty list stores the ticket alone, exactly as before."""
        ticket = tracker.open("Plain", actor="bob", attachments=[])
        assert [e.type for e in tracker.history(ticket.key)] == [EventType.OPENED]
        assert tracker.attachments(ticket.key) == []

    def test_a_failure_after_the_ticket_was_created_leaves_nothing(self, tracker: Tracker) -> None:
        """The store fails at the second file: no ticket, no file, no reference, no key used."""
        tracker.open("Before", actor="bob")
        before = everything(tracker)
        failure = FailOn("add_attachment", nth=2)
        hook(tracker, failure)
        with pytest.raises(Boom):
            tracker.open("Crash", actor="bob", reference="mail:<x@y>", attachments=[LOG, SHOT])
        assert failure.failed == 1
        assert everything(tracker) == before
        assert tracker.by_reference("mail:<x@y>") is None
        failure.disarm()
        again = tracker.open("Crash", actor="bob", reference="mail:<x@y>", attachments=[LOG, SHOT])
        assert len(stored(tracker, again.key)) == 2
        with pytest.raises(DuplicateReference):
            tracker.open("Crash", actor="bob", reference="mail:<x@y>", attachments=[LOG, SHOT])
        assert len(tracker.query(None).items) == 2
        assert len(stored(tracker, again.key)) == 2


class TestCommentWithAttachments:
    def test_the_comment_and_its_files_share_one_version(self, tracker: Tracker) -> None:
        """One comment with two files raises the version by one, like any one change."""
        key = tracker.open("Crash", actor="bob").key
        comment = tracker.comment(key, "Logs attached", actor="bob", attachments=[LOG, SHOT])
        assert comment.body == "Logs attached"
        assert tracker.get(key).version == 2
        assert [(e.type, e.version) for e in tracker.history(key)[1:]] == [
            (EventType.COMMENTED, 2),
            (EventType.ATTACHMENT_ADDED, 2),
            (EventType.ATTACHMENT_ADDED, 2),
        ]
        assert [name for name, _, _ in stored(tracker, key)] == ["log.txt", "screen.png"]
        assert_replays(tracker, key)

    def test_a_failure_part_way_adds_neither_comment_nor_files(self, tracker: Tracker) -> None:
        """The second file fails: the comment, the first file and the reference are gone too."""
        key = tracker.open("Crash", actor="bob").key
        before = everything(tracker)
        failure = FailOn("add_attachment", nth=2)
        hook(tracker, failure)
        with pytest.raises(Boom):
            tracker.comment(
                key, "Logs", actor="bob", reference="mail:<c@y>", attachments=[LOG, BLOB]
            )
        assert everything(tracker) == before
        assert tracker.by_reference("mail:<c@y>") is None
        failure.disarm()
        tracker.comment(key, "Logs", actor="bob", reference="mail:<c@y>", attachments=[LOG, BLOB])
        with pytest.raises(DuplicateReference):
            tracker.comment(key, "Logs", actor="bob", reference="mail:<c@y>", attachments=[LOG])
        assert len(tracker.comments(key)) == 1
        assert len(stored(tracker, key)) == 2


class TestTransitionWithCommentAndAttachments:
    def test_action_comment_and_files_are_one_change(self, tracker: Tracker) -> None:
        """status_changed, commented and attachment_added all carry the one new version."""
        key = tracker.open("Crash", actor="bob").key
        tracker.transition(key, "start", actor="alice")
        tracker.transition(key, "wait_for_customer", actor="alice")
        after = tracker.transition(
            key,
            "customer_replied",
            actor="bob",
            comment="Here it is",
            reference="mail:<t@y>",
            attachments=[LOG],
        )
        assert (after.status, after.version) == ("open", 4)
        last = [e for e in tracker.history(key) if e.version == 4]
        assert [e.type for e in last] == [
            EventType.STATUS_CHANGED,
            EventType.COMMENTED,
            EventType.ATTACHMENT_ADDED,
        ]
        assert last[1].data["reference"] == "mail:<t@y>"
        found = tracker.by_reference("mail:<t@y>")
        assert found is not None
        assert found.key == key
        assert_replays(tracker, key)

    def test_a_used_reference_changes_nothing(self, tracker: Tracker) -> None:
        """The same reference again is a DuplicateReference: no action, no comment, no file."""
        key = tracker.open("Crash", actor="bob", reference="mail:<o@y>").key
        before = everything(tracker)
        with pytest.raises(DuplicateReference, match=key):
            tracker.transition(
                key,
                "start",
                actor="bob",
                comment="again",
                reference="mail:<o@y>",
                attachments=[LOG],
            )
        assert everything(tracker) == before

    def test_a_refused_action_stores_no_comment_or_file(self, tracker: Tracker) -> None:
        """TransitionNotAllowed rolls back the comment, its reference and the files."""
        key = tracker.open("Crash", actor="bob").key
        before = everything(tracker)
        with pytest.raises(TransitionNotAllowed):
            tracker.transition(
                key, "close", actor="bob", comment="x", reference="mail:<r@y>", attachments=[LOG]
            )
        assert everything(tracker) == before
        assert tracker.by_reference("mail:<r@y>") is None

    def test_a_failure_part_way_leaves_the_ticket_as_it_was(self, tracker: Tracker) -> None:
        """The store fails at the file: the status, the comment and the reference stay unwritten."""
        key = tracker.open("Crash", actor="bob").key
        tracker.transition(key, "resolve", actor="alice")
        before = everything(tracker)
        failure = FailOn("add_attachment")
        hook(tracker, failure)
        with pytest.raises(Boom):
            tracker.transition(
                key, "reopen", actor="bob", comment="x", reference="mail:<f@y>", attachments=[LOG]
            )
        assert everything(tracker) == before
        assert tracker.get(key).status == "resolved"


class TestRefusedAttachments:
    @pytest.mark.parametrize(
        ("files", "says", "field"),
        [
            ([LOG, NewAttachment("../passwd", b"x")], "'../passwd'", "filename"),
            ([LOG, NewAttachment("big.bin", b"x" * 65)], "'big.bin' is 65 bytes", "content"),
            ([NewAttachment("a.txt", "text")], "'a.txt'", "content"),  # type: ignore[arg-type]
            ([NewAttachment("a.txt", b"", media_type="text")], "'a.txt'", "media_type"),
            ([LOG, ("b.txt", b"x")], "attachment 2", "attachments"),
            (LOG, "[NewAttachment(...)]", "attachments"),
            (b"bytes", "bytes", "attachments"),
        ],
    )
    def test_one_bad_file_refuses_the_whole_write(
        self, memory: Tracker, files: Any, says: str, field: str
    ) -> None:
        """open, comment and transition name the bad file and change nothing."""
        key = memory.open("Crash", actor="bob").key
        before = everything(memory)
        calls = [
            lambda: memory.open("New", actor="bob", attachments=files),
            lambda: memory.comment(key, "x", actor="bob", attachments=files),
            lambda: memory.transition(key, "start", actor="bob", attachments=files),
        ]
        for call in calls:
            with pytest.raises(ValidationError) as caught:
                call()
            assert says in str(caught.value)
            assert caught.value.field == field
        assert everything(memory) == before

    def test_a_reference_needs_a_comment_on_a_transition(self, memory: Tracker) -> None:
        """reference= names the transition's comment; without one it is refused."""
        key = memory.open("Crash", actor="bob").key
        with pytest.raises(ValidationError, match="comment=") as caught:
            memory.transition(key, "start", actor="bob", reference="mail:<a@b>")
        assert caught.value.field == "reference"
        assert memory.get(key).status == "new"

    def test_the_repr_shows_the_size_not_the_bytes(self) -> None:
        """A megabyte of content does not end up in logs and error messages."""
        big = NewAttachment("dump.bin", b"x" * 1_000_000)
        assert (
            repr(big)
            == "NewAttachment(filename='dump.bin', content=<1000000 bytes>, media_type=None)"
        )


class TestSessions:
    def customer(self, tracker: Tracker, *, attach: bool) -> Any:
        rules = DEFAULT_RULES[Role.CUSTOMER]
        policy = RolePolicy(
            {**DEFAULT_RULES, Role.CUSTOMER: rules if attach else rules.revoke("attach")}
        )
        return tracker.session(Principal("bob", Role.CUSTOMER, "default"), policy=policy)

    def test_a_customer_may_open_and_comment_with_files(self, memory: Tracker) -> None:
        """With attach granted, the files go in with the ticket and with the reply."""
        session = self.customer(memory, attach=True)
        key = session.open("Crash", attachments=[LOG]).key
        session.comment(key, "More", attachments=[BLOB])
        assert [a.filename for a in session.attachments(key)] == ["log.txt", "core"]

    def test_files_need_the_attach_permission(self, memory: Tracker) -> None:
        """Without attach, opening or replying with files is refused and changes nothing."""
        key = memory.open("Mine", actor="bob").key
        session = self.customer(memory, attach=False)
        before = everything(memory)
        with pytest.raises(PermissionDenied, match="'attach'"):
            session.open("Crash", attachments=[LOG])
        with pytest.raises(PermissionDenied, match=f"'attach'.*{key}"):
            session.comment(key, "More", attachments=[LOG])
        assert everything(memory) == before
        assert session.comment(key, "Words only").body == "Words only"

    def test_bad_files_are_refused_as_the_tracker_refuses_them(self, memory: Tracker) -> None:
        """A session checks the files as the tracker does, and writes nothing."""
        key = memory.open("Mine", actor="bob").key
        session = self.customer(memory, attach=True)
        before = everything(memory)
        with pytest.raises(ValidationError, match="attachment 1"):
            session.open("Crash", attachments=["log.txt"])
        with pytest.raises(ValidationError, match=r"'big\.bin' is 65 bytes"):
            session.comment(key, "x", attachments=[NewAttachment("big.bin", b"x" * 65)])
        assert everything(memory) == before
