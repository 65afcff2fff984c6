"""Rate limits (Flask-Limiter) on intake, sign-in, token issue and uploads: 429 in the error shape with
Retry-After, counted per client address or per signed-in account, both intake APIs sharing one budget."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from complaints_world import build, lonlat

P1 = lonlat(20, 20)


@pytest.fixture
def limited(app_factory, sqlite_store):
    build(sqlite_store)
    return app_factory(
        sqlite_store,
        RATE_LIMIT_ENABLED=True,
        RATE_LIMIT_INTAKE="3 per minute",
        RATE_LIMIT_SIGNIN="4 per minute",
        RATE_LIMIT_TOKENS="2 per minute",
        RATE_LIMIT_UPLOADS="1 per minute",
    )


def _file(client, addr="10.0.0.1"):
    return client.post(
        "/api/complaints",
        json={"category": "parking", "description": "消防通道被占用", "lon": P1[0], "lat": P1[1]},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_intake_flood_is_refused_per_address_with_retry_after(limited, sqlite_store):
    c = limited.test_client()
    assert [_file(c).status_code for _ in range(3)] == [201, 201, 201]
    r = _file(c)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["error"]["status"] == 429 and r.get_json()["error"]["code"] == "too_many_requests"
    assert sqlite_store.count("complaints") == 3  # the refused request was not stored
    assert _file(c, addr="10.0.0.2").status_code == 201  # another address has its own budget


def test_open311_and_the_intake_api_share_one_budget(limited):
    c = limited.test_client()
    for _ in range(2):
        assert _file(c).status_code == 201
    r = c.post(
        "/open311/v2/requests.json",
        data={"service_code": "parking", "description": "占道", "lat": P1[1], "long": P1[0]},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    r = c.post(
        "/open311/v2/requests.json",
        data={"service_code": "parking", "description": "占道", "lat": P1[1], "long": P1[0]},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_signed_in_callers_are_counted_per_account(limited, login):
    a, b = limited.test_client(), limited.test_client()
    login(a, "grid_leader", {"grids": ["x"]}, username="leader-a")
    login(b, "grid_leader", {"grids": ["x"]}, username="leader-b")
    assert [_file(a).status_code for _ in range(3)] == [201] * 3
    assert _file(a).status_code == 429
    assert _file(b).status_code == 201  # same address, another account
    assert _file(limited.test_client()).status_code == 201  # anonymous on that address: its own budget


def test_sign_in_attempts_are_limited_per_address(limited, arm_csrf):
    c = limited.test_client()
    arm_csrf(c)
    codes = [
        c.post(
            "/login", data={"username": f"u{i}", "password": "wrong password"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
        ).status_code
        for i in range(5)
    ]
    assert codes == [401, 401, 401, 401, 429]
    assert c.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200  # the page still opens


def test_token_issue_and_uploads_are_limited(limited, login):
    c = limited.test_client()
    login(c, "planner")
    assert [c.post("/api/tokens", json={"name": f"t{i}"}).status_code for i in range(3)] == [201, 201, 429]
    up = [
        c.post(
            "/api/place/households",
            data={"file": (io.BytesIO(b"id,lon,lat\n"), "h.csv")},
            content_type="multipart/form-data",
        ).status_code
        for _ in range(2)
    ]
    assert up[0] != 429 and up[1] == 429


def test_limits_off_by_setting(app_factory, sqlite_store):
    build(sqlite_store)
    c = app_factory(sqlite_store, RATE_LIMIT_ENABLED=False, RATE_LIMIT_INTAKE="1 per minute").test_client()
    assert [_file(c).status_code for _ in range(3)] == [201] * 3
