"""A rule's actions carried out on an in-memory copy of a ticket, stored nowhere.

:func:`simulate` runs the tracker's own action code (the one that carries out
rules for real) against a :class:`Sandbox` that stands in for a store
transaction: it keeps the comments a rule adds in memory, counts routing turns
from nought, and refuses every other call, so a dry run cannot write. What the
actions did is read back from the events and notifications they produced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from attrs import evolve

from .._events import Event, EventType
from .._model import Comment, Ticket
from ._dry_run_model import (
    DraftComment,
    DraftNotification,
    FieldChange,
    Firing,
    SkippedAction,
    StatusChange,
)

if TYPE_CHECKING:
    from .._automator import Automator
    from ._rule import Rule

__all__ = ["Sandbox", "simulate"]


class Sandbox:
    """Stands in for a store transaction in a dry run: it keeps comments, writes nothing."""

    def __init__(self) -> None:
        self.comments: list[Comment] = []
        self._turns: dict[str, int] = {}

    def add_comment(self, comment: Comment) -> Comment:
        """Keep ``comment`` here (id 0: it is never stored)."""
        kept = evolve(comment, id=0)
        self.comments.append(kept)
        return kept

    def next_counter(self, name: str) -> int:
        """0, 1, 2... per name, counted in this dry run only (the router's turns)."""
        value = self._turns.get(name, 0)
        self._turns[name] = value + 1
        return value

    def __getattr__(self, name: str) -> Any:
        # Any other use of the transaction would be a write: refuse it loudly.
        raise AttributeError(f"a dry run does not write; Transaction.{name} is not available")


def _skipped(records: Sequence[Event]) -> tuple[SkippedAction, ...]:
    found: list[SkippedAction] = []
    for record in records:
        for item in record.data.get("skipped") or ():
            action, _, reason = str(item).partition(": ")
            found.append(SkippedAction(action, reason))
    return tuple(found)


def simulate(
    auto: Automator,
    rule: Rule,
    ticket: Ticket,
    history: Sequence[Event],
    at: datetime,
    facts: Mapping[str, Any],
    *,
    trigger: Event | None = None,
) -> Firing:
    """What ``rule`` would have done to ``ticket`` at ``at``, as a :class:`Firing`.

    ``history`` is the ticket's events up to then; ``facts`` are what the
    ``rule_applied`` record would say (``trigger``, ``event`` or ``anchor``).
    """
    from .._rule_runner import apply_rule
    from .._work import Work
    from ..storage import Transaction

    sandbox = Sandbox()
    work = Work(ticket, list(history))
    apply_rule(auto, cast(Transaction, sandbox), work, rule, at, dict(facts))
    changes: list[FieldChange] = []
    transitions: list[StatusChange] = []
    escalations: list[str] = []
    records: list[Event] = []
    for event in work.events:
        if event.type is EventType.STATUS_CHANGED:
            action = event.data.get("action")
            transitions.append(StatusChange(str(action), str(event.old), str(event.new)))
        elif event.type is EventType.ESCALATED:
            escalations.append(str(event.data.get("level")))
        elif event.type is EventType.RULE_APPLIED:
            records.append(event)
        elif event.field is not None:
            changes.append(FieldChange(event.field, event.old, event.new))
    notifications = tuple(
        DraftNotification(
            channel=item.channel,
            template=str(item.payload.get("template")),
            recipients=tuple(str(r) for r in cast(list[Any], item.payload.get("recipients", []))),
            subject=str(item.payload.get("subject")),
        )
        for item in work.outbox
    )
    anchor = facts.get("anchor")
    return Firing(
        ticket=ticket.key,
        rule=rule.name,
        trigger=str(facts["trigger"]),
        at=at,
        event=None if trigger is None else trigger.id,
        actor=None if trigger is None else trigger.actor,
        anchor=datetime.fromisoformat(anchor) if isinstance(anchor, str) else None,
        changes=tuple(changes),
        transitions=tuple(transitions),
        comments=tuple(DraftComment(c.body, c.internal) for c in sandbox.comments),
        notifications=notifications,
        escalations=tuple(escalations),
        skipped=_skipped(records),
    )
