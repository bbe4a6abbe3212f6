"""Business calendars: construction, validation, data, and worked examples of the arithmetic."""

from __future__ import annotations

import copy
import json
import pickle
import sys
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ticketkit import ValidationError
from ticketkit.sla import BusinessCalendar

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def berlin(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def new_york(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=NEW_YORK)


OFFICE = BusinessCalendar.weekdays(timezone="Europe/Berlin")


class TestConstruction:
    def test_weekdays_builds_the_same_interval_on_each_day(self) -> None:
        """weekdays() gives start-end on Monday to Friday, nothing on the weekend."""
        cal = BusinessCalendar.weekdays("08:30", "16:00", timezone="America/New_York")
        assert cal.timezone == "America/New_York"
        assert dict(cal.hours) == {day: ((time(8, 30), time(16, 0)),) for day in range(5)}
        assert cal.holidays == frozenset()

    def test_weekdays_takes_days_by_name_and_holidays_as_strings(self) -> None:
        """Days may be names, holidays ISO strings or dates."""
        cal = BusinessCalendar.weekdays(days=["sat", "Sunday"], holidays=["2026-12-25"])
        assert set(cal.hours) == {5, 6}
        assert cal.holidays == frozenset({date(2026, 12, 25)})

    def test_always_is_24_7_in_utc(self) -> None:
        """always() is open at every instant, and business time is elapsed time."""
        cal = BusinessCalendar.always()
        assert cal.timezone == "UTC"
        assert set(cal.hours) == set(range(7))
        start = datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)  # 30 days span a DST change
        assert cal.is_open(start)
        assert cal.add(start, timedelta(days=30)) == start.astimezone(UTC) + timedelta(days=30)
        assert cal.elapsed(start, cal.add(start, timedelta(days=400))) == timedelta(days=400)

    def test_intervals_are_sorted_and_may_touch(self) -> None:
        """Intervals of a day are kept sorted; touching intervals are not an overlap."""
        cal = BusinessCalendar(hours={"mon": [("13:00", "17:00"), (time(9), time(13))]})
        assert cal.hours[0] == ((time(9), time(13)), (time(13), time(17)))
        monday = datetime(2026, 1, 5, tzinfo=UTC)
        assert cal.elapsed(monday, monday + timedelta(days=1)) == 8 * H

    def test_24_00_ends_the_day(self) -> None:
        """'24:00' (stored as time(0, 0) in the end position) is the midnight ending the day."""
        cal = BusinessCalendar(hours={"fri": [("22:00", "24:00")], "sat": [("00:00", "02:00")]})
        assert cal.hours[4] == ((time(22), time(0)),)
        friday = datetime(2026, 1, 9, 22, tzinfo=UTC)
        assert cal.add(friday, 3 * H) == datetime(2026, 1, 10, 1, tzinfo=UTC)
        assert cal.is_open(datetime(2026, 1, 10, 0, tzinfo=UTC))

    def test_equal_calendars_are_equal_and_hash_alike(self) -> None:
        """Calendars compare and hash by value, whatever form the hours were given in."""
        a = BusinessCalendar(hours={0: [("09:00", "17:00")]}, timezone="Europe/Berlin")
        b = BusinessCalendar(hours={"monday": [(time(9), time(17))]}, timezone="Europe/Berlin")
        assert a == b
        assert hash(a) == hash(b)
        assert a != BusinessCalendar(hours={0: [("09:00", "17:00")]})

    def test_days_without_intervals_are_dropped(self) -> None:
        """An empty list for a day means the same as leaving the day out."""
        a = BusinessCalendar(hours={"mon": [("09:00", "17:00")], "tue": []})
        assert a == BusinessCalendar(hours={"mon": [("09:00", "17:00")]})

    def test_pickles_and_copies(self) -> None:
        """A calendar survives pickle and deepcopy (for worker processes), equal and working."""
        OFFICE.elapsed(berlin(2026, 1, 1), berlin(2026, 2, 1))  # fill the cache first
        for again in (pickle.loads(pickle.dumps(OFFICE)), copy.deepcopy(OFFICE)):
            assert again == OFFICE
            assert again.add(berlin(2026, 11, 27, 16), 2 * H) == berlin(2026, 11, 30, 10)

    def test_is_frozen(self) -> None:
        """A calendar cannot be changed in place."""
        with pytest.raises(AttributeError):
            OFFICE.timezone = "UTC"


class TestBadInput:
    @pytest.mark.parametrize(
        ("hours", "message"),
        [
            (
                {"mon": [("09:00", "13:00"), ("12:00", "17:00")]},
                r"mon: .*09:00-13:00.*12:00-17:00.* overlap",
            ),
            ({"tue": [("17:00", "09:00")]}, r"tue: the interval 17:00-09:00 ends before it starts"),
            ({"wed": [("09:00", "09:00")]}, r"wed: the interval 09:00-09:00 ends before"),
            ({"thu": [("24:00", "24:00")]}, r"thu: '24:00' is not a time of day"),
            ({"fri": [("9am", "5pm")]}, r"fri: '9am' is not a time of day"),
            ({"fri": [("09:00", "25:00")]}, r"fri: '25:00' is not a time of day"),
            ({"sat": [("09:00",)]}, r"sat: .* is not a \[start, end\] pair"),
            ({"sat": "09:00-17:00"}, r"sat: working hours must be a list"),
            ({"sun": [(time(9, tzinfo=UTC), time(17))]}, r"sun: .*has a tzinfo"),
            ({"funday": [("09:00", "17:00")]}, r"unknown weekday 'funday'"),
            ({7: [("09:00", "17:00")]}, r"unknown weekday 7"),
            ({"mon": [("09:00", "12:00")], 0: [("13:00", "14:00")]}, r"mon is given twice"),
            ({}, r"needs some working time"),
            ({"mon": []}, r"needs some working time"),
            ([("09:00", "17:00")], r"hours must map weekdays"),
        ],
    )
    def test_bad_hours_are_refused_naming_day_and_values(self, hours: object, message: str) -> None:
        """Overlaps, inverted or empty intervals, bad times and weekdays, no working time."""
        with pytest.raises(ValidationError, match=message) as info:
            BusinessCalendar(hours=hours)
        assert info.value.field == "hours"

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", 3, None])
    def test_unknown_time_zone(self, zone: object) -> None:
        """An unknown time zone is refused with an example of a good one."""
        with pytest.raises(ValidationError, match=r"unknown time zone .*Europe/Berlin"):
            BusinessCalendar.weekdays(timezone=zone)

    @pytest.mark.parametrize("holiday", ["25.12.2026", datetime(2026, 12, 25), 20261225])
    def test_bad_holidays(self, holiday: object) -> None:
        """Holidays must be dates (not datetimes) or ISO date strings."""
        with pytest.raises(ValidationError, match=r"is not a date; give a datetime\.date"):
            OFFICE.with_holidays([holiday])

    def test_negative_duration_is_refused(self) -> None:
        """add() only goes forward."""
        with pytest.raises(ValidationError, match=r"-1 day.* is negative"):
            OFFICE.add(berlin(2026, 1, 5, 9), timedelta(minutes=-1))

    def test_duration_must_be_a_timedelta(self) -> None:
        """A number of seconds is not taken for a duration."""
        with pytest.raises(ValidationError, match="duration must be a timedelta, got int"):
            OFFICE.add(berlin(2026, 1, 5, 9), 3600)

    def test_naive_datetimes_are_refused(self) -> None:
        """Naive datetimes have no meaning as instants."""
        with pytest.raises(ValidationError, match="naive"):
            OFFICE.is_open(datetime(2026, 1, 5, 9))

    def test_results_beyond_year_9999_are_refused(self) -> None:
        """A duration that leaves datetime's range is a ValidationError, not an OverflowError."""
        with pytest.raises(ValidationError, match="beyond the years 1-9999"):
            OFFICE.add(berlin(9990, 1, 1), timedelta(days=9000))
        with pytest.raises(ValidationError, match="beyond the years 1-9999"):
            BusinessCalendar.always().add(berlin(9999, 1, 1), timedelta(days=9000))


class TestArithmetic:
    def test_friday_afternoon_plus_two_hours_is_monday_morning(self) -> None:
        """Friday 16:00 Berlin + 2 h of 09-17 business time is Monday 10:00 Berlin."""
        result = OFFICE.add(berlin(2026, 11, 27, 16), 2 * H)
        assert result == berlin(2026, 11, 30, 10)
        assert result.tzinfo is UTC

    def test_add_zero_is_next_open(self) -> None:
        """add(start, 0) is start when open, else the next opening."""
        assert OFFICE.add(berlin(2026, 11, 27, 16), timedelta(0)) == berlin(2026, 11, 27, 16)
        assert OFFICE.add(berlin(2026, 11, 27, 18), timedelta(0)) == berlin(2026, 11, 30, 9)

    def test_add_ending_at_the_close_returns_the_close(self) -> None:
        """The earliest instant is returned: the close of the day, not the next opening."""
        assert OFFICE.add(berlin(2026, 11, 27, 9), 8 * H) == berlin(2026, 11, 27, 17)

    def test_add_from_closed_time_starts_at_the_next_opening(self) -> None:
        """Saturday noon + 1 h is Monday 10:00."""
        assert OFFICE.add(berlin(2026, 11, 28, 12), H) == berlin(2026, 11, 30, 10)

    def test_add_many_weeks(self) -> None:
        """30 days of business time on 8 h weekdays is 18 weeks (90 working days)."""
        start = berlin(2026, 1, 5, 9)
        assert OFFICE.add(start, timedelta(days=30)) == berlin(2026, 5, 8, 17)

    def test_elapsed_counts_only_working_time(self) -> None:
        """From Friday 16:00 to Monday 10:00 is 2 h; reversed or empty spans are 0."""
        assert OFFICE.elapsed(berlin(2026, 11, 27, 16), berlin(2026, 11, 30, 10)) == 2 * H
        assert OFFICE.elapsed(berlin(2026, 11, 30, 10), berlin(2026, 11, 27, 16)) == timedelta(0)
        assert OFFICE.elapsed(berlin(2026, 11, 28), berlin(2026, 11, 29)) == timedelta(0)

    def test_elapsed_over_a_year(self) -> None:
        """2026 has 261 weekdays: 2088 hours of 09-17 business time."""
        assert OFFICE.elapsed(berlin(2026, 1, 1), berlin(2027, 1, 1)) == 2088 * H

    def test_is_open_is_half_open(self) -> None:
        """Open from the start of an interval, closed at its end."""
        assert OFFICE.is_open(berlin(2026, 11, 27, 9))
        assert OFFICE.is_open(berlin(2026, 11, 27, 16, 59, 59))
        assert not OFFICE.is_open(berlin(2026, 11, 27, 17))
        assert not OFFICE.is_open(berlin(2026, 11, 27, 8, 59, 59))
        assert not OFFICE.is_open(berlin(2026, 11, 28, 12))

    def test_next_open(self) -> None:
        """next_open is the instant itself when open, else the next opening, in UTC."""
        inside = OFFICE.next_open(berlin(2026, 11, 27, 12))
        assert inside == berlin(2026, 11, 27, 12)
        assert inside.tzinfo is UTC
        assert OFFICE.next_open(berlin(2026, 11, 27, 17)) == berlin(2026, 11, 30, 9)

    def test_inputs_in_any_zone_give_utc(self) -> None:
        """The zone of an input does not matter, only its instant."""
        start = berlin(2026, 11, 27, 16).astimezone(ZoneInfo("Asia/Tokyo"))
        assert OFFICE.add(start, 2 * H) == berlin(2026, 11, 30, 10)


class TestDaylightSaving:
    def test_a_working_day_is_eight_real_hours_on_dst_days(self) -> None:
        """09:00-17:00 is 8 h on the spring-forward and the fall-back day."""
        cal = BusinessCalendar(hours={"sun": [("09:00", "17:00")]}, timezone="Europe/Berlin")
        for day in (date(2026, 3, 29), date(2026, 10, 25)):
            start = datetime.combine(day, time(), tzinfo=BERLIN)
            assert cal.elapsed(start, start + timedelta(days=1)) == 8 * H

    def test_an_interval_across_the_spring_gap_loses_the_skipped_hour(self) -> None:
        """01:00-04:00 New York on 2026-03-08 (02:00-03:00 skipped) is 2 h."""
        cal = BusinessCalendar(hours={"sun": [("01:00", "04:00")]}, timezone="America/New_York")
        assert cal.elapsed(new_york(2026, 3, 8), new_york(2026, 3, 9)) == 2 * H
        assert cal.add(new_york(2026, 3, 8), 2 * H) == new_york(2026, 3, 8, 4)

    def test_an_interval_across_the_fall_repeat_counts_it_twice(self) -> None:
        """01:00-04:00 New York on 2026-11-01 runs from the first 01:00: 4 real hours."""
        cal = BusinessCalendar(hours={"sun": [("01:00", "04:00")]}, timezone="America/New_York")
        assert cal.elapsed(new_york(2026, 11, 1), new_york(2026, 11, 2)) == 4 * H
        assert cal.next_open(new_york(2026, 11, 1)) == datetime(2026, 11, 1, 5, tzinfo=UTC)

    def test_an_ambiguous_end_is_its_first_occurrence(self) -> None:
        """00:00-01:30 New York on the fall-back day ends at the first 01:30 (EDT)."""
        cal = BusinessCalendar(hours={"sun": [("00:00", "01:30")]}, timezone="America/New_York")
        assert cal.elapsed(new_york(2026, 11, 1), new_york(2026, 11, 2)) == 1.5 * H
        assert not cal.is_open(datetime(2026, 11, 1, 6, 0, tzinfo=UTC))  # 01:00 EST

    def test_a_start_in_the_gap_is_the_end_of_the_gap(self) -> None:
        """02:30-05:00 New York on the spring-forward day opens at 03:00 EDT (07:00 UTC)."""
        cal = BusinessCalendar(hours={"sun": [("02:30", "05:00")]}, timezone="America/New_York")
        assert cal.next_open(new_york(2026, 3, 8)) == datetime(2026, 3, 8, 7, tzinfo=UTC)
        assert cal.elapsed(new_york(2026, 3, 8), new_york(2026, 3, 9)) == 2 * H

    def test_an_interval_inside_the_gap_is_empty(self) -> None:
        """02:00-02:30 New York has no working time on the spring-forward day."""
        cal = BusinessCalendar(hours={"sun": [("02:00", "02:30")]}, timezone="America/New_York")
        assert cal.elapsed(new_york(2026, 3, 8), new_york(2026, 3, 9)) == timedelta(0)
        assert cal.next_open(new_york(2026, 3, 8)) == new_york(2026, 3, 15, 2)

    def test_a_skipped_day_has_no_working_time(self) -> None:
        """Samoa skipped 2011-12-30 entirely: no business time that Friday."""
        cal = BusinessCalendar.weekdays(timezone="Pacific/Apia")
        apia = ZoneInfo("Pacific/Apia")
        thursday = datetime(2011, 12, 29, 9, tzinfo=apia)
        assert cal.elapsed(thursday, thursday + timedelta(days=4)) == 8 * H
        assert cal.add(thursday, 9 * H) == datetime(2012, 1, 2, 10, tzinfo=apia)


class TestHolidays:
    def test_holidays_have_no_working_time(self) -> None:
        """A holiday is skipped by add, elapsed, is_open and next_open."""
        cal = OFFICE.with_holidays([date(2026, 12, 24), "2026-12-25"])
        assert cal.holidays == {date(2026, 12, 24), date(2026, 12, 25)}
        assert not cal.is_open(berlin(2026, 12, 24, 12))
        assert cal.add(berlin(2026, 12, 23, 16), 2 * H) == berlin(2026, 12, 28, 10)
        assert cal.elapsed(berlin(2026, 12, 21), berlin(2026, 12, 28)) == 24 * H
        assert cal.next_open(berlin(2026, 12, 23, 17)) == berlin(2026, 12, 28, 9)

    def test_with_holidays_adds_to_the_existing_ones(self) -> None:
        """with_holidays returns a copy with the union; the original is unchanged."""
        one = OFFICE.with_holidays(["2026-01-01"])
        two = one.with_holidays(["2026-12-25"])
        assert two.holidays == {date(2026, 1, 1), date(2026, 12, 25)}
        assert one.holidays == {date(2026, 1, 1)}
        assert OFFICE.holidays == frozenset()

    def test_holidays_are_local_dates(self) -> None:
        """A holiday covers the local day, not the UTC day."""
        cal = BusinessCalendar.always().with_holidays(["2026-06-01"])
        tokyo = BusinessCalendar(hours=cal.hours, timezone="Asia/Tokyo", holidays=cal.holidays)
        assert not tokyo.is_open(datetime(2026, 5, 31, 15, tzinfo=UTC))  # 00:00 Tokyo
        assert tokyo.is_open(datetime(2026, 6, 1, 15, tzinfo=UTC))  # 00:00 next day

    def test_country_holidays(self) -> None:
        """with_country_holidays adds the public holidays of a country and subdivision."""
        cal = OFFICE.with_country_holidays("DE", [2026], subdiv="BY")
        assert date(2026, 12, 25) in cal.holidays
        assert date(2026, 1, 6) in cal.holidays  # Epiphany, Bavaria only
        assert date(2026, 1, 6) not in OFFICE.with_country_holidays("DE", [2026]).holidays
        assert not cal.is_open(berlin(2026, 12, 25, 12))

    def test_without_the_holidays_package_the_error_names_the_extra(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """with_country_holidays needs ticketkit[holidays] and says so."""
        monkeypatch.setitem(sys.modules, "holidays", None)
        with pytest.raises(ImportError, match=r"pip install 'ticketkit\[holidays\]'"):
            OFFICE.with_country_holidays("DE", [2026])

    @pytest.mark.parametrize(
        ("country", "years", "subdiv", "message"),
        [
            ("XX", [2026], None, r"no holidays for 'XX'.*ISO 3166"),
            ("DE", [2026], "XX", r"no holidays for 'DE/XX'.*subdivision"),
            ("", [2026], None, r"country must be an ISO 3166 code"),
            ("DE", 2026, None, r"years must be a list of years"),
            ("DE", ["2026"], None, r"whole years such as 2026, got '2026'"),
        ],
    )
    def test_bad_country_holidays_arguments(
        self, country: str, years: list[int], subdiv: str | None, message: str
    ) -> None:
        """Unknown countries or subdivisions and bad years are ValidationErrors naming them."""
        with pytest.raises(ValidationError, match=message):
            OFFICE.with_country_holidays(country, years, subdiv)

    def test_country_codes_in_any_case(self) -> None:
        """The country code is read case-insensitively."""
        lower = OFFICE.with_country_holidays("de", [2026])
        assert lower == OFFICE.with_country_holidays("DE", [2026])


class TestData:
    def test_to_data(self) -> None:
        """Hours by day name in weekday order, times as HH:MM, 24:00 for midnight, sorted dates."""
        cal = BusinessCalendar(
            hours={"sat": [("10:00", "24:00")], "mon": [(time(9, 0, 30), time(12))]},
            timezone="Europe/Berlin",
            holidays=["2026-12-25", "2026-01-01"],
        )
        assert cal.to_data() == {
            "timezone": "Europe/Berlin",
            "hours": {"mon": [["09:00:30", "12:00"]], "sat": [["10:00", "24:00"]]},
            "holidays": ["2026-01-01", "2026-12-25"],
        }

    def test_from_data_reads_json_and_toml(self) -> None:
        """The documented form reads back from JSON and TOML alike."""
        text = '{"timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "17:00"]]}}'
        from_json = BusinessCalendar.from_data(json.loads(text))
        from_toml = BusinessCalendar.from_data(
            tomllib.loads('timezone = "Europe/Berlin"\n[hours]\nmon = [["09:00", "17:00"]]\n')
        )
        assert from_json == from_toml
        assert from_json.hours == {0: ((time(9), time(17)),)}

    def test_from_data_defaults(self) -> None:
        """timezone defaults to UTC and holidays to none."""
        cal = BusinessCalendar.from_data({"hours": {"mon": [["09:00", "17:00"]]}})
        assert (cal.timezone, cal.holidays) == ("UTC", frozenset())

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"timezone": "UTC"}, "needs 'hours'"),
            ({"hours": {"mon": [["09:00", "17:00"]]}, "tz": "UTC"}, r"unknown keys \['tz'\]"),
            (["mon"], "must be a mapping"),
            ({"hours": {"mon": [["09:00", "17:00"]]}, "holidays": "2026-01-01"}, "list of dates"),
        ],
    )
    def test_bad_data(self, data: object, message: str) -> None:
        """Missing hours, unknown keys and wrong shapes are refused."""
        with pytest.raises(ValidationError, match=message):
            BusinessCalendar.from_data(data)


class TestCost:
    def test_a_year_is_measured_a_week_at_a_time(self) -> None:
        """elapsed over a year builds one table per local week, reused by later calls."""
        cal = BusinessCalendar.weekdays(timezone="Europe/Berlin")
        weeks = cal._engine._weeks  # the cache is what is checked
        assert cal.elapsed(berlin(2026, 1, 1), berlin(2027, 1, 1)) == 2088 * H
        assert 52 <= len(weeks) <= 54
        before = dict(weeks)
        assert cal.add(berlin(2026, 1, 1), timedelta(days=30)) == berlin(2026, 5, 6, 17)
        assert weeks == before

    def test_copies_do_not_share_a_cache(self) -> None:
        """A calendar with other holidays gets its own tables."""
        cal = BusinessCalendar.weekdays(timezone="Europe/Berlin")
        assert cal.elapsed(berlin(2026, 12, 21), berlin(2026, 12, 28)) == 40 * H
        other = cal.with_holidays(["2026-12-24"])
        assert other.elapsed(berlin(2026, 12, 21), berlin(2026, 12, 28)) == 32 * H
