"""Business calendars: when work happens, and time arithmetic in working time.

A calendar lists working intervals per weekday in local wall time of one IANA
time zone, minus holidays. Business time is *real* elapsed time (the distance
between UTC instants) that lies inside working intervals, so a 09:00-17:00 day
is always eight hours, even on a DST change day.
"""

from __future__ import annotations

import functools
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from attrs import evolve, field, frozen

from .._clock import ensure_utc
from .._errors import ValidationError
from ._business_time import BusinessTime, from_us, to_us

__all__ = ["BusinessCalendar"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MIDNIGHT = time(0, 0)
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$")

Interval = tuple[time, time]


def _weekday(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    if isinstance(value, str):
        name = value.strip().lower()
        if name in _DAYS:
            return _DAYS.index(name)
        if name in _FULL_DAYS:
            return _FULL_DAYS.index(name)
    raise ValidationError(
        f"unknown weekday {value!r}; use 0 (Monday) to 6 (Sunday) or one of {', '.join(_DAYS)}",
        field="hours",
    )


def _time(value: object, day: str, *, end: bool) -> time:
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValidationError(
                f"{day}: working hours are local wall times; {value!r} has a tzinfo, "
                "drop it and set the calendar's timezone instead",
                field="hours",
            )
        return value
    if isinstance(value, str):
        text = value.strip()
        match = _TIME.match(text)
        if match is not None:
            hour, minute = int(match[1]), int(match[2])
            second = int(match[3] or 0)
            micro = int((match[4] or "0").ljust(6, "0"))
            if end and (hour, minute, second, micro) == (24, 0, 0, 0):
                return _MIDNIGHT
            if hour < 24 and minute < 60 and second < 60:
                return time(hour, minute, second, micro)
    allowed = '"HH:MM" from "00:00" to "24:00"' if end else '"HH:MM" from "00:00" to "23:59"'
    raise ValidationError(
        f"{day}: {value!r} is not a time of day; use {allowed} or a datetime.time",
        field="hours",
    )


def _micros(value: time, *, end: bool) -> int:
    """Microseconds since midnight; an end of 00:00 is the midnight ending the day."""
    if end and value == _MIDNIGHT:
        return 86_400_000_000
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return seconds * 1_000_000 + value.microsecond


def _show(value: time, *, end: bool) -> str:
    if end and value == _MIDNIGHT:
        return "24:00"
    if value.second == 0 and value.microsecond == 0:
        return value.strftime("%H:%M")
    return value.isoformat()


def _day_intervals(day: str, value: object) -> tuple[Interval, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{day}: working hours must be a list of [start, end] pairs, got {value!r}",
            field="hours",
        )
    intervals: list[Interval] = []
    for pair in value:
        if isinstance(pair, str | bytes) or not isinstance(pair, Iterable):
            raise ValidationError(
                f"{day}: {pair!r} is not a [start, end] pair such as ['09:00', '17:00']",
                field="hours",
            )
        items = list(pair)
        if len(items) != 2:
            raise ValidationError(
                f"{day}: {pair!r} is not a [start, end] pair such as ['09:00', '17:00']",
                field="hours",
            )
        start, stop = _time(items[0], day, end=False), _time(items[1], day, end=True)
        if _micros(stop, end=True) <= _micros(start, end=False):
            raise ValidationError(
                f"{day}: the interval {_show(start, end=False)}-{_show(stop, end=True)} "
                "ends before it starts; give the end after the start (use 24:00 for "
                "midnight, and two intervals for a shift across midnight)",
                field="hours",
            )
        intervals.append((start, stop))
    intervals.sort(key=lambda iv: _micros(iv[0], end=False))
    for before, after in itertools.pairwise(intervals):
        if _micros(after[0], end=False) < _micros(before[1], end=True):
            raise ValidationError(
                f"{day}: the intervals {_show(before[0], end=False)}-{_show(before[1], end=True)}"
                f" and {_show(after[0], end=False)}-{_show(after[1], end=True)} overlap; "
                "merge them into one",
                field="hours",
            )
    return tuple(intervals)


class _Hours(Mapping[int, tuple[Interval, ...]]):
    """An immutable, hashable weekday -> working intervals map (no empty days)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[int, tuple[Interval, ...]]) -> None:
        self._data = dict(sorted(data.items()))  # never handed out, so never changed

    def __getitem__(self, key: int) -> tuple[Interval, ...]:
        return self._data[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __repr__(self) -> str:
        return repr(dict(self._data))


def _hours(value: object) -> _Hours:
    if isinstance(value, _Hours):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"hours must map weekdays to working intervals, such as "
            f"{{'mon': [['09:00', '17:00']]}}; got {value!r}",
            field="hours",
        )
    found: dict[int, tuple[Interval, ...]] = {}
    for key, intervals in value.items():
        day = _weekday(key)
        if day in found:
            raise ValidationError(
                f"the weekday {_DAYS[day]} is given twice in the hours ({key!r}); give it once",
                field="hours",
            )
        checked = _day_intervals(_DAYS[day], intervals)
        if checked:
            found[day] = checked
    if not found:
        raise ValidationError(
            "a calendar needs some working time; give at least one interval in hours, "
            "or use BusinessCalendar.always() for 24/7",
            field="hours",
        )
    return _Hours(found)


def _timezone(value: object) -> str:
    if isinstance(value, str) and value.strip():
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return value
    raise ValidationError(
        f"unknown time zone {value!r}; use an IANA name such as 'Europe/Berlin' or 'UTC'",
        field="timezone",
    )


def _date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(
        f"holiday {value!r} is not a date; give a datetime.date or 'YYYY-MM-DD'",
        field="holidays",
    )


def _holidays(value: object) -> frozenset[date]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError(f"holidays must be a list of dates, got {value!r}", field="holidays")
    return frozenset(_date(item) for item in value)


def _duration(value: object) -> int:
    if not isinstance(value, timedelta):
        raise ValidationError(
            f"duration must be a timedelta, got {type(value).__name__} {value!r}",
            field="duration",
        )
    if value < timedelta(0):
        raise ValidationError(
            f"duration {value} is negative; business time only adds forward, give a duration >= 0",
            field="duration",
        )
    return to_us(value)


@frozen(kw_only=True)
class BusinessCalendar:
    """Working hours per weekday in one time zone, minus holidays.

    ``hours`` maps weekdays (0=Monday .. 6=Sunday, or ``"mon"`` .. ``"sun"``) to
    working intervals in local wall time, given as ``time`` objects or ``"HH:MM"``
    strings; an interval may end at ``"24:00"`` (stored as ``time(0, 0)`` in the end
    position, meaning midnight at the end of the day). Intervals of a day may touch
    but not overlap. ``holidays`` are local dates without working time.

    **Business time** is real elapsed time: the distance between UTC instants that
    lies inside working intervals. Each interval's local endpoints become instants
    like this: an ambiguous local time (a fall-back repeat) is its *first*
    occurrence (``fold=0``); a nonexistent local time (a spring-forward gap) is
    the instant the gap ends. So on a DST day 09:00-17:00 is still 8 h, 01:00-04:00
    is 2 h when 02:00-03:00 is skipped and 4 h when 01:00-02:00 repeats (from the
    first 01:00 to 04:00), and an interval wholly inside a gap is empty.

    Working intervals are half-open: open at their start, closed at their end.
    The arithmetic methods take aware datetimes in any zone and return aware UTC
    datetimes; results do not depend on the host's time zone.
    """

    hours: Mapping[int, tuple[Interval, ...]] = field(converter=_hours)
    timezone: str = field(default="UTC", converter=_timezone)
    holidays: frozenset[date] = field(default=frozenset(), converter=_holidays)

    @functools.cached_property
    def _engine(self) -> BusinessTime:
        """The week tables of this calendar, built on first use and cached."""
        days = tuple(
            tuple(
                (_micros(start, end=False), _micros(stop, end=True))
                for start, stop in self.hours.get(day, ())
            )
            for day in range(7)
        )
        return BusinessTime(zoneinfo.ZoneInfo(self.timezone), days, self.holidays)

    # -- constructors and data -------------------------------------------------

    @classmethod
    def always(cls) -> BusinessCalendar:
        """The 24/7 calendar in UTC: business time is plain elapsed time."""
        return cls(hours=dict.fromkeys(range(7), ((_MIDNIGHT, _MIDNIGHT),)))

    @classmethod
    def weekdays(
        cls,
        start: str | time = "09:00",
        end: str | time = "17:00",
        *,
        timezone: str = "UTC",
        holidays: Iterable[date | str] = (),
        days: Iterable[int | str] = (0, 1, 2, 3, 4),
    ) -> BusinessCalendar:
        """The same working interval ``start``-``end`` on each of ``days`` (default Mon-Fri)."""
        if isinstance(days, str | bytes) or not isinstance(days, Iterable):
            raise ValidationError(
                f"days must be a list of weekdays such as (0, 1, 2, 3, 4), got {days!r}",
                field="days",
            )
        return cls(
            hours={_weekday(day): ((start, end),) for day in days},
            timezone=timezone,
            holidays=holidays,
        )

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> BusinessCalendar:
        """Build a calendar from plain data, as written by :meth:`to_data`.

        ``{"timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "17:00"]], ...},
        "holidays": ["2026-12-25"]}``; ``timezone`` and ``holidays`` may be left out.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(f"a calendar must be a mapping, got {data!r}")
        known = {"timezone", "hours", "holidays"}
        unknown = sorted(set(data) - known, key=str)
        if unknown:
            raise ValidationError(
                f"a calendar has unknown keys {unknown}; use {', '.join(sorted(known))}"
            )
        if "hours" not in data:
            raise ValidationError(
                "a calendar needs 'hours', such as {'mon': [['09:00', '17:00']]}",
                field="hours",
            )
        return cls(
            hours=data["hours"],
            timezone=data.get("timezone", "UTC"),
            holidays=data.get("holidays", ()),
        )

    def to_data(self) -> dict[str, Any]:
        """Plain data (JSON and TOML friendly) that :meth:`from_data` reads back."""
        return {
            "timezone": self.timezone,
            "hours": {
                _DAYS[day]: [
                    [_show(start, end=False), _show(stop, end=True)] for start, stop in intervals
                ]
                for day, intervals in self.hours.items()
            },
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }

    def with_holidays(self, dates: Iterable[date | str]) -> BusinessCalendar:
        """A copy with ``dates`` added to the holidays."""
        return evolve(self, holidays=self.holidays | _holidays(dates))

    def with_country_holidays(
        self, country: str, years: Iterable[int], subdiv: str | None = None
    ) -> BusinessCalendar:
        """A copy with the public holidays of ``country`` (and ``subdiv``) in ``years`` added.

        Uses the optional ``holidays`` package: ``pip install 'ticketkit[holidays]'``.
        """
        try:
            import holidays as holidays_package
        except ImportError:
            raise ImportError(
                "with_country_holidays needs the holidays package; "
                "install it with: pip install 'ticketkit[holidays]'"
            ) from None
        if not isinstance(country, str) or not country.strip():
            raise ValidationError(
                f"country must be an ISO 3166 code such as 'DE', got {country!r}", field="country"
            )
        if isinstance(years, str | bytes) or not isinstance(years, Iterable):
            raise ValidationError(
                f"years must be a list of years such as [2026, 2027], got {years!r}", field="years"
            )
        year_list = sorted(set(years))
        for year in year_list:
            if isinstance(year, bool) or not isinstance(year, int) or not 1 <= year <= 9999:
                raise ValidationError(
                    f"years must be whole years such as 2026, got {year!r}", field="years"
                )
        code = country.strip().upper()
        try:
            found = holidays_package.country_holidays(code, subdiv=subdiv, years=year_list)
        except NotImplementedError as exc:
            where = code if subdiv is None else f"{code}/{subdiv}"
            raise ValidationError(
                f"the holidays package knows no holidays for {where!r} ({exc}); use an ISO "
                "3166 country code such as 'DE' (and a subdivision it lists, such as 'BY')",
                field="country",
            ) from None
        return self.with_holidays(found.keys())

    # -- time arithmetic -------------------------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which ``duration`` of business time has passed after ``start``.

        For ``duration > 0`` this is the *earliest* instant ``t`` with
        ``elapsed(start, t) == duration``: it lies inside a working interval or at
        its close, never in closed time. ``add(start, timedelta(0))`` is
        ``next_open(start)``. Guarantees, exact to the microsecond:

        - ``elapsed(start, add(start, d)) == d`` for every ``d >= 0``;
        - for ``end > start`` with ``e = elapsed(start, end) > 0``,
          ``add(start, e) == end`` when ``end`` lies in ``(s, c]`` of a working
          interval ``[s, c)``; otherwise it is the close of the last working
          interval before ``end``;
        - ``add`` is monotonic in ``start`` and in ``duration``.
        """
        return from_us(self._engine.add(to_us(ensure_utc(start, "start")), _duration(duration)))

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time in ``[start, end)``; ``timedelta(0)`` if ``end <= start``.

        Monotonic (non-decreasing) in ``end`` and additive:
        ``elapsed(a, c) == elapsed(a, b) + elapsed(b, c)`` for ``a <= b <= c``.
        """
        begin = to_us(ensure_utc(start, "start"))
        return timedelta(microseconds=self._engine.elapsed(begin, to_us(ensure_utc(end, "end"))))

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` lies inside a working interval (start included, end excluded)."""
        return self._engine.is_open(to_us(ensure_utc(at, "at")))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) if the calendar is open then, else the next opening."""
        return from_us(self._engine.next_open(to_us(ensure_utc(at, "at"))))
