"""The store contract's tests of what automation needs: scheduled work, counters, the outbox.

:class:`AutomationContract` is mixed into :class:`ticketkit.testing.StoreContract`,
whose fixtures (``store``, ``tracker``) and :attr:`threads` it uses; it is not run
on its own. The tests of two transactions open at the same moment on one server
(the second skips what the first holds) live in ticketkit's own test suite: memory
and SQLite stores run transactions one at a time, so there the contract checks
that threads never get one row twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from ._automation_records import MAX_ERROR, OutboxItem
from ._errors import NotFound, ValidationError
from ._events import Event, EventType
from ._model import Ticket
from ._testing_support import Boom as _Boom
from ._testing_support import draft
from ._testing_support import run_threads as _run_threads
from .storage import Store, Transaction

__all__ = ["AutomationContract"]

_AT = datetime(2026, 3, 2, 9, 0, 0, 250000, tzinfo=UTC)
_T = TypeVar("_T")


def _draft(tenant: str = "default", **changes: Any) -> Ticket:
    return draft(
        title="Scheduled", tenant=tenant, reporter="customer@example.com", at=_AT, **changes
    )


def _tickets(store: Store, count: int, tenant: str = "default", **changes: Any) -> list[Ticket]:
    with store.transaction() as tx:
        return [tx.create_ticket(_draft(tenant, **changes), "AU") for _ in range(count)]


def _schedule(store: Store, due: dict[int, datetime | None]) -> None:
    with store.transaction() as tx:
        for ticket_id, at in due.items():
            tx.set_due(ticket_id, at)


def _claim(store: Store, now: datetime, limit: int = 100) -> list[int]:
    with store.transaction() as tx:
        return tx.claim_due(now, limit)


def _then_fail(store: Store, work: Callable[[Transaction], _T]) -> _T:
    """Run ``work`` in a transaction that then fails; return what ``work`` returned."""
    done: list[_T] = []

    def run() -> None:
        with store.transaction() as tx:
            done.append(work(tx))
            raise _Boom

    with pytest.raises(_Boom):
        run()
    return done[0]


def _item(tenant: str = "default", ticket_id: int | None = None, **changes: Any) -> OutboxItem:
    values: dict[str, Any] = {
        "id": 0,
        "channel": "email",
        "payload": {"to": ["bob@example.com"], "subject": "Hello bob@example.com"},
        "created": _AT,
        "next_attempt_at": _AT,
        "ticket_id": ticket_id,
        "tenant": tenant,
    }
    values.update(changes)
    return OutboxItem(**values)


def _add(store: Store, *items: OutboxItem) -> list[OutboxItem]:
    with store.transaction() as tx:
        return tx.add_outbox(items)


def _lease(store: Store, now: datetime, minutes: int = 5, limit: int = 100) -> list[OutboxItem]:
    with store.transaction() as tx:
        return tx.lease_outbox(now, now + timedelta(minutes=minutes), limit)


class AutomationContract:
    """Scheduled work (``set_due``/``claim_due``), counters and the outbox, on every store."""

    threads: int

    # -- scheduled work ----------------------------------------------------------------

    def test_claim_due_takes_only_due_tickets_earliest_first(self, store: Store) -> None:
        """claim_due returns the tickets due at or before now, earliest first, ties by id."""
        a, b, c, d = _tickets(store, 4)
        hour = timedelta(hours=1)
        _schedule(store, {a.id: _AT + 2 * hour, b.id: _AT, c.id: _AT + 9 * hour, d.id: _AT})
        assert store.due_count(_AT + 2 * hour) == 3
        assert _claim(store, _AT + 2 * hour) == [b.id, d.id, a.id]
        assert _claim(store, _AT + 2 * hour) == []  # claimed rows are gone
        assert store.next_due() == _AT + 9 * hour
        assert _claim(store, _AT + 9 * hour) == [c.id]
        assert store.next_due() is None
        assert store.due_count(_AT + 99 * hour) == 0

    def test_claim_due_respects_the_limit(self, store: Store) -> None:
        """At most ``limit`` tickets are claimed; the rest stay for the next claim."""
        made = _tickets(store, 5)
        _schedule(store, {t.id: _AT + timedelta(minutes=i) for i, t in enumerate(made)})
        assert _claim(store, _AT + timedelta(hours=1), limit=2) == [made[0].id, made[1].id]
        assert _claim(store, _AT + timedelta(hours=1), limit=10) == [t.id for t in made[2:]]

    def test_set_due_replaces_and_none_removes(self, store: Store) -> None:
        """A ticket has one instant: set_due replaces it; None removes it."""
        a, b = _tickets(store, 2)
        _schedule(store, {a.id: _AT, b.id: _AT + timedelta(hours=1)})
        _schedule(store, {a.id: _AT + timedelta(hours=3)})
        assert store.due_count(_AT + timedelta(hours=2)) == 1
        assert store.next_due() == _AT + timedelta(hours=1)
        _schedule(store, {b.id: None, a.id: None})
        _schedule(store, {b.id: None})  # removing what is not there is fine
        assert store.next_due() is None
        assert _claim(store, _AT + timedelta(days=9)) == []

    def test_claimed_ticket_can_be_rescheduled_in_the_same_transaction(self, store: Store) -> None:
        """The claimer sets the next instant in its transaction; it is kept."""
        (a,) = _tickets(store, 1)
        _schedule(store, {a.id: _AT})
        with store.transaction() as tx:
            assert tx.claim_due(_AT, 10) == [a.id]
            tx.set_due(a.id, _AT + timedelta(days=1))
        assert store.next_due() == _AT + timedelta(days=1)
        assert _claim(store, _AT + timedelta(hours=23)) == []

    def test_rollback_restores_claimed_rows(self, store: Store) -> None:
        """A claim in a transaction that fails leaves the schedule as it was."""
        a, b = _tickets(store, 2)
        _schedule(store, {a.id: _AT, b.id: _AT + timedelta(minutes=1)})

        def claim_and_move(tx: Transaction) -> list[int]:
            claimed = tx.claim_due(_AT + timedelta(hours=1), 10)
            tx.set_due(a.id, _AT + timedelta(days=5))
            return claimed

        assert _then_fail(store, claim_and_move) == [a.id, b.id]
        assert store.due_count(_AT + timedelta(hours=1)) == 2
        assert _claim(store, _AT + timedelta(hours=1)) == [a.id, b.id]

    def test_set_due_refuses_a_missing_ticket_and_naive_times(self, store: Store) -> None:
        """set_due needs an existing ticket and an aware datetime; claim_due a sane limit."""
        (a,) = _tickets(store, 1)
        with pytest.raises(NotFound, match="999999"), store.transaction() as tx:
            tx.set_due(999999, _AT)
        with pytest.raises(ValidationError, match="naive"), store.transaction() as tx:
            tx.set_due(a.id, datetime(2026, 1, 1, 9, 0))
        for limit in (0, -1, 10_001, True):
            with pytest.raises(ValidationError, match="limit"), store.transaction() as tx:
                tx.claim_due(_AT, limit)
        assert store.next_due() is None

    def test_schedule_reads_filter_by_tenant(self, store: Store) -> None:
        """next_due with a tenant sees only that tenant's tickets; claim_due takes every tenant."""
        (acme,) = _tickets(store, 1, "acme")
        (beta,) = _tickets(store, 1, "beta")
        _schedule(store, {acme.id: _AT + timedelta(hours=2), beta.id: _AT + timedelta(hours=1)})
        assert store.next_due(tenant="acme") == _AT + timedelta(hours=2)
        assert store.next_due(tenant="beta") == _AT + timedelta(hours=1)
        assert store.next_due(tenant="gamma") is None
        assert store.next_due() == _AT + timedelta(hours=1)
        assert _claim(store, _AT + timedelta(hours=3)) == [beta.id, acme.id]

    def test_concurrent_claims_never_take_one_ticket_twice(self, store: Store) -> None:
        """Threads claiming in small batches at once get every due ticket exactly once."""
        made = _tickets(store, 60)
        _schedule(store, {t.id: _AT + timedelta(seconds=i % 7) for i, t in enumerate(made)})
        claims: list[list[int]] = [[] for _ in range(self.threads)]

        def work(i: int) -> None:
            while True:
                got = _claim(store, _AT + timedelta(minutes=1), limit=3)
                if not got:
                    return
                claims[i].extend(got)

        _run_threads(self.threads, work)
        every = [ticket_id for found in claims for ticket_id in found]
        assert sorted(every) == sorted(t.id for t in made)

    def test_transaction_events_include_its_own(self, store: Store) -> None:
        """tx.events reads the ticket's events, those added in the transaction too, in order."""
        (a,) = _tickets(store, 1)
        first = Event(a.id, a.key, 1, EventType.OPENED, "bob", _AT)
        with store.transaction() as tx:
            tx.add_events([first])
        with store.transaction() as tx:
            note = Event(
                a.id, a.key, 1, EventType.SLA_WARNING, "sla", _AT, data={"target": "resolution"}
            )
            tx.add_events([note])
            seen = tx.events(a.id)
            assert [(e.type, e.actor) for e in seen] == [
                (EventType.OPENED, "bob"),
                (EventType.SLA_WARNING, "sla"),
            ]
            assert seen[1].data == {"target": "resolution"}
            assert tx.events(999999) == []
        assert [e.type for e in store.events(a.id)] == [EventType.OPENED, EventType.SLA_WARNING]

    # -- counters ------------------------------------------------------------------------

    def test_counters_count_from_zero_per_name(self, store: Store) -> None:
        """next_counter gives 0, 1, 2, … separately for each name; a rollback gives values back."""
        with store.transaction() as tx:
            assert [tx.next_counter("route:a") for _ in range(3)] == [0, 1, 2]
            assert tx.next_counter("route:b") == 0
        assert _then_fail(store, lambda tx: tx.next_counter("route:a")) == 3
        with store.transaction() as tx:
            assert tx.next_counter("route:a") == 3
            assert tx.next_counter("route:b") == 1
            assert tx.next_counter("x" * 200) == 0
        for bad in ("", "x" * 201, 7):
            with pytest.raises(ValidationError, match="counter name"), store.transaction() as tx:
                tx.next_counter(bad)  # type: ignore[arg-type]

    def test_concurrent_counters_never_repeat(self, store: Store) -> None:
        """Threads bumping one counter at once get every value once: 0 … n-1."""
        rounds = 10
        got: list[list[int]] = [[] for _ in range(self.threads)]

        def work(i: int) -> None:
            for _ in range(rounds):
                with store.transaction() as tx:
                    got[i].append(tx.next_counter("route:shared"))

        _run_threads(self.threads, work)
        assert sorted(v for found in got for v in found) == list(range(self.threads * rounds))

    # -- outbox --------------------------------------------------------------------------

    def test_outbox_items_get_ids_and_read_back(self, store: Store) -> None:
        """add_outbox assigns increasing ids; outbox() returns the items as stored, oldest first."""
        (a,) = _tickets(store, 1)
        added = _add(store, _item(ticket_id=a.id), _item(channel="webhook", payload={"n": 1.5}))
        assert [i.id for i in added] == sorted({i.id for i in added})
        assert all(i.id > 0 for i in added)
        assert store.outbox() == added
        assert added[0].ticket_id == a.id
        assert added[0].pending
        assert _add(store) == []

    def test_outbox_lease_sent_failed_lifecycle(self, store: Store) -> None:
        """Due items are leased once; sent items stay done; failures retry, then give up."""
        first, second, later = _add(
            store, _item(), _item(), _item(next_attempt_at=_AT + timedelta(hours=1))
        )
        leased = _lease(store, _AT)
        assert [i.id for i in leased] == [first.id, second.id]
        assert {i.lease_until for i in leased} == {_AT + timedelta(minutes=5)}
        assert _lease(store, _AT + timedelta(minutes=1)) == []  # still leased
        with store.transaction() as tx:
            tx.outbox_sent(first.id, _AT + timedelta(minutes=1))
            tx.outbox_failed(second.id, "connection refused", _AT + timedelta(minutes=2))
        by_id = {i.id: i for i in store.outbox()}
        assert by_id[first.id].sent_at == _AT + timedelta(minutes=1)
        assert by_id[first.id].lease_until is None
        assert not by_id[first.id].pending
        failed = by_id[second.id]
        assert (failed.attempts, failed.last_error, failed.lease_until) == (
            1,
            "connection refused",
            None,
        )
        assert failed.next_attempt_at == _AT + timedelta(minutes=2)
        assert failed.pending
        assert _lease(store, _AT + timedelta(minutes=1)) == []  # not due again yet
        assert [i.id for i in _lease(store, _AT + timedelta(minutes=2))] == [second.id]
        with store.transaction() as tx:
            tx.outbox_failed(second.id, "x" * (MAX_ERROR + 500), None)
        gave_up = {i.id: i for i in store.outbox()}[second.id]
        assert (gave_up.gave_up, gave_up.attempts, gave_up.pending) == (True, 2, False)
        assert gave_up.last_error == "x" * MAX_ERROR
        assert [i.id for i in _lease(store, _AT + timedelta(hours=2))] == [later.id]
        assert [i.id for i in store.outbox(pending=True)] == [later.id]
        assert [i.id for i in store.outbox(pending=False)] == [first.id, second.id]

    def test_expired_lease_is_leased_again(self, store: Store) -> None:
        """An item whose deliverer never reported back is handed out after its lease ends."""
        (item,) = _add(store, _item())
        assert [i.id for i in _lease(store, _AT, minutes=5)] == [item.id]
        assert _lease(store, _AT + timedelta(minutes=5)) == []  # lease_until is not before now
        again = _lease(store, _AT + timedelta(minutes=5, seconds=1))
        assert [i.lease_until for i in again] == [_AT + timedelta(minutes=10, seconds=1)]

    def test_lease_orders_by_due_time_and_respects_the_limit(self, store: Store) -> None:
        """Items are leased earliest next_attempt_at first, at most ``limit``."""
        late, early, middle = _add(
            store,
            _item(next_attempt_at=_AT + timedelta(minutes=3)),
            _item(next_attempt_at=_AT + timedelta(minutes=1)),
            _item(next_attempt_at=_AT + timedelta(minutes=2)),
        )
        leased = _lease(store, _AT + timedelta(minutes=5), limit=2)
        assert [i.id for i in leased] == [early.id, middle.id]
        assert [i.id for i in _lease(store, _AT + timedelta(minutes=5))] == [late.id]

    def test_rollback_undoes_a_lease(self, store: Store) -> None:
        """A lease in a transaction that fails leaves the item free to lease."""
        (item,) = _add(store, _item())
        leased = _then_fail(store, lambda tx: tx.lease_outbox(_AT, _AT + timedelta(minutes=5), 10))
        assert [i.id for i in leased] == [item.id]
        assert [i.id for i in _lease(store, _AT)] == [item.id]

    def test_outbox_updates_of_unknown_items_are_refused(self, store: Store) -> None:
        """outbox_sent and outbox_failed raise NotFound for an id that is not there."""
        with pytest.raises(NotFound, match="424242"), store.transaction() as tx:
            tx.outbox_sent(424242, _AT)
        with pytest.raises(NotFound, match="424242"), store.transaction() as tx:
            tx.outbox_failed(424242, "boom", None)

    def test_concurrent_leases_never_hand_out_one_item_twice(self, store: Store) -> None:
        """Threads leasing at once get every due item exactly once."""
        added = _add(store, *(_item(payload={"n": n}) for n in range(40)))
        got: list[list[int]] = [[] for _ in range(self.threads)]

        def work(i: int) -> None:
            while True:
                found = _lease(store, _AT, limit=3)
                if not found:
                    return
                got[i].extend(item.id for item in found)

        _run_threads(self.threads, work)
        assert sorted(v for found in got for v in found) == [i.id for i in added]

    def test_outbox_filters_by_tenant_and_limit(self, store: Store) -> None:
        """outbox(tenant=…) shows only that tenant's items; limit keeps the oldest."""
        acme = _add(store, _item("acme"), _item("acme"))
        beta = _add(store, _item("beta"))
        assert store.outbox(tenant="acme") == acme
        assert store.outbox(tenant="beta") == beta
        assert store.outbox(tenant="gamma") == []
        assert store.outbox(limit=2) == acme
        with pytest.raises(ValidationError, match="limit"):
            store.outbox(limit=0)

    def test_rename_in_outbox_touches_only_the_tenant(self, store: Store) -> None:
        """Erasure replaces the person in the payloads of one tenant's items, nowhere else."""
        payload = {"to": ["bob@example.com"], "body": "Dear bob@example.com", "n": 1}
        (acme,) = _add(store, _item("acme", payload=payload))
        (beta,) = _add(store, _item("beta", payload=payload))
        (other,) = _add(store, _item("acme", payload={"to": ["carol@example.com"]}))
        with store.transaction() as tx:
            tx.rename_in_outbox("bob@example.com", "person-1", tenant="acme")
        by_id = {i.id: i for i in store.outbox()}
        assert by_id[acme.id].payload == {"to": ["person-1"], "body": "Dear person-1", "n": 1}
        assert by_id[beta.id].payload == payload
        assert by_id[other.id].payload == {"to": ["carol@example.com"]}

    # -- open tickets per assignee ---------------------------------------------------------

    def test_count_open_counts_each_assignee_in_the_statuses(self, store: Store) -> None:
        """count_open gives every assignee asked for its tickets in the statuses (0 if none)."""
        _tickets(store, 2, assignee="alice", status="open")
        _tickets(store, 1, assignee="alice", status="closed")
        _tickets(store, 1, assignee="bob", status="pending")
        _tickets(store, 3, "acme", assignee="alice", status="open")
        _tickets(store, 1, assignee=None, status="open")
        statuses = ["open", "pending"]
        assert store.count_open(["alice", "bob", "carol"], statuses) == {
            "alice": 5,
            "bob": 1,
            "carol": 0,
        }
        assert store.count_open(["alice", "bob"], statuses, tenant="default") == {
            "alice": 2,
            "bob": 1,
        }
        assert store.count_open(["alice"], ["closed"], tenant="acme") == {"alice": 0}
        assert store.count_open([], statuses) == {}
        assert store.count_open(["alice"], []) == {"alice": 0}
        with pytest.raises(ValidationError, match="assignees"):
            store.count_open("alice", statuses)
