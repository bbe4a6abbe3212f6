"""The agents tickets are routed to, and the routes a :class:`~._routing.Router` follows.

An :class:`Agent` serves some queues with some skills, up to a number of open
tickets; a :class:`Route` says which tickets (queue, category) go to which agents,
and by which :class:`Strategy`. :mod:`._routing` picks among them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

from attrs import field, frozen

from .._errors import ValidationError
from .._text import check_name, parse_choice
from ._data import build_named, check_bool, name_set, optional_name, read_list

__all__ = ["Agent", "Route", "Strategy"]


def _agent_name(value: str) -> str:
    return check_name(value, "agent name")


def _tenant(value: str) -> str:
    return check_name(value, "tenant")


def _route_name(value: str) -> str:
    return check_name(value, "route name")


def _queue(value: str | None) -> str | None:
    return optional_name(value, "queue")


def _category(value: str | None) -> str | None:
    return optional_name(value, "category")


def _skills(values: Iterable[str]) -> frozenset[str]:
    return frozenset(s.lower() for s in name_set(values, "skills"))


def _queues(values: Iterable[str]) -> frozenset[str]:
    return name_set(values, "queues")


def _max_open(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(
            f"max_open must be a whole number of tickets (1 or more) or None for no limit, "
            f"got {value!r}; to stop routing to an agent set available to false",
            field="max_open",
        )
    return value


@frozen
class Agent:
    """Someone tickets can be routed to.

    ``queues`` are the queues the agent serves (empty: every queue); ``skills`` are
    compared case-insensitively with a ticket's required skills. ``available`` false
    and ``max_open`` (at most that many open tickets) keep tickets away from the agent.
    An agent gets tickets of its ``tenant`` only.
    """

    name: str = field(converter=_agent_name)
    queues: frozenset[str] = field(default=frozenset(), converter=_queues)
    skills: frozenset[str] = field(default=frozenset(), converter=_skills)
    available: bool = True
    max_open: int | None = field(default=None, converter=_max_open)
    tenant: str = field(default="default", converter=_tenant)

    def __attrs_post_init__(self) -> None:
        check_bool(self.available, "available")

    def serves(self, queue: str) -> bool:
        """Does the agent take tickets of ``queue``?"""
        return not self.queues or queue in self.queues

    def to_data(self) -> dict[str, Any]:
        """Plain data; keys at their default are left out."""
        data: dict[str, Any] = {"name": self.name}
        if self.queues:
            data["queues"] = sorted(self.queues)
        if self.skills:
            data["skills"] = sorted(self.skills)
        if not self.available:
            data["available"] = False
        if self.max_open is not None:
            data["max_open"] = self.max_open
        if self.tenant != "default":
            data["tenant"] = self.tenant
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Agent:
        """Read ``{"name": "alice", "queues": [...], "skills": [...], "max_open": 10}``."""
        return build_named(
            cls, data, "agent", {"queues", "skills", "available", "max_open", "tenant"}
        )


class Strategy(enum.StrEnum):
    """How a route chooses among its candidates (see the module for round robin)."""

    #: Take turns through the route's pool of agents, skipping those away or full.
    ROUND_ROBIN = "round_robin"
    #: The candidate with the fewest open tickets; ties go to the first by name.
    FEWEST_OPEN = "fewest_open"

    @classmethod
    def parse(cls, value: object) -> Strategy:
        """Accept a member or its value; refuse anything else."""
        return parse_choice(cls, value, "routing strategy", field="strategy")


def _strategy(value: Strategy | str) -> Strategy:
    return Strategy.parse(value)


def _agent_names(values: Iterable[str]) -> tuple[str, ...]:
    names = tuple(check_name(v, "agents") for v in read_list(values, "agents"))
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValidationError(f"the agent {twice[0]!r} is listed twice", field="agents")
    return tuple(sorted(names))


@frozen
class Route:
    """Where tickets of a queue and/or category go.

    ``queue`` and ``category`` (the value of the router's ``category_field``) are
    ``None`` to match any. ``agents`` limits the route to those agents (empty: every
    agent serving the queue). With ``skills`` only agents whose skills cover the
    ticket's required skills are candidates.
    """

    name: str = field(converter=_route_name)
    queue: str | None = field(default=None, converter=_queue)
    category: str | None = field(default=None, converter=_category)
    agents: tuple[str, ...] = field(default=(), converter=_agent_names)
    strategy: Strategy = field(default=Strategy.ROUND_ROBIN, converter=_strategy)
    skills: bool = False

    def __attrs_post_init__(self) -> None:
        check_bool(self.skills, "skills")

    def covers(self, other: Route) -> bool:
        """Does every ticket ``other`` matches also match this route?"""
        return self.queue in (None, other.queue) and self.category in (None, other.category)

    def to_data(self) -> dict[str, Any]:
        """Plain data; keys at their default are left out."""
        data: dict[str, Any] = {"name": self.name}
        if self.queue is not None:
            data["queue"] = self.queue
        if self.category is not None:
            data["category"] = self.category
        if self.agents:
            data["agents"] = list(self.agents)
        if self.strategy is not Strategy.ROUND_ROBIN:
            data["strategy"] = self.strategy.value
        if self.skills:
            data["skills"] = True
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Route:
        """Read ``{"name": "vip", "category": "vip", "strategy": "fewest_open"}``."""
        return build_named(
            cls, data, "route", {"queue", "category", "agents", "strategy", "skills"}
        )
