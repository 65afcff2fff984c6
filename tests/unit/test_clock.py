"""The one clock (gridmap.clock): aware UTC now, freezing it for tests in every thread, zones; and the
pure rules that count in a zone (working days and their end, KPI year and month buckets)."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

from gridmap import clock
from gridmap.domain import kpi
from gridmap.domain.workdays import WorkCalendar, china_calendar

UTC = dt.UTC
SHANGHAI = clock.zone("Asia/Shanghai")


def test_now_is_aware_utc_to_the_second():
    t = clock.now()
    assert t.tzinfo is not None and t.utcoffset() == dt.timedelta(0) and t.microsecond == 0
    assert abs(t - dt.datetime.now(UTC)) < dt.timedelta(minutes=1)


def test_frozen_clock_is_seen_in_every_thread_and_undone(fixed_now):
    at = dt.datetime(2026, 12, 3, 22, 4, 55, 123456, tzinfo=UTC)
    with clock.frozen(at):
        assert clock.now() == at.replace(microsecond=0) and clock.now(precise=True) == at
        seen = []
        th = threading.Thread(target=lambda: seen.append(clock.now()))
        th.start()
        th.join()
        assert seen == [at.replace(microsecond=0)]
        with clock.frozen(dt.datetime(2027, 1, 1)):  # naive means UTC
            assert clock.now() == dt.datetime(2027, 1, 1, tzinfo=UTC)
        assert clock.now() == at.replace(microsecond=0)
    assert abs(clock.now() - dt.datetime.now(UTC)) < dt.timedelta(minutes=1)  # the real time again
    assert fixed_now("2026-01-31T20:00:00Z") == dt.datetime(2026, 1, 31, 20, tzinfo=UTC)
    assert clock.now() == dt.datetime(2026, 1, 31, 20, tzinfo=UTC)
    assert fixed_now("2026-02-01T04:00:00+08:00") == dt.datetime(2026, 1, 31, 20, tzinfo=UTC)


def test_today_is_the_date_in_the_zone():
    with clock.frozen(dt.datetime(2026, 1, 31, 20, tzinfo=UTC)):
        assert clock.today(UTC) == dt.date(2026, 1, 31)
        assert clock.today(SHANGHAI) == dt.date(2026, 2, 1)
        assert clock.today(clock.zone("America/New_York")) == dt.date(2026, 1, 31)


def test_zones_and_conversions():
    assert str(clock.zone(" Asia/Urumqi ")) == "Asia/Urumqi"
    with pytest.raises(ValueError, match="Mars/Olympus"):
        clock.zone("Mars/Olympus")
    with pytest.raises(ValueError):
        clock.zone("../../etc/passwd")
    t = clock.utc(dt.datetime(2026, 12, 3, 22, 4, 55))  # naive means UTC
    assert t == dt.datetime(2026, 12, 3, 22, 4, 55, tzinfo=UTC) and t.tzinfo is UTC
    assert clock.utc(pd.Timestamp("2026-12-04T06:04:55+08:00")) == t
    assert clock.local(t, SHANGHAI).isoformat() == "2026-12-04T06:04:55+08:00"
    assert clock.at_local(dt.date(2026, 12, 8), dt.time(23, 59, 59), SHANGHAI) == dt.datetime(
        2026, 12, 8, 15, 59, 59, tzinfo=UTC
    )
    assert clock.iso(dt.datetime(2026, 12, 4, 6, 4, 55, 999, tzinfo=SHANGHAI)) == "2026-12-03T22:04:55Z"


def test_working_days_are_counted_where_the_calendar_is():
    filed = dt.datetime(2026, 12, 3, 22, 4, 55, tzinfo=UTC)  # Thursday in UTC, Friday 06:04 in Shanghai
    shanghai = china_calendar([2026], zone=SHANGHAI)
    utc = china_calendar([2026], zone=UTC)
    # 2 working days after Friday: Monday 7, Tuesday 8 — ends at 23:59:59 Shanghai time
    assert shanghai.due(filed, 2) == dt.datetime(2026, 12, 8, 15, 59, 59, tzinfo=UTC)
    # the same request in a UTC calendar was filed on Thursday: Friday 4, Monday 7
    assert utc.due(filed, 2) == dt.datetime(2026, 12, 7, 23, 59, 59, tzinfo=UTC)
    assert shanghai.day_of(filed) == dt.date(2026, 12, 4) and utc.day_of(filed) == dt.date(2026, 12, 3)
    assert shanghai.working_days_between(filed, dt.datetime(2026, 12, 7, 17, tzinfo=UTC)) == 2  # Tue 01:00 there
    assert not shanghai.is_working_day(dt.datetime(2026, 12, 4, 16, 30, tzinfo=UTC))  # Saturday 00:30 there
    # naive times are wall times in the calendar's zone, and so is their due time
    assert WorkCalendar(zone=SHANGHAI).due(dt.datetime(2026, 12, 4, 21), 2) == dt.datetime(2026, 12, 8, 23, 59, 59)
    # overrides keep the zone
    assert shanghai.with_overrides(holidays=["2026-12-07"]).zone is SHANGHAI


def _request(rid: str, created: dt.datetime) -> dict:
    return {
        "id": rid,
        "category": "parking",
        "state": "collected",
        "building_id": "b1",
        "community_id": "C1",
        "filed_grid_code": "G1",
        "created_at": created,
    }


def test_kpi_years_and_months_are_those_of_the_zone():
    units = kpi.Units(
        building_grid={"b1": "G1"},
        grid_community={"G1": "C1"},
        community_street={"C1": "S1"},
        building_households={"b1": 1000},
        building_community={"b1": "C1"},
    )
    rows = pd.DataFrame(
        [
            _request("r1", dt.datetime(2026, 1, 31, 20, tzinfo=UTC)),  # 1 Feb 04:00 in Shanghai
            _request("r2", dt.datetime(2026, 1, 31, 12, tzinfo=UTC)),  # 31 Jan 20:00 in Shanghai
            _request("r3", dt.datetime(2025, 12, 31, 18, tzinfo=UTC)),
        ]
    )  # 1 Jan 2026 02:00 there
    sh = kpi.label_units(rows, units, zone=SHANGHAI)
    assert sh.set_index("id")[["year", "month"]].to_dict("index") == {
        "r1": {"year": 2026, "month": 2},
        "r2": {"year": 2026, "month": 1},
        "r3": {"year": 2026, "month": 1},
    }
    trend = kpi.yearly_trend(sh, units)
    assert {(r.year, r.month): r.complaints for r in trend.itertuples()} == {(2026, 1): 2, (2026, 2): 1}
    utc = kpi.yearly_trend(kpi.label_units(rows, units), units)  # the default zone is UTC
    assert {(r.year, r.month): r.complaints for r in utc.itertuples()} == {(2025, 12): 1, (2026, 1): 2}
