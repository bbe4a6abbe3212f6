"""Converting between knowledge-base values and the rows of the SQL store's tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...kb._article import Article, ArticleRevision, ArticleStatus, Solution

__all__ = [
    "article_from_row",
    "article_row",
    "revision_from_row",
    "revision_row",
    "solution_from_row",
    "tag_rows",
]


def article_row(article: Article) -> dict[str, Any]:
    return {
        "tenant": article.tenant,
        "title": article.title,
        "body": article.body,
        "tags": sorted(article.tags),
        "status": article.status.value,
        "version": article.version,
        "author": article.author,
        "created": article.created,
        "updated_by": article.updated_by,
        "updated": article.updated,
        "source_ticket": article.source_ticket,
    }


def article_from_row(row: Mapping[Any, Any]) -> Article:
    return Article(
        id=int(row["id"]),
        title=row["title"],
        body=row["body"],
        status=ArticleStatus(row["status"]),
        version=int(row["version"]),
        author=row["author"],
        created=row["created"],
        updated_by=row["updated_by"],
        updated=row["updated"],
        tags=frozenset(row["tags"]),
        tenant=row["tenant"],
        source_ticket=row["source_ticket"],
    )


def revision_row(article: Article, note: str | None) -> dict[str, Any]:
    return {
        "article_id": article.id,
        "version": article.version,
        "title": article.title,
        "body": article.body,
        "tags": sorted(article.tags),
        "status": article.status.value,
        "author": article.updated_by,
        "at": article.updated,
        "note": note,
    }


def revision_from_row(row: Mapping[Any, Any]) -> ArticleRevision:
    return ArticleRevision(
        article_id=int(row["article_id"]),
        version=int(row["version"]),
        title=row["title"],
        body=row["body"],
        tags=frozenset(row["tags"]),
        status=ArticleStatus(row["status"]),
        author=row["author"],
        at=row["at"],
        note=row["note"],
    )


def solution_from_row(row: Mapping[Any, Any]) -> Solution:
    return Solution(
        ticket_id=int(row["ticket_id"]),
        ticket_key=row["ticket_key"],
        article_id=int(row["article_id"]),
        linked_by=row["linked_by"],
        linked_at=row["linked_at"],
        tenant=row["tenant"],
    )


def tag_rows(article: Article) -> list[dict[str, Any]]:
    return [{"article_id": article.id, "tag": tag} for tag in sorted(article.tags)]
