"""The tracker's automation at work: what happens on a change and what falls due.

On every write, in the write's own transaction, the :class:`Automator`
* works out the ticket's next due instant (SLA warnings and breaches, timed
  rules, reminders, auto-close) and keeps it in the store's schedule, and
* turns the write's events into notifications in the store's outbox.

After the write commits it runs the rules its events trigger (each rule's
actions are one more write, at most ``max_depth`` deep) and, with
``deliver_inline``, sends what the outbox holds. :meth:`Automator.run_due` does
the scheduled work of every ticket whose instant has come, claiming each
ticket's schedule row in the transaction that does its work, so that many
processes can call it at once and each job runs exactly once.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from attrs import evolve

from . import _changes as changes
from . import _edits as edits
from ._automation import Automation
from ._automation_records import OutboxItem
from ._errors import (
    ConflictError,
    StorageError,
    TicketkitError,
    TransitionNotAllowed,
    ValidationError,
)
from ._events import Event, EventType, ticket_event
from ._guards import TransitionInputs
from ._history import diff_events
from ._model import Ticket
from ._workflow import Category
from .storage import Transaction

if TYPE_CHECKING:
    from ._tracker import Tracker
    from .notify import DeliveryReport
    from .rules import Rule, RuleAction, RuleContext
    from .sla import SLAStatus

__all__ = ["Automator", "RunReport"]

logger = logging.getLogger("ticketkit")

#: How deep the rules triggered by the current write are nested (0 outside rules).
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("ticketkit_rule_depth", default=0)
#: Set when a write of this thread put something in the outbox.
_QUEUED: contextvars.ContextVar[bool] = contextvars.ContextVar("ticketkit_queued", default=False)

_BATCH = 20  # tickets claimed per run_due transaction
_ATTEMPTS = 5  # tries of one batch when the database breaks a deadlock
_SETTLE_ROUNDS = 40  # looks for due rows held by other processes, at the end of a run
_SETTLE_PAUSE = 0.05  # seconds between them


@attrs.frozen
class RunReport:
    """What one :meth:`Tracker.run_due` call did."""

    tickets: int = 0
    sla_warnings: int = 0
    sla_breaches: int = 0
    escalations: int = 0
    rules: int = 0
    reminders: int = 0
    closed: int = 0
    errors: int = 0
    delivery: DeliveryReport | None = None


@attrs.define
class _Work:
    """The changes piling up for one ticket inside one transaction."""

    ticket: Ticket
    history: list[Event]
    events: list[Event] = attrs.field(factory=list)
    outbox: list[OutboxItem] = attrs.field(factory=list)
    counts: dict[str, int] = attrs.field(factory=dict)
    #: The SLA status worked out for ``ticket`` as it was then (recording notices
    #: does not change it; a change to the ticket does).
    sla: tuple[Ticket, SLAStatus] | None = None

    def sla_for(self, ticket: Ticket) -> SLAStatus | None:
        """The SLA status already worked out for ``ticket``, if it is still this ticket."""
        return self.sla[1] if self.sla is not None and self.sla[0] is ticket else None

    def change(self, new: Ticket, events: Iterable[Event]) -> None:
        self.ticket = new
        added = list(events)
        self.events.extend(added)
        self.history.extend(added)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def flatten(original: Ticket, new: Ticket, events: Sequence[Event]) -> tuple[Ticket, list[Event]]:
    """One version step for a write made of several changes.

    Each change raises the version by one; the store takes one write at a time,
    so the ticket and every event of the write get ``original.version + 1`` (or
    keep ``original.version`` when only notices were recorded).
    """
    changed = new.version != original.version
    version = original.version + 1 if changed else original.version
    if changed and new.version != version:
        new = evolve(new, version=version)
    return new, [e if e.version == version else evolve(e, version=version) for e in events]


class Automator:
    """Carries out a tracker's :class:`Automation` (see the module)."""

    def __init__(self, tracker: Tracker, automation: Automation) -> None:
        automation.check(tracker.config)
        self.tracker = tracker
        self.automation = automation

    # -- the write path ----------------------------------------------------------------

    def on_write(self, tx: Transaction, ticket: Ticket, events: Sequence[Event]) -> None:
        """In the write's transaction: reschedule ``ticket`` and queue its notifications."""
        now = self.tracker._now()
        if self.automation.timed:
            tx.set_due(ticket.id, self.next_due(ticket, tx.events(ticket.id), now))
        items = self.notifications(ticket, events, now)
        if items:
            tx.add_outbox(items)
            _QUEUED.set(True)

    def after_commit(self, events: Sequence[Event]) -> None:
        """After the write: run the rules its events trigger, then deliver."""
        rules = self.automation.rules
        depth = _DEPTH.get()
        for event in events:
            for rule in rules.for_event(event):
                if depth >= rules.max_depth:
                    logger.warning(
                        "rule %r not applied to %s: rules triggered each other %d deep, "
                        "the limit (RuleSet max_depth)",
                        rule.name,
                        event.ticket_key,
                        depth,
                    )
                    continue
                token = _DEPTH.set(depth + 1)
                try:
                    self._apply_event_rule(rule, event)
                except TicketkitError as exc:
                    logger.warning("rule %r on %s failed: %s", rule.name, event.ticket_key, exc)
                finally:
                    _DEPTH.reset(token)
        if depth == 0 and _QUEUED.get():
            _QUEUED.set(False)
            if self.automation.deliver_inline:
                self.deliver()

    def deliver(self, now: datetime | None = None, limit: int = 100) -> DeliveryReport:
        """Send what the outbox holds that is due, through the tracker's notifiers."""
        from .notify import deliver_outbox

        return deliver_outbox(
            self.tracker.store,
            self.tracker.notifiers,
            self.tracker._now() if now is None else now,
            limit=limit,
        )

    # -- rules -------------------------------------------------------------------------

    def _context(self, ticket: Ticket, now: datetime, event: Event | None) -> RuleContext:
        from .rules import RuleContext

        comment = None
        if event is not None and event.type is EventType.COMMENTED:
            wanted = event.data.get("comment_id")
            comment = next(
                (c for c in self.tracker.store.comments(ticket.id) if c.id == wanted), None
            )
        return RuleContext(
            workflow=self.tracker.workflow,
            now=now,
            event=event,
            comment=comment,
            is_customer=None if event is None else self.is_customer(ticket, event.actor),
        )

    def is_customer(self, ticket: Ticket, actor: str) -> bool:
        return bool(self.automation.customer(ticket, actor))

    def is_automated(self, actor: str) -> bool:
        """Is ``actor`` the automation itself (its own name, or a rule's ``rule:<name>``)?"""
        return actor == self.automation.actor or actor.startswith("rule:")

    def sla_status(self, ticket: Ticket, events: Sequence[Event], now: datetime) -> SLAStatus:
        """The ticket's SLA clocks at ``now``; the tracker has an SLA policy.

        Comments the automation wrote itself (a rule's reply, an acknowledgement)
        are neither a response nor a customer's reply: they leave the clocks alone.
        """
        from .sla import sla_status

        policy = self.automation.sla
        assert policy is not None
        counted = [
            e for e in events if not (e.type is EventType.COMMENTED and self.is_automated(e.actor))
        ]
        return sla_status(
            policy, self.tracker.workflow, ticket, counted, now, is_customer=self.is_customer
        )

    def _triggered_by(self, rule: Rule, ticket: Ticket, event: Event) -> bool:
        by = getattr(rule.trigger, "by", "anyone")
        if by == "anyone":
            return True
        customer = self.is_customer(ticket, event.actor)
        return customer if by == "customer" else not customer

    def _apply_event_rule(self, rule: Rule, event: Event) -> None:
        actor = f"rule:{rule.name}"

        def change(
            tx: Transaction, current: Ticket, actor: str, now: datetime
        ) -> tuple[Ticket, list[Event]]:
            if not self._triggered_by(rule, current, event):
                return current, []
            if not rule.when.matches(current, self._context(current, now, event)):
                return current, []
            work = _Work(current, tx.events(current.id))
            self.apply_rule(tx, work, rule, now, {"trigger": event.type.value, "event": event.id})
            if work.outbox:
                tx.add_outbox(work.outbox)
                _QUEUED.set(True)
            return flatten(current, work.ticket, work.events)

        self.tracker._write(event.ticket_id, actor, None, change)

    def apply_rule(
        self, tx: Transaction, work: _Work, rule: Rule, now: datetime, facts: dict[str, Any]
    ) -> None:
        """Carry out ``rule``'s actions on ``work``, then record that it was applied."""
        actor = f"rule:{rule.name}"
        skipped: list[str] = []
        for action in rule.actions:
            try:
                self._act(tx, work, action, actor, now, rule.name)
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
        self, tx: Transaction, work: _Work, action: RuleAction, actor: str, now: datetime, rule: str
    ) -> None:
        from . import rules as r

        config = self.tracker.config
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
            who = self.route(tx, t) if action.route else action.to
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
                self._notify(
                    t, action.template, self._recipients(t, action.to), now, actor, text=text
                )
            )
            return
        elif isinstance(action, r.Escalate):
            self.escalate(tx, work, action.level, f"rule {rule}", actor, now)
            return
        else:  # pragma: no cover - RuleSet refuses other actions when built
            raise ValidationError(f"unknown rule action {action!r}")
        work.change(new, diff_events(t, new, actor=actor, at=now))

    # -- routing and escalation --------------------------------------------------------

    def route(self, tx: Transaction, ticket: Ticket) -> str | None:
        """The agent the router gives ``ticket`` to, or ``None``."""
        router = self.automation.router
        if router is None:
            return None
        if router.route_for(ticket) is None:
            return None
        names = [agent.name for agent in router.agents]
        open_states = [
            s.name
            for s in self.tracker.workflow.states
            if s.category not in (Category.RESOLVED, Category.CLOSED)
        ]
        counts = self.tracker.store.count_open(names, open_states, tenant=ticket.tenant)
        return router.pick(
            ticket, open_counts=counts, turn=tx.next_counter, available=self.automation.available
        )

    def escalate(
        self,
        tx: Transaction,
        work: _Work,
        level_name: str | None,
        reason: str,
        actor: str,
        now: datetime,
    ) -> bool:
        """Move the ticket up one escalation level (or to ``level_name``); ``False`` at the top."""
        policy = self.automation.escalation
        if policy is None:
            return False
        level = policy.level(level_name) if level_name else policy.next_level(work.history)
        if level is None:
            return False
        config = self.tracker.config
        t = work.ticket
        unset = edits.UNSET
        changed = edits.edit(
            config,
            t,
            now,
            assignee=unset if level.assign_to is None else level.assign_to,
            queue=unset if level.queue is None else level.queue,
            priority=unset if level.priority is None else level.priority,
            add_tags=level.add_tags,
        )
        field_events = diff_events(t, changed, actor=actor, at=now)
        new = changed if field_events else t
        work.change(new, field_events)
        event = policy.escalation_event(new, level, reason, actor, now, events=work.history)
        work.change(new, [event])
        work.count("escalations")
        return True

    # -- notifications -----------------------------------------------------------------

    def _recipients(self, ticket: Ticket, who: Iterable[str]) -> list[str]:
        found: list[str] = []
        for name in who:
            if name == "reporter":
                found.append(ticket.reporter)
            elif name == "assignee":
                if ticket.assignee:
                    found.append(ticket.assignee)
            elif name == "watchers":
                found.extend(sorted(ticket.watchers))
            else:
                found.append(name)
        return list(dict.fromkeys(found))

    def notifications(
        self, ticket: Ticket, events: Sequence[Event], now: datetime
    ) -> list[OutboxItem]:
        """The notifications that ``events`` (just stored for ``ticket``) send."""
        settings = self.automation.notifications
        if settings is None:
            return []
        items: list[OutboxItem] = []
        for event in events:
            for kind, who, extra in self._about(ticket, event):
                if kind not in settings.send:
                    continue
                # Nobody is told about their own change, but a reporter is told their
                # ticket was opened: that message carries its key.
                actor = "" if kind == "created" else event.actor
                items.extend(self._notify(ticket, kind, who, now, actor, **extra))
        return items

    def _about(self, ticket: Ticket, event: Event) -> list[tuple[str, list[str], dict[str, str]]]:
        """Which notifications an event sends, to whom, with what extra words."""
        settings = self.automation.notifications
        agents = list(settings.agents) if settings is not None else []
        staff = [ticket.assignee] if ticket.assignee else agents
        data = event.data
        match event.type:
            case EventType.OPENED:
                told: list[tuple[str, list[str], dict[str, str]]] = [
                    ("created", [ticket.reporter], {})
                ]
                if ticket.assignee:  # opened with an assignee, or routed as it was opened
                    told.append(("assigned", [ticket.assignee], {}))
                return told
            case EventType.ASSIGNED if event.new:
                return [("assigned", [str(event.new)], {})]
            case EventType.STATUS_CHANGED:
                return [("status_changed", [ticket.reporter], {})]
            case EventType.SLA_WARNING | EventType.SLA_BREACHED:
                kind = "sla_warning" if event.type is EventType.SLA_WARNING else "sla_breached"
                extra = {"target": str(data.get("target", "")), "due": str(data.get("due", ""))}
                return [(kind, staff, extra)]
            case EventType.ESCALATED:
                policy = self.automation.escalation
                name = str(data.get("level", ""))
                notify: Sequence[str] = ()
                if policy is not None and any(lv.name == name for lv in policy.levels):
                    notify = policy.level(name).notify
                who = self._recipients(ticket, notify) if notify else staff
                return [("escalated", who, {"level": name})]
            case EventType.REMINDED:
                since = str(data.get("since", ""))[:10]
                text = f"It has been waiting for your reply since {since}." if since else ""
                return [("reminder", [ticket.reporter], {"text": text})]
        return []

    def _notify(
        self,
        ticket: Ticket,
        template: str,
        recipients: Iterable[str],
        now: datetime,
        actor: str,
        **extra: str,
    ) -> list[OutboxItem]:
        settings = self.automation.notifications
        if settings is None:
            return []
        from .access import SOMEONE
        from .notify import Notification

        items = []
        for recipient in recipients:
            if not recipient or recipient == actor:
                continue  # nobody is told about their own change
            if settings.addresses_only and "@" not in recipient:
                continue
            customer = self.is_customer(ticket, recipient)
            context = self._words(ticket, customer, SOMEONE, extra)
            subject, body = self.automation.templates.render(template, context)
            notification = Notification(
                id=uuid.uuid4().hex,
                channel=settings.channel,
                template=template,
                recipients=(recipient,),
                subject=subject,
                body=body,
                ticket_key=ticket.key,
            )
            items.append(
                OutboxItem(
                    id=0,
                    channel=settings.channel,
                    payload=notification.to_data(),
                    created=now,
                    next_attempt_at=now,
                    ticket_id=ticket.id,
                    tenant=ticket.tenant,
                )
            )
        return items

    def _words(
        self, ticket: Ticket, customer: bool, someone: str, extra: dict[str, str]
    ) -> dict[str, str]:
        state = self.tracker.workflow.state(ticket.status)
        # A customer is never told who works on the ticket (their address is theirs).
        assignee = (someone if customer else ticket.assignee) if ticket.assignee else ""
        return {
            "key": ticket.key,
            "title": ticket.title,
            "status": state.title,
            "priority": ticket.priority.name,
            "assignee": assignee,
            "reporter": ticket.reporter,
            "target": "",
            "due": "",
            "level": "",
            "text": "",
            **extra,
        }

    # -- scheduled work ----------------------------------------------------------------

    def next_due(
        self,
        ticket: Ticket,
        events: Sequence[Event],
        now: datetime,
        *,
        after_now: bool = False,
        sla: SLAStatus | None = None,
    ) -> datetime | None:
        """The next instant something is due for ``ticket``.

        Work already due but not done (a timed rule whose condition holds now)
        makes it ``now``; with ``after_now`` (after ``run_due`` did what it
        could) only later instants count. ``sla`` is the ticket's SLA status at
        ``now``, when the caller has it.
        """
        from ._due import due_instants

        instants = [
            when
            for when in due_instants(self, ticket, events, now, sla)
            if not (after_now and when <= now)
        ]
        return min(instants, default=None)

    def reschedule(self, now: datetime, batch_size: int = 500) -> int:
        """Work out the next due instant of every ticket again; return how many have one.

        For tickets stored before this automation was set (or changed), and for
        imported ones: the write path keeps the schedule from then on.
        """
        from ._query import Query, check_query

        store = self.tracker.store
        scheduled = 0
        cursor: str | None = None
        while True:
            query = Query(order_by=("id",), limit=batch_size, cursor=cursor)
            page = store.query(check_query(query, self.tracker.config.fields))
            with store.transaction() as tx:
                for ticket in page.items:
                    due = self.next_due(ticket, tx.events(ticket.id), now)
                    tx.set_due(ticket.id, due)
                    scheduled += due is not None
            cursor = page.next_cursor
            if cursor is None:
                return scheduled

    def _run_batch_retrying(self, now: datetime, totals: dict[str, int]) -> tuple[int, list[Event]]:
        """One batch of :meth:`run_due`, done again after a deadlock or a conflict."""
        for attempt in range(_ATTEMPTS):
            counts: dict[str, int] = {}
            try:
                claimed, published = self._run_batch(now, counts)
            except (StorageError, ConflictError) as exc:
                # A deadlock broken by the database, or a ticket changed by a write
                # that committed after this batch read it: the batch rolled back,
                # its claims too, so doing it again does each job once.
                retry = isinstance(exc, ConflictError) or exc.retryable
                if not retry or attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
                continue
            for name, count in counts.items():
                totals[name] = totals.get(name, 0) + count
            return claimed, published
        raise AssertionError("unreachable")  # pragma: no cover

    def _run_batch(self, now: datetime, totals: dict[str, int]) -> tuple[int, list[Event]]:
        """Claim up to a batch of due tickets and do their work, in one transaction."""
        from ._due import do_due_work

        published: list[Event] = []
        with self.tracker.store.transaction() as tx:
            claimed = tx.claim_due(now, _BATCH)
            for ticket_id in claimed:
                ticket = tx.get_ticket(ticket_id)
                if ticket is None:
                    continue
                totals["tickets"] = totals.get("tickets", 0) + 1
                work = _Work(ticket, tx.events(ticket.id))
                try:
                    do_due_work(self, tx, work, now)
                except (ValidationError, TransitionNotAllowed) as exc:
                    # Refused by the workflow or by bad data: the ticket keeps its
                    # state, and the work is looked at again after its next change.
                    logger.warning("scheduled work on %s failed: %s", ticket.key, exc)
                    totals["errors"] = totals.get("errors", 0) + 1
                    work = _Work(ticket, tx.events(ticket.id))
                new, events = flatten(ticket, work.ticket, work.events)
                if new.version != ticket.version:
                    tx.update_ticket(new, ticket.version)
                stored = tx.add_events(events) if events else []
                published.extend(stored)
                # work.history holds the new events too (without their ids).
                due = self.next_due(new, work.history, now, after_now=True, sla=work.sla_for(new))
                tx.set_due(ticket.id, due)
                outbox = work.outbox + self.notifications(new, stored, now)
                if outbox:
                    tx.add_outbox(outbox)
                for name, count in work.counts.items():
                    totals[name] = totals.get(name, 0) + count
        return len(claimed), published

    def run_due(self, now: datetime, *, deliver: bool = True) -> RunReport:
        """Do every scheduled job due at ``now`` (see the module); see :class:`RunReport`."""
        totals: dict[str, int] = {}
        settle = _SETTLE_ROUNDS
        while True:
            claimed, published = self._run_batch_retrying(now, totals)
            if published:
                self.tracker._publish(published)
            if claimed:
                continue
            # Nothing left to claim. Rows another process holds are either done when it
            # commits or back when it rolls back (a broken deadlock): wait for them a
            # little, so that a run leaves nothing due behind that it could have done.
            if settle == 0 or self.tracker.store.due_count(now) == 0:
                break
            settle -= 1
            time.sleep(_SETTLE_PAUSE)
        delivery = self.deliver(now) if deliver and self.tracker.notifiers else None
        return RunReport(delivery=delivery, **totals)
