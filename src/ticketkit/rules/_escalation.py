"""Escalation: the levels a ticket climbs when its SLA is at risk or a rule says so.

An :class:`EscalationPolicy` is an ordered list of :class:`EscalationLevel` s. A ticket's
current level is read from its events: the latest ``escalated`` event names it. Each
escalation is recorded with :meth:`EscalationPolicy.escalation_event`, a notice event
that keeps the ticket's version (see :data:`ticketkit._events.NOTICE_TYPES`); what a
level does (assign, move, re-prioritise, tag, notify) is carried out by the tracker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from attrs import field, frozen

from .._clock import ensure_utc
from .._errors import ValidationError
from .._events import Event, EventType
from .._fields import FieldDef
from .._model import Ticket, normalise_tags
from .._priority import Priority
from .._text import check_name, check_title
from ._data import build_named, in_context, optional_name, read_list, read_table

__all__ = ["ESCALATION_TRIGGERS", "EscalationLevel", "EscalationPolicy", "sla_targets"]

#: What can escalate a ticket: an SLA warning, an SLA breach.
ESCALATION_TRIGGERS = ("warning", "breach")


def sla_targets() -> tuple[str, ...]:
    """The SLA target kinds an escalation policy may name: the values of ``sla.TargetKind``.

    Imported when first needed: ``ticketkit.sla`` itself imports this package.
    """
    from ..sla._policy import TargetKind

    return tuple(t.value for t in TargetKind)


_EVENT_TRIGGERS = {
    EventType.SLA_WARNING.value: "warning",
    EventType.SLA_BREACHED.value: "breach",
}


def _level_name(value: str) -> str:
    return check_name(value, "level name")


def _assign_to(value: str | None) -> str | None:
    return optional_name(value, "assign_to")


def _queue(value: str | None) -> str | None:
    return optional_name(value, "queue")


def _priority(value: Priority | str | int | None) -> Priority | None:
    return None if value is None else Priority.parse(value)


def _notify(values: Iterable[str]) -> tuple[str, ...]:
    names = tuple(check_name(v, "notify") for v in read_list(values, "notify"))
    for name in names:
        if names.count(name) > 1:
            raise ValidationError(f"{name!r} is notified twice; list it once", field="notify")
    return names


def _tags(values: Iterable[str]) -> frozenset[str]:
    return normalise_tags(read_list(values, "add_tags"))


@frozen
class EscalationLevel:
    """One step up: what happens to a ticket escalated to it.

    ``assign_to`` re-assigns, ``queue`` moves, ``priority`` re-prioritises and
    ``add_tags`` tags the ticket (``None``/empty: leave it); ``notify`` lists who is
    told: ``"assignee"``, ``"reporter"``, ``"watchers"``, people or e-mail addresses.
    """

    name: str = field(converter=_level_name)
    assign_to: str | None = field(default=None, converter=_assign_to)
    queue: str | None = field(default=None, converter=_queue)
    priority: Priority | None = field(default=None, converter=_priority)
    notify: tuple[str, ...] = field(default=(), converter=_notify)
    add_tags: frozenset[str] = field(default=frozenset(), converter=_tags)

    def to_data(self) -> dict[str, Any]:
        """Plain data; keys at their default are left out."""
        data: dict[str, Any] = {"name": self.name}
        for key in ("assign_to", "queue"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.priority is not None:
            data["priority"] = self.priority.name
        if self.notify:
            data["notify"] = list(self.notify)
        if self.add_tags:
            data["add_tags"] = sorted(self.add_tags)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> EscalationLevel:
        """Read ``{"name": "tier2", "assign_to": "lead", "priority": "P2", "notify": [...]}``."""
        return build_named(
            cls, data, "escalation level", {"assign_to", "queue", "priority", "notify", "add_tags"}
        )


def _levels(values: Iterable[EscalationLevel]) -> tuple[EscalationLevel, ...]:
    levels = tuple(read_list(values, "levels"))
    if not levels:
        raise ValidationError(
            "an escalation policy needs at least one level, e.g. EscalationLevel('tier2')",
            field="levels",
        )
    seen: set[str] = set()
    for level in levels:
        if not isinstance(level, EscalationLevel):
            raise ValidationError(
                f"levels must be EscalationLevel values, got {level!r}", field="levels"
            )
        if level.name in seen:
            raise ValidationError(
                f"two escalation levels are named {level.name!r}; rename one", field="levels"
            )
        seen.add(level.name)
    return levels


def _choices(values: Iterable[str], what: str, allowed: tuple[str, ...]) -> frozenset[str]:
    found = frozenset(read_list(values, what))
    for value in sorted(found, key=str):
        if value not in allowed:
            raise ValidationError(
                f"{what} holds {value!r}; use one or more of {', '.join(allowed)}", field=what
            )
    return found


def _on(values: Iterable[str]) -> frozenset[str]:
    # Empty: SLA notices escalate nothing, and only rules' escalate actions climb.
    return _choices(values, "on", ESCALATION_TRIGGERS)


def _targets(values: Iterable[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    found = _choices(values, "targets", sla_targets())
    if not found:
        raise ValidationError(
            "targets is empty, so no SLA notice would escalate; list some of "
            f"{', '.join(sla_targets())}, or leave targets out for all of them "
            "(on=[] turns escalation by SLA notices off)",
            field="targets",
        )
    return found


@frozen
class EscalationPolicy:
    """Ordered escalation levels and what climbs them.

    ``on`` says which SLA notices escalate a ticket (``"warning"``, ``"breach"``;
    empty: none, so only rules escalate) and ``targets`` for which SLA targets
    (``None``: all). Each such notice, and each rule's escalate action without a
    level, moves the ticket one level up.
    """

    levels: tuple[EscalationLevel, ...] = field(converter=_levels)
    on: frozenset[str] = field(default=frozenset({"breach"}), converter=_on)
    targets: frozenset[str] | None = field(default=None, converter=_targets)

    def level(self, name: str) -> EscalationLevel:
        """The level called ``name``; ``ValidationError`` if there is none."""
        for level in self.levels:
            if level.name == name:
                return level
        raise ValidationError(
            f"unknown escalation level {name!r}; the levels are "
            f"{', '.join(lv.name for lv in self.levels)}",
            field="level",
        )

    def applies_to(self, trigger: str | EventType, target: str) -> bool:
        """Does an SLA ``trigger`` on ``target`` escalate?

        ``trigger`` is ``"warning"`` or ``"breach"``, or the event type recording it
        (``sla_warning``, ``sla_breached``).
        """
        trigger = str(trigger)
        trigger = _EVENT_TRIGGERS.get(trigger, trigger)
        if trigger not in ESCALATION_TRIGGERS:
            raise ValidationError(
                f"unknown escalation trigger {trigger!r}; use {' or '.join(ESCALATION_TRIGGERS)}",
                field="trigger",
            )
        targets = sla_targets()
        if target not in targets:
            raise ValidationError(
                f"unknown SLA target {target!r}; use one of {', '.join(targets)}",
                field="target",
            )
        return trigger in self.on and (self.targets is None or target in self.targets)

    def current_level(self, events: Sequence[Event]) -> EscalationLevel | None:
        """The level of the latest ``escalated`` event in ``events`` (oldest first).

        Events naming a level this policy no longer has are passed over, so an edited
        policy never fails on old history; ``None`` when the ticket was never escalated.
        """
        names = {level.name: level for level in self.levels}
        for event in reversed(events):
            if event.type == EventType.ESCALATED:
                name = event.data.get("level")
                if isinstance(name, str) and name in names:
                    return names[name]
        return None

    def next_level(self, events: Sequence[Event]) -> EscalationLevel | None:
        """The level after the current one (the first if none); ``None`` at the top."""
        current = self.current_level(events)
        if current is None:
            return self.levels[0]
        index = self.levels.index(current) + 1
        return self.levels[index] if index < len(self.levels) else None

    def escalation_event(
        self,
        ticket: Ticket,
        level: EscalationLevel | str,
        reason: str,
        actor: str,
        at: datetime,
        *,
        events: Sequence[Event] = (),
    ) -> Event:
        """The ``escalated`` event that records ``ticket`` reaching ``level``.

        It keeps the ticket's version (a notice, not a change). ``data`` holds
        ``level``, ``reason`` (such as ``"breach:resolution"`` or ``"rule:vip"``) and
        ``from``: the level before, read from the ticket's ``events``, or ``None``.
        """
        chosen = self.level(level if isinstance(level, str) else level.name)
        if chosen != level and not isinstance(level, str):
            raise ValidationError(
                f"the escalation level {level.name!r} given differs from this policy's; "
                "pass the policy's level or its name",
                field="level",
            )
        previous = self.current_level(events)
        return Event(
            ticket_id=ticket.id,
            ticket_key=ticket.key,
            version=ticket.version,
            type=EventType.ESCALATED,
            actor=check_name(actor, "actor"),
            at=ensure_utc(at, "at"),
            data={
                "level": chosen.name,
                "reason": check_title(reason, "reason"),
                "from": None if previous is None else previous.name,
            },
        )

    def check(self, fields: Mapping[str, FieldDef], queues: Iterable[str]) -> None:
        """Refuse levels that move tickets to queues the tracker does not have."""
        del fields  # levels set no custom fields
        known = set(queues)
        for level in self.levels:
            if level.queue is not None and level.queue not in known:
                raise ValidationError(
                    f"escalation level {level.name!r} moves tickets to the queue "
                    f"{level.queue!r}; the tracker's queues are {', '.join(sorted(known))}",
                    field="queue",
                )

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON- and TOML-ready); :meth:`from_data` reads it back."""
        data: dict[str, Any] = {"levels": [level.to_data() for level in self.levels]}
        if self.on != {"breach"}:
            data["on"] = sorted(self.on)
        if self.targets is not None:
            data["targets"] = sorted(self.targets)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> EscalationPolicy:
        """Read ``{"levels": [...], "on": ["warning", "breach"], "targets": ["resolution"]}``."""
        values = read_table(data, "the escalation policy", {"levels"}, {"on", "targets"})
        values["levels"] = [
            EscalationLevel.from_data(lv) for lv in read_list(values["levels"], "levels")
        ]
        return in_context("the escalation policy", lambda: cls(**values))
