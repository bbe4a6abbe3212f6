"""Routing: route selection, candidates, fair round robin, fewest open, data."""

from __future__ import annotations

import itertools
import json
import threading
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies
from ticketkit import ValidationError
from ticketkit._fields import FieldDef, FieldType
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit._workflow_data import toml_document
from ticketkit.rules import Agent, Route, Router, Strategy

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIELDS = {
    "category": FieldDef("category", FieldType.CHOICE, choices=("billing", "outage", "vip")),
    "skills": FieldDef("skills", FieldType.MULTI_CHOICE, choices=("Linux", "Mail", "SQL")),
    "notes": FieldDef("notes", FieldType.TEXT),
    "size": FieldDef("size", FieldType.INT),
}


def ticket(
    number: int = 1,
    *,
    queue: str = "default",
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    tenant: str = "default",
) -> Ticket:
    return Ticket(
        id=number,
        key=f"TK-{number}",
        title="Mail is down",
        description="",
        status="new",
        priority=Priority.P3,
        reporter="bob@example.com",
        queue=queue,
        created=NOW,
        updated=NOW,
        version=1,
        tags=frozenset(tags),
        fields=fields or {},
        tenant=tenant,
    )


class Turns:
    """A persistent counter per key, as a store's ``next_counter`` is."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, key: str) -> int:
        with self.lock:
            value = self.values[key]
            self.values[key] += 1
            return value


THREE = Router((Agent("alice"), Agent("bob"), Agent("carol")))


def present(gone: frozenset[str]) -> Callable[[str], bool]:
    return lambda name: name not in gone


def route_many(
    router: Router,
    count: int,
    *,
    away: Callable[[int], frozenset[str]] = lambda i: frozenset(),
    turn: Callable[[str], int] | None = None,
) -> list[str | None]:
    turn = turn or Turns()
    picked = []
    for i in range(count):
        picked.append(router.pick(ticket(i), open_counts={}, turn=turn, available=present(away(i))))
    return picked


class TestRoundRobin:
    def test_300_tickets_over_3_agents_give_exactly_100_each(self) -> None:
        """Round robin deals 300 tickets over 3 agents exactly 100 each, in name order."""
        picked = route_many(THREE, 300)
        assert Counter(picked) == {"alice": 100, "bob": 100, "carol": 100}
        assert picked[:6] == ["alice", "bob", "carol", "alice", "bob", "carol"]

    def test_one_counter_step_per_ticket_when_everyone_is_available(self) -> None:
        """With everyone available each ticket takes exactly one turn of one counter."""
        turn = Turns()
        route_many(THREE, 300, turn=turn)
        assert list(turn.values.values()) == [300]

    def test_an_agent_away_mid_way_keeps_the_others_exactly_even(self) -> None:
        """Carol away for tickets 100-199: alice and bob end equal, carol gets her share."""
        picked = route_many(
            THREE, 300, away=lambda i: frozenset({"carol"}) if 100 <= i < 200 else frozenset()
        )
        assert Counter(picked) == {"alice": 117, "bob": 117, "carol": 66}
        assert Counter(picked[:100]) == {"alice": 34, "bob": 33, "carol": 33}
        assert Counter(picked[100:200]) == {"alice": 50, "bob": 50}
        # No catch-up burst on return: carol gets one ticket in three from then on.
        assert Counter(picked[200:]) == {"alice": 33, "bob": 34, "carol": 33}

    def test_the_static_available_flag_skips_like_the_callable(self) -> None:
        """An agent marked unavailable is skipped; the others split the tickets evenly."""
        router = Router((Agent("alice"), Agent("bob", available=False), Agent("carol")))
        assert Counter(route_many(router, 300)) == {"alice": 150, "carol": 150}

    @given(
        agents=st.integers(min_value=2, max_value=5),
        schedule=st.lists(st.sets(st.integers(min_value=0, max_value=4)), max_size=60),
    )
    def test_agents_available_throughout_a_run_differ_by_at_most_one(
        self, agents: int, schedule: list[set[int]]
    ) -> None:
        """In any run of tickets, the agents available throughout it got counts within one."""
        names = [f"agent{i}" for i in range(agents)]
        router = Router(tuple(Agent(n) for n in names))
        away = [frozenset(names[i] for i in gone if i < agents) for gone in schedule]
        picked = route_many(router, len(schedule), away=lambda i: away[i])
        for i, gone in enumerate(away):
            if len(gone) == agents:
                assert picked[i] is None
            else:
                assert picked[i] not in gone
        for start in range(len(picked)):
            for end in range(start + 1, len(picked) + 1):
                present = set(names).difference(*away[start:end])
                counts = Counter(picked[start:end])
                shares = [counts[n] for n in present]
                assert not shares or max(shares) - min(shares) <= 1

    def test_routers_running_at_once_still_deal_exactly_evenly(self) -> None:
        """Eight threads sharing one counter route 300 tickets: 100 each, none lost."""
        turn = Turns()
        picked: list[str | None] = []
        lock = threading.Lock()

        def work(numbers: range) -> None:
            for i in numbers:
                name = THREE.pick(ticket(i), open_counts={}, turn=turn)
                with lock:
                    picked.append(name)

        threads = [threading.Thread(target=work, args=(range(i, 300, 8),)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Counter(picked) == {"alice": 100, "bob": 100, "carol": 100}

    def test_an_agent_at_max_open_is_skipped(self) -> None:
        """An agent with max_open tickets open is passed over until one closes."""
        router = Router((Agent("alice", max_open=2), Agent("bob")))
        turn = Turns()
        picks = [router.pick(ticket(i), open_counts={"alice": 2}, turn=turn) for i in range(4)]
        assert picks == ["bob"] * 4
        assert router.pick(ticket(5), open_counts={"alice": 1}, turn=turn) == "alice"

    def test_nobody_available_gives_none_without_taking_a_turn(self) -> None:
        """With every agent away pick returns None and the counter is untouched."""
        turn = Turns()
        assert THREE.pick(ticket(), open_counts={}, turn=turn, available=lambda n: False) is None
        assert sum(turn.values.values()) == 0

    def test_a_starved_router_gives_the_next_ready_agent(self) -> None:
        """If other routers keep taking the ready agent's slots, the next ready one gets it."""
        slots = itertools.count(0, 3)  # every slot this router sees is alice's
        picked = THREE.pick(
            ticket(), open_counts={}, turn=lambda key: next(slots), available=lambda n: n != "alice"
        )
        assert picked == "bob"

    @pytest.mark.parametrize("value", [-1, True, "1", None])
    def test_a_turn_that_is_not_a_count_is_refused(self, value: object) -> None:
        """turn() must return whole numbers from 0; anything else is a ValidationError."""
        with pytest.raises(ValidationError, match="turn"):
            THREE.pick(ticket(), open_counts={}, turn=lambda key: value)

    def test_a_turn_that_repeats_is_refused(self) -> None:
        """A counter that hands out one slot twice would break fairness: refused."""
        with pytest.raises(ValidationError, match="never repeat"):
            THREE.pick(
                ticket(), open_counts={}, turn=lambda key: 0, available=lambda n: n != "alice"
            )

    def test_each_tenant_and_pool_has_its_own_counter(self) -> None:
        """The counter key depends on route, tenant and pool, and stays short."""
        router = Router(
            (
                Agent("alice", skills={"linux"}),
                Agent("bob"),
                Agent("alice", tenant="acme"),
            ),
            routes=(Route("x" * 200, skills=True),),
        )
        route = router.routes[0]
        keys = {
            router.turn_key(ticket(), route),
            router.turn_key(ticket(tags={"linux"}), route),
            router.turn_key(ticket(tenant="acme"), route),
        }
        assert len(keys) == 3
        assert all(len(k) <= 88 and k.startswith("rr:xxx") for k in keys)

    def test_separate_pools_are_each_exactly_fair(self) -> None:
        """Linux tickets rotate among linux agents, others among all, each exactly."""
        router = Router(
            (Agent("alice", skills={"linux"}), Agent("bob", skills={"linux"}), Agent("carol")),
            routes=(Route("default", skills=True),),
        )
        turn = Turns()
        picked = [
            router.pick(ticket(i, tags={"linux"} if i % 2 else ()), open_counts={}, turn=turn)
            for i in range(120)
        ]
        assert Counter(picked[1::2]) == {"alice": 30, "bob": 30}
        assert Counter(picked[0::2]) == {"alice": 20, "bob": 20, "carol": 20}


class TestFewestOpen:
    ROUTER = Router(
        (Agent("alice"), Agent("bob"), Agent("carol", max_open=3)),
        routes=(Route("default", strategy=Strategy.FEWEST_OPEN),),
    )

    def never(self, key: str) -> int:
        raise AssertionError("fewest_open takes no turns")

    def test_the_least_loaded_agent_is_picked(self) -> None:
        """The candidate with the fewest open tickets gets the ticket."""
        counts = {"alice": 4, "bob": 2, "carol": 3}
        assert self.ROUTER.pick(ticket(), open_counts=counts, turn=self.never) == "bob"

    def test_ties_go_to_the_first_by_name_and_missing_counts_are_zero(self) -> None:
        """Equal loads go to the first name; an agent missing from open_counts has none."""
        assert self.ROUTER.pick(ticket(), open_counts={"alice": 1}, turn=self.never) == "bob"
        assert self.ROUTER.pick(ticket(), open_counts={}, turn=self.never) == "alice"

    def test_max_open_is_respected(self) -> None:
        """An agent at max_open is not picked even when it is the least loaded."""
        counts = {"alice": 5, "bob": 4, "carol": 3}
        assert self.ROUTER.pick(ticket(), open_counts=counts, turn=self.never) == "bob"

    def test_loads_even_out_as_tickets_arrive(self) -> None:
        """Routing 30 tickets while counting them open gives 10 each."""
        counts: Counter[str] = Counter()
        router = attrs.evolve(self.ROUTER, agents=(Agent("alice"), Agent("bob"), Agent("carol")))
        for i in range(30):
            name = router.pick(ticket(i), open_counts=counts, turn=self.never)
            assert name is not None
            counts[name] += 1
        assert counts == {"alice": 10, "bob": 10, "carol": 10}

    def test_all_full_gives_none(self) -> None:
        """When every candidate is at max_open nobody is picked."""
        router = Router((Agent("alice", max_open=1),), routes=(Route("r", strategy="fewest_open"),))
        assert router.pick(ticket(), open_counts={"alice": 1}, turn=self.never) is None


class TestCandidates:
    def test_other_tenant_agents_are_never_candidates(self) -> None:
        """A ticket goes only to agents of its own tenant."""
        router = Router((Agent("alice"), Agent("zed", tenant="acme"), Agent("yan", tenant="acme")))
        picked = Counter(route_many_tenant(router, "acme", 10))
        assert picked == {"yan": 5, "zed": 5}
        assert Counter(route_many(router, 10)) == {"alice": 10}
        assert router.pick(ticket(tenant="other"), open_counts={}, turn=Turns()) is None

    @given(tenant=st.sampled_from(["default", "acme", "globex"]), count=st.integers(1, 30))
    def test_picked_agents_always_share_the_ticket_tenant(self, tenant: str, count: int) -> None:
        """Whatever the tenant, every pick is an agent of that tenant."""
        router = Router(
            tuple(Agent(f"{t}-{i}", tenant=t) for t in ("default", "acme") for i in range(3))
        )
        picked = route_many_tenant(router, tenant, count)
        if tenant == "globex":
            assert picked == [None] * count
        else:
            assert all(str(name).startswith(f"{tenant}-") for name in picked)

    def test_agents_serve_their_queues_and_empty_means_all(self) -> None:
        """An agent with queues gets only those; one without serves every queue."""
        router = Router((Agent("alice", queues={"billing"}), Agent("bob")))
        route = router.routes[0]
        assert [a.name for a in router.candidates(ticket(queue="billing"), route)] == [
            "alice",
            "bob",
        ]
        assert [a.name for a in router.candidates(ticket(queue="support"), route)] == ["bob"]

    def test_a_route_limits_its_agents(self) -> None:
        """A route naming agents picks only among them."""
        router = Router(THREE.agents, routes=(Route("r", agents=("carol", "alice")),))
        assert [a.name for a in router.candidates(ticket(), router.routes[0])] == [
            "alice",
            "carol",
        ]

    def test_candidates_are_sorted_by_name_and_filtered_by_availability(self) -> None:
        """Candidates come in name order, without those away or full."""
        router = Router(
            (Agent("dave", max_open=1), Agent("carol"), Agent("bob", available=False), Agent("al"))
        )
        route = router.routes[0]
        assert [a.name for a in router.candidates(ticket(), route)] == ["al", "carol", "dave"]
        found = router.candidates(
            ticket(), route, available=lambda n: n != "al", open_counts={"dave": 1}
        )
        assert [a.name for a in found] == ["carol"]

    def test_skills_from_tags_that_are_some_agents_skill(self) -> None:
        """Without a skills field, the ticket's tags that are agent skills are required."""
        router = Router(
            (Agent("alice", skills={"Linux", "mail"}), Agent("bob", skills={"mail"}), Agent("c")),
            routes=(Route("r", skills=True),),
        )
        route = router.routes[0]
        assert router.required_skills(ticket(tags={"linux", "urgent"})) == {"linux"}
        names = [a.name for a in router.candidates(ticket(tags={"linux", "urgent"}), route)]
        assert names == ["alice"]
        assert [a.name for a in router.candidates(ticket(tags={"mail"}), route)] == [
            "alice",
            "bob",
        ]
        assert len(router.candidates(ticket(tags={"urgent"}), route)) == 3

    def test_skills_from_a_multi_choice_field_case_insensitively(self) -> None:
        """With skills_field, its values are required, compared case-insensitively."""
        router = Router(
            (Agent("alice", skills={"linux", "sql"}), Agent("bob", skills={"linux"})),
            routes=(Route("r", skills=True),),
            skills_field="skills",
        )
        route = router.routes[0]
        wants = ticket(fields={"skills": ("Linux", "SQL")}, tags={"mail"})
        assert [a.name for a in router.candidates(wants, route)] == ["alice"]
        assert len(router.candidates(ticket(fields={"skills": ("Linux",)}), route)) == 2
        assert len(router.candidates(ticket(), route)) == 2

    def test_a_route_without_skills_ignores_them(self) -> None:
        """Skills only count on routes that ask for them."""
        router = Router((Agent("alice", skills={"linux"}), Agent("bob")))
        assert len(router.candidates(ticket(tags={"linux"}), router.routes[0])) == 2

    def test_no_one_with_the_skills_gives_none(self) -> None:
        """If nobody covers the required skills, pick returns None."""
        router = Router(
            (Agent("alice", skills={"linux"}), Agent("bob", skills={"mail"})),
            routes=(Route("r", skills=True),),
        )
        both = ticket(tags={"linux", "mail"})
        assert router.pick(both, open_counts={}, turn=Turns()) is None


def route_many_tenant(router: Router, tenant: str, count: int) -> list[str | None]:
    turn = Turns()
    return [router.pick(ticket(i, tenant=tenant), open_counts={}, turn=turn) for i in range(count)]


class TestRouteFor:
    ROUTER = Router(
        THREE.agents,
        routes=(
            Route("vip", category="vip", strategy="fewest_open"),
            Route("billing", queue="billing"),
            Route("outages", queue="support", category="outage"),
            Route("default"),
        ),
        category_field="category",
    )

    def test_the_first_matching_route_wins(self) -> None:
        """Routes are tried in order; queue and category must both match."""
        assert (
            self.ROUTER.route_for(ticket(queue="billing", fields={"category": "vip"})).name == "vip"
        )
        assert self.ROUTER.route_for(ticket(queue="billing")).name == "billing"
        outage = ticket(queue="support", fields={"category": "outage"})
        assert self.ROUTER.route_for(outage).name == "outages"
        other = ticket(queue="billing2", fields={"category": "outage"})
        assert self.ROUTER.route_for(other).name == "default"

    def test_no_matching_route_gives_none(self) -> None:
        """Without a catch-all route some tickets have no route and get no agent."""
        router = Router(THREE.agents, routes=(Route("billing", queue="billing"),))
        assert router.route_for(ticket(queue="support")) is None
        assert router.pick(ticket(queue="support"), open_counts={}, turn=Turns()) is None

    def test_the_route_strategy_is_used(self) -> None:
        """A vip ticket is routed by load, as its route says."""
        vip = ticket(fields={"category": "vip"})
        counts = {"alice": 3, "bob": 1, "carol": 2}
        assert self.ROUTER.pick(vip, open_counts=counts, turn=Turns()) == "bob"

    def test_a_route_after_a_catch_all_is_refused(self) -> None:
        """A route that can never match is a ValidationError naming both routes."""
        with pytest.raises(ValidationError, match="'late' can never match: route 'default'"):
            Router(THREE.agents, routes=(Route("default"), Route("late", queue="x")))
        with pytest.raises(ValidationError, match="'b' can never match"):
            Router(THREE.agents, routes=(Route("a", queue="x"), Route("b", queue="x")))

    def test_a_category_route_needs_a_category_field(self) -> None:
        """Routing by category without naming the field is refused."""
        with pytest.raises(ValidationError, match="no category_field") as info:
            Router(THREE.agents, routes=(Route("vip", category="vip"),))
        assert info.value.field == "category_field"


names = st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z")


@st.composite
def routers(draw: st.DrawFn) -> Router:
    agent_names = draw(st.lists(names, unique=True, max_size=5))
    agents = tuple(
        Agent(
            name,
            queues=draw(st.frozensets(strategies.names(), max_size=3)),
            skills=draw(st.frozensets(strategies.names(), max_size=3)),
            available=draw(st.booleans()),
            max_open=draw(st.none() | st.integers(1, 100)),
            tenant=draw(st.sampled_from(["default", "acme"])),
        )
        for name in agent_names
    )
    category_field = draw(st.none() | st.just("category"))
    routes: list[Route] = []
    for queue, category in draw(
        st.lists(
            st.tuples(
                strategies.names(), st.none() | strategies.names() if category_field else st.none()
            ),
            unique=True,
            max_size=4,
        )
    ):
        routes.append(
            Route(
                f"r{len(routes)}",
                queue=queue,
                category=category,
                agents=draw(st.lists(st.sampled_from(agent_names), unique=True))
                if agent_names
                else (),
                strategy=draw(st.sampled_from(Strategy)),
                skills=draw(st.booleans()),
            )
        )
    routes.append(Route("default"))
    return Router(
        agents,
        routes=tuple(routes),
        category_field=category_field,
        skills_field=draw(st.none() | st.just("skills")),
    )


class TestRouterData:
    @given(routers())
    def test_round_trip(self, router: Router) -> None:
        """from_data(to_data(r)) == r."""
        assert Router.from_data(router.to_data()) == router

    @given(routers())
    def test_round_trip_through_json_and_toml(self, router: Router) -> None:
        """The data survives JSON and TOML unchanged."""
        data = router.to_data()
        assert Router.from_data(json.loads(json.dumps(data))) == router
        assert Router.from_data(tomllib.loads(toml_document(data))) == router

    def test_the_documented_form(self) -> None:
        """The data form: defaults left out, names sorted, strategy by value."""
        router = Router(
            (Agent("alice", queues={"support"}, skills={"Linux"}, max_open=5), Agent("bob")),
            routes=(
                Route("vip", category="vip", strategy="fewest_open", skills=True),
                Route("all"),
            ),
            category_field="category",
        )
        assert router.to_data() == {
            "agents": [
                {"name": "alice", "queues": ["support"], "skills": ["linux"], "max_open": 5},
                {"name": "bob"},
            ],
            "routes": [
                {"name": "vip", "category": "vip", "strategy": "fewest_open", "skills": True},
                {"name": "all"},
            ],
            "category_field": "category",
        }

    def test_routes_default_to_one_catch_all(self) -> None:
        """Without routes in the data there is one route, 'default', matching everything."""
        router = Router.from_data({"agents": [{"name": "alice"}]})
        assert router.routes == (Route("default"),)
        assert router.route_for(ticket(queue="anything")) == Route("default")

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ([], "the router must be a table"),
            ({}, "the router needs the key 'agents'"),
            ({"agents": [], "rutes": []}, "unknown key 'rutes'; use agents, category_field"),
            ({"agents": "alice"}, "agents must be a list"),
            ({"agents": [{"name": "a", "skils": []}]}, "agent 'a' has the unknown key 'skils'"),
            ({"agents": [{"queues": []}]}, "an agent needs the key 'name'"),
            ({"agents": [{"name": "a", "queues": "x"}]}, "agent 'a': queues must be a list"),
            ({"agents": [{"name": "a", "max_open": 0}]}, "max_open must be a whole number"),
            ({"agents": [{"name": "a", "max_open": True}]}, "max_open must be a whole number"),
            ({"agents": [{"name": "a", "available": "no"}]}, "available must be true or false"),
            ({"agents": [{"name": " "}]}, "agent name must not be empty"),
            ({"agents": [{"name": "a"}, {"name": "a"}]}, "'a' of tenant 'default' is listed twice"),
            ({"agents": [], "routes": []}, "at least one route"),
            ({"agents": [], "routes": [{"name": "r", "strategy": "random"}]}, "strategy 'random'"),
            (
                {"agents": [], "routes": [{"name": "r", "skills": 1}]},
                "skills must be true or false",
            ),
            ({"agents": [], "routes": [{"name": "r", "agents": ["x"]}]}, "names the agent 'x'"),
            (
                {"agents": [{"name": "x"}], "routes": [{"name": "r", "agents": ["x", "x"]}]},
                "'x' is listed twice",
            ),
            ({"agents": [], "routes": [{"name": "r"}, {"name": "r"}]}, "two routes are named 'r'"),
        ],
    )
    def test_bad_data_is_refused_with_a_message_naming_it(self, data: Any, message: str) -> None:
        """Bad router data raises ValidationError naming the bad key or value."""
        with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
            Router.from_data(data)


class TestRouterCheck:
    def test_a_consistent_router_passes(self) -> None:
        """Known queues, a choice category field and a multi-choice skills field pass."""
        router = Router(
            (Agent("alice", queues={"support"}, skills={"linux"}),),
            routes=(Route("vip", queue="support", category="vip", skills=True), Route("d")),
            category_field="category",
            skills_field="skills",
        )
        router.check(FIELDS, ["support", "billing"])
        Router((Agent("a"),), category_field="notes").check(FIELDS, ["default"])

    @pytest.mark.parametrize(
        ("router", "message"),
        [
            (Router((Agent("a", queues={"sales"}),)), "agent 'a' names the queue 'sales'"),
            (Router((), routes=(Route("r", queue="sales"),)), "route 'r' names the queue 'sales'"),
            (Router((), category_field="kind"), "custom field 'kind', which is not defined"),
            (Router((), category_field="size"), "'size' is a int field; use a choice or text"),
            (
                Router((), routes=(Route("r", category="gold"),), category_field="category"),
                "category 'gold', which is not a choice of 'category'",
            ),
            (Router((), skills_field="category"), "is a choice field; use a multi_choice"),
            (
                Router((Agent("a", skills={"cobol"}),), skills_field="skills"),
                "agent 'a' has the skill 'cobol', which is not a choice of 'skills'",
            ),
        ],
    )
    def test_unknown_queues_and_fields_are_refused(self, router: Router, message: str) -> None:
        """check() names the queue, field or value the tracker does not have."""
        with pytest.raises(ValidationError, match=message):
            router.check(FIELDS, ["support"])
