"""Scheduled work of one ticket: when it falls due, and doing it.

Everything is worked out from the ticket and its events, so the answer is the
same in every process: SLA warnings and breaches (each recorded once),
timed rules (applied once per instant they count from), the reminder of a
ticket that waits for its customer, and auto-close.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from . import _changes as changes
from ._events import Event, EventType, ticket_event
from ._guards import TransitionInputs
from ._model import Ticket
from ._rule_runner import apply_rule, rule_context
from ._work import Work
from ._workflow import Category
from .rules import Anchor, Elapsed
from .storage import Transaction

if TYPE_CHECKING:
    from ._automator import Automator
    from .rules import Rule
    from .sla import SLAStatus

__all__ = ["AutoCloseStep", "auto_close_step", "do_due_work", "due_instants"]


@attrs.frozen
class AutoCloseStep:
    """The next auto-close step of a ticket: a reminder or a closing action."""

    kind: str  # "remind" or "close"
    due: datetime
    since: datetime
    action: str | None = None


def _entered(ticket: Ticket, events: Sequence[Event]) -> datetime:
    """When the ticket entered its current status."""
    for event in reversed(events):
        if event.type is EventType.STATUS_CHANGED and event.new == ticket.status:
            return event.at
    return ticket.created


def _last_customer_reply(
    auto: Automator, ticket: Ticket, events: Sequence[Event]
) -> datetime | None:
    for event in reversed(events):
        if (
            event.type is EventType.COMMENTED
            and not event.data.get("internal")
            and auto.is_customer(ticket, event.actor)
        ):
            return event.at
    return None


def _action_into(auto: Automator, status: str, *categories: Category) -> str | None:
    workflow = auto.tracker.workflow
    for category in categories:
        for action in workflow.actions:
            if ("*" in action.sources or status in action.sources) and workflow.category(
                action.target
            ) is category:
                return action.name
    return None


def auto_close_step(
    auto: Automator, ticket: Ticket, events: Sequence[Event]
) -> AutoCloseStep | None:
    """The reminder or closing that waits for ``ticket``, if any (see :class:`AutoClose`)."""
    settings = auto.automation.auto_close
    if settings is None or ticket.merged_into is not None:
        return None
    category = auto.tracker.workflow.category(ticket.status)
    if category not in (Category.RESOLVED, Category.PENDING):
        return None
    since = _entered(ticket, events)
    replied = _last_customer_reply(auto, ticket, events)
    if replied is not None and replied > since:
        since = replied

    def after(wait: timedelta) -> datetime:
        return auto.automation.calendar.add(since, wait) if settings.business else since + wait

    if category is Category.RESOLVED:
        action = settings.close_action or _action_into(auto, ticket.status, Category.CLOSED)
        if settings.resolved_after is None or action is None:
            return None
        return AutoCloseStep("close", after(settings.resolved_after), since, action)
    stamp = since.isoformat()
    reminded = any(e.type is EventType.REMINDED and e.data.get("since") == stamp for e in events)
    if settings.remind_after is not None and not reminded:
        return AutoCloseStep("remind", after(settings.remind_after), since)
    action = settings.pending_action or _action_into(
        auto, ticket.status, Category.CLOSED, Category.RESOLVED
    )
    if settings.close_pending_after is None or action is None:
        return None
    return AutoCloseStep("close", after(settings.close_pending_after), since, action)


def _timed_rule_due(
    auto: Automator,
    rule: Rule,
    anchors: Mapping[Anchor, datetime | None],
    events: Sequence[Event],
) -> tuple[datetime, datetime] | None:
    """When a timed rule falls due and the instant it counts from; ``None`` if not pending."""
    trigger = rule.trigger
    assert isinstance(trigger, Elapsed)
    anchor = anchors.get(trigger.since)
    if anchor is None:
        return None
    stamp = anchor.isoformat()
    for event in events:
        if (
            event.type is EventType.RULE_APPLIED
            and event.data.get("rule") == rule.name
            and event.data.get("anchor") == stamp
        ):
            return None
    return trigger.due_at(anchor, auto.automation.calendar), anchor


def due_instants(
    auto: Automator,
    ticket: Ticket,
    events: Sequence[Event],
    now: datetime,
    sla: SLAStatus | None = None,
) -> list[datetime]:
    """Every instant at which some work for ``ticket`` falls due (``now`` if already due)."""
    if ticket.merged_into is not None:
        return []
    from .rules import anchors

    settings = auto.automation
    instants: list[datetime] = []
    if settings.sla is not None:
        from .sla import due_notices, next_notice_at

        status = sla or auto.sla_status(ticket, events, now)
        if due_notices(settings.sla, status, events):
            instants.append(now)
        upcoming = next_notice_at(settings.sla, status, events)
        if upcoming is not None:
            instants.append(upcoming)
    timed = settings.rules.timed()
    if timed:
        found = anchors(ticket, events, auto.is_customer)
        for rule in timed:
            pending = _timed_rule_due(auto, rule, found, events)
            if pending is None:
                continue
            due, _ = pending
            if due > now:
                instants.append(due)
            elif rule.when.matches(ticket, rule_context(auto, ticket, now, None)):
                instants.append(now)
    step = auto_close_step(auto, ticket, events)
    if step is not None:
        instants.append(step.due)
    return instants


def do_due_work(auto: Automator, tx: Transaction, work: Work, now: datetime) -> None:
    """Do what is due for ``work.ticket`` at ``now``, adding to ``work``."""
    if work.ticket.merged_into is not None:
        return
    settings = auto.automation
    actor = settings.actor
    if settings.sla is not None:
        from .sla import due_notices, notice_event

        status = auto.sla_status(work.ticket, work.history, now)
        work.sla = (work.ticket, status)
        escalation = settings.escalation
        for notice in due_notices(settings.sla, status, work.history):
            work.change(work.ticket, [notice_event(work.ticket, notice, now)])
            kind = "warning" if notice.type is EventType.SLA_WARNING else "breach"
            work.count("sla_warnings" if kind == "warning" else "sla_breaches")
            if escalation is not None and escalation.applies_to(kind, str(notice.target)):
                auto.escalate(tx, work, None, f"SLA {kind}: {notice.target}", actor, now)
    timed = settings.rules.timed()
    if timed:
        from .rules import anchors

        found = anchors(work.ticket, work.history, auto.is_customer)
        for rule in timed:
            pending = _timed_rule_due(auto, rule, found, work.history)
            if pending is None or pending[0] > now:
                continue
            if rule.when.matches(work.ticket, rule_context(auto, work.ticket, now, None)):
                facts = {"trigger": "elapsed", "anchor": pending[1].isoformat()}
                apply_rule(auto, tx, work, rule, now, facts)
    step = auto_close_step(auto, work.ticket, work.history)
    if step is None or step.due > now:
        return
    if step.kind == "remind":
        reminder = ticket_event(
            work.ticket, EventType.REMINDED, actor, now, since=step.since.isoformat()
        )
        work.change(work.ticket, [reminder])
        work.count("reminders")
        return
    assert step.action is not None
    resolution = settings.auto_close.resolution if settings.auto_close else None
    new, events = changes.transition(
        auto.tracker.config,
        work.ticket,
        step.action,
        actor,
        now,
        TransitionInputs(resolution=resolution),
    )
    work.change(new, events)
    work.count("closed")
