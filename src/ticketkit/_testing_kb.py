"""The store contract's tests of the knowledge base: articles, revisions, solutions, search.

:class:`KnowledgeBaseContract` is mixed into :class:`ticketkit.testing.StoreContract`,
whose fixtures (``store``, ``tracker``, ``clock``) and :attr:`threads` it uses; it
is not run on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from attrs import evolve

from ._clock import FrozenClock
from ._errors import ConflictError, NotFound
from ._model import Ticket
from ._testing_support import Boom as _Boom
from ._testing_support import draft
from ._testing_support import run_threads as _run_threads
from ._tracker import Tracker
from .kb import Article, ArticleRevision, ArticleStatus, Solution
from .storage import Store, Transaction

__all__ = ["KnowledgeBaseContract"]

_AT = datetime(2026, 4, 6, 10, 30, 0, 654321, tzinfo=UTC)
_PUBLISHED = [ArticleStatus.PUBLISHED]


def _article(title: str = "Printer prints blank pages", **changes: Any) -> Article:
    values: dict[str, Any] = {
        "id": 0,
        "title": title,
        "body": "## Fix\n\n1. Replace the toner.\n2. Print a test page.",
        "status": ArticleStatus.DRAFT,
        "version": 1,
        "author": "alice@example.com",
        "created": _AT,
        "updated_by": "alice@example.com",
        "updated": _AT,
    }
    values.update(changes)
    return Article(**values)


def _create(store: Store, *articles: Article, note: str | None = None) -> list[Article]:
    with store.transaction() as tx:
        return [tx.create_article(a, note=note) for a in articles]


def _edit(store: Store, article: Article, note: str | None = None, **changes: Any) -> Article:
    new = evolve(article, version=article.version + 1, **changes)
    with store.transaction() as tx:
        tx.update_article(new, article.version, note=note)
    return new


def _ticket(store: Store, tenant: str = "default", title: str = "Printer broken") -> Ticket:
    with store.transaction() as tx:
        return tx.create_ticket(
            draft(title=title, tenant=tenant, reporter="customer@example.com", at=_AT), "KB"
        )


def _then_fail(store: Store, work: Callable[[Transaction], object]) -> None:
    """Run ``work`` in a transaction that then fails."""

    def run() -> None:
        with store.transaction() as tx:
            work(tx)
            raise _Boom

    with pytest.raises(_Boom):
        run()


def _solution(ticket: Ticket, article: Article, *, at: datetime = _AT, **changes: Any) -> Solution:
    values: dict[str, Any] = {
        "ticket_id": ticket.id,
        "ticket_key": ticket.key,
        "article_id": article.id,
        "linked_by": "alice@example.com",
        "linked_at": at,
        "tenant": ticket.tenant,
    }
    values.update(changes)
    return Solution(**values)


class KnowledgeBaseContract:
    """What every store must do for :mod:`ticketkit.kb`."""

    threads: int

    # -- articles and their versions -------------------------------------------------

    def test_created_articles_get_increasing_ids_and_keep_every_value(self, store: Store) -> None:
        """Ids count up from 1; every value of the draft comes back exactly."""
        first, second = _create(
            store,
            _article(tags=frozenset({"printer", "toner"}), tenant="acme"),
            _article(
                "Wi-Fi drops in meeting room 3 – ünïcode ✓",
                status=ArticleStatus.PUBLISHED,
                source_ticket="HD-12",
            ),
        )
        assert (first.id, second.id) == (1, 2)
        assert store.get_article(1) == first == evolve(first, id=1)
        assert store.get_article(2) == second
        assert second.title == "Wi-Fi drops in meeting room 3 – ünïcode ✓"
        assert first.tags == frozenset({"printer", "toner"})
        assert first.tenant == "acme"
        assert second.source_ticket == "HD-12"
        assert first.source_ticket is None
        assert first.created == _AT
        assert first.created.tzinfo is not None

    def test_unknown_article_gives_none_and_no_revisions(self, store: Store) -> None:
        """An id never given out is simply absent."""
        assert store.get_article(7) is None
        assert store.article_revisions(7) == []
        with store.transaction() as tx:
            assert tx.get_article(7) is None

    def test_creating_an_article_stores_its_first_revision(self, store: Store) -> None:
        """Version 1 is kept as a revision by its author, at its time, with the note."""
        (article,) = _create(store, _article(tags=frozenset({"toner"})), note="first draft")
        assert store.article_revisions(article.id) == [
            ArticleRevision(
                article_id=article.id,
                version=1,
                title=article.title,
                body=article.body,
                tags=frozenset({"toner"}),
                status=ArticleStatus.DRAFT,
                author="alice@example.com",
                at=_AT,
                note="first draft",
            )
        ]

    def test_every_update_adds_a_revision_and_keeps_the_old_ones(self, store: Store) -> None:
        """Revisions come back oldest first, each with what the article said then."""
        (v1,) = _create(store, _article())
        later = _AT + timedelta(hours=2, microseconds=7)
        v2 = _edit(store, v1, "step 3", body="New body", updated=later, updated_by="bob")
        v3 = _edit(store, v2, None, status=ArticleStatus.PUBLISHED, updated=later, updated_by="c")
        assert store.get_article(v1.id) == v3
        revisions = store.article_revisions(v1.id)
        assert [r.version for r in revisions] == [1, 2, 3]
        assert [r.body for r in revisions] == [v1.body, "New body", "New body"]
        assert [r.author for r in revisions] == ["alice@example.com", "bob", "c"]
        assert [r.status for r in revisions][-1] is ArticleStatus.PUBLISHED
        assert revisions[1].at == later
        assert revisions[1].note == "step 3"
        assert revisions[2].note is None

    def test_article_update_at_a_stale_version_conflicts(self, store: Store) -> None:
        """The second of two writes from one version fails; its revision is not kept."""
        (article,) = _create(store, _article())
        _edit(store, article, title="First writer")
        with pytest.raises(ConflictError), store.transaction() as tx:
            tx.update_article(evolve(article, version=2, title="Second writer"), 1)
        assert store.get_article(article.id).title == "First writer"  # type: ignore[union-attr]
        assert [r.title for r in store.article_revisions(article.id)] == [
            article.title,
            "First writer",
        ]

    def test_update_of_an_unknown_article_is_not_found(self, store: Store) -> None:
        """There is nothing to update."""
        with pytest.raises(NotFound), store.transaction() as tx:
            tx.update_article(evolve(_article(), id=99, version=2), 1)

    def test_failed_transaction_keeps_no_article_nor_its_revision(self, store: Store) -> None:
        """A rolled-back article leaves nothing: the next article has only its own revision."""
        _then_fail(store, lambda tx: tx.create_article(_article("Lost")))
        assert store.articles() == []
        (kept,) = _create(store, _article("Kept"))
        assert [a.title for a in store.articles()] == ["Kept"]
        assert [r.title for r in store.article_revisions(kept.id)] == ["Kept"]

    def test_transaction_sees_its_own_articles(self, store: Store) -> None:
        """Within a transaction, a new or changed article is read back as written."""
        with store.transaction() as tx:
            article = tx.create_article(_article())
            assert tx.get_article(article.id) == article
            changed = evolve(article, version=2, title="Changed")
            tx.update_article(changed, 1)
            assert tx.get_article(article.id) == changed

    # -- listing ----------------------------------------------------------------------

    def test_articles_list_in_id_order_filtered_and_paged(self, store: Store) -> None:
        """Status, tag and tenant filters combine; ``after`` and ``limit`` page through."""
        _create(
            store,
            _article("a", status=ArticleStatus.PUBLISHED, tags=frozenset({"vpn"})),
            _article("b", tags=frozenset({"vpn", "wifi"})),
            _article("c", status=ArticleStatus.ARCHIVED),
            _article("d", status=ArticleStatus.PUBLISHED, tenant="other", tags=frozenset({"vpn"})),
            _article("e", status=ArticleStatus.PUBLISHED),
        )

        def titles(**options: Any) -> list[str]:
            return [a.title for a in store.articles(**options)]

        assert titles() == ["a", "b", "c", "d", "e"]
        assert titles(tenant="default") == ["a", "b", "c", "e"]
        assert titles(statuses=_PUBLISHED) == ["a", "d", "e"]
        assert titles(statuses=[ArticleStatus.DRAFT, ArticleStatus.ARCHIVED]) == ["b", "c"]
        assert titles(tag="vpn") == ["a", "b", "d"]
        assert titles(tag="vpn", tenant="default", statuses=_PUBLISHED) == ["a"]
        assert titles(limit=2) == ["a", "b"]
        assert titles(after=2, limit=2) == ["c", "d"]
        assert titles(after=5) == []

    def test_another_tenants_article_is_absent(self, store: Store) -> None:
        """Read with a tenant, another tenant's article and its revisions do not exist."""
        (theirs,) = _create(store, _article(tenant="other"))
        assert store.get_article(theirs.id, tenant="default") is None
        assert store.article_revisions(theirs.id, tenant="default") == []
        assert store.get_article(theirs.id, tenant="other") == theirs
        with store.transaction() as tx:
            assert tx.get_article(theirs.id, tenant="default") is None

    # -- search -------------------------------------------------------------------------

    def test_search_finds_words_in_title_body_and_tags(self, store: Store) -> None:
        """Whole words, any case, in any of the three parts."""
        _create(
            store,
            _article("Scanner sends empty PDFs", body="Check the scanner glass.", tags=frozenset()),
            _article("Laptop battery drains", body="Dim the screen; the Battery report helps."),
            _article("Docking station", body="Update firmware.", tags=frozenset({"thunderbolt"})),
        )

        def found(text: str) -> list[str]:
            return [a.title for a, _ in store.search_articles(text, limit=10)]

        assert found("scanner") == ["Scanner sends empty PDFs"]
        assert found("BATTERY") == ["Laptop battery drains"]
        assert found("thunderbolt") == ["Docking station"]
        assert sorted(found("firmware glass")) == ["Docking station", "Scanner sends empty PDFs"]
        assert found("nothing matches this") == []
        assert found("scan") == []  # whole words only

    def test_search_ranks_a_title_match_above_a_passing_mention(self, store: Store) -> None:
        """An article about the words beats one that mentions one of them once."""
        _create(
            store,
            _article("Meeting notes", body="Someone said the VPN was slow once. " * 3),
            _article("VPN disconnects every few minutes", body="Reinstall the VPN client."),
            _article("Unrelated", body="Nothing about it."),
        )
        ranked = store.search_articles("vpn disconnects", limit=10)
        assert [a.title for a, _ in ranked] == [
            "VPN disconnects every few minutes",
            "Meeting notes",
        ]
        assert ranked[0][1] > ranked[1][1]

    def test_search_keeps_to_the_statuses_and_tenant_asked_for(self, store: Store) -> None:
        """Other statuses and tenants never take a place; the limit counts only matches kept."""
        _create(
            store,
            _article("Toner low", status=ArticleStatus.DRAFT),
            _article("Toner smudges", status=ArticleStatus.ARCHIVED),
            _article("Toner order", status=ArticleStatus.PUBLISHED, tenant="other"),
            _article("Toner streaks", status=ArticleStatus.PUBLISHED),
        )
        hits = store.search_articles("toner", limit=1, tenant="default", statuses=_PUBLISHED)
        assert [a.title for a, _ in hits] == ["Toner streaks"]
        everything = store.search_articles("toner", limit=10)
        assert sorted(a.title for a, _ in everything) == [
            "Toner low",
            "Toner order",
            "Toner smudges",
            "Toner streaks",
        ]

    def test_search_follows_edits(self, store: Store) -> None:
        """After an edit, old words no longer match and new ones do."""
        (article,) = _create(store, _article("Outlook crashes", body="Start in safe mode."))
        _edit(store, article, title="Teams crashes", body="Clear the Teams cache.")
        assert store.search_articles("outlook", limit=5) == []
        assert [a.title for a, _ in store.search_articles("teams cache", limit=5)] == [
            "Teams crashes"
        ]

    def test_search_never_reads_query_syntax(self, store: Store) -> None:
        """Operators and quotes in the text are only words or nothing at all."""
        _create(store, _article("Printer NEAR the door", body='Says "error 0x80070005" AND more'))
        for text in ('"printer', "printer*", "NEAR(printer door)", "printer OR", "0x80070005:^"):
            hits = store.search_articles(text, limit=5)
            assert [a.title for a, _ in hits] == ["Printer NEAR the door"], text

    def test_search_ties_go_to_the_lower_id(self, store: Store) -> None:
        """Equal texts rank by id."""
        _create(store, _article("Same text"), _article("Same text"), _article("Same text"))
        assert [a.id for a, _ in store.search_articles("same text", limit=3)] == [1, 2, 3]

    # -- solutions ---------------------------------------------------------------------

    def test_solutions_link_tickets_and_articles_once(self, store: Store) -> None:
        """A link is recorded once; it is found from either side, oldest first."""
        first, second = _ticket(store), _ticket(store, title="Printer again")
        a, b = _create(store, _article(), _article("Other"))
        later = _AT + timedelta(minutes=5)
        with store.transaction() as tx:
            assert tx.add_solution(_solution(first, a, at=later))
            assert tx.add_solution(_solution(second, a))
            assert not tx.add_solution(_solution(first, a, linked_by="someone else"))
            assert tx.add_solution(_solution(first, b, at=later))
        assert store.solutions(article_id=a.id) == [
            _solution(second, a),
            _solution(first, a, at=later),
        ]
        assert store.solutions(ticket_ids=[first.id]) == [
            _solution(first, a, at=later),
            _solution(first, b, at=later),
        ]
        assert store.solutions(ticket_ids=[first.id, second.id], article_id=b.id) == [
            _solution(first, b, at=later)
        ]
        assert store.solutions(ticket_ids=[]) == []

    def test_removing_a_solution(self, store: Store) -> None:
        """Removed once; removing what is not there says so."""
        ticket = _ticket(store)
        (article,) = _create(store, _article())
        with store.transaction() as tx:
            tx.add_solution(_solution(ticket, article))
        with store.transaction() as tx:
            assert tx.remove_solution(ticket.id, article.id)
            assert not tx.remove_solution(ticket.id, article.id)
        assert store.solutions(ticket_ids=[ticket.id]) == []

    def test_failed_transaction_keeps_no_solution(self, store: Store) -> None:
        """A rolled-back link is not recorded; a rolled-back removal keeps it."""
        ticket = _ticket(store)
        (article,) = _create(store, _article())
        _then_fail(store, lambda tx: tx.add_solution(_solution(ticket, article)))
        assert store.solutions(article_id=article.id) == []
        with store.transaction() as tx:
            tx.add_solution(_solution(ticket, article))
        _then_fail(store, lambda tx: tx.remove_solution(ticket.id, article.id))
        assert store.solutions(article_id=article.id) == [_solution(ticket, article)]

    def test_solutions_of_another_tenant_are_absent(self, store: Store) -> None:
        """Read with a tenant, another tenant's links do not exist."""
        theirs = _ticket(store, tenant="other")
        (article,) = _create(store, _article(tenant="other"))
        with store.transaction() as tx:
            tx.add_solution(_solution(theirs, article))
        assert store.solutions(article_id=article.id, tenant="default") == []
        assert store.solutions(ticket_ids=[theirs.id], tenant="other") == [
            _solution(theirs, article)
        ]

    # -- erasure -----------------------------------------------------------------------

    def test_rename_in_articles_replaces_exact_names_in_one_tenant(self, store: Store) -> None:
        """Authors, editors, revision authors and linkers; other tenants keep theirs."""
        ticket = _ticket(store)
        ours, theirs = _create(
            store, _article(author="ann"), _article(author="ann", updated_by="ann", tenant="x")
        )
        ours = _edit(store, ours, updated_by="ann", title="Edited")
        _edit(store, ours, updated_by="ANN", title="Edited again")
        with store.transaction() as tx:
            tx.add_solution(_solution(ticket, ours, linked_by="ann"))
        with store.transaction() as tx:
            tx.rename_in_articles("ann", "erased-1", tenant="default")
        renamed = store.get_article(ours.id)
        assert renamed is not None
        assert (renamed.author, renamed.updated_by) == ("erased-1", "ANN")
        assert [r.author for r in store.article_revisions(ours.id)] == [
            "alice@example.com",
            "erased-1",
            "ANN",
        ]
        assert [s.linked_by for s in store.solutions(article_id=ours.id)] == ["erased-1"]
        other = store.get_article(theirs.id)
        assert other is not None
        assert (other.author, other.updated_by) == ("ann", "ann")

    # -- through the tracker --------------------------------------------------------------

    def test_concurrent_edits_of_one_article_all_land_or_conflict(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """Edits from many threads: each version is made once, none is lost unrecorded."""
        article = tracker.kb.create("Shared", "Body 0", actor="alice", status="published")
        wins: list[int] = []

        def work(i: int) -> None:
            for _ in range(5):
                current = tracker.kb.get(article.id)
                try:
                    tracker.kb.edit(
                        article.id,
                        actor=f"agent{i}",
                        body=f"Body by {i} at {current.version}",
                        expected_version=current.version,
                    )
                    wins.append(i)
                except ConflictError:
                    pass

        _run_threads(self.threads, work)
        revisions = tracker.kb.history(article.id)
        assert [r.version for r in revisions] == list(range(1, len(wins) + 2))
        assert tracker.kb.get(article.id).version == len(wins) + 1

    def test_suggest_ranks_the_article_that_solves_the_problem(
        self, tracker: Tracker, clock: FrozenClock
    ) -> None:
        """The store's full-text engine finds the right article and the similar ticket."""
        kb = tracker.kb
        kb.create(
            "Outlook keeps asking for the password",
            "After a password change, Outlook prompts again and again. Remove the "
            "saved credentials in Credential Manager and sign in again.",
            actor="alice",
            tags=["outlook", "password"],
            status="published",
        )
        kb.create(
            "VPN disconnects every few minutes",
            "Update the VPN client and turn off Wi-Fi power saving.",
            actor="alice",
            tags=["vpn"],
            status="published",
        )
        kb.create(
            "Outlook password draft",
            "A draft must never be suggested.",
            actor="alice",
            tags=["outlook", "password"],
        )
        clock.advance(minutes=1)
        old = tracker.open(
            title="Outlook asks for my password all the time",
            description="Since I changed my password Outlook asks again and again",
            actor="bob@example.com",
        )
        clock.advance(minutes=1)
        new = tracker.open(
            title="Password prompt in Outlook",
            description="Outlook keeps prompting me for my password since yesterday",
            actor="carol@example.com",
        )
        found = tracker.suggest(new.key)
        assert [s.article.key for s in found.articles] == ["KB-1"]
        assert [s.ticket.key for s in found.tickets] == [old.key]
        assert 0 < found.tickets[0].score <= 1
