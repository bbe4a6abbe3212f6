"""Role-based rules as data: the default policy, and the query conditions of a scope."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any

from attrs import evolve, field, frozen

from .._errors import ValidationError
from .._model import Ticket
from .._query import Condition, Op
from ._policy import (
    Decision,
    Permission,
    Policy,
    Scope,
    _AllOf,
    _Guarded,
    in_scope,
    tenant_decision,
)
from ._principal import Principal, Role

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_RULES",
    "RolePolicy",
    "RoleRules",
    "scope_conditions",
    "visibility_conditions",
]


def _permissions(values: Iterable[Permission | str]) -> frozenset[Permission]:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(
            f"permissions must be a list of permission names, got {values!r}",
            field="permissions",
        )
    return frozenset(Permission.parse(v) for v in values)


def _self_only(values: Iterable[Permission | str]) -> frozenset[Permission]:
    found = _permissions(values)
    odd = found - {Permission.ASSIGN, Permission.WATCH}
    if odd:
        raise ValidationError(
            f"self_only applies to assign and watch, not to {', '.join(sorted(odd))}",
            field="self_only",
        )
    return found


def _names(values: Iterable[str] | None, what: str) -> frozenset[str] | None:
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(
            f"{what} must be a list of names or null (meaning all), got {values!r}", field=what
        )
    names = frozenset(values)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{what} must hold non-empty names, got {name!r}", field=what)
    return names


def _actions(values: Iterable[str] | None) -> frozenset[str] | None:
    return _names(values, "actions")


def _fields(values: Iterable[str] | None) -> frozenset[str] | None:
    return _names(values, "fields")


def _scope(value: object) -> Scope:
    return Scope.parse(value)


@frozen
class RoleRules:
    """What one role may do.

    ``actions`` limits ``transition`` to those workflow actions and ``fields`` limits
    ``change_field`` to those field paths (``None``: all of them). ``self_only`` holds
    ``assign`` and/or ``watch`` when the role may use them only for itself: assign a
    ticket to itself (one unassigned or already its own), watch or unwatch as itself.
    """

    permissions: frozenset[Permission] = field(converter=_permissions)
    scope: Scope = field(converter=_scope)
    actions: frozenset[str] | None = field(default=None, converter=_actions)
    fields: frozenset[str] | None = field(default=None, converter=_fields)
    self_only: frozenset[Permission] = field(default=frozenset(), converter=_self_only)

    def grant(self, *permissions: Permission | str) -> RoleRules:
        return evolve(self, permissions=self.permissions | _permissions(permissions))

    def revoke(self, *permissions: Permission | str) -> RoleRules:
        return evolve(self, permissions=self.permissions - _permissions(permissions))

    def to_dict(self) -> dict[str, Any]:
        return {
            "permissions": sorted(p.value for p in self.permissions),
            "scope": self.scope.value,
            "actions": None if self.actions is None else sorted(self.actions),
            "fields": None if self.fields is None else sorted(self.fields),
            "self_only": sorted(p.value for p in self.self_only),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, role: str = "role") -> RoleRules:
        if not isinstance(data, Mapping):
            raise ValidationError(f"the rules of {role} must be a mapping, got {data!r}")
        known = {"permissions", "scope", "actions", "fields", "self_only"}
        unknown = sorted(set(data) - known, key=str)
        if unknown:
            raise ValidationError(
                f"the rules of {role} have unknown keys {unknown}; use {', '.join(sorted(known))}"
            )
        for required in ("permissions", "scope"):
            if required not in data:
                raise ValidationError(f"the rules of {role} need {required!r}", field=required)
        try:
            return cls(
                data["permissions"],
                data["scope"],
                data.get("actions"),
                data.get("fields"),
                data.get("self_only", ()),
            )
        except ValidationError as exc:
            raise ValidationError(f"in the rules of {role}: {exc}", field=exc.field) from None


def _freeze_rules(
    value: Mapping[Role, RoleRules] | Mapping[str, RoleRules],
) -> Mapping[Role, RoleRules]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"rules must map roles to RoleRules, got {value!r}")
    rules: dict[Role, RoleRules] = {}
    for role, rule in value.items():
        if not isinstance(rule, RoleRules):
            raise ValidationError(f"the rules of {role} must be RoleRules, got {rule!r}")
        rules[Role.parse(role)] = rule
    return types.MappingProxyType(rules)


@frozen
class RolePolicy:
    """A policy given as rules per role; a role without rules may do nothing.

    The checks, in order: the ticket's tenant is the principal's; the role grants the
    permission; the ticket lies in the role's scope; the workflow action or field (the
    ``detail``) is among those allowed; a ``self_only`` permission is used for oneself.
    """

    rules: Mapping[Role, RoleRules] = field(converter=_freeze_rules)

    def decide(
        self,
        principal: Principal,
        permission: Permission,
        ticket: Ticket | None,
        detail: str | None = None,
    ) -> Decision:
        permission = Permission.parse(permission)
        other_tenant = tenant_decision(principal, ticket)
        if other_tenant is not None:
            return other_tenant
        who = f"{principal.id!r} ({principal.role.value})"
        rules = self.rules.get(principal.role)
        if rules is None or permission not in rules.permissions:
            return Decision.deny(f"{who} may not {permission.value}: the role does not grant it")
        if ticket is not None and not in_scope(principal, ticket, rules.scope):
            return Decision.deny(
                f"{who} may not {permission.value} {ticket.key}: it is outside their "
                f"scope ({rules.scope.value})"
            )
        if (
            permission is Permission.TRANSITION
            and detail is not None
            and rules.actions is not None
            and detail not in rules.actions
        ):
            return Decision.deny(f"{who} may not take the workflow action {detail!r}")
        if (
            permission is Permission.CHANGE_FIELD
            and detail is not None
            and rules.fields is not None
            and detail not in rules.fields
        ):
            return Decision.deny(f"{who} may not change the field {detail!r}")
        if permission in rules.self_only:
            if detail is not None and detail != principal.id:
                return Decision.deny(
                    f"{who} may {permission.value} only for themselves, not for {detail!r}"
                )
            if (
                permission is Permission.ASSIGN
                and ticket is not None
                and ticket.assignee not in (None, principal.id)
            ):
                return Decision.deny(
                    f"{who} may not take {ticket.key} from {ticket.assignee!r}; "
                    "ask a team lead to reassign it"
                )
        return Decision.allow(f"{who} may {permission.value}")

    def scope_of(self, principal: Principal) -> Scope | None:
        """The scope of the principal's role, or ``None`` when the role may not read."""
        rules = self.rules.get(principal.role)
        if rules is None or Permission.READ not in rules.permissions:
            return None
        return rules.scope

    def with_rules(self, role: Role | str, rules: RoleRules) -> RolePolicy:
        """A copy with the rules of ``role`` replaced."""
        return RolePolicy({**self.rules, Role.parse(role): rules})

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready); :meth:`from_dict` reads it back."""
        return {role.value: self.rules[role].to_dict() for role in Role if role in self.rules}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RolePolicy:
        """Read rules given as ``{"agent": {"permissions": [...], "scope": "queues"}, ...}``."""
        if not isinstance(data, Mapping):
            raise ValidationError(
                f"a role policy is a mapping of role names to rules, got {data!r}"
            )
        return cls({Role.parse(r): RoleRules.from_dict(v, role=r) for r, v in data.items()})


_ALL = frozenset(Permission)
_AGENT = _ALL - {
    Permission.REDACT,
    Permission.ERASE,
    Permission.EXPORT,
    Permission.ADMINISTER,
    Permission.PUBLISH_ARTICLES,
}

#: The default rules: customers work on their own tickets (their organisation's with
#: ``sees_organisation``) and take only the customer's actions of the help-desk
#: workflow; agents do everything but personal-data handling and administration in
#: their queues, assign tickets only to themselves and write knowledge-base drafts;
#: team leads add redaction, publishing articles and assigning to anyone; admins may
#: do everything in their tenant.
DEFAULT_RULES: Mapping[Role, RoleRules] = types.MappingProxyType(
    {
        Role.CUSTOMER: RoleRules(
            {
                Permission.READ,
                Permission.CREATE,
                Permission.COMMENT,
                Permission.ATTACH,
                Permission.WATCH,
                Permission.TRANSITION,
            },
            Scope.ORGANISATION,
            actions={"close", "reopen", "customer_replied"},
            fields=frozenset(),
            self_only={Permission.WATCH},
        ),
        Role.AGENT: RoleRules(_AGENT, Scope.QUEUES, self_only={Permission.ASSIGN}),
        Role.TEAM_LEAD: RoleRules(
            _AGENT | {Permission.REDACT, Permission.PUBLISH_ARTICLES}, Scope.QUEUES
        ),
        Role.ADMIN: RoleRules(_ALL, Scope.TENANT),
    }
)

DEFAULT_POLICY = RolePolicy(DEFAULT_RULES)


def visibility_conditions(principal: Principal, policy: Policy | None = None) -> list[Condition]:
    """Query conditions (all must hold) that keep a query to what ``principal`` may read.

    For a :class:`RolePolicy` they are exact: a ticket matches them exactly when the
    policy lets the principal read it. ``all_of`` joins the conditions of its parts; a
    policy object may bring its own with a ``visibility_conditions(principal)`` method;
    any other policy (a function) gets those of :data:`DEFAULT_POLICY`. Only a role
    policy's are exact, so check ``read`` on each ticket that comes back as well.
    """
    found = _conditions(principal, DEFAULT_POLICY if policy is None else policy)
    unique: list[Condition] = []
    for condition in found:
        if condition not in unique:
            unique.append(condition)
    return unique


def _conditions(principal: Principal, policy: object) -> list[Condition]:
    if isinstance(policy, RolePolicy):
        return scope_conditions(principal, policy.scope_of(principal))
    if isinstance(policy, _Guarded):
        return _conditions(principal, policy.inner)
    if isinstance(policy, _AllOf):
        return [c for part in policy.policies for c in _conditions(principal, part)]
    own = getattr(policy, "visibility_conditions", None)
    if callable(own):
        return [Condition("tenant", Op.EQ, principal.tenant), *own(principal)]
    return _conditions(principal, DEFAULT_POLICY)


def scope_conditions(principal: Principal, scope: Scope | None) -> list[Condition]:
    """The conditions of ``scope`` for ``principal`` (``None``: nothing at all)."""
    conditions = [Condition("tenant", Op.EQ, principal.tenant)]
    if scope is None:
        conditions.append(Condition("id", Op.IN, frozenset()))
    elif scope is Scope.QUEUES:
        conditions.append(Condition("queue", Op.IN, principal.queues))
    elif scope is not Scope.TENANT:
        mine = [
            Condition("reporter", Op.EQ, principal.id),
            Condition("watchers", Op.CONTAINS, principal.id),
        ]
        if (
            scope is Scope.ORGANISATION
            and principal.sees_organisation
            and principal.organisation is not None
        ):
            mine.append(Condition("organisation", Op.EQ, principal.organisation))
        conditions.append(Condition("any", Op.ANY, tuple(mine)))
    return conditions
