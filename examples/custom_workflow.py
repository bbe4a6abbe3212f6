"""A workflow of your own, read from TOML, with a guard written in Python.

The workflow lives in ``change_workflow.toml`` next to this file. Its
``deploy`` action names the guard ``no_friday_deploys``, which this program
supplies. Run it with ``python examples/custom_workflow.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import ticketkit


def no_friday_deploys(ctx: ticketkit.GuardContext) -> str | None:
    """A guard returns a reason to refuse, or None to allow."""
    if ctx.now.weekday() == 4:
        return "nobody deploys on a Friday; try again on Monday"
    return None


toml_text = (Path(__file__).parent / "change_workflow.toml").read_text(encoding="utf-8")
workflow = ticketkit.Workflow.from_toml(toml_text, guards={"no_friday_deploys": no_friday_deploys})
print(f"workflow {workflow.name!r}, states: " + ", ".join(s.name for s in workflow.states))

clock = ticketkit.FrozenClock(datetime(2026, 1, 8, 16, 0, tzinfo=UTC))  # a Thursday
tracker = ticketkit.Tracker.in_memory(workflow=workflow, prefix="CHG", clock=clock)
change = tracker.open(title="Upgrade PostgreSQL to 17", actor="dba@example.com")
print(f"{change.key} opened as {change.status!r}")


def attempt(action: str, actor: str, comment: str | None = None) -> None:
    """Try an action and say what happened."""
    day = f"{clock.now():%a %H:%M}"
    try:
        ticket = tracker.transition(change.key, action, actor=actor, comment=comment)
    except ticketkit.TransitionNotAllowed as exc:
        print(f"{day}  {action}: refused: {exc.reason or exc}")
    except ticketkit.ValidationError as exc:
        print(f"{day}  {action}: invalid: {exc}")
    else:
        print(f"{day}  {action}: now {ticket.status!r}")


attempt("approve", "cab@example.com")  # refused by the built-in has_assignee guard
tracker.assign(change.key, "dba@example.com", actor="cab@example.com")
attempt("approve", "cab@example.com")
clock.advance(days=1)  # Friday
attempt("deploy", "dba@example.com")  # refused by our guard
clock.advance(days=3)  # Monday
attempt("deploy", "dba@example.com")
attempt("roll_back", "dba@example.com")  # needs a comment saying why
attempt("roll_back", "dba@example.com", comment="Replication lag on the standby.")

print("\nactions dba@example.com can take now:")
for action in tracker.available_actions(change.key, "dba@example.com"):
    print(f"  {action.name:<8} {action.title}")

# The workflow round-trips: TOML text out, the same workflow back in.
again = ticketkit.Workflow.from_toml(
    workflow.to_toml(), guards={"no_friday_deploys": no_friday_deploys}
)
print(f"\nround trip through TOML gives the same workflow: {again == workflow}")
