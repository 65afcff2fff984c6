"""Working-day arithmetic against a brute-force calendar walk, for every start day and limit (Hypothesis),
and the edges no drawn example reached: a start whose next day is worked, ``is_working_day`` as a value,
reversed spans, a limit of 0 days, the zone a day is counted in, overrides and bad dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.domain.workdays import END_OF_DAY, CalendarError, WorkCalendar, china_calendar, end_of_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
CN = china_calendar([2024, 2025, 2026], zone=SHANGHAI)
DAYS = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 10, 31))


def worked(cal: WorkCalendar, day: dt.date) -> bool:
    """The rule written out: a holiday is off, a make-up day is worked, otherwise Monday–Friday."""
    if day in cal.holidays:
        return False
    return day in cal.workdays or day.isoweekday() <= 5


def walk(cal: WorkCalendar, start: dt.date, days: int) -> dt.date:
    day = start
    while days:
        day += dt.timedelta(days=1)
        days -= worked(cal, day)
    return day


@settings(max_examples=300, deadline=None)
@given(DAYS, st.integers(min_value=0, max_value=40))
def test_add_working_days_is_the_calendar_walk(start, days):
    assert CN.add_working_days(start, days) == walk(CN, start, days)
    assert CN.is_working_day(start) is worked(CN, start)


@settings(max_examples=300, deadline=None)
@given(DAYS, DAYS)
def test_working_days_between_counts_the_half_open_span(a, b):
    lo, hi = min(a, b), max(a, b)
    count = sum(worked(CN, lo + dt.timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    assert CN.working_days_between(a, b) == (count if b >= a else -count)
    # adding what lies between lands on the last working day of the span (or before the span's end)
    if count:
        end = CN.add_working_days(lo, count)
        assert lo < end <= hi and worked(CN, end)


def test_is_working_day_returns_booleans_for_each_kind_of_day():
    assert CN.is_working_day(dt.date(2025, 10, 9)) is True  # a Thursday
    assert CN.is_working_day(dt.date(2025, 10, 11)) is True  # Saturday worked in exchange (调休)
    assert CN.is_working_day(dt.date(2025, 10, 1)) is False  # National Day, a Wednesday
    assert CN.is_working_day(dt.date(2025, 10, 12)) is False  # a plain Sunday


def test_a_weekday_start_whose_next_day_is_worked_counts_that_day_first():
    # Monday 2025-03-03: Tuesday is worked, so one working day after Monday is Tuesday
    cal = WorkCalendar()
    assert cal.add_working_days(dt.date(2025, 3, 3), 1) == dt.date(2025, 3, 4)
    assert cal.add_working_days(dt.date(2025, 3, 3), 4) == dt.date(2025, 3, 7)
    assert cal.add_working_days(dt.date(2025, 3, 3), 5) == dt.date(2025, 3, 10)  # over the weekend
    assert cal.working_days_between(dt.date(2025, 3, 3), dt.date(2025, 3, 4)) == 1
    assert cal.working_days_between(dt.date(2025, 3, 3), dt.date(2025, 3, 3)) == 0
    assert cal.working_days_between(dt.date(2025, 3, 10), dt.date(2025, 3, 3)) == -5


def test_a_limit_of_zero_days_ends_the_same_day_and_negative_limits_are_refused():
    cal = WorkCalendar(zone=SHANGHAI)
    saturday = dt.date(2025, 3, 8)
    assert cal.add_working_days(saturday, 0) == saturday
    filed = dt.datetime(2025, 3, 7, 3, 0, tzinfo=dt.UTC)  # Friday 11:00 in Shanghai
    assert cal.due(filed, 0) == dt.datetime(2025, 3, 7, 15, 59, 59, tzinfo=dt.UTC)
    with pytest.raises(CalendarError, match="≥ 0"):
        cal.add_working_days(saturday, -1)


def test_days_are_counted_in_the_calendars_zone():
    cal = WorkCalendar(zone=SHANGHAI)
    late_friday_utc = dt.datetime(2025, 3, 7, 17, 0, tzinfo=dt.UTC)  # Saturday 01:00 in Shanghai
    assert cal.day_of(late_friday_utc) == dt.date(2025, 3, 8)
    assert cal.is_working_day(late_friday_utc) is False
    # filed on Saturday (Shanghai): one working day → Monday, ending 23:59:59 Shanghai = 15:59:59 UTC
    assert cal.due(late_friday_utc, 1) == dt.datetime(2025, 3, 10, 15, 59, 59, tzinfo=dt.UTC)
    # a naive time is a wall time in the zone, and its limit is naive
    assert cal.due(dt.datetime(2025, 3, 7, 23, 0), 1) == dt.datetime(2025, 3, 10, 23, 59, 59)
    assert end_of_day(dt.date(2025, 3, 10)).time() == END_OF_DAY == dt.time(23, 59, 59)


def test_overrides_win_over_the_package_and_each_other():
    base = china_calendar([2025])
    assert not base.is_working_day(dt.date(2025, 10, 1))
    cal = base.with_overrides(workdays=["2025-10-01"], holidays=[dt.date(2025, 10, 9)])
    assert cal.is_working_day(dt.date(2025, 10, 1)) is True
    assert cal.is_working_day(dt.date(2025, 10, 9)) is False
    # and back: a later override turns the make-up day into a holiday again
    again = cal.with_overrides(holidays=["2025-10-01"])
    assert again.is_working_day(dt.date(2025, 10, 1)) is False
    assert dt.date(2025, 10, 1) not in again.workdays
    with pytest.raises(CalendarError, match="both as holiday and as workday"):
        base.with_overrides(holidays=["2025-05-06"], workdays=["2025-05-06"])
    with pytest.raises(CalendarError, match="COMPLAINT_WORKDAYS.*YYYY-MM-DD"):
        base.with_overrides(workdays=["6 May"])


def test_a_year_outside_the_calendar_sees_only_weekends():
    cal = china_calendar([2025])
    assert cal.is_working_day(dt.date(2026, 10, 1)) is True  # National Day 2026 is not in this calendar
    assert all(d.year == 2025 for d in cal.holidays | cal.workdays)


KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14: a zone no test machine runs in


def test_aware_times_are_counted_in_the_zone_by_every_method():
    cal = WorkCalendar(zone=SHANGHAI)
    friday_night_utc = dt.datetime(2025, 3, 7, 17, 0, tzinfo=dt.UTC)  # Saturday 01:00 in Shanghai
    monday_utc = dt.datetime(2025, 3, 10, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Shanghai
    assert cal.add_working_days(friday_night_utc, 1) == dt.date(2025, 3, 10)  # counted from Saturday
    assert WorkCalendar().add_working_days(friday_night_utc, 1) == dt.date(2025, 3, 10)  # from Friday, in UTC
    assert cal.add_working_days(friday_night_utc, 0) == dt.date(2025, 3, 8)
    assert cal.working_days_between(friday_night_utc, monday_utc) == 1  # (Sat, Mon]
    assert WorkCalendar().working_days_between(friday_night_utc, monday_utc) == 1  # (Fri, Mon]
    thursday_night_utc = dt.datetime(2025, 3, 6, 17, 0, tzinfo=dt.UTC)  # Friday 01:00 in Shanghai
    assert cal.working_days_between(thursday_night_utc, monday_utc) == 1  # (Fri, Mon] in Shanghai: Mon
    assert WorkCalendar().working_days_between(thursday_night_utc, monday_utc) == 2  # (Thu, Mon] in UTC
    assert cal.working_days_between(monday_utc, thursday_night_utc) == -1  # reversed: (Fri, Mon] in Shanghai: Mon
    assert WorkCalendar().working_days_between(monday_utc, thursday_night_utc) == -2  # (Thu, Mon] in UTC: Fri, Mon


def test_a_naive_time_is_a_wall_time_in_the_zone_not_the_machines():
    cal = WorkCalendar(zone=KIRITIMATI)
    friday_evening = dt.datetime(2025, 3, 7, 20, 0)
    assert cal.day_of(friday_evening) == dt.date(2025, 3, 7)
    assert cal.is_working_day(friday_evening) is True
    assert cal.add_working_days(friday_evening, 0) == dt.date(2025, 3, 7)


def test_overrides_and_the_china_calendar_keep_the_zone_and_the_weekend():
    cal = WorkCalendar(weekend=frozenset({7}), zone=KIRITIMATI).with_overrides(holidays=["2025-03-05"])
    assert cal.zone is KIRITIMATI and cal.weekend == frozenset({7})
    assert cal.is_working_day(dt.date(2025, 3, 8)) is True  # a Saturday, worked under this weekend
    assert cal.is_working_day(dt.date(2025, 3, 5)) is False
    cn = china_calendar([2025], zone=KIRITIMATI, workdays=["2025-03-08"])
    assert cn.zone is KIRITIMATI and cn.is_working_day(dt.date(2025, 3, 8)) is True
    assert dt.date(2025, 9, 28) in cn.workdays  # a make-up Sunday from the package (National Day 2025)
    assert cn.day_of(dt.datetime(2025, 3, 7, 12, 0, tzinfo=dt.UTC)) == dt.date(2025, 3, 8)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda c: c.day_of("Friday"), "day"),
        (lambda c: c.add_working_days("3/7/2025", 1), "start"),
        (lambda c: c.working_days_between("2025-03-07", "next week"), "end"),
        (lambda c: c.working_days_between("yesterday", "2025-03-07"), "start"),
        (lambda c: c.with_overrides(holidays=["1 May"]), "COMPLAINT_HOLIDAYS"),
        (lambda c: c.with_overrides(workdays=["1 May"]), "COMPLAINT_WORKDAYS"),
    ],
)
def test_a_bad_date_is_named_by_what_it_is(call, name):
    with pytest.raises(CalendarError, match=rf"^{name}: .* is not a date \(write it as YYYY-MM-DD\)$"):
        call(WorkCalendar())
