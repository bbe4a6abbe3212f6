"""The Tracker facade on the memory store, as specifications."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ticketkit import (
    Condition,
    ConflictError,
    DuplicateReference,
    Event,
    EventType,
    FieldDef,
    FrozenClock,
    Impact,
    InvalidCursor,
    Link,
    LinkKind,
    NotFound,
    Op,
    Priority,
    Query,
    Ticket,
    TicketkitError,
    Tracker,
    TransitionNotAllowed,
    Urgency,
    ValidationError,
)
from ticketkit._history import replay
from ticketkit.storage.memory import MemoryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def tracker(clock: FrozenClock) -> Tracker:
    return Tracker.in_memory(clock=clock, prefix="HD")


def _types(tracker: Tracker, key: str) -> list[str]:
    return [e.type.value for e in tracker.history(key)]


def _last(tracker: Tracker, key: str) -> Event:
    return tracker.history(key)[-1]


class TestOpen:
    def test_opens_in_the_initial_state_at_version_one(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """A new ticket gets the next key, the workflow's initial status and version 1."""
        ticket = tracker.open("Mail is down", "Since 9:00", actor="bob")
        assert (ticket.key, ticket.id, ticket.status, ticket.version) == ("HD-1", 1, "new", 1)
        assert (ticket.title, ticket.description) == ("Mail is down", "Since 9:00")
        assert ticket.created == ticket.updated == clock.now()
        assert tracker.get("HD-1") == ticket
        assert tracker.get(ticket.id) == ticket

    def test_keys_count_up(self, tracker: Tracker) -> None:
        """Each ticket gets the next number after the previous one."""
        assert [tracker.open(f"t{i}", actor="bob").key for i in range(3)] == [
            "HD-1",
            "HD-2",
            "HD-3",
        ]

    def test_reporter_defaults_to_the_actor(self, tracker: Tracker) -> None:
        """The reporter is the actor unless given; the actor records the opened event."""
        assert tracker.open("a", actor="bob").reporter == "bob"
        ticket = tracker.open("b", actor="agent", reporter="customer@example.com")
        assert ticket.reporter == "customer@example.com"
        assert tracker.history(ticket.key)[0].actor == "agent"

    def test_normalises_what_it_is_given(self, tracker: Tracker) -> None:
        """Titles and names are stripped, tags lower-cased and de-duplicated."""
        ticket = tracker.open(
            "  Mail is down  ",
            actor=" bob ",
            assignee=" alice ",
            tags=["Email", "EMAIL", "urgent"],
            watchers=["carol", "carol"],
        )
        assert (ticket.title, ticket.reporter, ticket.assignee) == ("Mail is down", "bob", "alice")
        assert ticket.tags == frozenset({"email", "urgent"})
        assert ticket.watchers == frozenset({"carol"})

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"title": "   "}, "title"),
            ({"title": "two\nlines"}, "title"),
            ({"actor": ""}, "actor"),
            ({"tags": "urgent"}, "tags"),
            ({"tags": ["two words"]}, "tags"),
            ({"priority": "P0"}, "priority"),
            ({"queue": "nowhere"}, "queue"),
        ],
    )
    def test_refuses_bad_input_and_stores_nothing(
        self, tracker: Tracker, changes: dict[str, Any], field: str
    ) -> None:
        """Invalid input raises ValidationError naming the field, and uses up no key."""
        values: dict[str, Any] = {"title": "ok", "actor": "bob", **changes}
        with pytest.raises(ValidationError) as info:
            tracker.open(**values)
        assert info.value.field == field
        assert tracker.open("ok", actor="bob").key == "HD-1"

    def test_records_an_opened_event_with_a_snapshot(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """The opened event records actor, time, version 1 and the ticket's values."""
        ticket = tracker.open("Mail is down", actor="bob", tags=["email"], assignee="alice")
        (event,) = tracker.history(ticket.key)
        assert (event.type, event.actor, event.at, event.version) == (
            EventType.OPENED,
            "bob",
            clock.now(),
            1,
        )
        assert (event.ticket_id, event.ticket_key) == (ticket.id, "HD-1")
        snapshot = event.data["ticket"]
        assert (snapshot["title"], snapshot["tags"], snapshot["assignee"]) == (
            "Mail is down",
            ["email"],
            "alice",
        )
        assert replay([event]) == ticket

    @pytest.mark.parametrize(("workflow", "initial"), [("simple", "open"), ("bugtracker", "new")])
    def test_initial_status_comes_from_the_workflow(self, workflow: str, initial: str) -> None:
        """Each workflow decides the status a new ticket starts in."""
        tracker = Tracker.in_memory(workflow=workflow)
        assert tracker.open("x", actor="bob").status == initial

    def test_unknown_ticket_is_not_found(self, tracker: Tracker) -> None:
        """get raises NotFound for a key or id that names no ticket, ValidationError for junk."""
        tracker.open("x", actor="bob")
        for ref in ("HD-2", "BUG-1", 2, 0):
            with pytest.raises(NotFound):
                tracker.get(ref)
        with pytest.raises(ValidationError):
            tracker.get("not a key")
        assert tracker.get(" hd-1 ").key == "HD-1"


class TestTransition:
    def test_moves_the_ticket_and_records_the_action(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """An allowed action changes the status, bumps the version and records the change."""
        key = tracker.open("x", actor="bob").key
        clock.advance(minutes=5)
        ticket = tracker.transition(key, "start", actor="alice")
        assert (ticket.status, ticket.version, ticket.updated) == ("open", 2, clock.now())
        event = _last(tracker, key)
        assert (event.type, event.field, event.old, event.new) == (
            EventType.STATUS_CHANGED,
            "status",
            "new",
            "open",
        )
        assert (event.actor, event.at, event.version) == ("alice", clock.now(), 2)
        assert event.data["action"] == "start"

    def test_action_not_available_from_the_status_is_refused(self, tracker: Tracker) -> None:
        """TransitionNotAllowed carries the key, current status and action; nothing changes."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(TransitionNotAllowed) as info:
            tracker.transition(key, "close", actor="alice")
        assert (info.value.key, info.value.status, info.value.action) == (key, "new", "close")
        assert "resolve" in str(info.value)
        assert tracker.get(key).version == 1
        assert len(tracker.history(key)) == 1

    def test_unknown_action_is_a_validation_error(self, tracker: Tracker) -> None:
        """An action the workflow does not define raises ValidationError listing the actions."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError, match="known actions"):
            tracker.transition(key, "teleport", actor="alice")

    def test_resolving_sets_resolved_at_and_reopening_clears_it(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """resolved_at is set when a ticket is resolved, kept when closed, cleared on reopen."""
        key = tracker.open("x", actor="bob").key
        resolved_at = clock.advance(hours=1)
        assert tracker.transition(key, "resolve", actor="alice").resolved_at == resolved_at
        clock.advance(hours=1)
        assert tracker.transition(key, "close", actor="alice").resolved_at == resolved_at
        reopened = tracker.transition(key, "reopen", actor="bob")
        assert (reopened.status, reopened.resolved_at, reopened.resolution) == ("open", None, None)

    def test_reopen_is_allowed_up_to_the_window(self, tracker: Tracker, clock: FrozenClock) -> None:
        """The help desk allows reopening up to exactly seven days after resolution."""
        key = tracker.open("x", actor="bob").key
        tracker.transition(key, "resolve", actor="alice")
        clock.advance(days=7)
        assert tracker.transition(key, "reopen", actor="bob").status == "open"

    def test_reopen_after_the_window_is_refused_with_a_reason(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """After the reopen window the guard refuses, saying why."""
        key = tracker.open("x", actor="bob").key
        tracker.transition(key, "resolve", actor="alice")
        tracker.transition(key, "close", actor="alice")
        clock.advance(days=7, seconds=1)
        with pytest.raises(TransitionNotAllowed) as info:
            tracker.transition(key, "reopen", actor="bob")
        assert info.value.reason is not None
        assert "7 days" in info.value.reason
        assert tracker.get(key).status == "closed"
        assert "reopen" not in [a.name for a in tracker.available_actions(key, "bob")]

    def test_comment_is_added_in_the_same_version(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """A comment given with a transition is stored with it, in the same version."""
        key = tracker.open("x", actor="bob").key
        ticket = tracker.transition(key, "start", actor="alice", comment="Looking at it")
        assert ticket.version == 2
        (comment,) = tracker.comments(key)
        assert (comment.body, comment.author, comment.internal) == ("Looking at it", "alice", False)
        status, commented = tracker.history(key)[1:]
        assert (status.type, commented.type) == (EventType.STATUS_CHANGED, EventType.COMMENTED)
        assert status.version == commented.version == 2
        assert commented.data["comment_id"] == comment.id

    def test_internal_comment_with_a_transition(self, tracker: Tracker) -> None:
        """internal=True makes the transition's comment an internal note."""
        key = tracker.open("x", actor="bob").key
        tracker.transition(key, "start", actor="alice", comment="note", internal=True)
        assert tracker.comments(key, internal=False) == []
        assert [c.internal for c in tracker.comments(key)] == [True]

    def test_refused_transition_adds_no_comment(self, tracker: Tracker) -> None:
        """When the action is refused, its comment is not stored either."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(TransitionNotAllowed):
            tracker.transition(key, "close", actor="alice", comment="closing")
        assert tracker.comments(key) == []

    def test_resolution_is_required_where_the_workflow_asks(self) -> None:
        """The bug tracker's resolve needs one of its resolutions and stores it."""
        tracker = Tracker.in_memory(workflow="bugtracker")
        key = tracker.open("crash", actor="bob").key
        with pytest.raises(ValidationError) as info:
            tracker.transition(key, "resolve", actor="dev")
        assert info.value.field == "resolution"
        with pytest.raises(ValidationError):
            tracker.transition(key, "resolve", actor="dev", resolution="meh")
        ticket = tracker.transition(key, "resolve", actor="dev", resolution="fixed")
        assert (ticket.status, ticket.resolution) == ("closed", "fixed")
        events = tracker.history(key)[1:]
        assert [(e.field, e.old, e.new) for e in events] == [
            ("status", "new", "closed"),
            ("resolution", None, "fixed"),
        ]
        assert tracker.transition(key, "reopen", actor="bob").resolution is None

    def test_resolution_for_an_action_that_sets_none_is_refused(self, tracker: Tracker) -> None:
        """Passing a resolution to an action that does not take one raises ValidationError."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError, match="resolution"):
            tracker.transition(key, "resolve", actor="alice", resolution="fixed")

    def test_effects_set_fields(self) -> None:
        """accept assigns the ticket to the actor; reassign takes the assignee as input."""
        tracker = Tracker.in_memory(workflow="bugtracker")
        key = tracker.open("crash", actor="bob").key
        assert tracker.transition(key, "accept", actor="dev").assignee == "dev"
        with pytest.raises(ValidationError):
            tracker.transition(key, "reassign", actor="dev")
        ticket = tracker.transition(key, "reassign", actor="dev", fields={"assignee": "eve"})
        assert (ticket.status, ticket.assignee) == ("assigned", "eve")
        assert _last(tracker, key).type is EventType.ASSIGNED

    def test_available_actions_follow_status_and_guards(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """available_actions lists what may be done now, guards included."""
        key = tracker.open("x", actor="bob").key
        assert [a.name for a in tracker.available_actions(key, "alice")] == ["start", "resolve"]
        tracker.transition(key, "resolve", actor="alice")
        assert [a.name for a in tracker.available_actions(key, "alice")] == ["close", "reopen"]
        clock.advance(days=8)
        assert [a.name for a in tracker.available_actions(key, "alice")] == ["close"]


class TestComment:
    def test_adds_a_public_reply(self, tracker: Tracker, clock: FrozenClock) -> None:
        """comment stores the reply, returns it and bumps the version."""
        key = tracker.open("x", actor="bob").key
        clock.advance(minutes=1)
        comment = tracker.comment(key, "Have you tried turning it off?", actor="alice")
        assert (comment.ticket_key, comment.author, comment.internal) == (key, "alice", False)
        assert (comment.body, comment.created) == ("Have you tried turning it off?", clock.now())
        assert tracker.comments(key) == [comment]
        assert tracker.get(key).version == 2
        event = _last(tracker, key)
        assert (event.type, event.actor, event.at, event.version) == (
            EventType.COMMENTED,
            "alice",
            clock.now(),
            2,
        )
        assert dict(event.data) == {"comment_id": comment.id, "internal": False}

    def test_internal_notes_are_left_out_for_the_public(self, tracker: Tracker) -> None:
        """comments(internal=False) gives only public replies; the default gives all."""
        key = tracker.open("x", actor="bob").key
        public = tracker.comment(key, "public 1", actor="alice")
        note = tracker.comment(key, "customer is grumpy", actor="alice", internal=True)
        public2 = tracker.comment(key, "public 2", actor="bob")
        assert tracker.comments(key) == [public, note, public2]
        assert tracker.comments(key, internal=False) == [public, public2]

    def test_comments_come_back_oldest_first(self, tracker: Tracker) -> None:
        """Comments are listed in the order they were added."""
        key = tracker.open("x", actor="bob").key
        for i in range(5):
            tracker.comment(key, f"c{i}", actor="alice")
        assert [c.body for c in tracker.comments(key)] == [f"c{i}" for i in range(5)]

    @pytest.mark.parametrize("body", ["", "   ", "bad \x00 byte"])
    def test_refuses_empty_or_control_characters(self, tracker: Tracker, body: str) -> None:
        """An empty comment or one with control characters raises ValidationError."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError):
            tracker.comment(key, body, actor="alice")
        assert tracker.get(key).version == 1

    def test_internal_must_be_a_bool(self, tracker: Tracker) -> None:
        """internal takes only True or False, for comments and transitions alike."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError):
            tracker.comment(key, "hi", actor="alice", internal="yes")  # type: ignore[arg-type]
        with pytest.raises(ValidationError):
            tracker.transition(
                key,
                "start",
                actor="alice",
                comment="hi",
                internal="no",  # type: ignore[arg-type]
            )
        assert (tracker.get(key).version, tracker.comments(key)) == (1, [])

    def test_returns_its_own_comment_when_a_subscriber_adds_another(self, tracker: Tracker) -> None:
        """The returned comment is the one this call added, even if a callback added more."""
        key = tracker.open("x", actor="bob").key

        def auto_reply(event: Event) -> None:
            if event.actor != "bot":
                tracker.comment(event.ticket_key, "We got it", actor="bot", internal=True)

        tracker.subscribe(auto_reply, EventType.COMMENTED)
        comment = tracker.comment(key, "Help!", actor="bob")
        assert (comment.body, comment.author) == ("Help!", "bob")
        assert [c.author for c in tracker.comments(key)] == ["bob", "bot"]


class TestAttach:
    def test_stores_bytes_and_metadata(self, tracker: Tracker, clock: FrozenClock) -> None:
        """attach keeps the bytes and records name, type, size, hash, uploader and time."""
        key = tracker.open("x", actor="bob").key
        content = b"\x00\x01binary\xff"
        meta = tracker.attach(key, "dump.bin", content, actor="bob")
        assert tracker.attachment_content(meta.id) == content
        assert (meta.filename, meta.size, meta.uploaded_by, meta.created) == (
            "dump.bin",
            len(content),
            "bob",
            clock.now(),
        )
        assert meta.sha256 == hashlib.sha256(content).hexdigest()
        assert tracker.attachments(key) == [meta]
        assert tracker.get(key).version == 2

    def test_records_an_event_describing_the_file(self, tracker: Tracker) -> None:
        """The attachment_added event names the file, its type, size and hash."""
        key = tracker.open("x", actor="bob").key
        meta = tracker.attach(key, "notes.txt", b"hello", actor="alice")
        event = _last(tracker, key)
        assert (event.type, event.actor, event.version) == (EventType.ATTACHMENT_ADDED, "alice", 2)
        assert dict(event.data) == {
            "attachment_id": meta.id,
            "filename": "notes.txt",
            "media_type": "text/plain",
            "size": 5,
            "sha256": meta.sha256,
        }

    def test_media_type_is_guessed_or_normalised(self, tracker: Tracker) -> None:
        """The media type is guessed from the name, or given explicitly in lower case."""
        key = tracker.open("x", actor="bob").key
        assert tracker.attach(key, "a.png", b"", actor="bob").media_type == "image/png"
        assert tracker.attach(key, "a", b"", actor="bob").media_type == "application/octet-stream"
        given = tracker.attach(key, "a", b"", actor="bob", media_type="Text/CSV")
        assert given.media_type == "text/csv"
        with pytest.raises(ValidationError):
            tracker.attach(key, "a", b"", actor="bob", media_type="not a type")

    def test_empty_file_is_allowed(self, tracker: Tracker) -> None:
        """An empty attachment is stored and read back as empty bytes."""
        key = tracker.open("x", actor="bob").key
        meta = tracker.attach(key, "empty.txt", b"", actor="bob")
        assert (meta.size, tracker.attachment_content(meta.id)) == (0, b"")

    @pytest.mark.parametrize("name", ["", "../etc/passwd", "a\\b", "nul\x00.txt", ".."])
    def test_refuses_unsafe_file_names(self, tracker: Tracker, name: str) -> None:
        """File names with directories or control characters are refused."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError) as info:
            tracker.attach(key, name, b"x", actor="bob")
        assert info.value.field == "filename"
        assert tracker.attachments(key) == []

    def test_refuses_files_over_the_limit(self) -> None:
        """A file bigger than max_attachment_size is refused; one at the limit is kept."""
        tracker = Tracker.in_memory(max_attachment_size=10)
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError, match="limit"):
            tracker.attach(key, "big", b"x" * 11, actor="bob")
        assert tracker.attach(key, "ok", b"x" * 10, actor="bob").size == 10

    def test_refuses_non_bytes(self, tracker: Tracker) -> None:
        """Content must be bytes, not text."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError):
            tracker.attach(key, "a.txt", "text", actor="bob")  # type: ignore[arg-type]

    def test_unknown_attachment_is_not_found(self, tracker: Tracker) -> None:
        """attachment_content of an unknown id raises NotFound."""
        with pytest.raises(NotFound):
            tracker.attachment_content(42)


class TestLink:
    def test_both_tickets_record_the_link(self, tracker: Tracker) -> None:
        """A link is recorded on both tickets, each seeing its own side."""
        a, b = (tracker.open(t, actor="bob").key for t in ("a", "b"))
        first = tracker.link(a, "blocks", b, actor="alice")
        assert first.links == frozenset({Link(LinkKind.BLOCKS, b)})
        assert tracker.get(b).links == frozenset({Link(LinkKind.BLOCKED_BY, a)})
        assert tracker.get(b).linked("blocked_by") == [a]
        assert (first.version, tracker.get(b).version) == (2, 2)

    def test_records_linked_events_on_both(self, tracker: Tracker) -> None:
        """Each ticket gets a linked event saying what was added."""
        a, b = (tracker.open(t, actor="bob").key for t in ("a", "b"))
        tracker.link(a, "relates", b, actor="alice")
        for mine, other in ((a, b), (b, a)):
            event = _last(tracker, mine)
            assert (event.type, event.field, event.actor) == (EventType.LINKED, "links", "alice")
            assert event.data["added"] == [["relates", other]]

    def test_linking_again_changes_nothing(self, tracker: Tracker) -> None:
        """Linking what is already linked keeps both versions and records nothing."""
        a, b = (tracker.open(t, actor="bob").key for t in ("a", "b"))
        tracker.link(a, "relates", b, actor="alice")
        tracker.link(a, "relates", b, actor="alice")
        assert (tracker.get(a).version, len(tracker.history(a))) == (2, 2)

    def test_unlink_removes_both_sides(self, tracker: Tracker) -> None:
        """unlink removes the link from both tickets and records unlinked events."""
        a, b = (tracker.open(t, actor="bob").key for t in ("a", "b"))
        tracker.link(a, "blocks", b, actor="alice")
        tracker.unlink(b, "blocked_by", a, actor="alice")
        assert tracker.get(a).links == tracker.get(b).links == frozenset()
        assert _last(tracker, a).type is EventType.UNLINKED
        with pytest.raises(ValidationError):
            tracker.unlink(a, "blocks", b, actor="alice")

    def test_refuses_self_unknown_and_bad_kinds(self, tracker: Tracker) -> None:
        """A ticket cannot link to itself or to a missing ticket, nor by an unknown kind."""
        a = tracker.open("a", actor="bob").key
        b = tracker.open("b", actor="bob").key
        with pytest.raises(ValidationError):
            tracker.link(a, "relates", a, actor="alice")
        with pytest.raises(NotFound):
            tracker.link(a, "relates", "HD-99", actor="alice")
        with pytest.raises(ValidationError, match="unknown link kind"):
            tracker.link(a, "likes", b, actor="alice")

    def test_parent_cycles_are_refused(self, tracker: Tracker) -> None:
        """Parent links may not form a cycle: A→B→C→A is refused."""
        a, b, c = (tracker.open(t, actor="bob").key for t in ("a", "b", "c"))
        tracker.link(a, "parent_of", b, actor="alice")
        tracker.link(b, "parent_of", c, actor="alice")
        with pytest.raises(ValidationError, match="cycle"):
            tracker.link(c, "parent_of", a, actor="alice")
        with pytest.raises(ValidationError, match="cycle"):
            tracker.link(a, "child_of", c, actor="alice")
        with pytest.raises(ValidationError, match="cycle"):
            tracker.link(b, "parent_of", a, actor="alice")
        assert tracker.get(a).linked("child_of") == []

    def test_a_ticket_has_at_most_one_parent(self, tracker: Tracker) -> None:
        """A second parent is refused until the first is unlinked."""
        p1, p2, child = (tracker.open(t, actor="bob").key for t in ("p1", "p2", "child"))
        tracker.link(child, "child_of", p1, actor="alice")
        with pytest.raises(ValidationError, match="already has the parent"):
            tracker.link(p2, "parent_of", child, actor="alice")
        tracker.unlink(child, "child_of", p1, actor="alice")
        tracker.link(p2, "parent_of", child, actor="alice")
        assert tracker.get(child).linked("child_of") == [p2]
        assert tracker.get(p2).linked("parent_of") == [child]

    def test_a_parent_may_have_many_children(self, tracker: Tracker) -> None:
        """One parent can have several children."""
        parent, c1, c2 = (tracker.open(t, actor="bob").key for t in ("p", "c1", "c2"))
        tracker.link(parent, "parent_of", c1, actor="alice")
        tracker.link(parent, "parent_of", c2, actor="alice")
        assert tracker.get(parent).linked("parent_of") == [c1, c2]


class TestMerge:
    def test_closes_the_duplicate_and_links_both(self, tracker: Tracker) -> None:
        """The duplicate is closed as 'duplicate', points at the survivor, and both are linked."""
        survivor = tracker.open("Mail is down", actor="bob").key
        dup = tracker.open("No e-mail", actor="carol").key
        result = tracker.merge(dup, survivor, actor="alice")
        assert result.key == survivor
        closed = tracker.get(dup)
        assert (closed.status, closed.resolution, closed.merged_into) == (
            "closed",
            "duplicate",
            survivor,
        )
        assert closed.resolved_at is not None
        assert closed.linked("duplicates") == [survivor]
        assert tracker.get(survivor).linked("duplicated_by") == [dup]

    def test_survivor_gets_the_reporter_and_watchers(self, tracker: Tracker) -> None:
        """The duplicate's reporter and watchers watch the survivor."""
        survivor = tracker.open("a", actor="bob", watchers=["erin"]).key
        dup = tracker.open("b", actor="carol", watchers=["dave"]).key
        assert tracker.merge(dup, survivor, actor="alice").watchers == frozenset(
            {"erin", "carol", "dave"}
        )

    def test_records_merged_events(self, tracker: Tracker) -> None:
        """The survivor records a merged event naming the source; the source its merged_into."""
        survivor = tracker.open("a", actor="bob").key
        dup = tracker.open("b", actor="carol").key
        tracker.merge(dup, survivor, actor="alice")
        event = _last(tracker, survivor)
        assert (event.type, event.actor, dict(event.data)) == (
            EventType.MERGED,
            "alice",
            {"source": dup},
        )
        merged = [e for e in tracker.history(dup) if e.field == "merged_into"]
        assert [(e.old, e.new) for e in merged] == [(None, survivor)]
        status = next(e for e in tracker.history(dup) if e.type is EventType.STATUS_CHANGED)
        assert (status.old, status.new, status.data["action"]) == ("new", "closed", "merge")

    def test_resolved_duplicate_keeps_its_status(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """A duplicate that was already resolved keeps its status and resolution time."""
        survivor = tracker.open("a", actor="bob").key
        dup = tracker.open("b", actor="carol").key
        resolved_at = tracker.transition(dup, "resolve", actor="alice").resolved_at
        clock.advance(hours=1)
        tracker.merge(dup, survivor, actor="alice")
        closed = tracker.get(dup)
        assert (closed.status, closed.resolved_at, closed.resolution) == (
            "resolved",
            resolved_at,
            "duplicate",
        )

    def test_merging_into_itself_is_refused(self, tracker: Tracker) -> None:
        """A ticket cannot be merged into itself."""
        key = tracker.open("a", actor="bob").key
        with pytest.raises(ValidationError):
            tracker.merge(key, key, actor="alice")
        assert tracker.get(key).version == 1

    def test_merging_into_a_merged_ticket_is_refused(self, tracker: Tracker) -> None:
        """Merging into a ticket that was itself merged names where to merge instead."""
        a, b, c = (tracker.open(t, actor="bob").key for t in ("a", "b", "c"))
        tracker.merge(b, a, actor="alice")
        with pytest.raises(ValidationError, match=f"merge into {a}"):
            tracker.merge(c, b, actor="alice")
        assert tracker.get(c).merged_into is None

    def test_merging_a_merged_ticket_again_is_refused(self, tracker: Tracker) -> None:
        """A ticket merged once cannot be merged again."""
        a, b, c = (tracker.open(t, actor="bob").key for t in ("a", "b", "c"))
        tracker.merge(b, a, actor="alice")
        with pytest.raises(ValidationError, match="already merged"):
            tracker.merge(b, c, actor="alice")
        assert tracker.get(b).merged_into == a

    def test_merge_works_with_other_workflows(self) -> None:
        """In the simple workflow the duplicate goes to its closed state."""
        tracker = Tracker.in_memory(workflow="simple")
        a, b = (tracker.open(t, actor="bob").key for t in ("a", "b"))
        tracker.merge(b, a, actor="alice")
        assert tracker.get(b).status == "closed"


class TestWatch:
    def test_watch_and_unwatch(self, tracker: Tracker) -> None:
        """watch adds a watcher and unwatch removes one, each recording an event."""
        key = tracker.open("x", actor="bob").key
        assert tracker.watch(key, "carol", actor="carol").watchers == frozenset({"carol"})
        event = _last(tracker, key)
        assert (event.type, event.old, event.new) == (EventType.WATCHER_ADDED, [], ["carol"])
        assert event.data["added"] == ["carol"]
        assert tracker.unwatch(key, "carol", actor="alice").watchers == frozenset()
        event = _last(tracker, key)
        assert (event.type, event.actor, event.data["removed"]) == (
            EventType.WATCHER_REMOVED,
            "alice",
            ["carol"],
        )

    def test_repeating_changes_nothing(self, tracker: Tracker) -> None:
        """Watching twice or unwatching a non-watcher keeps the version and records nothing."""
        key = tracker.open("x", actor="bob").key
        tracker.watch(key, "carol", actor="carol")
        tracker.watch(key, "carol", actor="carol")
        tracker.unwatch(key, "dave", actor="dave")
        assert (tracker.get(key).version, len(tracker.history(key))) == (2, 2)

    def test_refuses_empty_names(self, tracker: Tracker) -> None:
        """A watcher needs a name."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError):
            tracker.watch(key, "  ", actor="bob")


class TestSubscribe:
    def test_callbacks_run_after_commit(self, tracker: Tracker) -> None:
        """A callback sees the change already stored and gets the stored event with its id."""
        seen: list[tuple[Event, Ticket]] = []
        tracker.subscribe(lambda e: seen.append((e, tracker.get(e.ticket_key))))
        ticket = tracker.open("x", actor="bob")
        tracker.assign(ticket.key, "alice", actor="bob")
        assert [e.type for e, _ in seen] == [EventType.OPENED, EventType.ASSIGNED]
        assert [t.version for _, t in seen] == [1, 2]
        assert [e for e, _ in seen] == tracker.history(ticket.key)
        assert all(e.id > 0 for e, _ in seen)

    def test_filters_by_event_type(self, tracker: Tracker) -> None:
        """A subscription for some event types gets only those."""
        seen: list[EventType] = []
        tracker.subscribe(lambda e: seen.append(e.type), EventType.COMMENTED, "status_changed")
        key = tracker.open("x", actor="bob").key
        tracker.assign(key, "alice", actor="bob")
        tracker.transition(key, "start", actor="alice", comment="on it")
        tracker.comment(key, "done soon", actor="alice")
        assert seen == [EventType.STATUS_CHANGED, EventType.COMMENTED, EventType.COMMENTED]

    def test_failing_callback_is_logged_and_the_change_stays(
        self, tracker: Tracker, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A callback that raises is logged; the change is kept and other callbacks still run."""
        seen: list[str] = []

        def broken(event: Event) -> None:
            raise RuntimeError("notifier down")

        tracker.subscribe(broken)
        tracker.subscribe(lambda e: seen.append(e.ticket_key))
        with caplog.at_level(logging.ERROR, logger="ticketkit"):
            ticket = tracker.open("x", actor="bob")
        assert tracker.get(ticket.key) == ticket
        assert seen == [ticket.key]
        (record,) = [r for r in caplog.records if r.name == "ticketkit"]
        assert record.levelno == logging.ERROR
        assert ticket.key in record.getMessage()
        assert record.exc_info is not None
        assert "notifier down" in str(record.exc_info[1])

    def test_cancel_stops_callbacks(self, tracker: Tracker) -> None:
        """After cancel the callback is not called; cancelling twice is harmless."""
        seen: list[Event] = []
        subscription = tracker.subscribe(seen.append)
        tracker.open("x", actor="bob")
        active_before = subscription.active
        subscription.cancel()
        subscription.cancel()
        assert (active_before, subscription.active) == (True, False)
        tracker.open("y", actor="bob")
        assert len(seen) == 1

    def test_no_callback_for_refused_or_empty_changes(self, tracker: Tracker) -> None:
        """A refused write or one that changes nothing calls no callback."""
        key = tracker.open("x", actor="bob").key
        seen: list[Event] = []
        tracker.subscribe(seen.append)
        with pytest.raises(TransitionNotAllowed):
            tracker.transition(key, "close", actor="alice")
        tracker.update(key, actor="alice", title="x")
        assert seen == []

    def test_refuses_bad_subscriptions(self, tracker: Tracker) -> None:
        """subscribe needs a callable and known event types."""
        with pytest.raises(ValidationError):
            tracker.subscribe("not callable")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="unknown event type"):
            tracker.subscribe(print, "exploded")


class TestHistory:
    def test_events_come_oldest_first_with_increasing_versions(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """history lists events oldest first; ids and versions never go down."""
        key = tracker.open("x", actor="bob").key
        for step in range(3):
            clock.advance(minutes=1)
            tracker.update(key, actor="alice", title=f"x{step}")
        events = tracker.history(key)
        assert [e.version for e in events] == [1, 2, 3, 4]
        assert [e.id for e in events] == sorted(e.id for e in events)
        assert [e.at for e in events] == [T0 + timedelta(minutes=m) for m in range(4)]

    def test_field_change_records_actor_time_old_and_new(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """Each changed value is one event with actor, time, version, field, old and new."""
        key = tracker.open("x", actor="bob", tags=["a"]).key
        clock.advance(hours=1)
        tracker.update(
            key, actor="alice", title="y", priority="P1", add_tags=["b"], description="more"
        )
        events = tracker.history(key)[1:]
        assert {(e.actor, e.at, e.version, e.ticket_key) for e in events} == {
            ("alice", clock.now(), 2, key)
        }
        assert [(e.type, e.field, e.old, e.new) for e in events] == [
            (EventType.FIELD_CHANGED, "priority", "P3", "P1"),
            (EventType.FIELD_CHANGED, "title", "x", "y"),
            (EventType.FIELD_CHANGED, "description", "", "more"),
            (EventType.FIELD_CHANGED, "tags", ["a"], ["a", "b"]),
        ]

    def test_assignment_is_an_assigned_event(self, tracker: Tracker) -> None:
        """assign records an assigned event from the old to the new assignee."""
        key = tracker.open("x", actor="bob").key
        tracker.assign(key, "alice", actor="lead")
        tracker.assign(key, None, actor="lead")
        assert [(e.type, e.old, e.new) for e in tracker.history(key)[1:]] == [
            (EventType.ASSIGNED, None, "alice"),
            (EventType.ASSIGNED, "alice", None),
        ]

    def test_custom_field_changes_use_json_forms(self, clock: FrozenClock) -> None:
        """Custom-field events name fields.<name> and hold JSON forms of the values."""
        tracker = Tracker.in_memory(
            clock=clock, fields=[FieldDef("cost", "decimal"), FieldDef("due", "date")]
        )
        key = tracker.open("x", actor="bob", fields={"cost": "1.50"}).key
        tracker.update(key, actor="alice", fields={"cost": None, "due": "2026-04-01"})
        assert [(e.field, e.old, e.new) for e in tracker.history(key)[1:]] == [
            ("fields.cost", {"$decimal": "1.50"}, None),
            ("fields.due", None, {"$date": "2026-04-01"}),
        ]

    def test_no_op_update_records_nothing_and_keeps_the_version(self, tracker: Tracker) -> None:
        """An update that sets every value to what it was records nothing and keeps the version."""
        ticket = tracker.open("x", "d", actor="bob", tags=["a"], priority="P2")
        same = tracker.update(
            ticket.key,
            actor="alice",
            title="x",
            description="d",
            tags=["A"],
            priority="P2",
            expected_version=1,
        )
        assert same == ticket
        assert tracker.assign(ticket.key, None, actor="alice") == ticket
        assert len(tracker.history(ticket.key)) == 1

    def test_replay_gives_the_current_ticket(self, tracker: Tracker, clock: FrozenClock) -> None:
        """Replaying the history rebuilds the stored ticket after a mix of changes."""
        a = tracker.open("a", actor="bob", impact="low", urgency="high").key
        b = tracker.open("b", actor="carol").key
        tracker.update(a, actor="alice", urgency="low", add_tags=["x"])
        tracker.transition(a, "start", actor="alice", comment="go")
        tracker.link(a, "blocks", b, actor="alice")
        tracker.watch(a, "dave", actor="dave")
        tracker.attach(a, "f.txt", b"f", actor="alice")
        tracker.merge(b, a, actor="alice")
        tracker.transition(a, "resolve", actor="alice")
        for key in (a, b):
            assert replay(tracker.history(key)) == tracker.get(key)

    def test_unknown_ticket_has_no_history(self, tracker: Tracker) -> None:
        """history of a missing ticket raises NotFound."""
        with pytest.raises(NotFound):
            tracker.history("HD-1")


class TestAsOf:
    def test_gives_the_ticket_as_it_was(self, tracker: Tracker, clock: FrozenClock) -> None:
        """as_of returns the version current at that moment."""
        v1 = tracker.open("x", actor="bob")
        clock.advance(hours=1)
        v2 = tracker.assign(v1.key, "alice", actor="lead")
        clock.advance(hours=1)
        v3 = tracker.transition(v1.key, "start", actor="alice")
        assert tracker.as_of(v1.key, T0) == v1
        assert tracker.as_of(v1.key, T0 + timedelta(minutes=59)) == v1
        assert tracker.as_of(v1.key, T0 + timedelta(hours=1)) == v2
        assert tracker.as_of(v1.key, T0 + timedelta(days=9)) == v3 == tracker.get(v1.key)

    def test_accepts_any_time_zone(self, tracker: Tracker, clock: FrozenClock) -> None:
        """The moment may be given in any time zone."""
        v1 = tracker.open("x", actor="bob")
        clock.advance(hours=2)
        tracker.assign(v1.key, "alice", actor="lead")
        local = (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-5)))
        assert tracker.as_of(v1.key, local) == v1

    def test_before_the_ticket_existed_is_not_found(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """Asking for a moment before the ticket was opened raises NotFound."""
        clock.advance(minutes=1)
        key = tracker.open("x", actor="bob").key
        with pytest.raises(NotFound, match="did not exist"):
            tracker.as_of(key, T0)

    def test_refuses_naive_datetimes(self, tracker: Tracker) -> None:
        """A naive datetime has no definite meaning and is refused."""
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError, match="naive"):
            tracker.as_of(key, datetime(2026, 3, 2, 9, 0))


class TestQuery:
    @pytest.fixture
    def tracker(self, clock: FrozenClock) -> Tracker:
        tracker = Tracker.in_memory(clock=clock, prefix="HD", fields=[FieldDef("points", "int")])
        tracker.open("Mail is down", actor="bob", priority="P1", tags=["email"])
        tracker.open("Printer jam", actor="bob", assignee="alice", fields={"points": 3})
        tracker.open("Mail slow", "very slow", actor="carol", priority="P2")
        return tracker

    def test_filters_with_a_mapping(self, tracker: Tracker) -> None:
        """where maps a field to a value (equality) or to {operator: value}."""
        assert [t.key for t in tracker.query({"reporter": "bob"})] == ["HD-1", "HD-2"]
        assert [t.key for t in tracker.query({"priority": {"le": "P2"}})] == ["HD-1", "HD-3"]

    def test_filters_with_conditions_or_a_query(self, tracker: Tracker) -> None:
        """Conditions and a ready Query give the same results as the mapping form."""
        conditions = [Condition("priority", Op.IN, ["P1", "P2"])]
        assert [t.key for t in tracker.query(conditions)] == ["HD-1", "HD-3"]
        query = Query.build({"tags": {"contains": "email"}})
        assert [t.key for t in tracker.query(query)] == ["HD-1"]

    def test_text_search_and_order(self, tracker: Tracker) -> None:
        """text searches title and description; order_by sorts, '-' for descending."""
        assert [t.key for t in tracker.query(text="MAIL", order_by="-id")] == ["HD-3", "HD-1"]
        assert [t.key for t in tracker.query(text="very")] == ["HD-3"]

    def test_pages_follow_the_cursor(self, tracker: Tracker) -> None:
        """limit cuts the results into pages joined by next_cursor."""
        first = tracker.query(limit=2)
        assert [t.key for t in first] == ["HD-1", "HD-2"]
        second = tracker.query(limit=2, cursor=first.next_cursor)
        assert ([t.key for t in second], second.next_cursor) == (["HD-3"], None)
        with pytest.raises(InvalidCursor):
            tracker.query({"reporter": "bob"}, limit=2, cursor=first.next_cursor)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"where": {"colour": "red"}},
            {"where": {"priority": {"like": "P1"}}},
            {"where": {"tags": "email"}},
            {"where": {"tags": {"in": ["email"]}}},
            {"where": {"watchers": {"not_in": ["bob"]}}},
            {"where": {"fields.points": {"contains": 3}}},
            {"where": {"assignee": {"is_null": "yes"}}},
            {"limit": 0},
            {"limit": 1001},
            {"order_by": "tags"},
            {"text": "  "},
        ],
    )
    def test_refuses_bad_queries(self, tracker: Tracker, kwargs: dict[str, Any]) -> None:
        """Unknown fields or operators, mismatched values and bad limits raise ValidationError."""
        with pytest.raises(ValidationError):
            tracker.query(**kwargs)


class TestPriority:
    @pytest.mark.parametrize(
        ("impact", "urgency", "priority"),
        [
            ("high", "high", Priority.P1),
            ("high", "medium", Priority.P2),
            ("medium", "high", Priority.P2),
            ("high", "low", Priority.P3),
            ("medium", "medium", Priority.P3),
            ("low", "high", Priority.P3),
            ("medium", "low", Priority.P4),
            ("low", "medium", Priority.P4),
            ("low", "low", Priority.P5),
        ],
    )
    def test_derived_from_impact_and_urgency(
        self, tracker: Tracker, impact: str, urgency: str, priority: Priority
    ) -> None:
        """Impact and urgency give the priority through the ITIL 3×3 matrix."""
        ticket = tracker.open("x", actor="bob", impact=impact, urgency=urgency)
        assert (ticket.priority, ticket.impact, ticket.urgency) == (
            priority,
            Impact(impact),
            Urgency(urgency),
        )

    def test_missing_half_defaults_to_medium(self, tracker: Tracker) -> None:
        """Giving only impact or only urgency takes medium for the other."""
        assert tracker.open("x", actor="bob", impact="high").priority is Priority.P2
        assert tracker.open("y", actor="bob", urgency="low").priority is Priority.P4

    def test_set_directly_or_by_default(self, tracker: Tracker) -> None:
        """A priority may be given directly (P1, "p2", 3); without one it is P3."""
        assert tracker.open("a", actor="bob").priority is Priority.P3
        assert tracker.open("b", actor="bob", priority="p2").priority is Priority.P2
        ticket = tracker.open("c", actor="bob", priority=1)
        assert (ticket.priority, ticket.impact, ticket.urgency) == (Priority.P1, None, None)

    def test_both_ways_at_once_is_refused(self, tracker: Tracker) -> None:
        """Giving a priority and impact/urgency together raises ValidationError."""
        with pytest.raises(ValidationError, match="either a priority"):
            tracker.open("x", actor="bob", priority="P1", impact="low")

    def test_update_recomputes_from_the_stored_half(self, tracker: Tracker) -> None:
        """Changing impact or urgency recomputes the priority with the other stored value."""
        key = tracker.open("x", actor="bob", impact="low", urgency="low").key
        assert tracker.update(key, actor="alice", impact="high").priority is Priority.P3
        ticket = tracker.update(key, actor="alice", urgency="high")
        assert (ticket.priority, ticket.impact, ticket.urgency) == (
            Priority.P1,
            Impact.HIGH,
            Urgency.HIGH,
        )
        assert [(e.field, e.old, e.new) for e in tracker.history(key)[-2:]] == [
            ("priority", "P3", "P1"),
            ("urgency", "low", "high"),
        ]

    def test_direct_priority_clears_impact_and_urgency(self, tracker: Tracker) -> None:
        """Setting the priority directly drops the impact and urgency it overrides."""
        key = tracker.open("x", actor="bob", impact="high", urgency="high").key
        ticket = tracker.update(key, actor="alice", priority="P4")
        assert (ticket.priority, ticket.impact, ticket.urgency) == (Priority.P4, None, None)

    def test_custom_matrix_and_default(self) -> None:
        """A tracker can use its own default priority."""
        tracker = Tracker.in_memory(default_priority="P5")
        assert tracker.open("x", actor="bob").priority is Priority.P5

    @pytest.mark.parametrize(
        "values", [{"impact": "huge"}, {"urgency": "now"}, {"priority": "P6"}, {"priority": True}]
    )
    def test_unknown_levels_are_refused(self, tracker: Tracker, values: dict[str, Any]) -> None:
        """Unknown impact, urgency or priority values raise ValidationError listing the options."""
        with pytest.raises(ValidationError, match="use one of"):
            tracker.open("x", actor="bob", **values)


_FIELDS = [
    FieldDef("note", "text", max_length=5),
    FieldDef("points", "int", min_value=0, max_value=10),
    FieldDef("cost", "decimal", min_value=Decimal("0")),
    FieldDef("billable", "bool"),
    FieldDef("due", "date"),
    FieldDef("severity", "choice", choices=("minor", "major")),
    FieldDef("os", "multi_choice", choices=("linux", "mac", "windows")),
    FieldDef("owner", "user"),
]


class TestCustomFields:
    @pytest.fixture
    def tracker(self, clock: FrozenClock) -> Tracker:
        return Tracker.in_memory(clock=clock, fields=_FIELDS)

    @pytest.mark.parametrize(
        ("name", "given", "stored"),
        [
            ("note", "hi\tu", "hi\tu"),
            ("points", 7, 7),
            ("cost", "1.50", Decimal("1.50")),
            ("cost", 2, Decimal(2)),
            ("cost", 0.1, Decimal("0.1")),
            ("billable", True, True),
            ("due", "2026-04-01", date(2026, 4, 1)),
            ("due", date(2026, 4, 1), date(2026, 4, 1)),
            ("severity", "major", "major"),
            ("os", ["windows", "linux", "windows"], ("linux", "windows")),
            ("owner", "  olga ", "olga"),
        ],
    )
    def test_values_are_normalised(
        self, tracker: Tracker, name: str, given: object, stored: object
    ) -> None:
        """Each field type stores its canonical form of the value given."""
        ticket = tracker.open("x", actor="bob", fields={name: given})
        assert ticket.fields[name] == stored
        assert type(ticket.fields[name]) is type(stored)
        assert tracker.get(ticket.key).fields[name] == stored

    @pytest.mark.parametrize(
        ("name", "given"),
        [
            ("note", "too long"),
            ("note", 5),
            ("points", "3"),
            ("points", True),
            ("points", 11),
            ("points", -1),
            ("cost", "abc"),
            ("cost", "NaN"),
            ("cost", float("inf")),
            ("cost", "-0.01"),
            ("billable", "yes"),
            ("due", "2026-13-01"),
            ("due", datetime(2026, 4, 1, tzinfo=UTC)),
            ("severity", "blocker"),
            ("os", "linux"),
            ("os", ["bsd"]),
            ("owner", ""),
        ],
    )
    def test_bad_values_are_refused(self, tracker: Tracker, name: str, given: object) -> None:
        """A value of the wrong type or out of range raises ValidationError for fields.<name>."""
        with pytest.raises(ValidationError) as info:
            tracker.open("x", actor="bob", fields={name: given})
        assert info.value.field == f"fields.{name}"

    def test_unknown_field_is_refused(self, tracker: Tracker) -> None:
        """A field the tracker does not define is refused, naming the known ones."""
        with pytest.raises(ValidationError, match="known fields"):
            tracker.open("x", actor="bob", fields={"colour": "red"})

    def test_update_changes_and_clears(self, tracker: Tracker) -> None:
        """update sets the given fields, clears those set to None and keeps the rest."""
        key = tracker.open("x", actor="bob", fields={"points": 1, "owner": "olga"}).key
        ticket = tracker.update(key, actor="alice", fields={"points": 2, "owner": None})
        assert dict(ticket.fields) == {"points": 2}
        ticket = tracker.update(key, actor="alice", fields={"due": "2026-05-05"})
        assert dict(ticket.fields) == {"due": date(2026, 5, 5), "points": 2}

    def test_required_field_must_stay_set(self) -> None:
        """A required field must be given when opening and cannot be cleared."""
        tracker = Tracker.in_memory(
            fields=[FieldDef("team", "choice", required=True, choices=("a", "b"))]
        )
        with pytest.raises(ValidationError, match="required"):
            tracker.open("x", actor="bob")
        key = tracker.open("x", actor="bob", fields={"team": "a"}).key
        with pytest.raises(ValidationError, match="required"):
            tracker.update(key, actor="bob", fields={"team": None})
        assert tracker.get(key).fields["team"] == "a"


class TestQueues:
    @pytest.fixture
    def tracker(self, clock: FrozenClock) -> Tracker:
        return Tracker.in_memory(
            clock=clock, queues={"support": "HD", "bugs": "BUG"}, default_queue="support"
        )

    def test_each_queue_has_its_own_keys(self, tracker: Tracker) -> None:
        """Tickets are keyed with their queue's prefix, each counting from 1."""
        opened = [
            tracker.open("a", actor="bob"),
            tracker.open("b", actor="bob", queue="bugs"),
            tracker.open("c", actor="bob", queue="support"),
            tracker.open("d", actor="bob", queue="bugs"),
        ]
        assert [(t.key, t.queue) for t in opened] == [
            ("HD-1", "support"),
            ("BUG-1", "bugs"),
            ("HD-2", "support"),
            ("BUG-2", "bugs"),
        ]
        assert tracker.get("bug-2").title == "d"

    def test_moving_a_ticket_keeps_its_key_and_reuses_none(self, tracker: Tracker) -> None:
        """A ticket moved to another queue keeps its key; no key is ever given out twice."""
        moved = tracker.open("a", actor="bob")
        ticket = tracker.update(moved.key, actor="alice", queue="bugs")
        assert (ticket.key, ticket.queue) == ("HD-1", "bugs")
        assert tracker.open("b", actor="bob").key == "HD-2"
        assert tracker.open("c", actor="bob", queue="bugs").key == "BUG-1"
        assert _last(tracker, "HD-1").field == "queue"

    def test_unknown_queue_is_refused(self, tracker: Tracker) -> None:
        """Opening in or moving to a queue that does not exist raises ValidationError."""
        with pytest.raises(ValidationError, match="unknown queue"):
            tracker.open("x", actor="bob", queue="sales")
        key = tracker.open("x", actor="bob").key
        with pytest.raises(ValidationError, match="unknown queue"):
            tracker.update(key, actor="bob", queue="sales")

    def test_keys_of_other_prefixes_are_not_found(self, tracker: Tracker) -> None:
        """A key with a prefix this tracker does not use raises NotFound naming its prefixes."""
        with pytest.raises(NotFound, match="BUG, HD"):
            tracker.get("TK-1")

    @pytest.mark.parametrize(
        "settings",
        [
            {"queues": {"support": "hd"}, "default_queue": "support"},
            {"queues": {"support": "HD-X"}, "default_queue": "support"},
            {"queues": {"support": "HD"}},
        ],
    )
    def test_bad_queue_settings_are_refused(self, settings: dict[str, Any]) -> None:
        """Prefixes must be upper-case words and the default queue one of the queues."""
        with pytest.raises(ValidationError):
            Tracker.in_memory(**settings)


class TestOptimisticConcurrency:
    def test_write_at_the_current_version_succeeds(self, tracker: Tracker) -> None:
        """A write with the ticket's current expected_version is applied."""
        key = tracker.open("x", actor="bob").key
        assert tracker.update(key, actor="alice", title="y", expected_version=1).version == 2

    @pytest.mark.parametrize(
        "write",
        [
            pytest.param(
                lambda t, k: t.update(k, actor="a", title="z", expected_version=1), id="update"
            ),
            pytest.param(lambda t, k: t.assign(k, "a", actor="a", expected_version=1), id="assign"),
            pytest.param(
                lambda t, k: t.transition(k, "start", actor="a", expected_version=1),
                id="transition",
            ),
            pytest.param(
                lambda t, k: t.comment(k, "c", actor="a", expected_version=1), id="comment"
            ),
            pytest.param(
                lambda t, k: t.attach(k, "f", b"", actor="a", expected_version=1), id="attach"
            ),
            pytest.param(lambda t, k: t.watch(k, "w", actor="a", expected_version=1), id="watch"),
            pytest.param(
                lambda t, k: t.link(k, "relates", "HD-2", actor="a", expected_version=1),
                id="link",
            ),
            pytest.param(
                lambda t, k: t.merge(k, "HD-2", actor="a", expected_version=1), id="merge"
            ),
        ],
    )
    def test_stale_write_conflicts_and_changes_nothing(
        self, tracker: Tracker, write: Callable[[Tracker, str], object]
    ) -> None:
        """Every write with a stale expected_version raises ConflictError and changes nothing."""
        key = tracker.open("x", actor="bob").key
        tracker.open("other", actor="bob")
        current = tracker.update(key, actor="bob", title="y")
        with pytest.raises(ConflictError) as info:
            write(tracker, key)
        assert (info.value.key, info.value.expected, info.value.actual) == (key, 1, 2)
        assert "reload" in str(info.value)
        assert tracker.get(key) == current
        assert len(tracker.history(key)) == 2
        assert tracker.get("HD-2").version == 1
        assert (tracker.comments(key), tracker.attachments(key)) == ([], [])

    def test_without_expected_version_the_last_write_wins(self, tracker: Tracker) -> None:
        """Writes that give no expected_version apply to whatever version is stored."""
        key = tracker.open("x", actor="bob").key
        tracker.update(key, actor="alice", title="first")
        assert tracker.update(key, actor="bob", title="second").version == 3

    def test_each_write_adds_exactly_one_version(self, tracker: Tracker) -> None:
        """Versions go up by one per stored write, however many values it changes."""
        key = tracker.open("x", actor="bob").key
        versions = [
            tracker.update(key, actor="a", title="y", priority="P1", add_tags=["t"]).version,
            tracker.transition(key, "start", actor="a", comment="c").version,
            tracker.assign(key, "a", actor="a").version,
        ]
        assert versions == [2, 3, 4]

    def test_expected_version_must_be_a_whole_number(self, tracker: Tracker) -> None:
        """expected_version that is not an int raises ValidationError."""
        key = tracker.open("x", actor="bob").key
        for bad in ("1", 1.0, True):
            with pytest.raises(ValidationError):
                tracker.update(key, actor="a", title="y", expected_version=bad)  # type: ignore[arg-type]

    def test_racing_writers_with_retry_lose_nothing(self, tracker: Tracker) -> None:
        """Two writers that read, then write with expected_version and retry, both land."""
        key = tracker.open("x", actor="bob", tags=["a"]).key
        seen_by_first = tracker.get(key)
        tracker.update(key, actor="second", add_tags=["b"], expected_version=1)
        with pytest.raises(ConflictError):
            tracker.update(
                key, actor="first", add_tags=["c"], expected_version=seen_by_first.version
            )
        fresh = tracker.get(key)
        tracker.update(key, actor="first", add_tags=["c"], expected_version=fresh.version)
        assert tracker.get(key).tags == frozenset({"a", "b", "c"})


class _LateStore(MemoryStore):
    """A memory store whose first reference look-up misses: as if another writer claimed
    the reference between the tracker's look-up and its own insert."""

    def __init__(self) -> None:
        super().__init__()
        self.misses = 0

    def ticket_for_reference(self, reference: str) -> Ticket | None:
        if self.misses:
            self.misses -= 1
            return None
        return super().ticket_for_reference(reference)


class TestReferences:
    def test_reference_is_kept_exactly(self, tracker: Tracker) -> None:
        """A reference is stored as given: not stripped, not case-folded."""
        ticket = tracker.open("x", actor="bob", reference=" Crash:ABC ")
        assert tracker.by_reference(" Crash:ABC ") == ticket
        assert tracker.by_reference("Crash:ABC") is None
        assert tracker.history(ticket.key)[0].data["reference"] == " Crash:ABC "

    def test_opened_event_has_no_reference_without_one(self, tracker: Tracker) -> None:
        """A ticket opened without a reference records none."""
        ticket = tracker.open("x", actor="bob")
        assert "reference" not in tracker.history(ticket.key)[0].data

    def test_longest_reference_is_accepted(self, tracker: Tracker) -> None:
        """200 characters is the limit, and allowed."""
        reference = "r" * 200
        assert tracker.by_reference(reference) is None
        ticket = tracker.open("x", actor="bob", reference=reference)
        assert tracker.by_reference(reference) == ticket

    @pytest.mark.parametrize(
        ("bad", "says"),
        [
            ("", "empty"),
            ("   ", "empty"),
            ("r" * 201, "201 characters"),
            ("crash:\nabc", "U+000A"),
            ("crash:\x00", "U+0000"),
            ("crash:\x85", "U+0085"),
            ("crash:\ud800", "U+D800"),
            (42, "int"),
            (b"crash:abc", "bytes"),
        ],
    )
    def test_bad_reference_is_refused(self, tracker: Tracker, bad: object, says: str) -> None:
        """open and by_reference refuse a reference that cannot be one, naming the problem."""
        with pytest.raises(ValidationError, match=re.escape(says)) as info:
            tracker.open("x", actor="bob", reference=bad)  # type: ignore[arg-type]
        assert info.value.field == "reference"
        with pytest.raises(ValidationError, match=re.escape(says)) as info:
            tracker.by_reference(bad)  # type: ignore[arg-type]
        assert info.value.field == "reference"
        assert len(tracker.query()) == 0
        assert tracker.open("y", actor="bob").key == "HD-1"

    def test_reference_claimed_after_the_look_up_is_refused_by_the_store(
        self, clock: FrozenClock
    ) -> None:
        """When the tracker's look-up misses the holder, the store's insert still refuses."""
        store = _LateStore()
        tracker = Tracker(store, clock=clock, prefix="HD")
        first = tracker.open("first", actor="bob", reference="crash:abc")
        published: list[Event] = []
        tracker.subscribe(published.append)
        store.misses = 1
        with pytest.raises(DuplicateReference) as info:
            tracker.open("second", actor="bob", reference="crash:abc")
        assert store.misses == 0
        assert (info.value.reference, info.value.key) == ("crash:abc", first.key)
        assert isinstance(info.value.__cause__, DuplicateReference)
        assert published == []
        assert [t.key for t in tracker.query().items] == [first.key]
        assert tracker.open("third", actor="bob").key == "HD-2"

    def test_duplicate_reference_is_a_ticketkit_error(self) -> None:
        """DuplicateReference is a TicketkitError, not a ValidationError or ConflictError."""
        assert issubclass(DuplicateReference, TicketkitError)
        assert not issubclass(DuplicateReference, (ValidationError, ConflictError))


class TestDefineFields:
    @pytest.fixture(params=["memory", "sqlite"])
    def tracker(
        self, request: pytest.FixtureRequest, clock: FrozenClock, tmp_path: Path
    ) -> Iterator[Tracker]:
        if request.param == "memory":
            yield Tracker.in_memory(clock=clock, prefix="HD")
            return
        with Tracker.from_url(f"sqlite:///{tmp_path / 'define.db'}", clock=clock, prefix="HD") as t:
            yield t

    def test_defined_fields_can_be_set_and_queried(self, tracker: Tracker) -> None:
        """Fields defined on a running tracker are set on new and old tickets and queried."""
        old = tracker.open("before", actor="bob")
        with pytest.raises(ValidationError, match="known fields"):
            tracker.open("x", actor="bob", fields={"fingerprint": "abc"})
        tracker.define_fields(
            FieldDef("fingerprint", "text"), FieldDef("occurrences", "int", min_value=1)
        )
        new = tracker.open("crash", actor="crash", fields={"fingerprint": "abc", "occurrences": 3})
        tracker.update(old.key, actor="bob", fields={"occurrences": 1})
        assert tracker.get(new.key).fields == {"fingerprint": "abc", "occurrences": 3}

        def keys(where: dict[str, Any], **options: Any) -> list[str]:
            return [t.key for t in tracker.query(where, **options).items]

        assert keys({"fields.fingerprint": "abc"}) == [new.key]
        assert keys({"fields.occurrences": {"gt": 1}}) == [new.key]
        assert keys({}, order_by="-fields.occurrences") == [new.key, old.key]
        with pytest.raises(ValidationError, match="occurrences"):
            tracker.update(old.key, actor="bob", fields={"occurrences": 0})

    def test_defining_the_same_field_again_changes_nothing(self, tracker: Tracker) -> None:
        """An identical definition, in one call or later ones, is accepted and changes nothing."""
        fingerprint = FieldDef("fingerprint", "text", label="Fingerprint", internal=True)
        tracker.define_fields(
            fingerprint, FieldDef("fingerprint", "text", label="Fingerprint", internal=True)
        )
        config = tracker.config
        tracker.define_fields(FieldDef("fingerprint", "text", label="Fingerprint", internal=True))
        tracker.define_fields()
        assert tracker.config is config
        assert dict(tracker.config.fields) == {"fingerprint": fingerprint}

    def test_another_definition_of_a_name_is_refused(self, tracker: Tracker) -> None:
        """A name already defined differently raises ValidationError naming it and what differs;
        no field of the call is added and the tickets are unchanged."""
        tracker.define_fields(FieldDef("severity", "choice", choices=("minor", "major")))
        ticket = tracker.open("x", actor="bob", fields={"severity": "major"})
        config = tracker.config
        with pytest.raises(ValidationError, match=r"'severity'.*choices") as info:
            tracker.define_fields(
                FieldDef("fingerprint", "text"),
                FieldDef("severity", "choice", choices=("low", "high")),
            )
        assert info.value.field == "fields.severity"
        assert tracker.config is config
        assert set(tracker.config.fields) == {"severity"}
        assert tracker.get(ticket.key) == ticket
        with pytest.raises(ValidationError, match=r"'severity'.*type"):
            tracker.define_fields(FieldDef("severity", "text"))
        with pytest.raises(ValidationError, match="'fingerprint'"):
            tracker.define_fields(FieldDef("fingerprint", "text"), FieldDef("fingerprint", "int"))
        assert tracker.config is config

    def test_fields_given_at_construction_count_as_defined(self, clock: FrozenClock) -> None:
        """define_fields compares with the fields the tracker was built with too."""
        tracker = Tracker.in_memory(clock=clock, fields=[FieldDef("team", "user")])
        tracker.define_fields(FieldDef("team", "user"), FieldDef("points", "int"))
        assert list(tracker.config.fields) == ["team", "points"]
        with pytest.raises(ValidationError, match="'team'"):
            tracker.define_fields(FieldDef("team", "user", required=True))

    def test_only_field_definitions_are_accepted(self, tracker: Tracker) -> None:
        """Anything but a FieldDef is refused before anything is defined."""
        config = tracker.config
        with pytest.raises(ValidationError, match="FieldDef"):
            tracker.define_fields(FieldDef("points", "int"), {"name": "x", "type": "text"})  # type: ignore[arg-type]
        assert tracker.config is config

    def test_a_required_field_applies_to_new_writes(self, tracker: Tracker) -> None:
        """A required field defined later must be given when opening; old tickets stay valid."""
        old = tracker.open("before", actor="bob")
        tracker.define_fields(FieldDef("team", "choice", choices=("a", "b"), required=True))
        with pytest.raises(ValidationError, match="required"):
            tracker.open("x", actor="bob")
        assert tracker.get(old.key) == old
        assert tracker.open("x", actor="bob", fields={"team": "a"}).fields == {"team": "a"}
