"""The bad-input catalogue: every refused input raises the right error and changes nothing.

Each case names one bad input. The test builds a small tracker with tickets,
comments, attachments, links and a merge, takes a full snapshot, makes the bad
call, and checks that

* the exact ``TicketkitError`` subclass is raised (never a raw ``TypeError``),
* the message names the problem (the bad value or the field),
* ``exc.field`` (and the other attributes the error carries) are right,
* the tracker is unchanged: every ticket, history, comment and attachment is as
  before, no event was published, and the next ticket gets the next key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ticketkit import (
    Action,
    Category,
    ConflictError,
    DuplicateReference,
    Event,
    FieldDef,
    FieldType,
    FrozenClock,
    InvalidCursor,
    InvalidWorkflow,
    NewAttachment,
    NotFound,
    State,
    TicketkitError,
    Tracker,
    TrackerConfig,
    TransitionNotAllowed,
    ValidationError,
    Workflow,
)
from ticketkit.storage.memory import MemoryStore

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

FIELDS = (
    FieldDef("count", FieldType.INT, min_value=0, max_value=100),
    FieldDef("cost", FieldType.DECIMAL),
    FieldDef("billable", FieldType.BOOL),
    FieldDef("due", FieldType.DATE),
    FieldDef("severity", FieldType.CHOICE, choices=("minor", "major", "critical")),
    FieldDef("platforms", FieldType.MULTI_CHOICE, choices=("linux", "mac", "windows")),
    FieldDef("notes", FieldType.TEXT, max_length=100),
    FieldDef("owner", FieldType.USER),
    FieldDef("customer", FieldType.TEXT, required=True),
)
MAX_ATTACHMENT = 1024
#: The Message-IDs HD-4 and HD-5 were opened from (HD-5 is merged into HD-4).
VPN_MAIL = "mail:<vpn-1@example.com>"
VPN_DUPLICATE_MAIL = "mail:<vpn-2@example.com>"


# -- the worlds a bad call is made in ---------------------------------------------------


@dataclass
class World:
    """A tracker with some history, and what a valid probe ticket needs."""

    tracker: Tracker
    clock: FrozenClock
    prefix: str
    probe_fields: Mapping[str, object] = field(default_factory=dict)
    published: list[Event] = field(default_factory=list)

    @property
    def t(self) -> Tracker:
        return self.tracker

    def stale(self, key: str) -> int:
        """A version the ticket has moved on from."""
        return self.tracker.get(key).version - 1


def helpdesk_world() -> World:
    """HD-1 parent of HD-2 parent of HD-3; HD-4 resolved, relates to HD-1; HD-5 merged into HD-4."""
    clock = FrozenClock(START)
    config = TrackerConfig(
        workflow="helpdesk",
        queues={"support": "HD"},
        default_queue="support",
        fields=FIELDS,
        max_attachment_size=MAX_ATTACHMENT,
    )
    t = Tracker.in_memory(clock=clock, config=config)
    customer = {"customer": "ACME"}
    t.open(
        "Printer on fire",
        "Smoke comes out of tray 2.\nPlease hurry.",
        actor="bob",
        tags=["printer", "urgent"],
        fields={
            **customer,
            "count": 3,
            "cost": Decimal("12.50"),
            "due": date(2026, 3, 9),
            "severity": "major",
            "platforms": ["linux", "mac"],
        },
    )
    clock.advance(minutes=5)
    t.comment("HD-1", "Have you tried turning it off and on again?", actor="alice")
    t.comment("HD-1", "The customer is a VIP.", actor="alice", internal=True)
    t.attach("HD-1", "smoke.txt", b"lots of smoke\n", actor="bob")
    t.open("Replace the fuser", actor="alice", priority="P2", fields=customer)
    t.transition("HD-2", "start", actor="alice")
    t.assign("HD-2", "alice", actor="alice")
    t.watch("HD-2", "carol", actor="alice")
    t.open("Order toner", actor="alice", impact="low", urgency="high", fields=customer)
    t.link("HD-1", "parent_of", "HD-2", actor="alice")
    t.link("HD-2", "parent_of", "HD-3", actor="alice")
    clock.advance(hours=1)
    t.open("VPN drops every hour", actor="dave", fields=customer, reference=VPN_MAIL)
    t.transition("HD-4", "resolve", actor="alice", comment="Fixed the MTU.")
    t.link("HD-4", "relates", "HD-1", actor="alice")
    t.open("VPN disconnects", actor="erin", fields=customer, reference=VPN_DUPLICATE_MAIL)
    t.merge("HD-5", "HD-4", actor="alice")
    clock.advance(hours=1)
    world = World(t, clock, "HD", probe_fields=customer)
    t.subscribe(world.published.append)
    return world


def bugtracker_world() -> World:
    """BUG-1 new, BUG-2 accepted by dev, BUG-3 closed as fixed."""
    clock = FrozenClock(START)
    t = Tracker.in_memory(clock=clock, workflow="bugtracker", prefix="BUG")
    t.open("Crash on start", actor="qa")
    t.comment("BUG-1", "Stack trace attached soon.", actor="qa")
    t.open("Typo in menu", actor="qa")
    t.transition("BUG-2", "accept", actor="dev")
    t.open("Slow search", actor="qa")
    t.transition("BUG-3", "resolve", actor="dev", resolution="fixed")
    clock.advance(hours=1)
    world = World(t, clock, "BUG")
    t.subscribe(world.published.append)
    return world


WORLDS: dict[str, Callable[[], World]] = {
    "helpdesk": helpdesk_world,
    "bugtracker": bugtracker_world,
}


def snapshot(tracker: Tracker) -> dict[str, Any]:
    """Everything the tracker holds, read through the public API (paging 2 at a time)."""
    tickets = []
    cursor = None
    while True:
        page = tracker.query(limit=2, cursor=cursor)
        tickets.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    keys = [ticket.key for ticket in tickets]
    return {
        "tickets": tickets,
        "fields": dict(tracker.config.fields),
        "references": {
            r: tracker.by_reference(r) for r in (VPN_MAIL, VPN_DUPLICATE_MAIL, "crash:new")
        },
        "history": {key: tracker.history(key) for key in keys},
        "comments": {key: tracker.comments(key) for key in keys},
        "attachments": {
            key: [(a, tracker.attachment_content(a.id)) for a in tracker.attachments(key)]
            for key in keys
        },
    }


# -- the catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad call, the error it must raise, and what the message and error must say."""

    id: str
    call: Callable[[World], object]
    error: type[TicketkitError]
    says: tuple[str, ...]
    attrs: Mapping[str, object] = field(default_factory=dict)
    world: str = "helpdesk"


def _case(
    id: str,
    call: Callable[[World], object],
    error: type[TicketkitError],
    *says: str,
    world: str = "helpdesk",
    **attrs: object,
) -> Case:
    return Case(id, call, error, says, attrs, world)


def invalid(id: str, call: Callable[[World], object], *says: str, **attrs: object) -> Case:
    """A ``ValidationError`` case; pass ``field=`` whenever the error should name one."""
    world = str(attrs.pop("world", "helpdesk"))
    return _case(id, call, ValidationError, *says, world=world, **attrs)


def stale(id: str, key: str, call: Callable[[World, int], object]) -> Case:
    """A write based on the version before the ticket's current one."""

    def attempt(w: World) -> object:
        return call(w, w.stale(key))

    return _case(id, attempt, ConflictError, key, "version", key=key)


def _fields(values: Mapping[str, object]) -> Callable[[World], object]:
    """Open a ticket with these custom-field values (plus the required one)."""
    return lambda w: w.t.open("Custom", actor="bob", fields={"customer": "ACME", **values})


def _update_fields(values: Mapping[str, object]) -> Callable[[World], object]:
    return lambda w: w.t.update("HD-1", actor="alice", fields=values)


def _tampered_cursor(w: World) -> object:
    cursor = w.t.query(limit=2).next_cursor
    assert cursor is not None
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload["v"] = ["HD-2"]  # an id must be a number
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    return w.t.query(limit=2, cursor=forged)


def _forged_decimal_cursor(w: World) -> object:
    cursor = w.t.query(order_by="fields.cost", limit=1).next_cursor
    assert cursor is not None
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload["v"] = [{"$decimal": "twelve"}, 1]
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    return w.t.query(order_by="fields.cost", limit=1, cursor=forged)


def _cursor_of_other_query(w: World) -> object:
    cursor = w.t.query(limit=2).next_cursor
    return w.t.query({"status": "new"}, limit=2, cursor=cursor)


def _reopen_too_late(w: World) -> object:
    w.clock.advance(days=8)
    return w.t.transition("HD-4", "reopen", actor="dave")


def _unreachable_workflow(w: World) -> object:
    return Workflow(
        name="unreachable",
        states=(
            State("new", Category.NEW),
            State("done", Category.CLOSED),
            State("limbo", Category.ACTIVE),
        ),
        actions=(
            Action("finish", {"new"}, "done"),
            Action("leave_limbo", {"limbo"}, "done"),
        ),
        initial="new",
    )


def _dead_end_workflow(w: World) -> object:
    return Workflow(
        name="dead_end",
        states=(State("new", Category.NEW), State("stuck", Category.ACTIVE)),
        actions=(Action("go", {"new"}, "stuck"),),
        initial="new",
    )


NAIVE = datetime(2026, 3, 2, 10, 0)

TEXT_CASES = [
    invalid("title-empty", lambda w: w.t.open("", actor="bob"), "title", "empty", field="title"),
    invalid(
        "title-whitespace-only",
        lambda w: w.t.open(" \t  ", actor="bob"),
        "title",
        "empty",
        field="title",
    ),
    invalid(
        "title-1MB",
        lambda w: w.t.open("x" * 1_000_000, actor="bob"),
        "1000000",
        "255",
        field="title",
    ),
    invalid(
        "title-NUL",
        lambda w: w.t.open("Mail\x00down", actor="bob"),
        "U+0000",
        field="title",
    ),
    invalid(
        "title-escape-on-update",
        lambda w: w.t.update("HD-1", actor="alice", title="Mail \x1b[31mdown"),
        "U+001B",
        field="title",
    ),
    invalid(
        "title-newline",
        lambda w: w.t.open("Mail\ndown", actor="bob"),
        "U+000A",
        "single-line",
        field="title",
    ),
    invalid(
        "title-not-a-string",
        lambda w: w.t.open(None, actor="bob"),  # type: ignore[arg-type]
        "title",
        "NoneType",
        field="title",
    ),
    invalid(
        "description-NUL",
        lambda w: w.t.open("Fine title", "a\x00b", actor="bob"),
        "U+0000",
        field="description",
    ),
    invalid(
        "description-bell-on-update",
        lambda w: w.t.update("HD-1", actor="alice", description="ding\x07"),
        "U+0007",
        field="description",
    ),
    invalid(
        "description-C1-control",
        lambda w: w.t.open("Fine title", "csi \x9b", actor="bob"),
        "U+009B",
        field="description",
    ),
    invalid(
        "description-over-1MB",
        lambda w: w.t.open("Fine title", "x" * 1_000_001, actor="bob"),
        "1000001",
        field="description",
    ),
    invalid(
        "comment-NUL",
        lambda w: w.t.comment("HD-1", "hi\x00", actor="alice"),
        "U+0000",
        field="comment",
    ),
    invalid(
        "comment-escape",
        lambda w: w.t.comment("HD-1", "\x1b[2J", actor="alice"),
        "U+001B",
        field="comment",
    ),
    invalid(
        "comment-blank",
        lambda w: w.t.comment("HD-1", "  \n ", actor="alice"),
        "comment",
        "empty",
        field="comment",
    ),
    invalid(
        "transition-comment-NUL",
        lambda w: w.t.transition("HD-3", "start", actor="alice", comment="on it\x00"),
        "U+0000",
        field="comment",
    ),
]

PRIORITY_CASES = [
    invalid(
        "priority-P9",
        lambda w: w.t.open("Prio", actor="bob", priority="P9"),
        "'P9'",
        "P1",
        field="priority",
    ),
    invalid(
        "priority-0",
        lambda w: w.t.update("HD-1", actor="alice", priority=0),
        "priority 0",
        field="priority",
    ),
    invalid(
        "priority-True",
        lambda w: w.t.open("Prio", actor="bob", priority=True),
        "priority True",
        field="priority",
    ),
    invalid(
        "priority-with-impact",
        lambda w: w.t.open("Prio", actor="bob", priority="P1", impact="high"),
        "priority",
        "impact",
        field="priority",
    ),
    invalid(
        "priority-with-urgency-on-update",
        lambda w: w.t.update("HD-1", actor="alice", priority="P2", urgency="low"),
        "priority",
        "urgency",
        field="priority",
    ),
    invalid(
        "impact-unknown",
        lambda w: w.t.open("Prio", actor="bob", impact="huge"),
        "'huge'",
        "high, medium, low",
        field="impact",
    ),
    invalid(
        "urgency-unknown-on-update",
        lambda w: w.t.update("HD-3", actor="alice", urgency=3),
        "urgency 3",
        field="urgency",
    ),
]

FIELD_CASES = [
    invalid("int-given-text", _fields({"count": "3"}), "'count'", "'3'", field="fields.count"),
    invalid("int-given-bool", _fields({"count": True}), "'count'", "True", field="fields.count"),
    invalid("int-below-minimum", _update_fields({"count": -1}), "at least 0", field="fields.count"),
    invalid("decimal-given-words", _fields({"cost": "cheap"}), "'cheap'", field="fields.cost"),
    invalid("decimal-float-NaN", _fields({"cost": float("nan")}), "finite", field="fields.cost"),
    invalid(
        "decimal-Decimal-NaN", _update_fields({"cost": Decimal("NaN")}), "NaN", field="fields.cost"
    ),
    invalid("decimal-float-inf", _fields({"cost": float("inf")}), "inf", field="fields.cost"),
    invalid(
        "decimal-text-Infinity", _fields({"cost": "-Infinity"}), "Infinity", field="fields.cost"
    ),
    invalid(
        "bool-given-int",
        _fields({"billable": 1}),
        "'billable'",
        "true or false",
        field="fields.billable",
    ),
    invalid(
        "bool-given-text", _update_fields({"billable": "yes"}), "'yes'", field="fields.billable"
    ),
    invalid(
        "date-given-datetime",
        _fields({"due": datetime(2026, 3, 9, 12, 0, tzinfo=UTC)}),
        "'due'",
        "without a time",
        field="fields.due",
    ),
    invalid(
        "date-given-bad-text", _fields({"due": "31/02/2026"}), "'31/02/2026'", field="fields.due"
    ),
    invalid(
        "choice-unknown",
        _fields({"severity": "apocalyptic"}),
        "'apocalyptic'",
        "minor, major, critical",
        field="fields.severity",
    ),
    invalid(
        "choice-given-int", _update_fields({"severity": 2}), "'severity'", field="fields.severity"
    ),
    invalid(
        "multi-choice-given-one-string",
        _fields({"platforms": "linux"}),
        "'platforms'",
        "list",
        field="fields.platforms",
    ),
    invalid(
        "multi-choice-unknown-item",
        _update_fields({"platforms": ["linux", "beos"]}),
        "'beos'",
        field="fields.platforms",
    ),
    invalid("text-given-int", _fields({"notes": 5}), "'notes'", "text", field="fields.notes"),
    invalid("text-too-long", _update_fields({"notes": "x" * 101}), "100", field="fields.notes"),
    invalid("text-NUL", _fields({"notes": "a\x00b"}), "U+0000", field="fields.notes"),
    invalid("user-given-int", _fields({"owner": 7}), "'owner'", "user", field="fields.owner"),
    invalid(
        "user-with-newline", _update_fields({"owner": "al\nice"}), "U+000A", field="fields.owner"
    ),
    invalid(
        "custom-field-unknown",
        _fields({"colour": "red"}),
        "'colour'",
        "customer",
        field="fields.colour",
    ),
    invalid(
        "required-field-missing",
        lambda w: w.t.open("No customer", actor="bob"),
        "'customer'",
        "required",
        field="fields.customer",
    ),
    invalid(
        "required-field-cleared",
        _update_fields({"customer": None}),
        "'customer'",
        "required",
        field="fields.customer",
    ),
    invalid(
        "fields-not-a-mapping",
        lambda w: w.t.update("HD-1", actor="alice", fields=[("count", 1)]),  # type: ignore[arg-type]
        "mapping",
        field="fields",
    ),
]

WORKFLOW_CASES = [
    invalid(
        "action-unknown",
        lambda w: w.t.transition("HD-3", "teleport", actor="alice"),
        "'teleport'",
        "start",
        field="action",
    ),
    _case(
        "action-from-wrong-state",
        lambda w: w.t.transition("HD-3", "close", actor="alice"),
        TransitionNotAllowed,
        "'close'",
        "'new'",
        key="HD-3",
        status="new",
        action="close",
    ),
    _case(
        "action-on-merged-duplicate",
        lambda w: w.t.transition("HD-5", "wait_for_customer", actor="alice"),
        TransitionNotAllowed,
        "HD-5",
        "merged into HD-4",
        key="HD-5",
        status="closed",
        action="wait_for_customer",
    ),
    _case(
        "guard-reopen-after-window",
        _reopen_too_late,
        TransitionNotAllowed,
        "HD-4",
        "7 days",
        key="HD-4",
        status="resolved",
        action="reopen",
    ),
    invalid(
        "resolution-to-action-taking-none",
        lambda w: w.t.transition("HD-3", "resolve", actor="alice", resolution="fixed"),
        "'fixed'",
        "resolve",
        field="resolution",
    ),
    invalid(
        "field-to-action-taking-none",
        lambda w: w.t.transition("HD-3", "start", actor="alice", fields={"assignee": "bob"}),
        "'assignee'",
        field="assignee",
    ),
    invalid(
        "transition-fields-not-a-mapping",
        lambda w: w.t.transition("HD-3", "start", actor="alice", fields=["assignee"]),  # type: ignore[arg-type]
        "fields",
        field="fields",
    ),
    invalid(
        "transition-internal-not-bool",
        lambda w: w.t.transition(
            "HD-3",
            "start",
            actor="alice",
            comment="on it",
            internal="yes",  # type: ignore[arg-type]
        ),
        "'yes'",
        field="internal",
    ),
    invalid(
        "bugtracker-resolve-without-resolution",
        lambda w: w.t.transition("BUG-1", "resolve", actor="dev"),
        "resolution",
        "fixed",
        field="resolution",
        world="bugtracker",
    ),
    invalid(
        "bugtracker-resolve-unknown-resolution",
        lambda w: w.t.transition("BUG-1", "resolve", actor="dev", resolution="meh"),
        "'meh'",
        "wontfix",
        field="resolution",
        world="bugtracker",
    ),
    invalid(
        "bugtracker-resolution-not-a-string",
        lambda w: w.t.transition("BUG-2", "resolve", actor="dev", resolution=5),  # type: ignore[arg-type]
        "5",
        "resolution",
        field="resolution",
        world="bugtracker",
    ),
    invalid(
        "bugtracker-accept-with-resolution",
        lambda w: w.t.transition("BUG-1", "accept", actor="dev", resolution="fixed"),
        "'accept'",
        "'fixed'",
        field="resolution",
        world="bugtracker",
    ),
    invalid(
        "bugtracker-reassign-without-assignee",
        lambda w: w.t.transition("BUG-1", "reassign", actor="dev"),
        "'assignee'",
        field="assignee",
        world="bugtracker",
    ),
    _case(
        "bugtracker-reopen-open-ticket",
        lambda w: w.t.transition("BUG-2", "reopen", actor="dev"),
        TransitionNotAllowed,
        "'accepted'",
        world="bugtracker",
        key="BUG-2",
        status="accepted",
        action="reopen",
    ),
]

STALE_CASES = [
    stale(
        "stale-update",
        "HD-1",
        lambda w, v: w.t.update("HD-1", actor="alice", title="New title", expected_version=v),
    ),
    stale(
        "stale-update-that-changes-nothing",
        "HD-1",
        lambda w, v: w.t.update("HD-1", actor="alice", title="Printer on fire", expected_version=v),
    ),
    stale(
        "stale-assign",
        "HD-2",
        lambda w, v: w.t.assign("HD-2", "bob", actor="alice", expected_version=v),
    ),
    stale(
        "stale-transition",
        "HD-2",
        lambda w, v: w.t.transition("HD-2", "resolve", actor="alice", expected_version=v),
    ),
    stale(
        "stale-comment",
        "HD-1",
        lambda w, v: w.t.comment("HD-1", "late reply", actor="alice", expected_version=v),
    ),
    stale(
        "stale-attach",
        "HD-1",
        lambda w, v: w.t.attach("HD-1", "log.txt", b"log", actor="alice", expected_version=v),
    ),
    stale(
        "stale-link",
        "HD-1",
        lambda w, v: w.t.link("HD-1", "blocks", "HD-3", actor="alice", expected_version=v),
    ),
    stale(
        "stale-unlink",
        "HD-1",
        lambda w, v: w.t.unlink("HD-1", "parent_of", "HD-2", actor="alice", expected_version=v),
    ),
    stale(
        "stale-merge",
        "HD-3",
        lambda w, v: w.t.merge("HD-3", "HD-1", actor="alice", expected_version=v),
    ),
    stale(
        "stale-watch",
        "HD-2",
        lambda w, v: w.t.watch("HD-2", "dave", actor="alice", expected_version=v),
    ),
    stale(
        "stale-unwatch",
        "HD-2",
        lambda w, v: w.t.unwatch("HD-2", "carol", actor="alice", expected_version=v),
    ),
    invalid(
        "expected-version-not-a-number",
        lambda w: w.t.update("HD-1", actor="alice", title="x", expected_version="2"),  # type: ignore[arg-type]
        "'2'",
        field="expected_version",
    ),
]

REF_CASES = [
    _case("key-unknown", lambda w: w.t.get("HD-99"), NotFound, "HD-99"),
    _case(
        "key-unknown-on-write",
        lambda w: w.t.comment("HD-99", "hello?", actor="alice"),
        NotFound,
        "HD-99",
    ),
    _case("key-other-prefix", lambda w: w.t.get("XY-1"), NotFound, "XY-1", "HD"),
    invalid("key-malformed-hello", lambda w: w.t.get("hello"), "'hello'", "HD-12", field="key"),
    invalid(
        "key-number-zero",
        lambda w: w.t.update("HD-0", actor="alice", title="x"),
        "'HD-0'",
        field="key",
    ),
    invalid(
        "key-double-dash",
        lambda w: w.t.assign("HD--1", "bob", actor="alice"),
        "'HD--1'",
        field="key",
    ),
    invalid(
        "key-empty",
        lambda w: w.t.transition("", "start", actor="alice"),
        "''",
        "not a ticket key",
        field="key",
    ),
    _case("id-zero", lambda w: w.t.get(0), NotFound, "id 0"),
    _case(
        "id-negative",
        lambda w: w.t.comment(-1, "hello?", actor="alice"),
        NotFound,
        "id -1",
    ),
    invalid("id-bool", lambda w: w.t.get(True), "True", field="key"),
    invalid("id-float", lambda w: w.t.get(1.0), "1.0", field="key"),  # type: ignore[arg-type]
]

TIME_CASES = [
    invalid(
        "as-of-naive",
        lambda w: w.t.as_of("HD-1", NAIVE),
        "naive",
        "2026-03-02T10:00:00",
        field="when",
    ),
    invalid("clock-set-naive", lambda w: w.clock.set(NAIVE), "naive", field="when"),
    invalid("clock-backwards", lambda w: w.clock.advance(hours=-1), "forward"),
    invalid(
        "clock-advance-not-a-timedelta",
        lambda w: w.clock.advance("1 day"),  # type: ignore[arg-type]
        "'1 day'",
    ),
    invalid(
        "query-created-naive",
        lambda w: w.t.query({"created": {"lt": NAIVE}}),
        "naive",
        field="created",
    ),
]

LINK_CASES = [
    invalid(
        "parent-cycle-of-two",
        lambda w: w.t.link("HD-2", "parent_of", "HD-1", actor="alice"),
        "cycle",
        "HD-1",
        field="links",
    ),
    invalid(
        "parent-cycle-of-two-via-child-of",
        lambda w: w.t.link("HD-1", "child_of", "HD-2", actor="alice"),
        "cycle",
        field="links",
    ),
    invalid(
        "parent-cycle-of-three",
        lambda w: w.t.link("HD-3", "parent_of", "HD-1", actor="alice"),
        "cycle",
        "HD-3",
        field="links",
    ),
    invalid(
        "second-parent",
        lambda w: w.t.link("HD-4", "parent_of", "HD-3", actor="alice"),
        "HD-3",
        "already has the parent HD-2",
        field="links",
    ),
    invalid(
        "second-parent-via-child-of",
        lambda w: w.t.link("HD-3", "child_of", "HD-4", actor="alice"),
        "already has the parent HD-2",
        field="links",
    ),
    invalid(
        "link-to-itself",
        lambda w: w.t.link("HD-1", "relates", "HD-1", actor="alice"),
        "HD-1",
        "itself",
    ),
    _case(
        "link-to-missing-ticket",
        lambda w: w.t.link("HD-1", "relates", "HD-99", actor="alice"),
        NotFound,
        "HD-99",
    ),
    invalid(
        "link-kind-unknown",
        lambda w: w.t.link("HD-1", "friend_of", "HD-3", actor="alice"),
        "'friend_of'",
        "blocks",
        field="links",
    ),
    invalid(
        "unlink-what-is-not-linked",
        lambda w: w.t.unlink("HD-1", "blocks", "HD-3", actor="alice"),
        "HD-1",
        "HD-3",
        "blocks",
        field="links",
    ),
    invalid(
        "unlink-wrong-direction",
        lambda w: w.t.unlink("HD-1", "child_of", "HD-2", actor="alice"),
        "child_of",
        field="links",
    ),
    invalid(
        "merge-into-itself",
        lambda w: w.t.merge("HD-1", "HD-1", actor="alice"),
        "HD-1",
        "itself",
    ),
    invalid(
        "merge-into-merged-ticket",
        lambda w: w.t.merge("HD-3", "HD-5", actor="alice"),
        "HD-5",
        "HD-4",
        field="merged_into",
    ),
    invalid(
        "merge-already-merged-ticket",
        lambda w: w.t.merge("HD-5", "HD-1", actor="alice"),
        "HD-5",
        "already merged",
        field="merged_into",
    ),
    _case(
        "merge-into-missing-ticket",
        lambda w: w.t.merge("HD-3", "HD-99", actor="alice"),
        NotFound,
        "HD-99",
    ),
]


GOOD_FILE = NewAttachment("ok.txt", b"fine")


def _new(filename: str, content: bytes = b"data", media_type: str | None = None) -> NewAttachment:
    return NewAttachment(filename, content, media_type)


def _attach(filename: str, content: object = b"data", **kwargs: Any) -> Callable[[World], object]:
    return lambda w: w.t.attach("HD-1", filename, content, actor="alice", **kwargs)  # type: ignore[arg-type]


ATTACHMENT_CASES = [
    invalid("filename-slash", _attach("../etc/passwd"), "'../etc/passwd'", field="filename"),
    invalid("filename-dot-dot", _attach(".."), "'..'", field="filename"),
    invalid("filename-backslash", _attach("C:\\temp\\x.txt"), "x.txt", field="filename"),
    invalid("filename-NUL", _attach("report\x00.pdf"), "report", field="filename"),
    invalid("filename-newline", _attach("a\nb.txt"), "b.txt", field="filename"),
    invalid("filename-empty", _attach(""), "file name", field="filename"),
    invalid("content-str", _attach("notes.txt", "hello"), "bytes", "str", field="content"),
    invalid("content-None", _attach("notes.txt", None), "bytes", "NoneType", field="content"),
    invalid(
        "content-over-size-limit",
        _attach("big.bin", b"x" * (MAX_ATTACHMENT + 1)),
        "1025",
        "1024",
        field="content",
    ),
    invalid(
        "media-type-without-subtype",
        _attach("notes.txt", media_type="text"),
        "'text'",
        "type/subtype",
        field="media_type",
    ),
    invalid(
        "media-type-not-a-string",
        _attach("notes.txt", media_type=42),
        "42",
        field="media_type",
    ),
    # attachments= refuses the whole write when one file is bad, naming it.
    invalid(
        "open-with-a-bad-file-name",
        lambda w: w.t.open(
            "Files", actor="bob", fields={"customer": "ACME"}, attachments=[GOOD_FILE, _new("..")]
        ),
        "'..'",
        field="filename",
    ),
    invalid(
        "comment-with-a-file-over-the-limit",
        lambda w: w.t.comment(
            "HD-1",
            "Files",
            actor="bob",
            reference="mail:<new@example.com>",
            attachments=[GOOD_FILE, _new("big.bin", b"x" * (MAX_ATTACHMENT + 1))],
        ),
        "'big.bin'",
        "1025",
        field="content",
    ),
    invalid(
        "transition-with-a-bad-media-type",
        lambda w: w.t.transition(
            "HD-2",
            "wait_for_customer",
            actor="alice",
            comment="Please check",
            attachments=[_new("a.txt", media_type="text")],
        ),
        "'a.txt'",
        "type/subtype",
        field="media_type",
    ),
    invalid(
        "comment-with-attachments-not-a-list",
        lambda w: w.t.comment("HD-1", "Files", actor="bob", attachments=GOOD_FILE),
        "list of NewAttachment",
        field="attachments",
    ),
    invalid(
        "comment-with-a-tuple-for-a-file",
        lambda w: w.t.comment("HD-1", "Files", actor="bob", attachments=[("a.txt", b"x")]),
        "attachment 1",
        "tuple",
        field="attachments",
    ),
    invalid(
        "transition-reference-without-comment",
        lambda w: w.t.transition("HD-2", "wait_for_customer", actor="alice", reference="mail:<x>"),
        "comment=",
        field="reference",
    ),
    _case(
        "transition-reference-used",
        lambda w: w.t.transition(
            "HD-2", "wait_for_customer", actor="alice", comment="x", reference=VPN_MAIL
        ),
        DuplicateReference,
        VPN_MAIL,
        "HD-4",
        key="HD-4",
    ),
]

QUEUE_AND_TAG_CASES = [
    invalid(
        "queue-unknown",
        lambda w: w.t.open("Queue", actor="bob", queue="sales", fields={"customer": "ACME"}),
        "'sales'",
        "support",
        field="queue",
    ),
    invalid(
        "queue-unknown-on-update",
        lambda w: w.t.update("HD-1", actor="alice", queue="sales"),
        "'sales'",
        field="queue",
    ),
    invalid(
        "tag-two-words",
        lambda w: w.t.open("Tags", actor="bob", tags=["two words"]),
        "'two words'",
        field="tags",
    ),
    invalid(
        "tag-empty",
        lambda w: w.t.update("HD-1", actor="alice", add_tags=[""]),
        "tag ''",
        field="tags",
    ),
    invalid(
        "tag-with-comma",
        lambda w: w.t.update("HD-1", actor="alice", tags=["a,b"]),
        "'a,b'",
        field="tags",
    ),
    invalid(
        "tags-single-string",
        lambda w: w.t.open("Tags", actor="bob", tags="printer"),
        "'printer'",
        "single string",
        field="tags",
    ),
    invalid(
        "remove-tags-single-string",
        lambda w: w.t.update("HD-1", actor="alice", remove_tags="printer"),
        "'printer'",
        field="tags",
    ),
    invalid(
        "tags-None",
        lambda w: w.t.update("HD-1", actor="alice", tags=None),
        "tags",
        "None",
        field="tags",
    ),
    invalid(
        "tags-number",
        lambda w: w.t.open("Tags", actor="bob", tags=5),  # type: ignore[arg-type]
        "tags",
        "5",
        field="tags",
    ),
]

QUERY_CASES = [
    invalid(
        "query-unknown-field",
        lambda w: w.t.query({"colour": "red"}),
        "'colour'",
        "status",
        field="colour",
    ),
    invalid(
        "query-unknown-operator",
        lambda w: w.t.query({"status": {"like": "n%"}}),
        "'like'",
        "contains",
        field="status",
    ),
    invalid(
        "query-in-with-a-string",
        lambda w: w.t.query({"status": {"in": "new"}}),
        "in",
        "list",
        field="status",
    ),
    invalid(
        "query-contains-on-scalar",
        lambda w: w.t.query({"status": {"contains": "ne"}}),
        "contains",
        "'status'",
        field="status",
    ),
    invalid(
        "query-lt-on-tags",
        lambda w: w.t.query({"tags": {"lt": "printer"}}),
        "'tags'",
        "contains",
        field="tags",
    ),
    invalid(
        "query-in-on-tags",
        lambda w: w.t.query({"tags": {"in": ["printer"]}}),
        "'tags'",
        "contains",
        field="tags",
    ),
    invalid("query-limit-0", lambda w: w.t.query(limit=0), "limit", "0", field="limit"),
    invalid("query-limit-5000", lambda w: w.t.query(limit=5000), "5000", "1000", field="limit"),
    invalid(
        "query-limit-text",
        lambda w: w.t.query(limit="10"),  # type: ignore[arg-type]
        "'10'",
        field="limit",
    ),
    invalid(
        "query-unknown-priority",
        lambda w: w.t.query({"priority": {"in": ["P1", "P9"]}}),
        "'P9'",
        field="priority",
    ),
    invalid("query-text-empty", lambda w: w.t.query(text="  "), "text", field="text"),
    invalid(
        "query-order-by-unknown",
        lambda w: w.t.query(order_by="-colour"),
        "'colour'",
        field="colour",
    ),
    invalid(
        "query-order-by-tags",
        lambda w: w.t.query(order_by="tags"),
        "'tags'",
        field="order_by",
    ),
    invalid(
        "query-field-name-not-a-string",
        lambda w: w.t.query({1: "new"}),
        "1",
        "field",
    ),
    _case("cursor-tampered", _tampered_cursor, InvalidCursor, "cursor", field="cursor"),
    _case(
        "cursor-garbage",
        lambda w: w.t.query(cursor="not a cursor!"),
        InvalidCursor,
        "'not a cursor!'",
        field="cursor",
    ),
    _case(
        "cursor-forged-decimal",
        _forged_decimal_cursor,
        InvalidCursor,
        "cursor",
        field="cursor",
    ),
    _case(
        "cursor-from-another-query",
        _cursor_of_other_query,
        InvalidCursor,
        "different query",
        field="cursor",
    ),
    _case(
        "cursor-not-a-string",
        lambda w: w.t.query(cursor=5),  # type: ignore[arg-type]
        InvalidCursor,
        "cursor",
        "5",
        field="cursor",
    ),
]

ACTOR_CASES = [
    invalid(
        "actor-empty",
        lambda w: w.t.open("Actor", actor="", fields={"customer": "ACME"}),
        "actor",
        "empty",
        field="actor",
    ),
    invalid(
        "actor-None",
        lambda w: w.t.comment("HD-1", "hi", actor=None),  # type: ignore[arg-type]
        "actor",
        "NoneType",
        field="actor",
    ),
    invalid(
        "actor-with-newline",
        lambda w: w.t.transition("HD-3", "start", actor="alice\nbob"),
        "actor",
        "U+000A",
        field="actor",
    ),
    invalid(
        "actor-whitespace-on-update",
        lambda w: w.t.update("HD-1", actor="   ", title="x"),
        "actor",
        field="actor",
    ),
    invalid(
        "actor-empty-on-link",
        lambda w: w.t.link("HD-1", "blocks", "HD-3", actor=""),
        "actor",
        field="actor",
    ),
    invalid(
        "watcher-empty",
        lambda w: w.t.watch("HD-1", "", actor="alice"),
        "watcher",
        field="watcher",
    ),
    invalid(
        "assignee-with-newline",
        lambda w: w.t.assign("HD-1", "al\nice", actor="alice"),
        "assignee",
        "U+000A",
        field="assignee",
    ),
    invalid(
        "subscribe-unknown-event-type",
        lambda w: w.t.subscribe(print, "exploded"),
        "'exploded'",
        "status_changed",
    ),
    invalid(
        "subscribe-not-callable",
        lambda w: w.t.subscribe("print"),  # type: ignore[arg-type]
        "callable",
        "'print'",
    ),
]

CONFIG_CASES = [
    invalid("config-prefix-lower-case", lambda w: TrackerConfig(prefix="hd"), "'hd'", "upper-case"),
    invalid(
        "config-default-queue-not-a-queue",
        lambda w: TrackerConfig(queues={"support": "HD"}, default_queue="sales"),
        "'sales'",
        "support",
    ),
    invalid(
        "config-unknown-workflow",
        lambda w: TrackerConfig(workflow="kanban"),
        "'kanban'",
        "helpdesk",
        field="workflow",
    ),
    invalid(
        "config-attachment-limit-not-a-number",
        lambda w: TrackerConfig(max_attachment_size="1MB"),  # type: ignore[arg-type]
        "max_attachment_size",
        "'1MB'",
    ),
    invalid(
        "config-attachment-limit-negative",
        lambda w: TrackerConfig(max_attachment_size=-1),
        "max_attachment_size",
        "-1",
    ),
    invalid(
        "tracker-unknown-setting",
        lambda w: Tracker.in_memory(prefx="HD"),
        "'prefx'",
    ),
    invalid(
        "tracker-config-and-settings",
        lambda w: Tracker(MemoryStore(), config=TrackerConfig(), prefix="HD"),
        "config",
        "settings",
    ),
    invalid("tracker-url-scheme-unknown", lambda w: Tracker.from_url("ftp://x"), "'ftp'"),
    _case(
        "workflow-unreachable-state", _unreachable_workflow, InvalidWorkflow, "'limbo'", "reached"
    ),
    _case("workflow-dead-end-state", _dead_end_workflow, InvalidWorkflow, "'stuck'", "dead end"),
]


def _open_with_reference(reference: object) -> Callable[[World], object]:
    return lambda w: w.t.open(
        "Mail",
        actor="mail",
        fields={"customer": "ACME"},
        reference=reference,  # type: ignore[arg-type]
    )


REFERENCE_CASES = [
    invalid("reference-empty", _open_with_reference(""), "reference", "empty", field="reference"),
    invalid(
        "reference-whitespace", _open_with_reference("  "), "reference", "empty", field="reference"
    ),
    invalid(
        "reference-too-long",
        _open_with_reference("crash:" + "f" * 195),
        "201 characters",
        "200",
        field="reference",
    ),
    invalid(
        "reference-with-newline",
        _open_with_reference("mail:<a@b>\n"),
        "reference",
        "U+000A",
        field="reference",
    ),
    invalid(
        "reference-lone-surrogate",
        _open_with_reference("crash:\udcff"),
        "reference",
        "U+DCFF",
        field="reference",
    ),
    invalid(
        "reference-not-a-string", _open_with_reference(7), "reference", "int", field="reference"
    ),
    invalid(
        "reference-lookup-not-a-string",
        lambda w: w.t.by_reference(None),  # type: ignore[arg-type]
        "reference",
        "NoneType",
        field="reference",
    ),
    _case(
        "reference-taken",
        _open_with_reference(VPN_MAIL),
        DuplicateReference,
        repr(VPN_MAIL),
        "HD-4",
        reference=VPN_MAIL,
        key="HD-4",
    ),
    _case(
        "reference-taken-by-a-merged-duplicate",
        _open_with_reference(VPN_DUPLICATE_MAIL),
        DuplicateReference,
        repr(VPN_DUPLICATE_MAIL),
        "HD-5",
        reference=VPN_DUPLICATE_MAIL,
        key="HD-5",
    ),
    invalid(
        "define-fields-redefined",
        lambda w: w.t.define_fields(
            FieldDef("crash_count", FieldType.INT), FieldDef("count", FieldType.TEXT)
        ),
        "'count'",
        "type",
        field="fields.count",
    ),
    invalid(
        "define-fields-not-a-definition",
        lambda w: w.t.define_fields("count"),  # type: ignore[arg-type]
        "FieldDef",
        "'count'",
        field="fields",
    ),
]

CASES = [
    *TEXT_CASES,
    *PRIORITY_CASES,
    *FIELD_CASES,
    *WORKFLOW_CASES,
    *STALE_CASES,
    *REF_CASES,
    *TIME_CASES,
    *LINK_CASES,
    *ATTACHMENT_CASES,
    *QUEUE_AND_TAG_CASES,
    *QUERY_CASES,
    *ACTOR_CASES,
    *CONFIG_CASES,
    *REFERENCE_CASES,
]


def test_catalogue_is_large_and_ids_are_unique() -> None:
    """The catalogue holds at least 40 distinct bad inputs, each with its own id."""
    ids = [case.id for case in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(case: Case) -> None:
    """The bad call raises the right error, names the problem, and leaves the tracker as it was."""
    world = WORLDS[case.world]()
    before = snapshot(world.tracker)

    with pytest.raises(TicketkitError) as caught:
        case.call(world)

    exc = caught.value
    assert type(exc) is case.error, f"expected {case.error.__name__}, got {exc!r}"
    message = str(exc)
    for needle in case.says:
        assert needle in message, f"{needle!r} not in the message {message!r}"
    for name, value in case.attrs.items():
        assert getattr(exc, name) == value, f"{name}: {getattr(exc, name)!r} != {value!r}"

    assert snapshot(world.tracker) == before
    assert world.published == []
    # Only now, after comparing, may a probe ticket allocate the next key.
    probe = world.tracker.open("Probe", actor="probe", fields=world.probe_fields)
    assert probe.key == f"{world.prefix}-{len(before['tickets']) + 1}"


def test_world_is_well_formed() -> None:
    """The helpdesk world holds what the catalogue relies on."""
    world = helpdesk_world()
    t = world.tracker
    assert [t.get(k).status for k in ("HD-1", "HD-2", "HD-3", "HD-4", "HD-5")] == [
        "new",
        "open",
        "new",
        "resolved",
        "closed",
    ]
    assert t.get("HD-3").linked("child_of") == ["HD-2"]
    assert t.get("HD-2").linked("child_of") == ["HD-1"]
    assert t.get("HD-5").merged_into == "HD-4"
    assert t.by_reference(VPN_MAIL) == t.get("HD-4")
    assert t.by_reference(VPN_DUPLICATE_MAIL) == t.get("HD-5")
    assert len(t.comments("HD-1")) == 2
    assert len(t.attachments("HD-1")) == 1
    assert t.get("HD-2").watchers == {"carol"}
    assert world.clock.now() - START == timedelta(hours=2, minutes=5)


class TestHugeAndNestedValuesInMessages:
    """Error messages show a bounded preview of any value, however big or deep."""

    def test_deeply_nested_custom_field_value(self) -> None:
        from ticketkit import FieldDef, Tracker, ValidationError

        tracker = Tracker.in_memory(fields=[FieldDef("size", "int")])
        deep: list[object] = []
        for _ in range(100_000):
            deep = [deep]
        with pytest.raises(ValidationError, match="custom field 'size' expects") as caught:
            tracker.open("x", actor="a", fields={"size": deep})
        assert len(str(caught.value)) < 200
        assert not tracker.query().items

    def test_huge_queue_and_priority_names(self) -> None:
        from ticketkit import Tracker, ValidationError

        tracker = Tracker.in_memory()
        huge = "q" * 1_000_000
        for kwargs in ({"queue": huge}, {"priority": huge}):
            with pytest.raises(ValidationError) as caught:
                tracker.open("x", actor="a", **kwargs)
            assert len(str(caught.value)) < 300
