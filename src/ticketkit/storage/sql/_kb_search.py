"""Ranked full-text search over knowledge-base articles, one index per dialect.

Like ticket search (``_search``), the database keeps each index up to date by
itself, in the transaction that writes ``tk_articles``, whatever code writes it.
An article's searchable text is its title, its body and its tags (the JSON list
in ``tk_articles.tags``, whose brackets, quotes and commas are not words):

SQLite
    An FTS5 table ``tk_article_search(title, body, tags)`` whose rowid is the
    article id, filled by triggers on ``tk_articles``; the same tokenizer as
    ``tk_search`` (whole words, case-folded, accents kept). Ranked by
    ``bm25(tk_article_search, 3.0, 1.0, 2.0)``: the memory store's
    ``ARTICLE_WEIGHTS`` and formula, so the two rank alike.
PostgreSQL
    A GIN index ``ix_tk_articles_search`` on ``tk_articles.search_vector``, a
    stored generated ``tsvector`` column holding :data:`PG_ARTICLE_VECTOR`:
    the title (weight A), tags (B) and body (C) with the ``'simple'``
    configuration and the same punctuation handling and 100,000-character cut
    as tickets. Ranked by ``ts_rank`` with weights 1.0, 2/3 and 1/3 for A, B
    and C: title above tags above body, in SQLite's proportions. (With an
    index on the expression instead, ranking would recompute the vector of
    every match from its text, about 0.4 ms each: 250 to 900 ms a search at
    2,000 articles, against 2 to 20 ms with the stored vector. Tickets and
    comments have stored vectors too, since migration 0007.)
MariaDB/MySQL
    An InnoDB ``FULLTEXT`` index ``ix_tk_articles_search`` on
    ``tk_articles.search_text``, a stored generated column holding
    ``LOWER()`` of the title three times, the tags twice and the body once (the
    text columns compare as binary strings, which would make matching
    case-sensitive). InnoDB's relevance grows with how often a word occurs, so
    the repeats weigh title, tags and body 3:2:1 as on SQLite. Natural language
    mode, with InnoDB's minimum word length and stop words, and the same floor
    (``_search.MYSQL_MATCH_FLOOR``) added to every match, as for tickets.

The tenant and status conditions are part of each statement, so ``limit``
counts only the articles they keep. User text never reaches a query as syntax:
only the words of :func:`ticketkit._search.words`, each a bound parameter,
quoted as an FTS5 string, passed to ``plainto_tsquery``, or sent to ``MATCH …
AGAINST`` in natural language mode. Ties go to the lower id.
``tests/storage/test_kb_storage.py`` checks with ``EXPLAIN`` that each
statement uses its index.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Float, TextClause, bindparam, text
from sqlalchemy.sql.selectable import TextualSelect

from ..._search import words
from ...kb._article import ArticleStatus
from ._schema import articles
from ._search import MYSQL_MATCH_FLOOR, pg_vector

__all__ = [
    "MYSQL_ARTICLE_TEXT",
    "PG_ARTICLE_VECTOR",
    "SQLITE_ARTICLE_RANK",
    "article_search_statement",
]

#: BM25 weights of title, body and tags on SQLite (the memory store's ARTICLE_WEIGHTS).
SQLITE_ARTICLE_RANK = "bm25(tk_article_search, 3.0, 1.0, 2.0)"
#: What PostgreSQL's generated column ``tk_articles.search_vector`` holds (migration 0006).
PG_ARTICLE_VECTOR = (
    f"{pg_vector('title', 'A')} || {pg_vector('tags', 'B')} || {pg_vector('body', 'C')}"
)
#: ts_rank's weights for D, C, B, A: body 1/3, tags 2/3, title 1 (D is not used).
_PG_WEIGHTS = "'{0.1, 0.333333, 0.666667, 1.0}'::float4[]"
#: What MariaDB/MySQL's generated column ``tk_articles.search_text`` holds (migration 0006).
MYSQL_ARTICLE_TEXT = "LOWER(CONCAT_WS(' ', title, title, title, tags, tags, body))"

_COLUMNS = ", ".join(f"tk_articles.{c.name}" for c in articles.columns)
_ORDER = "ORDER BY score DESC, tk_articles.id LIMIT :limit"


def _scope(tenant: str | None, statuses: Collection[ArticleStatus] | None) -> str:
    scope = "" if tenant is None else " AND tk_articles.tenant = :tenant"
    return scope if statuses is None else f"{scope} AND tk_articles.status IN :statuses"


def _sqlite(found: list[str], scope: str) -> tuple[str, dict[str, str]]:
    # Each word becomes an FTS5 string ("…", inner quotes doubled): never an operator,
    # a column filter or a prefix query. Any word may match.
    query = " OR ".join('"' + w.replace('"', '""') + '"' for w in found)
    # CROSS JOIN keeps SQLite's join order: the match runs once, then each match's
    # article is read by primary key. Left to the planner, a selective tenant or status
    # could make it probe the FTS index once per article, re-running the match each time
    # (as ticket search found; see _search).
    sql = (
        f"SELECT {_COLUMNS}, -{SQLITE_ARTICLE_RANK} AS score FROM tk_article_search "
        "CROSS JOIN tk_articles ON tk_articles.id = tk_article_search.rowid "
        f"WHERE tk_article_search MATCH :query{scope} "
        f"ORDER BY {SQLITE_ARTICLE_RANK}, tk_articles.id LIMIT :limit"
    )
    return sql, {"query": query}


def _postgresql(found: list[str], scope: str) -> tuple[str, dict[str, str]]:
    # plainto_tsquery reads no operators; || joins the words with OR.
    names = [f"word{i}" for i in range(len(found))]
    query = "(" + " || ".join(f"plainto_tsquery('simple'::regconfig, :{n})" for n in names) + ")"
    sql = (
        f"SELECT {_COLUMNS}, ts_rank({_PG_WEIGHTS}, search_vector, {query}) AS score "
        f"FROM tk_articles WHERE search_vector @@ {query}{scope} {_ORDER}"
    )
    return sql, dict(zip(names, found, strict=True))


def _mysql(found: list[str], scope: str) -> tuple[str, dict[str, str]]:
    # search_text holds the server's LOWER(), so the words are lowered by the server too.
    match = "MATCH (search_text) AGAINST (LOWER(:typed) IN NATURAL LANGUAGE MODE)"
    score = f"{match} + {MYSQL_MATCH_FLOOR}"
    sql = f"SELECT {_COLUMNS}, {score} AS score FROM tk_articles WHERE {match}{scope} {_ORDER}"
    return sql, {"typed": " ".join(found)}


_STATEMENTS = {"sqlite": _sqlite, "postgresql": _postgresql, "mysql": _mysql, "mariadb": _mysql}


def article_search_statement(
    dialect: str,
    text_: str,
    limit: int,
    tenant: str | None = None,
    statuses: Collection[ArticleStatus] | None = None,
) -> TextualSelect | None:
    """The articles that match, with a ``score`` column, best first; ``None`` without words.

    Only articles of ``tenant`` (``None``: every tenant) in ``statuses``
    (``None``: every status) are ranked, and ``limit`` counts those.
    """
    found = words(text_)
    if not found:
        return None
    sql, values = _STATEMENTS[dialect](found, _scope(tenant, statuses))
    clause: TextClause = text(sql).bindparams(limit=limit, **values)
    if tenant is not None:
        clause = clause.bindparams(tenant=tenant)
    if statuses is not None:
        wanted = sorted(s.value for s in statuses)
        clause = clause.bindparams(bindparam("statuses", wanted, expanding=True))
    return clause.columns(*articles.columns, score=Float)
