"""Tracker.suggest: articles and similar tickets for a ticket, from the store's full-text engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from databases import fresh_database
from ticketkit import FrozenClock, Tracker, ValidationError
from ticketkit.access import Principal, Role
from ticketkit.kb import DUPLICATE_SCORE, MAX_QUERY_WORDS, STOP_WORDS, query_text, suggest
from ticketkit.kb._suggest import overlap

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    settings = {"queues": {"support": "HD", "billing": "BIL"}, "default_queue": "support"}
    clock = FrozenClock(START)
    if request.param == "memory":
        with Tracker.in_memory(clock=clock, **settings) as tracker:
            yield tracker
        return
    with (
        fresh_database("sqlite", tmp_path) as url,
        Tracker.from_url(url, clock=clock, **settings) as tracker,
    ):
        yield tracker


def published(tracker: Tracker, title: str, body: str, **options: object) -> str:
    return tracker.kb.create(title, body, actor="lead", status="published", **options).key  # type: ignore[arg-type]


VPN = "VPN disconnects every few minutes"
VPN_BODY = "The VPN client drops the tunnel. Update the client and disable Wi-Fi power saving."
PRINTER = "Printer prints blank pages"
PRINTER_BODY = "Pages come out of the printer empty. Replace the toner cartridge."


class TestArticles:
    def test_the_article_about_the_problem_comes_first(self, tracker: Tracker) -> None:
        """The article sharing the ticket's distinctive words ranks first."""
        vpn = published(tracker, VPN, VPN_BODY, tags=["vpn"])
        printer = published(tracker, PRINTER, PRINTER_BODY, tags=["printer"])
        key = tracker.open(
            title="My vpn keeps disconnecting", description="the VPN client drops", actor="c@x"
        ).key
        found = tracker.suggest(key)
        assert [s.article.key for s in found.articles] == [vpn]
        assert printer not in [s.article.key for s in found.articles]
        assert found.articles[0].score == 1.0  # the best text match

    def test_drafts_archived_and_other_tenants_are_never_suggested(self, tracker: Tracker) -> None:
        """Only the ticket's tenant's published articles compete."""
        tracker.kb.create(VPN, VPN_BODY, actor="lead")
        archived = published(tracker, VPN, VPN_BODY)
        tracker.kb.archive(archived, actor="lead")
        tracker.kb.create(VPN, VPN_BODY, actor="lead", status="published", tenant="globex")
        key = tracker.open(title="VPN disconnects", actor="c@x").key
        assert tracker.suggest(key).articles == ()

    def test_articles_that_solved_similar_tickets_rise(self, tracker: Tracker) -> None:
        """Of two articles that match alike, the one that solved a similar ticket wins."""
        first = published(tracker, "Tunnel problems", "vpn tunnel client")
        second = published(tracker, "Tunnel problems", "vpn tunnel client")
        old = tracker.open(title="VPN tunnel drops at home", actor="a@x").key
        tracker.kb.link(old, second, actor="ann")
        new = tracker.open(title="VPN tunnel drops at home again", actor="b@x").key
        found = tracker.suggest(new)
        assert [s.article.key for s in found.articles] == [second, first]
        assert found.articles[0].solved == (old,)
        assert found.articles[1].solved == ()
        assert found.articles[0].score > found.articles[1].score

    def test_an_unpublished_solution_is_not_suggested(self, tracker: Tracker) -> None:
        """A draft linked to a similar ticket stays out of the suggestions."""
        draft = tracker.kb.create("Internal", "nothing alike", actor="lead")
        old = tracker.open(title="Strange fax noise", actor="a@x").key
        tracker.kb.link(old, draft.key, actor="ann")
        new = tracker.open(title="Strange fax noise again", actor="b@x").key
        assert tracker.suggest(new).articles == ()

    def test_an_article_that_solved_a_similar_ticket_is_found_without_shared_words(
        self, tracker: Tracker
    ) -> None:
        """The link brings an article whose text shares no word with the ticket."""
        article = published(tracker, "Reset the modem", "Unplug it for ten seconds.")
        old = tracker.open(title="Internet gone in office 12", actor="a@x").key
        tracker.kb.link(old, article, actor="ann")
        new = tracker.open(title="Internet gone in office 12 since noon", actor="b@x").key
        (only,) = tracker.suggest(new).articles
        assert (only.article.key, only.solved) == (article, (old,))


class TestTickets:
    def test_similar_tickets_exclude_the_ticket_and_its_merges(self, tracker: Tracker) -> None:
        """A copy scores 1.0; merged partners are not 'similar', they are the same ticket."""
        key = tracker.open(title="Badge reader broken at door B", actor="a@x").key
        copy = tracker.open(title="Badge reader broken at door B", actor="b@x").key
        merged = tracker.open(title="Badge reader broken at door B", actor="c@x").key
        tracker.merge(merged, key, actor="ann")
        other = tracker.open(title="Badge printer jammed", actor="d@x").key
        found = tracker.suggest(key)
        keys = [s.ticket.key for s in found.tickets]
        assert keys[0] == copy
        assert found.tickets[0].score == 1.0
        assert key not in keys
        assert merged not in keys
        assert other in keys
        assert found.tickets[-1].score < 1.0

    def test_open_near_copies_are_likely_duplicates_resolved_ones_are_not(
        self, tracker: Tracker
    ) -> None:
        """An open ticket this alike is flagged; a resolved one is history, not a duplicate."""
        key = tracker.open(title="Payroll portal shows last month", actor="a@x").key
        twin = tracker.open(title="Payroll portal shows last month", actor="b@x").key
        done = tracker.open(title="Payroll portal shows last month", actor="c@x").key
        tracker.transition(done, "resolve", actor="ann")
        faint = tracker.open(title="Portal colours", actor="d@x").key
        flags = {s.ticket.key: (s.likely_duplicate, s.score) for s in tracker.suggest(key).tickets}
        assert flags[twin] == (True, 1.0)
        assert flags[done] == (False, 1.0)
        assert flags[faint][0] is False
        assert flags[faint][1] < DUPLICATE_SCORE

    def test_a_forwarded_copy_is_flagged(self, tracker: Tracker) -> None:
        """The same report again, forwarded with a line and a signature, is a likely duplicate."""
        report = (
            "Since this morning the badge reader at the loading dock rejects every card. "
            "The red light blinks twice and the door stays locked."
        )
        first = tracker.open(title="Loading dock badge reader", description=report, actor="a@x")
        again = tracker.open(
            title="Fwd: Loading dock badge reader",
            description=f"Forwarding again.\n\n{report}\n\n--\nMaria, logistics",
            actor="a@x",
        )
        (found,) = tracker.suggest(again.key).tickets
        assert (found.ticket.key, found.likely_duplicate) == (first.key, True)
        assert overlap({"a", "b"}, {"a", "b"}) == 1.0

    def test_a_short_ticket_inside_a_long_one_is_not_a_duplicate(self, tracker: Tracker) -> None:
        """A few words found in a long ticket score high one way round, but share little."""
        long = tracker.open(
            title="Outlook login loop after password reset",
            description=(
                "Reset my password via the portal after the holiday. Now Outlook says Need "
                "Password at the bottom, Teams works, webmail works, phone mail stopped too, "
                "tried restarting twice and removing the profile."
            ),
            actor="a@x",
        )
        short = tracker.open(title="Forgot password", description="Reset password?", actor="b@x")
        (found,) = tracker.suggest(short.key).tickets
        assert found.ticket.key == long.key
        assert found.score >= DUPLICATE_SCORE
        assert not found.likely_duplicate

    def test_counts_are_respected(self, tracker: Tracker) -> None:
        """articles= and tickets= cap each list; 0 gives none."""
        for i in range(6):
            published(tracker, f"Mouse {i}", "mouse pointer jumps")
            tracker.open(title=f"Mouse pointer jumps {i}", actor="a@x")
        key = tracker.open(title="Mouse pointer jumps", actor="b@x").key
        found = tracker.suggest(key, articles=2, tickets=4)
        assert (len(found.articles), len(found.tickets)) == (2, 4)
        none = tracker.suggest(key, articles=0, tickets=0)
        assert (none.articles, none.tickets) == ((), ())

    def test_only_the_tickets_tenant_is_searched(self, tracker: Tracker) -> None:
        """Another tenant's identical ticket is never similar."""
        tracker.open(title="Elevator stuck on floor 4", actor="z@x", tenant="globex")
        key = tracker.open(title="Elevator stuck on floor 4", actor="a@x").key
        assert tracker.suggest(key).tickets == ()


class TestQueryText:
    def test_distinctive_words_title_first(self) -> None:
        """Stop words, one-letter words and repeats go; the title's words lead."""
        text = query_text("The VPN is down", "I think the vpn went down at 9 a.m. Thanks!")
        assert text == "vpn down think went"
        assert not set(text.split()) & STOP_WORDS

    def test_long_texts_are_capped(self) -> None:
        """At most MAX_QUERY_WORDS words, however long the description."""
        description = " ".join(f"word{i}" for i in range(5000))
        assert len(query_text("Title", description).split()) == MAX_QUERY_WORDS

    def test_a_ticket_of_stop_words_gets_no_suggestions(self, tracker: Tracker) -> None:
        """Nothing distinctive to search for: nothing suggested."""
        published(tracker, "Why it is so", "it is what it is")
        key = tracker.open(title="Why is it so?", actor="a@x").key
        found = tracker.suggest(key)
        assert (found.articles, found.tickets) == ((), ())

    @pytest.mark.parametrize(
        ("articles", "tickets", "message"),
        [(-1, 5, "articles must be"), (3, 101, "tickets must be"), (True, 5, "articles")],
    )
    def test_bad_counts_are_refused(
        self, tracker: Tracker, articles: object, tickets: object, message: str
    ) -> None:
        """Counts are whole numbers from 0 to 100."""
        key = tracker.open(title="Anything", actor="a@x").key
        with pytest.raises(ValidationError, match=message):
            tracker.suggest(key, articles=articles, tickets=tickets)  # type: ignore[arg-type]


class TestText:
    def test_a_text_not_yet_in_a_ticket(self, tracker: Tracker) -> None:
        """A web form's text gets articles and similar tickets before it is sent."""
        vpn = published(tracker, VPN, VPN_BODY)
        old = tracker.open(title="VPN keeps disconnecting", actor="a@x").key
        found = suggest(tracker, title="vpn disconnects", description="", tenant="default")
        assert [s.article.key for s in found.articles] == [vpn]
        assert [s.ticket.key for s in found.tickets] == [old]
        assert not found.tickets[0].likely_duplicate  # nothing to be a duplicate of yet

    def test_neither_ticket_nor_title_is_refused(self, tracker: Tracker) -> None:
        """There is nothing to search for."""
        with pytest.raises(ValidationError, match="needs a ticket or a title"):
            suggest(tracker, description="only this")


class TestSessions:
    def test_customers_get_articles_only_ranked_by_their_text(self, tracker: Tracker) -> None:
        """No tickets, and no lift from tickets (whose ranking reads internal notes)."""
        first = published(tracker, "Tunnel problems", "vpn tunnel client")
        second = published(tracker, "Tunnel problems", "vpn tunnel client")
        old = tracker.open(title="VPN tunnel drops at home", actor="a@x").key
        tracker.kb.link(old, second, actor="ann")
        new = tracker.open(title="VPN tunnel drops at home again", actor="b@x").key
        customer = tracker.session(Principal("b@x", Role.CUSTOMER, "default"))
        found = customer.suggest(new)
        assert found.tickets == ()
        assert [(s.article.key, s.solved) for s in found.articles] == [(first, ()), (second, ())]

    def test_agents_see_similar_tickets_of_their_queues_only(self, tracker: Tracker) -> None:
        """A similar ticket outside the agent's queues is neither listed nor lends its solution."""
        article = published(tracker, "Reset the modem", "Unplug it.")
        billing = tracker.open(title="Invoice total wrong again", actor="a@x", queue="billing")
        tracker.kb.link(billing.key, article, actor="root")
        support = tracker.open(title="Invoice total wrong again", actor="b@x").key
        ann = tracker.session(Principal("ann", Role.AGENT, "default", queues={"support"}))
        found = ann.suggest(support)
        assert found.tickets == ()
        assert found.articles == ()
        olga = tracker.session(
            Principal("olga", Role.AGENT, "default", queues={"support", "billing"})
        )
        found = olga.suggest(support)
        assert [s.ticket.key for s in found.tickets] == [billing.key]
        assert [s.article.key for s in found.articles] == [article]
