"""Applying macros: every step in one write, all or nothing, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from databases import BACKENDS, fresh_database
from ticketkit import (
    Action,
    Automation,
    Category,
    ConflictError,
    EventType,
    FieldDef,
    FrozenClock,
    HasAssignee,
    NotFound,
    State,
    Tracker,
    TransitionNotAllowed,
    ValidationError,
    Workflow,
)
from ticketkit._history import replay
from ticketkit._macros import ME, NOBODY, Macro
from ticketkit.rules import AddTag, OnEvent, Rule

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = "carol@example.com"
FIELDS = [FieldDef("team", "choice", choices=("blue", "red")), FieldDef("seats", "int")]
SETTINGS: dict[str, Any] = {
    "fields": FIELDS,
    "queues": {"support": "HD", "billing": "BIL"},
    "default_queue": "support",
}
TAKE = Macro("take", label="Take it", assignee=ME, action="start", reply="Hi $reporter, I'm on it.")
RESOLVE = Macro(
    "fixed",
    set_fields={"team": "blue"},
    priority="P4",
    add_tags=["done"],
    remove_tags=["waiting"],
    reply="$key is $status, $reporter.",
    action="resolve",
)
NOTE = Macro("triage", set_fields={"seats": 5}, queue="billing", reply="By $agent.", internal=True)
CLOSE = Macro("close", reply="Closing now.", action="close")  # only from resolved
ALL = [TAKE, RESOLVE, NOTE, CLOSE]


@contextmanager
def tracker_on(backend: str, tmp_path: Path, **more: Any) -> Iterator[Tracker]:
    settings = {**SETTINGS, "clock": FrozenClock(T0), "macros": ALL, **more}
    if backend == "memory":
        with Tracker.in_memory(**settings) as tracker:
            yield tracker
        return
    with fresh_database(backend, tmp_path) as url, Tracker.from_url(url, **settings) as tracker:
        yield tracker


@pytest.fixture(params=("memory", *BACKENDS))
def every_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    with tracker_on(str(request.param), tmp_path) as tracker:
        yield tracker


@pytest.fixture(params=("memory", "sqlite"))
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    with tracker_on(str(request.param), tmp_path) as tracker:
        yield tracker


def opened(tracker: Tracker, **more: Any) -> str:
    return tracker.open("Printer jams", actor=CUSTOMER, **more).key


def state(tracker: Tracker, key: str) -> tuple[Any, ...]:
    """Everything a write could change: the ticket, its history and its comments."""
    return tracker.get(key), tracker.history(key), tracker.comments(key)


class TestOneWrite:
    def test_every_step_at_one_version(self, every_store: Tracker) -> None:
        """Fields, priority, tags, the reply and the action: one new version, in step order."""
        tracker = every_store
        key = opened(tracker, tags=["waiting"])
        tracker.transition(key, "start", actor="alice")
        new = tracker.apply_macro(key, "fixed", actor="alice")
        assert (new.status, new.priority.name, new.fields["team"], new.version) == (
            "resolved",
            "P4",
            "blue",
            3,
        )
        assert new.tags == {"done"}
        assert new == tracker.get(key)
        applied = [e for e in tracker.history(key) if e.version == 3]
        assert [(e.type, e.field) for e in applied] == [
            (EventType.FIELD_CHANGED, "priority"),
            (EventType.FIELD_CHANGED, "tags"),
            (EventType.FIELD_CHANGED, "fields.team"),
            (EventType.COMMENTED, None),
            (EventType.STATUS_CHANGED, "status"),
        ]
        assert {e.data["macro"] for e in applied} == {"fixed"}
        assert {(e.actor, e.at) for e in applied} == {("alice", T0)}
        assert applied[-1].data["action"] == "resolve"
        [comment] = tracker.comments(key)
        assert (comment.body, comment.internal, comment.author) == (
            f"{key} is resolved, {CUSTOMER}.",
            False,
            "alice",
        )

    def test_a_failing_last_step_stores_nothing(self, every_store: Tracker) -> None:
        """A transition the status does not offer refuses the whole macro: no field,
        comment or version changes, and the error names the macro and the step."""
        tracker = every_store
        key = opened(tracker)
        before = state(tracker, key)
        with pytest.raises(TransitionNotAllowed, match="macro 'close', step action 'close'") as e:
            tracker.apply_macro(key, "close", actor="alice")
        assert (e.value.key, e.value.status, e.value.action) == (key, "new", "close")
        assert state(tracker, key) == before
        assert tracker.get(key).version == 1

    def test_a_guard_refusal_stores_nothing(self, tracker: Tracker) -> None:
        """A guard that refuses the action keeps the macro's reply and fields out too."""
        tracker.macros = [
            Macro("late-reopen", set_fields={"team": "red"}, reply="Reopened.", action="reopen")
        ]
        key = opened(tracker)
        tracker.transition(key, "resolve", actor="alice")
        tracker.clock.advance(days=8)  # type: ignore[attr-defined]
        before = state(tracker, key)
        with pytest.raises(TransitionNotAllowed, match=r"step action 'reopen': .*within 7 days"):
            tracker.apply_macro(key, "late-reopen", actor="alice")
        assert state(tracker, key) == before

    def test_a_missing_required_field_stores_nothing(self, tracker: Tracker) -> None:
        """A field step the ticket's values refuse (a required field unset) stops the macro."""
        key = opened(tracker)
        tracker.define_fields(FieldDef("product", "text", required=True))
        before = state(tracker, key)
        with pytest.raises(ValidationError, match=r"macro 'triage', step fields: .*'product'"):
            tracker.apply_macro(key, "triage", actor="alice")
        assert state(tracker, key) == before

    def test_stale_expected_version(self, every_store: Tracker) -> None:
        """expected_version pins the write: a stale one raises ConflictError, nothing stored."""
        tracker = every_store
        key = opened(tracker)
        tracker.comment(key, "Any news?", actor=CUSTOMER)
        before = state(tracker, key)
        with pytest.raises(ConflictError) as caught:
            tracker.apply_macro(key, "take", actor="alice", expected_version=1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert state(tracker, key) == before
        assert tracker.apply_macro(key, "take", actor="alice", expected_version=2).version == 3


class TestSteps:
    def test_me_and_the_reply(self, tracker: Tracker) -> None:
        """'me' assigns the agent applying it; the reply is filled in once the macro is applied."""
        key = opened(tracker)
        new = tracker.apply_macro(key, "take", actor="alice")
        assert (new.assignee, new.status) == ("alice", "open")
        assert [c.body for c in tracker.comments(key)] == [f"Hi {CUSTOMER}, I'm on it."]
        assigned = next(e for e in tracker.history(key) if e.type is EventType.ASSIGNED)
        assert (assigned.new, assigned.data["macro"]) == ("alice", "take")

    def test_internal_note_queue_and_agent(self, tracker: Tracker) -> None:
        """An internal macro writes a note; a queue step moves the ticket (its key stays)."""
        key = opened(tracker)
        new = tracker.apply_macro(key, "triage", actor="bob")
        assert (new.queue, new.fields["seats"], new.key) == ("billing", 5, key)
        [note] = tracker.comments(key)
        assert (note.body, note.internal) == ("By bob.", True)
        assert tracker.comments(key, internal=False) == []

    def test_the_agents_comment_follows_the_reply(self, tracker: Tracker) -> None:
        """comment= is the agent's own text, added after the reply, never filled in."""
        key = opened(tracker)
        tracker.apply_macro(key, "take", actor="alice", comment="Try $reporter {title}.")
        [comment] = tracker.comments(key)
        assert comment.body == f"Hi {CUSTOMER}, I'm on it.\n\nTry $reporter {{title}}."
        with pytest.raises(ValidationError, match="comment must not be empty"):
            tracker.apply_macro(key, "triage", actor="alice", comment="  ")

    def test_a_comment_without_a_reply(self, tracker: Tracker) -> None:
        """A macro without a reply records the agent's comment as the comment."""
        tracker.macros = [Macro("solve", action="resolve")]
        key = opened(tracker)
        tracker.apply_macro(key, "solve", actor="alice", comment="Rebooted it.")
        assert [c.body for c in tracker.comments(key)] == ["Rebooted it."]
        tracker.macros = [Macro("reopen", action="reopen")]
        tracker.apply_macro(key, "reopen", actor="alice")
        assert len(tracker.comments(key)) == 1

    def test_unassign(self, tracker: Tracker) -> None:
        tracker.macros = [Macro("release", assignee=NOBODY, add_tags=["released"])]
        key = opened(tracker, assignee="alice")
        assert tracker.apply_macro(key, "release", actor="alice").assignee is None

    def test_nothing_to_change_records_nothing(self, tracker: Tracker) -> None:
        """A macro whose every value is already so keeps the version and records nothing."""
        tracker.macros = [Macro("tag", add_tags=["vip"], priority="P3")]
        key = opened(tracker, tags=["vip"])
        before = state(tracker, key)
        assert tracker.apply_macro(key, "tag", actor="alice").version == 1
        assert state(tracker, key) == before

    def test_resolution_and_required_input(self, tmp_path: Path) -> None:
        """On a workflow whose actions need a resolution or an assignee, the macro gives them."""
        macros = [
            Macro("wontfix", action="resolve", resolution="wontfix", reply="Won't fix."),
            Macro("to-bob", assignee="bob", action="reassign"),
        ]
        with Tracker.in_memory(workflow="bugtracker", macros=macros) as tracker:
            key = tracker.open("Crash", actor=CUSTOMER).key
            handed = tracker.apply_macro(key, "to-bob", actor="alice")
            assert (handed.status, handed.assignee) == ("assigned", "bob")
            done = tracker.apply_macro(key, "wontfix", actor="bob")
            assert (done.status, done.resolution) == ("closed", "wontfix")

    def test_unknown_macro(self, tracker: Tracker) -> None:
        key = opened(tracker)
        with pytest.raises(NotFound, match="no macro named 'nope'; the macros: take, fixed, "):
            tracker.apply_macro(key, "nope", actor="alice")
        assert tracker.macro("take") is TAKE

    def test_unknown_ticket(self, tracker: Tracker) -> None:
        with pytest.raises(NotFound, match="no ticket HD-9"):
            tracker.apply_macro("HD-9", "take", actor="alice")

    def test_rules_see_the_macros_events(self, tmp_path: Path) -> None:
        """The write is an ordinary write: automation rules triggered by its events run after it."""
        rule = Rule("mark", OnEvent({"status_changed"}), [AddTag("touched")])
        with Tracker.in_memory(macros=[TAKE], automation=Automation(rules=[rule])) as tracker:
            key = opened(tracker)
            tracker.apply_macro(key, "take", actor="alice")
            assert "touched" in tracker.get(key).tags


def guarded() -> Workflow:
    """'start' needs an assignee."""
    return Workflow(
        name="guarded",
        states=(
            State("new", Category.NEW),
            State("open", Category.ACTIVE),
            State("done", Category.RESOLVED),
        ),
        actions=(
            Action("start", {"new"}, "open", guards=(HasAssignee(),)),
            Action("finish", {"new", "open"}, "done"),
            Action("reopen", {"done"}, "open"),
        ),
        initial="new",
    )


class TestAvailable:
    def test_by_status(self, tracker: Tracker) -> None:
        """Macros with an action are offered while the status offers it; the others always."""
        key = opened(tracker)
        names = [m.name for m in tracker.available_macros(key, "alice")]
        assert names == ["take", "fixed", "triage"]
        tracker.transition(key, "resolve", actor="alice")
        assert [m.name for m in tracker.available_macros(key, "alice")] == ["triage", "close"]

    def test_by_guard_after_the_macros_own_steps(self) -> None:
        """A guard is asked about the ticket as the macro's other steps leave it."""
        macros = [
            Macro("start", action="start"),
            Macro("take", assignee=ME, action="start"),
            Macro("finish", action="finish"),
        ]
        with Tracker.in_memory(workflow=guarded(), macros=macros) as tracker:
            key = opened(tracker)
            ticket = tracker.get(key)
            assert [m.name for m in tracker.available_macros(ticket, "alice")] == [
                "take",
                "finish",
            ]
            with pytest.raises(TransitionNotAllowed, match=r"step action 'start': .*no assignee"):
                tracker.apply_macro(key, "start", actor="alice")
            assert tracker.apply_macro(key, "take", actor="alice").status == "open"

    def test_merged_duplicates_take_no_actions(self, tracker: Tracker) -> None:
        key = opened(tracker)
        other = opened(tracker)
        tracker.merge(key, other, actor="alice")
        assert [m.name for m in tracker.available_macros(key, "alice")] == ["triage"]

    def test_steps_that_no_longer_fit(self, tracker: Tracker) -> None:
        """A macro whose field step the ticket refuses is not offered."""
        key = opened(tracker)
        tracker.define_fields(FieldDef("product", "text", required=True))
        assert [m.name for m in tracker.available_macros(key, "alice")] == ["take"]

    def test_none_set(self) -> None:
        with Tracker.in_memory() as tracker:
            key = opened(tracker)
            assert tracker.macros == ()
            assert tracker.available_macros(key, "alice") == []
            with pytest.raises(NotFound, match="none are set"):
                tracker.apply_macro(key, "take", actor="alice")


# -- a property: whole or nothing, for any macro on a ticket in any status ---------------

_PATHS = {
    "new": (),
    "open": ("start",),
    "pending_customer": ("start", "wait_for_customer"),
    "resolved": ("resolve",),
    "closed": ("resolve", "close"),
}


@st.composite
def any_macro(draw: st.DrawFn) -> Macro:
    action = draw(st.none() | st.sampled_from(["start", "resolve", "close", "reopen"]))
    reply = draw(st.none() | st.sampled_from(["Hi $reporter.", "$key is $status.", "By $agent"]))
    settings: dict[str, Any] = {
        "set_fields": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "team": st.sampled_from(["blue", "red", None]),
                    "seats": st.sampled_from([3, None]),
                },
            )
        ),
        "priority": draw(st.none() | st.sampled_from(["P1", "P3"])),
        "queue": draw(st.none() | st.sampled_from(["support", "billing"])),
        "assignee": draw(st.none() | st.sampled_from([ME, NOBODY, "bob"])),
        "add_tags": draw(st.frozensets(st.sampled_from(["a", "b"]))),
        "reply": reply,
        "internal": reply is not None and draw(st.booleans()),
        "action": action,
    }
    if not (action or reply or settings["add_tags"]):
        settings["add_tags"] = {"a"}
    return Macro("m", **settings)


class TestWholeOrNothing:
    @settings(max_examples=150)
    @given(
        macro=any_macro(),
        status=st.sampled_from(sorted(_PATHS)),
        comment=st.none() | st.just("Also: $agent {title}"),
    )
    def test_applied_whole_or_not_at_all(
        self, macro: Macro, status: str, comment: str | None
    ) -> None:
        """Either one new version whose every event names the macro (and the history
        replays to the stored ticket), or an error and the ticket exactly as it was."""
        with Tracker.in_memory(**SETTINGS) as tracker:
            key = opened(tracker, tags=["b"])
            for action in _PATHS[status]:
                tracker.transition(key, action, actor="alice")
            tracker.macros = [macro]  # check() passes: every value fits the tracker
            before = state(tracker, key)
            try:
                new = tracker.apply_macro(key, "m", actor="alice", comment=comment)
            except (TransitionNotAllowed, ValidationError):
                event("refused")
                assert state(tracker, key) == before
                return
            event("applied")
            old = before[0]
            history = tracker.history(key)
            assert new == tracker.get(key) == replay(history)
            added = history[len(before[1]) :]
            assert new.version in (old.version, old.version + 1)
            assert all(e.version == new.version and e.data["macro"] == "m" for e in added)
            assert bool(added) == (new.version == old.version + 1)
            if macro.action is not None:
                assert new.status == tracker.workflow.action(macro.action).target
            if macro.reply is not None or comment is not None:
                assert tracker.comments(key)[-1].internal is macro.internal
