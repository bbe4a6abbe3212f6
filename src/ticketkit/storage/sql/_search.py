"""Ranked full-text search in the SQL store, one index per dialect.

The database keeps every index up to date by itself, inside the transaction
that writes the tickets and comments, whichever code writes them (the
store's single and bulk methods, the importer, or a host's own SQL):

SQLite
    An FTS5 table ``tk_search(title, description, comments)`` whose rowid is
    the ticket id, filled by triggers on ``tk_tickets`` and ``tk_comments``
    (``comments`` holds all of a ticket's comment bodies). Tokenizer
    ``unicode61 remove_diacritics 0``: words are runs of letters and digits,
    case-folded, accents kept; no prefix index, so only whole words match.
    Ranked by ``bm25(tk_search, 3.0, 2.0, 1.0)`` (title, description,
    comments), the formula the memory store copies.
PostgreSQL
    GIN indexes on ``search_vector``, a stored generated ``tsvector`` column of
    ``tk_tickets`` (:data:`PG_TICKET_VECTOR`: the title, weight A, and the
    description, weight B) and of ``tk_comments`` (:data:`PG_COMMENT_VECTOR`:
    the body, weight D), all ``to_tsvector`` with the ``'simple'``
    configuration (lower-casing, no stemming and no stop words, so results do
    not depend on a language). ASCII punctuation is turned into spaces first,
    so ``bob@example.com`` or ``wi-fi`` are words as they are on the other
    stores, and only the first 100,000 characters of each text are indexed (a
    tsvector holds at most 1 MB). Ranked by the sum of ``ts_rank`` over the
    ticket and its comments (weights 1.0, 0.4 and 0.1). The server computes
    the columns on every insert and update; the store never writes them, and
    they are not in ``_schema.metadata``. (Until migration 0007 the indexes
    were on the expressions themselves: the index found the matches, but
    ``ts_rank`` recomputed each match's vector from its text, 0.1 to 0.4 ms a
    row. A suggestion, whose words match most tickets, took 2.6 s at 20,000
    tickets; 0.1 s with the stored vectors.)
MariaDB/MySQL
    InnoDB ``FULLTEXT`` indexes on ``tk_tickets(title_folded,
    description_folded)`` and on ``tk_comments.search_body``, a stored
    generated column ``LOWER(body)``: the text columns compare as binary
    strings, which would make full-text matching case-sensitive. Natural
    language mode; ranked by the ticket's relevance plus a quarter of its
    comments', plus :data:`MYSQL_MATCH_FLOOR` (a word in every row has no weight
    in InnoDB). InnoDB skips words shorter than 3 characters and its stop words
    (``innodb_ft_min_token_size``, ``innodb_ft_enable_stopword``), and applies
    full-text index changes at commit.

User text never reaches a query as syntax: :func:`ticketkit._search.words`
keeps only runs of letters and digits, and each word is a bound parameter,
quoted as an FTS5 string, passed to ``plainto_tsquery``, or sent to
``MATCH … AGAINST`` in natural language mode (which has no operators other
than double quotes, which words never hold).

Each statement was checked to use its index with ``EXPLAIN`` (see
``tests/storage/test_search.py``, which keeps checking it): SQLite reports
``VIRTUAL TABLE INDEX`` for ``tk_search``; PostgreSQL, with sequential scans
disabled to make the plan independent of table size, reports bitmap index
scans on both GIN indexes, and no ``to_tsvector`` anywhere in the plan (the
vectors are read, never recomputed); MariaDB reports access type ``fulltext``
on both tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Float, Integer, Select, TextClause, select, text
from sqlalchemy.sql.selectable import TextualSelect

from ..._model import Ticket
from ..._query import Query
from ..._search import words
from . import _rows as rows
from ._compile import filter_of
from ._schema import tickets

__all__ = [
    "MYSQL_COMMENT_WEIGHT",
    "MYSQL_MATCH_FLOOR",
    "PG_COMMENT_VECTOR",
    "PG_TICKET_VECTOR",
    "SEARCH_COLUMNS",
    "SEARCH_COLUMNS_BY_DIALECT",
    "SEARCH_INDEXES",
    "SEARCH_TABLES",
    "SQLITE_RANK",
    "TICKET_SEARCH_INDEXES",
    "forget_removed_text",
    "include_name",
    "pg_vector",
    "ranked",
    "search",
    "search_statement",
]

#: The tables, indexes and columns that exist only for search, per dialect. They are
#: made by migrations 0002 and 0007 (tickets) and 0006 (articles, see ``_kb_search``),
#: not by ``_schema.metadata``; :func:`include_name` leaves them out when Alembic
#: compares a database with the metadata. SQLite has the tables (and FTS5's shadow
#: tables ``<table>_*``); PostgreSQL and MariaDB/MySQL the indexes (the same names on
#: both) and the columns of :data:`SEARCH_COLUMNS_BY_DIALECT`.
SEARCH_TABLES = ("tk_search", "tk_article_search")
#: The indexes of ticket and comment search on PostgreSQL and MariaDB/MySQL.
TICKET_SEARCH_INDEXES = ("ix_tk_tickets_search", "ix_tk_comments_search")
SEARCH_INDEXES = (*TICKET_SEARCH_INDEXES, "ix_tk_articles_search")
_MYSQL_COLUMNS = (("tk_comments", "search_body"), ("tk_articles", "search_text"))
#: The generated columns each dialect has for search, as ``(table, column)``.
SEARCH_COLUMNS_BY_DIALECT: dict[str, tuple[tuple[str, str], ...]] = {
    "sqlite": (),
    "postgresql": (
        ("tk_tickets", "search_vector"),
        ("tk_comments", "search_vector"),
        ("tk_articles", "search_vector"),
    ),
    "mysql": _MYSQL_COLUMNS,
    "mariadb": _MYSQL_COLUMNS,
}
#: Every dialect's search columns.
SEARCH_COLUMNS = tuple(dict.fromkeys(c for cs in SEARCH_COLUMNS_BY_DIALECT.values() for c in cs))

_OPTIMIZE_SQLITE = text("INSERT INTO tk_search (tk_search) VALUES ('optimize')")


def forget_removed_text(conn: Connection) -> None:
    """Make the search index drop every trace of text that was replaced or deleted.

    Called in the transaction of a redaction or an erasure, never for normal
    writes. SQLite's FTS5 keeps a replaced word in its old ``tk_search_data``
    segments (marked deleted) until they are merged; ``optimize`` merges them
    all into one, which leaves the deleted entries out. It costs a rewrite of
    the whole index, which is why only redaction pays it. (SQLite 3.42's
    ``secure-delete`` option would do it per row, but ticketkit supports older
    SQLite.) PostgreSQL's GIN index and MariaDB's FULLTEXT index need nothing
    here; see ``docs/access.md`` for what MariaDB keeps.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(_OPTIMIZE_SQLITE)


_PUNCTUATION = "!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~"  # ASCII punctuation, ' doubled for SQL
_SPACES = " " * 32
_LONGEST = 100_000


def _pg_text(column: str) -> str:
    return f"left(translate({column}, '{_PUNCTUATION}', '{_SPACES}'), {_LONGEST})"


def pg_vector(column: str, weight: str | None = None) -> str:
    """The ``tsvector`` of ``column`` as ticketkit's PostgreSQL indexes hold it."""
    vector = f"to_tsvector('simple'::regconfig, {_pg_text(column)})"
    return vector if weight is None else f"setweight({vector}, '{weight}')"


#: What PostgreSQL's generated columns ``tk_tickets.search_vector`` and
#: ``tk_comments.search_vector`` hold: exactly the expressions migration 0002 indexed
#: and migration 0007 stores (``tests/storage/test_search.py`` compares them).
PG_TICKET_VECTOR = f"{pg_vector('title', 'A')} || {pg_vector('description', 'B')}"
PG_COMMENT_VECTOR = pg_vector("body")

#: BM25 weights of title, description and comments on SQLite (the memory store's too).
SQLITE_RANK = "bm25(tk_search, 3.0, 2.0, 1.0)"
#: How much a comment's relevance counts against the ticket's own on MariaDB/MySQL.
MYSQL_COMMENT_WEIGHT = 0.25
#: Added to the score of every match on MariaDB/MySQL. InnoDB's relevance is
#: TF x IDF², with IDF = log(rows / rows holding the word): a word that every row
#: holds weighs 0, so a real match could score 0 (as in a small or uniform table).
#: The same amount for every hit keeps the order and makes every match score above
#: nothing, as on the other stores.
MYSQL_MATCH_FLOOR = 0.001


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """For Alembic's ``include_name``: ``False`` for the structures search adds.

    Pass it when comparing a database with ``_schema.metadata`` (the tables in
    code do not describe FTS5 tables, triggers, GIN or FULLTEXT indexes, or the
    generated columns, since ``metadata.create_all`` could not make them on
    every dialect).
    """
    if name is None:
        return True
    if type_ == "table":
        return not any(name == t or name.startswith(f"{t}_") for t in SEARCH_TABLES)
    if type_ == "index":
        return name not in SEARCH_INDEXES
    if type_ == "column":
        return (parent_names.get("table_name"), name) not in SEARCH_COLUMNS
    return True


# With a tenant, each ranking keeps to its tickets before the limit is applied.
_OF_TENANT = "SELECT id FROM tk_tickets WHERE tenant = :tenant"


def _scoped(clause: TextClause, tenant: str | None) -> TextClause:
    return clause if tenant is None else clause.bindparams(tenant=tenant)


def _limit(limit: int | None) -> str:
    return "" if limit is None else " LIMIT :limit"


def _limited(limit: int | None) -> dict[str, int]:
    return {} if limit is None else {"limit": limit}


def _sqlite(found: list[str], limit: int | None, tenant: str | None) -> TextClause:
    # Each word becomes an FTS5 string ("…", inner quotes doubled): never an operator,
    # a column filter or a prefix query. Any word may match.
    query = " OR ".join('"' + w.replace('"', '""') + '"' for w in found)
    # With a tenant, CROSS JOIN makes SQLite run the full-text match first and look up
    # each match's ticket by primary key. Written as ``rowid IN (tenant's ids)`` the
    # planner instead probes the FTS index once per ticket of the tenant, re-running
    # the whole match each time: 100 ms for a 30-word query over 250 tickets.
    source = "tk_search"
    scope = ""
    if tenant is not None:
        source = "tk_search CROSS JOIN tk_tickets ON tk_tickets.id = tk_search.rowid"
        scope = " AND tk_tickets.tenant = :tenant"
    clause = text(
        f"SELECT tk_search.rowid AS ticket_id, -{SQLITE_RANK} AS score FROM {source} "
        f"WHERE tk_search MATCH :query{scope} "
        f"ORDER BY {SQLITE_RANK}, tk_search.rowid{_limit(limit)}"
    ).bindparams(query=query, **_limited(limit))
    return _scoped(clause, tenant)


def _postgresql(found: list[str], limit: int | None, tenant: str | None) -> TextClause:
    # plainto_tsquery reads no operators; || joins the words with OR.
    names = [f"word{i}" for i in range(len(found))]
    query = "(" + " || ".join(f"plainto_tsquery('simple'::regconfig, :{n})" for n in names) + ")"
    ticket_scope = "" if tenant is None else " AND tenant = :tenant"
    comment_scope = "" if tenant is None else f" AND ticket_id IN ({_OF_TENANT})"
    clause = text(
        "SELECT ticket_id, sum(score) AS score FROM ("
        f"SELECT id AS ticket_id, ts_rank(tk_tickets.search_vector, {query}) AS score "
        f"FROM tk_tickets WHERE tk_tickets.search_vector @@ {query}{ticket_scope} "
        "UNION ALL "
        f"SELECT ticket_id, ts_rank(tk_comments.search_vector, {query}) AS score "
        f"FROM tk_comments WHERE tk_comments.search_vector @@ {query}{comment_scope}"
        f") AS hits GROUP BY ticket_id ORDER BY score DESC, ticket_id{_limit(limit)}"
    ).bindparams(**_limited(limit), **dict(zip(names, found, strict=True)))
    return _scoped(clause, tenant)


def _mysql(found: list[str], limit: int | None, tenant: str | None) -> TextClause:
    # title_folded and description_folded hold Python's casefold(); search_body holds
    # the server's LOWER(body), so the comments' words are lowered by the server too.
    mode = "IN NATURAL LANGUAGE MODE"
    ticket_match = f"MATCH (title_folded, description_folded) AGAINST (:folded {mode})"
    comment_match = f"MATCH (search_body) AGAINST (LOWER(:typed) {mode})"
    ticket_scope = "" if tenant is None else " AND tenant = :tenant"
    comment_scope = "" if tenant is None else f" AND ticket_id IN ({_OF_TENANT})"
    clause = text(
        f"SELECT ticket_id, SUM(score) + {MYSQL_MATCH_FLOOR} AS score FROM ("
        f"SELECT id AS ticket_id, {ticket_match} AS score FROM tk_tickets "
        f"WHERE {ticket_match}{ticket_scope} "
        "UNION ALL "
        f"SELECT ticket_id, {MYSQL_COMMENT_WEIGHT} * {comment_match} AS score "
        f"FROM tk_comments WHERE {comment_match}{comment_scope}"
        f") AS hits GROUP BY ticket_id ORDER BY score DESC, ticket_id{_limit(limit)}"
    ).bindparams(
        folded=" ".join(w.casefold() for w in found), typed=" ".join(found), **_limited(limit)
    )
    return _scoped(clause, tenant)


_RANKERS = {"sqlite": _sqlite, "postgresql": _postgresql, "mysql": _mysql, "mariadb": _mysql}


def ranked(
    dialect: str, text_: str, limit: int | None, tenant: str | None = None
) -> TextualSelect | None:
    """The ``(ticket_id, score)`` rows that match, best first; ``None`` without words.

    With ``tenant``, only that tenant's tickets are ranked (and counted in ``limit``);
    with ``limit=None``, every match.
    """
    found = words(text_)
    if not found:
        return None
    return _RANKERS[dialect](found, limit, tenant).columns(ticket_id=Integer, score=Float)


def search_statement(
    dialect: str, text_: str, limit: int, tenant: str | None = None, where: Query | None = None
) -> Select[Any] | None:
    """The tickets that match with their scores, best first (``None`` without words).

    With ``where``, only the tickets that satisfy that checked query's conditions
    are ranked, in the same statement, and ``limit`` counts those.
    """
    hits = ranked(dialect, text_, None if where is not None else limit, tenant)
    if hits is None:
        return None
    found = hits.subquery("ranked")
    stmt = (
        select(tickets, found.c.score)
        .join(found, tickets.c.id == found.c.ticket_id)
        .order_by(found.c.score.desc(), tickets.c.id)
    )
    if tenant is not None:
        stmt = stmt.where(tickets.c.tenant == tenant)
    if where is not None:
        stmt = stmt.where(filter_of(where)).limit(limit)
    return stmt


def search(
    conn: Connection,
    text_: str,
    limit: int,
    tenant: str | None = None,
    where: Query | None = None,
) -> list[tuple[Ticket, float]]:
    """Run a search on ``conn``; see :meth:`ticketkit.storage.Store.search`."""
    stmt = search_statement(conn.dialect.name, text_, limit, tenant, where)
    if stmt is None:
        return []
    return [
        (rows.ticket_from_row(row), float(row["score"])) for row in conn.execute(stmt).mappings()
    ]
