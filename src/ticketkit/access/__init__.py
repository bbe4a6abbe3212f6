"""Access control: principals, policies, and what each principal may see.

The domain half of multi-tenant access, pure and free of I/O:

* :class:`Principal` - who acts: an id, a :class:`Role`, a tenant, and for agents
  the queues they work (a :class:`Directory` resolves them from :class:`Team` s);
* :class:`Permission`, :class:`Decision` and the :class:`Policy` protocol, with
  :class:`RolePolicy` (rules as data, :data:`DEFAULT_POLICY`) and plain functions
  accepted as policies (:func:`as_policy`, :func:`all_of`); every policy checks the
  tenant first;
* :func:`visibility_conditions` - query conditions that keep a query to what a
  principal may read, evaluated by every store;
* the views (:func:`view_ticket`, :func:`view_events`, :func:`view_comments`,
  :func:`view_attachments`) - what a customer may see of what they may read.
"""

from __future__ import annotations

from .._access_log import Denial
from ._kb import SessionKnowledgeBase
from ._policy import (
    Decision,
    Permission,
    Policy,
    PolicyFunction,
    Scope,
    all_of,
    as_policy,
    decide,
    in_scope,
)
from ._principal import Directory, Principal, Role, Team
from ._rules import (
    DEFAULT_POLICY,
    DEFAULT_RULES,
    RolePolicy,
    RoleRules,
    scope_conditions,
    visibility_conditions,
)
from ._session import Session
from ._view import (
    SOMEONE,
    Staff,
    sees_internal,
    view_attachments,
    view_comments,
    view_events,
    view_ticket,
)

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_RULES",
    "SOMEONE",
    "Decision",
    "Denial",
    "Directory",
    "Permission",
    "Policy",
    "PolicyFunction",
    "Principal",
    "Role",
    "RolePolicy",
    "RoleRules",
    "Scope",
    "Session",
    "SessionKnowledgeBase",
    "Staff",
    "Team",
    "all_of",
    "as_policy",
    "decide",
    "in_scope",
    "scope_conditions",
    "sees_internal",
    "view_attachments",
    "view_comments",
    "view_events",
    "view_ticket",
    "visibility_conditions",
]
