"""Permissions, decisions and the policy protocol, with the checks every policy shares.

A policy answers one question: may this principal do this to this ticket? Whatever
the policy, the tenant check comes first: :func:`as_policy` wraps any policy (an
object with ``decide`` or a plain function) so that a principal never acts on a
ticket of another tenant, however the policy is written.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from attrs import frozen

from .._errors import ValidationError
from .._model import Ticket
from .._text import parse_choice
from ._principal import Principal

__all__ = [
    "Decision",
    "Permission",
    "Policy",
    "PolicyFunction",
    "Scope",
    "all_of",
    "as_policy",
    "decide",
    "in_scope",
]


class Permission(enum.StrEnum):
    """Something a principal may be allowed to do."""

    READ = "read"
    CREATE = "create"
    COMMENT = "comment"
    INTERNAL_NOTE = "internal_note"
    READ_INTERNAL = "read_internal"
    TRANSITION = "transition"
    ASSIGN = "assign"
    CHANGE_FIELD = "change_field"
    ATTACH = "attach"
    LINK = "link"
    MERGE = "merge"
    WATCH = "watch"
    REDACT = "redact"
    ERASE = "erase"
    EXPORT = "export"
    ADMINISTER = "administer"
    #: See draft and archived knowledge-base articles and their history; write articles.
    EDIT_ARTICLES = "edit_articles"
    #: Publish, archive or withdraw knowledge-base articles.
    PUBLISH_ARTICLES = "publish_articles"
    #: Log time spent on a ticket, take entries back and set its estimate.
    LOG_TIME = "log_time"

    @classmethod
    def parse(cls, value: object) -> Permission:
        return parse_choice(cls, value, "permission", field="permission")


class Scope(enum.StrEnum):
    """Which tickets of their tenant a role reaches.

    ``own``: tickets the principal reported or watches. ``organisation``: those, and
    every ticket of the principal's organisation when ``sees_organisation`` is set.
    ``queues``: tickets in the principal's queues. ``tenant``: every ticket.
    """

    OWN = "own"
    ORGANISATION = "organisation"
    QUEUES = "queues"
    TENANT = "tenant"

    @classmethod
    def parse(cls, value: object) -> Scope:
        return parse_choice(cls, value, "scope", field="scope")


@frozen
class Decision:
    """Allowed or not, and why (the reason is recorded with a denial)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed

    @classmethod
    def allow(cls, reason: str = "allowed") -> Decision:
        return cls(True, reason)

    @classmethod
    def deny(cls, reason: str) -> Decision:
        return cls(False, reason)


@runtime_checkable
class Policy(Protocol):
    """Decides what a principal may do.

    ``ticket`` is ``None`` for an operation on no ticket yet (``create`` without a
    draft, ``export``, ``erase``, ``administer``). ``detail`` narrows the permission:
    the workflow action for ``transition``, the field path (``"priority"``,
    ``"fields.severity"``) for ``change_field``, the new assignee for ``assign`` and
    the person for ``watch``.
    """

    def decide(
        self,
        principal: Principal,
        permission: Permission,
        ticket: Ticket | None,
        detail: str | None = None,
    ) -> Decision: ...


#: A policy written as a function; it may return a plain ``bool``.
PolicyFunction = Callable[[Principal, Permission, Ticket | None, str | None], "bool | Decision"]


def in_scope(principal: Principal, ticket: Ticket, scope: Scope) -> bool:
    """Does ``ticket`` (already known to be of the principal's tenant) lie in ``scope``?"""
    if scope is Scope.TENANT:
        return True
    if scope is Scope.QUEUES:
        return ticket.queue in principal.queues
    if ticket.reporter == principal.id or principal.id in ticket.watchers:
        return True
    return (
        scope is Scope.ORGANISATION
        and principal.sees_organisation
        and principal.organisation is not None
        and ticket.organisation == principal.organisation
    )


def tenant_decision(principal: Principal, ticket: Ticket | None) -> Decision | None:
    """The denial when ``ticket`` belongs to another tenant than ``principal``, else ``None``."""
    if ticket is not None and ticket.tenant != principal.tenant:
        return Decision.deny(
            f"{principal.id!r} acts for tenant {principal.tenant!r}; "
            "the ticket belongs to another tenant"
        )
    return None


def _name_of(fn: object) -> str:
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)


@frozen
class _Guarded:
    """Runs the tenant check, then the wrapped policy; turns ``bool`` answers into decisions."""

    inner: Policy | PolicyFunction

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
        if isinstance(self.inner, Policy):
            answer: object = self.inner.decide(principal, permission, ticket, detail)
        else:
            answer = self.inner(principal, permission, ticket, detail)
        if isinstance(answer, Decision):
            return answer
        if isinstance(answer, bool):
            verdict = "allowed" if answer else "denied"
            return Decision(answer, f"{permission.value} {verdict} by {_name_of(self.inner)}")
        raise ValidationError(
            f"the policy {_name_of(self.inner)} returned {answer!r}; a policy returns "
            "True, False or a Decision"
        )


def decide(
    policy: Policy | PolicyFunction,
    principal: Principal,
    permission: Permission | str,
    ticket: Ticket | None = None,
    detail: str | None = None,
) -> Decision:
    """Ask ``policy`` (any policy; the tenant check comes first) about one operation."""
    return as_policy(policy).decide(principal, Permission.parse(permission), ticket, detail)


def as_policy(policy: Policy | PolicyFunction) -> Policy:
    """``policy`` with the tenant check first and ``bool`` answers made into decisions.

    Accepts an object with a ``decide`` method or a function
    ``(principal, permission, ticket, detail) -> bool | Decision``. Call it once on
    whatever policy a host hands over, and ask only the result.
    """
    if isinstance(policy, _Guarded):
        return policy
    if not isinstance(policy, Policy) and not callable(policy):
        raise ValidationError(
            f"not a policy: {policy!r}; pass an object with a decide() method or a function "
            "(principal, permission, ticket, detail) -> bool"
        )
    return _Guarded(policy)


@frozen
class _AllOf:
    policies: tuple[Policy, ...]

    def decide(
        self,
        principal: Principal,
        permission: Permission,
        ticket: Ticket | None,
        detail: str | None = None,
    ) -> Decision:
        decision = Decision.allow()
        for policy in self.policies:
            decision = policy.decide(principal, permission, ticket, detail)
            if not decision.allowed:
                return decision
        return decision


def all_of(*policies: Policy | PolicyFunction) -> Policy:
    """A policy that allows only what every one of ``policies`` allows, asked in order.

    ``all_of(DEFAULT_POLICY, no_merges_on_fridays)`` adds a rule to the default one.
    """
    if not policies:
        raise ValidationError("all_of needs at least one policy")
    return as_policy(_AllOf(tuple(as_policy(p) for p in policies)))
