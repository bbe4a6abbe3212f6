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
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from . import _edits as edits
from ._automation import Automation
from ._errors import (
    ConflictError,
    StorageError,
    TicketkitError,
    TransitionNotAllowed,
    ValidationError,
)
from ._events import Event, EventType
from ._history import diff_events
from ._model import Ticket
from ._notifying import QUEUED, notifications
from ._rule_runner import apply_event_rule
from ._work import Work, flatten
from ._workflow import Category
from .storage import Transaction

if TYPE_CHECKING:
    from ._tracker import Tracker
    from .notify import DeliveryReport
    from .sla import SLAStatus

__all__ = ["Automator", "RunReport"]

logger = logging.getLogger("ticketkit")

#: How deep the rules triggered by the current write are nested (0 outside rules).
_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("ticketkit_rule_depth", default=0)
#: The survey_sent notices the current write stored, published with its events.
_SURVEYS: contextvars.ContextVar[tuple[Event, ...]] = contextvars.ContextVar(
    "ticketkit_surveys", default=()
)

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
        if self.automation.survey is not None:
            from .surveys._sending import survey_on_write

            # Kept per ticket: a write of two tickets (a link) may send two.
            others = tuple(e for e in _SURVEYS.get() if e.ticket_id != ticket.id)
            _SURVEYS.set(others + tuple(survey_on_write(self, tx, ticket, now)))
        if self.automation.timed:
            tx.set_due(ticket.id, self.next_due(ticket, tx.events(ticket.id), now))
        items = notifications(self, ticket, events, now, tx)
        if items:
            tx.add_outbox(items)
            QUEUED.set(True)

    def after_commit(self, events: Sequence[Event]) -> None:
        """After the write: run the rules its events trigger, then deliver."""
        surveys = _SURVEYS.get()
        if surveys:
            # The surveys this write sent, published after its own events. One stored
            # by a write that rolled back matches no committed write's events (and is
            # dropped when its ticket is written again).
            written = {(e.ticket_id, e.version) for e in events}
            sent = [e for e in surveys if (e.ticket_id, e.version) in written]
            if sent:
                _SURVEYS.set(tuple(e for e in surveys if e not in sent))
                self.tracker._subscribers.publish(sent)
                events = [*events, *sent]
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
                    apply_event_rule(self, rule, event)
                except TicketkitError as exc:
                    logger.warning("rule %r on %s failed: %s", rule.name, event.ticket_key, exc)
                finally:
                    _DEPTH.reset(token)
        if depth == 0 and QUEUED.get():
            QUEUED.set(False)
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
        work: Work,
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

        found = due_instants(self, ticket, events, now, sla)
        if self.automation.survey is not None:
            from .surveys._sending import survey_due

            found = [*found, *filter(None, [survey_due(self, ticket, events, now)])]
        instants = [when for when in found if not (after_now and when <= now)]
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

        adding: list[Event] = []
        done: list[tuple[Ticket, Work]] = []
        published: list[Event] = []
        with self.tracker.store.transaction() as tx:
            claimed = tx.claim_due(now, _BATCH)
            for ticket_id in claimed:
                ticket = tx.get_ticket(ticket_id)
                if ticket is None:
                    continue
                totals["tickets"] = totals.get("tickets", 0) + 1
                work = Work(ticket, tx.events(ticket.id))
                try:
                    do_due_work(self, tx, work, now)
                except (ValidationError, TransitionNotAllowed) as exc:
                    # Refused by the workflow or by bad data: what was done before the
                    # refusal is kept (each change to work is whole: a rule's reply is
                    # stored with its event), the refused step is looked at again after
                    # the ticket's next change.
                    logger.warning("scheduled work on %s failed: %s", ticket.key, exc)
                    totals["errors"] = totals.get("errors", 0) + 1
                if self.automation.survey is not None:
                    from .surveys._sending import survey_on_due

                    survey_on_due(self, work, now)
                new, events = flatten(ticket, work.ticket, work.events)
                if new.version != ticket.version:
                    tx.update_ticket(new, ticket.version)
                # work.history holds the new events too (without their ids).
                due = self.next_due(new, work.history, now, after_now=True, sla=work.sla_for(new))
                tx.set_due(ticket.id, due)
                done.append((new, work))
                for name, count in work.counts.items():
                    totals[name] = totals.get(name, 0) + count
                adding.extend(events)
            # The batch's events in one statement, then the notifications they send.
            published = tx.add_events(adding) if adding else []
            stored: dict[int, list[Event]] = {}
            for event in published:
                stored.setdefault(event.ticket_id, []).append(event)
            outbox = [
                item
                for new, work in done
                for item in work.outbox + notifications(self, new, stored.get(new.id, []), now, tx)
            ]
            if outbox:
                tx.add_outbox(outbox)
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
