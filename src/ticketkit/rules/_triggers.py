"""What sets a rule off: an event, or a length of time since some instant.

:class:`OnEvent` fires when a ticket records an event of one of its types
(optionally only for a customer's or an agent's event); :class:`Elapsed`
falls due a length of time after an :class:`Anchor`, an instant that
:func:`anchors` reads from the ticket's events.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from attrs import field, frozen

from .._clock import ensure_utc
from .._errors import ValidationError
from .._events import NOTICE_TYPES, Event, EventType, JSONValue
from .._model import Ticket
from .._text import parse_choice
from ._data import check_bool, check_table, in_context, read_list, read_table
from ._duration import format_duration, parse_duration

__all__ = [
    "Anchor",
    "BusinessClock",
    "Elapsed",
    "OnEvent",
    "Trigger",
    "anchors",
    "trigger_from_data",
]

_BY = ("anyone", "customer", "agent")


def _event_types(value: object) -> frozenset[EventType]:
    values = read_list(value, "event", of="event types", single=True)
    found = frozenset(parse_choice(EventType, v, "event type", field="event") for v in values)
    if not found:
        raise ValidationError("an event trigger needs at least one event type", field="event")
    return found


def _by(value: object) -> str:
    if value not in _BY:
        raise ValidationError(
            f"a trigger's 'by' is {value!r}; use one of {', '.join(_BY)}", field="by"
        )
    return str(value)


@frozen
class OnEvent:
    """Fires when the ticket records an event of one of ``types``.

    ``by`` limits it to events whose actor is the customer (``"customer"``) or
    is not (``"agent"``); ``"anyone"`` takes all.
    """

    types: frozenset[EventType] = field(converter=_event_types)
    by: str = field(default="anyone", converter=_by)

    def fires_for(self, event: Event, is_customer: bool) -> bool:
        """Whether ``event`` (by the customer when ``is_customer``) sets the rule off."""
        if event.type not in self.types:
            return False
        if self.by == "anyone":
            return True
        return is_customer is (self.by == "customer")

    def to_data(self) -> dict[str, JSONValue]:
        """``{"event": ["commented", ...], "by": "customer"}``."""
        return {"event": sorted(t.value for t in self.types), "by": self.by}


class Anchor(enum.StrEnum):
    """The instant a time-based rule counts from."""

    #: When the ticket was opened.
    CREATED = "created"
    #: The ticket's latest change (notices such as SLA warnings are not changes).
    UPDATED = "updated"
    #: The customer's latest public comment; none until there is one.
    CUSTOMER_REPLY = "last_customer_reply"
    #: The latest public comment by anyone else; none until there is one.
    AGENT_REPLY = "last_agent_reply"
    #: The latest status change; the opening until there is one.
    STATUS_CHANGE = "last_status_change"


class BusinessClock(Protocol):
    """Anything that adds business time to an instant, such as a ``BusinessCalendar``."""

    def add(self, start: datetime, duration: timedelta) -> datetime: ...


def _after(value: object) -> timedelta:
    found = parse_duration(value, "after")
    if found <= timedelta(0):
        raise ValidationError(
            f"a time-based rule must wait a positive length of time such as '8h', got "
            f"{format_duration(found)!r}",
            field="after",
        )
    return found


def _anchor(value: object) -> Anchor:
    return parse_choice(Anchor, value, "anchor", field="since")


def _business(value: object) -> bool:
    return check_bool(value, "business")


@frozen
class Elapsed:
    """Falls due ``after`` the ``since`` anchor: business time on the calendar, or wall time.

    ``Elapsed(Anchor.CUSTOMER_REPLY, timedelta(hours=8))`` is "8 business hours
    since the customer's last reply". The rule is not due while its anchor has
    no instant (no customer reply yet).
    """

    since: Anchor = field(converter=_anchor)
    after: timedelta = field(converter=_after)
    business: bool = field(default=True, converter=_business)

    def due_at(self, anchor_time: datetime, calendar: BusinessClock | None = None) -> datetime:
        """The instant the rule falls due when its anchor is ``anchor_time``.

        With ``business`` and a ``calendar`` it is ``calendar.add(anchor_time,
        after)``; otherwise ``anchor_time + after`` (UTC).
        """
        start = ensure_utc(anchor_time, "anchor_time")
        if self.business and calendar is not None:
            return ensure_utc(calendar.add(start, self.after), "due")
        return start + self.after

    def to_data(self) -> dict[str, JSONValue]:
        """``{"elapsed": "8h", "since": "last_customer_reply", "business": true}``."""
        return {
            "elapsed": format_duration(self.after),
            "since": self.since.value,
            "business": self.business,
        }


#: What sets a rule off.
Trigger = OnEvent | Elapsed


def anchors(
    ticket: Ticket, events: Sequence[Event], is_customer: Callable[[Ticket, str], bool]
) -> dict[Anchor, datetime | None]:
    """The instant of every :class:`Anchor` for ``ticket``, read from its ``events``.

    A reply is a public comment (``commented`` with ``data["internal"]`` false);
    ``is_customer(ticket, actor)`` tells the customer's from the others'. Events
    come in any order; notices (SLA warnings, rule records...) change nothing
    and do not count as updates.
    """
    found: dict[Anchor, datetime | None] = {
        Anchor.CREATED: ensure_utc(ticket.created, "created"),
        Anchor.UPDATED: None,
        Anchor.CUSTOMER_REPLY: None,
        Anchor.AGENT_REPLY: None,
        Anchor.STATUS_CHANGE: None,
    }

    def later(anchor: Anchor, at: datetime) -> None:
        current = found[anchor]
        if current is None or at > current:
            found[anchor] = at

    for event in events:
        if event.ticket_id != ticket.id or event.type in NOTICE_TYPES:
            continue
        at = ensure_utc(event.at, "event.at")
        later(Anchor.UPDATED, at)
        if event.type is EventType.STATUS_CHANGED:
            later(Anchor.STATUS_CHANGE, at)
        elif event.type is EventType.COMMENTED and not event.data.get("internal", False):
            customer = is_customer(ticket, event.actor)
            later(Anchor.CUSTOMER_REPLY if customer else Anchor.AGENT_REPLY, at)
    if found[Anchor.UPDATED] is None:
        found[Anchor.UPDATED] = ensure_utc(ticket.updated, "updated")
    if found[Anchor.STATUS_CHANGE] is None:
        found[Anchor.STATUS_CHANGE] = found[Anchor.CREATED]
    return found


def trigger_from_data(data: object, where: str = "trigger") -> Trigger:
    """The trigger ``data`` describes: ``{"event": [...], "by": ...}`` or ``{"elapsed": ...}``."""
    table = check_table(data, where)
    if "event" in table and "elapsed" not in table:
        on = read_table(table, where, {"event"}, {"by"})
        return in_context(where, lambda: OnEvent(on["event"], on.get("by", "anyone")))
    if "elapsed" in table and "event" not in table:
        after = read_table(table, where, {"elapsed"}, {"since", "business"})
        if "since" not in after:
            raise ValidationError(
                f"{where}: say what the time counts from with 'since': one of "
                f"{', '.join(a.value for a in Anchor)}",
                field="since",
            )
        return in_context(
            where,
            lambda: Elapsed(after["since"], after["elapsed"], after.get("business", True)),
        )
    raise ValidationError(
        f"{where} must have either 'event' (a list of event types) or 'elapsed' (a length "
        f"of time such as '8h'); got the keys {sorted(map(str, table))!r}"
    )
