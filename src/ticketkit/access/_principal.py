"""Who acts: principals with a role in one tenant, and the teams that give agents queues."""

from __future__ import annotations

import enum
import types
from collections.abc import Iterable, Mapping

from attrs import field, frozen

from .._errors import NotFound, ValidationError
from .._text import check_name, parse_choice

__all__ = ["Directory", "Principal", "Role", "Team"]


class Role(enum.StrEnum):
    """What a principal is to the help desk; the policy gives each role its rules."""

    CUSTOMER = "customer"
    AGENT = "agent"
    TEAM_LEAD = "team_lead"
    ADMIN = "admin"

    @classmethod
    def parse(cls, value: object) -> Role:
        return parse_choice(cls, value, "role", field="role")


def _role(value: object) -> Role:
    return Role.parse(value)


def _id(value: object) -> str:
    return check_name(value, "id")


def _tenant(value: object) -> str:
    return check_name(value, "tenant")


def _team(value: object) -> str:
    return check_name(value, "team")


def _optional_name(value: object) -> str | None:
    return None if value is None else check_name(value, "organisation")


def _names(values: object, field_name: str) -> frozenset[str]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(
            f"{field_name} must be a collection of names, got {values!r}", field=field_name
        )
    return frozenset(check_name(v, field_name) for v in values)


def _queues(values: object) -> frozenset[str]:
    return _names(values, "queues")


def _teams(values: object) -> frozenset[str]:
    return _names(values, "teams")


def _members(values: object) -> frozenset[str]:
    return _names(values, "members")


def _leads(values: object) -> frozenset[str]:
    return _names(values, "leads")


def _flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be true or false, got {value!r}", field=name)


@frozen
class Principal:
    """One acting person (or program) as the access policy sees it.

    ``id`` is the name written as the actor of events. ``queues`` are the queues an
    agent or team lead works in; ``sees_organisation`` lets a customer see every ticket
    of their ``organisation``, not only their own.
    """

    id: str = field(converter=_id)
    role: Role = field(converter=_role)
    tenant: str = field(converter=_tenant)
    organisation: str | None = field(default=None, converter=_optional_name)
    queues: frozenset[str] = field(default=frozenset(), converter=_queues)
    teams: frozenset[str] = field(default=frozenset(), converter=_teams)
    sees_organisation: bool = False

    def __attrs_post_init__(self) -> None:
        _flag("sees_organisation", self.sees_organisation)
        if self.sees_organisation and self.organisation is None:
            raise ValidationError(
                f"principal {self.id!r} has sees_organisation but no organisation; "
                "give the organisation whose tickets they may see",
                field="sees_organisation",
            )
        if self.sees_organisation and self.role is not Role.CUSTOMER:
            raise ValidationError(
                f"sees_organisation is for customers; {self.id!r} is a {self.role.value}, "
                "whose scope the policy sets",
                field="sees_organisation",
            )
        if self.role is Role.CUSTOMER and (self.queues or self.teams):
            raise ValidationError(
                f"customer {self.id!r} cannot work in queues or teams; make them an agent",
                field="queues" if self.queues else "teams",
            )

    @property
    def is_customer(self) -> bool:
        return self.role is Role.CUSTOMER


@frozen
class Team:
    """Agents who work the same queues; ``leads`` are members who lead the team."""

    name: str = field(converter=_team)
    tenant: str = field(converter=_tenant)
    queues: frozenset[str] = field(default=frozenset(), converter=_queues)
    members: frozenset[str] = field(default=frozenset(), converter=_members)
    leads: frozenset[str] = field(default=frozenset(), converter=_leads)

    @property
    def everyone(self) -> frozenset[str]:
        """Members and leads."""
        return self.members | self.leads


def _freeze(value: Mapping[str, object]) -> Mapping[str, object]:
    return types.MappingProxyType(dict(value))


@frozen
class Directory:
    """The people and teams of one tenant; :meth:`principal` resolves team queues.

    Build it with :meth:`of`. A principal's queues are their own plus those of
    every team they belong to; team leads must have the team-lead or admin role.
    """

    tenant: str
    people: Mapping[str, Principal] = field(converter=_freeze)
    teams: Mapping[str, Team] = field(converter=_freeze)

    @classmethod
    def of(cls, tenant: str, people: Iterable[Principal], teams: Iterable[Team] = ()) -> Directory:
        tenant = check_name(tenant, "tenant")
        by_id: dict[str, Principal] = {}
        for person in people:
            if not isinstance(person, Principal):
                raise ValidationError(f"not a Principal: {person!r}")
            if person.tenant != tenant:
                raise ValidationError(
                    f"{person.id!r} belongs to tenant {person.tenant!r}, not {tenant!r}; "
                    "a directory holds one tenant",
                    field="tenant",
                )
            if person.id in by_id:
                raise ValidationError(f"{person.id!r} is listed twice", field="id")
            by_id[person.id] = person
        by_name: dict[str, Team] = {}
        for team in teams:
            if not isinstance(team, Team):
                raise ValidationError(f"not a Team: {team!r}")
            if team.tenant != tenant:
                raise ValidationError(
                    f"team {team.name!r} belongs to tenant {team.tenant!r}, not {tenant!r}",
                    field="tenant",
                )
            if team.name in by_name:
                raise ValidationError(f"team {team.name!r} is listed twice", field="team")
            for member in sorted(team.everyone):
                found = by_id.get(member)
                if found is None:
                    raise ValidationError(
                        f"team {team.name!r} names {member!r}, who is not in the directory; "
                        "add them as a Principal first",
                        field="members",
                    )
                if found.role is Role.CUSTOMER:
                    raise ValidationError(
                        f"customer {member!r} cannot be in team {team.name!r}; teams are for "
                        "agents, team leads and admins",
                        field="members",
                    )
            for lead in sorted(team.leads):
                if by_id[lead].role not in (Role.TEAM_LEAD, Role.ADMIN):
                    raise ValidationError(
                        f"{lead!r} leads team {team.name!r} but has the role "
                        f"{by_id[lead].role.value}; give them the team_lead role",
                        field="leads",
                    )
            by_name[team.name] = team
        return cls(tenant, by_id, by_name)

    def principal(self, id: str) -> Principal:
        """The principal ``id`` with the queues and teams of their teams added."""
        person = self.people.get(id) if isinstance(id, str) else None
        if person is None:
            raise NotFound(f"no one called {id!r} in the directory of tenant {self.tenant!r}")
        teams = [t for t in self.teams.values() if person.id in t.everyone]
        if not teams:
            return person
        return Principal(
            person.id,
            person.role,
            person.tenant,
            person.organisation,
            person.queues.union(*(t.queues for t in teams)),
            person.teams.union(t.name for t in teams),
            person.sees_organisation,
        )

    def is_staff(self, id: str) -> bool:
        """Is ``id`` an agent, team lead or admin of this tenant? (For the customer views.)"""
        person = self.people.get(id)
        return person is not None and person.role is not Role.CUSTOMER
