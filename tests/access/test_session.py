"""Sessions: the Tracker's API for one principal, checked by a policy, scoped to a tenant."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from access.world import tracker_on
from ticketkit import NotFound, PermissionDenied, Tracker, ValidationError
from ticketkit.access import (
    DEFAULT_POLICY,
    SOMEONE,
    Decision,
    Permission,
    Principal,
    Role,
    Session,
)

A = "default"
ALICE = Principal("alice@x.example", Role.CUSTOMER, A, organisation="x")
CAROL = Principal("carol@x.example", Role.CUSTOMER, A, organisation="x", sees_organisation=True)
ANN = Principal("ann", Role.AGENT, A, queues={"support"})
BEA = Principal("bea", Role.AGENT, A, queues={"support"})
LEAD = Principal("lead", Role.TEAM_LEAD, A, queues={"support"})
ROOT = Principal("root", Role.ADMIN, A)


@pytest.fixture(params=["memory", "sqlite"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    with tracker_on(str(request.param), tmp_path) as tracker:
        yield tracker


class TestMaking:
    def test_default_policy(self, tracker: Tracker) -> None:
        """A tracker's sessions use DEFAULT_POLICY until another is set."""
        assert tracker.policy is DEFAULT_POLICY
        s = tracker.session(ANN)
        assert isinstance(s, Session)
        assert s.principal == ANN
        assert "ann" in repr(s)
        assert "agent" in repr(s)

    def test_tracker_policy_and_override(self, tracker: Tracker) -> None:
        """tracker.policy applies to later sessions; policy= overrides it for one."""
        t = tracker.open("x", actor="alice@x.example")
        tracker.policy = lambda principal, permission, ticket, detail: permission is Permission.READ
        with pytest.raises(PermissionDenied, match="comment"):
            tracker.session(ROOT).comment(t.key, "no")
        assert tracker.session(ROOT, policy=DEFAULT_POLICY).comment(t.key, "yes").body == "yes"

    def test_policy_function_may_return_a_decision(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor="alice@x.example")

        def policy(principal: Any, permission: Any, ticket: Any, detail: Any) -> Decision:
            if permission is Permission.ASSIGN:
                return Decision.deny("assignments are frozen this week")
            return DEFAULT_POLICY.decide(principal, permission, ticket, detail)

        with pytest.raises(PermissionDenied, match="frozen this week"):
            tracker.session(ROOT, policy=policy).assign(t.key, "ann")
        assert tracker.get(t.key).assignee is None

    def test_needs_a_principal(self, tracker: Tracker) -> None:
        with pytest.raises(ValidationError):
            tracker.session("root")  # type: ignore[arg-type]


class TestActor:
    def test_every_write_is_the_principals(self, tracker: Tracker) -> None:
        """The actor of every event a session writes is the principal's id."""
        s = tracker.session(ANN)
        t = s.open("Broken", "desc", queue="support")
        s.comment(t.key, "on it")
        s.assign(t.key, "ann")
        s.transition(t.key, "start")
        s.update(t.key, title="Broken badly")
        s.attach(t.key, "a.txt", b"a")
        s.watch(t.key)
        assert {e.actor for e in tracker.history(t.key)} == {"ann"}
        assert tracker.get(t.key).reporter == "ann"

    def test_no_actor_argument(self, tracker: Tracker) -> None:
        s = tracker.session(ALICE)
        with pytest.raises(ValidationError):
            s.open("x", actor="root")
        with pytest.raises(TypeError):
            s.comment("HD-1", "x", actor="root")  # type: ignore[call-arg]


class TestChecks:
    def test_denied_change_names_permission_and_changes_nothing(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor="alice@x.example")
        before = tracker.history(t.key)
        s = tracker.session(ALICE)
        with pytest.raises(PermissionDenied) as denied:
            s.transition(t.key, "start")
        assert "'transition'" in str(denied.value)
        assert "start" in str(denied.value)
        assert tracker.history(t.key) == before

    def test_denials_are_logged_for_admins(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor="alice@x.example")
        with pytest.raises(PermissionDenied):
            tracker.session(ALICE).comment(t.key, "note", internal=True)
        (denial,) = tracker.session(ROOT).denials()
        assert (denial.principal, denial.role, denial.tenant, denial.permission) == (
            "alice@x.example",
            "customer",
            A,
            "internal_note",
        )
        assert t.key in (denial.target or "")
        assert denial.reason

    def test_hidden_reads_are_logged_too(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor="alice@x.example")
        with pytest.raises(NotFound):
            tracker.session(Principal("eve@x.example", Role.CUSTOMER, A)).get(t.key)
        (denial,) = tracker.session(ROOT).denials()
        assert (denial.principal, denial.permission, denial.target) == (
            "eve@x.example",
            "read",
            t.key,
        )

    def test_agents_assign_only_themselves(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor="alice@x.example")
        with pytest.raises(PermissionDenied, match="assign"):
            tracker.session(ANN).assign(t.key, "bea")
        assert tracker.session(ANN).assign(t.key, "ann").assignee == "ann"
        with pytest.raises(PermissionDenied, match="assign"):
            tracker.session(BEA).assign(t.key, "bea")
        assert tracker.session(LEAD).assign(t.key, "bea").assignee == "bea"

    def test_customer_actions_offered(self, tracker: Tracker) -> None:
        """available_actions offers only the actions the policy allows the principal."""
        t = tracker.open("x", actor="alice@x.example")
        tracker.transition(t.key, "resolve", actor="ann")
        names = {a.name for a in tracker.session(ALICE).available_actions(t.key)}
        assert names == {"close", "reopen"}
        assert tracker.session(ALICE).transition(t.key, "reopen").status == "open"

    def test_customer_opens_with_no_fields_or_assignee(self, tracker: Tracker) -> None:
        s = tracker.session(ALICE)
        with pytest.raises(PermissionDenied, match="assign"):
            s.open("x", assignee="ann")
        with pytest.raises(PermissionDenied, match="change_field"):
            s.open("x", fields={"triage": "p1"})
        with pytest.raises(PermissionDenied, match="change_field"):
            s.open("x", reporter="carol@x.example")
        with pytest.raises(PermissionDenied, match="priority"):
            s.open("x", priority="P1")
        t = s.open("Mine")
        assert (t.reporter, t.organisation, t.tenant) == ("alice@x.example", "x", A)


class TestViews:
    def test_customer_sees_no_one_elses_address(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor="alice@x.example", organisation="x", watchers=["zed@y.example"])
        tracker.comment(t.key, "reply", actor="zed@y.example")
        tracker.attach(t.key, "z.txt", b"z", actor="zed@y.example")
        s = tracker.session(ALICE)
        shown = s.get(t.key)
        assert shown.watchers == frozenset()
        assert "zed@y.example" not in repr(s.history(t.key))
        assert [c.author for c in s.comments(t.key)] == [SOMEONE]
        assert [a.uploaded_by for a in s.attachments(t.key)] == [SOMEONE]

    def test_organisation_scope(self, tracker: Tracker) -> None:
        """sees_organisation shows the organisation's tickets, but others' addresses stay hidden."""
        t = tracker.open("x", actor="alice@x.example", organisation="x")
        other = tracker.open("y", actor="yan@y.example", organisation="y")
        s = tracker.session(CAROL)
        assert s.get(t.key).reporter == SOMEONE
        assert [p.key for p in s.query()] == [t.key]
        with pytest.raises(NotFound):
            s.get(other.key)

    def test_links_only_to_visible_tickets(self, tracker: Tracker) -> None:
        mine = tracker.open("mine", actor="alice@x.example")
        theirs = tracker.open("theirs", actor="yan@y.example")
        tracker.link(mine.key, "relates", theirs.key, actor="ann")
        assert tracker.session(ALICE).get(mine.key).links == frozenset()
        assert tracker.session(ANN).get(mine.key).links

    def test_customer_search_ignores_internal_words(self, tracker: Tracker) -> None:
        t = tracker.open("Printer", "jammed", actor="alice@x.example")
        tracker.comment(t.key, "quietword only for agents", actor="ann", internal=True)
        tracker.comment(t.key, "loudword for the customer", actor="ann")
        s = tracker.session(ALICE)
        assert s.search("quietword") == []
        assert [h.ticket.key for h in s.search("loudword")] == [t.key]
        assert [h.ticket.key for h in s.search("printer")] == [t.key]
        assert [h.ticket.key for h in tracker.session(ANN).search("quietword")] == [t.key]

    def test_agent_search_finds_a_visible_ticket_behind_many_hidden_ones(
        self, tracker: Tracker
    ) -> None:
        """The visibility filter is part of the store's search, not applied to its top hits."""
        for _ in range(105):
            tracker.open(
                "Printer printer", "printer printer", actor="yan@y.example", queue="billing"
            )
        mine = tracker.open("Old printer", actor="yan@y.example", queue="support")
        assert [h.ticket.key for h in tracker.session(ANN).search("printer", limit=1)] == [mine.key]

    def test_query_pages_within_scope(self, tracker: Tracker) -> None:
        mine = [tracker.open(f"m{i}", actor="alice@x.example").key for i in range(5)]
        for i in range(5):
            tracker.open(f"o{i}", actor="yan@y.example")
        s = tracker.session(ALICE)
        seen: list[str] = []
        page = s.query(limit=2)
        while True:
            seen += [t.key for t in page]
            if page.next_cursor is None:
                break
            page = s.query(limit=2, cursor=page.next_cursor)
        assert seen == mine

    def test_as_of_and_subscribe_use_the_view(self, tracker: Tracker) -> None:
        t = tracker.open("x", actor="alice@x.example", fields={"triage": "secret-triage"})
        got: list[Any] = []
        sub = tracker.session(ALICE).subscribe(got.append)
        tracker.update(t.key, actor="ann", fields={"triage": "worse"})
        tracker.update(t.key, actor="ann", fields={"product": "printer"})
        sub.cancel()
        assert [e.field for e in got] == ["fields.product"]
        old = tracker.session(ALICE).as_of(t.key, tracker.get(t.key).updated)
        assert "triage" not in old.fields
