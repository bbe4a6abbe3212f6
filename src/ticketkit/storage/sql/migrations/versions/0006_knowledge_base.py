"""The knowledge base: articles, their versions, their tags, their solutions, and search.

Adds ``tk_articles`` (indexed by ``(tenant, status, id)`` for listings),
``tk_article_tags`` (one row per tag, indexed by ``(tag, article_id)``),
``tk_article_revisions`` (every version, keyed by ``(article_id, version)``) and
``tk_solutions`` (which article solves which ticket, keyed by ``(ticket_id,
article_id)`` and indexed by ``article_id``), and each dialect's full-text
index over the articles' titles, bodies and tags, which the database keeps up
to date by itself (see ``ticketkit.storage.sql._kb_search``): an FTS5 table
with triggers on SQLite, a stored generated ``tsvector`` column with a GIN
index on PostgreSQL (12 or later), a stored generated text column with a
FULLTEXT index on MariaDB/MySQL.
Existing rows are untouched; the new tables start empty.

Each step is skipped when it is already done: DDL commits at once on
MariaDB/MySQL, so a run interrupted there is finished by the next one.

Frozen: this file reproduces the schema as it was when it was written and
never changes; later schema changes are new revisions.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ticketkit.storage.sql._types import Id, JSONText, LongText, Name, UTCDateTime

revision = "0006"
down_revision: str | None = "0005"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

_ARTICLES = "tk_articles"
_TAGS = "tk_article_tags"
_REVISIONS = "tk_article_revisions"
_SOLUTIONS = "tk_solutions"

_INDEXES = (
    (_ARTICLES, ("tenant", "status", "id")),
    (_TAGS, ("tag", "article_id")),
    (_SOLUTIONS, ("article_id",)),
)
_SEARCH_INDEX = "ix_tk_articles_search"


def _inspector() -> sa.Inspector:
    """A new inspector each time: one caches what it read, and each step changes the schema."""
    return sa.inspect(op.get_bind())


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def _create_tables() -> None:
    tables = set(_inspector().get_table_names())
    if _ARTICLES not in tables:
        op.create_table(
            _ARTICLES,
            sa.Column("id", Id, autoincrement=True, nullable=False),
            sa.Column("tenant", Name(), nullable=False),
            sa.Column("title", Name(255), nullable=False),
            sa.Column("body", LongText(), nullable=False),
            sa.Column("tags", JSONText, nullable=False),
            sa.Column("status", Name(16), nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("author", Name(), nullable=False),
            sa.Column("created", UTCDateTime, nullable=False),
            sa.Column("updated_by", Name(), nullable=False),
            sa.Column("updated", UTCDateTime, nullable=False),
            sa.Column("source_ticket", Name(32), nullable=True),
            sa.PrimaryKeyConstraint("id", name=f"pk_{_ARTICLES}"),
        )
    if _TAGS not in tables:
        op.create_table(
            _TAGS,
            sa.Column("article_id", Id, nullable=False),
            sa.Column("tag", Name(64), nullable=False),
            sa.PrimaryKeyConstraint("article_id", "tag", name=f"pk_{_TAGS}"),
            _fk(_TAGS, "article_id", _ARTICLES),
        )
    if _REVISIONS not in tables:
        op.create_table(
            _REVISIONS,
            sa.Column("article_id", Id, autoincrement=False, nullable=False),
            sa.Column("version", sa.Integer, autoincrement=False, nullable=False),
            sa.Column("title", Name(255), nullable=False),
            sa.Column("body", LongText(), nullable=False),
            sa.Column("tags", JSONText, nullable=False),
            sa.Column("status", Name(16), nullable=False),
            sa.Column("author", Name(), nullable=False),
            sa.Column("at", UTCDateTime, nullable=False),
            sa.Column("note", Name(255), nullable=True),
            sa.PrimaryKeyConstraint("article_id", "version", name=f"pk_{_REVISIONS}"),
            _fk(_REVISIONS, "article_id", _ARTICLES),
        )
    if _SOLUTIONS not in tables:
        op.create_table(
            _SOLUTIONS,
            sa.Column("ticket_id", Id, autoincrement=False, nullable=False),
            sa.Column("article_id", Id, autoincrement=False, nullable=False),
            sa.Column("tenant", Name(), nullable=False),
            sa.Column("linked_by", Name(), nullable=False),
            sa.Column("linked_at", UTCDateTime, nullable=False),
            sa.PrimaryKeyConstraint("ticket_id", "article_id", name=f"pk_{_SOLUTIONS}"),
            _fk(_SOLUTIONS, "ticket_id", "tk_tickets"),
            _fk(_SOLUTIONS, "article_id", _ARTICLES),
        )
    for table, columns in _INDEXES:
        name = f"ix_{table}_{'_'.join(columns)}"
        if name not in {i["name"] for i in _inspector().get_indexes(table)}:
            op.create_index(name, table, list(columns))


# -- SQLite ------------------------------------------------------------------------------

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE tk_article_search USING fts5("
    "title, body, tags, tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TRIGGER tk_article_search_insert AFTER INSERT ON tk_articles BEGIN "
    "INSERT INTO tk_article_search (rowid, title, body, tags) "
    "VALUES (new.id, new.title, new.body, new.tags); END",
    # Most article updates change the text; renames (erasure) change none of it.
    "CREATE TRIGGER tk_article_search_update AFTER UPDATE OF id, title, body, tags "
    "ON tk_articles WHEN old.id IS NOT new.id OR old.title IS NOT new.title "
    "OR old.body IS NOT new.body OR old.tags IS NOT new.tags BEGIN "
    "DELETE FROM tk_article_search WHERE rowid = old.id; "
    "INSERT INTO tk_article_search (rowid, title, body, tags) "
    "VALUES (new.id, new.title, new.body, new.tags); END",
    "CREATE TRIGGER tk_article_search_delete AFTER DELETE ON tk_articles BEGIN "
    "DELETE FROM tk_article_search WHERE rowid = old.id; END",
]
_SQLITE_TRIGGERS = (
    "tk_article_search_insert",
    "tk_article_search_update",
    "tk_article_search_delete",
)

# -- PostgreSQL --------------------------------------------------------------------------

# ASCII punctuation becomes spaces (so e-mail addresses, paths, hyphenated words and the
# tags' JSON split into words); only the first 100,000 characters count (a tsvector
# holds 1 MB). The same expression as the tickets' in 0002.
_PG_PUNCTUATION = "!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~"
_PG_SPACES = " " * 32


def _pg_vector(column: str, weight: str) -> str:
    cleaned = f"left(translate({column}, '{_PG_PUNCTUATION}', '{_PG_SPACES}'), 100000)"
    return f"setweight(to_tsvector('simple'::regconfig, {cleaned}), '{weight}')"


# A stored generated column rather than an index on the expression: ranking reads each
# match's vector, and recomputing it from the text cost 0.4 ms per matching article.
_PG_UP = (
    f"ALTER TABLE {_ARTICLES} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    + " || ".join([_pg_vector("title", "A"), _pg_vector("tags", "B"), _pg_vector("body", "C")])
    + ") STORED",
    f"CREATE INDEX {_SEARCH_INDEX} ON {_ARTICLES} USING gin (search_vector)",
)

# -- MariaDB/MySQL -----------------------------------------------------------------------


def _mysql_upgrade(bind: sa.Connection) -> None:
    collation = "utf8mb4_nopad_bin" if getattr(bind.dialect, "is_mariadb", False) else "utf8mb4_bin"
    if "search_text" not in {c["name"] for c in _inspector().get_columns(_ARTICLES)}:
        # The title three times and the tags twice: InnoDB's relevance counts
        # occurrences, so they weigh 3:2:1 against the body, as on SQLite. Lower-cased
        # because the text columns compare as binary strings (case-sensitive MATCH).
        op.execute(
            f"ALTER TABLE {_ARTICLES} ADD COLUMN search_text LONGTEXT "
            f"CHARACTER SET utf8mb4 COLLATE {collation} "
            "GENERATED ALWAYS AS (LOWER(CONCAT_WS(' ', title, title, title, tags, tags, body))) "
            "STORED"
        )
    if _SEARCH_INDEX not in {i["name"] for i in _inspector().get_indexes(_ARTICLES)}:
        op.execute(f"ALTER TABLE {_ARTICLES} ADD FULLTEXT INDEX {_SEARCH_INDEX} (search_text)")


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    _create_tables()
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
        op.execute("DROP TABLE IF EXISTS tk_article_search")
    # The generated columns and their indexes go with the table.
    op.drop_table(_SOLUTIONS)
    op.drop_table(_REVISIONS)
    op.drop_table(_TAGS)
    op.drop_table(_ARTICLES)
