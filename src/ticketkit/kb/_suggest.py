"""Suggestions for a ticket: the knowledge-base articles and the past tickets most like it.

Both lists come from the store's full-text engine (SQLite's FTS5 BM25,
PostgreSQL's ``ts_rank``, InnoDB's ``FULLTEXT`` relevance; the memory store's
BM25), queried with the distinctive words of the ticket's title and
description. Two signals are then combined for articles:

- how well the article's own text matches (its score divided by the best
  article's, so the best text match has 1.0), and
- whether the tickets most like this one were solved by it: each similar
  ticket adds :data:`SOLVED_WEIGHT` times its similarity to the articles
  recorded as its solution (see :meth:`KnowledgeBase.link`).

A similar ticket's ``score`` is its text score divided by the ticket's own
score against its own words, so a copy of the ticket scores 1.0. An open
similar ticket that is nearly a copy (a score of :data:`DUPLICATE_SCORE` or
more, and at least :data:`DUPLICATE_OVERLAP` of the two tickets' distinctive
words in common) is flagged ``likely_duplicate``: the same report sent twice,
or forwarded. The score alone is not enough: it is not symmetric, and a short
ticket ("forgot password") scores high against any longer one that holds its
few words. Reports of one incident in different words are found among the
similar tickets but not flagged: on the evaluation set their words overlap no
more than those of different problems (see ``benchmarks/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from .._errors import ValidationError
from .._model import Ticket
from .._query import Query
from .._search import MAX_LIMIT, MAX_TEXT, terms
from .._workflow import Category
from ._article import Article, ArticleStatus
from ._text_features import STOP_WORDS

if TYPE_CHECKING:
    from .._tracker import Tracker

__all__ = [
    "DUPLICATE_OVERLAP",
    "DUPLICATE_SCORE",
    "MAX_QUERY_WORDS",
    "SOLVED_WEIGHT",
    "ArticleSuggestion",
    "Suggestions",
    "TicketSuggestion",
    "query_text",
    "suggest",
]

#: The most words of a ticket a suggestion searches for (title words first).
MAX_QUERY_WORDS = 48
#: How much a similar ticket's similarity adds to the article that solved it.
SOLVED_WEIGHT = 0.5
#: The similarity from which an open similar ticket may be flagged as a likely duplicate.
DUPLICATE_SCORE = 0.5
#: The share of distinctive words two tickets must have in common (Dice's coefficient,
#: ``2 |A ∩ B| / (|A| + |B|)``) for one to be flagged as a likely duplicate of the other.
DUPLICATE_OVERLAP = 0.6
#: How many similar tickets lend their solutions to the articles' ranking.
_NEIGHBOURS = 10
_DONE = (Category.RESOLVED, Category.CLOSED)


@attrs.frozen
class ArticleSuggestion:
    """A published article that may solve the ticket.

    ``score`` compares within one :class:`Suggestions`; ``solved`` holds the keys
    of the similar tickets this article was recorded to solve.
    """

    article: Article
    score: float
    solved: tuple[str, ...] = ()


@attrs.frozen
class TicketSuggestion:
    """A ticket like this one: ``score`` is 1.0 for a copy of the ticket's text."""

    ticket: Ticket
    score: float
    likely_duplicate: bool = False


@attrs.frozen
class Suggestions:
    """What :meth:`Tracker.suggest` found for one ticket (or text), best first."""

    articles: tuple[ArticleSuggestion, ...] = ()
    tickets: tuple[TicketSuggestion, ...] = ()


def query_text(title: str, description: str = "") -> str:
    """The words a suggestion searches for: distinctive, distinct, title words first.

    Stop words, one-letter words and repeats are dropped; at most
    :data:`MAX_QUERY_WORDS` words and :data:`~ticketkit._search.MAX_TEXT` characters.
    """
    chosen: list[str] = []
    seen: set[str] = set()
    length = 0
    for text in (title, description[: MAX_TEXT * 20]):
        for word in terms(text):
            if len(word) < 2 or word in STOP_WORDS or word in seen:
                continue
            if len(chosen) == MAX_QUERY_WORDS or length + len(word) + 1 > MAX_TEXT:
                return " ".join(chosen)
            seen.add(word)
            chosen.append(word)
            length += len(word) + 1
    return " ".join(chosen)


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT:
        raise ValidationError(
            f"{what} must be a whole number from 0 to {MAX_LIMIT}, got {value!r:.60}", field=what
        )
    return value


def suggest(
    tracker: Tracker,
    *,
    title: str | None = None,
    description: str | None = None,
    ticket: Ticket | None = None,
    tenant: str | None = None,
    articles: int = 3,
    tickets: int = 5,
    where: Query | None = None,
    visible: Callable[[Ticket], bool] | None = None,
    use_tickets: bool = True,
) -> Suggestions:
    """Rank published articles and similar tickets for ``ticket`` or for a text.

    Give a ``ticket`` (its title, description and tenant are searched, unless
    ``title``, ``description`` or ``tenant`` say otherwise), or a ``title`` (and
    ``description``) not yet in a ticket, such as a web form's. The ticket is
    left out of the similar tickets, as are the tickets merged into it or it
    into; ``tenant`` keeps everything to one tenant. ``where`` (a checked query)
    and ``visible`` keep the similar tickets (and so the solutions that may
    lift an article) to those a principal may see. ``articles`` and ``tickets``
    say how many of each to return; similar tickets are searched for even with
    ``tickets=0``, for the articles that solved them, unless ``use_tickets`` is
    false: then articles are ranked by their text alone.
    """
    want_articles = _count(articles, "articles")
    want_tickets = _count(tickets, "tickets")
    if ticket is not None:
        title = ticket.title if title is None else title
        description = ticket.description if description is None else description
        tenant = ticket.tenant if tenant is None else tenant
    if title is None:
        raise ValidationError("suggest needs a ticket or a title", field="title")
    text = query_text(title, description or "")
    if not text or (want_articles == 0 and want_tickets == 0):
        return Suggestions()
    similar = (
        _similar(tracker, text, ticket, tenant, want_tickets, where, visible) if use_tickets else []
    )
    ranked = _articles(tracker, text, tenant, want_articles, similar) if want_articles else ()
    return Suggestions(articles=ranked, tickets=tuple(similar[:want_tickets]))


def _similar(
    tracker: Tracker,
    text: str,
    ticket: Ticket | None,
    tenant: str | None,
    wanted: int,
    where: Query | None,
    visible: Callable[[Ticket], bool] | None,
) -> list[TicketSuggestion]:
    limit = min(MAX_LIMIT, max(wanted, _NEIGHBOURS) + 5)
    found = tracker.store.search(text, limit=limit, tenant=tenant, where=where)
    own: float | None = None
    others: list[tuple[Ticket, float]] = []
    for hit, score in found:
        if ticket is not None and hit.id == ticket.id:
            own = score
        elif _unmerged(hit, ticket) and (visible is None or visible(hit)):
            others.append((hit, score))
    if not others:
        return []
    scale = own if own is not None and own > 0 else max(s for _, s in others)
    workflow = tracker.workflow
    mine = set(text.split())
    similar = []
    for hit, score in others:
        similarity = min(1.0, score / scale) if scale > 0 else 0.0
        open_ = workflow.category(hit.status) not in _DONE and hit.merged_into is None
        duplicate = (
            ticket is not None
            and open_
            and similarity >= DUPLICATE_SCORE
            and overlap(mine, set(query_text(hit.title, hit.description).split()))
            >= DUPLICATE_OVERLAP
        )
        similar.append(TicketSuggestion(hit, round(similarity, 6), duplicate))
    return similar


def overlap(first: set[str], second: set[str]) -> float:
    """Dice's coefficient of two word sets: 1.0 for the same words, 0.0 for none shared."""
    if not first and not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))


def _unmerged(hit: Ticket, ticket: Ticket | None) -> bool:
    """True unless one of the two was merged into the other."""
    return ticket is None or (hit.merged_into != ticket.key and ticket.merged_into != hit.key)


def _articles(
    tracker: Tracker,
    text: str,
    tenant: str | None,
    wanted: int,
    similar: Sequence[TicketSuggestion],
) -> tuple[ArticleSuggestion, ...]:
    store = tracker.store
    published = (ArticleStatus.PUBLISHED,)
    found = store.search_articles(
        text, limit=min(MAX_LIMIT, max(3 * wanted, 10)), tenant=tenant, statuses=published
    )
    best = max((s for _, s in found), default=0.0)
    scores = {a.id: (s / best if best > 0 else 0.0) for a, s in found}
    articles = {a.id: a for a, _ in found}
    solved: dict[int, list[str]] = {}
    neighbours = {s.ticket.id: s for s in similar[:_NEIGHBOURS]}
    if neighbours:
        for solution in store.solutions(ticket_ids=sorted(neighbours), tenant=tenant):
            article = articles.get(solution.article_id) or store.get_article(
                solution.article_id, tenant=tenant
            )
            if article is None or article.status is not ArticleStatus.PUBLISHED:
                continue
            articles[article.id] = article
            neighbour = neighbours[solution.ticket_id]
            scores[article.id] = scores.get(article.id, 0.0) + SOLVED_WEIGHT * neighbour.score
            solved.setdefault(article.id, []).append(solution.ticket_key)
    order = sorted(scores, key=lambda i: (-scores[i], i))[:wanted]
    return tuple(
        ArticleSuggestion(articles[i], round(scores[i], 6), tuple(solved.get(i, ()))) for i in order
    )
