"""The arithmetic behind BusinessCalendar, on integer microseconds since the epoch.

Working intervals are turned into UTC instants one local week (Monday 00:00 to
Monday 00:00) at a time and cached per calendar, together with prefix sums of
their lengths. ``add`` and ``elapsed`` then jump a whole week per step, and
integers keep every result exact to the microsecond.
"""

from __future__ import annotations

import zoneinfo
from bisect import bisect_left, bisect_right
from datetime import UTC, date, datetime, time, timedelta

from .._errors import ValidationError

__all__ = ["BusinessTime", "from_us", "to_us"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_WEEK_US = 7 * _DAY_US
_FIRST_WEEK = 1  # week 0 starts on 0001-01-01; leave it as a margin
_LAST_WEEK = (date.max.toordinal() - 1) // 7 - 2
_CACHE_LIMIT = 8192


def to_us(value: datetime | timedelta) -> int:
    """Microseconds since the epoch of an aware datetime, or in a timedelta."""
    if isinstance(value, timedelta):
        return value // _US
    return (value - _EPOCH) // _US


def from_us(value: int) -> datetime:
    """The aware UTC datetime ``value`` microseconds after the epoch."""
    try:
        return _EPOCH + timedelta(microseconds=value)
    except OverflowError:
        raise ValidationError(
            "the result lies beyond the years 1-9999 that datetime supports; "
            "give a shorter duration"
        ) from None


class _Week:
    """One local week's working intervals as instants, with prefix sums."""

    __slots__ = ("begin", "cum", "cum_end", "end", "ends", "starts", "total")

    def __init__(self, begin: int, end: int, intervals: list[tuple[int, int]]) -> None:
        self.begin = begin
        self.end = end
        self.starts = [start for start, _ in intervals]
        self.ends = [stop for _, stop in intervals]
        self.cum: list[int] = []
        self.cum_end: list[int] = []
        total = 0
        for start, stop in intervals:
            self.cum.append(total)
            total += stop - start
            self.cum_end.append(total)
        self.total = total

    def before(self, at: int) -> int:
        """Business time in this week before the instant ``at``."""
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(at, self.ends[i]) - self.starts[i]

    def instant(self, amount: int) -> int:
        """The earliest instant with ``amount`` (0 < amount <= total) business time before it."""
        i = bisect_left(self.cum_end, amount)
        return self.starts[i] + amount - self.cum[i]


class BusinessTime:
    """Cached week tables of one calendar and the arithmetic on them."""

    __slots__ = ("_always", "_days", "_holidays", "_weeks", "_zone")

    def __init__(
        self,
        zone: zoneinfo.ZoneInfo,
        days: tuple[tuple[tuple[int, int], ...], ...],
        holidays: frozenset[date],
    ) -> None:
        self._zone = zone
        self._days = days
        self._holidays = holidays
        self._weeks: dict[int, _Week] = {}
        self._always = (
            zone.key == "UTC"
            and not holidays
            and all(intervals == ((0, _DAY_US),) for intervals in days)
        )

    # -- local wall time -> instants ---------------------------------------------

    def _wall(self, at: int) -> datetime:
        return (_EPOCH + timedelta(microseconds=at)).astimezone(self._zone).replace(tzinfo=None)

    def _instant(self, wall: datetime) -> int:
        """The instant of a naive local wall time: fold=0 if repeated, gap end if skipped."""
        first = to_us(wall.replace(tzinfo=self._zone).astimezone(UTC))
        if self._wall(first) == wall:
            return first
        # ``wall`` falls in a gap: find the first instant whose wall time is past it.
        high = first
        low = high - 2 * _DAY_US
        while self._wall(low) >= wall:
            low -= 2 * _DAY_US
        while high - low > 1:  # invariant: wall(low) < wall <= wall(high)
            middle = (low + high) // 2
            if self._wall(middle) > wall:
                high = middle
            else:
                low = middle
        return high

    def _week(self, k: int) -> _Week:
        week = self._weeks.get(k)
        if week is not None:
            return week
        if not _FIRST_WEEK <= k <= _LAST_WEEK:
            raise ValidationError(
                "business time would reach beyond the years 1-9999 that datetime "
                "supports; give instants and durations within that range"
            )
        monday = date.fromordinal(7 * k + 1)
        midnight = datetime.combine(monday, time())
        intervals: list[tuple[int, int]] = []
        for offset in range(7):
            day = monday + timedelta(days=offset)
            if day in self._holidays:
                continue
            base = midnight + timedelta(days=offset)
            for start, stop in self._days[offset]:
                begin = self._instant(base + timedelta(microseconds=start))
                end = self._instant(base + timedelta(microseconds=stop))
                if end <= begin:
                    continue
                if intervals and intervals[-1][1] >= begin:
                    intervals[-1] = (intervals[-1][0], max(end, intervals[-1][1]))
                else:
                    intervals.append((begin, end))
        week = _Week(
            self._instant(midnight), self._instant(midnight + timedelta(days=7)), intervals
        )
        if len(self._weeks) >= _CACHE_LIMIT:
            self._weeks.clear()
        self._weeks[k] = week
        return week

    def _week_of(self, at: int) -> tuple[int, _Week]:
        try:
            local = self._wall(at).date()
        except OverflowError:
            local = date.max if at > 0 else date.min
        k = (local.toordinal() - 1) // 7
        week = self._week(k)
        while at < week.begin:
            k -= 1
            week = self._week(k)
        while at >= week.end:
            k += 1
            week = self._week(k)
        return k, week

    # -- arithmetic ----------------------------------------------------------------

    def add(self, start: int, duration: int) -> int:
        if duration == 0:
            return self.next_open(start)
        if self._always:
            return start + duration
        k, week = self._week_of(start)
        remaining = duration
        used = week.before(start)
        while remaining > week.total - used:
            remaining -= week.total - used
            k += 1
            week = self._week(k)
            used = 0
        return week.instant(used + remaining)

    def elapsed(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        if self._always:
            return end - start
        k1, first = self._week_of(start)
        k2, last = self._week_of(end)
        if k1 == k2:
            return first.before(end) - first.before(start)
        total = first.total - first.before(start) + last.before(end)
        for k in range(k1 + 1, k2):
            total += self._week(k).total
        return total

    def is_open(self, at: int) -> bool:
        if self._always:
            return True
        _, week = self._week_of(at)
        i = bisect_right(week.starts, at) - 1
        return i >= 0 and at < week.ends[i]

    def next_open(self, at: int) -> int:
        if self._always:
            return at
        k, week = self._week_of(at)
        while True:
            i = bisect_right(week.ends, at)
            if i < len(week.starts):
                return max(week.starts[i], at)
            k += 1
            week = self._week(k)
            at = week.begin
