"""The SQL store: SQLAlchemy 2 Core on SQLite, PostgreSQL and MariaDB/MySQL."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from attrs import evolve
from attrs import frozen as attrs_frozen
from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import NullType

from ..._access_log import MAX_REASON, Denial, check_denials_limit
from ..._errors import ConflictError, NotFound
from ..._events import Event
from ..._model import Attachment, Comment, Ticket
from ..._query import Page, Query, encode_cursor
from ..._text import MAX_NAME
from . import _references, _search
from . import _rows as rows
from ._automation import SQLAutomationReads, SQLAutomationTransaction
from ._compile import compile_query
from ._driver_reads import DriverReads, event_from_driver, ticket_from_driver
from ._engine import Durability, begin_write, make_engine, owns_transactions, translate_errors
from ._kb import SQLKBReads, SQLKBTransaction
from ._prepared import Prepared
from ._schema import (
    access_denials,
    attachment_content,
    attachments,
    comments,
    events,
    field_values,
    key_sequences,
    links,
    ticket_tags,
    ticket_watchers,
    tickets,
)
from ._types import MYSQL_DIALECTS as _MYSQL

__all__ = ["SQLStore"]

# Statements built once: building one per call (with a bound literal per column
# and a new cache key) cost more than running it. Values go in as parameters.
_SIDE_TABLES = (ticket_tags, ticket_watchers, links, field_values)
_READ_KEY = select(key_sequences.c.last_number).where(
    key_sequences.c.prefix == bindparam("b_prefix")
)


def _reserve_statement(dialect: str) -> UpdateBase:
    """One statement that creates or bumps a prefix's key sequence, without a race.

    An ``UPDATE`` that finds no row followed by an ``INSERT`` deadlocks on
    MariaDB when several writers reserve the first number of a prefix at once:
    each ``UPDATE`` leaves a gap lock that blocks the others' ``INSERT``, and the
    duplicate-key checks that follow take shared locks that both then want to
    upgrade. An upsert takes an exclusive lock on the row (or its gap) at once,
    so concurrent writers queue behind each other instead. PostgreSQL and
    SQLite also return the new value, saving a round trip.
    """
    values: dict[str, Any] = {"prefix": bindparam("b_prefix"), "last_number": bindparam("b_count")}
    if dialect in _MYSQL:
        my = mysql_insert(key_sequences).values(values)
        return my.on_duplicate_key_update(
            last_number=key_sequences.c.last_number + my.inserted.last_number
        )
    upsert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    stmt = upsert(key_sequences).values(values)
    return stmt.on_conflict_do_update(
        index_elements=[key_sequences.c.prefix],
        set_={"last_number": key_sequences.c.last_number + stmt.excluded.last_number},
    ).returning(key_sequences.c.last_number)


_RESERVE = {name: _reserve_statement(name) for name in ("sqlite", "postgresql", *_MYSQL)}
_TICKET_COLUMNS = tuple(tickets.c[name] for name in rows.TICKET_COLUMNS)
# The same columns without their types' result processing, for ticket_from_driver.
_DRIVER_TICKET_COLUMNS = tuple(type_coerce(c, NullType()).label(c.name) for c in _TICKET_COLUMNS)
_TICKET_BY_ID = select(*_TICKET_COLUMNS).where(tickets.c.id == bindparam("b_ref"))
_TICKET_BY_KEY = select(*_TICKET_COLUMNS).where(tickets.c.key == bindparam("b_ref"))
# Reads scoped to a tenant carry the condition in the statement itself: "_IN" a tenant.
_OF_TENANT = tickets.c.tenant == bindparam("b_tenant")
_TICKET_BY_ID_IN = _TICKET_BY_ID.where(_OF_TENANT)
_TICKET_BY_KEY_IN = _TICKET_BY_KEY.where(_OF_TENANT)
_UPDATE_TICKET = update(tickets).where(
    tickets.c.id == bindparam("b_id"), tickets.c.version == bindparam("b_version")
)
_EVENTS = select(*(events.c[name] for name in rows.EVENT_COLUMNS)).order_by(events.c.id)
_EVENTS_BY_ID = _EVENTS.where(events.c.ticket_id == bindparam("b_ref"))
_EVENTS_UNTIL = _EVENTS_BY_ID.where(events.c.at <= bindparam("b_until"))
# By the ticket's unique key, through its id: tk_events has no index on ticket_key.
_EVENTS_OF_TICKETS = _EVENTS.join_from(events, tickets, tickets.c.id == events.c.ticket_id)
_EVENTS_BY_KEY = _EVENTS_OF_TICKETS.where(tickets.c.key == bindparam("b_ref"))
_EVENTS_BY_KEY_IN = _EVENTS_BY_KEY.where(_OF_TENANT)
_EVENTS_BY_ID_IN = _EVENTS_OF_TICKETS.where(events.c.ticket_id == bindparam("b_ref"), _OF_TENANT)
_EVENTS_UNTIL_IN = _EVENTS_BY_ID_IN.where(events.c.at <= bindparam("b_until"))
_EVENTS_OF_MANY = _EVENTS.where(events.c.ticket_id.in_(bindparam("b_ids", expanding=True)))
_EVENTS_OF_MANY_IN = _EVENTS_OF_TICKETS.where(
    events.c.ticket_id.in_(bindparam("b_ids", expanding=True)), _OF_TENANT
)
_EVENTS_BY_ACTOR = _EVENTS.where(events.c.actor == bindparam("b_ref"))
_EVENTS_BY_ACTOR_IN = _EVENTS_OF_TICKETS.where(events.c.actor == bindparam("b_ref"), _OF_TENANT)


def _of_ticket(table: Table) -> Any:
    """``table``'s rows joined to their ticket, for the tenant condition."""
    return table.join(tickets, tickets.c.id == table.c.ticket_id)


_COMMENTS = select(comments).order_by(comments.c.id)
_COMMENTS_BY_TICKET = _COMMENTS.where(comments.c.ticket_id == bindparam("b_ref"))
_COMMENTS_BY_AUTHOR = _COMMENTS.where(comments.c.author == bindparam("b_ref"))
_COMMENT_OF_TICKET = select(comments).where(
    comments.c.ticket_id == bindparam("b_ticket_id"), comments.c.id == bindparam("b_id")
)
_COMMENTS_IN = _COMMENTS.select_from(_of_ticket(comments)).where(_OF_TENANT)
_COMMENTS_BY_TICKET_IN = _COMMENTS_IN.where(comments.c.ticket_id == bindparam("b_ref"))
_COMMENTS_BY_AUTHOR_IN = _COMMENTS_IN.where(comments.c.author == bindparam("b_ref"))
_ATTACHMENTS = select(attachments).order_by(attachments.c.id)
_ATTACHMENTS_IN = _ATTACHMENTS.select_from(_of_ticket(attachments)).where(_OF_TENANT)
_ATTACHMENTS_BY_TICKET = _ATTACHMENTS.where(attachments.c.ticket_id == bindparam("b_ref"))
_ATTACHMENTS_BY_TICKET_IN = _ATTACHMENTS_IN.where(attachments.c.ticket_id == bindparam("b_ref"))
_ATTACHMENT = _ATTACHMENTS.where(attachments.c.id == bindparam("b_ref"))
_ATTACHMENT_IN = _ATTACHMENTS_IN.where(attachments.c.id == bindparam("b_ref"))
_CONTENT = select(attachment_content.c.content).where(
    attachment_content.c.attachment_id == bindparam("b_ref")
)
_CONTENT_IN = _CONTENT.select_from(
    attachment_content.join(
        attachments, attachments.c.id == attachment_content.c.attachment_id
    ).join(tickets, tickets.c.id == attachments.c.ticket_id)
).where(_OF_TENANT)
_UPDATE_COMMENT = (
    update(comments)
    .where(comments.c.id == bindparam("b_id"), comments.c.ticket_id == bindparam("b_ticket_id"))
    .values(
        author=bindparam("b_author"),
        body=bindparam("b_body"),
        redacted_at=bindparam("b_redacted_at"),
        redacted_by=bindparam("b_redacted_by"),
    )
)
_REWRITE_EVENT = (
    update(events)
    .where(events.c.id == bindparam("b_id"), events.c.ticket_id == bindparam("b_ticket_id"))
    .values(
        actor=bindparam("b_actor"),
        old=bindparam("b_old", type_=events.c.old.type),
        new=bindparam("b_new", type_=events.c.new.type),
        data=bindparam("b_data", type_=events.c.data.type),
    )
)
_UPDATE_ATTACHMENT = (
    update(attachments)
    .where(
        attachments.c.id == bindparam("b_id"),
        attachments.c.ticket_id == bindparam("b_ticket_id"),
    )
    .values(uploaded_by=bindparam("b_uploaded_by"))
)


def _renamed(column: Any, length: int) -> Any:
    return func.substr(func.replace(column, bindparam("b_person"), bindparam("b_alias")), 1, length)


_RENAME_IN_DENIALS = (
    update(access_denials)
    .where(
        access_denials.c.tenant == bindparam("b_tenant"),
        or_(
            access_denials.c.principal == bindparam("b_person"),
            _renamed(access_denials.c.target, MAX_NAME) != access_denials.c.target,
            _renamed(access_denials.c.reason, MAX_REASON) != access_denials.c.reason,
        ),
    )
    .values(
        principal=case(
            (access_denials.c.principal == bindparam("b_person"), bindparam("b_alias")),
            else_=access_denials.c.principal,
        ),
        target=_renamed(access_denials.c.target, MAX_NAME),
        reason=_renamed(access_denials.c.reason, MAX_REASON),
    )
)
_DENIALS = select(access_denials).order_by(access_denials.c.id.desc()).limit(bindparam("b_limit"))
_DENIALS_IN = _DENIALS.where(access_denials.c.tenant == bindparam("b_tenant"))


def _scope(ref: Any, tenant: str | None) -> dict[str, Any]:
    return {"b_ref": ref} if tenant is None else {"b_ref": ref, "b_tenant": tenant}


_DELETE_SIDE = {t: delete(t).where(t.c.ticket_id == bindparam("b_ticket_id")) for t in _SIDE_TABLES}


def _ticket_statement(ref: int | str, tenant: str | None) -> Select[Any]:
    if isinstance(ref, str):
        return _TICKET_BY_KEY if tenant is None else _TICKET_BY_KEY_IN
    return _TICKET_BY_ID if tenant is None else _TICKET_BY_ID_IN


@attrs_frozen
class _PreparedWrites:
    """The writes every create or status change sends, compiled once per dialect."""

    insert_ticket: Prepared
    update_ticket: Prepared
    insert_event: Prepared
    reserve: Prepared


# The keys of rows.ticket_row: every column but the id, and the folded texts.
_ROW_KEYS = (*rows.TICKET_COLUMNS[1:], "title_folded", "description_folded")
_PREPARED: dict[Dialect, _PreparedWrites] = {}


def _prepared_for(dialect: Dialect) -> _PreparedWrites:
    found = _PREPARED.get(dialect)
    if found is None:
        found = _PREPARED[dialect] = _PreparedWrites(
            insert_ticket=Prepared(insert(tickets), dialect, _ROW_KEYS),
            update_ticket=Prepared(_UPDATE_TICKET, dialect, _ROW_KEYS),
            insert_event=Prepared(insert(events), dialect, rows.EVENT_COLUMNS[:-1]),
            reserve=Prepared(_RESERVE[dialect.name], dialect),
        )
    return found


def _side_rows(ticket: Ticket) -> dict[Any, list[dict[str, Any]]]:
    """The rows of the index tables that mirror a ticket's sets and custom fields."""
    return {
        ticket_tags: [{"ticket_id": ticket.id, "tag": t} for t in sorted(ticket.tags)],
        ticket_watchers: [{"ticket_id": ticket.id, "watcher": w} for w in sorted(ticket.watchers)],
        links: [
            {"ticket_id": ticket.id, "kind": lk.kind.value, "target_key": lk.key}
            for lk in sorted(ticket.links)
        ],
        field_values: list(rows.field_rows(ticket.id, ticket.fields)),
    }


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


class SQLTransaction(SQLAutomationTransaction, SQLKBTransaction):
    """One database transaction; see :class:`ticketkit.storage.Transaction`.

    The search index needs no code here: the database updates it in this same
    transaction when tickets and comments are written, by any of these methods,
    single or bulk (triggers on SQLite, indexes on PostgreSQL and MariaDB; see
    ``_search``).
    """

    def __init__(self, connection: Connection, driver: DriverReads | None = None) -> None:
        self._conn = connection
        self._driver = driver
        self._seen: dict[int, Ticket] = {}
        self._rewrote_text = False  # a redaction or erasure: purge the search index at the end
        # SQLite (where driver reads are on) sends its common writes precompiled.
        self._prepared = _prepared_for(connection.dialect) if driver is not None else None

    def _next_number(self, prefix: str) -> int:
        return self._reserve_numbers(prefix, 1)

    def create_ticket(self, draft: Ticket, prefix: str) -> Ticket:
        key = f"{prefix}-{self._next_number(prefix)}"
        row = rows.ticket_row(draft)
        row["key"] = key
        if self._prepared is not None:
            new_id = self._prepared.insert_ticket.run(self._conn, row).lastrowid
        else:
            new_id = _new_id(self._conn.execute(insert(tickets), row))
        ticket = evolve(draft, id=new_id, key=key)
        self._write_side_rows(ticket, None, new=True)
        self._seen[ticket.id] = ticket
        return ticket

    def get_ticket(self, ref: int | str, *, tenant: str | None = None) -> Ticket | None:
        stmt = _ticket_statement(ref, tenant)
        if self._driver is not None:
            values = (ref,) if tenant is None else (ref, tenant)
            found = self._driver.all(stmt, values, within=self._conn)
            if not found:
                return None
            ticket = ticket_from_driver(found[0])
        else:
            row = self._conn.execute(stmt, _scope(ref, tenant)).first()
            if row is None:
                return None
            ticket = rows.ticket_from_tuple(row)
        self._seen[ticket.id] = ticket
        return ticket

    def update_ticket(self, ticket: Ticket, expected_version: int) -> None:
        params = rows.ticket_row(ticket)
        params["b_id"] = ticket.id
        params["b_version"] = expected_version
        if self._prepared is not None:
            result = self._prepared.update_ticket.run(self._conn, params)
        else:
            result = self._conn.execute(_UPDATE_TICKET, params)
        if result.rowcount != 1:
            actual = self._conn.execute(
                select(tickets.c.version).where(tickets.c.id == ticket.id)
            ).scalar()
            found = -1 if actual is None else int(actual)
            raise ConflictError.stale(ticket.key, expected_version, found)
        before = self._seen.get(ticket.id)
        self._write_side_rows(
            ticket, before if before and before.version == expected_version else None
        )
        self._seen[ticket.id] = ticket

    def _write_side_rows(self, ticket: Ticket, before: Ticket | None, *, new: bool = False) -> None:
        """Bring the index tables in line with ``ticket``.

        ``before`` is the ticket as stored, if known: tables whose rows did not
        change are left alone. A ``new`` ticket has no rows to delete.
        """
        old = _side_rows(before) if before is not None else None
        for table, new_rows in _side_rows(ticket).items():
            if old is not None and old[table] == new_rows:
                continue
            if not new:
                self._conn.execute(_DELETE_SIDE[table], {"b_ticket_id": ticket.id})
            if new_rows:
                self._conn.execute(insert(table), new_rows)

    def add_events(self, new_events: Sequence[Event]) -> list[Event]:
        stored = []
        prepared = self._prepared
        for event in new_events:
            if prepared is not None:
                new_id = prepared.insert_event.run(self._conn, rows.event_row(event)).lastrowid
            else:
                new_id = _new_id(self._conn.execute(insert(events), rows.event_row(event)))
            stored.append(evolve(event, id=new_id))
        return stored

    def add_comment(self, comment: Comment) -> Comment:
        result = self._conn.execute(insert(comments), rows.comment_row(comment))
        return evolve(comment, id=_new_id(result))

    def get_comment(self, ticket_id: int, comment_id: int) -> Comment | None:
        found = (
            self._conn.execute(_COMMENT_OF_TICKET, {"b_ticket_id": ticket_id, "b_id": comment_id})
            .mappings()
            .first()
        )
        return None if found is None else rows.comment_from_row(found)

    def update_comment(self, comment: Comment) -> None:
        """Replace a comment's author, body and redaction marks; the search index follows."""
        result = self._conn.execute(
            _UPDATE_COMMENT,
            {
                "b_id": comment.id,
                "b_ticket_id": comment.ticket_id,
                "b_author": comment.author,
                "b_body": comment.body,
                "b_redacted_at": comment.redacted_at,
                "b_redacted_by": comment.redacted_by,
            },
        )
        if result.rowcount != 1:
            raise NotFound(f"no comment with id {comment.id} on ticket {comment.ticket_key}")
        self._rewrote_text = True

    def rewrite_event(self, event: Event) -> None:
        result = self._conn.execute(
            _REWRITE_EVENT,
            {
                "b_id": event.id,
                "b_ticket_id": event.ticket_id,
                "b_actor": event.actor,
                "b_old": event.old,
                "b_new": event.new,
                "b_data": dict(event.data),
            },
        )
        if result.rowcount != 1:
            raise NotFound(f"no event with id {event.id} on ticket {event.ticket_key}")
        self._rewrote_text = True  # redaction and erasure rewrite events with the text

    def _finish(self) -> None:
        """Last statements before the commit: after redaction, purge the search index."""
        if self._rewrote_text:
            _search.forget_removed_text(self._conn)

    def add_denial(self, denial: Denial) -> Denial:
        result = self._conn.execute(insert(access_denials), rows.denial_row(denial))
        return evolve(denial, id=_new_id(result))

    def update_attachment(self, attachment: Attachment) -> None:
        """Replace an attachment's ``uploaded_by`` (erasure); nothing else changes."""
        result = self._conn.execute(
            _UPDATE_ATTACHMENT,
            {
                "b_id": attachment.id,
                "b_ticket_id": attachment.ticket_id,
                "b_uploaded_by": attachment.uploaded_by,
            },
        )
        if result.rowcount != 1:
            raise NotFound(
                f"no attachment with id {attachment.id} on ticket {attachment.ticket_key}"
            )

    def rename_in_denials(self, person: str, alias: str, *, tenant: str) -> None:
        """Replace ``person`` by ``alias`` in the tenant's denials (see ``renamed_denial``)."""
        self._conn.execute(
            _RENAME_IN_DENIALS, {"b_person": person, "b_alias": alias, "b_tenant": tenant}
        )

    def add_attachment(self, attachment: Attachment, content: bytes) -> Attachment:
        values = {
            "ticket_id": attachment.ticket_id,
            "ticket_key": attachment.ticket_key,
            "filename": attachment.filename,
            "media_type": attachment.media_type,
            "size": attachment.size,
            "sha256": attachment.sha256,
            "uploaded_by": attachment.uploaded_by,
            "created": attachment.created,
        }
        result = self._conn.execute(insert(attachments), values)
        stored = evolve(attachment, id=_new_id(result))
        self._conn.execute(
            insert(attachment_content), {"attachment_id": stored.id, "content": bytes(content)}
        )
        return stored

    def add_reference(self, ticket_id: int, reference: str) -> None:
        """See :func:`_references.add_reference`: a plain insert, refused if taken."""
        _references.add_reference(self._conn, ticket_id, reference)

    # -- bulk writes (used by ticketkit's importer when present) ----------------------

    def _reserve_numbers(self, prefix: str, count: int) -> int:
        """Reserve ``count`` key numbers for ``prefix`` with one bump; return the first."""
        dialect = self._conn.dialect.name
        bump = {"b_prefix": prefix, "b_count": count}
        if self._prepared is not None:
            result = self._prepared.reserve.run(self._conn, bump)
        else:
            result = self._conn.execute(_RESERVE[dialect], bump)
        if dialect in _MYSQL:
            last = self._conn.execute(_READ_KEY, {"b_prefix": prefix}).scalar_one()
        else:
            last = result.scalar_one()
        return int(last) - count + 1

    def _insert_returning_ids(self, table: Table, params: list[dict[str, Any]]) -> list[int]:
        """Insert ``params`` and return their new ids, in order.

        One ``executemany`` with ``RETURNING`` where the dialect can sort the returned
        rows by parameter order (SQLAlchemy's "insertmanyvalues": SQLite, PostgreSQL,
        MariaDB); one ``INSERT`` per row elsewhere (MySQL).
        """
        if self._conn.dialect.insert_executemany_returning_sort_by_parameter_order:
            stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return [int(i) for i in self._conn.execute(stmt, params).scalars()]
        return [_new_id(self._conn.execute(insert(table), p)) for p in params]

    def create_tickets(self, drafts: Sequence[Ticket], prefix: str) -> list[Ticket]:
        """Store many new tickets with consecutive keys for ``prefix``, in order.

        Like :meth:`create_ticket` for each draft, in a handful of statements: one
        bump of the key sequence, one ``executemany`` for the tickets and one per
        index table.
        """
        if not drafts:
            return []
        first = self._reserve_numbers(prefix, len(drafts))
        keys = [f"{prefix}-{first + i}" for i in range(len(drafts))]
        params = []
        for draft, key in zip(drafts, keys, strict=True):
            row = rows.ticket_row(draft)
            row["key"] = key
            params.append(row)
        # Keys are unique, so ids are matched by key: the rows may come back in any
        # order, which lets SQLAlchemy batch them into multi-row INSERT … RETURNING.
        if self._conn.dialect.insert_executemany_returning:
            stmt = insert(tickets).returning(tickets.c.key, tickets.c.id)
            found = dict(self._conn.execute(stmt, params).all())
        else:
            self._conn.execute(insert(tickets), params)
            found = dict(
                self._conn.execute(
                    select(tickets.c.key, tickets.c.id).where(tickets.c.key.in_(keys))
                ).all()
            )
        ids = [int(found[k]) for k in keys]
        created = [
            evolve(draft, id=new_id, key=key)
            for draft, new_id, key in zip(drafts, ids, keys, strict=True)
        ]
        side: dict[Any, list[dict[str, Any]]] = {}
        for ticket in created:
            for table, new_rows in _side_rows(ticket).items():
                side.setdefault(table, []).extend(new_rows)
            self._seen[ticket.id] = ticket
        for table, new_rows in side.items():
            if new_rows:
                self._conn.execute(insert(table), new_rows)
        return created

    def add_events_many(self, new_events: Sequence[Event]) -> list[Event]:
        """Like :meth:`add_events`, in one ``executemany`` where the dialect allows."""
        if not new_events:
            return []
        ids = self._insert_returning_ids(events, [rows.event_row(e) for e in new_events])
        return [evolve(e, id=i) for e, i in zip(new_events, ids, strict=True)]

    def insert_events(self, new_events: Sequence[Event]) -> None:
        """Append events in order in one ``executemany``, without reading their ids back."""
        if new_events:
            self._conn.execute(insert(events), [rows.event_row(e) for e in new_events])

    def add_comments(self, new_comments: Sequence[Comment]) -> list[Comment]:
        """Like :meth:`add_comment` for each comment, in one ``executemany`` where possible."""
        if not new_comments:
            return []
        params = [rows.comment_row(c) for c in new_comments]
        ids = self._insert_returning_ids(comments, params)
        return [evolve(c, id=i) for c, i in zip(new_comments, ids, strict=True)]


class SQLStore(SQLAutomationReads, SQLKBReads):
    """Tickets in a SQL database through SQLAlchemy 2 Core.

    Build one with :meth:`from_url`, or hand it the :class:`~sqlalchemy.Engine`
    or :class:`~sqlalchemy.Connection` your application already has (the store
    then leaves it open on :meth:`close`). With an engine, each transaction runs
    on its own pooled connection. With a connection, the store works inside it:
    when the host has a transaction open, each store transaction is a savepoint
    in it and is kept only when the host commits.
    """

    def __init__(self, bind: Engine | Connection, *, owns_engine: bool = False) -> None:
        self.engine = bind if isinstance(bind, Engine) else bind.engine
        self._connection = bind if isinstance(bind, Connection) else None
        self._owns_engine = owns_engine
        self._where = self.engine.url.render_as_string(hide_password=True)
        # The hottest reads skip SQLAlchemy's execution layer on ticketkit's SQLite engines.
        self._driver = (
            DriverReads(self.engine, self._where)
            if self._connection is None and owns_transactions(self.engine)
            else None
        )
        # There, each thread also keeps the connection it writes on (see _writer).
        self._writers = threading.local()
        self._kept_writers: list[tuple[int, Connection]] = []
        self._writers_lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        durability: Durability = "full",
        busy_timeout: float = 30.0,
        **engine_options: Any,
    ) -> SQLStore:
        """Open the database at ``url`` (``sqlite:///tickets.db``, ``postgresql+psycopg://…``).

        On SQLite, ``durability="normal"`` trades the last transactions before a power
        loss for faster commits (``PRAGMA synchronous=NORMAL``); the default ``"full"``
        loses nothing that was committed.
        """
        engine = make_engine(
            url, durability=durability, busy_timeout=busy_timeout, **engine_options
        )
        return cls(engine, owns_engine=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[Connection]:
        """A connection inside a transaction (a savepoint in the host's, if it has one)."""
        with translate_errors(self._where):
            if self._connection is not None:
                conn = self._connection
                if conn.in_transaction():
                    if write:
                        begin_write(conn)
                    with conn.begin_nested():
                        yield conn
                else:
                    with conn.begin():
                        if write:
                            begin_write(conn)
                        yield conn
                return
            kept = self._writer() if write and self._driver is not None else None
            if kept is not None:
                with kept.begin():
                    begin_write(kept)
                    yield kept
                return
            with self.engine.connect() as conn, conn.begin():
                if write:
                    begin_write(conn)
                yield conn

    def _writer(self) -> Connection | None:
        """This thread's kept SQLite write connection; ``None`` while it is in a transaction.

        Checking a connection out of the pool and back in for each write cost
        more than its statements. The connection is detached from the pool (so
        threads never exhaust it), runs one transaction at a time and holds no
        lock between them; a forked child, or a thread whose connection was
        invalidated, takes a new one. :meth:`close` closes them all.
        """
        local = self._writers
        conn: Connection | None = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid() or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            conn.connection.detach()
            local.conn, local.pid = conn, os.getpid()
            with self._writers_lock:
                self._kept_writers.append((local.pid, conn))
        return None if conn.in_transaction() else conn

    @contextmanager
    def transaction(self) -> Iterator[SQLTransaction]:
        with self._connect(write=True) as conn:
            tx = SQLTransaction(conn, self._driver)
            yield tx
            tx._finish()

    def _read(self) -> AbstractContextManager[Connection]:
        return self._connect(write=False)

    def get_ticket(self, ref: int | str, *, tenant: str | None = None) -> Ticket | None:
        stmt = _ticket_statement(ref, tenant)
        if self._driver is not None:
            found = self._driver.all(stmt, (ref,) if tenant is None else (ref, tenant))
            return ticket_from_driver(found[0]) if found else None
        with self._read() as conn:
            row = conn.execute(stmt, _scope(ref, tenant)).first()
        return None if row is None else rows.ticket_from_tuple(row)

    def ticket_for_reference(self, reference: str, *, tenant: str | None = None) -> Ticket | None:
        with self._read() as conn:
            return _references.ticket_for_reference(conn, reference, tenant)

    def events(
        self, ticket_id: int, *, until: datetime | None = None, tenant: str | None = None
    ) -> list[Event]:
        if until is None and self._driver is not None:
            if tenant is None:
                found = self._driver.all(_EVENTS_BY_ID, (ticket_id,))
            else:
                found = self._driver.all(_EVENTS_BY_ID_IN, (ticket_id, tenant))
            return [event_from_driver(r) for r in found]
        params = _scope(ticket_id, tenant)
        if until is not None:
            params["b_until"] = until
            stmt = _EVENTS_UNTIL if tenant is None else _EVENTS_UNTIL_IN
        else:
            stmt = _EVENTS_BY_ID if tenant is None else _EVENTS_BY_ID_IN
        with self._read() as conn:
            rows_found = conn.execute(stmt, params).all()
        return [rows.event_from_tuple(r) for r in rows_found]

    def events_by_key(self, key: str, *, tenant: str | None = None) -> list[Event]:
        """The events of the ticket with this key, oldest first (none if there is none).

        Lets :meth:`Tracker.history` read a ticket's history by key in one
        statement instead of looking up its id first.
        """
        stmt = _EVENTS_BY_KEY if tenant is None else _EVENTS_BY_KEY_IN
        if self._driver is not None:
            found = self._driver.all(stmt, (key,) if tenant is None else (key, tenant))
            return [event_from_driver(r) for r in found]
        with self._read() as conn:
            rows_found = conn.execute(stmt, _scope(key, tenant)).all()
        return [rows.event_from_tuple(r) for r in rows_found]

    def events_for(
        self, ticket_ids: Sequence[int], *, tenant: str | None = None
    ) -> dict[int, list[Event]]:
        """Each ticket's events, oldest first, for many tickets in one statement.

        Tickets that do not exist (or are not in ``tenant``) are left out. Lets
        :func:`ticketkit.reports.build_report` read a batch of histories in one
        round trip instead of one per ticket.
        """
        ids = list(ticket_ids)
        found: dict[int, list[Event]] = {}
        if not ids:
            return found
        params: dict[str, Any] = {"b_ids": ids}
        if tenant is not None:
            params["b_tenant"] = tenant
        with self._read() as conn:
            stmt = _EVENTS_OF_MANY if tenant is None else _EVENTS_OF_MANY_IN
            for row in conn.execute(stmt, params):
                event = rows.event_from_tuple(row)
                found.setdefault(event.ticket_id, []).append(event)
        return found

    def events_by_actor(self, actor: str, *, tenant: str | None = None) -> list[Event]:
        stmt = _EVENTS_BY_ACTOR if tenant is None else _EVENTS_BY_ACTOR_IN
        with self._read() as conn:
            found = conn.execute(stmt, _scope(actor, tenant)).all()
        return [rows.event_from_tuple(r) for r in found]

    def _comments(self, stmt: Select[Any], ref: Any, tenant: str | None) -> list[Comment]:
        with self._read() as conn:
            found = conn.execute(stmt, _scope(ref, tenant)).mappings().all()
        return [rows.comment_from_row(r) for r in found]

    def comments(self, ticket_id: int, *, tenant: str | None = None) -> list[Comment]:
        stmt = _COMMENTS_BY_TICKET if tenant is None else _COMMENTS_BY_TICKET_IN
        return self._comments(stmt, ticket_id, tenant)

    def comments_by_author(self, author: str, *, tenant: str | None = None) -> list[Comment]:
        stmt = _COMMENTS_BY_AUTHOR if tenant is None else _COMMENTS_BY_AUTHOR_IN
        return self._comments(stmt, author, tenant)

    def attachments(self, ticket_id: int, *, tenant: str | None = None) -> list[Attachment]:
        stmt = _ATTACHMENTS_BY_TICKET if tenant is None else _ATTACHMENTS_BY_TICKET_IN
        with self._read() as conn:
            found = conn.execute(stmt, _scope(ticket_id, tenant)).mappings().all()
        return [rows.attachment_from_row(r) for r in found]

    def get_attachment(self, attachment_id: int, *, tenant: str | None = None) -> Attachment | None:
        stmt = _ATTACHMENT if tenant is None else _ATTACHMENT_IN
        with self._read() as conn:
            row = conn.execute(stmt, _scope(attachment_id, tenant)).mappings().first()
        return None if row is None else rows.attachment_from_row(row)

    def attachment_content(self, attachment_id: int, *, tenant: str | None = None) -> bytes | None:
        stmt = _CONTENT if tenant is None else _CONTENT_IN
        with self._read() as conn:
            content = conn.execute(stmt, _scope(attachment_id, tenant)).scalar()
        return None if content is None else bytes(content)

    def query(self, query: Query, *, tenant: str | None = None) -> Page:
        driver = self._driver is not None
        columns = _DRIVER_TICKET_COLUMNS if driver else _TICKET_COLUMNS
        stmt = compile_query(query, columns, tenant)
        found: Sequence[Sequence[Any]] | None = None
        if self._driver is not None:
            found = self._driver.select(stmt)
        if found is None:
            with self._read() as conn:
                found = conn.execute(stmt).all()
        decode = ticket_from_driver if driver else rows.ticket_from_tuple
        items = tuple(map(decode, found[: query.limit]))
        more = len(found) > query.limit
        return Page(items, encode_cursor(query, items[-1]) if more else None)

    def search(
        self, text: str, *, limit: int, tenant: str | None = None, where: Query | None = None
    ) -> list[tuple[Ticket, float]]:
        with self._read() as conn:
            return _search.search(conn, text, limit, tenant, where)

    def denials(self, *, tenant: str | None = None, limit: int = 100) -> list[Denial]:
        params: dict[str, Any] = {"b_limit": check_denials_limit(limit)}
        if tenant is not None:
            params["b_tenant"] = tenant
        with self._read() as conn:
            found = conn.execute(_DENIALS if tenant is None else _DENIALS_IN, params)
            return [rows.denial_from_row(r) for r in found.mappings()]

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
        with self._writers_lock:
            kept, self._kept_writers = self._kept_writers, []
        for pid, conn in kept:
            if pid == os.getpid():  # a forked child leaves its parent's connections alone
                conn.close()
        self._writers = threading.local()
        if self._owns_engine:
            self.engine.dispose()

    def __repr__(self) -> str:
        return f"<SQLStore {self._where}>"
