"""Tenants, redaction and the access log.

Adds ``tk_tickets.tenant`` (every existing ticket belongs to tenant
``'default'``, the server default that fills the column) and
``tk_tickets.organisation``, with indexes on ``(tenant, id)`` and
``(tenant, status)`` for scoped reads; ``tk_comments.redacted_at`` and
``redacted_by``; indexes on ``tk_events(actor, id)`` and
``tk_comments(author, id)`` to find one person's data; and the table
``tk_access_denials``. Existing rows keep every value.

Each step is skipped when it is already done: DDL commits at once on
MariaDB/MySQL, so a run interrupted there is finished by the next one.

Frozen: this file reproduces the schema as it was when it was written and
never changes; later schema changes are new revisions.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from ticketkit.storage.sql._types import Id, LongText, Name, UTCDateTime

revision = "0004"
down_revision: str | None = "0003"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

_DENIALS = "tk_access_denials"


def _columns() -> list[tuple[str, sa.Column[Any]]]:
    """The new columns, made afresh for each use (a column belongs to one table)."""
    return [
        ("tk_tickets", sa.Column("tenant", Name(), nullable=False, server_default="default")),
        ("tk_tickets", sa.Column("organisation", Name(), nullable=True)),
        ("tk_comments", sa.Column("redacted_at", UTCDateTime, nullable=True)),
        ("tk_comments", sa.Column("redacted_by", Name(), nullable=True)),
    ]


_INDEXES = (
    ("tk_tickets", ("tenant", "id")),
    ("tk_tickets", ("tenant", "status")),
    ("tk_events", ("actor", "id")),
    ("tk_comments", ("author", "id")),
    (_DENIALS, ("tenant", "id")),
)


def _inspector() -> sa.Inspector:
    """A new inspector each time: one caches what it read, and each step changes the schema."""
    return sa.inspect(op.get_bind())


def upgrade() -> None:
    inspector = _inspector
    for table, column in _columns():
        if column.name not in {c["name"] for c in inspector().get_columns(table)}:
            op.add_column(table, column)
    if _DENIALS not in inspector().get_table_names():
        op.create_table(
            _DENIALS,
            sa.Column("id", Id, autoincrement=True, nullable=False),
            sa.Column("at", UTCDateTime, nullable=False),
            sa.Column("principal", Name(), nullable=False),
            sa.Column("role", Name(), nullable=False),
            sa.Column("tenant", Name(), nullable=False),
            sa.Column("permission", Name(), nullable=False),
            sa.Column("target", Name(), nullable=True),
            sa.Column("reason", LongText(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{_DENIALS}"),
        )
    for table, columns in _INDEXES:
        name = f"ix_{table}_{'_'.join(columns)}"
        if name not in {i["name"] for i in inspector().get_indexes(table)}:
            op.create_index(name, table, list(columns))


def downgrade() -> None:
    op.drop_table(_DENIALS)
    for table, columns in _INDEXES:
        if table != _DENIALS:
            op.drop_index(f"ix_{table}_{'_'.join(columns)}", table_name=table)
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of tk_tickets
    # would drop SQLite's search triggers with the old table.
    for table, column in reversed(_columns()):
        op.drop_column(table, column.name)
