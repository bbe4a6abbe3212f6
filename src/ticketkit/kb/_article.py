"""Knowledge-base articles, their versions, and their links to the tickets they solve."""

from __future__ import annotations

import enum
import re
from datetime import datetime

from attrs import frozen

from .._errors import ValidationError
from .._text import parse_choice, preview

__all__ = [
    "ARTICLE_PREFIX",
    "Article",
    "ArticleRevision",
    "ArticleStatus",
    "Solution",
    "article_id",
]

#: Articles are shown to people as ``KB-12``; the number is the article's id.
ARTICLE_PREFIX = "KB"
_KEY = re.compile(r"^\s*KB-([1-9][0-9]{0,17})\s*$", re.IGNORECASE)


class ArticleStatus(enum.StrEnum):
    """Where an article is in its life: written, shown to everyone, or retired."""

    #: Being written; only those who may edit articles see it.
    DRAFT = "draft"
    #: Visible to everyone of its tenant (customers too) and offered as a suggestion.
    PUBLISHED = "published"
    #: Retired: kept with its history and its links, no longer shown or suggested.
    ARCHIVED = "archived"

    @classmethod
    def parse(cls, value: object) -> ArticleStatus:
        return parse_choice(cls, value, "article status", field="status")


@frozen
class Article:
    """A known problem and its solution, as it is at one version.

    ``body`` is Markdown (ticketkit stores it as text; a front end renders it,
    safely). ``author`` wrote the first version; ``updated_by`` the latest.
    ``source_ticket`` is the key of the ticket the article was promoted from.
    """

    id: int
    title: str
    body: str
    status: ArticleStatus
    version: int
    author: str
    created: datetime
    updated_by: str
    updated: datetime
    tags: frozenset[str] = frozenset()
    tenant: str = "default"
    source_ticket: str | None = None

    @property
    def key(self) -> str:
        """The article's reference for people: ``KB-12``."""
        return f"{ARTICLE_PREFIX}-{self.id}"


@frozen
class ArticleRevision:
    """One version of an article, kept for ever: what it said, who made it, and when.

    ``note`` is the editor's summary of the change ("fixed step 3").
    """

    article_id: int
    version: int
    title: str
    body: str
    tags: frozenset[str]
    status: ArticleStatus
    author: str
    at: datetime
    note: str | None = None


@frozen
class Solution:
    """Article ``article_id`` solves ticket ``ticket_key``: who said so, and when."""

    ticket_id: int
    ticket_key: str
    article_id: int
    linked_by: str
    linked_at: datetime
    tenant: str = "default"


def article_id(ref: object) -> int:
    """The id of the article ``ref`` names: an id (``12``) or a key (``"KB-12"``)."""
    if isinstance(ref, int) and not isinstance(ref, bool):
        if ref < 1:
            raise ValidationError(f"article id must be 1 or more, got {ref}", field="article")
        return ref
    if isinstance(ref, str):
        found = _KEY.match(ref)
        if found:
            return int(found.group(1))
        raise ValidationError(
            f"article reference {preview(ref)} is not an article key; use one like "
            f"'{ARTICLE_PREFIX}-12' or the article's id",
            field="article",
        )
    raise ValidationError(
        f"an article is named by its id or its key such as '{ARTICLE_PREFIX}-12', "
        f"got {type(ref).__name__}",
        field="article",
    )
