"""Working-day clocks across weekends, CN holidays with make-up days, and settings overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.domain.workdays import CalendarError, WorkCalendar, china_calendar

D = dt.date


def test_weekends_only_calendar_skips_saturday_and_sunday():
    cal = WorkCalendar()
    fri = D(2025, 3, 7)
    assert cal.add_working_days(fri, 1) == D(2025, 3, 10)  # Monday
    assert cal.add_working_days(fri, 2) == D(2025, 3, 11)
    assert cal.add_working_days(fri, 0) == fri
    assert cal.working_days_between(fri, D(2025, 3, 11)) == 2
    assert cal.working_days_between(D(2025, 3, 11), fri) == -2


def test_due_is_end_of_the_last_working_day():
    cal = WorkCalendar()
    due = cal.due(dt.datetime(2025, 3, 7, 16, 30), 2)
    assert due == dt.datetime(2025, 3, 11, 23, 59, 59)


def test_cn_spring_festival_2024_with_make_up_sunday():
    # 2024: 10–17 Feb off; Sunday 4 Feb and Sunday 18 Feb were worked (调休)
    cal = china_calendar([2024])
    assert cal.is_working_day(D(2024, 2, 4))  # Sunday, worked
    assert cal.is_working_day(D(2024, 2, 18))
    assert not cal.is_working_day(D(2024, 2, 12))  # Monday in the holiday
    assert not cal.is_working_day(D(2024, 2, 16))
    # filed Friday 9 Feb: first working day after it is Sunday 18 Feb, then Monday 19
    assert cal.add_working_days(D(2024, 2, 9), 1) == D(2024, 2, 18)
    assert cal.add_working_days(D(2024, 2, 9), 2) == D(2024, 2, 19)
    # a 2-day consultation filed on Saturday 3 Feb: Sun 4 (worked), Mon 5
    assert cal.add_working_days(D(2024, 2, 3), 2) == D(2024, 2, 5)


def test_national_day_week_2025_and_15_day_limit_brute_force():
    cal = china_calendar([2025])
    start = D(2025, 9, 26)  # Friday; Sunday 28 Sep and Saturday 11 Oct are worked; 1–8 Oct off
    due = cal.add_working_days(start, 15)
    # brute force: walk the days by the rule "weekday or make-up day, and not a holiday"
    off = {D(2025, 10, d) for d in range(1, 9)}
    worked = {D(2025, 9, 28), D(2025, 10, 11)}
    day, left = start, 15
    while left:
        day += dt.timedelta(days=1)
        if day not in off and (day.weekday() < 5 or day in worked):
            left -= 1
    assert due == day == D(2025, 10, 23)  # 28,29,30 Sep; 9,10,11,13–17,20–23 Oct


def test_settings_override_adds_and_removes_days():
    base = china_calendar([2025])
    cal = base.with_overrides(holidays=["2025-03-10"], workdays=[D(2025, 10, 3)])
    assert not cal.is_working_day(D(2025, 3, 10))
    assert cal.is_working_day(D(2025, 10, 3))
    cal2 = china_calendar([2025], holidays=["2025-03-11"])
    assert not cal2.is_working_day(D(2025, 3, 11))


def test_bad_override_is_named():
    with pytest.raises(CalendarError, match="COMPLAINT_HOLIDAYS.*2025-13-01"):
        WorkCalendar().with_overrides(holidays=["2025-13-01"])
    with pytest.raises(CalendarError, match="both"):
        WorkCalendar().with_overrides(holidays=["2025-01-01"], workdays=["2025-01-01"])
    with pytest.raises(CalendarError):
        WorkCalendar().add_working_days(D(2025, 1, 1), -1)
