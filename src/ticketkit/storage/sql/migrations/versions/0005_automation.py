"""Automation: scheduled work, the notification outbox and named counters.

Adds the tables ``tk_schedule`` (the next instant of scheduled work of each
ticket, indexed by ``(due_at, ticket_id)`` and ``(tenant, due_at)``),
``tk_outbox`` (messages to deliver, indexed for the lease query) and
``tk_counters`` (named counters such as round-robin turns), and replaces the
index on ``tk_tickets(assignee)`` by one on ``(assignee, status)``, which
serves the same reads and also counts an assignee's open tickets. Existing
rows are untouched.

Each step is skipped when it is already done: DDL commits at once on
MariaDB/MySQL, so a run interrupted there is finished by the next one.

Frozen: this file reproduces the schema as it was when it was written and
never changes; later schema changes are new revisions.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ticketkit.storage.sql._types import Id, JSONText, LongText, Name, UTCDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

_SCHEDULE = "tk_schedule"
_OUTBOX = "tk_outbox"
_COUNTERS = "tk_counters"

_INDEXES = (
    (_SCHEDULE, ("due_at", "ticket_id")),
    (_SCHEDULE, ("tenant", "due_at")),
    (_OUTBOX, ("sent_at", "gave_up", "next_attempt_at", "id")),
    (_OUTBOX, ("tenant", "id")),
    (_OUTBOX, ("ticket_id",)),
    ("tk_tickets", ("assignee", "status")),
)
_OLD_ASSIGNEE_INDEX = "ix_tk_tickets_assignee"


def _inspector() -> sa.Inspector:
    """A new inspector each time: one caches what it read, and each step changes the schema."""
    return sa.inspect(op.get_bind())


def _index_name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    tables = set(_inspector().get_table_names())
    if _SCHEDULE not in tables:
        op.create_table(
            _SCHEDULE,
            sa.Column("ticket_id", Id, autoincrement=False, nullable=False),
            sa.Column("tenant", Name(), nullable=False),
            sa.Column("due_at", UTCDateTime, nullable=False),
            sa.PrimaryKeyConstraint("ticket_id", name=f"pk_{_SCHEDULE}"),
            sa.ForeignKeyConstraint(
                ["ticket_id"],
                ["tk_tickets.id"],
                name=f"fk_{_SCHEDULE}_ticket_id_tk_tickets",
                ondelete="CASCADE",
            ),
        )
    if _OUTBOX not in tables:
        op.create_table(
            _OUTBOX,
            sa.Column("id", Id, autoincrement=True, nullable=False),
            sa.Column("ticket_id", Id, nullable=True),
            sa.Column("tenant", Name(), nullable=False),
            sa.Column("channel", Name(), nullable=False),
            sa.Column("payload", JSONText, nullable=False),
            sa.Column("created", UTCDateTime, nullable=False),
            sa.Column("next_attempt_at", UTCDateTime, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("lease_until", UTCDateTime, nullable=True),
            sa.Column("sent_at", UTCDateTime, nullable=True),
            sa.Column("last_error", LongText(), nullable=True),
            sa.Column("gave_up", sa.Boolean, nullable=False),
            sa.PrimaryKeyConstraint("id", name=f"pk_{_OUTBOX}"),
            sa.ForeignKeyConstraint(
                ["ticket_id"],
                ["tk_tickets.id"],
                name=f"fk_{_OUTBOX}_ticket_id_tk_tickets",
                ondelete="SET NULL",
            ),
        )
    if _COUNTERS not in tables:
        op.create_table(
            _COUNTERS,
            sa.Column("name", Name(200), nullable=False),
            sa.Column("value", Id, nullable=False),
            sa.PrimaryKeyConstraint("name", name=f"pk_{_COUNTERS}"),
        )
    for table, columns in _INDEXES:
        name = _index_name(table, columns)
        if name not in {i["name"] for i in _inspector().get_indexes(table)}:
            op.create_index(name, table, list(columns))
    # The new (assignee, status) index serves every read the old one did.
    if _OLD_ASSIGNEE_INDEX in {i["name"] for i in _inspector().get_indexes("tk_tickets")}:
        op.drop_index(_OLD_ASSIGNEE_INDEX, table_name="tk_tickets")


def downgrade() -> None:
    op.create_index(_OLD_ASSIGNEE_INDEX, "tk_tickets", ["assignee"])
    op.drop_index(_index_name("tk_tickets", ("assignee", "status")), table_name="tk_tickets")
    op.drop_table(_COUNTERS)
    op.drop_table(_OUTBOX)
    op.drop_table(_SCHEDULE)
