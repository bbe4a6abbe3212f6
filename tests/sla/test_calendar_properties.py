"""Business calendars, by property: round trips, DST change days, and a reference model.

The reference model (``Reference``) is deliberately naive: it turns each local interval
endpoint into the first instant whose local wall time reaches it, found by a minute scan,
and measures the union of the resulting intervals. The calendar must agree with it exactly.
"""

from __future__ import annotations

import functools
import json
import os
import time as time_module
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketkit.sla import BusinessCalendar

US = timedelta(microseconds=1)
MINUTE = timedelta(minutes=1)
DST_ZONES = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
]
ZONES = [*DST_ZONES, "UTC", "America/Sao_Paulo", "Asia/Tokyo", "Pacific/Kiritimati"]


# -- reference model ------------------------------------------------------------------


def wall(zone: ZoneInfo, at: datetime) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


@functools.cache
def first_instant(key: str, target: datetime) -> datetime:
    """The first instant whose local wall time is at or after ``target`` (minute scan)."""
    zone = ZoneInfo(key)
    naive_utc = target.replace(tzinfo=UTC)
    offsets = [
        (naive_utc + timedelta(hours=h)).astimezone(zone).utcoffset() or timedelta(0)
        for h in range(-30, 31)
    ]
    at = naive_utc - max(offsets) - MINUTE
    assert wall(zone, at) < target
    while wall(zone, at) < target:
        at += MINUTE
    return at


class Reference:
    """Working intervals of a calendar as instants, one local day at a time."""

    def __init__(self, cal: BusinessCalendar) -> None:
        self.cal = cal
        self.zone = ZoneInfo(cal.timezone)

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        first = wall(self.zone, start).date() - timedelta(days=2)
        last = wall(self.zone, end).date() + timedelta(days=2)
        found: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            if day not in self.cal.holidays:
                midnight = datetime.combine(day, time())
                for begin, stop in self.cal.hours.get(day.weekday(), ()):
                    a = first_instant(self.cal.timezone, datetime.combine(day, begin))
                    close = (
                        midnight + timedelta(days=1)
                        if stop == time(0)
                        else datetime.combine(day, stop)
                    )
                    b = first_instant(self.cal.timezone, close)
                    if b > a:
                        found.append((a, b))
            day += timedelta(days=1)
        found.sort()
        merged: list[tuple[datetime, datetime]] = []
        for a, b in found:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        return merged

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        total = timedelta(0)
        for a, b in self.intervals(start, end):
            overlap = min(b, end) - max(a, start)
            if overlap > timedelta(0):
                total += overlap
        return total

    def is_open(self, at: datetime) -> bool:
        return any(a <= at < b for a, b in self.intervals(at, at))

    def closes(self, at: datetime) -> bool:
        """Whether ``at`` lies in (open, close] of a working interval."""
        return any(a < at <= b for a, b in self.intervals(at, at))


# -- strategies -------------------------------------------------------------------------


@st.composite
def day_hours(draw: st.DrawFn) -> list[tuple[str, str]]:
    """0-3 intervals of a day on a 15-minute grid, possibly ending at 24:00."""
    points = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    if len(points) % 2:
        points = points[:-1]
    pairs = [(points[i], points[i + 1]) for i in range(0, len(points), 2)]

    def show(q: int) -> str:
        return f"{q // 4:02d}:{q % 4 * 15:02d}"

    return [(show(a), show(b)) for a, b in pairs]


@st.composite
def calendars(draw: st.DrawFn, zones: list[str] = ZONES) -> BusinessCalendar:
    hours = {day: draw(day_hours()) for day in range(7)}
    if not any(hours.values()):
        hours[draw(st.integers(0, 6))] = [("09:00", "17:00")]
    holidays = draw(st.sets(st.dates(date(1999, 12, 1), date(2038, 2, 1)), max_size=4))
    return BusinessCalendar(hours=hours, timezone=draw(st.sampled_from(zones)), holidays=holidays)


instants = st.datetimes(datetime(2000, 1, 1), datetime(2037, 12, 31), timezones=st.just(UTC)).map(
    lambda at: at.replace(microsecond=at.microsecond // 1000 * 1000)
)
durations = st.timedeltas(timedelta(0), timedelta(days=60))


@functools.cache
def transitions(key: str) -> tuple[datetime, ...]:
    """Every instant 2000-2037 at which ``key``'s UTC offset changes (to the minute)."""
    zone = ZoneInfo(key)
    found: list[datetime] = []
    at = datetime(2000, 1, 1, tzinfo=UTC)
    step = timedelta(hours=6)
    while at < datetime(2038, 1, 1, tzinfo=UTC):
        if at.astimezone(zone).utcoffset() != (at + step).astimezone(zone).utcoffset():
            change = at + MINUTE
            while change.astimezone(zone).utcoffset() == at.astimezone(zone).utcoffset():
                change += MINUTE
            found.append(change)
        at += step
    return tuple(found)


@st.composite
def near_transitions(draw: st.DrawFn) -> tuple[str, datetime]:
    """A DST zone and an instant within 2 h of one of its changes (Kolkata: any instant)."""
    key = draw(st.sampled_from(DST_ZONES))
    changes = transitions(key)
    if not changes:
        return key, draw(instants)
    shift = timedelta(minutes=draw(st.integers(-120, 120)))
    return key, draw(st.sampled_from(changes)) + shift


# -- properties ---------------------------------------------------------------------------


class TestTransitions:
    def test_the_transition_tables_are_what_the_zones_do(self) -> None:
        """Sanity check of the test data: two changes a year, none in Kolkata."""
        assert len(transitions("America/New_York")) == 76
        assert len(transitions("Europe/Berlin")) == 76
        assert len(transitions("Australia/Lord_Howe")) == 76
        assert len(transitions("Pacific/Chatham")) == 76
        assert transitions("Asia/Kolkata") == ()
        assert datetime(2026, 3, 8, 7, tzinfo=UTC) in transitions("America/New_York")


class TestAgainstReference:
    @settings(max_examples=150)
    @given(data=st.data(), place=near_transitions(), span=st.integers(0, 8 * 60))
    def test_near_dst_changes(
        self, data: st.DataObject, place: tuple[str, datetime], span: int
    ) -> None:
        """Near every kind of DST change the calendar agrees with the reference model."""
        key, start = place
        cal = data.draw(calendars(zones=[key]))
        ref = Reference(cal)
        end = start + timedelta(minutes=span)
        assert cal.elapsed(start, end) == ref.elapsed(start, end)
        assert cal.is_open(start) == ref.is_open(start)
        assert cal.is_open(end) == ref.is_open(end)
        opening = cal.next_open(start)
        assert opening.tzinfo is UTC
        assert ref.is_open(opening)
        assert opening == start or ref.elapsed(start, opening) == timedelta(0)

    @settings(max_examples=150)
    @given(data=st.data(), place=near_transitions())
    def test_add_near_dst_changes(self, data: st.DataObject, place: tuple[str, datetime]) -> None:
        """add lands where the reference has measured the duration, never in closed time."""
        key, start = place
        cal = data.draw(calendars(zones=[key]))
        ref = Reference(cal)
        available = ref.elapsed(start, start + timedelta(hours=6))
        minutes = data.draw(st.integers(0, available // MINUTE))
        duration = timedelta(minutes=minutes)
        result = cal.add(start, duration)
        assert result.tzinfo is UTC
        if duration:
            assert ref.elapsed(start, result) == duration
            assert ref.closes(result)
            assert ref.elapsed(start, result - US) < duration
        else:
            assert ref.is_open(result)

    @settings(max_examples=100)
    @given(cal=calendars(), start=instants, span=st.timedeltas(timedelta(0), timedelta(days=3)))
    def test_anywhere(self, cal: BusinessCalendar, start: datetime, span: timedelta) -> None:
        """Anywhere in 2000-2037 elapsed agrees with the reference model."""
        end = start + span
        assert cal.elapsed(start, end) == Reference(cal).elapsed(start, end)


DAY_AROUND_CHANGES = (
    ("00:00", "01:30"),
    ("01:45", "02:15"),
    ("02:30", "03:00"),
    ("03:15", "24:00"),
)


class TestEveryTransition:
    @pytest.mark.parametrize("key", DST_ZONES)
    def test_every_change_2000_2037(self, key: str) -> None:
        """+-2 h around every change 2000-2037, on a 15-minute grid, against the reference."""
        cal = BusinessCalendar(
            hours=dict.fromkeys(range(7), DAY_AROUND_CHANGES),
            timezone=key,
        )
        ref = Reference(cal)
        changes = transitions(key) or (datetime(2026, 3, 29, 1, tzinfo=UTC),)
        for change in changes:
            points = [change + timedelta(minutes=m) for m in range(-120, 121, 15)]
            first = points[0]
            measured = [cal.elapsed(first, at) for at in points]
            assert measured == [ref.elapsed(first, at) for at in points], change
            assert measured == sorted(measured), change
            assert [cal.is_open(at) for at in points] == [ref.is_open(at) for at in points]
            for amount in measured[1:]:
                if amount:
                    assert cal.elapsed(first, cal.add(first, amount)) == amount


class TestRoundTrips:
    @given(cal=calendars(), start=instants, duration=durations)
    def test_elapsed_undoes_add(
        self, cal: BusinessCalendar, start: datetime, duration: timedelta
    ) -> None:
        """elapsed(start, add(start, d)) == d, and no earlier instant has d."""
        result = cal.add(start, duration)
        assert result.tzinfo is UTC
        assert result >= start
        assert cal.elapsed(start, result) == duration
        if duration:
            assert cal.elapsed(start, result - US) < duration
            assert cal.is_open(result - US)
        else:
            assert result == cal.next_open(start)

    @given(cal=calendars(), start=instants, span=st.timedeltas(timedelta(0), timedelta(days=40)))
    def test_add_undoes_elapsed(
        self, cal: BusinessCalendar, start: datetime, span: timedelta
    ) -> None:
        """add(start, elapsed(start, end)) is end if end closes work time, else the last close."""
        end = start + span
        used = cal.elapsed(start, end)
        if not used:
            return
        back = cal.add(start, used)
        assert back <= end
        assert cal.elapsed(back, end) == timedelta(0)
        if cal.is_open(end - US):
            assert back == end

    @given(cal=calendars(), a=instants, b=instants, c=instants)
    def test_elapsed_is_additive_and_monotonic(
        self, cal: BusinessCalendar, a: datetime, b: datetime, c: datetime
    ) -> None:
        """elapsed(a, c) == elapsed(a, b) + elapsed(b, c) for a <= b <= c."""
        a, b, c = sorted([a, b, c])
        assert cal.elapsed(a, c) == cal.elapsed(a, b) + cal.elapsed(b, c)
        assert cal.elapsed(a, b) <= cal.elapsed(a, c)

    @given(cal=calendars(), start=instants, d1=durations, d2=durations)
    def test_add_is_monotonic_and_composes(
        self, cal: BusinessCalendar, start: datetime, d1: timedelta, d2: timedelta
    ) -> None:
        """Adding more never lands earlier; adding d1 then d2 is adding d1 + d2."""
        d1, d2 = sorted([d1, d2])
        assert cal.add(start, d1) <= cal.add(start, d2)
        if d1 and d2:
            assert cal.add(cal.add(start, d1), d2) == cal.add(start, d1 + d2)

    @given(cal=calendars(), at=instants)
    def test_next_open_is_open_and_nothing_before_it_is(
        self, cal: BusinessCalendar, at: datetime
    ) -> None:
        """next_open is open, and no business time lies between at and it."""
        opening = cal.next_open(at)
        assert cal.is_open(opening)
        assert cal.elapsed(at, opening) == timedelta(0)
        assert (opening == at) == cal.is_open(at)

    @given(cal=calendars())
    def test_data_round_trip_through_json(self, cal: BusinessCalendar) -> None:
        """from_data(to_data()) gives back an equal calendar, also through JSON."""
        data = json.loads(json.dumps(cal.to_data()))
        again = BusinessCalendar.from_data(data)
        assert again == cal
        assert again.to_data() == cal.to_data()


@pytest.fixture
def host_zone() -> Iterator[None]:
    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time_module.tzset()


class TestHostTimeZone:
    def test_results_do_not_depend_on_the_host_time_zone(self, host_zone: None) -> None:
        """The same calendar gives the same instants whatever TZ the process runs in."""

        def results() -> list[object]:
            cal = BusinessCalendar.weekdays(timezone="America/New_York", holidays=["2026-11-26"])
            start = datetime(2026, 3, 6, 15, tzinfo=UTC)
            out: list[object] = []
            for hours in (0, 1, 7, 40, 1000):
                out.append(cal.add(start, timedelta(hours=hours)))
            out.append(cal.elapsed(start, datetime(2026, 12, 31, tzinfo=UTC)))
            out.append(cal.next_open(datetime(2026, 11, 1, 5, 30, tzinfo=UTC)))
            out.append(cal.is_open(datetime(2026, 11, 2, 14, 30, tzinfo=UTC)))
            return out

        seen = []
        for host in ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Europe/Berlin"):
            os.environ["TZ"] = host
            time_module.tzset()
            seen.append(results())
        assert all(result == seen[0] for result in seen)
        assert seen[0][1] == datetime(2026, 3, 6, 16, tzinfo=UTC)  # 11:00 EST
