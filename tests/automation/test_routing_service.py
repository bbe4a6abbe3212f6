"""Routing of new tickets on a tracker: round robin across processes, fewest open, tenants."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from automation.support import BACKENDS, tracker_on
from ticketkit import Automation
from ticketkit.rules import Agent, Route, Router, Strategy

AGENTS = (Agent("ann"), Agent("ben"), Agent("cat"))


@pytest.mark.parametrize("backend", BACKENDS)
class TestRouting:
    def test_round_robin_is_fair(self, backend: str, tmp_path: Path) -> None:
        """300 new tickets over 3 agents: 100 each, the turn kept by the store."""
        router = Router(agents=AGENTS)
        with tracker_on(backend, tmp_path, automation=Automation(router=router)) as (
            tracker,
            _,
            _i,
        ):
            counts = collections.Counter(
                tracker.open(f"t{i}", actor="bob@example.com").assignee for i in range(300)
            )
            assert counts == {"ann": 100, "ben": 100, "cat": 100}

    def test_fewest_open_and_explicit_assignees(self, backend: str, tmp_path: Path) -> None:
        """Fewest-open picks the least loaded; a ticket opened with an assignee keeps it."""
        router = Router(agents=AGENTS, routes=(Route("load", strategy=Strategy.FEWEST_OPEN),))
        with tracker_on(backend, tmp_path, automation=Automation(router=router)) as (
            tracker,
            _,
            _i,
        ):
            for _ in range(2):
                tracker.open("for ann", actor="bob@example.com", assignee="ann")
            tracker.open("for ben", actor="bob@example.com", assignee="ben")
            assert tracker.open("new", actor="bob@example.com").assignee == "cat"
            assert tracker.open("new", actor="bob@example.com").assignee in {"ben", "cat"}
            opened = tracker.history(tracker.open("x", actor="bob@example.com").key)[0]
            assert opened.data["routed"] is True


def test_agents_of_another_tenant_are_never_picked() -> None:
    """A ticket of tenant B is never routed to tenant A's agents."""
    from ticketkit import Tracker

    router = Router(agents=(Agent("ann", tenant="default"), Agent("zed", tenant="globex")))
    tracker = Tracker.in_memory(automation=Automation(router=router))
    picked = {tracker.open("x", actor="c@x", tenant="globex").assignee for _ in range(10)}
    assert picked == {"zed"}
    assert {tracker.open("x", actor="c@x").assignee for _ in range(10)} == {"ann"}


def test_unavailable_agents_are_skipped() -> None:
    from ticketkit import Tracker

    router = Router(agents=(Agent("ann"), Agent("ben", available=False), Agent("cat")))
    tracker = Tracker.in_memory(automation=Automation(router=router))
    counts = collections.Counter(tracker.open("x", actor="c@x").assignee for _ in range(60))
    assert counts == {"ann": 30, "cat": 30}
