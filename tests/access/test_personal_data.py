"""Personal data: redaction, erasure and export, on the memory store and every SQL backend.

After a redaction or an erasure the removed text or address must be nowhere in
the store: not in the ticket, its events (old and new values, the ``opened``
snapshot), its comments or the search index. On SQLite every table is read
back row by row to prove it; on every store the trusted Tracker's reads and
search are checked, and replaying the history still gives the stored ticket.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from access.world import BACKENDS, tracker_on
from ticketkit import (
    Automation,
    NotFound,
    Notifications,
    PermissionDenied,
    Tracker,
    ValidationError,
)
from ticketkit._history import replay
from ticketkit.access import Principal, Role
from ticketkit.notify import CallbackNotifier, Notification
from ticketkit.serde import unstructure

A = "default"
ADMIN = Principal("root", Role.ADMIN, A)
LEAD = Principal("lead", Role.TEAM_LEAD, A, queues={"support"})
AGENT = Principal("ann", Role.AGENT, A, queues={"support"})
SECRET = "xylophonesecret"
PERSON = "dora@customer.example"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def tracker(backend: str, tmp_path: Path) -> Iterator[Tracker]:
    with tracker_on(backend, tmp_path) as tracker:
        yield tracker


def everything(tracker: Tracker) -> str:
    """Every row of every table (SQL stores), or every record (memory), as one text."""
    url = getattr(getattr(tracker.store, "engine", None), "url", None)
    if url is None:
        return _memory_text(tracker)
    engine = create_engine(url)
    try:
        parts: list[str] = []
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                rows = conn.execute(text(f"SELECT * FROM {table}")).fetchall()
                parts.extend(repr(tuple(row)) for row in rows)
        return "\n".join(parts)
    finally:
        engine.dispose()


def _memory_text(tracker: Tracker) -> str:
    """Walk the memory store's objects (its state, search index, everything they hold)."""
    seen: set[int] = set()
    parts: list[str] = []

    def walk(value: Any, depth: int) -> None:
        if id(value) in seen or depth > 12:
            return
        seen.add(id(value))
        if isinstance(value, str | bytes | int | float | bool) or value is None:
            parts.append(repr(value))
        elif isinstance(value, dict | types.MappingProxyType):
            for k, v in value.items():
                walk(k, depth + 1)
                walk(v, depth + 1)
        elif isinstance(value, list | tuple | set | frozenset):
            for v in value:
                walk(v, depth + 1)
        else:
            parts.append(repr(value))
            for name in getattr(value, "__slots__", ()):
                walk(getattr(value, name, None), depth + 1)
            walk(getattr(value, "__dict__", None), depth + 1)

    walk(tracker.store, 0)
    return "\n".join(parts)


def trusted_text(tracker: Tracker, *keys: str) -> str:
    parts = []
    for key in keys:
        ticket = tracker.get(key)
        parts.append(repr(ticket))
        parts.append(json.dumps([unstructure(e) for e in tracker.history(key)]))
        parts.append(repr(tracker.comments(key)))
        parts.append(repr(tracker.attachments(key)))
    return "\n".join(parts)


def replays(tracker: Tracker, key: str) -> None:
    assert replay(tracker.history(key)) == tracker.get(key)


class TestRedactComment:
    def test_body_gone_everywhere(self, tracker: Tracker) -> None:
        """The body leaves the comment, the search index and every table; the event stays."""
        t = tracker.open("Login fails", actor=PERSON, tenant=A)
        tracker.comment(t.key, "my password is ok", actor=PERSON)
        bad = tracker.comment(t.key, f"my password is {SECRET}", actor=PERSON)
        assert [h.ticket.key for h in tracker.search(SECRET)] == [t.key]
        session = tracker.session(LEAD)
        redacted = session.redact_comment(t.key, bad.id)
        assert redacted.body == ""
        assert redacted.redacted_by == "lead"
        assert redacted.redacted_at is not None
        comments = tracker.comments(t.key)
        assert [c.body for c in comments] == ["my password is ok", ""]
        assert comments[1].redacted_by == "lead"
        assert comments[1].author == PERSON
        assert tracker.search(SECRET) == []
        assert SECRET not in trusted_text(tracker, t.key)
        assert SECRET not in everything(tracker)
        event = tracker.history(t.key)[-1]
        assert (event.type.value, event.actor, event.data["comment_id"]) == (
            "redacted",
            "lead",
            bad.id,
        )
        replays(tracker, t.key)

    def test_needs_redact_permission(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor=PERSON, tenant=A)
        c = tracker.comment(t.key, SECRET, actor=PERSON)
        with pytest.raises(PermissionDenied, match="redact"):
            tracker.session(AGENT).redact_comment(t.key, c.id)
        assert tracker.comments(t.key)[0].body == SECRET

    def test_comment_of_another_ticket_is_not_found(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor=PERSON, tenant=A)
        other = tracker.open("y", actor=PERSON, tenant=A)
        c = tracker.comment(other.key, SECRET, actor=PERSON)
        with pytest.raises(NotFound):
            tracker.session(ADMIN).redact_comment(t.key, c.id)
        assert tracker.comments(other.key)[0].body == SECRET

    def test_customers_see_the_redaction_not_the_text(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor=PERSON, tenant=A)
        c = tracker.comment(t.key, SECRET, actor=PERSON)
        tracker.session(ADMIN).redact_comment(t.key, c.id)
        customer = tracker.session(Principal(PERSON, Role.CUSTOMER, A))
        (shown,) = customer.comments(t.key)
        assert shown.body == ""
        assert shown.redacted_at is not None
        assert customer.search(SECRET) == []


class TestRedactField:
    def test_custom_field_cleared_in_past_and_snapshot(self, tracker: Tracker) -> None:
        t = tracker.open(
            "Card problem", actor=PERSON, tenant=A, fields={"product": f"card {SECRET}"}
        )
        tracker.update(t.key, actor="ann", fields={"product": f"card {SECRET} again"})
        new = tracker.session(ADMIN).redact_field(t.key, "product")
        assert "product" not in new.fields
        assert "product" not in tracker.get(t.key).fields
        assert SECRET not in trusted_text(tracker, t.key)
        assert SECRET not in everything(tracker)
        last = tracker.history(t.key)[-1]
        assert (last.type.value, last.actor, last.field) == ("redacted", "root", "fields.product")
        replays(tracker, t.key)

    def test_description(self, tracker: Tracker) -> None:
        t = tracker.open("Help", f"call me on {SECRET}", actor=PERSON, tenant=A)
        tracker.update(t.key, actor="ann", description=f"still {SECRET}")
        tracker.session(ADMIN).redact_field(t.key, "description")
        assert tracker.get(t.key).description == "[redacted]"
        assert tracker.search(SECRET) == []
        assert SECRET not in everything(tracker)
        replays(tracker, t.key)

    def test_unknown_field_is_refused(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor=PERSON, tenant=A)
        with pytest.raises(ValidationError):
            tracker.session(ADMIN).redact_field(t.key, "status")


class TestErasePerson:
    def _world(self, tracker: Tracker) -> tuple[str, str, str]:
        own = tracker.open(
            "Dora's printer",
            "it jams",
            actor=PERSON,
            tenant=A,
            fields={"contact": PERSON},
            watchers=["zed@other.example"],
        )
        tracker.comment(own.key, f"I tried {SECRET}", actor=PERSON)
        tracker.comment(own.key, "Agent reply", actor="ann")
        tracker.attach(own.key, "log.txt", b"log", actor=PERSON)
        # Free text of hers in event data: a time entry's note.
        tracker.log_time(own.key, "5m", actor=PERSON, note=f"phoned about {SECRET}")
        tracker.log_time(own.key, "5m", actor="ann", note="ann's own note")
        watched = tracker.open("Someone else's", actor="zed@other.example", tenant=A)
        tracker.watch(watched.key, PERSON, actor="ann")
        tracker.assign(watched.key, PERSON, actor="ann")
        tracker.assign(watched.key, "ann", actor="ann")  # a past assignee, in events only
        untouched = tracker.open("Not about Dora", actor="zed@other.example", tenant=A)
        # Dora helps write the knowledge base too: an article of hers, edited by her and
        # by ann, one of ann's she edited, and her link of an article to her ticket.
        kb = tracker.kb
        hers = kb.create("Printer jams", "Open tray 2.", actor=PERSON, tenant=A, status="published")
        kb.edit(hers.id, actor=PERSON, body="Open tray 2 and pull.", note="clearer")
        kb.edit(hers.id, actor="ann", tags=["printer"])
        anns = kb.create("Toner smudges", "Shake the toner.", actor="ann", tenant=A)
        kb.edit(anns.id, actor=PERSON, title="Toner smudges pages")
        kb.link(own.key, hers.id, actor=PERSON)
        kb.link(watched.key, anns.id, actor="ann")
        return own.key, watched.key, untouched.key

    def test_address_replaced_everywhere(self, tracker: Tracker) -> None:
        own, watched, untouched = self._world(tracker)
        before = tracker.history(untouched)
        alias = tracker.session(ADMIN).erase_person(PERSON)
        assert alias.startswith("erased-")
        assert PERSON not in alias
        assert PERSON not in trusted_text(tracker, own, watched, untouched)
        assert SECRET not in trusted_text(tracker, own, watched)
        t = tracker.get(own)
        assert t.reporter == alias
        assert t.fields["contact"] == alias
        assert tracker.get(watched).watchers == {alias}
        mine = [c for c in tracker.comments(own) if c.author == alias]
        assert [c.body for c in mine] == [""]
        notes = [(e.agent, e.note) for e in tracker.time_log(own).entries]
        assert notes == [(alias, None), ("ann", "ann's own note")]
        assert mine[0].redacted_by == "root"
        assert [c.author for c in tracker.comments(own)][1] == "ann"
        for key in (own, watched):
            erased = [e for e in tracker.history(key) if e.type.value == "erased"]
            assert len(erased) == 1
            assert erased[0].actor == "root"
            replays(tracker, key)
        assert tracker.history(untouched) == before
        assert tracker.search(SECRET) == []

    def test_nothing_left_in_any_table(self, tracker: Tracker) -> None:
        """Read back every row: the address and the erased comment text are gone, from the
        knowledge base (articles, revisions, solutions, search index) too."""
        self._world(tracker)
        assert PERSON in everything(tracker)
        tracker.session(ADMIN).erase_person(PERSON)
        dump = everything(tracker)
        assert SECRET not in dump
        assert PERSON not in dump

    def test_knowledge_base_names_the_pseudonym(self, tracker: Tracker) -> None:
        """Her articles, her versions and her links name the pseudonym; the texts, the other
        authors, and her articles in another tenant stay as they were."""
        own, watched, _ = self._world(tracker)
        elsewhere = tracker.kb.create("Globex VPN", "Reconnect.", actor=PERSON, tenant="globex")
        alias = tracker.session(ADMIN).erase_person(PERSON)
        kb = tracker.kb
        hers, anns = kb.articles(tenant=A)
        assert (hers.author, hers.updated_by) == (alias, "ann")
        assert (anns.author, anns.updated_by) == ("ann", alias)
        assert [r.author for r in kb.history(hers.id)] == [alias, alias, "ann"]
        assert [r.author for r in kb.history(anns.id)] == ["ann", alias]
        assert [r.body for r in kb.history(hers.id)][1:] == ["Open tray 2 and pull."] * 2
        assert [s.linked_by for s in kb.solved(hers.id)] == [alias]
        assert [s.linked_by for s in kb.solved(anns.id)] == ["ann"]
        assert [a.key for a in kb.solutions(own)] == [hers.key]
        assert [a.key for a in kb.solutions(watched)] == [anns.key]
        assert [h.article.key for h in kb.search("tray", tenant=A)] == [hers.key]
        linked = [e for e in tracker.history(own) if e.type.value == "solution_linked"]
        assert [e.actor for e in linked] == [alias]
        assert kb.get(elsewhere.id) == elsewhere

    def test_notifications_forget_the_person(self, tracker: Tracker) -> None:
        """Queued and sent notifications to the person name the pseudonym afterwards."""
        sent: list[Notification] = []
        tracker.notifiers["email"] = CallbackNotifier(sent.append)
        tracker.automation = Automation(notifications=Notifications(), deliver_inline=False)
        own, _, _ = self._world(tracker)
        tracker.deliver_notifications()
        tracker.transition(own, "start", actor="ann")  # queued, not yet sent
        assert PERSON in repr(tracker.store.outbox())
        alias = tracker.session(ADMIN).erase_person(PERSON)
        assert PERSON not in everything(tracker)
        assert alias in repr(tracker.store.outbox(pending=True))
        assert any(PERSON in n.recipients for n in sent)  # what left before cannot be recalled

    def test_access_log_forgets_the_person(self, tracker: Tracker) -> None:
        """Denials of the person, and of others about the person, name the pseudonym."""
        own, _, _ = self._world(tracker)
        other = tracker.open("Globex's", actor="gus@globex.example", tenant="globex")
        customer = tracker.session(Principal(PERSON, Role.CUSTOMER, A))
        with pytest.raises(PermissionDenied):
            customer.redact_field(own, "product")
        with pytest.raises(PermissionDenied):
            tracker.session(LEAD).erase_person(PERSON)
        with pytest.raises(NotFound):  # not theirs: refused, and logged, as if missing
            tracker.session(Principal(PERSON, Role.CUSTOMER, "globex")).get(other.key)
        before = tracker.store.denials(tenant="globex")
        assert [d.principal for d in before] == [PERSON]
        assert any(PERSON in repr(d) for d in tracker.store.denials(tenant=A))
        alias = tracker.session(ADMIN).erase_person(PERSON)
        denials = tracker.store.denials(tenant=A)
        assert [d.principal for d in denials] == ["lead", alias]
        assert denials[0].target == alias
        assert PERSON not in repr(denials)
        assert tracker.store.denials(tenant="globex") == before  # another tenant's log stays

    def test_only_admins_erase(self, tracker: Tracker) -> None:
        own, _, _ = self._world(tracker)
        with pytest.raises(PermissionDenied, match="erase"):
            tracker.session(LEAD).erase_person(PERSON)
        assert tracker.get(own).reporter == PERSON


class TestExportPerson:
    def test_their_tickets_comments_events_as_json(self, tracker: Tracker) -> None:
        own = tracker.open("Dora's", actor=PERSON, tenant=A)
        tracker.comment(own.key, "hello from dora", actor=PERSON)
        watched = tracker.open("Watched", actor="zed@other.example", tenant=A)
        tracker.watch(watched.key, PERSON, actor="ann")
        tracker.open("Other tenant", actor=PERSON, tenant="globex")
        data = tracker.session(ADMIN).export_person(PERSON)
        text = json.dumps(data)  # JSON-ready as it is
        assert json.loads(text) == data
        assert {t["key"] for t in data["tickets"]} == {own.key, watched.key}
        assert [c["body"] for c in data["comments"]] == ["hello from dora"]
        assert {e["ticket_key"] for e in data["events"]} == {own.key}
        assert "Other tenant" not in text

    def test_their_articles_revisions_and_solution_links(self, tracker: Tracker) -> None:
        """Articles they wrote or edited, their own revisions and the links they made."""
        ticket = tracker.open("Printer jams", actor="zed@other.example", tenant=A)
        written = tracker.kb.create("Clear a jam", "Open tray 2.", actor=PERSON, tenant=A)
        edited = tracker.kb.create("Reset the spooler", "Restart it.", actor="ann", tenant=A)
        tracker.kb.edit(edited.key, body="Restart the service.", actor=PERSON)
        tracker.kb.create("Unrelated", "Nothing of dora.", actor="ann", tenant=A)
        tracker.kb.create("Other tenant", "By dora.", actor=PERSON, tenant="globex")
        tracker.kb.link(ticket.key, written.key, actor=PERSON)
        data = tracker.session(ADMIN).export_person(PERSON)
        assert json.loads(json.dumps(data)) == data
        assert [a["key"] for a in data["articles"]] == [written.key, edited.key]
        assert [(r["article_id"], r["version"]) for r in data["article_revisions"]] == [
            (written.id, 1),
            (edited.id, 2),
        ]
        assert [(s["ticket_key"], s["linked_by"]) for s in data["solutions"]] == [
            (ticket.key, PERSON)
        ]
        assert "Other tenant" not in json.dumps(data)

    def test_only_with_export_permission(self, tracker: Tracker) -> None:
        with pytest.raises(PermissionDenied, match="export"):
            tracker.session(LEAD).export_person(PERSON)
