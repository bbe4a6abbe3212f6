"""``dry_run``: which rules would have fired on the recorded history, and what they would do.

Each ticket's recorded events are walked in order and the ticket is rebuilt at
each version from them (:func:`ticketkit.history.replay`'s reading). An event
rule "would have fired" on an event in the period when its trigger takes the
event (``by`` as the tracker's automation tells customers from staff) and its
condition holds on the ticket as that event's write left it. A timed rule
would have fired when it fell due in the period, counted from each instant its
anchor took, if its condition held then (or at the first later change after
which it held, before the anchor moved). What the actions would have changed
is worked out by the tracker's own action code on an in-memory copy; nothing
is written.

The recorded history is what happened: the simulated rules' own changes do not
feed back into later events or trigger further rules. Changes recorded by the
rules that were live then do trigger rules, and count as deep as the chain of
rules that recorded them, so ``max_depth`` holds back what it held back live.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .._clock import optional_instant
from .._errors import ValidationError
from .._events import NOTICE_TYPES, Event, EventType
from .._history import apply_event, replay
from .._model import Comment, Ticket
from .._query import Query
from .._scan import Progress, check_scope, histories, tickets_before
from ._conditions import RuleContext
from ._dry_run_act import simulate
from ._dry_run_model import DryRun, Firing, RuleSummary
from ._rule import Rule, RuleSet
from ._triggers import Elapsed, OnEvent, anchors

if TYPE_CHECKING:
    from .._automator import Automator
    from .._tracker import Tracker

__all__ = ["dry_run"]


def _rule_set(rules: object) -> RuleSet:
    if isinstance(rules, RuleSet):
        return rules
    if isinstance(rules, list | tuple) and all(isinstance(r, Rule) for r in rules):
        return RuleSet(tuple(rules))
    raise ValidationError(
        f"rules must be a RuleSet or a list of Rule, got {rules!r:.80}", field="rules"
    )


def _automator(tracker: Tracker, rules: RuleSet) -> Automator:
    """The tracker's automation with ``rules`` in place of its own, checked against it."""
    from .._automation import Automation
    from .._automator import Automator

    base = tracker.automation or Automation()
    return Automator(tracker, attrs.evolve(base, rules=rules))


def _depths(events: Sequence[Event]) -> dict[int, int]:
    """How deep in a chain of rules each event was recorded (0: not by an event rule).

    An event rule's write holds its ``rule_applied`` record, which names the
    event that set it off; the write is one deeper than that event.
    """
    depth: dict[int, int] = {}
    for i, event in enumerate(events):
        level = 0
        if event.actor.startswith("rule:"):
            record = event
            if event.type is not EventType.RULE_APPLIED:
                record = next(
                    (
                        e
                        for e in events[i + 1 :]
                        if e.type is EventType.RULE_APPLIED
                        and e.actor == event.actor
                        and e.version == event.version
                    ),
                    event,
                )
            cause = record.data.get("event")
            if record.data.get("trigger") != "elapsed" and isinstance(cause, int):
                level = depth.get(cause, 0) + 1
        depth[event.id] = level
    return depth


@attrs.frozen
class _Step:
    """One write of the recorded history: when, the ticket after it, and its events."""

    at: datetime
    ticket: Ticket
    start: int
    end: int


def _steps(events: Sequence[Event]) -> list[_Step]:
    """The history cut into writes (runs of one version), with the ticket after each."""
    steps: list[_Step] = []
    ticket: Ticket | None = None
    i = 0
    while i < len(events):
        j = i
        while j < len(events) and events[j].version == events[i].version:
            j += 1
        if ticket is None:
            ticket = replay(events[i:j])
        else:
            for event in events[i:j]:
                if event.type not in NOTICE_TYPES:
                    ticket = apply_event(ticket, event)
        steps.append(_Step(events[i].at, ticket, i, j))
        i = j
    return steps


class _Walk:
    """The dry run of one rule set over one ticket's history."""

    def __init__(
        self,
        tracker: Tracker,
        auto: Automator,
        rules: RuleSet,
        events: Sequence[Event],
        since: datetime | None,
        until: datetime,
    ) -> None:
        self.tracker = tracker
        self.auto = auto
        self.rules = rules
        self.events = events
        self.since = since
        self.until = until
        self.steps = _steps(events)
        self.depth_limited = 0
        self._comments: dict[int, Comment] | None = None

    def _in_period(self, at: datetime) -> bool:
        return (self.since is None or at >= self.since) and at < self.until

    def _comment(self, ticket: Ticket, event: Event) -> Comment | None:
        if event.type is not EventType.COMMENTED:
            return None
        if self._comments is None:
            found = self.tracker.store.comments(ticket.id)
            self._comments = {c.id: c for c in found}
        wanted = event.data.get("comment_id")
        return self._comments.get(wanted) if isinstance(wanted, int) else None

    def event_firings(self) -> list[tuple[datetime, int, int, Firing]]:
        """The event rules that would have fired, with sort keys."""
        found: list[tuple[datetime, int, int, Firing]] = []
        depths = _depths(self.events)
        workflow = self.tracker.workflow
        order = {rule.name: i for i, rule in enumerate(self.rules.rules)}
        for step in self.steps:
            state = step.ticket
            for event in self.events[step.start : step.end]:
                candidates = self.rules.for_event(event)
                if not candidates or not self._in_period(event.at):
                    continue
                customer = self.auto.is_customer(state, event.actor)
                context = RuleContext(
                    workflow, event.at, event, self._comment(state, event), customer
                )
                for rule in candidates:
                    trigger = rule.trigger
                    if not isinstance(trigger, OnEvent) or not trigger.fires_for(event, customer):
                        continue
                    if not rule.when.matches(state, context):
                        continue
                    if depths[event.id] >= self.rules.max_depth:
                        self.depth_limited += 1
                        continue
                    facts = {"trigger": event.type.value, "event": event.id}
                    history = self.events[: step.end]
                    firing = simulate(
                        self.auto, rule, state, history, event.at, facts, trigger=event
                    )
                    found.append((event.at, event.id, order[rule.name], firing))
        return found

    def _state_at(self, at: datetime) -> _Step:
        current = self.steps[0]
        for step in self.steps:
            if step.at > at:
                break
            current = step
        return current

    def timed_firings(self) -> list[tuple[datetime, int, int, Firing]]:
        """The timed rules that would have fallen due and fired, with sort keys."""
        found: list[tuple[datetime, int, int, Firing]] = []
        calendar = self.auto.automation.calendar
        workflow = self.tracker.workflow
        order = {rule.name: i for i, rule in enumerate(self.rules.rules)}
        for rule in self.rules.timed():
            trigger = rule.trigger
            assert isinstance(trigger, Elapsed)
            # The instants the anchor took, and the step from which each was current.
            taken: list[tuple[datetime | None, int]] = []
            for k, step in enumerate(self.steps):
                value = anchors(step.ticket, self.events[: step.end], self.auto.is_customer)[
                    trigger.since
                ]
                if not taken or taken[-1][0] != value:
                    taken.append((value, k))
            for n, (anchor, _) in enumerate(taken):
                if anchor is None:
                    continue
                due = trigger.due_at(anchor, calendar)
                moved = self.steps[taken[n + 1][1]].at if n + 1 < len(taken) else None
                limit = self.until if moved is None else min(moved, self.until)
                if due >= limit:
                    continue
                # Due now; if the condition does not hold, it is looked at again after
                # each change, until the anchor moves.
                moments = [due, *(s.at for s in self.steps if due < s.at < limit)]
                for moment in moments:
                    step = self._state_at(moment)
                    if step.ticket.merged_into is not None:
                        break
                    if not rule.when.matches(step.ticket, RuleContext(workflow, moment)):
                        continue
                    if self._in_period(moment):
                        facts = {"trigger": "elapsed", "anchor": anchor.isoformat()}
                        history = [e for e in self.events[: step.end] if e.at <= moment]
                        firing = simulate(self.auto, rule, step.ticket, history, moment, facts)
                        found.append((moment, 1 << 62, order[rule.name], firing))
                    break
        return found


def _summary(rules: RuleSet, firings: Sequence[Firing]) -> tuple[RuleSummary, ...]:
    summaries = []
    for rule in rules.rules:
        mine = [f for f in firings if f.rule == rule.name]
        summaries.append(RuleSummary(rule.name, len({f.ticket for f in mine}), len(mine)))
    return tuple(summaries)


def dry_run(
    tracker: Tracker,
    rules: RuleSet | Sequence[Rule],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
    where: Mapping[str, Any] | Query | None = None,
    progress: Progress | None = None,
) -> DryRun:
    """Which of ``rules`` would have fired on the recorded history, and what they would do.

    Looks at the events recorded in ``[since, until)`` (``since`` default: the
    beginning; ``until``: the tracker's clock, that instant included) of the
    tickets matching ``where`` (as :meth:`Tracker.query` reads it) and
    ``tenant``. Writes nothing. The rules are checked against the tracker as
    setting them would be (:class:`~ticketkit.ValidationError` names the rule
    and the item); the tracker's automation (customers, router, escalation,
    notifications, the SLA's calendar for timed rules) is used as it is.
    ``progress(done, total)`` is called as tickets are read. See the module for
    what "would have fired" means.
    """
    rule_set = _rule_set(rules)
    start = optional_instant(since, "since")
    end = optional_instant(until, "until")
    check_scope(tenant, where, progress)
    if end is None:
        # Up to now, what was recorded at this very instant included.
        end = tracker.clock.now().astimezone(UTC)
        bound = end + timedelta(microseconds=1)
    else:
        bound = end
    if start is not None and start >= end:
        raise ValidationError(
            f"since {start.isoformat()} is not before until {end.isoformat()}; give a since "
            "earlier than until",
            field="since",
        )
    auto = _automator(tracker, rule_set)
    tickets = tickets_before(tracker, where, tenant, bound)
    keyed: list[tuple[datetime, int, int, int, Firing]] = []
    limited = 0
    active = 0
    total = len(tickets)
    for done, (ticket, events) in enumerate(
        zip(tickets, histories(tracker, tickets), strict=True), start=1
    ):
        active += any((start is None or e.at >= start) and e.at < bound for e in events)
        if events and events[0].type is EventType.OPENED:
            walk = _Walk(tracker, auto, rule_set, events, start, bound)
            for at, seq, rank, firing in (*walk.event_firings(), *walk.timed_firings()):
                keyed.append((at, ticket.id, seq, rank, firing))
            limited += walk.depth_limited
        if progress is not None and (done % 100 == 0 or done == total):
            progress(done, total)
    if progress is not None and not total:
        progress(0, 0)
    keyed.sort(key=lambda item: item[:4])
    firings = tuple(item[4] for item in keyed)
    return DryRun(
        since=start,
        until=end,
        tickets=active,
        firings=firings,
        summary=_summary(rule_set, firings),
        depth_limited=limited,
    )
