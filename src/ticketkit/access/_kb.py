"""The knowledge base as one principal may use it: ``session.kb``.

Published articles of the principal's tenant are for everyone who may read
tickets; drafts, archived articles and every article's history are for those
with ``edit_articles``, who also write and promote; ``publish_articles`` moves
an article between draft, published and archived. An article a principal may
not see is answered for exactly as one that does not exist. Linking an article
to a ticket as its solution needs ``link`` on the ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._edits import UNSET
from .._errors import NotFound
from .._model import Ticket
from .._query import MAX_LIMIT, Condition, Op
from ..kb._article import Article, ArticleRevision, ArticleStatus, Solution, article_id
from ..kb._service import ArticleHit, KnowledgeBase
from ._policy import Permission

if TYPE_CHECKING:
    from .._tracker import Ref
    from ._session import Session

__all__ = ["SessionKnowledgeBase"]

_EDIT = Permission.EDIT_ARTICLES
_PUBLISH = Permission.PUBLISH_ARTICLES


class SessionKnowledgeBase:
    """:class:`~ticketkit.kb.KnowledgeBase`'s operations, checked for ``session``'s principal.

    The methods take the same arguments as the knowledge base's, without
    ``actor=`` (always the principal) and ``tenant=`` (always theirs).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._kb = KnowledgeBase(session.tracker)
        self._tenant = session.tenant

    def __repr__(self) -> str:
        return f"<SessionKnowledgeBase of {self.session!r}>"

    @property
    def _actor(self) -> str:
        return self.session.principal.id

    @property
    def edits(self) -> bool:
        """Whether this principal may see drafts and write articles."""
        return self.session._allowed(_EDIT, None)

    def _statuses(self, asked: Any) -> Any:
        """What a listing or search may show: all that was asked for, or only published."""
        if self.edits:
            return asked
        return ArticleStatus.PUBLISHED

    def _visible(self, ref: int | str, permission: Permission | str = "read") -> Article:
        wanted = article_id(ref)
        article = self.session.tracker.store.get_article(wanted, tenant=self._tenant)
        if article is not None and (article.status is ArticleStatus.PUBLISHED or self.edits):
            return article
        reason = "no such article in the tenant" if article is None else "the article is a draft"
        self.session._record(permission, f"KB-{wanted}", reason)
        raise NotFound(f"no article {ref}")

    # -- reading --------------------------------------------------------------------

    def get(self, ref: int | str) -> Article:
        """The article, if published or if this principal edits articles."""
        return self._visible(ref)

    def history(self, ref: int | str) -> list[ArticleRevision]:
        """Every version of the article; for those who edit articles."""
        article = self._visible(ref, _EDIT)
        self.session._require(_EDIT, None, article.key)
        return self._kb.history(article.id, tenant=self._tenant)

    def articles(
        self,
        *,
        status: ArticleStatus | str | Iterable[ArticleStatus | str] | None = None,
        tag: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[Article]:
        """The articles this principal may see, in id order (see ``KnowledgeBase.articles``)."""
        return self._kb.articles(
            status=self._statuses(status), tag=tag, tenant=self._tenant, after=after, limit=limit
        )

    def search(
        self,
        text: str,
        *,
        limit: int = 10,
        status: ArticleStatus | str | Iterable[ArticleStatus | str] | None = (
            ArticleStatus.PUBLISHED,
        ),
    ) -> list[ArticleHit]:
        """The visible articles that best match ``text``; only published ones for customers."""
        return self._kb.search(
            text, limit=limit, status=self._statuses(status), tenant=self._tenant
        )

    def solutions(self, ticket: Ref) -> list[Article]:
        """The visible articles recorded as the (readable) ticket's solution."""
        found = self.session._find(ticket)
        articles = self._kb.solutions(found.id, tenant=self._tenant)
        if self.edits:  # asked of the policy once, not per article
            return articles
        return [a for a in articles if a.status is ArticleStatus.PUBLISHED]

    def solved(self, ref: int | str) -> list[Solution]:
        """The links of the article to the tickets this principal may read."""
        article = self._visible(ref)
        links = self._kb.solved(article.id, tenant=self._tenant)
        readable: set[int] = set()
        ids = sorted({s.ticket_id for s in links})
        for start in range(0, len(ids), MAX_LIMIT):
            # One query per thousand tickets, with the principal's visibility in it.
            chunk = frozenset(ids[start : start + MAX_LIMIT])
            page = self.session.query([Condition("id", Op.IN, chunk)], limit=MAX_LIMIT)
            readable |= {t.id for t in page.items}
        return [s for s in links if s.ticket_id in readable]

    # -- writing --------------------------------------------------------------------

    def create(
        self,
        title: str,
        body: str,
        *,
        tags: Iterable[str] = (),
        status: ArticleStatus | str = ArticleStatus.DRAFT,
        note: str | None = None,
    ) -> Article:
        """Write a new article; a published one needs ``publish_articles`` as well."""
        self.session._require(_EDIT, None, "new article")
        if ArticleStatus.parse(status) is not ArticleStatus.DRAFT:
            self.session._require(_PUBLISH, None, f"new article ({ArticleStatus.parse(status)})")
        return self._kb.create(
            title, body, actor=self._actor, tags=tags, status=status, tenant=self._tenant, note=note
        )

    def edit(
        self,
        ref: int | str,
        *,
        title: Any = UNSET,
        body: Any = UNSET,
        tags: Any = UNSET,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Article:
        """Change the article's title, body or tags."""
        article = self._visible(ref, _EDIT)
        self.session._require(_EDIT, None, article.key)
        return self._kb.edit(
            article.id,
            actor=self._actor,
            title=title,
            body=body,
            tags=tags,
            note=note,
            expected_version=expected_version,
            tenant=self._tenant,
        )

    def set_status(
        self,
        ref: int | str,
        status: ArticleStatus | str,
        *,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Article:
        """Draft, publish or archive the article (``publish_articles``)."""
        wanted = ArticleStatus.parse(status)
        article = self._visible(ref, _PUBLISH)
        self.session._require(_PUBLISH, None, f"{article.key} ({wanted})")
        return self._kb.set_status(
            article.id,
            wanted,
            actor=self._actor,
            note=note,
            expected_version=expected_version,
            tenant=self._tenant,
        )

    def publish(self, ref: int | str, **options: Any) -> Article:
        return self.set_status(ref, ArticleStatus.PUBLISHED, **options)

    def archive(self, ref: int | str, **options: Any) -> Article:
        return self.set_status(ref, ArticleStatus.ARCHIVED, **options)

    def link(self, ticket: Ref, ref: int | str) -> Solution | None:
        """Record the visible article as the ticket's solution (``link`` on the ticket)."""
        found = self._linkable(ticket)
        article = self._visible(ref, "link")
        return self._kb.link(found.id, article.id, actor=self._actor)

    def unlink(self, ticket: Ref, ref: int | str) -> bool:
        """Forget that the article solves the ticket (``link`` on the ticket)."""
        found = self._linkable(ticket)
        article = self._visible(ref, "link")
        return self._kb.unlink(found.id, article.id, actor=self._actor)

    def _linkable(self, ticket: Ref) -> Ticket:
        found = self.session._find(ticket, "link")
        self.session._require("link", found)
        return found

    def promote(
        self,
        ticket: Ref,
        *,
        title: str | None = None,
        body: str | None = None,
        tags: Iterable[str] | None = None,
        status: ArticleStatus | str = ArticleStatus.DRAFT,
    ) -> Article:
        """Turn the resolved ticket into an article (``edit_articles`` on the ticket)."""
        found = self.session._find(ticket, _EDIT)
        self.session._require(_EDIT, found, "promote")
        if ArticleStatus.parse(status) is not ArticleStatus.DRAFT:
            self.session._require(_PUBLISH, None, f"promote {found.key}")
        return self._kb.promote(
            found.id, actor=self._actor, title=title, body=body, tags=tags, status=status
        )
