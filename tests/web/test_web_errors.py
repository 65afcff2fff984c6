"""The one error mapping of the web (gridmap.web.errors), through real routes: each kind of error answers one
status in the shape its path calls for, with no traceback."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from complaints_world import build, lonlat

HERE = lonlat(20, 20)  # on building b1


@pytest.fixture
def world(sqlite_store):
    build(sqlite_store)
    return sqlite_store


@pytest.fixture
def wclient(app_factory, world):
    return app_factory(world).test_client()


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == status and body["error"]["code"] == code
    assert b"Traceback" not in resp.data
    return body["error"]


def test_a_store_conflict_is_409_never_503_and_writes_nothing(wclient, world):
    # A request id the sequence is about to hand out is already taken (e.g. by imported requests): the store
    # refuses the insert with its ConflictError, which must reach the client as a conflict.
    taken = world.next_id("complaint") + 1
    years = {dt.datetime.now().year, dt.datetime.now().year + 1}  # the id starts with the year of filing
    old = {
        "state": "collected",
        "category": "parking",
        "description": "旧诉求",
        "channel": "api",
        "created_at": dt.datetime(2024, 5, 1),
        "updated_at": dt.datetime(2024, 5, 1),
    }
    world.write("complaints", pd.DataFrame([{**old, "id": f"{y}{taken:06d}"} for y in sorted(years)]))
    before = world.snapshot(["complaints", "complaint_events"])
    resp = wclient.post(
        "/api/complaints", json={"category": "parking", "description": "消防通道被占用", "lon": HERE[0], "lat": HERE[1]}
    )
    err = _error(resp, 409, "conflict")
    assert "exist" in err["message"]
    after = world.snapshot(["complaints", "complaint_events"])
    assert all(after[k].equals(before[k]) for k in before)


def test_a_domain_invalid_input_is_400(wclient, login):
    login(wclient, "viewer")
    # the coverage tables are named by the domain (gridmap.domain.coverage), which refuses an unknown one
    err = _error(wclient.get("/api/coverage?format=csv&table=nope"), 400, "invalid_input")
    assert "nope" in err["message"]
    err = _error(wclient.get("/api/coverage?format=csv&table=red_property&level=galaxy"), 400, "invalid_input")
    assert "galaxy" in err["message"]


def test_wrong_method_is_405_with_allow_in_every_shape(wclient):
    resp = wclient.delete("/api/complaints")
    _error(resp, 405, "method_not_allowed")
    assert {"GET", "POST"} <= {m.strip() for m in resp.headers["Allow"].split(",")}
    page = wclient.get("/logout")  # a page keeps the HTML error page, and the header
    assert page.status_code == 405 and page.mimetype == "text/html" and "POST" in page.headers["Allow"]
    open311 = wclient.put("/open311/v2/requests.json")
    assert open311.status_code == 405 and "POST" in open311.headers["Allow"]
    assert open311.get_json() == [{"code": 405, "description": open311.get_json()[0]["description"]}]


@pytest.mark.parametrize(
    "path",
    [
        "/api/no-such-thing",
        "/api/grids/370214001001999/stats",
        "/ogc/collections/nope",
        "/tiles/nope/0/0/0.pbf",
        "/tiles/grids/3/99/99.pbf",
    ],
)
def test_not_found_under_the_api_prefixes_is_json(wclient, path):
    assert _error(wclient.get(path), 404, "not_found")["message"]


def test_open311_errors_are_georeport_lists_even_without_a_route(wclient):
    resp = wclient.get("/open311/v2/no-such-path.json")
    assert resp.status_code == 404 and resp.get_json()[0]["code"] == 404
    xml = wclient.get("/open311/v2/no-such-path.xml")
    assert xml.status_code == 404 and b"<errors><error><code>404</code>" in xml.data


def test_an_unreachable_database_is_503_and_hides_the_password(app_factory):
    app = app_factory(DATABASE_URL="postgresql+psycopg://gridmap:s3cret-pw@127.0.0.1:1/nowhere")
    resp = app.test_client().get("/tiles/grids/0/0/0.pbf")  # public, and reads the store
    err = _error(resp, 503, "unavailable")
    assert "127.0.0.1:1" in err["message"] and "s3cret-pw" not in resp.get_data(as_text=True)
