"""Checks of the values that reach a store's knowledge-base reads."""

from __future__ import annotations

from collections.abc import Iterable

from .._errors import ValidationError
from ._article import Article, ArticleStatus

__all__ = ["MAX_ARTICLE_LIMIT", "check_article", "check_article_limit", "check_statuses"]

#: The most articles one listing returns.
MAX_ARTICLE_LIMIT = 1000


def check_article_limit(limit: object) -> int:
    """``limit`` if it is a whole number from 1 to :data:`MAX_ARTICLE_LIMIT`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ARTICLE_LIMIT:
        raise ValidationError(
            f"limit must be a whole number from 1 to {MAX_ARTICLE_LIMIT}, got {limit!r:.60}",
            field="limit",
        )
    return limit


def check_statuses(
    statuses: Iterable[ArticleStatus | str] | None,
) -> frozenset[ArticleStatus] | None:
    """The article statuses asked for (``None``: all of them)."""
    if statuses is None:
        return None
    if isinstance(statuses, str) or not isinstance(statuses, Iterable):
        raise ValidationError(
            f"statuses must be a list of article statuses, got {statuses!r:.60}",
            field="statuses",
        )
    return frozenset(ArticleStatus.parse(s) for s in statuses)


def check_article(value: object, what: str) -> Article:
    """``value`` if it is an :class:`Article`; else ``ValidationError`` naming ``what``."""
    if not isinstance(value, Article):
        raise ValidationError(f"{what} takes an Article, got {value!r:.60}", field="article")
    return value
