"""Rules at work: a rule's trigger and condition checked, its actions carried out.

An event-triggered rule runs after the write whose event triggers it, as one
write of its own by the actor ``rule:<name>``; a timed rule runs inside the
scheduler's transaction. Either way its actions change the ticket in memory
(:func:`apply_rule`) and the caller stores the result as one version.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrs import evolve

from . import _changes as changes
from . import _edits as edits
from ._errors import TicketkitError, ValidationError
from ._events import Event, EventType, ticket_event
from ._guards import TransitionInputs
from ._history import diff_events
from ._model import Ticket
from ._notifying import QUEUED, notify, recipients
from ._work import Work, flatten
from .storage import Transaction

if TYPE_CHECKING:
    from ._automator import Automator
    from .rules import Rule, RuleAction, RuleContext

__all__ = ["apply_event_rule", "apply_rule", "rule_context"]


def rule_context(
    auto: Automator, ticket: Ticket, now: datetime, event: Event | None
) -> RuleContext:
    from .rules import RuleContext

    comment = None
    if event is not None and event.type is EventType.COMMENTED:
        wanted = event.data.get("comment_id")
        comment = next((c for c in auto.tracker.store.comments(ticket.id) if c.id == wanted), None)
    return RuleContext(
        workflow=auto.tracker.workflow,
        now=now,
        event=event,
        comment=comment,
        is_customer=None if event is None else auto.is_customer(ticket, event.actor),
    )


def _triggered_by(auto: Automator, rule: Rule, ticket: Ticket, event: Event) -> bool:
    by = getattr(rule.trigger, "by", "anyone")
    if by == "anyone":
        return True
    customer = auto.is_customer(ticket, event.actor)
    return customer if by == "customer" else not customer


def apply_event_rule(auto: Automator, rule: Rule, event: Event) -> None:
    actor = f"rule:{rule.name}"

    def change(
        tx: Transaction, current: Ticket, actor: str, now: datetime
    ) -> tuple[Ticket, list[Event]]:
        if not _triggered_by(auto, rule, current, event):
            return current, []
        if not rule.when.matches(current, rule_context(auto, current, now, event)):
            return current, []
        work = Work(current, tx.events(current.id))
        apply_rule(auto, tx, work, rule, now, {"trigger": event.type.value, "event": event.id})
        if work.outbox:
            tx.add_outbox(work.outbox)
            QUEUED.set(True)
        return flatten(current, work.ticket, work.events)

    auto.tracker._write(event.ticket_id, actor, None, change)


def apply_rule(
    auto: Automator, tx: Transaction, work: Work, rule: Rule, now: datetime, facts: dict[str, Any]
) -> None:
    """Carry out ``rule``'s actions on ``work``, then record that it was applied."""
    actor = f"rule:{rule.name}"
    skipped: list[str] = []
    for action in rule.actions:
        try:
            _act(auto, tx, work, action, actor, now, rule.name)
        except TicketkitError as exc:
            # One action that cannot be done (a transition the status no longer
            # offers) does not stop the others; the record says what was skipped.
            skipped.append(f"{type(action).__name__}: {exc}")
    data: dict[str, Any] = {"rule": rule.name, **facts}
    if skipped:
        data["skipped"] = skipped
    work.change(
        work.ticket, [ticket_event(work.ticket, EventType.RULE_APPLIED, actor, now, **data)]
    )
    work.count("rules")


def _act(
    auto: Automator,
    tx: Transaction,
    work: Work,
    action: RuleAction,
    actor: str,
    now: datetime,
    rule: str,
) -> None:
    from . import rules as r

    config = auto.tracker.config
    t = work.ticket
    new: Ticket | None = None
    if isinstance(action, r.SetField):
        name = action.field
        if name.startswith("fields."):
            new = edits.edit(config, t, now, fields={name[7:]: action.value})
        else:
            new = edits.edit(config, t, now, **{name: action.value})
    elif isinstance(action, r.SetPriority):
        new = edits.edit(config, t, now, priority=action.priority)
    elif isinstance(action, r.Assign):
        who = auto.route(tx, t) if action.route else action.to
        if action.route and who is None:
            raise ValidationError(f"no agent is available to route {t.key} to")
        new = edits.edit(config, t, now, assignee=who)
    elif isinstance(action, r.AddTag):
        new = edits.edit(config, t, now, add_tags=(action.tag,))
    elif isinstance(action, r.RemoveTag):
        new = edits.edit(config, t, now, remove_tags=(action.tag,))
    elif isinstance(action, r.Reply | r.Note):
        bumped = evolve(t, version=t.version + 1, updated=now)
        body = edits.check_comment(r.render_text(action.text, t))
        internal = isinstance(action, r.Note)
        work.change(bumped, [changes.comment_event(tx, bumped, body, actor, now, internal)])
        return
    elif isinstance(action, r.Transition):
        inputs = TransitionInputs(resolution=None)
        done, events = changes.transition(config, t, action.action, actor, now, inputs)
        work.change(done, events)
        return
    elif isinstance(action, r.Notify):
        text = r.render_text(action.text, t) if getattr(action, "text", None) else ""
        work.outbox.extend(
            notify(auto, t, action.template, recipients(t, action.to), now, actor, text=text)
        )
        return
    elif isinstance(action, r.Escalate):
        auto.escalate(tx, work, action.level, f"rule {rule}", actor, now)
        return
    else:  # pragma: no cover - RuleSet refuses other actions when built
        raise ValidationError(f"unknown rule action {action!r}")
    work.change(new, diff_events(t, new, actor=actor, at=now))
