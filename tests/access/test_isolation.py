"""Attacks across tenants and roles, on the memory store and every SQL backend.

Each test is one way someone might reach what they may not see or change: a
ticket of another tenant (by key, id, reference, query, search, cursor,
attachment id, link, merge, watch, subscription, export), a ticket of another
customer, an internal note or field, another customer's address, a ticket
outside an agent's queues. Every attempt must raise ``PermissionDenied`` or
return nothing, and a ticket the attacker may not see must be indistinguishable
from one that does not exist: the same ``NotFound`` with the same message.

Every later feature (SLA, knowledge base, suggestions, reports, the web front
end, anything that reads or writes tickets for a principal) adds its own cases
to this suite, run on every backend in ``BACKENDS``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from access.world import (
    B_WORD,
    BACKENDS,
    SECRET_FIELD,
    SECRET_NOTE,
    SECRET_TITLE,
    A,
    B,
    World,
    build,
    tracker_on,
)
from ticketkit import (
    Automation,
    Condition,
    EventType,
    InvalidCursor,
    NotFound,
    Notifications,
    Op,
    PermissionDenied,
    Tracker,
    ValidationError,
)
from ticketkit.access import Principal, Role
from ticketkit.notify import CallbackNotifier, Notification, Templates
from ticketkit.rules import (
    AddTag,
    Agent,
    EscalationLevel,
    EscalationPolicy,
    Note,
    OnEvent,
    Router,
    Rule,
)
from ticketkit.sla import SLAPolicy, Target, TargetKind

B_PEOPLE = ("bob@b.example", "ben", "root-b")
MISSING_KEY = "HD-9999"
MISSING_ID = 999_999


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp(request.param)
    with tracker_on(request.param, tmp) as tracker:
        yield build(tracker)


def dump(value: Any) -> str:
    """Everything an attacker got back, as text, to look for sentinels in."""
    return repr(value)


def state(world: World, *names: str) -> list[Any]:
    """What the trusted tracker holds for these tickets (to check nothing changed)."""
    t = world.tracker
    return [
        (t.get(world.keys[n]), t.history(world.keys[n]), t.comments(world.keys[n])) for n in names
    ]


def hidden_like_missing(call: Callable[[Any], object], hidden: Any, missing: Any) -> None:
    """``call(hidden)`` fails exactly as ``call(missing)`` does, up to the reference itself."""
    with pytest.raises(NotFound) as seen_hidden:
        call(hidden)
    with pytest.raises(NotFound) as seen_missing:
        call(missing)
    assert type(seen_hidden.value) is type(seen_missing.value)
    shown_hidden, shown_missing = (
        (str(r).strip().upper(), str(r).strip().upper()) for r in (hidden, missing)
    )
    expected = str(seen_missing.value).replace(shown_missing[0], shown_hidden[0])
    assert str(seen_hidden.value) == expected


@pytest.mark.parametrize("who", B_PEOPLE)
class TestOtherTenantReads:
    """Nothing of tenant A can be read by anyone of tenant B, admins included."""

    def test_get_by_key(self, world: World, who: str) -> None:
        """Another tenant's key is a missing key."""
        s = world.session(who)
        for name in ("a1", "a2", "crash"):
            hidden_like_missing(s.get, world.keys[name], MISSING_KEY)

    def test_get_by_key_in_other_spellings(self, world: World, who: str) -> None:
        """Lower case and spaces resolve to the same missing ticket."""
        s = world.session(who)
        key = world.keys["a1"]
        hidden_like_missing(s.get, f" {key.lower()} ", MISSING_KEY.lower())

    def test_get_by_id(self, world: World, who: str) -> None:
        """Another tenant's id is a missing id."""
        s = world.session(who)
        hidden_like_missing(s.get, world.ids["a1"], MISSING_ID)

    def test_query(self, world: World, who: str) -> None:
        """Queries return only the principal's tenant, whatever they filter on."""
        s = world.session(who)
        a_keys = {world.keys[n] for n in ("a1", "a2", "a_billing", "crash")}
        for where in (
            None,
            {"key": world.keys["a1"]},
            {"id": world.ids["a1"]},
            {"reporter": who},
            {"tags": {"contains": "crash"}},
        ):
            try:
                page = s.query(where)
            except ValidationError:
                continue  # refused outright is fine too
            assert not {t.key for t in page} & a_keys
        assert not s.query(text=SECRET_TITLE).items
        assert not s.query({"tenant": A}).items
        widen = Condition("any", Op.ANY, (Condition("tenant", Op.EQ, A),))
        assert not s.query([widen]).items

    def test_search(self, world: World, who: str) -> None:
        """Search hits never include another tenant's ticket, even on its unique words."""
        s = world.session(who)
        for text in (SECRET_TITLE, SECRET_NOTE, "printer fire", "database password"):
            assert s.search(text) == []

    def test_history_and_as_of(self, world: World, who: str) -> None:
        s = world.session(who)
        hidden_like_missing(s.history, world.keys["a1"], MISSING_KEY)
        later = datetime.now(UTC) + timedelta(days=1)
        hidden_like_missing(lambda r: s.as_of(r, later), world.keys["a1"], MISSING_KEY)

    def test_comments_and_internal_notes(self, world: World, who: str) -> None:
        s = world.session(who)
        hidden_like_missing(s.comments, world.keys["a1"], MISSING_KEY)
        hidden_like_missing(lambda r: s.comments(r, internal=True), world.ids["a1"], MISSING_ID)

    def test_attachments(self, world: World, who: str) -> None:
        s = world.session(who)
        hidden_like_missing(s.attachments, world.keys["a1"], MISSING_KEY)

    def test_attachment_content_by_guessed_id(self, world: World, who: str) -> None:
        """Every attachment id of tenant A reads as a missing one."""
        s = world.session(who)
        own = world.attachments["b1"]
        for guess in range(1, own + 5):
            if guess == own:
                continue
            hidden_like_missing(s.attachment_content, guess, MISSING_ID)

    def test_by_reference(self, world: World, who: str) -> None:
        s = world.session(who)
        assert s.by_reference("mail-a-1") is None
        crash = world.tracker.get(world.keys["crash"])
        assert crash.tenant == A
        assert world.tracker.by_reference(world.crash_reference) == crash
        assert s.by_reference(world.crash_reference) is None

    def test_available_actions(self, world: World, who: str) -> None:
        s = world.session(who)
        hidden_like_missing(s.available_actions, world.keys["a1"], MISSING_KEY)


class TestCrashTickets:
    """Crash-report tickets belong to the tenant whose tracker filed them."""

    def test_crash_ticket_is_tenant_a(self, world: World) -> None:
        crash = world.tracker.get(world.keys["crash"])
        assert crash.tenant == A
        assert "crash" in crash.tags
        assert any(name.startswith("crash_") for name in crash.fields)

    @pytest.mark.parametrize("who", B_PEOPLE)
    def test_invisible_to_other_tenant(self, world: World, who: str) -> None:
        s = world.session(who)
        hidden_like_missing(s.get, world.keys["crash"], MISSING_KEY)
        hidden_like_missing(s.attachments, world.keys["crash"], MISSING_KEY)
        assert not s.query({"tags": {"contains": "crash"}}).items
        assert s.search("RuntimeError database password rejected") == []

    def test_visible_to_tenant_a_admin(self, world: World) -> None:
        """The control: the same calls do find it inside its tenant."""
        s = world.session("root-a")
        assert s.get(world.keys["crash"]).key == world.keys["crash"]
        assert [t.key for t in s.query({"tags": {"contains": "crash"}})] == [world.keys["crash"]]


@pytest.mark.parametrize("who", ["ben", "root-b"])
class TestOtherTenantWrites:
    """No write reaches another tenant's ticket, and nothing changes when one is tried."""

    def test_transition_assign_update_comment(self, world: World, who: str) -> None:
        s = world.session(who)
        before = state(world, "a1")
        key = world.keys["a1"]
        hidden_like_missing(lambda r: s.transition(r, "start"), key, MISSING_KEY)
        hidden_like_missing(lambda r: s.assign(r, who), key, MISSING_KEY)
        hidden_like_missing(lambda r: s.update(r, title="pwned"), key, MISSING_KEY)
        hidden_like_missing(lambda r: s.comment(r, "hello"), key, MISSING_KEY)
        hidden_like_missing(lambda r: s.comment(r, "psst", internal=True), key, MISSING_KEY)
        hidden_like_missing(lambda r: s.attach(r, "x.txt", b"x"), key, MISSING_KEY)
        assert state(world, "a1") == before

    def test_link_to_foreign_ticket(self, world: World, who: str) -> None:
        """Linking from one's own ticket to a foreign one finds no such ticket."""
        s = world.session(who)
        before = state(world, "a1", "b1")
        own, foreign = world.keys["b1"], world.keys["a1"]
        hidden_like_missing(lambda r: s.link(own, "relates", r), foreign, MISSING_KEY)
        hidden_like_missing(lambda r: s.link(r, "blocks", own), foreign, MISSING_KEY)
        assert state(world, "a1", "b1") == before

    def test_merge_across_tenants(self, world: World, who: str) -> None:
        s = world.session(who)
        before = state(world, "a1", "b1")
        own, foreign = world.keys["b1"], world.keys["a1"]
        hidden_like_missing(lambda r: s.merge(own, r), foreign, MISSING_KEY)
        hidden_like_missing(lambda r: s.merge(r, own), foreign, MISSING_KEY)
        assert state(world, "a1", "b1") == before

    def test_watch_foreign_ticket(self, world: World, who: str) -> None:
        s = world.session(who)
        before = state(world, "a1")
        hidden_like_missing(s.watch, world.keys["a1"], MISSING_KEY)
        hidden_like_missing(s.unwatch, world.keys["a1"], MISSING_KEY)
        assert state(world, "a1") == before


class TestOtherTenantPersonalData:
    """Tenant B's administrator can neither read nor change tenant A's people."""

    def test_export_person_has_nothing_of_other_tenant(self, world: World) -> None:
        data = world.session("root-b").export_person("alice@a.example")
        assert data["tickets"] == []
        assert data["comments"] == []
        assert data["events"] == []
        data = world.session("root-b").export_person("ann")
        assert SECRET_NOTE not in json.dumps(data)
        assert data["comments"] == []

    def test_export_is_json_and_own_tenant_only(self, world: World) -> None:
        data = world.session("root-b").export_person("bob@b.example")
        text = json.dumps(data)
        assert B_WORD in text
        assert SECRET_TITLE not in text
        assert SECRET_NOTE not in text
        assert {t["tenant"] for t in data["tickets"]} == {B}

    def test_erase_person_leaves_other_tenant_alone(self, world: World) -> None:
        before = state(world, "a1", "a2")
        world.session("root-b").erase_person("alice@a.example")
        assert state(world, "a1", "a2") == before

    def test_redact_foreign_comment(self, world: World) -> None:
        s = world.session("root-b")
        before = state(world, "a1")
        note = world.comments["a1_note"]
        hidden_like_missing(lambda r: s.redact_comment(r, note), world.keys["a1"], MISSING_KEY)
        hidden_like_missing(lambda r: s.redact_field(r, "triage"), world.keys["a1"], MISSING_KEY)
        assert state(world, "a1") == before


class TestSubscriptions:
    def test_other_tenant_events_never_delivered(self, world: World) -> None:
        """A subscription of tenant B hears B's changes and none of A's."""
        got: list[Any] = []
        sub = world.session("root-b").subscribe(got.append)
        try:
            t = world.tracker.open("A-only event", actor="ann", tenant=A)
            world.tracker.comment(t.key, f"note {SECRET_NOTE}", actor="ann", internal=True)
            b = world.tracker.open("B event", actor="ben", tenant=B)
        finally:
            sub.cancel()
        assert {e.ticket_key for e in got} == {b.key}

    def test_customer_hears_no_internal_note(self, world: World) -> None:
        """A customer's subscription gets no internal-note event and nothing of others' tickets."""
        got: list[Any] = []
        sub = world.session("alice@a.example").subscribe(got.append)
        try:
            key = world.keys["a1"]
            world.tracker.comment(key, f"agents only {SECRET_NOTE}", actor="ann", internal=True)
            world.tracker.comment(world.keys["a2"], "for carol", actor="ann")
            world.tracker.comment(key, "public answer", actor="ann")
        finally:
            sub.cancel()
        assert [e.type.value for e in got] == ["commented"]
        assert all(not e.data.get("internal") for e in got)
        assert {e.ticket_key for e in got} == {world.keys["a1"]}


class TestCursorTampering:
    def _cursor(self, world: World) -> str:
        page = world.session("root-a").query(limit=1)
        assert page.next_cursor is not None
        return page.next_cursor

    @pytest.mark.parametrize("who", B_PEOPLE)
    def test_replayed_cursor(self, world: World, who: str) -> None:
        """A cursor from tenant A's query, replayed by B, is refused or stays in B."""
        s = world.session(who)
        try:
            page = s.query(limit=1, cursor=self._cursor(world))
        except InvalidCursor:
            return
        assert all(t.tenant == B for t in page)

    @pytest.mark.parametrize("who", B_PEOPLE)
    def test_edited_cursor(self, world: World, who: str) -> None:
        """A cursor edited to start anywhere still only pages through B's tickets."""
        s = world.session(who)
        first = s.query(limit=1)
        own = first.next_cursor or self._cursor(world)
        raw = json.loads(base64.urlsafe_b64decode(own + "=" * (-len(own) % 4)))
        for start in (0, 1, world.ids["a1"] - 1):
            raw["v"] = [start]
            forged = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
            try:
                page = s.query(limit=50, cursor=forged)
            except InvalidCursor:
                continue
            assert all(t.tenant == B for t in page)
            assert not {t.key for t in page} & {world.keys["a1"], world.keys["a2"]}


class TestCustomers:
    """Inside one tenant, a customer sees their own tickets and only what customers may."""

    def test_other_customers_ticket_is_missing(self, world: World) -> None:
        s = world.session("carol@a.example")
        hidden_like_missing(s.get, world.keys["a1"], MISSING_KEY)
        hidden_like_missing(s.history, world.keys["a1"], MISSING_KEY)
        hidden_like_missing(lambda r: s.comment(r, "hi"), world.keys["a1"], MISSING_KEY)
        assert world.keys["a1"] not in {t.key for t in s.query()}
        assert s.search(SECRET_TITLE) == []

    def test_sees_no_other_addresses(self, world: World) -> None:
        """Alice's ticket is watched by Dave, another customer: she never sees his address,
        and Dave, who may read it as a watcher, never sees hers."""
        key = world.keys["a1"]
        s = world.session("alice@a.example")
        assert "dave@a.example" not in dump([s.get(key), s.history(key), s.query().items])
        dave = world.tracker.session(Principal("dave@a.example", Role.CUSTOMER, A))
        seen = [dave.get(key), dave.history(key), dave.comments(key), dave.attachments(key)]
        assert "alice@a.example" not in dump(seen)

    def test_no_internal_notes_anywhere(self, world: World) -> None:
        s = world.session("alice@a.example")
        key = world.keys["a1"]
        assert SECRET_NOTE not in dump(s.comments(key))
        assert SECRET_NOTE not in dump(s.comments(key, internal=True))
        assert all(not c.internal for c in s.comments(key))
        assert not any(e.data.get("internal") for e in s.history(key))
        assert s.search(SECRET_NOTE) == []

    def test_no_internal_fields_anywhere(self, world: World) -> None:
        s = world.session("alice@a.example")
        key = world.keys["a1"]
        later = datetime.now(UTC) + timedelta(days=1)
        for seen in (s.get(key), s.as_of(key, later), s.history(key), list(s.query())):
            assert SECRET_FIELD not in dump(seen)
        assert "triage" not in s.get(key).fields
        assert s.get(key).fields["product"] == "laser"

    def test_cannot_filter_or_sort_on_internal_field(self, world: World) -> None:
        """Filtering on a hidden field would reveal its value one guess at a time."""
        s = world.session("alice@a.example")
        with pytest.raises(ValidationError):
            s.query({"fields.triage": {"contains": "quokka"}})
        with pytest.raises(ValidationError):
            s.query(order_by="fields.triage")
        with pytest.raises(ValidationError):
            s.query({"watchers": {"contains": "carol@a.example"}})
        hidden = Condition("fields.triage", Op.CONTAINS, "quokka")
        with pytest.raises(ValidationError):
            s.query([Condition("any", Op.ANY, (hidden,))])

    def test_forbidden_operations_name_the_permission(self, world: World) -> None:
        """On a ticket she may see, a customer's forbidden change is PermissionDenied."""
        s = world.session("alice@a.example")
        key = world.keys["a1"]
        before = state(world, "a1")
        for call, permission in (
            (lambda: s.comment(key, "psst", internal=True), "internal_note"),
            (lambda: s.assign(key, "alice@a.example"), "assign"),
            (lambda: s.transition(key, "resolve"), "transition"),
            (lambda: s.update(key, fields={"triage": "mine"}), "change_field"),
            (lambda: s.redact_comment(key, world.comments["a1_note"]), "redact"),
        ):
            with pytest.raises(PermissionDenied, match=permission):
                call()
        with pytest.raises(PermissionDenied, match="administer"):
            s.denials()
        with pytest.raises(PermissionDenied, match="export"):
            s.export_person("carol@a.example")
        with pytest.raises(PermissionDenied, match="erase"):
            s.erase_person("carol@a.example")
        assert state(world, "a1") == before

    def test_cannot_watch_for_someone_else(self, world: World) -> None:
        s = world.session("alice@a.example")
        before = state(world, "a1")
        with pytest.raises(PermissionDenied):
            s.watch(world.keys["a1"], "mallory@evil.example")
        assert state(world, "a1") == before

    def test_opens_in_own_tenant_and_organisation(self, world: World) -> None:
        s = world.session("bob@b.example")
        t = world.tracker.get(s.open("Mine", "text").key)
        assert (t.tenant, t.organisation, t.reporter) == (B, "globex-corp", "bob@b.example")
        with pytest.raises(ValidationError):
            s.open("Elsewhere", tenant=A)
        hidden_like_missing(world.session("root-a").get, t.key, MISSING_KEY)


class TestAgents:
    def test_agent_outside_the_queue(self, world: World) -> None:
        """An agent of the billing queue does not see the support queue's tickets."""
        s = world.session("olga")
        before = state(world, "a1")
        key = world.keys["a1"]
        hidden_like_missing(s.get, key, MISSING_KEY)
        hidden_like_missing(lambda r: s.transition(r, "start"), key, MISSING_KEY)
        hidden_like_missing(lambda r: s.assign(r, "olga"), key, MISSING_KEY)
        assert key not in {t.key for t in s.query()}
        assert s.search(SECRET_TITLE) == []
        assert s.get(world.keys["a_billing"]).queue == "billing"
        assert state(world, "a1") == before

    def test_merge_into_a_queue_out_of_reach(self, world: World) -> None:
        s = world.session("olga")
        before = state(world, "a1", "a_billing")
        hidden_like_missing(
            lambda r: s.merge(world.keys["a_billing"], r), world.keys["a1"], MISSING_KEY
        )
        assert state(world, "a1", "a_billing") == before

    def test_agent_sees_internal_in_own_queue(self, world: World) -> None:
        """The control: the agent of the queue reads the note and the field."""
        s = world.session("ann")
        assert SECRET_NOTE in dump(s.comments(world.keys["a1"]))
        assert SECRET_FIELD in dump(s.get(world.keys["a1"]))


class TestAccessLog:
    def test_denials_recorded_per_tenant(self, world: World) -> None:
        """Refusals are logged for the refused principal's tenant, and read by its admins only."""
        with pytest.raises(NotFound):
            world.session("carol@a.example").get(world.keys["a1"])
        with pytest.raises(NotFound):
            world.session("bob@b.example").get(world.keys["a1"])
        a_log = world.session("root-a").denials(limit=1000)
        b_log = world.session("root-b").denials(limit=1000)
        assert any(d.principal == "carol@a.example" for d in a_log)
        assert {d.tenant for d in a_log} == {A}
        assert {d.tenant for d in b_log} == {B}
        assert not {d.principal for d in a_log} & {"bob@b.example", "ben", "root-b"}


def test_principal_of_unknown_tenant_sees_nothing(world: World) -> None:
    """An admin of a tenant that holds nothing reads nothing at all."""
    s = world.tracker.session(Principal("root-z", Role.ADMIN, "empty-tenant"))
    assert not s.query().items
    assert s.search("printer globex outage") == []
    for name in ("a1", "b1", "crash"):
        hidden_like_missing(s.get, world.keys[name], MISSING_KEY)


RULE_WORD = "wombatrule"  # only in the internal note an automation rule writes


@contextmanager
def automated(world: World, automation: Automation) -> Iterator[Tracker]:
    """The world's tracker with ``automation`` set, for the length of a test."""
    world.tracker.automation = automation
    try:
        yield world.tracker
    finally:
        world.tracker.automation = None


SLA = SLAPolicy(targets=(Target(TargetKind.RESOLUTION, timedelta(hours=1)),))


class TestAutomation:
    """SLA clocks, rules, escalation, routing and notifications (issue 7) keep to the
    tenant, and show a customer nothing of how the help desk works their ticket."""

    @pytest.mark.parametrize("who", B_PEOPLE)
    def test_sla_status_of_another_tenant(self, world: World, who: str) -> None:
        """Another tenant's SLA clocks are a missing ticket's."""
        with automated(world, Automation(sla=SLA)):
            s = world.session(who)
            hidden_like_missing(s.sla_status, world.keys["a1"], MISSING_KEY)
            hidden_like_missing(s.sla_status, world.ids["a1"], MISSING_ID)

    def test_customers_do_not_read_sla_clocks(self, world: World) -> None:
        """A customer is refused their own ticket's SLA state; its agent reads it."""
        with automated(world, Automation(sla=SLA)):
            with pytest.raises(PermissionDenied):
                world.session("alice@a.example").sla_status(world.keys["a1"])
            assert world.session("ann").sla_status(world.keys["a1"]).targets

    def test_a_customer_sees_nothing_of_the_automation(self, world: World) -> None:
        """Breaches, escalations, rules and their internal notes stay with staff, in the
        history and in every notification the customer gets."""
        sent: list[Notification] = []
        rule = Rule(
            name="triage",
            trigger=OnEvent(frozenset({EventType.COMMENTED}), by="customer"),
            actions=(Note(f"{RULE_WORD} for $key"), AddTag("triaged")),
        )
        templates = Templates().with_template("status_changed", "[$key] $status", "By $assignee")
        automation = Automation(
            sla=SLA,
            rules=[rule],
            escalation=EscalationPolicy(levels=(EscalationLevel("lead", assign_to="lead-a"),)),
            notifications=Notifications(addresses_only=False),
            templates=templates,
        )
        world.tracker.notifiers["email"] = CallbackNotifier(sent.append)
        try:
            with automated(world, automation) as tracker:
                key = tracker.open(
                    "Automated", actor="alice@a.example", tenant=A, organisation="acme"
                ).key
                tracker.assign(key, "ann", actor="ann")
                tracker.comment(key, "Any news?", actor="alice@a.example")
                tracker.transition(key, "start", actor="ann")
                tracker.run_due(datetime.now(UTC) + timedelta(hours=2))
        finally:
            del world.tracker.notifiers["email"]
        staff = world.session("lead-a").history(key)
        hidden = {EventType.SLA_BREACHED, EventType.ESCALATED, EventType.RULE_APPLIED}
        assert hidden <= {e.type for e in staff}
        alice = world.session("alice@a.example")
        seen = [alice.get(key), alice.history(key), alice.comments(key)]
        assert not hidden & {e.type for e in seen[1]}
        assert RULE_WORD not in dump(seen)
        mail = [n for n in sent if "alice@a.example" in n.recipients]
        assert {n.template for n in mail} >= {"created", "status_changed"}
        assert RULE_WORD not in dump(mail)
        # The status template names the assignee: the customer's copy does not.
        assert [n.body for n in mail if n.template == "status_changed"] == ["By someone"]
        assert all(n.ticket_key == key for n in sent)

    def test_routing_never_crosses_tenants(self, world: World) -> None:
        """A router whose only agent is tenant B's leaves tenant A's new ticket unassigned."""
        router = Router(agents=(Agent("ben", tenant=B),))
        with automated(world, Automation(router=router)) as tracker:
            mine = tracker.open("Routed?", actor="alice@a.example", tenant=A)
            theirs = tracker.open("Routed!", actor="bob@b.example", tenant=B)
        assert mine.assignee is None
        assert theirs.assignee == "ben"


KB_DRAFT_WORD = "wombatdraft"  # only in tenant A's draft article
KB_B_WORD = "echidnaarticle"  # only in tenant B's published article
MISSING_ARTICLE = "KB-99999"


@pytest.fixture(scope="module")
def kb_world(world: World) -> dict[str, str]:
    """Tenant A: a published article (the solution of a1) and a draft; tenant B: one article."""
    kb = world.tracker.kb
    made = {
        "a_published": kb.create(
            "Printer fire drill", "Unplug the printer.", actor="lead-a", status="published"
        ).key,
        "a_draft": kb.create(f"Draft {KB_DRAFT_WORD}", f"{KB_DRAFT_WORD} steps", actor="ann").key,
        "b_published": kb.create(
            f"Globex {KB_B_WORD}", "Restart.", actor="ben", status="published", tenant=B
        ).key,
    }
    kb.link(world.keys["a1"], made["a_published"], actor="ann")
    return made


class TestKnowledgeBase:
    @pytest.mark.parametrize("who", B_PEOPLE)
    def test_another_tenants_articles_are_missing(
        self, world: World, kb_world: dict[str, str], who: str
    ) -> None:
        """By key, id, listing, search, solutions and links: tenant A's articles do not exist."""
        kb = world.session(who).kb
        for name in ("a_published", "a_draft"):
            key = kb_world[name]
            hidden_like_missing(kb.get, key, MISSING_ARTICLE)
            hidden_like_missing(kb.get, int(key[3:]), 99999)
            hidden_like_missing(kb.solved, key, MISSING_ARTICLE)
        listed = kb.articles(status=None)
        assert {a.tenant for a in listed} == {B}
        assert kb.search("printer fire drill") == []
        assert kb.search(KB_DRAFT_WORD, status=None) == []
        hidden_like_missing(kb.solutions, world.keys["a1"], MISSING_KEY)

    def test_tenant_a_never_meets_tenant_bs_article(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """Not found, not listed, not searched, not linkable, not suggested."""
        kb = world.session("root-a").kb
        hidden_like_missing(kb.get, kb_world["b_published"], MISSING_ARTICLE)
        assert KB_B_WORD not in dump(kb.articles(status=None))
        assert kb.search(KB_B_WORD) == []
        hidden_like_missing(
            lambda ref: kb.link(world.keys["a2"], ref), kb_world["b_published"], MISSING_ARTICLE
        )
        found = world.tracker.suggest(world.keys["a1"])
        assert KB_B_WORD not in dump(found)

    def test_customers_see_published_articles_only(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """A draft is as missing as no article; listings and searches leave drafts out."""
        kb = world.session("alice@a.example").kb
        assert kb.get(kb_world["a_published"]).title == "Printer fire drill"
        hidden_like_missing(kb.get, kb_world["a_draft"], MISSING_ARTICLE)
        for status in (None, "draft", ["draft", "archived"]):
            assert {a.status.value for a in kb.articles(status=status)} == {"published"}
        assert kb.search(KB_DRAFT_WORD, status=None) == []
        assert KB_DRAFT_WORD not in dump(kb.articles(status="draft"))
        assert [a.key for a in kb.solutions(world.keys["a1"])] == [kb_world["a_published"]]

    def test_customers_write_nothing_and_read_no_history(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """Each write names the permission it lacks; nothing is stored."""
        kb = world.session("alice@a.example").kb
        before = world.tracker.store.articles(limit=1000)
        published = kb_world["a_published"]
        for call, permission in (
            (lambda: kb.create("Mine", "text"), "edit_articles"),
            (lambda: kb.edit(published, title="Hacked"), "edit_articles"),
            (lambda: kb.publish(published), "publish_articles"),
            (lambda: kb.history(published), "edit_articles"),
            (lambda: kb.link(world.keys["a1"], published), "link"),
        ):
            with pytest.raises(PermissionDenied, match=permission):
                call()
        assert world.tracker.store.articles(limit=1000) == before

    def test_customers_never_see_solution_links_in_history(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """Which article staff linked (a draft, maybe) is staff business."""
        staff = {e.type for e in world.session("ann").history(world.keys["a1"])}
        assert EventType.SOLUTION_LINKED in staff
        mine = {e.type for e in world.session("alice@a.example").history(world.keys["a1"])}
        assert EventType.SOLUTION_LINKED not in mine

    def test_agents_draft_and_team_leads_publish(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """An agent writes a draft but may not publish it; a team lead may."""
        ann, lead = world.session("ann").kb, world.session("lead-a").kb
        draft = ann.create("Agent's draft", "steps")
        with pytest.raises(PermissionDenied, match="publish_articles"):
            ann.publish(draft.key)
        with pytest.raises(PermissionDenied, match="publish_articles"):
            ann.create("Straight out", "steps", status="published")
        assert lead.publish(draft.key).status.value == "published"
        world.tracker.kb.archive(draft.key, actor="root-a")

    def test_agents_link_only_tickets_they_reach(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """A ticket outside the agent's queues is missing; its solutions are unchanged."""
        olga = world.session("olga").kb
        before = world.tracker.store.solutions(ticket_ids=[world.ids["a1"]])
        hidden_like_missing(
            lambda ref: olga.link(ref, kb_world["a_published"]), world.keys["a1"], MISSING_KEY
        )
        assert world.tracker.store.solutions(ticket_ids=[world.ids["a1"]]) == before

    def test_an_articles_tickets_are_those_the_reader_may_see(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """The agent of the ticket's queue sees its link; an agent of billing and tenant B not."""
        a1 = world.keys["a1"]
        assert [s.ticket_key for s in world.session("ann").kb.solved(kb_world["a_published"])] == [
            a1
        ]
        assert world.session("olga").kb.solved(kb_world["a_published"]) == []
        customers = world.session("bob@b.example").kb
        hidden_like_missing(customers.solved, kb_world["a_published"], MISSING_ARTICLE)

    def test_customers_get_no_tickets_in_suggestions(
        self, world: World, kb_world: dict[str, str]
    ) -> None:
        """A customer's suggestions hold published articles only, no one else's tickets."""
        found = world.session("carol@a.example").suggest(world.keys["a2"])
        assert found.tickets == ()
        assert all(s.article.status.value == "published" for s in found.articles)
        assert KB_DRAFT_WORD not in dump(found)
        assert SECRET_NOTE not in dump(found)
