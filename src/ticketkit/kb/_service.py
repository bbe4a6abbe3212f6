"""The knowledge base of a tracker: write, publish and find articles; link them to tickets.

:class:`KnowledgeBase` is what ``tracker.kb`` returns. Every change to an
article is a new version, kept with its author and time; a stale
``expected_version`` raises :class:`~ticketkit.ConflictError` and changes
nothing. Linking an article to a ticket as its solution records a
``solution_linked`` event in the ticket's history (a notice: the ticket's
version does not change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from attrs import evolve

from .._clock import ensure_utc
from .._edits import UNSET
from .._errors import ConflictError, NotFound, ValidationError
from .._events import EventType, ticket_event
from .._model import Ticket, normalise_tags
from .._search import check_search, words
from .._text import check_body, check_name, check_title
from ._article import Article, ArticleRevision, ArticleStatus, Solution, article_id
from ._checks import check_article_limit, check_statuses
from ._promote import check_promotable, promoted_body

if TYPE_CHECKING:
    from .._tracker import Ref, Tracker
    from ..storage import Transaction

__all__ = ["ArticleHit", "KnowledgeBase"]

_PUBLISHED = (ArticleStatus.PUBLISHED,)


@attrs.frozen
class ArticleHit:
    """An article :meth:`KnowledgeBase.search` found; ``score`` compares within one result."""

    article: Article
    score: float


def _note(note: object) -> str | None:
    return None if note is None else check_title(note, "note")


def _version(expected_version: object) -> int | None:
    if expected_version is None:
        return None
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise ValidationError(
            f"expected_version must be a whole number, got {expected_version!r:.60}",
            field="expected_version",
        )
    return expected_version


class KnowledgeBase:
    """The articles of ``tracker``'s store: known problems and their solutions.

    Trusted like the tracker: reads are not scoped and any actor may write. A
    front end serving people uses ``tracker.session(principal).kb`` instead,
    which applies the access policy.
    """

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def __repr__(self) -> str:
        return f"<KnowledgeBase of {self.tracker!r}>"

    def _now(self) -> datetime:
        return ensure_utc(self.tracker.clock.now(), "clock.now()")

    # -- reading --------------------------------------------------------------------

    def get(self, ref: int | str, *, tenant: str | None = None) -> Article:
        """The article with this id or key (``"KB-12"``); :class:`NotFound` if none."""
        found = self.tracker.store.get_article(article_id(ref), tenant=tenant)
        if found is None:
            raise NotFound(f"no article {ref}")
        return found

    def history(self, ref: int | str, *, tenant: str | None = None) -> list[ArticleRevision]:
        """Every version of the article, oldest first."""
        article = self.get(ref, tenant=tenant)
        return self.tracker.store.article_revisions(article.id, tenant=tenant)

    def revision(
        self, ref: int | str, version: int, *, tenant: str | None = None
    ) -> ArticleRevision:
        """The article as it was at ``version``."""
        for revision in self.history(ref, tenant=tenant):
            if revision.version == version:
                return revision
        raise NotFound(f"article {ref} has no version {version!r:.20}")

    def articles(
        self,
        *,
        status: ArticleStatus | str | Iterable[ArticleStatus | str] | None = None,
        tag: str | None = None,
        tenant: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[Article]:
        """Articles in id order (``after`` an id, for the next page), filtered by status and tag."""
        statuses = None if status is None else _statuses(status)
        wanted_tag = None if tag is None else next(iter(normalise_tags([tag])))
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValidationError(
                f"after must be an article id (0 for the first page), got {after!r:.60}",
                field="after",
            )
        return self.tracker.store.articles(
            tenant=tenant,
            statuses=statuses,
            tag=wanted_tag,
            after=after,
            limit=check_article_limit(limit),
        )

    def search(
        self,
        text: str,
        *,
        limit: int = 10,
        status: ArticleStatus | str | Iterable[ArticleStatus | str] | None = _PUBLISHED,
        tenant: str | None = None,
    ) -> list[ArticleHit]:
        """The articles whose title, body and tags best match ``text``, best first.

        Only published ones unless ``status`` says otherwise (``None``: all).
        """
        checked, most = check_search(text, limit)
        if not words(checked):
            return []
        statuses = None if status is None else _statuses(status)
        found = self.tracker.store.search_articles(
            checked, limit=most, tenant=tenant, statuses=statuses
        )
        return [ArticleHit(article, score) for article, score in found]

    def solutions(self, ticket: Ref, *, tenant: str | None = None) -> list[Article]:
        """The articles recorded as the ticket's solution, oldest link first."""
        found = self._ticket(ticket, tenant)
        links = self.tracker.store.solutions(ticket_ids=[found.id], tenant=tenant)
        store = self.tracker.store
        return [a for s in links if (a := store.get_article(s.article_id)) is not None]

    def solved(self, ref: int | str, *, tenant: str | None = None) -> list[Solution]:
        """The tickets the article is recorded to solve, oldest link first."""
        article = self.get(ref, tenant=tenant)
        return self.tracker.store.solutions(article_id=article.id, tenant=tenant)

    def _ticket(self, ref: Ref, tenant: str | None) -> Ticket:
        ticket = self.tracker.get(ref)
        if tenant is not None and ticket.tenant != tenant:
            raise NotFound(f"no ticket {ref}")
        return ticket

    # -- writing --------------------------------------------------------------------

    def create(
        self,
        title: str,
        body: str,
        *,
        actor: str,
        tags: Iterable[str] = (),
        status: ArticleStatus | str = ArticleStatus.DRAFT,
        tenant: str = "default",
        note: str | None = None,
    ) -> Article:
        """Write a new article (a draft unless ``status`` says otherwise)."""
        draft = self._draft(title, body, actor, tags, status, tenant)
        note = _note(note)
        with self.tracker.store.transaction() as tx:
            return tx.create_article(draft, note=note)

    def _draft(
        self,
        title: object,
        body: object,
        actor: object,
        tags: Iterable[str],
        status: object,
        tenant: object,
        source_ticket: str | None = None,
    ) -> Article:
        now = self._now()
        author = check_name(actor, "actor")
        return Article(
            id=0,
            title=check_title(title),
            body=check_body(body, "body", allow_empty=False),
            status=ArticleStatus.parse(status),
            version=1,
            author=author,
            created=now,
            updated_by=author,
            updated=now,
            tags=normalise_tags(tags),
            tenant=check_name(tenant, "tenant"),
            source_ticket=source_ticket,
        )

    def edit(
        self,
        ref: int | str,
        *,
        actor: str,
        title: Any = UNSET,
        body: Any = UNSET,
        tags: Any = UNSET,
        note: str | None = None,
        expected_version: int | None = None,
        tenant: str | None = None,
    ) -> Article:
        """Change the title, body or tags; a change that changes nothing keeps the version."""
        changes: dict[str, Any] = {}
        if title is not UNSET:
            changes["title"] = check_title(title)
        if body is not UNSET:
            changes["body"] = check_body(body, "body", allow_empty=False)
        if tags is not UNSET:
            changes["tags"] = normalise_tags(tags)
        return self._change(ref, actor, changes, note, expected_version, tenant)

    def set_status(
        self,
        ref: int | str,
        status: ArticleStatus | str,
        *,
        actor: str,
        note: str | None = None,
        expected_version: int | None = None,
        tenant: str | None = None,
    ) -> Article:
        """Move the article to ``status``: ``"draft"``, ``"published"`` or ``"archived"``."""
        wanted = ArticleStatus.parse(status)
        return self._change(ref, actor, {"status": wanted}, note, expected_version, tenant)

    def publish(self, ref: int | str, *, actor: str, **options: Any) -> Article:
        """Show the article to everyone of its tenant and offer it as a suggestion."""
        return self.set_status(ref, ArticleStatus.PUBLISHED, actor=actor, **options)

    def archive(self, ref: int | str, *, actor: str, **options: Any) -> Article:
        """Retire the article: kept, with its history and links, but no longer shown."""
        return self.set_status(ref, ArticleStatus.ARCHIVED, actor=actor, **options)

    def _change(
        self,
        ref: int | str,
        actor: object,
        changes: dict[str, Any],
        note: object,
        expected_version: object,
        tenant: str | None,
    ) -> Article:
        who = check_name(actor, "actor")
        checked_note = _note(note)
        expected = _version(expected_version)
        wanted = article_id(ref)
        now = self._now()
        with self.tracker.store.transaction() as tx:
            current = tx.get_article(wanted, tenant=tenant)
            if current is None:
                raise NotFound(f"no article {ref}")
            if expected is not None and expected != current.version:
                raise ConflictError.stale(current.key, expected, current.version)
            if all(getattr(current, name) == value for name, value in changes.items()):
                return current
            new = evolve(
                current, **changes, version=current.version + 1, updated=now, updated_by=who
            )
            tx.update_article(new, current.version, note=checked_note)
        return new

    # -- articles and tickets -------------------------------------------------------

    def link(self, ticket: Ref, ref: int | str, *, actor: str) -> Solution | None:
        """Record the article as the ticket's solution; ``None`` if it already was.

        Both must be of one tenant. The ticket's history gets a ``solution_linked``
        event (a notice, which keeps the ticket's version).
        """
        made: list[Solution] = []

        def add(tx: Transaction, target: Ticket, article: Article, who: str, now: datetime) -> bool:
            made.append(Solution(target.id, target.key, article.id, who, now, target.tenant))
            return tx.add_solution(made[0])

        return made[0] if self._relink(ticket, ref, actor, EventType.SOLUTION_LINKED, add) else None

    def unlink(self, ticket: Ref, ref: int | str, *, actor: str) -> bool:
        """Forget that the article solves the ticket; ``False`` if it was not recorded."""

        def remove(tx: Transaction, target: Ticket, article: Article, *_: object) -> bool:
            return tx.remove_solution(target.id, article.id)

        return self._relink(ticket, ref, actor, EventType.SOLUTION_UNLINKED, remove)

    def _relink(
        self,
        ticket: Ref,
        ref: int | str,
        actor: str,
        kind: EventType,
        change: Callable[[Transaction, Ticket, Article, str, datetime], bool],
    ) -> bool:
        """Apply ``change`` to the pair; if it changed something, record ``kind`` on the ticket."""
        who = check_name(actor, "actor")
        wanted = article_id(ref)
        now = self._now()
        with self.tracker.store.transaction() as tx:
            target, article = self._pair(tx, ticket, wanted)
            if not change(tx, target, article, who, now):
                return False
            notice = ticket_event(
                target, kind, who, now, article_id=article.id, article=article.key
            )
            stored = tx.add_events([notice])
        self.tracker._publish(stored)
        return True

    def _pair(self, tx: Transaction, ticket: Ref, wanted: int) -> tuple[Ticket, Article]:
        target = self.tracker._load(tx, ticket)
        article = tx.get_article(wanted, tenant=target.tenant)
        if article is None:
            raise NotFound(f"no article KB-{wanted} in the tenant of {target.key}")
        return target, article

    def promote(
        self,
        ticket: Ref,
        *,
        actor: str,
        title: str | None = None,
        body: str | None = None,
        tags: Iterable[str] | None = None,
        status: ArticleStatus | str = ArticleStatus.DRAFT,
    ) -> Article:
        """Turn a resolved ticket into a known-problem article, linked as its solution.

        The title and tags default to the ticket's; the body to its description
        as the problem and its public replies from the help desk as the solution,
        with the addresses of the reporter and watchers replaced by
        ``[customer]``. The article is a draft unless ``status`` says otherwise,
        so someone reads it before customers do. A ticket that is not resolved or
        closed, or that was promoted before, raises :class:`ValidationError`.
        """
        who = check_name(actor, "actor")
        source = self.tracker.get(ticket)
        check_promotable(self.tracker, source)
        if body is None:
            body = promoted_body(source, self.tracker.comments(source.key, internal=False))
        draft = self._draft(
            source.title if title is None else title,
            body,
            who,
            source.tags if tags is None else tags,
            status,
            source.tenant,
            source_ticket=source.key,
        )
        with self.tracker.store.transaction() as tx:
            article = tx.create_article(draft, note=f"promoted from {source.key}")
            current = self.tracker._load(tx, source.id)
            at = draft.created
            tx.add_solution(Solution(current.id, current.key, article.id, who, at, current.tenant))
            facts = {"article_id": article.id, "article": article.key, "promoted": True}
            kind = EventType.SOLUTION_LINKED
            stored = tx.add_events([ticket_event(current, kind, who, at, **facts)])
        self.tracker._publish(stored)
        return article


def _statuses(
    value: ArticleStatus | str | Iterable[ArticleStatus | str],
) -> Sequence[ArticleStatus]:
    if isinstance(value, str):
        return (ArticleStatus.parse(value),)
    checked = check_statuses(value)
    assert checked is not None
    return sorted(checked)
