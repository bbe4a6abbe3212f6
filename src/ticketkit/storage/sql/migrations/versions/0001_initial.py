"""The first schema: tickets, their index tables, events, comments and attachments.

Frozen: this file reproduces the tables as they were when it was written and
never changes; later schema changes are new revisions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ticketkit.storage.sql._types import Blob, Id, JSONText, LongText, Name, Number, UTCDateTime

revision = "0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

_TABLES = (
    "tk_key_sequences",
    "tk_tickets",
    "tk_ticket_tags",
    "tk_ticket_watchers",
    "tk_links",
    "tk_field_values",
    "tk_events",
    "tk_comments",
    "tk_attachments",
    "tk_attachment_content",
)


def _ticket_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["ticket_id"],
        ["tk_tickets.id"],
        name=f"fk_{table}_ticket_id_tk_tickets",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "tk_key_sequences",
        sa.Column("prefix", Name(10), nullable=False),
        sa.Column("last_number", Id, nullable=False),
        sa.PrimaryKeyConstraint("prefix", name="pk_tk_key_sequences"),
    )

    op.create_table(
        "tk_tickets",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("key", Name(32), nullable=False),
        sa.Column("title", Name(255), nullable=False),
        sa.Column("description", LongText(), nullable=False),
        sa.Column("title_folded", LongText(), nullable=False),
        sa.Column("description_folded", LongText(), nullable=False),
        sa.Column("status", Name(63), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("reporter", Name(254), nullable=False),
        sa.Column("queue", Name(254), nullable=False),
        sa.Column("assignee", Name(254), nullable=True),
        sa.Column("impact", Name(8), nullable=True),
        sa.Column("urgency", Name(8), nullable=True),
        sa.Column("resolution", Name(254), nullable=True),
        sa.Column("merged_into", Name(32), nullable=True),
        sa.Column("tags", JSONText(), nullable=False),
        sa.Column("fields", JSONText(), nullable=False),
        sa.Column("watchers", JSONText(), nullable=False),
        sa.Column("links", JSONText(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("updated", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tk_tickets"),
        sa.UniqueConstraint("key", name="uq_tk_tickets_key"),
    )
    for column in ("status", "assignee", "priority", "queue", "updated", "created"):
        op.create_index(f"ix_tk_tickets_{column}", "tk_tickets", [column])

    op.create_table(
        "tk_ticket_tags",
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("tag", Name(64), nullable=False),
        _ticket_fk("tk_ticket_tags"),
        sa.PrimaryKeyConstraint("ticket_id", "tag", name="pk_tk_ticket_tags"),
    )
    op.create_index("ix_tk_ticket_tags_tag_ticket_id", "tk_ticket_tags", ["tag", "ticket_id"])

    op.create_table(
        "tk_ticket_watchers",
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("watcher", Name(254), nullable=False),
        _ticket_fk("tk_ticket_watchers"),
        sa.PrimaryKeyConstraint("ticket_id", "watcher", name="pk_tk_ticket_watchers"),
    )
    op.create_index(
        "ix_tk_ticket_watchers_watcher_ticket_id", "tk_ticket_watchers", ["watcher", "ticket_id"]
    )

    op.create_table(
        "tk_links",
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("kind", Name(16), nullable=False),
        sa.Column("target_key", Name(32), nullable=False),
        _ticket_fk("tk_links"),
        sa.PrimaryKeyConstraint("ticket_id", "kind", "target_key", name="pk_tk_links"),
    )
    op.create_index("ix_tk_links_target_key", "tk_links", ["target_key"])

    op.create_table(
        "tk_field_values",
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("name", Name(63), nullable=False),
        sa.Column("item", sa.SmallInteger(), nullable=False),
        sa.Column("v_str", Name(255), nullable=True),
        sa.Column("v_int", Id, nullable=True),
        sa.Column("v_num", Number(), nullable=True),
        sa.Column("v_date", sa.Date(), nullable=True),
        sa.Column("v_text", LongText(), nullable=True),
        sa.Column("v_fold", LongText(), nullable=True),
        _ticket_fk("tk_field_values"),
        sa.PrimaryKeyConstraint("ticket_id", "name", "item", name="pk_tk_field_values"),
    )
    for column in ("v_str", "v_int", "v_num", "v_date"):
        op.create_index(f"ix_tk_field_values_name_{column}", "tk_field_values", ["name", column])

    op.create_table(
        "tk_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("ticket_key", Name(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", Name(32), nullable=False),
        sa.Column("actor", Name(254), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("field", Name(80), nullable=True),
        sa.Column("old", JSONText(), nullable=True),
        sa.Column("new", JSONText(), nullable=True),
        sa.Column("data", JSONText(), nullable=False),
        _ticket_fk("tk_events"),
        sa.PrimaryKeyConstraint("id", name="pk_tk_events"),
    )
    op.create_index("ix_tk_events_ticket_id_id", "tk_events", ["ticket_id", "id"])
    op.create_index("ix_tk_events_at", "tk_events", ["at"])

    op.create_table(
        "tk_comments",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("ticket_key", Name(32), nullable=False),
        sa.Column("author", Name(254), nullable=False),
        sa.Column("body", LongText(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        _ticket_fk("tk_comments"),
        sa.PrimaryKeyConstraint("id", name="pk_tk_comments"),
    )
    op.create_index("ix_tk_comments_ticket_id_id", "tk_comments", ["ticket_id", "id"])

    op.create_table(
        "tk_attachments",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("ticket_id", Id, nullable=False),
        sa.Column("ticket_key", Name(32), nullable=False),
        sa.Column("filename", Name(255), nullable=False),
        sa.Column("media_type", Name(255), nullable=False),
        sa.Column("size", Id, nullable=False),
        sa.Column("sha256", Name(64), nullable=False),
        sa.Column("uploaded_by", Name(254), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        _ticket_fk("tk_attachments"),
        sa.PrimaryKeyConstraint("id", name="pk_tk_attachments"),
    )
    op.create_index("ix_tk_attachments_ticket_id_id", "tk_attachments", ["ticket_id", "id"])

    op.create_table(
        "tk_attachment_content",
        sa.Column("attachment_id", Id, nullable=False),
        sa.Column("content", Blob, nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["tk_attachments.id"],
            name="fk_tk_attachment_content_attachment_id_tk_attachments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attachment_id", name="pk_tk_attachment_content"),
    )


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
