"""SLA policies: which targets apply to a ticket, on which business calendar.

An :class:`SLAPolicy` holds :class:`Target` s (first response, next response,
resolution), each for any ticket or only for a priority, queue and/or customer
tier, and the thresholds at which a warning is due. It is data: built and
checked once, round-tripped through :meth:`SLAPolicy.to_data` and
:meth:`SLAPolicy.from_data`. The clocks that run on tickets live in
:mod:`ticketkit.sla._clocks`.

Durations in data use the compact form of all automation settings
(:mod:`ticketkit.rules._duration`): ``"4h"``, ``"2d 4h"``, ``"1h 30m"``, ``"45s"``,
or a number of seconds. A day is 24 hours of *business* time, so on a
09:00-17:00 calendar ``"1d"`` spans three working days; write ``"8h"`` for one
working day.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from attrs import field, frozen

from .._errors import ValidationError
from .._priority import Priority
from .._text import check_name, parse_choice
from ..rules._duration import format_duration, parse_duration
from ._calendar import BusinessCalendar

if TYPE_CHECKING:
    from .._fields import FieldDef
    from .._model import Ticket

__all__ = ["SLAPolicy", "Target", "TargetKind"]


class TargetKind(enum.StrEnum):
    """What an SLA target measures."""

    #: From opening to the first public reply by an agent.
    FIRST_RESPONSE = "first_response"
    #: From a customer's reply (after the first response) to the agent's next public reply.
    NEXT_RESPONSE = "next_response"
    #: From opening to a resolved- or closed-category state.
    RESOLUTION = "resolution"

    @classmethod
    def parse(cls, value: object) -> TargetKind:
        """Accept a ``TargetKind`` or its name (``"first_response"``); refuse anything else."""
        return parse_choice(cls, value, "SLA target kind", field="kind")


def _not_positive(value: object) -> ValidationError:
    return ValidationError(
        f"an SLA target must give a positive length of business time such as '4h', got {value}",
        field="within",
    )


def _within(value: object) -> timedelta:
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
        raise _not_positive(value)
    else:
        duration = parse_duration(value, "within")
    if duration <= timedelta(0):
        raise _not_positive(duration)
    return duration


def _kind(value: object) -> TargetKind:
    return TargetKind.parse(value)


def _priority(value: object) -> Priority | None:
    return None if value is None else Priority.parse(value)


def _queue(value: object) -> str | None:
    return None if value is None else check_name(value, "queue")


def _tier(value: object) -> str | None:
    return None if value is None else check_name(value, "tier")


def _tier_field(value: object) -> str | None:
    return None if value is None else check_name(value, "tier_field")


def _policy_name(value: object) -> str:
    return check_name(value, "name")


@frozen
class Target:
    """How long a ticket may wait for ``kind``, in business time.

    ``priority``, ``queue`` and ``tier`` narrow the tickets the target applies to;
    ``None`` means any. ``within`` accepts a ``timedelta`` or duration text (``"4h"``).
    """

    kind: TargetKind = field(converter=_kind)
    within: timedelta = field(converter=_within)
    priority: Priority | None = field(default=None, converter=_priority)
    queue: str | None = field(default=None, converter=_queue)
    tier: str | None = field(default=None, converter=_tier)

    @property
    def scope(self) -> tuple[TargetKind, Priority | None, str | None, str | None]:
        """What makes the target unique in a policy: kind, priority, queue and tier."""
        return (self.kind, self.priority, self.queue, self.tier)

    def describe(self) -> str:
        """The target in words, for messages: ``first_response P1 queue 'it'``."""
        parts = [self.kind.value]
        if self.priority is not None:
            parts.append(self.priority.name)
        if self.queue is not None:
            parts.append(f"queue {self.queue!r}")
        if self.tier is not None:
            parts.append(f"tier {self.tier!r}")
        return " ".join(parts)

    def applies(self, priority: Priority, queue: str, tier: str | None) -> bool:
        """Whether the target covers a ticket with this priority, queue and tier."""
        return (
            (self.priority is None or self.priority is priority)
            and (self.queue is None or self.queue == queue)
            and (self.tier is None or self.tier == tier)
        )

    def to_data(self) -> dict[str, Any]:
        """Plain data: ``{"kind": ..., "within": "4h"}`` plus the narrowing keys that are set."""
        data: dict[str, Any] = {"kind": self.kind.value, "within": format_duration(self.within)}
        if self.priority is not None:
            data["priority"] = self.priority.name
        if self.queue is not None:
            data["queue"] = self.queue
        if self.tier is not None:
            data["tier"] = self.tier
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Target:
        """The target that :meth:`to_data` wrote."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"an SLA target must be a mapping, got {data!r}")
        _refuse_unknown(data, ("kind", "within", "priority", "queue", "tier"), "an SLA target")
        for required in ("kind", "within"):
            if required not in data:
                raise ValidationError(f"the SLA target {dict(data)!r} needs {required!r}")
        return cls(
            data["kind"], data["within"], data.get("priority"), data.get("queue"), data.get("tier")
        )


def _refuse_unknown(data: Mapping[str, Any], known: tuple[str, ...], what: str) -> None:
    unknown = sorted(set(data) - set(known), key=str)
    if unknown:
        raise ValidationError(f"{what} has unknown keys {unknown}; use {', '.join(known)}")


def _specificity(target: Target) -> tuple[int, bool, bool, bool]:
    narrowing = (target.priority is not None, target.queue is not None, target.tier is not None)
    return (sum(narrowing), *narrowing)


def _to_targets(value: Iterable[Target]) -> tuple[Target, ...]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(f"targets must be a list of Target, got {value!r}", field="targets")
    targets = tuple(value)
    for target in targets:
        if not isinstance(target, Target):
            raise ValidationError(f"{target!r} is not a Target", field="targets")
    return targets


def _to_warn_at(value: Iterable[float]) -> tuple[float, ...]:
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(
            f"warn_at must be a list of fractions such as [0.75], got {value!r}", field="warn_at"
        )
    found: list[float] = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 < item < 1:
            raise ValidationError(
                f"warning threshold {item!r} is not a fraction between 0 and 1 (exclusive); "
                "write 0.75 for a warning at 75 % of the target",
                field="warn_at",
            )
        if float(item) in found:
            raise ValidationError(
                f"warning threshold {item!r} is given twice; list each once", field="warn_at"
            )
        found.append(float(item))
    return tuple(sorted(found))


def _check_calendar(_: object, __: object, value: Any) -> None:
    if not isinstance(value, BusinessCalendar):
        raise ValidationError(
            f"calendar {value!r} is not a BusinessCalendar; build one with "
            "BusinessCalendar.weekdays(...) or BusinessCalendar.from_data(...)",
            field="calendar",
        )


@frozen
class SLAPolicy:
    """Targets for first response, next response and resolution, on a business calendar.

    For a ticket, :meth:`target_for` picks the most specific target of a kind
    that covers the ticket's *current* priority, queue and tier (the value of the
    custom field ``tier_field``): one that names more of the three wins, and
    between equally specific ones priority beats queue beats tier. Two targets
    with the same kind, priority, queue and tier are refused. A warning falls due
    when each fraction of ``warn_at`` of a target's time has been used.
    """

    targets: tuple[Target, ...] = field(converter=_to_targets)
    name: str = field(default="default", converter=_policy_name)
    calendar: BusinessCalendar = field(factory=BusinessCalendar.always, validator=_check_calendar)
    warn_at: tuple[float, ...] = field(default=(0.75,), converter=_to_warn_at)
    tier_field: str | None = field(default=None, converter=_tier_field)
    _by_kind: Mapping[TargetKind, tuple[Target, ...]] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self.targets:
            raise ValidationError(
                f"SLA policy {self.name!r} has no targets; give at least one Target",
                field="targets",
            )
        seen: set[tuple[Any, ...]] = set()
        for target in self.targets:
            if target.scope in seen:
                raise ValidationError(
                    f"SLA policy {self.name!r} has two targets for {target.describe()}; "
                    "keep one of them",
                    field="targets",
                )
            seen.add(target.scope)
            if target.tier is not None and self.tier_field is None:
                raise ValidationError(
                    f"the target {target.describe()} of SLA policy {self.name!r} names a tier "
                    "but the policy has no tier_field; set tier_field to the custom field "
                    "that holds the customer tier",
                    field="tier_field",
                )
        by_kind = {
            kind: tuple(
                sorted((t for t in self.targets if t.kind is kind), key=_specificity, reverse=True)
            )
            for kind in TargetKind
        }
        object.__setattr__(self, "_by_kind", types.MappingProxyType(by_kind))

    def tier_of(self, ticket: Ticket) -> str | None:
        """The ticket's customer tier: the text in its ``tier_field``, if any."""
        if self.tier_field is None:
            return None
        value = ticket.fields.get(self.tier_field)
        return value if isinstance(value, str) else None

    def target_for(self, kind: TargetKind | str, ticket: Ticket) -> Target | None:
        """The most specific target of ``kind`` that covers ``ticket`` now, if any."""
        tier = self.tier_of(ticket)
        for target in self._by_kind[TargetKind.parse(kind)]:
            if target.applies(ticket.priority, ticket.queue, tier):
                return target
        return None

    def check(self, fields: Mapping[str, FieldDef], queues: Iterable[str]) -> None:
        """Refuse a ``tier_field``, queue or tier the tracker does not know."""
        known_queues = set(queues)
        if self.tier_field is not None and self.tier_field not in fields:
            raise ValidationError(
                f"SLA policy {self.name!r} reads the tier from the custom field "
                f"{self.tier_field!r}, which is not defined; define it or change tier_field "
                f"(defined: {', '.join(sorted(fields)) or 'none'})",
                field="tier_field",
            )
        for target in self.targets:
            if target.queue is not None and target.queue not in known_queues:
                raise ValidationError(
                    f"the target {target.describe()} of SLA policy {self.name!r} names the "
                    f"unknown queue {target.queue!r}; known queues: "
                    f"{', '.join(sorted(known_queues))}",
                    field="queue",
                )
            if target.tier is not None and self.tier_field is not None:
                choices = fields[self.tier_field].choices
                if choices and target.tier not in choices:
                    raise ValidationError(
                        f"the target {target.describe()} of SLA policy {self.name!r} names the "
                        f"tier {target.tier!r}, which is not a choice of the field "
                        f"{self.tier_field!r} ({', '.join(choices)})",
                        field="tier",
                    )

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON and TOML friendly) that :meth:`from_data` reads back."""
        data: dict[str, Any] = {
            "name": self.name,
            "calendar": self.calendar.to_data(),
            "warn_at": list(self.warn_at),
            "targets": [target.to_data() for target in self.targets],
        }
        if self.tier_field is not None:
            data["tier_field"] = self.tier_field
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SLAPolicy:
        """Read a policy: ``{"targets": [...]}``; name, calendar, warn_at, tier_field optional."""
        if not isinstance(data, Mapping):
            raise ValidationError(f"an SLA policy must be a mapping, got {data!r}")
        _refuse_unknown(
            data, ("name", "calendar", "warn_at", "tier_field", "targets"), "an SLA policy"
        )
        if "targets" not in data:
            raise ValidationError("an SLA policy needs 'targets'", field="targets")
        raw = data["targets"]
        if isinstance(raw, (str, Mapping)) or not isinstance(raw, Iterable):
            raise ValidationError(f"targets must be a list, got {raw!r}", field="targets")
        options: dict[str, Any] = {
            key: data[key] for key in ("name", "warn_at", "tier_field") if key in data
        }
        if data.get("calendar") is not None:
            options["calendar"] = BusinessCalendar.from_data(data["calendar"])
        return cls(tuple(Target.from_data(item) for item in raw), **options)
