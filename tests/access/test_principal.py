"""Principals, teams and the directory: validated values, queues resolved from teams."""

from __future__ import annotations

import pytest

from ticketkit import NotFound, ValidationError
from ticketkit.access import Directory, Principal, Role, Team


class TestRole:
    def test_parses_names_in_any_case(self) -> None:
        """Roles are read from their names, ignoring case and spaces around."""
        assert Role.parse(" Team_Lead ") is Role.TEAM_LEAD
        assert Role.parse(Role.ADMIN) is Role.ADMIN

    @pytest.mark.parametrize("bad", ["boss", "", None, 3])
    def test_unknown_role_names_the_known_ones(self, bad: object) -> None:
        """An unknown role is refused with the list of roles."""
        with pytest.raises(ValidationError, match="customer, agent, team_lead, admin"):
            Role.parse(bad)


class TestPrincipal:
    def test_values_are_normalised(self) -> None:
        """Names are stripped, the role parsed and collections frozen."""
        p = Principal(" alice ", "agent", " acme ", queues=["it", "hr"], teams=("ops",))
        assert (p.id, p.role, p.tenant) == ("alice", Role.AGENT, "acme")
        assert p.queues == frozenset({"it", "hr"})
        assert p.teams == frozenset({"ops"})
        assert not p.is_customer

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"id": ""}, "id must not be empty"),
            ({"id": "   "}, "id must not be empty"),
            ({"id": 7}, "id must be a string"),
            ({"id": "a\nb"}, "control character"),
            ({"tenant": ""}, "tenant must not be empty"),
            ({"role": "boss"}, "unknown role"),
            ({"organisation": ""}, "organisation must not be empty"),
            ({"sees_organisation": "yes"}, "sees_organisation must be true or false"),
            ({"sees_organisation": True}, "no organisation"),
            ({"queues": "it"}, "not the single string|collection of names"),
            ({"queues": ["it", ""]}, "queues must not be empty"),
            ({"role": "customer", "queues": ["it"]}, "cannot work in queues"),
            ({"role": "customer", "teams": ["ops"]}, "cannot work in queues or teams"),
            (
                {"role": "agent", "organisation": "x", "sees_organisation": True},
                "for customers",
            ),
        ],
    )
    def test_bad_values_are_refused(self, kwargs: dict[str, object], message: str) -> None:
        """Every bad value raises ValidationError saying what is wrong."""
        values: dict[str, object] = {"id": "c@x.com", "role": "customer", "tenant": "acme"}
        values.update(kwargs)
        with pytest.raises(ValidationError, match=message):
            Principal(**values)  # type: ignore[arg-type]

    def test_customer_may_see_their_organisation(self) -> None:
        """A customer with an organisation may be allowed to see its tickets."""
        p = Principal("c@x.com", Role.CUSTOMER, "acme", organisation="X", sees_organisation=True)
        assert p.is_customer
        assert p.sees_organisation

    def test_principals_are_frozen_values(self) -> None:
        """Principals compare by value and cannot be changed."""
        a = Principal("alice", "agent", "acme", queues={"it"})
        assert a == Principal("alice", Role.AGENT, "acme", queues=frozenset({"it"}))
        with pytest.raises(AttributeError):
            a.role = Role.ADMIN  # type: ignore[misc]


def _people() -> list[Principal]:
    return [
        Principal("alice", "agent", "acme", queues={"web"}),
        Principal("bob", "agent", "acme"),
        Principal("lena", "team_lead", "acme"),
        Principal("c@x.com", "customer", "acme"),
    ]


class TestDirectory:
    def test_queues_and_teams_come_from_teams(self) -> None:
        """A principal works in their own queues and in those of every team they are in."""
        teams = [
            Team("it", "acme", queues={"it", "net"}, members={"alice", "bob"}, leads={"lena"}),
            Team("hr", "acme", queues={"hr"}, members={"bob"}),
        ]
        d = Directory.of("acme", _people(), teams)
        alice = d.principal("alice")
        assert alice.queues == {"web", "it", "net"}
        assert alice.teams == {"it"}
        assert d.principal("bob").queues == {"it", "net", "hr"}
        assert d.principal("lena").teams == {"it"}
        assert d.principal("c@x.com") == _people()[3]

    def test_unknown_person_is_not_found(self) -> None:
        """Asking for someone the directory does not hold raises NotFound."""
        d = Directory.of("acme", _people())
        with pytest.raises(NotFound, match="nobody"):
            d.principal("nobody")

    def test_staff_are_everyone_but_customers(self) -> None:
        """is_staff tells agents, team leads and admins from customers and strangers."""
        d = Directory.of("acme", _people())
        assert d.is_staff("alice")
        assert d.is_staff("lena")
        assert not d.is_staff("c@x.com")
        assert not d.is_staff("stranger")

    @pytest.mark.parametrize(
        ("people", "teams", "message"),
        [
            (_people()[:1], [Team("it", "acme", members={"zed"})], "not in the directory"),
            (_people(), [Team("it", "acme", members={"c@x.com"})], "customer"),
            (_people(), [Team("it", "acme", leads={"alice"})], "team_lead role"),
            (_people(), [Team("it", "other")], "belongs to tenant 'other'"),
            (_people(), [Team("it", "acme"), Team("it", "acme")], "listed twice"),
            ([*_people(), Principal("alice", "admin", "acme")], [], "listed twice"),
            ([Principal("x", "admin", "other")], [], "one tenant"),
            (["alice"], [], "not a Principal"),
            (_people(), ["it"], "not a Team"),
        ],
    )
    def test_inconsistent_directories_are_refused(
        self, people: list[object], teams: list[object], message: str
    ) -> None:
        """A directory checks that its teams and people fit together."""
        with pytest.raises(ValidationError, match=message):
            Directory.of("acme", people, teams)  # type: ignore[arg-type]
