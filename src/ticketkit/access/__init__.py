"""Access control: principals, policies, and what each principal may see.

* :class:`Principal` - who acts: an id, a :class:`Role`, a tenant, and for agents
  the queues they work (a :class:`Directory` resolves them from :class:`Team` s).
"""

from __future__ import annotations

from ._principal import Directory, Principal, Role, Team

__all__ = [
    "Directory",
    "Principal",
    "Role",
    "Team",
]
