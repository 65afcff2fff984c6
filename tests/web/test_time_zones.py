"""One clock: the service gives the same, correct times whatever the server process's zone (TZ=UTC or
TZ=Asia/Shanghai), and shows them in the zone of the setting GRIDMAP_TIMEZONE (default Asia/Shanghai).

Inside, times are aware UTC; at the edges — Open311, the pages, KPI months and years, working days and
their end, days waiting and overdue flags, embed-token expiry — they are converted to the service's zone.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time

import pytest

from complaints_world import G1, build, lonlat
from gridmap.domain.credentials import InvalidToken
from gridmap.errors import ConfigError
from gridmap.services import accounts

UTC = dt.UTC
P1 = lonlat(20, 20)  # building b1, grid G1
FILED = "2026-12-03T22:04:55Z"  # Thursday 22:04 UTC = Friday 06:04:55 in Shanghai


@pytest.fixture(params=["UTC", "Asia/Shanghai"])
def process_tz(request):
    """Run the test with the server process in this zone (TZ + tzset), restored afterwards."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    assert time.localtime(0).tm_hour == (8 if request.param == "Asia/Shanghai" else 0)  # the zone took
    yield request.param
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.fixture
def world(tmp_path):
    from gridmap.store import open_store

    s = open_store(f"sqlite:///{tmp_path / 'tz.db'}")
    build(s)
    yield s
    s.close()


def _file(client, code="consultation", lon_lat=P1):
    r = client.post(
        "/open311/v2/requests.json",
        data={"service_code": code, "lat": lon_lat[1], "long": lon_lat[0], "description": "咨询"},
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json[0]["service_request_id"]


def _read(client, rid):
    return client.get(f"/open311/v2/requests/{rid}.json").json[0]


def test_open311_times_and_sla_are_the_same_in_every_process_zone(process_tz, app_factory, world, fixed_now):
    c = app_factory(world).test_client()
    fixed_now(FILED)
    rid = _file(c)
    assert rid.startswith("2026")
    got = _read(c, rid)
    assert got["requested_datetime"] == "2026-12-04T06:04:55+08:00"
    assert got["updated_datetime"] == "2026-12-04T06:04:55+08:00"
    # consultation: 2 working days after Friday 4 December in Shanghai → Monday 7, Tuesday 8, to its end
    assert got["expected_datetime"] == "2026-12-08T23:59:59+08:00"
    row = world.get("complaints", rid)
    assert row["created_at"] == dt.datetime(2026, 12, 3, 22, 4, 55, tzinfo=UTC)
    assert row["due_at"] == dt.datetime(2026, 12, 8, 15, 59, 59, tzinfo=UTC)
    # filed on a Friday evening in Shanghai (21:30): the same two working days, Monday and Tuesday
    fixed_now("2026-12-04T13:30:00Z")
    late = _file(c)
    assert _read(c, late)["requested_datetime"] == "2026-12-04T21:30:00+08:00"
    assert _read(c, late)["expected_datetime"] == "2026-12-08T23:59:59+08:00"
    # a complaint (15 working days) filed then: Dec 7–11, 14–18, 21–25 → Friday 25 December
    assert _read(c, _file(c, "sanitation"))["expected_datetime"] == "2026-12-25T23:59:59+08:00"

    def ids(**q):
        return sorted(r["service_request_id"] for r in c.get("/open311/v2/requests.json", query_string=q).json)

    # start_date/end_date without an offset are Shanghai times; with one, they are what they say
    assert ids(start_date="2026-12-04T00:00:00", end_date="2026-12-04T06:04:55") == [rid]
    assert ids(start_date="2026-12-04T00:00:00", end_date="2026-12-04T06:04:54") == []
    assert ids(start_date="2026-12-03T22:04:55Z", end_date="2026-12-03T22:04:55Z") == [rid]
    assert ids(start_date="2026-12-03T00:00:00+08:00", end_date="2026-12-04T06:00:00+08:00") == []
    assert len(ids()) == 3  # the default window ends now


def test_grid_page_and_work_list_overdue_and_days_waiting(process_tz, app_factory, world, fixed_now, login):
    c = app_factory(world).test_client()
    fixed_now(FILED)
    rid = _file(c)  # due 2026-12-08T23:59:59+08:00 = 15:59:59Z
    login(c, "planner")

    def grid_row():
        page = c.get(f"/grids/{G1}").get_data(as_text=True)
        m = re.search(rf'<tr data-complaint="{rid}">.*?</tr>', page, re.S)
        assert m, page
        return m.group(0)

    def work_item():
        page = c.get("/complaints").get_data(as_text=True)
        m = re.search(rf'<li class="gm-item[^"]*" id="c-{rid}">.*?</li>', page, re.S)
        assert m, page
        return m.group(0)

    fixed_now("2026-12-08T15:30:00Z")  # Tuesday 23:30 in Shanghai: still in time, 4 days 17 hours waiting
    assert "4 天" in grid_row() and "overdue" not in grid_row()
    stats = c.get(f"/api/grids/{G1}/stats").json
    assert (stats["complaints_overdue"], stats["longest_wait_days"]) == (0, 4)
    assert "gm-late" not in work_item() and "2026-12-08" in work_item()
    assert c.get("/api/complaints?overdue=1").json["total"] == 0

    fixed_now("2026-12-08T16:00:00Z")  # Wednesday 00:00 in Shanghai: one second late
    assert "4 天" in grid_row() and 'class="tag overdue"' in grid_row()
    stats = c.get(f"/api/grids/{G1}/stats").json
    assert (stats["complaints_overdue"], stats["longest_wait_days"]) == (1, 4)
    assert "gm-late" in work_item() and "2026-12-08" in work_item()
    assert [i["id"] for i in c.get("/api/complaints?overdue=1").json["items"]] == [rid]

    fixed_now("2026-12-08T22:05:00Z")  # five whole days after filing
    assert "5 天" in grid_row()


def test_kpi_months_and_years_are_shanghai_ones(process_tz, app_factory, world, fixed_now, login):
    c = app_factory(world).test_client()
    for at in (
        "2025-12-31T18:00:00Z",  # 1 January 2026, 02:00 in Shanghai
        "2026-01-31T12:00:00Z",  # 31 January, 20:00 there
        "2026-01-31T20:00:00Z",
    ):  # 1 February, 04:00 there
        fixed_now(at)
        _file(c, "parking")
    fixed_now("2027-03-01T00:00:00Z")
    login(c, "planner")
    rep = c.get("/api/kpi").json
    assert rep["years"] == [2026] and rep["year"] == 2026
    assert rep["summary"]["complaints"] == 3 and rep["summary"]["complaints_prev"] == 0
    assert {(r["year"], r["month"]): r["complaints"] for r in rep["trend"]} == {(2026, 1): 2, (2026, 2): 1}


def test_embed_token_expiry_is_the_same_in_every_process_zone(process_tz, world, fixed_now):
    fixed_now(FILED)
    out = accounts.issue_embed(world, "k", view="map", hours=2)
    assert out["expires_at"] == "2026-12-04T00:04:55Z"
    assert world.get("embed_tokens", out["id"])["expires_at"] == dt.datetime(2026, 12, 4, 0, 4, 55, tzinfo=UTC)
    fixed_now("2026-12-04T00:04:54Z")
    assert accounts.check_embed(world, "k", out["token"], view="map").expires_at == dt.datetime(
        2026, 12, 4, 0, 4, 55, tzinfo=UTC
    )
    fixed_now("2026-12-04T00:04:55Z")
    with pytest.raises(InvalidToken, match="expired"):
        accounts.check_embed(world, "k", out["token"], view="map")


@pytest.mark.parametrize(
    "zone, requested, expected",
    [
        ("Asia/Urumqi", "2026-12-04T04:04:55+06:00", "2026-12-08T23:59:59+06:00"),  # Friday there too
        ("UTC", "2026-12-03T22:04:55+00:00", "2026-12-07T23:59:59+00:00"),  # Thursday: Fri 4, Mon 7
    ],
)
def test_the_edges_follow_the_timezone_setting(zone, requested, expected, app_factory, world, fixed_now, login):
    c = app_factory(world, TIMEZONE=zone).test_client()
    fixed_now(FILED)
    rid = _file(c)
    got = _read(c, rid)
    assert (got["requested_datetime"], got["expected_datetime"]) == (requested, expected)
    login(c, "planner")
    due_day = expected[:10]
    assert re.search(rf'id="c-{rid}">.*?{due_day}', c.get("/complaints").get_data(as_text=True), re.S)
    fixed_now("2026-01-31T20:00:00Z")
    _file(c, "parking")
    fixed_now("2027-03-01T00:00:00Z")
    trend = {(r["year"], r["month"]): r["complaints"] for r in c.get("/api/kpi?year=2026").json["trend"]}
    # 2026-01-31T20:00Z is 1 February 02:00 in Urumqi, still 31 January in UTC
    assert trend == ({(2026, 2): 1, (2026, 12): 1} if zone == "Asia/Urumqi" else {(2026, 1): 1, (2026, 12): 1})


def test_an_unknown_timezone_stops_the_app(app_factory, world):
    with pytest.raises(ConfigError, match="GRIDMAP_TIMEZONE.*Mars/Olympus"):
        app_factory(world, TIMEZONE="Mars/Olympus")
