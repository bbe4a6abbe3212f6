"""Ready-made workflows: a help desk, Trac's bug tracker, and open/closed."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping

from ._errors import ValidationError
from ._guards import ACTOR, ClearField, RequireField, RequireResolution, SetField, WithinDays
from ._workflow import Action, Category, State, Workflow

__all__ = [
    "BUILTIN_WORKFLOWS",
    "TRAC_RESOLUTIONS",
    "bugtracker",
    "get_workflow",
    "helpdesk",
    "simple",
]

#: The resolutions Trac offers when a ticket is resolved.
TRAC_RESOLUTIONS = ("fixed", "invalid", "wontfix", "duplicate", "worksforme")


def helpdesk(reopen_days: int = 7) -> Workflow:
    """A help desk: agents work a ticket, may wait for the customer, resolve and close it.

    A resolved or closed ticket can be reopened within ``reopen_days`` days of
    its resolution; after that the customer opens a new ticket.
    """
    return Workflow(
        name="helpdesk",
        states=(
            State("new", Category.NEW, "New"),
            State("open", Category.ACTIVE, "Open"),
            State("pending_customer", Category.PENDING, "Waiting for customer"),
            State("resolved", Category.RESOLVED, "Resolved"),
            State("closed", Category.CLOSED, "Closed"),
        ),
        actions=(
            Action("start", {"new"}, "open", "Start work"),
            Action("wait_for_customer", {"open"}, "pending_customer", "Wait for customer"),
            Action("customer_replied", {"pending_customer"}, "open", "Customer replied"),
            Action("resolve", {"new", "open", "pending_customer"}, "resolved", "Resolve"),
            Action("close", {"resolved"}, "closed", "Close"),
            Action(
                "reopen",
                {"resolved", "closed"},
                "open",
                "Reopen",
                guards=(WithinDays(reopen_days),),
                effects=(ClearField("resolution"),),
            ),
        ),
        initial="new",
    )


def bugtracker() -> Workflow:
    """Trac's default workflow: accept, reassign, resolve (with a resolution), reopen."""
    working = {"new", "assigned", "accepted", "reopened"}
    return Workflow(
        name="bugtracker",
        states=(
            State("new", Category.NEW, "New"),
            State("assigned", Category.ACTIVE, "Assigned"),
            State("accepted", Category.ACTIVE, "Accepted"),
            State("reopened", Category.ACTIVE, "Reopened"),
            State("closed", Category.CLOSED, "Closed"),
        ),
        actions=(
            Action("accept", working, "accepted", "Accept", effects=(SetField("assignee", ACTOR),)),
            Action(
                "reassign", working, "assigned", "Reassign", effects=(RequireField("assignee"),)
            ),
            Action(
                "resolve",
                working,
                "closed",
                "Resolve",
                effects=(RequireResolution(TRAC_RESOLUTIONS),),
            ),
            Action("reopen", {"closed"}, "reopened", "Reopen", effects=(ClearField("resolution"),)),
        ),
        initial="new",
    )


def simple() -> Workflow:
    """Open and closed, and back."""
    return Workflow(
        name="simple",
        states=(State("open", Category.ACTIVE, "Open"), State("closed", Category.CLOSED, "Closed")),
        actions=(
            Action("close", {"open"}, "closed", "Close"),
            Action("reopen", {"closed"}, "open", "Reopen"),
        ),
        initial="open",
    )


#: The built-in workflows by name; each call builds a fresh workflow.
BUILTIN_WORKFLOWS: Mapping[str, Callable[[], Workflow]] = types.MappingProxyType(
    {"helpdesk": helpdesk, "bugtracker": bugtracker, "simple": simple}
)


def get_workflow(name: str) -> Workflow:
    """The built-in workflow called ``name``."""
    factory = BUILTIN_WORKFLOWS.get(name) if isinstance(name, str) else None
    if factory is None:
        known = ", ".join(BUILTIN_WORKFLOWS)
        raise ValidationError(
            f"unknown workflow {name!r}; the built-in workflows are {known}, or build your "
            "own Workflow",
            field="workflow",
        )
    return factory()
