"""Views: customers see no internal notes, internal fields or other people's addresses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ticketkit
from ticketkit import ValidationError
from ticketkit._events import Event, EventType
from ticketkit._fields import FieldDef, FieldType
from ticketkit._history import diff_events, replay, snapshot
from ticketkit._model import Attachment, Comment, Link, LinkKind, Ticket
from ticketkit._priority import Priority
from ticketkit.access import (
    SOMEONE,
    Principal,
    Role,
    sees_internal,
    view_attachments,
    view_comments,
    view_events,
    view_ticket,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = {
    fd.name: fd
    for fd in (
        FieldDef("product", FieldType.TEXT),
        FieldDef("triage", FieldType.TEXT, internal=True),
        FieldDef("contact", FieldType.USER),
    )
}
CUSTOMER = Principal("cat@x.example", Role.CUSTOMER, "default")
AGENT = Principal("alice", Role.AGENT, "default", queues={"default"})
ADMIN = Principal("root", Role.ADMIN, "default")
SECRET = "SENTINEL-internal-7f3a"


@pytest.fixture
def tracker() -> Iterator[ticketkit.Tracker]:
    with ticketkit.Tracker.in_memory(prefix="HD") as t:
        t.define_fields(*FIELDS.values())
        yield t


def _busy_ticket(tracker: ticketkit.Tracker) -> Ticket:
    """A ticket of CUSTOMER with an internal note, internal field, other watchers."""
    t = tracker.open(
        "Printer on fire",
        actor="cat@x.example",
        fields={"product": "laser", "triage": SECRET, "contact": "dan@y.example"},
        watchers=["dan@y.example"],
    )
    tracker.comment(t.key, f"Customer seems confused {SECRET}", actor="alice", internal=True)
    tracker.comment(t.key, "We are on it", actor="alice")
    tracker.comment(t.key, "Me too", actor="dan@y.example")
    tracker.assign(t.key, "alice", actor="alice")
    tracker.update(t.key, fields={"triage": f"still {SECRET}"}, actor="alice")
    tracker.watch(t.key, "eve@z.example", actor="alice")
    tracker.watch(t.key, "cat@x.example", actor="cat@x.example")
    tracker.attach(t.key, "smoke.txt", b"smoke", actor="dan@y.example")
    return tracker.get(t.key)


def strings(value: Any) -> Iterator[str]:
    """Every string inside a value: attrs classes, mappings, collections."""
    if isinstance(value, str):
        yield value
    elif attrs.has(type(value)):
        for a in attrs.fields(type(value)):
            yield from strings(getattr(value, a.name))
    elif hasattr(value, "items"):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings(item)


class TestCustomerView:
    def test_ticket_hides_internal_fields_and_other_people(
        self, tracker: ticketkit.Tracker
    ) -> None:
        """The customer's ticket has no internal field, only themselves as watcher,
        and other customers' addresses replaced by 'someone'; agents' names stay."""
        t = _busy_ticket(tracker)
        seen = view_ticket(CUSTOMER, t, FIELDS)
        assert dict(seen.fields) == {"product": "laser", "contact": SOMEONE}
        assert seen.watchers == {"cat@x.example"}
        assert seen.reporter == "cat@x.example"
        assert seen.assignee == "alice"
        assert (seen.title, seen.status, seen.version) == (t.title, t.status, t.version)

    def test_history_hides_internal_notes_fields_and_addresses(
        self, tracker: ticketkit.Tracker
    ) -> None:
        """No event of an internal note or field, no other address anywhere in the history."""
        t = _busy_ticket(tracker)
        full = tracker.history(t.key)
        seen = view_events(CUSTOMER, t, full, FIELDS)
        text = list(strings(seen))
        assert not any(SECRET in s for s in text)
        assert not any("@" in s and s != "cat@x.example" for s in text)
        assert [e.type for e in seen].count(EventType.COMMENTED) == 2
        assert all(e.data.get("internal") is not True for e in seen)
        assert not any(e.field == "fields.triage" for e in seen)
        watcher_events = [e for e in seen if e.field == "watchers"]
        assert len(watcher_events) == 1
        assert watcher_events[0].data["added"] == ["cat@x.example"]
        opened = seen[0].data["ticket"]
        assert opened["fields"] == {"product": "laser", "contact": SOMEONE}
        assert opened["watchers"] == []
        assert {e.actor for e in seen} == {"cat@x.example", "alice", SOMEONE}

    def test_comments_hide_internal_notes_and_authors(self, tracker: ticketkit.Tracker) -> None:
        """Customers read public replies only, with other customers' names hidden."""
        t = _busy_ticket(tracker)
        seen = view_comments(CUSTOMER, t, tracker.comments(t.key))
        assert [(c.author, c.body) for c in seen] == [
            ("alice", "We are on it"),
            (SOMEONE, "Me too"),
        ]

    def test_attachments_hide_the_uploader(self, tracker: ticketkit.Tracker) -> None:
        """An attachment shows who uploaded it only if that is the viewer or staff."""
        t = _busy_ticket(tracker)
        seen = view_attachments(CUSTOMER, t, tracker.attachments(t.key))
        assert [a.uploaded_by for a in seen] == [SOMEONE]
        assert [a.filename for a in seen] == ["smoke.txt"]

    def test_undefined_fields_are_not_shown(self) -> None:
        """A field the tracker does not define is left out of the customer view."""
        t = _ticket(fields={"old_field": "x", "product": "laser"})
        assert dict(view_ticket(CUSTOMER, t, FIELDS).fields) == {"product": "laser"}

    def test_redacted_by_is_hidden_too(self) -> None:
        """Who redacted a comment is a name like any other."""
        c = Comment(1, 1, "HD-1", "dan@y.example", "[redacted]", NOW, False, NOW, "boss@x.example")
        (seen,) = view_comments(CUSTOMER, _ticket(), [c])
        assert (seen.author, seen.redacted_by) == (SOMEONE, SOMEONE)


class TestLinks:
    def test_customers_see_links_only_to_tickets_they_may_see(self) -> None:
        """Without keys no link is shown; with keys only the accepted ones."""
        t = _ticket(
            links=frozenset({Link(LinkKind.RELATES, "HD-2"), Link(LinkKind.BLOCKS, "HD-3")})
        )
        assert view_ticket(CUSTOMER, t, FIELDS).links == frozenset()
        shown = view_ticket(CUSTOMER, t, FIELDS, keys=lambda key: key == "HD-2")
        assert shown.links == {Link(LinkKind.RELATES, "HD-2")}

    def test_link_events_are_filtered_the_same_way(self) -> None:
        """Link events name only visible tickets, and vanish when none is left."""
        before = _ticket()
        after = attrs.evolve(before, version=2, links=frozenset({Link(LinkKind.RELATES, "HD-9")}))
        events = diff_events(before, after, actor="alice", at=NOW)
        assert view_events(CUSTOMER, before, events, FIELDS) == []
        (shown,) = view_events(CUSTOMER, before, events, FIELDS, keys={"HD-9"}.__contains__)
        assert shown.data["added"] == [["relates", "HD-9"]]


class TestStaff:
    def test_staff_see_everything_unchanged(self, tracker: ticketkit.Tracker) -> None:
        """Agents and admins get the very objects they gave."""
        t = _busy_ticket(tracker)
        events = tracker.history(t.key)
        comments = tracker.comments(t.key)
        for who in (AGENT, ADMIN):
            assert view_ticket(who, t, FIELDS) is t
            assert view_events(who, t, events, FIELDS) == events
            assert view_comments(who, t, comments) == comments
            assert sees_internal(who, t)
        assert not sees_internal(CUSTOMER, t)

    def test_staff_names_can_be_given(self) -> None:
        """With staff given, only those names (and the viewer) are shown to customers."""
        t = _ticket(assignee="alice@helpdesk.example", reporter="cat@x.example")
        assert view_ticket(CUSTOMER, t, FIELDS).assignee == SOMEONE
        shown = view_ticket(CUSTOMER, t, FIELDS, staff={"alice@helpdesk.example"})
        assert shown.assignee == "alice@helpdesk.example"
        hidden = view_ticket(CUSTOMER, attrs.evolve(t, assignee="alice"), FIELDS, staff=())
        assert hidden.assignee == SOMEONE
        by_function = view_ticket(
            CUSTOMER, t, FIELDS, staff=lambda n: n.endswith("@helpdesk.example")
        )
        assert by_function.assignee == "alice@helpdesk.example"

    @pytest.mark.parametrize("bad", ["alice", 42])
    def test_bad_staff_is_refused(self, bad: Any) -> None:
        """staff must be a collection of names or a function."""
        with pytest.raises(ValidationError, match="staff must be"):
            view_ticket(CUSTOMER, _ticket(), FIELDS, staff=bad)

    def test_a_policy_decides_who_reads_internal(self) -> None:
        """A policy granting read_internal to customers shows them everything."""
        t = _ticket(fields={"triage": SECRET})
        assert view_ticket(CUSTOMER, t, FIELDS, policy=lambda *a: True) is t

    def test_other_tenant_gets_the_customer_view(self) -> None:
        """An agent of another tenant is not shown internals (the tenant check comes first)."""
        stranger = Principal("alice", Role.AGENT, "globex", queues={"default"})
        t = _ticket(fields={"triage": SECRET})
        assert "triage" not in view_ticket(stranger, t, FIELDS).fields


def _ticket(**changes: Any) -> Ticket:
    base = Ticket(
        id=1,
        key="HD-1",
        title="Printer on fire",
        description="",
        status="new",
        priority=Priority.P3,
        reporter="cat@x.example",
        queue="default",
        created=NOW,
        updated=NOW,
        version=1,
    )
    return attrs.evolve(base, **changes)


# -- property: no address but the viewer's own or a staff member's ---------------------

ADDRESSES = ["cat@x.example", "dan@y.example", "eve@z.example", "alice@helpdesk.example"]
STAFF = frozenset({"alice@helpdesk.example", "bob"})
NAMES = [*ADDRESSES, "bob"]
people = st.sampled_from(NAMES)
secrets = st.sampled_from([f"{SECRET}-1", f"{SECRET}-2"])


@st.composite
def scenes(draw: st.DrawFn) -> tuple[Ticket, list[Event], list[Comment], list[Attachment]]:
    opened = _ticket(
        reporter=draw(people),
        assignee=draw(st.none() | people),
        watchers=draw(st.frozensets(people)),
        fields={
            "product": "laser",
            "triage": draw(secrets),
            "contact": draw(people),
        },
    )
    events = [
        Event(1, "HD-1", 1, EventType.OPENED, draw(people), NOW, data={"ticket": snapshot(opened)})
    ]
    current = opened
    for version in range(2, draw(st.integers(2, 6))):
        new = attrs.evolve(
            current,
            version=version,
            assignee=draw(st.none() | people),
            watchers=draw(st.frozensets(people)),
            fields={**current.fields, "contact": draw(people), "triage": draw(secrets)},
        )
        events += diff_events(current, new, actor=draw(people), at=NOW)
        current = new
    comments = [
        Comment(i, 1, "HD-1", draw(people), f"reply {i}", NOW, draw(st.booleans()))
        for i in range(draw(st.integers(0, 3)))
    ]
    attachments = [
        Attachment(i, 1, "HD-1", "a.txt", "text/plain", 1, "0" * 64, draw(people), NOW)
        for i in range(draw(st.integers(0, 2)))
    ]
    return current, events, comments, attachments


@given(scenes(), st.sampled_from(ADDRESSES[:3]), st.booleans())
def test_a_customer_view_names_only_the_viewer_and_staff(
    scene: tuple[Ticket, list[Event], list[Comment], list[Attachment]],
    me: str,
    give_staff: bool,
) -> None:
    """Whatever the ticket and history, a customer's view holds no other customer's address;
    given the staff, no name but the viewer's and staff's (internal values never show)."""
    t, events, comments, attachments = scene
    viewer = Principal(me, Role.CUSTOMER, "default")
    staff = STAFF if give_staff else None
    shown = [
        view_ticket(viewer, t, FIELDS, staff=staff),
        view_events(viewer, t, events, FIELDS, staff=staff),
        view_comments(viewer, t, comments, staff=staff),
        view_attachments(viewer, t, attachments, staff=staff),
    ]
    allowed = {me, *STAFF, SOMEONE}
    for text in strings(shown):
        if text in NAMES:
            assert text in allowed, text
    if give_staff:
        # Comment bodies are free text and shown as written; everything else is a name.
        names = (
            set(strings(shown[:2]))
            | {c.author for c in shown[2]}
            | {a.uploaded_by for a in shown[3]}
        )
        assert names & set(NAMES) <= allowed


@given(scenes(), st.sampled_from(ADDRESSES[:3]))
def test_a_customer_history_replays_to_the_customer_ticket(
    scene: tuple[Ticket, list[Event], list[Comment], list[Attachment]], me: str
) -> None:
    """Replaying the history a customer sees gives the ticket the customer sees."""
    t, events, _, _ = scene
    viewer = Principal(me, Role.CUSTOMER, "default")
    replayed = replay(view_events(viewer, t, events, FIELDS))
    expected = view_ticket(viewer, t, FIELDS)
    assert replayed == attrs.evolve(expected, version=replayed.version, updated=replayed.updated)
