"""The knowledge base through the tracker: articles, versions, statuses, solutions, promotion."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from databases import fresh_database
from ticketkit import ConflictError, EventType, FrozenClock, NotFound, Tracker, ValidationError
from ticketkit.kb import CUSTOMER, ArticleStatus, KnowledgeBase, Solution

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
BODY = "## Symptoms\n\nThe printer prints blank pages.\n\n## Fix\n\n1. Shake the toner."


@pytest.fixture(params=["memory", "sqlite"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    clock = FrozenClock(START)
    if request.param == "memory":
        with Tracker.in_memory(clock=clock, prefix="HD") as tracker:
            yield tracker
        return
    with (
        fresh_database("sqlite", tmp_path) as url,
        Tracker.from_url(url, clock=clock, prefix="HD") as tracker,
    ):
        yield tracker


@pytest.fixture
def kb(tracker: Tracker) -> KnowledgeBase:
    return tracker.kb


def advance(tracker: Tracker, **delta: Any) -> None:
    clock = tracker.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(**delta)


def everything(tracker: Tracker) -> Any:
    """All the store holds of the knowledge base, to show a refused call changed nothing."""
    store = tracker.store
    articles = store.articles(limit=1000)
    return (
        articles,
        [store.article_revisions(a.id) for a in articles],
        [store.solutions(article_id=a.id) for a in articles],
    )


class TestArticles:
    def test_create_makes_a_draft_by_its_author(self, kb: KnowledgeBase) -> None:
        """A new article is version 1, a draft, written and last changed by its author."""
        article = kb.create(" Blank pages ", BODY, actor="alice", tags=["Printer", "toner"])
        assert (article.key, article.title, article.status) == ("KB-1", "Blank pages", "draft")
        assert (article.version, article.author, article.updated_by) == (1, "alice", "alice")
        assert article.tags == frozenset({"printer", "toner"})
        assert article.created == article.updated == START
        assert kb.get("KB-1") == kb.get(1) == kb.get(" kb-1 ") == article

    def test_edit_makes_a_version_with_its_editor_time_and_note(
        self, tracker: Tracker, kb: KnowledgeBase
    ) -> None:
        """Every edit is kept: who, when, what it said, and the editor's note."""
        article = kb.create("Blank pages", BODY, actor="alice")
        advance(tracker, hours=1)
        edited = kb.edit(article.key, actor="bob", body=BODY + "\n2. Replace it.", note="step 2")
        assert (edited.version, edited.updated_by, edited.author) == (2, "bob", "alice")
        assert edited.updated > edited.created
        history = kb.history(article.key)
        assert [(r.version, r.author, r.note) for r in history] == [
            (1, "alice", None),
            (2, "bob", "step 2"),
        ]
        assert history[0].body == BODY
        assert kb.revision(article.key, 1).body == BODY

    def test_an_edit_that_changes_nothing_keeps_the_version(self, kb: KnowledgeBase) -> None:
        """Setting what is already there records no new version."""
        article = kb.create("Blank pages", BODY, actor="alice", tags=["toner"])
        same = kb.edit(article.id, actor="bob", title="Blank pages", tags=["TONER"])
        assert same == article
        assert len(kb.history(article.id)) == 1

    def test_statuses_move_and_are_versions(self, kb: KnowledgeBase) -> None:
        """Publish, archive and back to draft: each is a version."""
        article = kb.create("Blank pages", BODY, actor="alice")
        assert kb.publish(article.id, actor="lead").status is ArticleStatus.PUBLISHED
        assert kb.archive(article.id, actor="lead", note="obsolete").status == "archived"
        assert kb.set_status(article.id, "draft", actor="alice").status == "draft"
        assert [r.status.value for r in kb.history(article.id)] == [
            "draft",
            "published",
            "archived",
            "draft",
        ]

    def test_a_stale_edit_conflicts_and_changes_nothing(self, kb: KnowledgeBase) -> None:
        """expected_version guards against overwriting someone else's edit."""
        article = kb.create("Blank pages", BODY, actor="alice")
        kb.edit(article.id, actor="bob", title="Blank pages again", expected_version=1)
        with pytest.raises(ConflictError, match="KB-1 is at version 2, not 1"):
            kb.edit(article.id, actor="carol", title="Mine", expected_version=1)
        assert kb.get(article.id).title == "Blank pages again"

    def test_listing_filters_and_pages(self, kb: KnowledgeBase) -> None:
        """By status (one or several), tag and tenant, in id order, a page at a time."""
        kb.create("A", BODY, actor="x", tags=["vpn"], status="published")
        kb.create("B", BODY, actor="x", tags=["vpn"])
        kb.create("C", BODY, actor="x", status="archived")
        kb.create("D", BODY, actor="x", tenant="other", status="published")

        def titles(**options: Any) -> list[str]:
            return [a.title for a in kb.articles(**options)]

        assert titles() == ["A", "B", "C", "D"]
        assert titles(status="published") == ["A", "D"]
        assert titles(status=["draft", "archived"], tenant="default") == ["B", "C"]
        assert titles(tag="VPN") == ["A", "B"]
        assert titles(after=1, limit=2) == ["B", "C"]

    def test_search_finds_published_articles_by_default(self, kb: KnowledgeBase) -> None:
        """Drafts and archived articles are found only when asked for."""
        kb.create("Toner smudges", BODY, actor="x", status="published")
        kb.create("Toner draft", BODY, actor="x")
        assert [h.article.title for h in kb.search("toner")] == ["Toner smudges"]
        assert sorted(h.article.title for h in kb.search("toner", status=None)) == [
            "Toner draft",
            "Toner smudges",
        ]
        assert kb.search("!!!") == []


class TestSolutions:
    def test_link_records_a_notice_in_the_tickets_history(
        self, tracker: Tracker, kb: KnowledgeBase
    ) -> None:
        """The link is an event (who, when, which article) that keeps the ticket's version."""
        ticket = tracker.open(title="Blank pages", actor="cust@example.com")
        article = kb.create("Blank pages", BODY, actor="alice", status="published")
        advance(tracker, minutes=5)
        solution = kb.link(ticket.key, article.key, actor="ann")
        assert solution == Solution(ticket.id, ticket.key, article.id, "ann", tracker.clock.now())
        assert kb.link(ticket.key, article.key, actor="bob") is None  # once only
        events = tracker.history(ticket.key)
        linked = [e for e in events if e.type is EventType.SOLUTION_LINKED]
        assert [(e.actor, e.data["article"], e.version) for e in linked] == [("ann", "KB-1", 1)]
        assert tracker.get(ticket.key).version == 1
        assert kb.solutions(ticket.key) == [article]
        assert kb.solved(article.key) == [solution]

    def test_unlink_records_it_too(self, tracker: Tracker, kb: KnowledgeBase) -> None:
        """Unlinking what is linked is an event; unlinking again says False."""
        ticket = tracker.open(title="Blank pages", actor="cust@example.com")
        article = kb.create("Blank pages", BODY, actor="alice")
        kb.link(ticket.key, article.id, actor="ann")
        assert kb.unlink(ticket.key, article.id, actor="ann")
        assert not kb.unlink(ticket.key, article.id, actor="ann")
        assert kb.solutions(ticket.key) == []
        assert [e.type for e in tracker.history(ticket.key)][-1] is EventType.SOLUTION_UNLINKED

    def test_subscribers_hear_of_links(self, tracker: Tracker, kb: KnowledgeBase) -> None:
        """solution_linked is delivered like every other event, after it is stored."""
        heard: list[str] = []
        tracker.subscribe(lambda e: heard.append(e.data["article"]), "solution_linked")
        ticket = tracker.open(title="Blank pages", actor="cust@example.com")
        article = kb.create("Blank pages", BODY, actor="alice")
        kb.link(ticket.key, article.id, actor="ann")
        assert heard == ["KB-1"]

    def test_an_article_of_another_tenant_cannot_be_linked(
        self, tracker: Tracker, kb: KnowledgeBase
    ) -> None:
        """Tenants never meet: the other tenant's article is as missing as no article."""
        ticket = tracker.open(title="Blank pages", actor="cust@example.com")
        theirs = kb.create("Blank pages", BODY, actor="alice", tenant="other")
        before = everything(tracker)
        with pytest.raises(NotFound, match="no article KB-1 in the tenant of HD-1"):
            kb.link(ticket.key, theirs.id, actor="ann")
        assert everything(tracker) == before
        assert len(tracker.history(ticket.key)) == 1


class TestPromote:
    def resolved(self, tracker: Tracker) -> str:
        key = tracker.open(
            title="Printer prints blank pages",
            description="Every page from printer 3 is blank. Call me: cust@example.com",
            actor="cust@example.com",
            tags=["printer"],
            watchers=["Boss@Example.com"],
        ).key
        tracker.comment(key, "Thanks boss@example.com, trying now", actor="cust@example.com")
        tracker.comment(key, "Shake the toner cartridge.", actor="ann")
        tracker.comment(key, "Toner was empty; internal", actor="ann", internal=True)
        tracker.transition(key, "resolve", actor="ann", comment="Replaced the toner.")
        return key

    def test_promote_writes_a_linked_draft_without_the_customers(
        self, tracker: Tracker, kb: KnowledgeBase
    ) -> None:
        """Problem from the description, solution from the help desk's public replies."""
        key = self.resolved(tracker)
        article = kb.promote(key, actor="lead")
        assert article.status is ArticleStatus.DRAFT
        assert (article.title, article.tags, article.source_ticket) == (
            "Printer prints blank pages",
            frozenset({"printer"}),
            key,
        )
        assert article.body == (
            "## Problem\n\nEvery page from printer 3 is blank. Call me: "
            f"{CUSTOMER}\n\n## Solution\n\nShake the toner cartridge.\n\n"
            "Replaced the toner.\n"
        )
        assert "internal" not in article.body
        assert kb.solutions(key) == [article]
        assert kb.history(article.id)[0].note == f"promoted from {key}"
        linked = tracker.history(key)[-1]
        assert (linked.type, linked.data["promoted"]) == (EventType.SOLUTION_LINKED, True)

    def test_promote_takes_what_the_agent_wrote(self, tracker: Tracker, kb: KnowledgeBase) -> None:
        """Title, body, tags and status may be given instead."""
        key = self.resolved(tracker)
        article = kb.promote(
            key, actor="lead", title="Blank pages", body="Fix", tags=[], status="published"
        )
        assert (article.title, article.body, article.tags) == ("Blank pages", "Fix", frozenset())
        assert article.status is ArticleStatus.PUBLISHED

    def test_only_resolved_tickets_once(self, tracker: Tracker, kb: KnowledgeBase) -> None:
        """An open ticket, or one promoted before, is refused and nothing is stored."""
        open_key = tracker.open(title="Still broken", actor="cust@example.com").key
        with pytest.raises(ValidationError, match="is 'new', not resolved or closed"):
            kb.promote(open_key, actor="lead")
        key = self.resolved(tracker)
        kb.promote(key, actor="lead")
        before = everything(tracker)
        with pytest.raises(ValidationError, match=f"{key} was already promoted to KB-1"):
            kb.promote(key, actor="lead")
        assert everything(tracker) == before


class TestBadInput:
    @pytest.mark.parametrize(
        ("call", "error", "message"),
        [
            (lambda kb: kb.create("", BODY, actor="a"), ValidationError, "title must not be empty"),
            (lambda kb: kb.create("x" * 256, BODY, actor="a"), ValidationError, "limit is 255"),
            (lambda kb: kb.create("T\x00", BODY, actor="a"), ValidationError, r"U\+0000"),
            (lambda kb: kb.create("T", "  ", actor="a"), ValidationError, "body must not be"),
            (lambda kb: kb.create("T", 3, actor="a"), ValidationError, "body must be a string"),
            (lambda kb: kb.create("T", BODY, actor=" "), ValidationError, "actor must not"),
            (lambda kb: kb.create("T", BODY, actor="a", tags="x"), ValidationError, "tags"),
            (lambda kb: kb.create("T", BODY, actor="a", tags=["a b"]), ValidationError, "tag"),
            (lambda kb: kb.create("T", BODY, actor="a", status="gone"), ValidationError, "gone"),
            (lambda kb: kb.create("T", BODY, actor="a", note="a\nb"), ValidationError, "note"),
            (lambda kb: kb.get("HD-1"), ValidationError, "not an article key"),
            (lambda kb: kb.get(0), ValidationError, "1 or more"),
            (lambda kb: kb.get(1.5), ValidationError, "got float"),
            (lambda kb: kb.get("KB-99"), NotFound, "no article KB-99"),
            (lambda kb: kb.edit(1, actor="a", body=""), ValidationError, "body must not"),
            (lambda kb: kb.edit(1, actor="a", expected_version="1"), ValidationError, "whole"),
            (lambda kb: kb.edit(99, actor="a", title="x"), NotFound, "no article 99"),
            (lambda kb: kb.set_status(1, "live", actor="a"), ValidationError, "'live'"),
            (lambda kb: kb.revision(1, 7), NotFound, "no version 7"),
            (lambda kb: kb.articles(limit=0), ValidationError, "limit"),
            (lambda kb: kb.articles(after=-1), ValidationError, "after"),
            (lambda kb: kb.articles(status="nope"), ValidationError, "nope"),
            (lambda kb: kb.search("", limit=3), ValidationError, "search text"),
            (lambda kb: kb.link("HD-1", "KB-99", actor="a"), NotFound, "no article KB-99"),
            (lambda kb: kb.link("HD-99", 1, actor="a"), NotFound, "no ticket HD-99"),
            (lambda kb: kb.promote("HD-1", actor="a"), ValidationError, "not resolved"),
        ],
    )
    def test_refused_with_a_clear_error_and_nothing_changed(
        self, tracker: Tracker, kb: KnowledgeBase, call: Any, error: type, message: str
    ) -> None:
        """Each bad input raises the right error, naming the problem; the store is unchanged."""
        tracker.open(title="Blank pages", actor="cust@example.com")
        kb.create("Existing", BODY, actor="alice")
        before = everything(tracker)
        with pytest.raises(error, match=message):
            call(kb)
        assert everything(tracker) == before
