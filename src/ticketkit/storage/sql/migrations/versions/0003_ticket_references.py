"""External references: each belongs to at most one ticket.

Adds ``tk_ticket_references(reference, ticket_id)``; the primary key on
``reference`` is what makes concurrent ``Tracker.open(reference=...)`` calls
with the same reference end with one ticket. Existing tickets have no
references, so there is nothing to fill in.

Frozen: this file reproduces the table as it was when it was written and
never changes; later schema changes are new revisions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ticketkit.storage.sql._types import Id, Name

revision = "0003"
down_revision: str | None = "0002"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

_TABLE = "tk_ticket_references"


def upgrade() -> None:
    bind = op.get_bind()
    # DDL commits at once on MariaDB/MySQL, so a run interrupted there may have
    # made the table already; the other databases undo it with the transaction.
    if _TABLE not in sa.inspect(bind).get_table_names():
        op.create_table(
            _TABLE,
            sa.Column("reference", Name(200), nullable=False),
            sa.Column("ticket_id", Id, nullable=False),
            sa.ForeignKeyConstraint(
                ["ticket_id"],
                ["tk_tickets.id"],
                name=f"fk_{_TABLE}_ticket_id_tk_tickets",
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("reference", name=f"pk_{_TABLE}"),
        )
    indexes = {i["name"] for i in sa.inspect(bind).get_indexes(_TABLE)}
    if f"ix_{_TABLE}_ticket_id" not in indexes:
        op.create_index(f"ix_{_TABLE}_ticket_id", _TABLE, ["ticket_id"])


def downgrade() -> None:
    op.drop_table(_TABLE)
