"""The SQL store's part of automation: scheduled work, counters and the outbox.

Mixed into :class:`~ticketkit.storage.sql.SQLTransaction` and
:class:`~ticketkit.storage.sql.SQLStore`.

Claiming due work and leasing outbox items must hand each row to one of the
transactions that run at once. On PostgreSQL and MariaDB/MySQL the claimer reads
the rows with ``SELECT … FOR UPDATE SKIP LOCKED``: rows another open transaction
has locked (claimed and deleted, or leased) are skipped, not waited for, and
once that transaction commits they are gone or leased. On SQLite every write
transaction holds the database's write lock from its first statement
(``BEGIN IMMEDIATE``), so claimers simply run one after another.

Counters are bumped with one upsert, like the key sequences (see
``_store._reserve_statement``): an ``UPDATE``-then-``INSERT`` deadlocks on MariaDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from attrs import evolve
from sqlalchemy import (
    Connection,
    Select,
    String,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import UpdateBase

from ..._automation_records import (
    OutboxItem,
    check_counter_name,
    check_limit,
    check_names,
    cut_error,
    renamed_payload,
)
from ..._clock import ensure_utc
from ..._errors import NotFound, ValidationError
from ..._events import Event
from .._ids import check_id
from . import _rows as rows
from ._schema import counters, events, outbox, schedule, tickets
from ._types import MYSQL_DIALECTS, dump_json

__all__ = ["SQLAutomationReads", "SQLAutomationTransaction"]

_DIALECTS = ("sqlite", "postgresql", *MYSQL_DIALECTS)


def _upsert(dialect: str, table: Any, values: dict[str, Any], changes: dict[str, Any]) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE`` (or MySQL's ``ON DUPLICATE KEY UPDATE``)."""
    if dialect in MYSQL_DIALECTS:
        my = mysql_insert(table).values(values)
        return my.on_duplicate_key_update(**{k: v(my.inserted) for k, v in changes.items()})
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stmt = make(table).values(values)
    key = list(table.primary_key.columns)
    return stmt.on_conflict_do_update(
        index_elements=key, set_={k: v(stmt.excluded) for k, v in changes.items()}
    )


def _set_due_statement(dialect: str) -> UpdateBase:
    values = {
        "ticket_id": bindparam("b_id"),
        "tenant": bindparam("b_tenant"),
        "due_at": bindparam("b_due", type_=schedule.c.due_at.type),
    }
    changes = {"tenant": lambda new: new.tenant, "due_at": lambda new: new.due_at}
    result: UpdateBase = _upsert(dialect, schedule, values, changes)
    return result


def _counter_statement(dialect: str) -> UpdateBase:
    """Create the counter at 0, or add 1; PostgreSQL and SQLite return the new value."""
    values = {"name": bindparam("b_name"), "value": 0}
    stmt = _upsert(dialect, counters, values, {"value": lambda new: counters.c.value + 1})
    if dialect in MYSQL_DIALECTS:
        result: UpdateBase = stmt
        return result
    returning: UpdateBase = stmt.returning(counters.c.value)
    return returning


_SET_DUE = {name: _set_due_statement(name) for name in _DIALECTS}
_BUMP_COUNTER = {name: _counter_statement(name) for name in _DIALECTS}
_READ_COUNTER = select(counters.c.value).where(counters.c.name == bindparam("b_name"))
_TENANT_OF = select(tickets.c.tenant).where(tickets.c.id == bindparam("b_id"))
_UNSCHEDULE = delete(schedule).where(schedule.c.ticket_id == bindparam("b_id"))
# Through the (due_at, ticket_id) index; SQLite leaves FOR UPDATE out (it has the write lock).
_DUE = (
    select(schedule.c.ticket_id)
    .where(schedule.c.due_at <= bindparam("b_now", type_=schedule.c.due_at.type))
    .order_by(schedule.c.due_at, schedule.c.ticket_id)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
)
_DELETE_CLAIMED = delete(schedule).where(
    schedule.c.ticket_id.in_(bindparam("b_ids", expanding=True))
)
# MariaDB/MySQL: one row at a time by its primary key. Under READ COMMITTED a DELETE
# (unlike an UPDATE, which reads past locked rows that do not match) waits for every
# row its plan visits, and on a small table the plan for ``IN (…)`` is a full scan,
# which would wait for the rows another claimer holds.
_DELETE_ONE = delete(schedule).where(schedule.c.ticket_id == bindparam("b_id"))
_EVENTS = (
    select(*(events.c[name] for name in rows.EVENT_COLUMNS))
    .where(events.c.ticket_id == bindparam("b_id"))
    .order_by(events.c.id)
)

_PENDING = (outbox.c.sent_at.is_(None), outbox.c.gave_up == false())
_LEASABLE = (
    select(outbox)
    .where(
        *_PENDING,
        outbox.c.next_attempt_at <= bindparam("b_now", type_=outbox.c.next_attempt_at.type),
        or_(
            outbox.c.lease_until.is_(None),
            outbox.c.lease_until < bindparam("b_now", type_=outbox.c.lease_until.type),
        ),
    )
    .order_by(outbox.c.next_attempt_at, outbox.c.id)
    .limit(bindparam("b_limit"))
    .with_for_update(skip_locked=True)
)
_LEASE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("b_ids", expanding=True)))
    .values(lease_until=bindparam("b_until"))
)
_SENT = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(sent_at=bindparam("b_at"), lease_until=None)
)
_FAILED_VALUES = {
    "attempts": outbox.c.attempts + 1,
    "lease_until": None,
    "last_error": bindparam("b_error"),
}
_RETRY = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(**_FAILED_VALUES, next_attempt_at=bindparam("b_retry"))
)
_GIVE_UP = (
    update(outbox).where(outbox.c.id == bindparam("b_id")).values(**_FAILED_VALUES, gave_up=True)
)
_SET_PAYLOAD = (
    update(outbox)
    .where(outbox.c.id == bindparam("b_id"))
    .values(payload=bindparam("b_payload", type_=outbox.c.payload.type))
)

_OUTBOX = select(outbox).order_by(outbox.c.id).limit(bindparam("b_limit"))
_NEXT_DUE = select(func.min(schedule.c.due_at))
_DUE_COUNT = select(func.count()).where(
    schedule.c.due_at <= bindparam("b_now", type_=schedule.c.due_at.type)
)
_COUNT_OPEN = (
    select(tickets.c.assignee, func.count())
    .where(
        tickets.c.assignee.in_(bindparam("b_assignees", expanding=True)),
        tickets.c.status.in_(bindparam("b_statuses", expanding=True)),
    )
    .group_by(tickets.c.assignee)
)


def _item_from_row(row: Any) -> OutboxItem:
    return OutboxItem(
        id=int(row["id"]),
        channel=row["channel"],
        payload=row["payload"],
        created=row["created"],
        next_attempt_at=row["next_attempt_at"],
        ticket_id=None if row["ticket_id"] is None else int(row["ticket_id"]),
        tenant=row["tenant"],
        attempts=int(row["attempts"]),
        lease_until=row["lease_until"],
        sent_at=row["sent_at"],
        last_error=row["last_error"],
        gave_up=bool(row["gave_up"]),
    )


def _item_row(item: OutboxItem) -> dict[str, Any]:
    return {
        "ticket_id": item.ticket_id,
        "tenant": item.tenant,
        "channel": item.channel,
        "payload": dict(item.payload),
        "created": item.created,
        "next_attempt_at": item.next_attempt_at,
        "attempts": item.attempts,
        "lease_until": item.lease_until,
        "sent_at": item.sent_at,
        "last_error": item.last_error,
        "gave_up": item.gave_up,
    }


class SQLAutomationTransaction:
    """The automation operations of a SQL transaction (see the Transaction protocol)."""

    _conn: Connection

    def events(self, ticket_id: int) -> list[Event]:
        found = self._conn.execute(_EVENTS, {"b_id": check_id(ticket_id, "ticket_id")}).all()
        return [rows.event_from_tuple(r) for r in found]

    def set_due(self, ticket_id: int, due_at: datetime | None) -> None:
        check_id(ticket_id, "ticket_id")
        due = None if due_at is None else ensure_utc(due_at, "due_at")
        tenant = self._conn.execute(_TENANT_OF, {"b_id": ticket_id}).scalar()
        if tenant is None:
            raise NotFound(f"no ticket with id {ticket_id} to schedule work for")
        if due is None:
            self._conn.execute(_UNSCHEDULE, {"b_id": ticket_id})
            return
        statement = _SET_DUE[self._conn.dialect.name]
        self._conn.execute(statement, {"b_id": ticket_id, "b_tenant": tenant, "b_due": due})

    def claim_due(self, now: datetime, limit: int) -> list[int]:
        params = {"b_now": ensure_utc(now, "now"), "b_limit": check_limit(limit)}
        claimed = [int(i) for i in self._conn.execute(_DUE, params).scalars()]
        if not claimed:
            return claimed
        if self._conn.dialect.name in MYSQL_DIALECTS:
            self._conn.execute(_DELETE_ONE, [{"b_id": i} for i in claimed])
        else:
            self._conn.execute(_DELETE_CLAIMED, {"b_ids": claimed})
        return claimed

    def next_counter(self, name: str) -> int:
        params = {"b_name": check_counter_name(name)}
        dialect = self._conn.dialect.name
        result = self._conn.execute(_BUMP_COUNTER[dialect], params)
        if dialect in MYSQL_DIALECTS:  # no RETURNING: read the row this transaction now locks
            return int(self._conn.execute(_READ_COUNTER, params).scalar_one())
        return int(result.scalar_one())

    def add_outbox(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        for item in items:
            if not isinstance(item, OutboxItem):
                raise ValidationError(
                    f"add_outbox takes OutboxItem values, got {item!r:.60}", field="items"
                )
        if not items:
            return []
        params = [_item_row(i) for i in items]
        if self._conn.dialect.insert_executemany_returning_sort_by_parameter_order:
            stmt = insert(outbox).returning(outbox.c.id, sort_by_parameter_order=True)
            ids = [int(i) for i in self._conn.execute(stmt, params).scalars()]
        else:  # pragma: no cover - MySQL proper (MariaDB has RETURNING)
            ids = []
            for p in params:
                key = self._conn.execute(insert(outbox), p).inserted_primary_key
                assert key is not None
                ids.append(int(key[0]))
        return [evolve(i, id=new_id) for i, new_id in zip(items, ids, strict=True)]

    def lease_outbox(self, now: datetime, until: datetime, limit: int) -> list[OutboxItem]:
        params = {"b_now": ensure_utc(now, "now"), "b_limit": check_limit(limit)}
        until = ensure_utc(until, "until")
        found = [_item_from_row(r) for r in self._conn.execute(_LEASABLE, params).mappings()]
        if found:
            self._conn.execute(_LEASE, {"b_ids": [i.id for i in found], "b_until": until})
        return [evolve(i, lease_until=until) for i in found]

    def outbox_sent(self, item_id: int, at: datetime) -> None:
        params = {"b_id": check_id(item_id, "item_id"), "b_at": ensure_utc(at, "at")}
        if self._conn.execute(_SENT, params).rowcount != 1:
            raise NotFound(f"no outbox item with id {item_id}")

    def outbox_failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        params: dict[str, Any] = {
            "b_id": check_id(item_id, "item_id"),
            "b_error": cut_error(error),
        }
        if retry_at is None:
            result = self._conn.execute(_GIVE_UP, params)
        else:
            params["b_retry"] = ensure_utc(retry_at, "retry_at")
            result = self._conn.execute(_RETRY, params)
        if result.rowcount != 1:
            raise NotFound(f"no outbox item with id {item_id}")

    def rename_in_outbox(self, person: str, alias: str, *, tenant: str) -> None:
        if not isinstance(person, str) or not isinstance(alias, str) or not person:
            raise ValidationError(
                f"rename_in_outbox needs a non-empty person and an alias, got {person!r:.60} "
                f"and {alias!r:.60}",
                field="person",
            )
        # The payload is JSON text: look for the person as JSON writes it inside a string.
        written = dump_json(person)[1:-1]
        candidates = select(outbox.c.id, outbox.c.payload).where(
            outbox.c.tenant == tenant,
            type_coerce(outbox.c.payload, String()).contains(written, autoescape=True),
        )
        for item_id, payload in self._conn.execute(candidates).all():
            renamed = renamed_payload(payload, person, alias)
            if renamed != payload:
                self._conn.execute(_SET_PAYLOAD, {"b_id": item_id, "b_payload": renamed})


class SQLAutomationReads:
    """The automation reads of the SQL store (see the Store protocol)."""

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError  # pragma: no cover - provided by the store

    def next_due(self, *, tenant: str | None = None) -> datetime | None:
        stmt = _NEXT_DUE if tenant is None else _NEXT_DUE.where(schedule.c.tenant == tenant)
        with self._read() as conn:
            found: datetime | None = conn.execute(stmt).scalar()
        return found

    def due_count(self, now: datetime) -> int:
        with self._read() as conn:
            return int(conn.execute(_DUE_COUNT, {"b_now": ensure_utc(now, "now")}).scalar_one())

    def outbox(
        self, *, tenant: str | None = None, pending: bool | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        stmt: Select[Any] = _OUTBOX
        if tenant is not None:
            stmt = stmt.where(outbox.c.tenant == tenant)
        if pending is True:
            stmt = stmt.where(*_PENDING)
        elif pending is False:
            stmt = stmt.where(or_(outbox.c.sent_at.is_not(None), outbox.c.gave_up == true()))
        with self._read() as conn:
            found = conn.execute(stmt, {"b_limit": check_limit(limit)}).mappings().all()
        return [_item_from_row(r) for r in found]

    def count_open(
        self, assignees: Sequence[str], statuses: Sequence[str], *, tenant: str | None = None
    ) -> dict[str, int]:
        names = check_names(assignees, "assignees")
        wanted = check_names(statuses, "statuses")
        counts = dict.fromkeys(names, 0)
        if not names or not wanted:
            return counts
        stmt = _COUNT_OPEN if tenant is None else _COUNT_OPEN.where(tickets.c.tenant == tenant)
        params = {"b_assignees": sorted(set(names)), "b_statuses": sorted(set(wanted))}
        with self._read() as conn:
            for assignee, count in conn.execute(stmt, params).all():
                counts[assignee] = int(count)
        return counts
