"""Routing: which agent a new, unassigned ticket goes to.

A :class:`Router` holds the help desk's :class:`Agent` list and an ordered list of
:class:`Route` s. :meth:`Router.route_for` picks the first route whose queue and category
match the ticket; :meth:`Router.pick` names the agent, by round robin or by load.

Fairness of round robin
-----------------------
The agents a route could ever give a ticket to (same tenant, serving the queue, named
by the route, covering the skills) form its *pool*, in name order. A persistent
counter (``turn``, one per route, tenant and pool: :meth:`Router.turn_key`) numbers
the *slots* of an endless rotation through the pool: slot ``n`` belongs to
``pool[n % len(pool)]``. Each ticket takes the next slot; when the slot's agent is
unavailable or already has ``max_open`` open tickets, the slot is skipped (given to
nobody) and the ticket takes the next one. So:

* with every agent available, ``N`` tickets give each agent ``N // k`` or
  ``N // k + 1`` of them (300 tickets over 3 agents: exactly 100 each);
* in any run of consecutive tickets of one pool, the agents that stayed available
  throughout got numbers of tickets that differ by at most one - however the others
  came and went, and also when several processes route at once (each slot is taken
  once, as the counter never repeats);
* turns missed while away are not made up: an agent who comes back gets its share
  of the tickets from then on, not a burst to catch up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attrs import field, frozen

from .._errors import ValidationError
from .._fields import FieldDef, FieldType
from .._model import Ticket
from ._agents import Agent, Route, Strategy
from ._data import in_context, optional_name, read_list, read_table

__all__ = ["Router"]


def _category_field(value: str | None) -> str | None:
    return optional_name(value, "category_field")


def _skills_field(value: str | None) -> str | None:
    return optional_name(value, "skills_field")


def _agents(values: Iterable[Agent]) -> tuple[Agent, ...]:
    agents = tuple(read_list(values, "agents"))
    seen: set[tuple[str, str]] = set()
    for agent in agents:
        if not isinstance(agent, Agent):
            raise ValidationError(f"agents must be Agent values, got {agent!r}", field="agents")
        if (agent.tenant, agent.name) in seen:
            raise ValidationError(
                f"the agent {agent.name!r} of tenant {agent.tenant!r} is listed twice; "
                "give each agent once",
                field="agents",
            )
        seen.add((agent.tenant, agent.name))
    return agents


def _routes(values: Iterable[Route]) -> tuple[Route, ...]:
    routes = tuple(read_list(values, "routes"))
    if not routes:
        raise ValidationError("a router needs at least one route, e.g. Route('default')")
    for i, route in enumerate(routes):
        if not isinstance(route, Route):
            raise ValidationError(f"routes must be Route values, got {route!r}", field="routes")
        for earlier in routes[:i]:
            if earlier.name == route.name:
                raise ValidationError(f"two routes are named {route.name!r}; rename one")
            if earlier.covers(route):
                raise ValidationError(
                    f"route {route.name!r} can never match: route {earlier.name!r} before it "
                    "takes all its tickets; put the more specific route first"
                )
    return routes


#: Slots a router may take per pool agent before it stops waiting for a ready agent's.
_MAX_SLOTS = 16


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=10).hexdigest()


@frozen
class Router:
    """Chooses an agent for a ticket: the first matching route, then its strategy.

    ``category_field`` names the custom field whose value routes match ``category``
    against. A ticket's required skills are the values of the multi-choice field
    ``skills_field``, or, without one, those of its tags that are some agent's skill.
    """

    agents: tuple[Agent, ...] = field(converter=_agents)
    routes: tuple[Route, ...] = field(default=(Route("default"),), converter=_routes)
    category_field: str | None = field(default=None, converter=_category_field)
    skills_field: str | None = field(default=None, converter=_skills_field)

    def __attrs_post_init__(self) -> None:
        known = {agent.name for agent in self.agents}
        for route in self.routes:
            if route.category is not None and self.category_field is None:
                raise ValidationError(
                    f"route {route.name!r} matches the category {route.category!r}, but the "
                    "router has no category_field; name the custom field holding the category",
                    field="category_field",
                )
            unknown = sorted(set(route.agents) - known)
            if unknown:
                raise ValidationError(
                    f"route {route.name!r} names the agent {unknown[0]!r}, which is not among "
                    "the router's agents; add it to agents or remove it from the route",
                    field="agents",
                )

    def route_for(self, ticket: Ticket) -> Route | None:
        """The first route whose queue and category match ``ticket``, if any."""
        category = None
        if self.category_field is not None:
            category = ticket.fields.get(self.category_field)
        for route in self.routes:
            if route.queue not in (None, ticket.queue):
                continue
            if route.category is not None and route.category != category:
                continue
            return route
        return None

    def required_skills(self, ticket: Ticket) -> frozenset[str]:
        """The skills an agent needs for ``ticket`` (lower case)."""
        if self.skills_field is not None:
            value = ticket.fields.get(self.skills_field, ())
            values = (value,) if isinstance(value, str) else value
            if not isinstance(values, tuple):
                return frozenset()
            return frozenset(str(v).lower() for v in values)
        known = {s for a in self.agents if a.tenant == ticket.tenant for s in a.skills}
        return frozenset(ticket.tags & known)

    def pool(self, ticket: Ticket, route: Route) -> list[Agent]:
        """Agents ``route`` could give ``ticket`` to, whoever is away or full, by name.

        Same tenant as the ticket, serving its queue, named by the route (if it names
        any) and, for a route with ``skills``, covering the required skills.
        """
        named = set(route.agents)
        needed = self.required_skills(ticket) if route.skills else frozenset()
        return sorted(
            (
                a
                for a in self.agents
                if a.tenant == ticket.tenant
                and a.serves(ticket.queue)
                and (not named or a.name in named)
                and needed <= a.skills
            ),
            key=lambda a: a.name,
        )

    def candidates(
        self,
        ticket: Ticket,
        route: Route,
        *,
        available: Callable[[str], bool] | None = None,
        open_counts: Mapping[str, int] | None = None,
    ) -> list[Agent]:
        """The pool's agents that can take ``ticket`` now, by name.

        An agent is left out when its ``available`` flag is false, ``available(name)``
        says no, or it has ``max_open`` tickets open in ``open_counts`` (missing: 0).
        """
        return _ready(self.pool(ticket, route), available, open_counts or {})

    def turn_key(self, ticket: Ticket, route: Route) -> str:
        """The name of the round-robin counter of ``ticket``'s route, tenant and pool.

        At most 88 characters: ``"rr:"``, the route name (cut to 64) and a digest of the
        route name, the tenant and the pool's agent names.
        """
        return _turn_key(route, ticket.tenant, self.pool(ticket, route))

    def pick(
        self,
        ticket: Ticket,
        *,
        open_counts: Mapping[str, int],
        turn: Callable[[str], int],
        available: Callable[[str], bool] | None = None,
    ) -> str | None:
        """The name of the agent to assign ``ticket`` to, or ``None`` if nobody can take it.

        ``turn(key)`` must return 0, 1, 2, ... on successive calls with one key, never
        repeating (a persistent counter such as a store's ``next_counter``); round
        robin calls it once per slot it takes, so once per ticket when everyone is
        available. Fewest-open never calls it.
        """
        route = self.route_for(ticket)
        if route is None:
            return None
        pool = self.pool(ticket, route)
        ready = _ready(pool, available, open_counts)
        if not ready:
            return None
        if route.strategy is Strategy.FEWEST_OPEN:
            return min(ready, key=lambda a: (open_counts.get(a.name, 0), a.name)).name
        names = {a.name for a in ready}
        key = _turn_key(route, ticket.tenant, pool)
        taken: set[int] = set()
        # A ready agent owns one slot in every len(pool) consecutive ones, so alone this
        # ends within len(pool) calls; routers running at the same time may take the
        # slots in between, hence the wider bound.
        for _ in range(_MAX_SLOTS * len(pool)):
            slot = turn(key)
            if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0 or slot in taken:
                raise ValidationError(
                    f"turn({key!r}) returned {slot!r}; it must count 0, 1, 2, ... and never "
                    "repeat (use a persistent counter such as a store's next_counter)",
                    field="turn",
                )
            taken.add(slot)
            agent = pool[slot % len(pool)]
            if agent.name in names:
                return agent.name
        # Starved by other routers: the next ready agent after the last slot taken.
        start = slot % len(pool)
        return next(a.name for a in pool[start:] + pool[:start] if a.name in names)

    def check(self, fields: Mapping[str, FieldDef], queues: Iterable[str]) -> None:
        """Refuse queues and custom fields the tracker does not have."""
        known = set(queues)
        named = [(f"route {r.name!r}", r.queue) for r in self.routes if r.queue is not None]
        named += [(f"agent {a.name!r}", q) for a in self.agents for q in sorted(a.queues)]
        for what, queue in named:
            if queue not in known:
                raise ValidationError(
                    f"{what} names the queue {queue!r}; the tracker's queues are "
                    f"{', '.join(sorted(known))}",
                    field="queue",
                )
        if self.category_field is not None:
            fd = _field(fields, self.category_field, "category_field")
            if fd.type is FieldType.CHOICE:
                for route in self.routes:
                    if route.category is not None and route.category not in fd.choices:
                        raise ValidationError(
                            f"route {route.name!r} matches the category {route.category!r}, "
                            f"which is not a choice of {fd.name!r} ({', '.join(fd.choices)})",
                            field="category",
                        )
            elif fd.type is not FieldType.TEXT:
                raise ValidationError(
                    f"category_field {fd.name!r} is a {fd.type.value} field; use a choice "
                    "or text field",
                    field="category_field",
                )
        if self.skills_field is not None:
            fd = _field(fields, self.skills_field, "skills_field")
            if fd.type is not FieldType.MULTI_CHOICE:
                raise ValidationError(
                    f"skills_field {fd.name!r} is a {fd.type.value} field; use a "
                    "multi_choice field",
                    field="skills_field",
                )
            choices = {c.lower() for c in fd.choices}
            for agent in self.agents:
                odd = sorted(agent.skills - choices)
                if odd:
                    raise ValidationError(
                        f"agent {agent.name!r} has the skill {odd[0]!r}, which is not a "
                        f"choice of {fd.name!r} ({', '.join(fd.choices)})",
                        field="skills",
                    )

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON- and TOML-ready); :meth:`from_data` reads it back."""
        data: dict[str, Any] = {"agents": [a.to_data() for a in self.agents]}
        data["routes"] = [r.to_data() for r in self.routes]
        if self.category_field is not None:
            data["category_field"] = self.category_field
        if self.skills_field is not None:
            data["skills_field"] = self.skills_field
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Router:
        """Read ``{"agents": [...], "routes": [...], "category_field": "category"}``."""
        values = read_table(
            data, "the router", {"agents"}, {"routes", "category_field", "skills_field"}
        )
        values["agents"] = [Agent.from_data(a) for a in read_list(values["agents"], "agents")]
        if "routes" in values:
            values["routes"] = [Route.from_data(r) for r in read_list(values["routes"], "routes")]
        return in_context("the router", lambda: cls(**values))


def _ready(
    pool: list[Agent], available: Callable[[str], bool] | None, counts: Mapping[str, int]
) -> list[Agent]:
    return [
        a
        for a in pool
        if a.available
        and (available is None or available(a.name))
        and (a.max_open is None or counts.get(a.name, 0) < a.max_open)
    ]


def _turn_key(route: Route, tenant: str, pool: list[Agent]) -> str:
    digest = _digest(route.name, tenant, *(a.name for a in pool))
    return f"rr:{route.name[:64]}:{digest}"


def _field(fields: Mapping[str, FieldDef], name: str, what: str) -> FieldDef:
    fd = fields.get(name)
    if fd is None:
        raise ValidationError(
            f"{what} names the custom field {name!r}, which is not defined; define it or "
            f"use one of {', '.join(sorted(fields)) or '(none defined)'}",
            field=what,
        )
    return fd
