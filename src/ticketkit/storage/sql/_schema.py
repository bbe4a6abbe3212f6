"""The tables of the SQL store. Alembic migrations in ``migrations/`` build them."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    text,
)

from ._types import Blob, Id, JSONText, LongText, Name, Number, UTCDateTime

__all__ = [
    "access_denials",
    "article_revisions",
    "article_tags",
    "articles",
    "attachment_content",
    "attachments",
    "comments",
    "counters",
    "events",
    "field_values",
    "key_sequences",
    "links",
    "metadata",
    "outbox",
    "schedule",
    "solutions",
    "ticket_references",
    "ticket_tags",
    "ticket_watchers",
    "tickets",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

key_sequences = Table(
    "tk_key_sequences",
    metadata,
    Column("prefix", Name(10), primary_key=True),
    Column("last_number", Id, nullable=False),
)

# The search structures of each dialect (FTS5 tables and triggers, GIN and FULLTEXT
# indexes, and the generated columns the server computes: search_vector on tk_tickets,
# tk_comments and tk_articles on PostgreSQL, search_body and search_text on
# MariaDB/MySQL) are made by the migrations, not here, so the store never reads or
# writes them; see _search.SEARCH_COLUMNS_BY_DIALECT.
tickets = Table(
    "tk_tickets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", Name(32), nullable=False, unique=True),
    Column("title", Name(255), nullable=False),
    Column("description", LongText(), nullable=False),
    # Case-folded copies of title and description for case-insensitive search.
    Column("title_folded", LongText(), nullable=False),
    Column("description_folded", LongText(), nullable=False),
    Column("status", Name(63), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("reporter", Name(), nullable=False),
    Column("queue", Name(), nullable=False),
    Column("assignee", Name(), nullable=True),
    Column("impact", Name(8), nullable=True),
    Column("urgency", Name(8), nullable=True),
    Column("resolution", Name(), nullable=True),
    Column("merged_into", Name(32), nullable=True),
    Column("tags", JSONText, nullable=False),
    Column("fields", JSONText, nullable=False),
    Column("watchers", JSONText, nullable=False),
    Column("links", JSONText, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    # The tenant a ticket belongs to; every scoped read filters on it.
    Column("tenant", Name(), nullable=False, server_default=text("'default'")),
    Column("organisation", Name(), nullable=True),
    Index(None, "status"),
    # Open tickets per assignee (routing's fewest-open count) read this index alone.
    Index(None, "assignee", "status"),
    Index(None, "priority"),
    Index(None, "queue"),
    Index(None, "updated"),
    Index(None, "created"),
    Index(None, "tenant", "id"),
    Index(None, "tenant", "status"),
)


def _ticket_fk() -> ForeignKey:
    return ForeignKey("tk_tickets.id", ondelete="CASCADE")


ticket_tags = Table(
    "tk_ticket_tags",
    metadata,
    Column("ticket_id", Id, _ticket_fk(), primary_key=True),
    Column("tag", Name(64), primary_key=True),
    Index(None, "tag", "ticket_id"),
)

ticket_watchers = Table(
    "tk_ticket_watchers",
    metadata,
    Column("ticket_id", Id, _ticket_fk(), primary_key=True),
    Column("watcher", Name(), primary_key=True),
    Index(None, "watcher", "ticket_id"),
)

links = Table(
    "tk_links",
    metadata,
    Column("ticket_id", Id, _ticket_fk(), primary_key=True),
    Column("kind", Name(16), primary_key=True),
    Column("target_key", Name(32), primary_key=True),
    Index(None, "target_key"),
)

# External references (a crash fingerprint, a Message-ID, an id in another system):
# the primary key makes each one belong to one ticket. Name compares by code point
# on every backend, so references match exactly, case and trailing spaces included.
ticket_references = Table(
    "tk_ticket_references",
    metadata,
    Column("reference", Name(200), primary_key=True),
    Column("ticket_id", Id, _ticket_fk(), nullable=False),
    Index(None, "ticket_id"),
)

# One row per custom-field value (a multi-choice field has one row per choice),
# with the value in the column of its type so that filters use an index.
field_values = Table(
    "tk_field_values",
    metadata,
    Column("ticket_id", Id, _ticket_fk(), primary_key=True),
    Column("name", Name(63), primary_key=True),
    Column("item", SmallInteger, primary_key=True),
    Column("v_str", Name(255), nullable=True),
    Column("v_int", Id, nullable=True),
    Column("v_num", Number, nullable=True),
    Column("v_date", Date, nullable=True),
    Column("v_text", LongText(), nullable=True),
    Column("v_fold", LongText(), nullable=True),
    Index(None, "name", "v_str"),
    Index(None, "name", "v_int"),
    Index(None, "name", "v_num"),
    Index(None, "name", "v_date"),
)

events = Table(
    "tk_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", Id, _ticket_fk(), nullable=False),
    Column("ticket_key", Name(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", Name(32), nullable=False),
    Column("actor", Name(), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("field", Name(80), nullable=True),
    Column("old", JSONText, nullable=True),
    Column("new", JSONText, nullable=True),
    Column("data", JSONText, nullable=False),
    Index(None, "ticket_id", "id"),
    Index(None, "at"),
    Index(None, "actor", "id"),  # a person's events, for erasure and export
)

comments = Table(
    "tk_comments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", Id, _ticket_fk(), nullable=False),
    Column("ticket_key", Name(32), nullable=False),
    Column("author", Name(), nullable=False),
    Column("body", LongText(), nullable=False),
    Column("internal", Boolean, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("redacted_at", UTCDateTime, nullable=True),
    Column("redacted_by", Name(), nullable=True),
    Index(None, "ticket_id", "id"),
    Index(None, "author", "id"),  # a person's comments, for erasure and export
)

attachments = Table(
    "tk_attachments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", Id, _ticket_fk(), nullable=False),
    Column("ticket_key", Name(32), nullable=False),
    Column("filename", Name(255), nullable=False),
    Column("media_type", Name(255), nullable=False),
    Column("size", Id, nullable=False),
    Column("sha256", Name(64), nullable=False),
    Column("uploaded_by", Name(), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Index(None, "ticket_id", "id"),
)

attachment_content = Table(
    "tk_attachment_content",
    metadata,
    Column(
        "attachment_id",
        Id,
        ForeignKey("tk_attachments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("content", Blob, nullable=False),
)

# Denied attempts (ticketkit._access_log.Denial), newest first per tenant.
access_denials = Table(
    "tk_access_denials",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("principal", Name(), nullable=False),
    Column("role", Name(), nullable=False),
    Column("tenant", Name(), nullable=False),
    Column("permission", Name(), nullable=False),
    Column("target", Name(), nullable=True),
    Column("reason", LongText(), nullable=False),
    Index(None, "tenant", "id"),
)

# The next instant of scheduled work (SLA warnings, timed rules) of each ticket; at most
# one row per ticket. Claimers take due rows in (due_at, ticket_id) order through the
# index, with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL and MariaDB.
schedule = Table(
    "tk_schedule",
    metadata,
    Column("ticket_id", Id, _ticket_fk(), primary_key=True, autoincrement=False),
    Column("tenant", Name(), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Index(None, "due_at", "ticket_id"),
    Index(None, "tenant", "due_at"),
)

# Messages to deliver (ticketkit._automation_records.OutboxItem). The lease query reads
# pending rows (sent_at NULL, gave_up false) in next_attempt_at order through the index.
outbox = Table(
    "tk_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", Id, ForeignKey("tk_tickets.id", ondelete="SET NULL"), nullable=True),
    Column("tenant", Name(), nullable=False),
    Column("channel", Name(), nullable=False),
    Column("payload", JSONText, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", LongText(), nullable=True),
    Column("gave_up", Boolean, nullable=False),
    Index(None, "sent_at", "gave_up", "next_attempt_at", "id"),
    Index(None, "tenant", "id"),
    Index(None, "ticket_id"),
)

# Named counters (round-robin turns), bumped with one upsert like the key sequences.
counters = Table(
    "tk_counters",
    metadata,
    Column("name", Name(200), primary_key=True),
    Column("value", Id, nullable=False),
)

# -- the knowledge base (ticketkit.kb) ------------------------------------------------------

# Articles as they are now; every version is also kept in tk_article_revisions. Listings
# read (tenant, status, id) in id order; the search index of each dialect is made by
# migration 0006 (see _kb_search), not here.
articles = Table(
    "tk_articles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant", Name(), nullable=False),
    Column("title", Name(255), nullable=False),
    Column("body", LongText(), nullable=False),
    Column("tags", JSONText, nullable=False),
    Column("status", Name(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("author", Name(), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("updated_by", Name(), nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("source_ticket", Name(32), nullable=True),
    Index(None, "tenant", "status", "id"),
)


def _article_fk() -> ForeignKey:
    return ForeignKey("tk_articles.id", ondelete="CASCADE")


# One row per tag of an article, like tk_ticket_tags: the tag filter reads (tag, article_id).
article_tags = Table(
    "tk_article_tags",
    metadata,
    Column("article_id", Id, _article_fk(), primary_key=True),
    Column("tag", Name(64), primary_key=True),
    Index(None, "tag", "article_id"),
)

# Every version of every article, written in the transaction that makes the version.
article_revisions = Table(
    "tk_article_revisions",
    metadata,
    Column("article_id", Id, _article_fk(), primary_key=True, autoincrement=False),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("title", Name(255), nullable=False),
    Column("body", LongText(), nullable=False),
    Column("tags", JSONText, nullable=False),
    Column("status", Name(16), nullable=False),
    Column("author", Name(), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("note", Name(255), nullable=True),
)

# Article article_id solves ticket ticket_id. The primary key serves a batch of tickets
# (suggestions ask for up to 10 at once); the index, the tickets an article solved.
solutions = Table(
    "tk_solutions",
    metadata,
    Column("ticket_id", Id, _ticket_fk(), primary_key=True, autoincrement=False),
    Column("article_id", Id, _article_fk(), primary_key=True, autoincrement=False),
    Column("tenant", Name(), nullable=False),
    Column("linked_by", Name(), nullable=False),
    Column("linked_at", UTCDateTime, nullable=False),
    Index(None, "article_id"),
)
