"""Time tracking: agents log the time they spent on a ticket, against an estimate.

Each entry is a ``time_logged`` event in the ticket's history, so time is kept
by every store as it is, with who logged it and when, and the audit trail shows
it. An entry is never edited: a wrong one is taken back with ``time_removed``
(naming the entry) and logged again. The estimate is a ``time_estimated`` event
with the old and new value. All three are notices: they keep the ticket's
version (logging time is not a change to the ticket that should make another
agent's edit stale) and are hidden from customers.

Lengths are taken as :func:`ticketkit.rules.parse_duration` reads them
(``"1h 30m"``, a ``timedelta`` or seconds) and stored as whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from attrs import frozen

from ._clock import ensure_utc
from ._errors import NotFound, ValidationError
from ._events import Event, EventType, ticket_event
from ._text import check_name, check_note
from .rules._duration import parse_duration

if TYPE_CHECKING:
    from ._tracker import Ref, Tracker

__all__ = [
    "MAX_ENTRY",
    "MAX_ESTIMATE",
    "TimeEntry",
    "TimeLog",
    "estimate_time",
    "log_time",
    "remove_time",
    "time_entries",
    "time_log",
    "time_log_of",
]

#: The longest single entry: one week of work. Longer is almost surely a typo.
MAX_ENTRY = timedelta(days=7)
#: The largest estimate.
MAX_ESTIMATE = timedelta(days=3650)
_MAX_NOTE = 1000


@frozen
class TimeEntry:
    """Time one agent spent on one ticket: ``id`` is the ``time_logged`` event's id."""

    id: int
    ticket_id: int
    ticket_key: str
    agent: str
    spent: timedelta
    on: date
    logged_at: datetime
    note: str | None = None


@frozen
class TimeLog:
    """A ticket's time: its live entries (removed ones left out), total and estimate."""

    key: str
    entries: tuple[TimeEntry, ...]
    estimate: timedelta | None

    @property
    def spent(self) -> timedelta:
        """The total of the entries."""
        return sum((e.spent for e in self.entries), timedelta(0))

    @property
    def remaining(self) -> timedelta | None:
        """What is left of the estimate (never below zero), or ``None`` without one."""
        if self.estimate is None:
            return None
        return max(self.estimate - self.spent, timedelta(0))

    def by_agent(self) -> dict[str, timedelta]:
        """Each agent's total, by name in alphabetical order."""
        totals: dict[str, timedelta] = {}
        for entry in self.entries:
            totals[entry.agent] = totals.get(entry.agent, timedelta(0)) + entry.spent
        return dict(sorted(totals.items()))


def _seconds(value: object, what: str, limit: timedelta) -> int:
    length = parse_duration(value, what)
    if length <= timedelta(0):
        raise ValidationError(f"{what} must be longer than zero, got {value!r}", field=what)
    if length > limit:
        raise ValidationError(
            f"{what} {value!r} is longer than {limit.days} days; "
            f"log the time as several entries, one per day or week worked",
            field=what,
        )
    if length % timedelta(seconds=1):
        raise ValidationError(f"{what} {value!r} is not a whole number of seconds", field=what)
    return int(length.total_seconds())


def _day(value: object, default: datetime) -> date:
    if value is None:
        return default.date()
    if isinstance(value, datetime) or not isinstance(value, date):
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ValidationError(
            f"on must be the date the work was done (a date or 'YYYY-MM-DD'), got {value!r}",
            field="on",
        )
    return value


def log_time(
    tracker: Tracker,
    ref: Ref,
    spent: object,
    *,
    actor: str,
    on: object = None,
    note: str | None = None,
) -> TimeEntry:
    """Record that ``actor`` spent ``spent`` on the ticket, on the day ``on`` (default today)."""
    who = check_name(actor, "actor")
    seconds = _seconds(spent, "spent", MAX_ENTRY)
    text = check_note(note, "note", _MAX_NOTE)
    now = tracker._now()
    day = _day(on, now)
    with tracker.store.transaction() as tx:
        ticket = tracker._load(tx, ref)
        event = ticket_event(
            ticket, EventType.TIME_LOGGED, who, now, seconds=seconds, on=day.isoformat(), note=text
        )
        stored = tx.add_events([event])
    tracker._publish(stored)
    return _entry(stored[0])


def remove_time(
    tracker: Tracker, ref: Ref, entry: int, *, actor: str, note: str | None = None
) -> TimeEntry:
    """Take back the ticket's entry ``entry`` (a ``TimeEntry.id``); return what was removed.

    The entry stays in the history, with the ``time_removed`` event after it.
    An entry of another ticket, or one already removed, is :class:`NotFound`.
    """
    who = check_name(actor, "actor")
    text = check_note(note, "note", _MAX_NOTE)
    if isinstance(entry, bool) or not isinstance(entry, int):
        raise ValidationError(f"entry must be a time entry's id, got {entry!r}", field="entry")
    now = tracker._now()
    with tracker.store.transaction() as tx:
        ticket = tracker._load(tx, ref)
        live = {e.id: e for e in time_entries(tx.events(ticket.id))}
        removed = live.get(entry)
        if removed is None:
            raise NotFound(f"{ticket.key} has no time entry {entry} (or it was removed)")
        event = ticket_event(
            ticket,
            EventType.TIME_REMOVED,
            who,
            now,
            entry=entry,
            seconds=int(removed.spent.total_seconds()),
            note=text,
        )
        stored = tx.add_events([event])
    tracker._publish(stored)
    return removed


def estimate_time(tracker: Tracker, ref: Ref, estimate: object, *, actor: str) -> TimeLog:
    """Set the ticket's estimate (``None`` clears it); setting it unchanged records nothing."""
    who = check_name(actor, "actor")
    seconds = None if estimate is None else _seconds(estimate, "estimate", MAX_ESTIMATE)
    now = tracker._now()
    with tracker.store.transaction() as tx:
        ticket = tracker._load(tx, ref)
        events = tx.events(ticket.id)
        old = _estimate_seconds(events)
        if old != seconds:
            event = ticket_event(ticket, EventType.TIME_ESTIMATED, who, now)
            stored = tx.add_events([_with_values(event, old, seconds)])
            events = [*events, *stored]
        else:
            stored = []
    tracker._publish(stored)
    return time_log_of(ticket.key, events)


def _with_values(event: Event, old: int | None, new: int | None) -> Event:
    from attrs import evolve

    return evolve(event, field="time_estimate", old=old, new=new)


def _estimate_seconds(events: Iterable[Event]) -> int | None:
    found: int | None = None
    for event in events:
        if event.type is EventType.TIME_ESTIMATED:
            found = event.new if isinstance(event.new, int) else None
    return found


def _entry(event: Event) -> TimeEntry:
    data = event.data
    note = data.get("note")
    return TimeEntry(
        id=event.id,
        ticket_id=event.ticket_id,
        ticket_key=event.ticket_key,
        agent=event.actor,
        spent=timedelta(seconds=int(data["seconds"])),
        on=date.fromisoformat(str(data["on"])),
        logged_at=ensure_utc(event.at, "event.at"),
        note=note if isinstance(note, str) else None,
    )


def time_entries(events: Iterable[Event]) -> list[TimeEntry]:
    """The live time entries among a ticket's events (removed ones left out), oldest first."""
    entries: dict[int, TimeEntry] = {}
    for event in events:
        if event.type is EventType.TIME_LOGGED:
            entries[event.id] = _entry(event)
        elif event.type is EventType.TIME_REMOVED:
            entries.pop(int(event.data["entry"]), None)
    return list(entries.values())


def time_log_of(key: str, events: Iterable[Event]) -> TimeLog:
    """The :class:`TimeLog` that a ticket's events give."""
    listed = list(events)
    estimate = _estimate_seconds(listed)
    return TimeLog(
        key=key,
        entries=tuple(time_entries(listed)),
        estimate=None if estimate is None else timedelta(seconds=estimate),
    )


def time_log(tracker: Tracker, ref: Ref) -> TimeLog:
    """The ticket's time entries, total and estimate."""
    ticket = tracker.get(ref)
    return time_log_of(ticket.key, tracker.store.events(ticket.id))
