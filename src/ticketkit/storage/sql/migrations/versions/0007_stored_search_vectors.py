"""Ticket and comment search on PostgreSQL reads stored vectors instead of recomputing them.

PostgreSQL only; on SQLite and MariaDB/MySQL this revision changes nothing.
0002 indexed expressions of the text columns: the GIN index found the
matching rows, but ``ts_rank`` then recomputed each match's ``tsvector``
from its text (0.1 to 0.4 ms a row), so a search whose words match most
tickets, as a suggestion's do, cost time in proportion to the table. As 0006
did for articles, this revision adds stored generated ``tsvector`` columns
``tk_tickets.search_vector`` (the title, weight A, and the description,
weight B) and ``tk_comments.search_vector`` (the body), holding exactly
0002's expressions (``'simple'`` configuration, ASCII punctuation turned
into spaces, the first 100,000 characters of each text), and replaces the
expression indexes by GIN indexes on the columns, under the same names
``ix_tk_tickets_search`` and ``ix_tk_comments_search``
(see ``ticketkit.storage.sql._search``).

Adding a stored generated column rewrites the whole table, computing the
vector of every existing row, under an ``ACCESS EXCLUSIVE`` lock: while the
upgrade runs, nothing can read or write ``tk_tickets`` or ``tk_comments``, and
on a large database that takes a while (plan a maintenance window). The
upgrade is one transaction: interrupted, it leaves 0006's structures.

Downgrading drops the columns and restores 0002's expression indexes.

Frozen: this file reproduces the schema as it was when it was written and
never changes; later schema changes are new revisions.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

# ASCII punctuation becomes spaces (so e-mail addresses, paths and hyphenated words
# split into words); only the first 100,000 characters count (a tsvector holds 1 MB).
# The same expressions as 0002's indexes, copied so that this file stays frozen.
_PG_PUNCTUATION = "!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~"
_PG_SPACES = " " * 32


def _pg_vector(column: str, weight: str | None = None) -> str:
    cleaned = f"left(translate({column}, '{_PG_PUNCTUATION}', '{_PG_SPACES}'), 100000)"
    vector = f"to_tsvector('simple'::regconfig, {cleaned})"
    return vector if weight is None else f"setweight({vector}, '{weight}')"


# (table, index, the vector of a row)
_SEARCHED = (
    (
        "tk_tickets",
        "ix_tk_tickets_search",
        f"{_pg_vector('title', 'A')} || {_pg_vector('description', 'B')}",
    ),
    ("tk_comments", "ix_tk_comments_search", _pg_vector("body")),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, index, vector in _SEARCHED:
        # Dropped first: the rewrite would otherwise rebuild it, recomputing every vector.
        op.execute(f"DROP INDEX {index}")
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({vector}) STORED"
        )
        op.execute(f"CREATE INDEX {index} ON {table} USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, index, vector in _SEARCHED:
        op.execute(f"DROP INDEX {index}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")
        op.execute(f"CREATE INDEX {index} ON {table} USING gin (({vector}))")
