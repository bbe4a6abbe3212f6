"""Triggers of automation rules: events, elapsed time, anchors and compact durations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketkit._errors import ValidationError
from ticketkit._events import Event, EventType
from ticketkit._model import Ticket
from ticketkit._priority import Priority
from ticketkit.rules._duration import format_duration, parse_duration
from ticketkit.rules._triggers import (
    Anchor,
    Elapsed,
    OnEvent,
    anchors,
    trigger_from_data,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def ticket(**changes: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": 7,
        "key": "HD-7",
        "title": "Mail is down",
        "description": "",
        "status": "open",
        "priority": Priority.P2,
        "reporter": "carol",
        "queue": "support",
        "created": T0,
        "updated": T0 + timedelta(hours=5),
        "version": 4,
    }
    values.update(changes)
    return Ticket(**values)


def event(kind: EventType, actor: str, hours: float, **data: Any) -> Event:
    return Event(7, "HD-7", 1, kind, actor, T0 + timedelta(hours=hours), data=data)


def is_reporter(t: Ticket, actor: str) -> bool:
    return actor == t.reporter


class TestOnEvent:
    def test_types_from_names(self) -> None:
        """Event types may be given by name, in any case, or as one name."""
        assert OnEvent({"Commented", EventType.OPENED}).types == {
            EventType.COMMENTED,
            EventType.OPENED,
        }
        assert OnEvent("commented").types == {EventType.COMMENTED}

    @pytest.mark.parametrize(
        ("by", "is_customer", "expected"),
        [
            ("anyone", True, True),
            ("anyone", False, True),
            ("customer", True, True),
            ("customer", False, False),
            ("agent", True, False),
            ("agent", False, True),
        ],
    )
    def test_by(self, by: str, is_customer: bool, expected: bool) -> None:
        """by picks events of the customer, of agents, or of anyone."""
        trigger = OnEvent({"commented"}, by)
        assert trigger.fires_for(event(EventType.COMMENTED, "x", 1), is_customer) is expected

    def test_other_types_do_not_fire(self) -> None:
        """An event of another type does not fire the trigger."""
        assert not OnEvent({"commented"}).fires_for(event(EventType.ASSIGNED, "x", 1), False)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (({"comented"},), "unknown event type 'comented'"),
            ((set(),), "at least one event type"),
            ((42,), "event must be a list of event types"),
            (({"opened"}, "staff"), "use one of anyone, customer, agent"),
        ],
    )
    def test_refused(self, args: tuple[Any, ...], message: str) -> None:
        """Unknown event types and actors are refused when built."""
        with pytest.raises(ValidationError, match=message):
            OnEvent(*args)


class _Calendar:
    """Open 09:00-17:00 UTC every day: enough to see that due_at uses the calendar."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        day = start.replace(hour=9, minute=0, second=0, microsecond=0)
        if start < day:
            start = day
        while True:
            end = start.replace(hour=17, minute=0, second=0, microsecond=0)
            if start + duration <= end:
                return start + duration
            duration -= max(end - start, timedelta(0))
            start = (start + timedelta(days=1)).replace(hour=9, minute=0, second=0)


class TestElapsed:
    def test_business_time_uses_the_calendar(self) -> None:
        """8 business hours after 15:00 on a 9-17 calendar fall at 15:00 the next day."""
        rule = Elapsed(Anchor.CUSTOMER_REPLY, timedelta(hours=8))
        assert rule.due_at(T0.replace(hour=15), _Calendar()) == T0.replace(hour=15) + timedelta(
            days=1
        )

    def test_wall_time(self) -> None:
        """With business=False the time is plain elapsed time, calendar or not."""
        rule = Elapsed("created", "8h", business=False)
        start = T0.replace(hour=15)
        assert rule.due_at(start, _Calendar()) == start + timedelta(hours=8)
        assert rule.due_at(start) == start + timedelta(hours=8)

    def test_due_at_is_utc(self) -> None:
        """due_at takes any aware datetime and answers in UTC; naive ones are refused."""
        from zoneinfo import ZoneInfo

        local = datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
        due = Elapsed("created", "1h", business=False).due_at(local)
        assert due == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        assert due.tzinfo is UTC
        with pytest.raises(ValidationError, match="naive"):
            Elapsed("created", "1h").due_at(datetime(2026, 3, 2))

    def test_durations_in_data_form(self) -> None:
        """after accepts "2d 4h", seconds, or a timedelta."""
        assert Elapsed("created", "2d 4h").after == timedelta(days=2, hours=4)
        assert Elapsed("created", 90).after == timedelta(seconds=90)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("created", "0s"), "positive length of time"),
            (("created", timedelta(hours=-1)), "is negative"),
            (("created", "soon"), "'soon' is not a length of time"),
            (("yesterday", "1h"), "unknown anchor 'yesterday'"),
            (("created", "1h", "yes"), "business must be true or false"),
        ],
    )
    def test_refused(self, args: tuple[Any, ...], message: str) -> None:
        """Zero, negative or unreadable lengths and unknown anchors are refused."""
        with pytest.raises(ValidationError, match=message):
            Elapsed(*args)


class TestAnchors:
    def test_without_events(self) -> None:
        """Without events: created and status change are the opening, no replies yet."""
        found = anchors(ticket(), [], is_reporter)
        assert found == {
            Anchor.CREATED: T0,
            Anchor.UPDATED: T0 + timedelta(hours=5),
            Anchor.CUSTOMER_REPLY: None,
            Anchor.AGENT_REPLY: None,
            Anchor.STATUS_CHANGE: T0,
        }

    def test_from_events(self) -> None:
        """Each anchor is the latest event of its kind; internal notes are no replies."""
        events = [
            event(EventType.OPENED, "carol", 0),
            event(EventType.COMMENTED, "alice", 1, internal=False),
            event(EventType.COMMENTED, "carol", 2, internal=False),
            event(EventType.STATUS_CHANGED, "alice", 3),
            event(EventType.COMMENTED, "carol", 4, internal=False),
            event(EventType.COMMENTED, "alice", 5, internal=True),
            event(EventType.FIELD_CHANGED, "alice", 6),
            event(EventType.SLA_WARNING, "sla", 7),
            event(EventType.RULE_APPLIED, "rule:x", 8),
        ]
        found = anchors(ticket(), list(reversed(events)), is_reporter)
        assert found[Anchor.CREATED] == T0
        assert found[Anchor.CUSTOMER_REPLY] == T0 + timedelta(hours=4)
        assert found[Anchor.AGENT_REPLY] == T0 + timedelta(hours=1)
        assert found[Anchor.STATUS_CHANGE] == T0 + timedelta(hours=3)
        assert found[Anchor.UPDATED] == T0 + timedelta(hours=6)

    def test_is_customer_decides(self) -> None:
        """Who counts as the customer is up to is_customer."""
        events = [event(EventType.COMMENTED, "dave", 2, internal=False)]
        assert anchors(ticket(), events, is_reporter)[Anchor.AGENT_REPLY] is not None
        found = anchors(ticket(), events, lambda t, actor: actor == "dave")
        assert found[Anchor.CUSTOMER_REPLY] == T0 + timedelta(hours=2)
        assert found[Anchor.AGENT_REPLY] is None

    def test_other_tickets_events_ignored(self) -> None:
        """Events of another ticket do not count."""
        other = Event(8, "HD-8", 1, EventType.COMMENTED, "carol", T0 + timedelta(hours=9))
        assert anchors(ticket(), [other], is_reporter)[Anchor.CUSTOMER_REPLY] is None


class TestData:
    def test_forms(self) -> None:
        """Triggers have plain-data forms that read back."""
        on = OnEvent({"commented", "opened"}, "customer")
        assert on.to_data() == {"event": ["commented", "opened"], "by": "customer"}
        timed = Elapsed("last_customer_reply", "8h")
        assert timed.to_data() == {
            "elapsed": "8h",
            "since": "last_customer_reply",
            "business": True,
        }
        for trigger in (on, timed):
            assert trigger_from_data(json.loads(json.dumps(trigger.to_data()))) == trigger

    def test_defaults(self) -> None:
        """by defaults to anyone and business to true."""
        assert trigger_from_data({"event": ["opened"]}) == OnEvent({"opened"}, "anyone")
        assert trigger_from_data({"elapsed": "1h", "since": "created"}).business is True  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"event": ["opened"], "elapsed": "1h"}, "either 'event'"),
            ({}, "either 'event'"),
            ({"event": ["opened"], "since": "created"}, "unknown key 'since'"),
            ({"elapsed": "1h"}, "say what the time counts from"),
            ({"elapsed": "1h", "since": "created", "every": 2}, "unknown key 'every'"),
            ({"event": ["bogus"]}, "trigger: unknown event type 'bogus'"),
            (["opened"], "must be a table"),
        ],
    )
    def test_bad_data(self, data: Any, message: str) -> None:
        """Malformed trigger data is refused with what is wrong."""
        with pytest.raises(ValidationError, match=message):
            trigger_from_data(data)


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("30m", timedelta(minutes=30)),
            ("8h", timedelta(hours=8)),
            ("2d 4h", timedelta(days=2, hours=4)),
            ("2d4h30m", timedelta(days=2, hours=4, minutes=30)),
            ("1w", timedelta(days=7)),
            ("1.5h", timedelta(minutes=90)),
            ("90", timedelta(seconds=90)),
            (" 45s ", timedelta(seconds=45)),
            (3600, timedelta(hours=1)),
            (0.25, timedelta(milliseconds=250)),
            ("0s", timedelta(0)),
            (timedelta(hours=2), timedelta(hours=2)),
        ],
    )
    def test_parse(self, text: Any, expected: timedelta) -> None:
        """Compact lengths, plain seconds and timedeltas are read."""
        assert parse_duration(text) == expected

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (timedelta(minutes=30), "30m"),
            (timedelta(days=2, hours=4), "2d 4h"),
            (timedelta(days=14), "14d"),
            (timedelta(0), "0s"),
            (timedelta(seconds=1, microseconds=500000), "1.5s"),
            (timedelta(hours=1, seconds=5), "1h 5s"),
        ],
    )
    def test_format(self, value: timedelta, expected: str) -> None:
        """Lengths are written in the compact form, largest unit first."""
        assert format_duration(value) == expected

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("", "not a length of time"),
            ("8 hours", "not a length of time"),
            ("4h 2d", "largest first"),
            ("1h 1h", "largest first"),
            ("1.5h 30m", "only the last part"),
            ("-1h", "not a length of time"),
            (-5, "is negative"),
            (True, "not a length of time"),
            (float("nan"), "not a length of time"),
            (None, "not a length of time"),
            ("99999999999d", "too long"),
        ],
    )
    def test_refused(self, value: Any, message: str) -> None:
        """Anything else is refused, naming the value and the accepted forms."""
        with pytest.raises(ValidationError, match=message) as caught:
            parse_duration(value, "after")
        assert "'30m', '8h', '2d 4h'" in str(caught.value)
        assert caught.value.field == "after"

    def test_format_refuses_negative(self) -> None:
        """A negative timedelta has no compact form."""
        with pytest.raises(ValidationError, match="cannot be negative"):
            format_duration(timedelta(seconds=-1))

    @given(st.timedeltas(min_value=timedelta(0)))
    def test_round_trip(self, value: timedelta) -> None:
        """parse_duration(format_duration(d)) == d for every non-negative length."""
        assert parse_duration(format_duration(value)) == value

    @given(st.timedeltas(min_value=timedelta(seconds=1)), st.sampled_from(list(Anchor)))
    def test_elapsed_round_trip(self, after: timedelta, since: Anchor) -> None:
        """Elapsed triggers survive their data form for any length."""
        trigger = Elapsed(since, after)
        assert trigger_from_data(json.loads(json.dumps(trigger.to_data()))) == trigger
