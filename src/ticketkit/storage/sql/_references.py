"""External references in SQL: one row per reference, whose primary key keeps it unique.

A reference is claimed with a plain ``INSERT``. When two transactions claim the
same reference at once, the database makes the second wait for the first (on
SQLite for its write lock, on the servers for the new row's lock) and, once the
first has committed, fails it with a unique violation, which becomes
:class:`~ticketkit.DuplicateReference`; the caller lets its whole transaction
roll back. That is the only safe reaction on PostgreSQL, where the violation
has already aborted the transaction, and it is what happens everywhere, so no
backend goes on inside a transaction that failed a statement.

No ``SELECT`` first (it would not see a concurrent, uncommitted claim) and no
``UPDATE``-then-``INSERT`` (on MariaDB its gap locks deadlock concurrent
claimers, as the key sequence's did; see ``_store._reserve_statement``). The
``INSERT`` takes the row lock at once, so claimers queue behind each other.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from ..._errors import DuplicateReference
from ..._model import Ticket
from . import _rows as rows
from ._schema import ticket_references, tickets

__all__ = ["add_reference", "ticket_for_reference"]

_INSERT = insert(ticket_references)
_TICKET_BY_REFERENCE = (
    select(*(tickets.c[name] for name in rows.TICKET_COLUMNS))
    .join_from(tickets, ticket_references, ticket_references.c.ticket_id == tickets.c.id)
    .where(ticket_references.c.reference == bindparam("b_reference"))
)
_TICKET_BY_REFERENCE_IN = _TICKET_BY_REFERENCE.where(tickets.c.tenant == bindparam("b_tenant"))

# SQLite's extended result codes for a violated primary key or unique constraint.
_SQLITE_DUPLICATE = (1555, 2067)  # SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
# MySQL/MariaDB's error numbers for a duplicate key.
_MYSQL_DUPLICATE = (1062, 1586)  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
_PG_UNIQUE_VIOLATION = "23505"


def is_duplicate_key(exc: IntegrityError) -> bool:
    """Whether the driver refused a row because its key is taken (not, say, a foreign key)."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code in _SQLITE_DUPLICATE
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL: (errno, message); its sqlstate is 23000
        return args[0] in _MYSQL_DUPLICATE
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)  # psycopg 3, 2
    if isinstance(sqlstate, str):
        return sqlstate == _PG_UNIQUE_VIOLATION
    text = str(orig).lower()
    return "unique" in text or "duplicate" in text


def add_reference(conn: Connection, ticket_id: int, reference: str) -> None:
    """Claim ``reference`` for the ticket; :class:`DuplicateReference` if it is taken.

    The error's ``key`` is ``None``: on PostgreSQL the transaction can no longer
    read, so the caller looks the holder up after rolling back.
    """
    try:
        conn.execute(_INSERT, {"reference": reference, "ticket_id": ticket_id})
    except IntegrityError as exc:
        if not is_duplicate_key(exc):
            raise
        raise DuplicateReference(
            f"reference {reference!r} already belongs to another ticket",
            reference=reference,
            key=None,
        ) from exc


def ticket_for_reference(
    conn: Connection, reference: str, tenant: str | None = None
) -> Ticket | None:
    """The ticket holding ``reference`` (of ``tenant`` only, when given), or ``None``."""
    if tenant is None:
        row = conn.execute(_TICKET_BY_REFERENCE, {"b_reference": reference}).first()
    else:
        row = conn.execute(
            _TICKET_BY_REFERENCE_IN, {"b_reference": reference, "b_tenant": tenant}
        ).first()
    return None if row is None else rows.ticket_from_tuple(row)
