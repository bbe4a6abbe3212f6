"""The memory store's part of automation: scheduled work, counters and the outbox.

Mixed into :class:`ticketkit.storage.memory.MemoryStore` and its transaction.
Memory transactions run one at a time under the store's lock, so "rows another
open transaction has claimed" never exist here: claiming is simply taking.
Changes are staged in the transaction and applied with the rest of it.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from attrs import evolve

from .._automation_records import (
    OutboxItem,
    check_counter_name,
    check_limit,
    check_names,
    cut_error,
    is_leasable,
    renamed_payload,
)
from .._clock import ensure_utc
from .._errors import NotFound, ValidationError
from .._events import Event
from ._ids import check_id

if TYPE_CHECKING:
    from .._model import Ticket

__all__ = ["AutomationState", "MemoryAutomationReads", "MemoryAutomationTransaction"]


class AutomationState:
    """What the memory store keeps for automation."""

    def __init__(self) -> None:
        self.schedule: dict[int, tuple[datetime, str]] = {}  # ticket id -> (due_at, tenant)
        self.counters: dict[str, int] = {}  # name -> next value
        self.outbox: dict[int, OutboxItem] = {}  # by id, oldest first
        self.last_outbox_id = 0


class MemoryAutomationTransaction:
    """The automation operations of a memory transaction (see the Transaction protocol)."""

    _automation: AutomationState
    _events: list[Event]
    _changed_events: dict[int, Event]

    def _staged_events_for(self, ticket_id: int) -> list[Event]:
        raise NotImplementedError  # pragma: no cover - provided by the transaction

    def get_ticket(
        self, ref: int | str, *, tenant: str | None = None
    ) -> Ticket | None:  # pragma: no cover - provided by the transaction
        raise NotImplementedError

    def _start_automation(self, state: AutomationState) -> None:
        self._automation = state
        self._schedule: dict[int, tuple[datetime, str] | None] = {}  # None: removed
        self._counters: dict[str, int] = {}
        self._outbox: dict[int, OutboxItem] = {}  # new and changed items, by id
        self._outbox_last_id = state.last_outbox_id

    def events(self, ticket_id: int) -> list[Event]:
        return self._staged_events_for(check_id(ticket_id, "ticket_id"))

    def set_due(self, ticket_id: int, due_at: datetime | None) -> None:
        ticket = self.get_ticket(check_id(ticket_id, "ticket_id"))
        if ticket is None:
            raise NotFound(f"no ticket with id {ticket_id} to schedule work for")
        if due_at is None:
            self._schedule[ticket_id] = None
        else:
            self._schedule[ticket_id] = (ensure_utc(due_at, "due_at"), ticket.tenant)

    def _scheduled(self) -> dict[int, tuple[datetime, str]]:
        found = dict(self._automation.schedule)
        for ticket_id, entry in self._schedule.items():
            if entry is None:
                found.pop(ticket_id, None)
            else:
                found[ticket_id] = entry
        return found

    def claim_due(self, now: datetime, limit: int) -> list[int]:
        now = ensure_utc(now, "now")
        limit = check_limit(limit)
        due = ((at, ticket_id) for ticket_id, (at, _) in self._scheduled().items() if at <= now)
        claimed = [ticket_id for _, ticket_id in heapq.nsmallest(limit, due)]
        for ticket_id in claimed:
            self._schedule[ticket_id] = None
        return claimed

    def next_counter(self, name: str) -> int:
        name = check_counter_name(name)
        value = self._counters.get(name, self._automation.counters.get(name, 0))
        self._counters[name] = value + 1
        return value

    def add_outbox(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        stored = []
        for item in items:
            if not isinstance(item, OutboxItem):
                raise ValidationError(
                    f"add_outbox takes OutboxItem values, got {item!r:.60}", field="items"
                )
            self._outbox_last_id += 1
            new = evolve(item, id=self._outbox_last_id)
            self._outbox[new.id] = new
            stored.append(new)
        return stored

    def _item(self, item_id: int) -> OutboxItem:
        check_id(item_id, "item_id")
        found = self._outbox.get(item_id) or self._automation.outbox.get(item_id)
        if found is None:
            raise NotFound(f"no outbox item with id {item_id}")
        return found

    def _all_items(self) -> list[OutboxItem]:
        merged = {**self._automation.outbox, **self._outbox}
        return [merged[i] for i in sorted(merged)]

    def lease_outbox(self, now: datetime, until: datetime, limit: int) -> list[OutboxItem]:
        now = ensure_utc(now, "now")
        until = ensure_utc(until, "until")
        limit = check_limit(limit)
        due = [i for i in self._all_items() if is_leasable(i, now)]
        leased = [
            evolve(i, lease_until=until)
            for i in heapq.nsmallest(limit, due, key=lambda i: (i.next_attempt_at, i.id))
        ]
        for item in leased:
            self._outbox[item.id] = item
        return leased

    def outbox_sent(self, item_id: int, at: datetime) -> None:
        item = self._item(item_id)
        self._outbox[item.id] = evolve(item, sent_at=ensure_utc(at, "at"), lease_until=None)

    def outbox_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        item = self._item(item_id)
        changed = evolve(
            item, attempts=item.attempts + 1, lease_until=None, last_error=cut_error(error)
        )
        if retry_at is None:
            changed = evolve(changed, gave_up=True)
        else:
            changed = evolve(changed, next_attempt_at=ensure_utc(retry_at, "retry_at"))
        self._outbox[item.id] = changed

    def rename_in_outbox(self, person: str, alias: str, *, tenant: str) -> None:
        for item in self._all_items():
            if item.tenant != tenant:
                continue
            payload = renamed_payload(dict(item.payload), person, alias)
            if payload != item.payload:
                self._outbox[item.id] = evolve(item, payload=payload)

    def _apply_automation(self) -> None:
        state = self._automation
        for ticket_id, entry in self._schedule.items():
            if entry is None:
                state.schedule.pop(ticket_id, None)
            else:
                state.schedule[ticket_id] = entry
        state.counters.update(self._counters)
        state.outbox.update(self._outbox)
        state.last_outbox_id = self._outbox_last_id


class MemoryAutomationReads:
    """The automation reads of the memory store (see the Store protocol)."""

    _lock: threading.RLock

    def _automation_state(self) -> AutomationState:
        raise NotImplementedError  # pragma: no cover - provided by the store

    def _tickets(self) -> dict[int, Ticket]:
        raise NotImplementedError  # pragma: no cover - provided by the store

    def next_due(self, *, tenant: str | None = None) -> datetime | None:
        with self._lock:
            schedule = self._automation_state().schedule
            found = [at for at, t in schedule.values() if tenant is None or t == tenant]
        return min(found, default=None)

    def due_count(self, now: datetime) -> int:
        now = ensure_utc(now, "now")
        with self._lock:
            return sum(1 for at, _ in self._automation_state().schedule.values() if at <= now)

    def outbox(
        self, *, tenant: str | None = None, pending: bool | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        limit = check_limit(limit)
        with self._lock:
            items = list(self._automation_state().outbox.values())
        found = [
            i
            for i in items
            if (tenant is None or i.tenant == tenant) and (pending is None or i.pending == pending)
        ]
        return found[:limit]

    def count_open(
        self, assignees: Sequence[str], statuses: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, int]:
        counts = dict.fromkeys(check_names(assignees, "assignees"), 0)
        wanted = set(check_names(statuses, "statuses"))
        with self._lock:
            tickets = list(self._tickets().values())
        for ticket in tickets:
            if (
                ticket.assignee in counts
                and ticket.status in wanted
                and (tenant is None or ticket.tenant == tenant)
            ):
                counts[ticket.assignee] += 1
        return counts
