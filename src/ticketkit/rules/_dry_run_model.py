"""What a dry run of rules found: plain frozen values, JSON-ready and readable.

A :class:`DryRun` holds one :class:`Firing` per time a rule would have fired
on a ticket, each with what its actions would have changed, and a
:class:`RuleSummary` per rule. ``to_data()`` gives plain dicts and lists (times
as ISO 8601 text); ``describe()`` gives lines for people.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from attrs import frozen

from .._events import JSONValue

__all__ = [
    "DraftComment",
    "DraftNotification",
    "DryRun",
    "FieldChange",
    "Firing",
    "RuleSummary",
    "SkippedAction",
    "StatusChange",
]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _show(value: JSONValue) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _quote(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 3] + "...")


@frozen
class FieldChange:
    """A field the rule would have changed: ``field`` (``priority``, ``fields.team``...)."""

    field: str
    old: JSONValue
    new: JSONValue

    def to_data(self) -> dict[str, JSONValue]:
        """``{"field": ..., "old": ..., "new": ...}`` (values in their JSON form)."""
        return {"field": self.field, "old": self.old, "new": self.new}

    def describe(self) -> str:
        """``priority P3 -> P1``."""
        return f"{self.field} {_show(self.old)} -> {_show(self.new)}"


@frozen
class StatusChange:
    """A workflow action the rule would have taken, from one status to another."""

    action: str
    old: str
    new: str

    def to_data(self) -> dict[str, JSONValue]:
        """``{"action": ..., "old": ..., "new": ...}``."""
        return {"action": self.action, "old": self.old, "new": self.new}

    def describe(self) -> str:
        """``close: resolved -> closed``."""
        return f"{self.action}: {self.old} -> {self.new}"


@frozen
class DraftComment:
    """A comment the rule would have added: a public reply, or an internal note."""

    text: str
    internal: bool

    def to_data(self) -> dict[str, JSONValue]:
        """``{"text": ..., "internal": ...}``."""
        return {"text": self.text, "internal": self.internal}

    def describe(self) -> str:
        """``note 'Seen.'`` or ``reply 'Thanks.'``."""
        return f"{'note' if self.internal else 'reply'} {_quote(self.text)}"


@frozen
class DraftNotification:
    """A notification the rule would have queued (one per recipient, as the tracker does)."""

    channel: str
    template: str
    recipients: tuple[str, ...]
    subject: str

    def to_data(self) -> dict[str, JSONValue]:
        """``{"channel": ..., "template": ..., "recipients": [...], "subject": ...}``."""
        return {
            "channel": self.channel,
            "template": self.template,
            "recipients": list(self.recipients),
            "subject": self.subject,
        }

    def describe(self) -> str:
        """``notify 'rule' to alice@example.com``."""
        return f"notify {self.template!r} to {', '.join(self.recipients)}"


@frozen
class SkippedAction:
    """An action that could not have been done then (``action`` is its kind), and why."""

    action: str
    reason: str

    def to_data(self) -> dict[str, JSONValue]:
        """``{"action": ..., "reason": ...}``."""
        return {"action": self.action, "reason": self.reason}

    def describe(self) -> str:
        """``skipped Transition (why)``."""
        return f"skipped {self.action} ({self.reason})"


@frozen
class Firing:
    """One time a rule would have fired on a ticket, and what it would have done.

    ``trigger`` is the triggering event's type (``"commented"``...) with
    ``event`` its id and ``actor`` its actor, or ``"elapsed"`` for a timed rule
    with ``anchor`` the instant it counted from. ``at`` is when the rule would
    have fired: the triggering event's time, or when the timed rule fell due
    (or, if its condition held only later, the change after which it held).
    """

    ticket: str
    rule: str
    trigger: str
    at: datetime
    event: int | None = None
    actor: str | None = None
    anchor: datetime | None = None
    changes: tuple[FieldChange, ...] = ()
    transitions: tuple[StatusChange, ...] = ()
    comments: tuple[DraftComment, ...] = ()
    notifications: tuple[DraftNotification, ...] = ()
    escalations: tuple[str, ...] = ()
    skipped: tuple[SkippedAction, ...] = ()

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data; times are ISO 8601 text, absent values ``None``."""
        return {
            "ticket": self.ticket,
            "rule": self.rule,
            "trigger": self.trigger,
            "at": _iso(self.at),
            "event": self.event,
            "actor": self.actor,
            "anchor": _iso(self.anchor),
            "changes": [c.to_data() for c in self.changes],
            "transitions": [t.to_data() for t in self.transitions],
            "comments": [c.to_data() for c in self.comments],
            "notifications": [n.to_data() for n in self.notifications],
            "escalations": list(self.escalations),
            "skipped": [s.to_data() for s in self.skipped],
        }

    def effects(self) -> list[str]:
        """What the rule would have done, one short phrase per change, in action order."""
        return [
            *(t.describe() for t in self.transitions),
            *(c.describe() for c in self.changes),
            *(c.describe() for c in self.comments),
            *(n.describe() for n in self.notifications),
            *(f"escalate to {level}" for level in self.escalations),
            *(s.describe() for s in self.skipped),
        ]

    def describe(self) -> str:
        """One line: ``HD-1 2026-03-02 09:30 'urgent' on commented by carol: priority P3 -> P1``."""
        when = self.at.strftime("%Y-%m-%d %H:%M")
        if self.trigger == "elapsed":
            assert self.anchor is not None
            why = f"due since {self.anchor.strftime('%Y-%m-%d %H:%M')}"
        else:
            why = f"on {self.trigger} by {self.actor}"
        done = "; ".join(self.effects()) or "no change"
        return f"{self.ticket} {when} {self.rule!r} {why}: {done}"


@frozen
class RuleSummary:
    """How often one rule would have fired: ``times`` in all, on ``tickets`` tickets."""

    rule: str
    tickets: int = 0
    times: int = 0

    def to_data(self) -> dict[str, JSONValue]:
        """``{"rule": ..., "tickets": n, "times": m}``."""
        return {"rule": self.rule, "tickets": self.tickets, "times": self.times}

    def describe(self) -> str:
        """``'urgent' would have fired 3 times on 2 tickets``."""
        if not self.times:
            return f"{self.rule!r} would not have fired"
        times = "once" if self.times == 1 else f"{self.times} times"
        tickets = "1 ticket" if self.tickets == 1 else f"{self.tickets} tickets"
        return f"{self.rule!r} would have fired {times} on {tickets}"


@frozen
class DryRun:
    """Which rules would have fired on which tickets in ``[since, until)``, and what they did.

    ``firings`` are in time order; ``summary`` has one entry per rule given, in
    the rules' order (those that never fired too). ``tickets`` counts the
    tickets with events recorded in the period; ``depth_limited`` the firings
    the rules' ``max_depth`` held back (an event that rules set off
    ``max_depth`` deep triggers no more rules).
    """

    since: datetime | None
    until: datetime
    tickets: int
    firings: tuple[Firing, ...]
    summary: tuple[RuleSummary, ...]
    depth_limited: int = 0

    def for_ticket(self, key: str) -> tuple[Firing, ...]:
        """The firings on the ticket ``key``, in time order."""
        return tuple(f for f in self.firings if f.ticket == key)

    def for_rule(self, name: str) -> tuple[Firing, ...]:
        """The firings of the rule ``name``, in time order."""
        return tuple(f for f in self.firings if f.rule == name)

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-ready data (``json.dumps`` takes it as it is)."""
        return {
            "since": _iso(self.since),
            "until": _iso(self.until),
            "tickets": self.tickets,
            "depth_limited": self.depth_limited,
            "firings": [f.to_data() for f in self.firings],
            "summary": [s.to_data() for s in self.summary],
        }

    def describe(self) -> list[str]:
        """One line per firing, then one per rule saying how often it would have fired."""
        lines = [f.describe() for f in self.firings]
        lines.extend(s.describe() for s in self.summary)
        if self.depth_limited:
            lines.append(f"{self.depth_limited} firings held back by the depth limit")
        return lines
