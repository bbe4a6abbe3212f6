"""Shared tickets: CCs and colleagues follow and reply to a ticket, within the access rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from attrs import evolve

from databases import fresh_database
from ticketkit import NotFound, PermissionDenied, Ticket, Tracker
from ticketkit.access import (
    DEFAULT_RULES,
    Directory,
    Permission,
    Principal,
    Role,
    RolePolicy,
    all_of,
)

TENANT = "desk"
ANN = Principal("ann@acme.example", Role.CUSTOMER, TENANT, organisation="Acme")
CAROL = Principal(
    "carol@acme.example", Role.CUSTOMER, TENANT, organisation="Acme", sees_organisation=True
)
DAVE = Principal("dave@acme.example", Role.CUSTOMER, TENANT, organisation="Acme")
EVE = Principal("eve@other.example", Role.CUSTOMER, TENANT, organisation="Other")
AGENT = Principal("alice", Role.AGENT, TENANT, queues=("default",))
PEOPLE = Directory.of(TENANT, [ANN, CAROL, DAVE, EVE, AGENT])


@pytest.fixture(params=["memory", "sqlite"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    if request.param == "memory":
        with Tracker.in_memory() as tracker:
            yield tracker
        return
    with fresh_database("sqlite", tmp_path) as url, Tracker.from_url(url) as tracker:
        yield tracker


@pytest.fixture
def ticket(tracker: Tracker) -> Ticket:
    ticket = tracker.session(ANN).open("VPN is down", "Nobody can connect.")
    tracker.session(AGENT).comment(ticket.key, "Router 3 is suspect.", internal=True)
    return ticket


def keys(tracker: Tracker, who: Principal) -> list[str]:
    return [t.key for t in tracker.session(who).query().items]


class TestColleagues:
    def test_a_colleague_who_sees_the_organisation_follows_and_replies(
        self, tracker: Tracker, ticket: Ticket
    ) -> None:
        """sees_organisation: read, reply and watch the organisation's ticket; no notes."""
        carol = tracker.session(CAROL)
        assert keys(tracker, CAROL) == [ticket.key]
        carol.comment(ticket.key, "Same here.")
        assert carol.watch(ticket.key).watchers == {CAROL.id}
        assert [c.body for c in carol.comments(ticket.key)] == ["Same here."]  # no note

    def test_a_colleague_who_does_not_sees_nothing(self, tracker: Tracker, ticket: Ticket) -> None:
        with pytest.raises(NotFound, match=f"no ticket {ticket.key}"):
            tracker.session(DAVE).get(ticket.key)
        assert keys(tracker, DAVE) == []


class TestCCs:
    def test_a_cc_follows_and_replies_until_removed(self, tracker: Tracker, ticket: Ticket) -> None:
        """An agent copies someone in: they read and reply; removed, the ticket is gone for them."""
        agent = tracker.session(AGENT)
        agent.watch(ticket.key, EVE.id)
        eve = tracker.session(EVE)
        assert keys(tracker, EVE) == [ticket.key]
        eve.comment(ticket.key, "I am their contractor; it is down for me too.")
        assert [c.author for c in tracker.comments(ticket.key, internal=False)] == [EVE.id]
        assert [c.internal for c in eve.comments(ticket.key)] == [False]
        seen = eve.get(ticket.key)
        assert seen.reporter != ANN.id  # another customer's address stays hidden
        assert seen.watchers == {EVE.id}
        agent.unwatch(ticket.key, EVE.id)
        with pytest.raises(NotFound):
            eve.get(ticket.key)
        with pytest.raises(NotFound):
            eve.comment(ticket.key, "Hello?")

    def test_a_cc_sees_only_the_shared_ticket(self, tracker: Tracker, ticket: Ticket) -> None:
        other = tracker.session(ANN).open("Printer jams")
        tracker.session(AGENT).watch(ticket.key, EVE.id)
        assert keys(tracker, EVE) == [ticket.key]
        with pytest.raises(NotFound):
            tracker.session(EVE).get(other.key)

    def test_customers_may_not_copy_people_in_by_default(
        self, tracker: Tracker, ticket: Ticket
    ) -> None:
        with pytest.raises(PermissionDenied, match="'watch'"):
            tracker.session(ANN).watch(ticket.key, DAVE.id)
        assert tracker.get(ticket.key).watchers == frozenset()

    def test_a_policy_may_let_customers_copy_in_colleagues(
        self, tracker: Tracker, ticket: Ticket
    ) -> None:
        """As the access guide shows: drop self_only for watch, then allow colleagues only."""
        rules = dict(DEFAULT_RULES)
        rules[Role.CUSTOMER] = evolve(rules[Role.CUSTOMER], self_only=())

        def colleagues_only(
            principal: Principal, permission: Permission, target: Ticket | None, detail: str | None
        ) -> bool:
            if permission is not Permission.WATCH or principal.role is not Role.CUSTOMER:
                return True
            person = PEOPLE.people.get(detail or principal.id)
            return person is not None and person.organisation == principal.organisation

        tracker.policy = all_of(RolePolicy(rules), colleagues_only)
        ann = tracker.session(ANN)
        assert ann.watch(ticket.key, DAVE.id).watchers == frozenset()  # Ann sees only herself
        assert tracker.get(ticket.key).watchers == {DAVE.id}
        with pytest.raises(PermissionDenied, match="'watch'"):
            ann.watch(ticket.key, EVE.id)
        assert tracker.session(DAVE).get(ticket.key).key == ticket.key
