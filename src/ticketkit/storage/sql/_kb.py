"""The SQL store's part of the knowledge base: articles, their versions, solutions.

Mixed into :class:`~ticketkit.storage.sql.SQLTransaction` and
:class:`~ticketkit.storage.sql.SQLStore`, like ``_automation``.

Every article write stores the new version's revision in the same
transaction. An update is one ``UPDATE … WHERE id = ? AND version = ?``: when
it matches no row, nothing was changed, and the transaction reads the stored
version to raise :class:`~ticketkit.ConflictError` (or
:class:`~ticketkit.NotFound`). An article's tags are kept twice, as JSON in
``tk_articles.tags`` (what is read back) and one row each in
``tk_article_tags`` (what the tag filter reads), like tickets' tags. Search
is in ``_kb_search``.

A solution recorded twice must leave the transaction usable: SQLite and
PostgreSQL insert with ``ON CONFLICT DO NOTHING RETURNING`` (a unique
violation would abort a PostgreSQL transaction; a returned row says it went
in), MariaDB/MySQL with a plain ``INSERT`` whose duplicate-key error InnoDB
undoes for that statement alone (``INSERT IGNORE`` would also hide a missing
ticket or article). Two transactions linking the same pair at once queue on
the key: the second is told ``False`` once the first commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from attrs import evolve
from sqlalchemy import (
    Connection,
    Select,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter

from ..._errors import ConflictError, NotFound, ValidationError
from ...kb._article import Article, ArticleRevision, ArticleStatus, Solution
from ...kb._checks import check_article, check_article_limit, check_statuses
from .._ids import check_id, is_id
from ._kb_rows import (
    article_from_row,
    article_row,
    revision_from_row,
    revision_row,
    solution_from_row,
    tag_rows,
)
from ._kb_search import article_search_statement
from ._references import is_duplicate_key
from ._schema import article_revisions, article_tags, articles, solutions, tickets

__all__ = ["SQLKBReads", "SQLKBTransaction", "articles_statement", "solutions_statement"]

_ARTICLE = select(articles).where(articles.c.id == bindparam("b_id"))
_ARTICLE_IN = _ARTICLE.where(articles.c.tenant == bindparam("b_tenant"))
_VERSION = select(articles.c.version).where(articles.c.id == bindparam("b_id"))
_UPDATE_ARTICLE = update(articles).where(
    articles.c.id == bindparam("b_id"), articles.c.version == bindparam("b_version")
)
_DELETE_TAGS = delete(article_tags).where(article_tags.c.article_id == bindparam("b_id"))
_REVISIONS = (
    select(article_revisions)
    .where(article_revisions.c.article_id == bindparam("b_id"))
    .order_by(article_revisions.c.version)
)
_REVISIONS_IN = _REVISIONS.join_from(
    article_revisions, articles, articles.c.id == article_revisions.c.article_id
).where(articles.c.tenant == bindparam("b_tenant"))
# The ticket's key comes from tk_tickets, by its primary key.
_SOLUTIONS = (
    select(solutions, tickets.c.key.label("ticket_key"))
    .join_from(solutions, tickets, tickets.c.id == solutions.c.ticket_id)
    .order_by(solutions.c.linked_at, solutions.c.ticket_id, solutions.c.article_id)
)
_REMOVE_SOLUTION = delete(solutions).where(
    solutions.c.ticket_id == bindparam("b_ticket_id"),
    solutions.c.article_id == bindparam("b_article_id"),
)


# RETURNING tells whether a row went in (psycopg reports no rowcount for this INSERT).
_SOLUTION_KEY = [solutions.c.ticket_id, solutions.c.article_id]
_ADD_SOLUTION: dict[str, UpdateBase] = {
    "sqlite": sqlite_insert(solutions)
    .on_conflict_do_nothing(index_elements=_SOLUTION_KEY)
    .returning(solutions.c.ticket_id),
    "postgresql": postgresql_insert(solutions)
    .on_conflict_do_nothing(index_elements=_SOLUTION_KEY)
    .returning(solutions.c.ticket_id),
}
_ADD_SOLUTION_PLAIN = insert(solutions)

_PERSON: BindParameter[str] = bindparam("b_person")
_ALIAS: BindParameter[str] = bindparam("b_alias")
_TENANT: BindParameter[str] = bindparam("b_tenant")


def _renamed(column: Any) -> Any:
    return case((column == _PERSON, _ALIAS), else_=column)


_RENAME_IN_ARTICLES = (
    update(articles)
    .where(
        articles.c.tenant == _TENANT,
        or_(articles.c.author == _PERSON, articles.c.updated_by == _PERSON),
    )
    .values(author=_renamed(articles.c.author), updated_by=_renamed(articles.c.updated_by))
)
_RENAME_IN_REVISIONS = (
    update(article_revisions)
    .where(
        article_revisions.c.author == _PERSON,
        article_revisions.c.article_id.in_(
            select(articles.c.id).where(articles.c.tenant == _TENANT)
        ),
    )
    .values(author=_ALIAS)
)
_RENAME_IN_SOLUTIONS = (
    update(solutions)
    .where(solutions.c.tenant == _TENANT, solutions.c.linked_by == _PERSON)
    .values(linked_by=_ALIAS)
)


def _scope(article_id: int, tenant: str | None) -> dict[str, Any]:
    return {"b_id": article_id} if tenant is None else {"b_id": article_id, "b_tenant": tenant}


def _get_article(conn: Connection, article_id: int, tenant: str | None) -> Article | None:
    if not is_id(article_id):
        return None
    stmt = _ARTICLE if tenant is None else _ARTICLE_IN
    row = conn.execute(stmt, _scope(article_id, tenant)).mappings().first()
    return None if row is None else article_from_row(row)


def articles_statement(
    tenant: str | None,
    statuses: frozenset[ArticleStatus] | None,
    tag: str | None,
    after: int,
    limit: int,
) -> Select[Any]:
    """What :meth:`SQLKBReads.articles` sends for these (checked) arguments."""
    stmt = select(articles).where(articles.c.id > after).order_by(articles.c.id).limit(limit)
    if tenant is not None:
        stmt = stmt.where(articles.c.tenant == tenant)
    if statuses is not None:
        stmt = stmt.where(articles.c.status.in_(sorted(s.value for s in statuses)))
    if tag is not None:
        tagged = select(article_tags.c.article_id).where(article_tags.c.tag == tag)
        stmt = stmt.where(articles.c.id.in_(tagged))
    return stmt


def solutions_statement(
    ticket_ids: list[int] | None, article_id: int | None, tenant: str | None
) -> Select[Any]:
    """What :meth:`SQLKBReads.solutions` sends: one ``SELECT`` for any number of tickets."""
    stmt = _SOLUTIONS
    if ticket_ids is not None:
        stmt = stmt.where(solutions.c.ticket_id.in_(ticket_ids))
    if article_id is not None:
        stmt = stmt.where(solutions.c.article_id == article_id)
    if tenant is not None:
        stmt = stmt.where(solutions.c.tenant == tenant)
    return stmt


# -- the transaction ------------------------------------------------------------------------


class SQLKBTransaction:
    """The knowledge-base operations of a SQL transaction (see the Transaction protocol)."""

    _conn: Connection

    def create_article(self, draft: Article, *, note: str | None = None) -> Article:
        draft = check_article(draft, "create_article")
        row = article_row(evolve(draft, version=1))
        key = self._conn.execute(insert(articles), row).inserted_primary_key
        assert key is not None
        article = evolve(draft, id=int(key[0]), version=1)
        self._write_tags(article, new=True)
        self._conn.execute(insert(article_revisions), revision_row(article, note))
        return article

    def get_article(self, article_id: int, *, tenant: str | None = None) -> Article | None:
        return _get_article(self._conn, article_id, tenant)

    def update_article(
        self, article: Article, expected_version: int, *, note: str | None = None
    ) -> None:
        article = check_article(article, "update_article")
        params = article_row(article)
        params["b_id"] = article.id
        params["b_version"] = check_id(expected_version, "expected_version")
        if self._conn.execute(_UPDATE_ARTICLE, params).rowcount != 1:
            actual = self._conn.execute(_VERSION, {"b_id": article.id}).scalar()
            if actual is None:
                raise NotFound(f"no article {article.key} to update")
            raise ConflictError.stale(article.key, expected_version, int(actual))
        self._write_tags(article, new=False)
        self._conn.execute(insert(article_revisions), revision_row(article, note))

    def _write_tags(self, article: Article, *, new: bool) -> None:
        if not new:
            self._conn.execute(_DELETE_TAGS, {"b_id": article.id})
        if article.tags:
            self._conn.execute(insert(article_tags), tag_rows(article))

    def add_solution(self, solution: Solution) -> bool:
        if not isinstance(solution, Solution):
            raise ValidationError(
                f"add_solution takes a Solution, got {solution!r:.60}", field="solution"
            )
        values = {
            "ticket_id": solution.ticket_id,
            "article_id": solution.article_id,
            "tenant": solution.tenant,
            "linked_by": solution.linked_by,
            "linked_at": solution.linked_at,
        }
        statement = _ADD_SOLUTION.get(self._conn.dialect.name)
        if statement is not None:
            return self._conn.execute(statement, values).first() is not None
        try:
            self._conn.execute(_ADD_SOLUTION_PLAIN, values)
        except IntegrityError as exc:
            if not is_duplicate_key(exc):
                raise
            return False
        return True

    def remove_solution(self, ticket_id: int, article_id: int) -> bool:
        params = {
            "b_ticket_id": check_id(ticket_id, "ticket_id"),
            "b_article_id": check_id(article_id, "article_id"),
        }
        return self._conn.execute(_REMOVE_SOLUTION, params).rowcount == 1

    def rename_in_articles(self, person: str, alias: str, *, tenant: str) -> None:
        if not isinstance(person, str) or not isinstance(alias, str) or not person:
            raise ValidationError(
                f"rename_in_articles needs a non-empty person and an alias, got "
                f"{person!r:.60} and {alias!r:.60}",
                field="person",
            )
        params = {"b_person": person, "b_alias": alias, "b_tenant": tenant}
        for statement in (_RENAME_IN_ARTICLES, _RENAME_IN_REVISIONS, _RENAME_IN_SOLUTIONS):
            self._conn.execute(statement, params)


# -- the reads ------------------------------------------------------------------------------


class SQLKBReads:
    """The knowledge-base reads of the SQL store (see the Store protocol)."""

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError  # pragma: no cover - provided by the store

    def get_article(self, article_id: int, *, tenant: str | None = None) -> Article | None:
        with self._read() as conn:
            return _get_article(conn, article_id, tenant)

    def article_revisions(
        self, article_id: int, *, tenant: str | None = None
    ) -> list[ArticleRevision]:
        if not is_id(article_id):
            return []
        stmt = _REVISIONS if tenant is None else _REVISIONS_IN
        with self._read() as conn:
            found = conn.execute(stmt, _scope(article_id, tenant)).mappings().all()
        return [revision_from_row(r) for r in found]

    def articles(
        self,
        *,
        tenant: str | None = None,
        statuses: Sequence[ArticleStatus] | None = None,
        tag: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[Article]:
        limit = check_article_limit(limit)
        wanted = check_statuses(statuses)
        after = check_id(after, "after")
        if wanted is not None and not wanted:
            return []
        stmt = articles_statement(tenant, wanted, tag, after, limit)
        with self._read() as conn:
            found = conn.execute(stmt).mappings().all()
        return [article_from_row(r) for r in found]

    def search_articles(
        self,
        text: str,
        *,
        limit: int,
        tenant: str | None = None,
        statuses: Sequence[ArticleStatus] | None = None,
    ) -> list[tuple[Article, float]]:
        wanted = check_statuses(statuses)
        if wanted is not None and not wanted:
            return []
        with self._read() as conn:
            stmt = article_search_statement(conn.dialect.name, text, limit, tenant, wanted)
            if stmt is None:
                return []
            found = conn.execute(stmt).mappings().all()
        return [(article_from_row(r), float(r["score"])) for r in found]

    def solutions(
        self,
        *,
        ticket_ids: Sequence[int] | None = None,
        article_id: int | None = None,
        tenant: str | None = None,
    ) -> list[Solution]:
        """One statement for a batch of tickets (suggestions ask for up to 10)."""
        if ticket_ids is None and article_id is None:
            raise ValidationError(
                "solutions needs ticket_ids or article_id (or both)", field="ticket_ids"
            )
        ids = None
        if ticket_ids is not None:
            ids = sorted({check_id(i, "ticket_ids") for i in ticket_ids})
            if not ids:
                return []
        if article_id is not None:
            check_id(article_id, "article_id")
        with self._read() as conn:
            found = conn.execute(solutions_statement(ids, article_id, tenant)).mappings().all()
        return [solution_from_row(r) for r in found]
