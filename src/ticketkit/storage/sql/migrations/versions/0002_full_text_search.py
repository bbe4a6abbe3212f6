"""Full-text search: FTS5 on SQLite, GIN on PostgreSQL, FULLTEXT on MariaDB/MySQL.

Builds each dialect's search index and fills it from the tickets and comments
already there; from then on the database keeps it up to date by itself (see
``ticketkit.storage.sql._search``, whose queries repeat the PostgreSQL index
expressions below verbatim).

Frozen: this file reproduces the structures as they were when it was written
and never changes; later schema changes are new revisions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

# -- SQLite ------------------------------------------------------------------------------

# All of a ticket's comment bodies, one per line, oldest first ('' without comments).
_SQLITE_COMMENTS = (
    "coalesce((SELECT group_concat(body, char(10)) FROM "
    "(SELECT body FROM tk_comments WHERE ticket_id = {ticket} ORDER BY id)), '')"
)

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE tk_search USING fts5("
    "title, description, comments, tokenize = 'unicode61 remove_diacritics 0')",
    "INSERT INTO tk_search (rowid, title, description, comments) "
    "SELECT t.id, t.title, t.description, "
    + _SQLITE_COMMENTS.format(ticket="t.id")
    + " FROM tk_tickets AS t",
    "CREATE TRIGGER tk_search_ticket_insert AFTER INSERT ON tk_tickets BEGIN "
    "INSERT INTO tk_search (rowid, title, description, comments) "
    "VALUES (new.id, new.title, new.description, ''); END",
    # Most ticket updates change neither text: leave the index alone then.
    "CREATE TRIGGER tk_search_ticket_update AFTER UPDATE OF title, description ON tk_tickets "
    "WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN "
    "UPDATE tk_search SET title = new.title, description = new.description "
    "WHERE rowid = new.id; END",
    "CREATE TRIGGER tk_search_ticket_delete AFTER DELETE ON tk_tickets BEGIN "
    "DELETE FROM tk_search WHERE rowid = old.id; END",
    "CREATE TRIGGER tk_search_comment_insert AFTER INSERT ON tk_comments BEGIN "
    "UPDATE tk_search SET comments = CASE WHEN comments = '' THEN new.body "
    "ELSE comments || char(10) || new.body END WHERE rowid = new.ticket_id; END",
    # ticketkit never edits or deletes comments; a host (or a later version) might.
    "CREATE TRIGGER tk_search_comment_update AFTER UPDATE OF ticket_id, body ON tk_comments "
    "BEGIN "
    "UPDATE tk_search SET comments = "
    + _SQLITE_COMMENTS.format(ticket="old.ticket_id")
    + " WHERE rowid = old.ticket_id; "
    "UPDATE tk_search SET comments = "
    + _SQLITE_COMMENTS.format(ticket="new.ticket_id")
    + " WHERE rowid = new.ticket_id; END",
    "CREATE TRIGGER tk_search_comment_delete AFTER DELETE ON tk_comments BEGIN "
    "UPDATE tk_search SET comments = "
    + _SQLITE_COMMENTS.format(ticket="old.ticket_id")
    + " WHERE rowid = old.ticket_id; END",
]
_SQLITE_TRIGGERS = (
    "tk_search_ticket_insert",
    "tk_search_ticket_update",
    "tk_search_ticket_delete",
    "tk_search_comment_insert",
    "tk_search_comment_update",
    "tk_search_comment_delete",
)

# -- PostgreSQL --------------------------------------------------------------------------

# ASCII punctuation becomes spaces (so e-mail addresses, paths and hyphenated words
# split into words); only the first 100,000 characters count (a tsvector holds 1 MB).
_PG_PUNCTUATION = "!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~"
_PG_SPACES = " " * 32


def _pg_vector(column: str, weight: str | None = None) -> str:
    cleaned = f"left(translate({column}, '{_PG_PUNCTUATION}', '{_PG_SPACES}'), 100000)"
    vector = f"to_tsvector('simple'::regconfig, {cleaned})"
    return vector if weight is None else f"setweight({vector}, '{weight}')"


_PG_UP = [
    "CREATE INDEX ix_tk_tickets_search ON tk_tickets USING gin (("
    + _pg_vector("title", "A")
    + " || "
    + _pg_vector("description", "B")
    + "))",
    "CREATE INDEX ix_tk_comments_search ON tk_comments USING gin ((" + _pg_vector("body") + "))",
]

# -- MariaDB/MySQL -----------------------------------------------------------------------


def _mysql_upgrade(bind: sa.Connection) -> None:
    # DDL commits at once on MySQL, so each step checks whether an interrupted run
    # already made it.
    collation = "utf8mb4_nopad_bin" if getattr(bind.dialect, "is_mariadb", False) else "utf8mb4_bin"

    def indexes(table: str) -> set[str]:
        return {i["name"] or "" for i in sa.inspect(bind).get_indexes(table)}

    if "ix_tk_tickets_search" not in indexes("tk_tickets"):
        op.execute(
            "ALTER TABLE tk_tickets ADD FULLTEXT INDEX ix_tk_tickets_search "
            "(title_folded, description_folded)"
        )
    columns = {c["name"] for c in sa.inspect(bind).get_columns("tk_comments")}
    if "search_body" not in columns:
        # The body compares as a binary string, which makes MATCH case-sensitive;
        # search a lower-cased copy the server keeps.
        op.execute(
            "ALTER TABLE tk_comments ADD COLUMN search_body LONGTEXT "
            f"CHARACTER SET utf8mb4 COLLATE {collation} "
            "GENERATED ALWAYS AS (LOWER(body)) STORED"
        )
    if "ix_tk_comments_search" not in indexes("tk_comments"):
        op.execute("ALTER TABLE tk_comments ADD FULLTEXT INDEX ix_tk_comments_search (search_body)")


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in _PG_UP:
            op.execute(statement)
    elif dialect in ("mysql", "mariadb"):
        _mysql_upgrade(bind)
    else:  # pragma: no cover - ticketkit supports only these
        raise NotImplementedError(f"no full-text search for the {dialect} dialect")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS tk_search")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tk_comments_search")
        op.execute("DROP INDEX IF EXISTS ix_tk_tickets_search")
    elif dialect in ("mysql", "mariadb"):
        op.execute("ALTER TABLE tk_comments DROP INDEX ix_tk_comments_search")
        op.execute("ALTER TABLE tk_comments DROP COLUMN search_body")
        op.execute("ALTER TABLE tk_tickets DROP INDEX ix_tk_tickets_search")
