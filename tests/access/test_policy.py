"""Policies: the default rules per role, scopes, tenants, rules as data, functions as policies."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from databases import fresh_database
from ticketkit import Tracker, ValidationError
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit._query import Query, check_query, matches
from ticketkit.access import (
    DEFAULT_POLICY,
    DEFAULT_RULES,
    Decision,
    Permission,
    Principal,
    Role,
    RolePolicy,
    RoleRules,
    Scope,
    all_of,
    as_policy,
    decide,
    scope_conditions,
    visibility_conditions,
)

P = Permission
NOW = datetime(2026, 1, 1, tzinfo=UTC)
CUSTOMER = Principal("cat@x.example", Role.CUSTOMER, "acme", organisation="X")
ORG_CUSTOMER = attrs.evolve(CUSTOMER, id="olga@x.example", sees_organisation=True)
AGENT = Principal("alice", Role.AGENT, "acme", queues={"support"})
LEAD = Principal("lena", Role.TEAM_LEAD, "acme", queues={"support"})
ADMIN = Principal("root", Role.ADMIN, "acme")
EVERYONE = (CUSTOMER, AGENT, LEAD, ADMIN)


def ticket(**changes: Any) -> Ticket:
    """A ticket of tenant acme in queue support, reported by CUSTOMER."""
    base = Ticket(
        id=1,
        key="HD-1",
        title="Printer on fire",
        description="",
        status="open",
        priority=Priority.P3,
        reporter=CUSTOMER.id,
        queue="support",
        created=NOW,
        updated=NOW,
        version=1,
        tenant="acme",
        organisation="X",
    )
    return attrs.evolve(base, **changes)


CUSTOMER_MAY = {P.READ, P.CREATE, P.COMMENT, P.ATTACH, P.WATCH, P.TRANSITION}
AGENT_MAY = set(P) - {P.REDACT, P.ERASE, P.EXPORT, P.ADMINISTER, P.PUBLISH_ARTICLES}
EXPECTED = {
    Role.CUSTOMER: CUSTOMER_MAY,
    Role.AGENT: AGENT_MAY,
    Role.TEAM_LEAD: AGENT_MAY | {P.REDACT, P.PUBLISH_ARTICLES},
    Role.ADMIN: set(P),
}


class TestDefaultPermissions:
    @pytest.mark.parametrize("principal", EVERYONE, ids=lambda p: p.role.value)
    @pytest.mark.parametrize("permission", list(P), ids=str)
    def test_each_role_has_its_permissions_on_a_ticket_in_scope(
        self, principal: Principal, permission: Permission
    ) -> None:
        """On a ticket in scope, each role may do exactly what the default rules grant."""
        decision = DEFAULT_POLICY.decide(principal, permission, ticket())
        assert decision.allowed is (permission in EXPECTED[principal.role]), decision.reason

    @pytest.mark.parametrize("principal", EVERYONE, ids=lambda p: p.role.value)
    @pytest.mark.parametrize("permission", list(P), ids=str)
    def test_without_a_ticket_only_the_role_counts(
        self, principal: Principal, permission: Permission
    ) -> None:
        """With no ticket (export, erase, administer, create), the role alone decides."""
        assert DEFAULT_POLICY.decide(principal, permission, None).allowed is (
            permission in EXPECTED[principal.role]
        )

    def test_denial_says_who_and_what(self) -> None:
        """The reason of a denial names the principal, the role and the permission."""
        decision = DEFAULT_POLICY.decide(CUSTOMER, P.READ_INTERNAL, ticket())
        assert not decision
        assert "cat@x.example" in decision.reason
        assert "customer" in decision.reason
        assert "read_internal" in decision.reason

    def test_permission_names_are_accepted(self) -> None:
        """A permission may be given by its name; an unknown one is refused."""
        assert DEFAULT_POLICY.decide(AGENT, "read", ticket()).allowed  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="unknown permission 'fly'"):
            DEFAULT_POLICY.decide(AGENT, "fly", ticket())  # type: ignore[arg-type]


SCOPE_CASES = [
    # (principal, ticket changes, may read)
    (CUSTOMER, {}, True),
    (CUSTOMER, {"reporter": "other@x.example"}, False),
    (CUSTOMER, {"reporter": "other@x.example", "watchers": frozenset({CUSTOMER.id})}, True),
    (ORG_CUSTOMER, {"reporter": "other@x.example"}, True),
    (ORG_CUSTOMER, {"reporter": "other@y.example", "organisation": "Y"}, False),
    (ORG_CUSTOMER, {"reporter": "other@y.example", "organisation": None}, False),
    (ORG_CUSTOMER, {"reporter": ORG_CUSTOMER.id, "organisation": "Y"}, True),
    (AGENT, {}, True),
    (AGENT, {"queue": "billing"}, False),
    (AGENT, {"queue": "billing", "assignee": "alice", "reporter": "alice"}, False),
    (LEAD, {"queue": "billing"}, False),
    (ADMIN, {"queue": "billing", "reporter": "anyone"}, True),
]


class TestScopes:
    @pytest.mark.parametrize(("principal", "changes", "visible"), SCOPE_CASES)
    @pytest.mark.parametrize("permission", [P.READ, P.COMMENT, P.ATTACH])
    def test_scope_decides_which_tickets(
        self,
        principal: Principal,
        changes: dict[str, Any],
        visible: bool,
        permission: Permission,
    ) -> None:
        """own: reported or watched; organisation: also the organisation's when allowed;
        queues: the principal's queues; tenant: every ticket."""
        decision = DEFAULT_POLICY.decide(principal, permission, ticket(**changes))
        assert decision.allowed is visible, decision.reason
        if not visible:
            assert "outside their scope" in decision.reason

    def test_customer_without_organisation_flag_sees_only_own(self) -> None:
        """Sharing an organisation is not enough without sees_organisation."""
        colleague = ticket(reporter="other@x.example")
        assert not DEFAULT_POLICY.decide(CUSTOMER, P.READ, colleague)

    @pytest.mark.parametrize("principal", EVERYONE, ids=lambda p: p.role.value)
    @pytest.mark.parametrize("permission", list(P), ids=str)
    def test_other_tenant_is_refused_first(
        self, principal: Principal, permission: Permission
    ) -> None:
        """Nothing is allowed on another tenant's ticket, even to its admin-like twin."""
        foreign = ticket(tenant="globex", reporter=principal.id, watchers={principal.id})
        decision = DEFAULT_POLICY.decide(principal, permission, foreign)
        assert not decision.allowed
        assert "another tenant" in decision.reason

    def test_draft_of_create_is_checked_against_scope(self) -> None:
        """Creating a ticket in a queue the agent does not work in is refused."""
        assert DEFAULT_POLICY.decide(AGENT, P.CREATE, ticket(queue="support"))
        assert not DEFAULT_POLICY.decide(AGENT, P.CREATE, ticket(queue="billing"))
        assert not DEFAULT_POLICY.decide(CUSTOMER, P.CREATE, ticket(reporter="someone@else"))


class TestDetails:
    @pytest.mark.parametrize(
        ("action", "allowed"),
        [
            ("close", True),
            ("reopen", True),
            ("customer_replied", True),
            ("start", False),
            ("resolve", False),
            ("wait_for_customer", False),
        ],
    )
    def test_customers_take_only_the_customer_actions(self, action: str, allowed: bool) -> None:
        """Of the help-desk workflow, customers may close, reopen and reply; agents all."""
        assert DEFAULT_POLICY.decide(CUSTOMER, P.TRANSITION, ticket(), action).allowed is allowed
        assert DEFAULT_POLICY.decide(AGENT, P.TRANSITION, ticket(), action)

    def test_custom_field_rules(self) -> None:
        """change_field is limited to the listed field paths."""
        policy = DEFAULT_POLICY.with_rules(
            Role.AGENT, RoleRules({P.CHANGE_FIELD}, Scope.QUEUES, fields={"fields.severity"})
        )
        assert policy.decide(AGENT, P.CHANGE_FIELD, ticket(), "fields.severity")
        assert not policy.decide(AGENT, P.CHANGE_FIELD, ticket(), "priority")
        assert not DEFAULT_POLICY.decide(CUSTOMER, P.CHANGE_FIELD, ticket(), "title")

    def test_agents_assign_only_to_themselves(self) -> None:
        """An agent takes unassigned tickets or their own; a team lead assigns to anyone."""
        assert DEFAULT_POLICY.decide(AGENT, P.ASSIGN, ticket(), "alice")
        assert DEFAULT_POLICY.decide(AGENT, P.ASSIGN, ticket(assignee="alice"), "alice")
        assert not DEFAULT_POLICY.decide(AGENT, P.ASSIGN, ticket(), "bob")
        taken = DEFAULT_POLICY.decide(AGENT, P.ASSIGN, ticket(assignee="bob"), "alice")
        assert not taken
        assert "team lead" in taken.reason
        assert DEFAULT_POLICY.decide(LEAD, P.ASSIGN, ticket(assignee="bob"), "carl")
        assert DEFAULT_POLICY.decide(ADMIN, P.ASSIGN, ticket(assignee="bob"), "carl")

    def test_customers_watch_only_as_themselves(self) -> None:
        """A customer may watch as themselves but cannot add someone else."""
        assert DEFAULT_POLICY.decide(CUSTOMER, P.WATCH, ticket(), CUSTOMER.id)
        assert not DEFAULT_POLICY.decide(CUSTOMER, P.WATCH, ticket(), "spy@evil.example")
        assert DEFAULT_POLICY.decide(AGENT, P.WATCH, ticket(), "cat@x.example")


def _all_true(*_: object) -> bool:
    return True


class TestPolicyFunctions:
    def test_a_function_is_a_policy(self) -> None:
        """A function answering True or False is made into a policy with reasons."""

        def only_reads(p: Principal, perm: Permission, t: Ticket | None, d: str | None) -> bool:
            return perm is P.READ

        policy = as_policy(only_reads)
        assert policy.decide(CUSTOMER, P.READ, ticket()) == Decision(
            True,
            "read allowed by TestPolicyFunctions.test_a_function_is_a_policy.<locals>.only_reads",
        )
        assert not policy.decide(ADMIN, P.ADMINISTER, None)
        assert decide(only_reads, CUSTOMER, "read", ticket()).allowed

    def test_a_function_never_crosses_tenants(self) -> None:
        """The tenant check runs before any policy, even one that allows everything."""
        decision = decide(_all_true, ADMIN, P.READ, ticket(tenant="globex"))
        assert not decision
        assert "another tenant" in decision.reason
        assert decide(_all_true, ADMIN, P.READ, ticket())

    def test_a_function_may_return_a_decision(self) -> None:
        """A Decision returned by the function is passed on as it is."""
        no = Decision.deny("closed for maintenance")
        assert decide(lambda *a: no, ADMIN, P.READ, ticket()) is no

    def test_a_bad_answer_is_an_error(self) -> None:
        """A policy answering something else than bool or Decision is a ValidationError."""
        with pytest.raises(ValidationError, match="returned 'yes'"):
            decide(lambda *a: "yes", ADMIN, P.READ, ticket())  # type: ignore[arg-type,return-value]

    def test_not_a_policy(self) -> None:
        """as_policy refuses what is neither callable nor has decide()."""
        with pytest.raises(ValidationError, match="not a policy"):
            as_policy(42)  # type: ignore[arg-type]

    def test_as_policy_is_idempotent(self) -> None:
        """Wrapping twice gives the same wrapper."""
        once = as_policy(DEFAULT_POLICY)
        assert as_policy(once) is once

    def test_all_of_allows_what_all_allow(self) -> None:
        """all_of adds a rule to the default one; the first denial is the answer."""

        def no_merges(p: Principal, perm: Permission, t: Ticket | None, d: str | None) -> bool:
            return perm is not P.MERGE

        policy = all_of(DEFAULT_POLICY, no_merges)
        assert policy.decide(AGENT, P.READ, ticket())
        assert not policy.decide(AGENT, P.MERGE, ticket())
        assert not policy.decide(CUSTOMER, P.ASSIGN, ticket())
        with pytest.raises(ValidationError, match="at least one"):
            all_of()


class TestRulesAsData:
    def test_default_round_trips_through_json(self) -> None:
        """The default rules survive to_dict, JSON and from_dict unchanged."""
        data = json.loads(json.dumps(DEFAULT_POLICY.to_dict()))
        assert RolePolicy.from_dict(data) == DEFAULT_POLICY
        assert set(data) == {"customer", "agent", "team_lead", "admin"}
        assert data["customer"]["actions"] == ["close", "customer_replied", "reopen"]

    @given(
        st.dictionaries(
            st.sampled_from(list(Role)),
            st.builds(
                RoleRules,
                st.frozensets(st.sampled_from(list(P))),
                st.sampled_from(list(Scope)),
                st.none() | st.frozensets(st.sampled_from(["start", "close", "x y"])),
                st.none() | st.frozensets(st.sampled_from(["priority", "fields.a"])),
                st.frozensets(st.sampled_from([P.ASSIGN, P.WATCH])),
            ),
        )
    )
    def test_any_rules_round_trip(self, rules: dict[Role, RoleRules]) -> None:
        """from_dict(to_dict(p)) == p for any role policy."""
        policy = RolePolicy(rules)
        assert RolePolicy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"boss": {"permissions": [], "scope": "own"}}, "unknown role 'boss'"),
            ({"agent": {"permissions": ["fly"], "scope": "own"}}, "agent: unknown permission"),
            ({"agent": {"permissions": [], "scope": "world"}}, "unknown scope 'world'"),
            ({"agent": {"permissions": []}}, "need 'scope'"),
            ({"agent": {"scope": "own"}}, "need 'permissions'"),
            ({"agent": {"permissions": "read", "scope": "own"}}, "list of permission names"),
            ({"agent": {"permissions": [], "scope": "own", "colour": 1}}, "unknown keys"),
            ({"agent": {"permissions": [], "scope": "own", "actions": "close"}}, "or null"),
            ({"agent": {"permissions": [], "scope": "own", "fields": [""]}}, "non-empty"),
            ({"agent": {"permissions": [], "scope": "own", "self_only": ["read"]}}, "assign"),
            ({"agent": ["read"]}, "must be a mapping"),
            (["agent"], "mapping of role names"),
        ],
    )
    def test_bad_rules_say_what_is_wrong(self, data: Any, message: str) -> None:
        """Rules read from data are checked, with errors that name the bad part."""
        with pytest.raises(ValidationError, match=message):
            RolePolicy.from_dict(data)

    def test_rules_must_be_role_rules(self) -> None:
        """A RolePolicy is built from RoleRules values only."""
        with pytest.raises(ValidationError, match="must be RoleRules"):
            RolePolicy({Role.AGENT: {"permissions": []}})  # type: ignore[dict-item]

    def test_a_role_without_rules_may_do_nothing(self) -> None:
        """Leaving a role out of the rules denies it everything."""
        policy = RolePolicy({Role.ADMIN: DEFAULT_RULES[Role.ADMIN]})
        assert not policy.decide(AGENT, P.READ, ticket())
        assert policy.decide(ADMIN, P.READ, ticket())

    def test_grant_and_revoke(self) -> None:
        """grant and revoke return changed copies of a role's rules."""
        rules = DEFAULT_RULES[Role.CUSTOMER].grant("link").revoke(P.ATTACH)
        assert P.LINK in rules.permissions
        assert P.ATTACH not in rules.permissions
        assert P.ATTACH in DEFAULT_RULES[Role.CUSTOMER].permissions


PEOPLE = ["cat@x.example", "dan@y.example", "alice", "bob"]
QUEUES = ["support", "billing"]
TENANTS = ["acme", "globex"]
ORGS = [None, "X", "Y"]


@st.composite
def principals(draw: st.DrawFn) -> Principal:
    role = draw(st.sampled_from(list(Role)))
    customer = role is Role.CUSTOMER
    organisation = draw(st.sampled_from(ORGS))
    return Principal(
        draw(st.sampled_from(PEOPLE)),
        role,
        draw(st.sampled_from(TENANTS)),
        organisation,
        queues=frozenset() if customer else draw(st.frozensets(st.sampled_from(QUEUES))),
        sees_organisation=customer and organisation is not None and draw(st.booleans()),
    )


@st.composite
def tickets(draw: st.DrawFn) -> Ticket:
    return ticket(
        reporter=draw(st.sampled_from(PEOPLE)),
        watchers=draw(st.frozensets(st.sampled_from(PEOPLE))),
        queue=draw(st.sampled_from(QUEUES)),
        tenant=draw(st.sampled_from(TENANTS)),
        organisation=draw(st.sampled_from(ORGS)),
        assignee=draw(st.none() | st.sampled_from(PEOPLE)),
    )


role_policies = st.builds(
    RolePolicy,
    st.dictionaries(
        st.sampled_from(list(Role)),
        st.builds(
            RoleRules,
            st.sampled_from([{P.READ}, {P.READ, P.COMMENT}, {P.COMMENT}]),
            st.sampled_from(list(Scope)),
        ),
    ),
)


def _query_matches(t: Ticket, conditions: list[Any]) -> bool:
    return matches(t, check_query(Query(tuple(conditions)), {}))


class TestVisibility:
    @given(principals(), tickets())
    def test_default_conditions_agree_with_read(self, p: Principal, t: Ticket) -> None:
        """A ticket matches a principal's visibility conditions exactly when it may be read."""
        assert (
            _query_matches(t, visibility_conditions(p))
            is DEFAULT_POLICY.decide(p, P.READ, t).allowed
        )

    @given(role_policies, principals(), tickets())
    def test_any_role_policy_agrees_with_read(
        self, policy: RolePolicy, p: Principal, t: Ticket
    ) -> None:
        """The same holds for any role policy, including roles that may not read."""
        assert (
            _query_matches(t, visibility_conditions(p, policy))
            is policy.decide(p, P.READ, t).allowed
        )

    @given(role_policies, role_policies, principals(), tickets())
    def test_all_of_joins_the_conditions(
        self, first: RolePolicy, second: RolePolicy, p: Principal, t: Ticket
    ) -> None:
        """all_of of role policies gets exact conditions too."""
        policy = all_of(first, second)
        assert (
            _query_matches(t, visibility_conditions(p, policy))
            is policy.decide(p, P.READ, t).allowed
        )

    def test_conditions_name_the_tenant_first(self) -> None:
        """Every principal's conditions start with its tenant; agents add their queues."""
        conditions = visibility_conditions(AGENT)
        assert [(c.field, c.op.value, c.value) for c in conditions] == [
            ("tenant", "eq", "acme"),
            ("queue", "in", frozenset({"support"})),
        ]
        assert len(visibility_conditions(ADMIN)) == 1

    def test_a_function_policy_gets_the_default_conditions(self) -> None:
        """A policy written as a function narrows queries as the default rules do."""
        assert visibility_conditions(CUSTOMER, as_policy(_all_true)) == visibility_conditions(
            CUSTOMER
        )

    def test_a_policy_object_may_bring_its_own_conditions(self) -> None:
        """An object policy with visibility_conditions() adds those to the tenant's."""

        class OnlyP1:
            def decide(self, *args: Any) -> Decision:
                return Decision.allow()

            def visibility_conditions(self, principal: Principal) -> list[Any]:
                return list(Query.build({"priority": "P1"}).conditions)

        conditions = visibility_conditions(ADMIN, OnlyP1())
        assert [c.field for c in conditions] == ["tenant", "priority"]
        assert _query_matches(ticket(priority=Priority.P1), conditions)
        assert not _query_matches(ticket(), conditions)

    def test_no_read_matches_nothing(self) -> None:
        """A role that may not read gets conditions no ticket matches."""
        policy = RolePolicy({Role.AGENT: RoleRules({P.COMMENT}, Scope.TENANT)})
        assert not _query_matches(ticket(), visibility_conditions(AGENT, policy))
        assert visibility_conditions(AGENT, policy) == scope_conditions(AGENT, None)


@pytest.fixture(scope="module", params=["memory", "sqlite", "postgresql", "mysql"])
def stocked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Tracker, list[Ticket]]]:
    """A tracker on each store holding one ticket per mix of reporter, watcher, queue,
    tenant and organisation."""
    settings: dict[str, Any] = {
        "queues": {"support": "HD", "billing": "BIL"},
        "default_queue": "support",
    }
    with contextlib.ExitStack() as stack:
        if request.param == "memory":
            tracker = stack.enter_context(Tracker.in_memory(**settings))
        else:
            tmp = tmp_path_factory.mktemp(request.param)
            url = stack.enter_context(fresh_database(request.param, tmp))
            tracker = stack.enter_context(Tracker.from_url(url, **settings))
        opened = [
            tracker.open(
                "Printer on fire",
                actor=reporter,
                watchers=watchers,
                queue=queue,
                tenant=tenant,
                organisation=organisation,
            )
            for reporter, watchers, queue, tenant, organisation in itertools.product(
                PEOPLE[:3], [(), ("alice",), ("cat@x.example", "bob")], QUEUES, TENANTS, ORGS
            )
        ]
        yield tracker, opened


VIEWERS = [
    CUSTOMER,
    ORG_CUSTOMER,
    attrs.evolve(ORG_CUSTOMER, id="dan@y.example", organisation="Y"),
    attrs.evolve(CUSTOMER, id="alice", tenant="globex"),
    AGENT,
    attrs.evolve(AGENT, queues=frozenset()),
    attrs.evolve(LEAD, queues=frozenset(QUEUES), tenant="globex"),
    ADMIN,
]


class TestVisibilityInStores:
    @pytest.mark.parametrize("viewer", VIEWERS, ids=lambda p: f"{p.role.value}-{p.id}")
    def test_every_store_returns_exactly_the_readable_tickets(
        self, stocked: tuple[Tracker, list[Ticket]], viewer: Principal
    ) -> None:
        """Each store, given the visibility conditions, returns what the policy lets be read."""
        tracker, opened = stocked
        page = tracker.query(visibility_conditions(viewer), limit=1000)
        expected = [t.key for t in opened if DEFAULT_POLICY.decide(viewer, P.READ, t)]
        assert [t.key for t in page] == expected
        assert bool(expected) is bool(viewer.queues or viewer.role is not Role.AGENT)
