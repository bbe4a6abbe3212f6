"""``what_if``: the SLA compliance other policies would have given on the recorded history.

"What if we had promised 4 hours instead of 8?" Each policy is replayed over
the events of the tickets opened in the period, exactly as
:func:`ticketkit.reports.build_report` measures compliance (the same clocks,
the same reading of responses, pauses and resolutions), so a what-if and a
report never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrs import frozen

from .._errors import ValidationError
from ._policy import SLAPolicy

if TYPE_CHECKING:
    from .._query import Query
    from .._tracker import Tracker
    from ..reports import Compliance

__all__ = ["WhatIf", "what_if"]


def _share(compliance: Compliance) -> str:
    share = compliance.met_share
    if share is None:
        return f"{compliance.kind} none decided"
    decided = compliance.met + compliance.breached
    return f"{compliance.kind} {share:.0%} met ({compliance.met} of {decided})"


@frozen
class WhatIf:
    """How the tickets opened in ``[since, until)`` would have done under one policy.

    ``label`` is the key the policy was given under (its ``name`` when given in a
    list); ``compliance`` has one :class:`ticketkit.reports.Compliance` per
    target kind of the policy (first response, next response, resolution, in
    that order): tickets whose target was met, breached, or still running at
    ``until``, and ``met_share``.
    """

    label: str
    policy: str
    since: datetime
    until: datetime
    tickets: int
    compliance: tuple[Compliance, ...]

    def kind(self, kind: str) -> Compliance:
        """The compliance of the target kind ``kind`` (``"resolution"``...)."""
        for item in self.compliance:
            if item.kind == kind:
                return item
        known = ", ".join(c.kind for c in self.compliance) or "none"
        raise ValidationError(
            f"policy {self.label!r} has no {kind!r} target; its kinds: {known}", field="kind"
        )

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data; times are ISO 8601 text, shares fractions or ``None``."""
        return {
            "label": self.label,
            "policy": self.policy,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "tickets": self.tickets,
            "compliance": [
                {
                    "kind": c.kind,
                    "met": c.met,
                    "breached": c.breached,
                    "running": c.running,
                    "met_share": c.met_share,
                }
                for c in self.compliance
            ],
        }

    def describe(self) -> str:
        """``4h: resolution 40% met (2 of 5), 1 running; 6 tickets``."""
        parts = []
        for item in self.compliance:
            running = f", {item.running} running" if item.running else ""
            parts.append(_share(item) + running)
        tickets = "1 ticket" if self.tickets == 1 else f"{self.tickets} tickets"
        return f"{self.label}: {'; '.join(parts)}; {tickets}"


def _policies(policies: object) -> list[tuple[str, SLAPolicy]]:
    hint = "give a mapping of labels to SLAPolicy, or a list of SLAPolicy with distinct names"
    if isinstance(policies, SLAPolicy):
        raise ValidationError(
            f"policies must be several policies to compare, got one SLAPolicy; {hint}",
            field="policies",
        )
    if isinstance(policies, Mapping):
        found = list(policies.items())
    elif isinstance(policies, Sequence) and not isinstance(policies, str | bytes):
        found = [(getattr(p, "name", ""), p) for p in policies]
    else:
        raise ValidationError(f"policies is {policies!r:.60}; {hint}", field="policies")
    if not found:
        raise ValidationError(f"policies is empty; {hint}", field="policies")
    labels: set[str] = set()
    for label, policy in found:
        if not isinstance(policy, SLAPolicy):
            raise ValidationError(f"{policy!r:.60} is not an SLAPolicy; {hint}", field="policies")
        if not isinstance(label, str) or not label:
            raise ValidationError(
                f"a policy's label must be a non-empty string, got {label!r:.60}",
                field="policies",
            )
        if label in labels:
            raise ValidationError(f"two policies are labelled {label!r}; {hint}", field="policies")
        labels.add(label)
    return found


def what_if(
    tracker: Tracker,
    policies: Mapping[str, SLAPolicy] | Sequence[SLAPolicy],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
    where: Mapping[str, Any] | Query | None = None,
) -> list[WhatIf]:
    """The compliance each of ``policies`` would have given, in the order given.

    The tickets are those opened in ``[since, until)`` that match ``where`` and
    ``tenant``; each policy's clocks run over their recorded events up to
    ``until`` (default: the tracker's clock; ``since``: the start of the day of
    the first ticket), on the policy's own business calendar. Nothing is
    written. ``policies`` maps labels to policies (``{"4h": ..., "8h": ...}``),
    or is a list of policies with distinct names. Bad input raises
    :class:`~ticketkit.ValidationError` naming it.
    """
    from ..reports import build_report

    found = _policies(policies)
    results: list[WhatIf] = []
    for label, policy in found:
        report = build_report(
            tracker, since=since, until=until, policy=policy, tenant=tenant, where=where
        )
        results.append(
            WhatIf(
                label=label,
                policy=policy.name,
                since=report.since,
                until=report.until,
                tickets=report.summary.tickets,
                compliance=report.summary.sla,
            )
        )
    return results
