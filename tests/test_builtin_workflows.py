"""The ready-made workflows, walked end to end as a tracker would drive them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from ticketkit._builtin_workflows import (
    BUILTIN_WORKFLOWS,
    TRAC_RESOLUTIONS,
    bugtracker,
    get_workflow,
    helpdesk,
    simple,
)
from ticketkit._errors import TransitionNotAllowed, ValidationError
from ticketkit._guards import TransitionInputs, WithinDays
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit._workflow import Category, Workflow

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def new_ticket(wf: Workflow) -> Ticket:
    return Ticket(
        id=1,
        key="HD-1",
        title="t",
        description="",
        status=wf.initial,
        priority=Priority.P3,
        reporter="r",
        queue="default",
        created=START,
        updated=START,
        version=1,
    )


def step(
    wf: Workflow, t: Ticket, action: str, now: datetime, actor: str = "agent", **inputs: Any
) -> Ticket:
    """Apply an action the way the tracker does (plain fields only)."""
    plan = wf.plan(t, action, actor=actor, now=now, inputs=TransitionInputs(**inputs))
    closing = wf.category(plan.target) in (Category.RESOLVED, Category.CLOSED)
    resolved_at = (t.resolved_at or now) if closing else None
    changes: dict[str, Any] = dict(plan.changes)
    return attrs.evolve(
        t, status=plan.target, resolved_at=resolved_at, version=t.version + 1, **changes
    )


class TestHelpdesk:
    def test_full_path(self) -> None:
        """new -> open -> pending -> open -> resolved -> closed -> reopened within the window."""
        wf = helpdesk()
        t = new_ticket(wf)
        statuses = []
        for i, action in enumerate(
            ["start", "wait_for_customer", "customer_replied", "resolve", "close", "reopen"]
        ):
            t = step(wf, t, action, START + timedelta(days=i))
            statuses.append(t.status)
        assert statuses == ["open", "pending_customer", "open", "resolved", "closed", "open"]
        assert t.resolved_at is None

    def test_reopen_refused_after_window(self) -> None:
        """Reopening after reopen_days is refused with a reason naming the limit."""
        wf = helpdesk(reopen_days=7)
        t = step(wf, new_ticket(wf), "resolve", START)
        t = step(wf, t, "close", START + timedelta(days=1))
        with pytest.raises(TransitionNotAllowed) as info:
            step(wf, t, "reopen", START + timedelta(days=7, minutes=1))
        assert info.value.status == "closed"
        assert info.value.reason is not None
        assert "within 7 days" in info.value.reason

    def test_reopen_at_the_limit(self) -> None:
        """Reopening exactly reopen_days after resolution is allowed."""
        wf = helpdesk(reopen_days=2)
        t = step(wf, new_ticket(wf), "resolve", START)
        assert step(wf, t, "reopen", START + timedelta(days=2)).status == "open"

    def test_reopen_clears_resolution(self) -> None:
        """Reopening clears the resolution."""
        wf = helpdesk()
        t = attrs.evolve(step(wf, new_ticket(wf), "resolve", START), resolution="solved")
        plan = wf.plan(t, "reopen", actor="a", now=START)
        assert dict(plan.changes) == {"resolution": None}

    def test_reopen_not_offered_after_window(self) -> None:
        """available_actions drops reopen once the window has passed."""
        wf = helpdesk(reopen_days=1)
        t = step(wf, new_ticket(wf), "resolve", START)
        names = [a.name for a in wf.available_actions(t, "a", START + timedelta(days=2))]
        assert names == ["close"]

    def test_shape(self) -> None:
        """States, categories, labels and the reopen guard are as documented."""
        wf = helpdesk(reopen_days=3)
        assert [(s.name, s.category) for s in wf.states] == [
            ("new", Category.NEW),
            ("open", Category.ACTIVE),
            ("pending_customer", Category.PENDING),
            ("resolved", Category.RESOLVED),
            ("closed", Category.CLOSED),
        ]
        assert all(a.label for a in wf.actions)
        assert wf.action("reopen").guards == (WithinDays(3),)
        assert [a.name for a in wf.available_actions(new_ticket(wf), "a", START)] == [
            "start",
            "resolve",
        ]


class TestBugtracker:
    def test_accept_assigns_actor(self) -> None:
        """Accepting makes the acting user the assignee."""
        wf = bugtracker()
        t = step(wf, new_ticket(wf), "accept", START, actor="dev")
        assert (t.status, t.assignee) == ("accepted", "dev")

    def test_reassign_needs_assignee(self) -> None:
        """Reassigning requires an assignee and sets it."""
        wf = bugtracker()
        with pytest.raises(ValidationError, match="needs a value for 'assignee'"):
            step(wf, new_ticket(wf), "reassign", START)
        t = step(wf, new_ticket(wf), "reassign", START, fields={"assignee": "bo"})
        assert (t.status, t.assignee) == ("assigned", "bo")

    def test_resolve_needs_trac_resolution(self) -> None:
        """Resolving requires one of Trac's resolutions, which the error lists."""
        wf = bugtracker()
        with pytest.raises(ValidationError, match="fixed, invalid, wontfix, duplicate, worksfor"):
            step(wf, new_ticket(wf), "resolve", START, resolution="done")
        t = step(wf, new_ticket(wf), "resolve", START, resolution="wontfix")
        assert (t.status, t.resolution) == ("closed", "wontfix")

    def test_full_path(self) -> None:
        """new -> accepted -> assigned -> closed -> reopened -> accepted, resolution cleared."""
        wf = bugtracker()
        t = step(wf, new_ticket(wf), "accept", START)
        t = step(wf, t, "reassign", START, fields={"assignee": "bo"})
        t = step(wf, t, "resolve", START, resolution="fixed")
        t = step(wf, t, "reopen", START)
        assert (t.status, t.resolution) == ("reopened", None)
        t = step(wf, t, "accept", START, actor="cy")
        assert (t.status, t.assignee) == ("accepted", "cy")

    def test_resolutions(self) -> None:
        """The resolutions are Trac's five."""
        assert TRAC_RESOLUTIONS == ("fixed", "invalid", "wontfix", "duplicate", "worksforme")


class TestSimple:
    def test_close_and_reopen(self) -> None:
        """open -> closed -> open."""
        wf = simple()
        t = step(wf, new_ticket(wf), "close", START)
        assert t.status == "closed"
        assert step(wf, t, "reopen", START).status == "open"


class TestRegistry:
    def test_names(self) -> None:
        """The built-ins are registered under their names."""
        assert sorted(BUILTIN_WORKFLOWS) == ["bugtracker", "helpdesk", "simple"]
        assert all(f().name == name for name, f in BUILTIN_WORKFLOWS.items())

    def test_get_workflow(self) -> None:
        """get_workflow builds the named workflow."""
        assert get_workflow("helpdesk") == helpdesk()

    def test_unknown(self) -> None:
        """An unknown name raises ValidationError listing the built-ins."""
        with pytest.raises(ValidationError, match=r"unknown workflow 'kanban'.*helpdesk"):
            get_workflow("kanban")

    @pytest.mark.parametrize("name", sorted(BUILTIN_WORKFLOWS))
    def test_round_trips(self, name: str) -> None:
        """Every built-in survives dict, JSON and TOML."""
        wf = get_workflow(name)
        assert Workflow.from_data(wf.to_data()) == wf
        assert Workflow.from_json(wf.to_json()) == wf
        assert Workflow.from_toml(wf.to_toml()) == wf
