"""The memory store's part of the knowledge base: articles, revisions, solutions.

Mixed into :class:`ticketkit.storage.memory.MemoryStore` and its transaction,
like the automation part. Writes are staged in the transaction and applied
with the rest of it; article search is an inverted index ranked by BM25 with
the same parts, weights and formula as the SQLite store's FTS5 table, kept up
to date as transactions commit.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import Counter
from collections.abc import Callable, Sequence

from attrs import evolve

from .._errors import ConflictError, NotFound, ValidationError
from .._search import terms, words
from ..kb._article import Article, ArticleRevision, ArticleStatus, Solution
from ..kb._checks import check_article, check_article_limit, check_statuses

__all__ = ["ARTICLE_WEIGHTS", "KBState", "MemoryKBReads", "MemoryKBTransaction"]

#: How much a word counts in an article's title, body and tags; with BM25's k1 and b.
#: The SQLite store ranks with ``bm25(tk_article_search, 3.0, 1.0, 2.0)``.
ARTICLE_WEIGHTS = (3.0, 1.0, 2.0)
_K1, _B = 1.2, 0.75


def _parts(article: Article) -> tuple[Counter[str], Counter[str], Counter[str]]:
    return (
        Counter(terms(article.title)),
        Counter(terms(article.body)),
        Counter(terms(" ".join(sorted(article.tags)))),
    )


class _ArticleIndex:
    """An inverted index over articles' titles, bodies and tags, ranked by BM25."""

    def __init__(self) -> None:
        self._docs: dict[int, tuple[Counter[str], Counter[str], Counter[str], int]] = {}
        self._postings: dict[str, set[int]] = {}
        self._total = 0

    def put(self, article: Article) -> None:
        self.remove(article.id)
        title, body, tags = _parts(article)
        length = title.total() + body.total() + tags.total()
        self._docs[article.id] = (title, body, tags, length)
        self._total += length
        for term in {*title, *body, *tags}:
            self._postings.setdefault(term, set()).add(article.id)

    def remove(self, article_id: int) -> None:
        old = self._docs.pop(article_id, None)
        if old is None:
            return
        self._total -= old[3]
        for term in {*old[0], *old[1], *old[2]}:
            holders = self._postings[term]
            holders.discard(article_id)
            if not holders:
                del self._postings[term]

    def search(self, text: str, limit: int, keep: Callable[[int], bool]) -> list[tuple[int, float]]:
        count = len(self._docs)
        scores: dict[int, float] = {}
        weights = ARTICLE_WEIGHTS
        for term in {w.casefold() for w in words(text)}:
            holders = self._postings.get(term)
            if not holders:
                continue
            idf = max(math.log((count - len(holders) + 0.5) / (len(holders) + 0.5)), 1e-6)
            average = self._total / count
            for article_id in holders:
                if not keep(article_id):
                    continue
                title, body, tags, length = self._docs[article_id]
                f = weights[0] * title[term] + weights[1] * body[term] + weights[2] * tags[term]
                norm = _K1 * (1 - _B + _B * length / average)
                scores[article_id] = scores.get(article_id, 0.0) + idf * f * (_K1 + 1) / (f + norm)
        return heapq.nsmallest(limit, scores.items(), key=lambda hit: (-hit[1], hit[0]))


class KBState:
    """What the memory store keeps for the knowledge base."""

    def __init__(self) -> None:
        self.articles: dict[int, Article] = {}
        self.revisions: dict[int, list[ArticleRevision]] = {}
        self.solutions: dict[tuple[int, int], Solution] = {}  # (ticket id, article id)
        self.last_article_id = 0
        self.index = _ArticleIndex()


def _revision(article: Article, note: str | None) -> ArticleRevision:
    return ArticleRevision(
        article_id=article.id,
        version=article.version,
        title=article.title,
        body=article.body,
        tags=article.tags,
        status=article.status,
        author=article.updated_by,
        at=article.updated,
        note=note,
    )


class MemoryKBTransaction:
    """The knowledge-base operations of a memory transaction (see the Transaction protocol)."""

    def _start_kb(self, state: KBState) -> None:
        self._kb = state
        self._kb_articles: dict[int, Article] = {}  # new and changed, by id
        self._kb_revisions: list[ArticleRevision] = []
        self._kb_solutions: dict[tuple[int, int], Solution | None] = {}  # None: removed
        self._kb_renames: list[tuple[str, str, str]] = []
        self._kb_last_id = state.last_article_id

    def create_article(self, draft: Article, *, note: str | None = None) -> Article:
        draft = check_article(draft, "create_article")
        self._kb_last_id += 1
        article = evolve(draft, id=self._kb_last_id, version=1)
        self._kb_articles[article.id] = article
        self._kb_revisions.append(_revision(article, note))
        return article

    def get_article(self, article_id: int, *, tenant: str | None = None) -> Article | None:
        found = self._kb_articles.get(article_id) or self._kb.articles.get(article_id)
        if found is None or (tenant is not None and found.tenant != tenant):
            return None
        return found

    def update_article(
        self, article: Article, expected_version: int, *, note: str | None = None
    ) -> None:
        article = check_article(article, "update_article")
        current = self.get_article(article.id)
        if current is None:
            raise NotFound(f"no article {article.key} to update")
        if current.version != expected_version:
            raise ConflictError.stale(article.key, expected_version, current.version)
        self._kb_articles[article.id] = article
        self._kb_revisions.append(_revision(article, note))

    def _solution(self, key: tuple[int, int]) -> Solution | None:
        if key in self._kb_solutions:
            return self._kb_solutions[key]
        return self._kb.solutions.get(key)

    def add_solution(self, solution: Solution) -> bool:
        if not isinstance(solution, Solution):
            raise ValidationError(f"add_solution takes a Solution, got {solution!r:.60}")
        key = (solution.ticket_id, solution.article_id)
        if self._solution(key) is not None:
            return False
        self._kb_solutions[key] = solution
        return True

    def remove_solution(self, ticket_id: int, article_id: int) -> bool:
        key = (ticket_id, article_id)
        if self._solution(key) is None:
            return False
        self._kb_solutions[key] = None
        return True

    def rename_in_articles(self, person: str, alias: str, *, tenant: str) -> None:
        articles = {**self._kb.articles, **self._kb_articles}
        for article in articles.values():
            if article.tenant == tenant and person in (article.author, article.updated_by):
                self._kb_articles[article.id] = evolve(
                    article,
                    author=alias if article.author == person else article.author,
                    updated_by=alias if article.updated_by == person else article.updated_by,
                )
        self._kb_renames.append((person, alias, tenant))

    def _apply_kb(self) -> None:
        state = self._kb
        for article in self._kb_articles.values():
            state.articles[article.id] = article
            state.index.put(article)
        for revision in self._kb_revisions:
            state.revisions.setdefault(revision.article_id, []).append(revision)
        for key, solution in self._kb_solutions.items():
            if solution is None:
                state.solutions.pop(key, None)
            else:
                state.solutions[key] = solution
        for person, alias, tenant in self._kb_renames:
            _rename_stored(state, person, alias, tenant)
        state.last_article_id = self._kb_last_id


def _rename_stored(state: KBState, person: str, alias: str, tenant: str) -> None:
    """Rename ``person`` in the stored revisions and solutions (articles were staged renamed)."""
    for article_id, revisions in state.revisions.items():
        article = state.articles.get(article_id)
        if article is None or article.tenant != tenant:
            continue
        state.revisions[article_id] = [
            evolve(r, author=alias) if r.author == person else r for r in revisions
        ]
    for key, solution in state.solutions.items():
        if solution.tenant == tenant and solution.linked_by == person:
            state.solutions[key] = evolve(solution, linked_by=alias)


class MemoryKBReads:
    """The knowledge-base reads of the memory store (see the Store protocol)."""

    _lock: threading.RLock

    def _kb_state(self) -> KBState:
        raise NotImplementedError  # pragma: no cover - provided by the store

    def get_article(self, article_id: int, *, tenant: str | None = None) -> Article | None:
        with self._lock:
            found = self._kb_state().articles.get(article_id)
        if found is None or (tenant is not None and found.tenant != tenant):
            return None
        return found

    def article_revisions(
        self, article_id: int, *, tenant: str | None = None
    ) -> list[ArticleRevision]:
        with self._lock:
            if self.get_article(article_id, tenant=tenant) is None:
                return []
            return list(self._kb_state().revisions.get(article_id, ()))

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
        with self._lock:
            held = list(self._kb_state().articles.values())
        found = (
            a
            for a in held
            if a.id > after
            and (tenant is None or a.tenant == tenant)
            and (wanted is None or a.status in wanted)
            and (tag is None or tag in a.tags)
        )
        return heapq.nsmallest(limit, found, key=lambda a: a.id)

    def search_articles(
        self,
        text: str,
        *,
        limit: int,
        tenant: str | None = None,
        statuses: Sequence[ArticleStatus] | None = None,
    ) -> list[tuple[Article, float]]:
        wanted = check_statuses(statuses)
        with self._lock:
            state = self._kb_state()

            def keep(article_id: int) -> bool:
                article = state.articles[article_id]
                return (tenant is None or article.tenant == tenant) and (
                    wanted is None or article.status in wanted
                )

            found = state.index.search(text, limit, keep)
            return [(state.articles[i], score) for i, score in found]

    def solutions(
        self,
        *,
        ticket_ids: Sequence[int] | None = None,
        article_id: int | None = None,
        tenant: str | None = None,
    ) -> list[Solution]:
        if ticket_ids is None and article_id is None:
            raise ValidationError(
                "solutions needs ticket_ids or article_id (or both)", field="ticket_ids"
            )
        tickets = None if ticket_ids is None else set(ticket_ids)
        with self._lock:
            held = list(self._kb_state().solutions.values())
        found = [
            s
            for s in held
            if (tickets is None or s.ticket_id in tickets)
            and (article_id is None or s.article_id == article_id)
            and (tenant is None or s.tenant == tenant)
        ]
        return sorted(found, key=lambda s: (s.linked_at, s.ticket_id, s.article_id))
