"""Open311 reads of personal fields are audited like the other APIs (issue #7), and api_key tokens are
checked like bearer tokens (revoked, expired, disabled user → refused)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from complaints_world import G1, build, lonlat

PHONE = "13912345678"


@pytest.fixture
def world(sqlite_store):
    build(sqlite_store)
    return sqlite_store


@pytest.fixture
def client(app_factory, world):
    return app_factory(world).test_client()


def _file(client, x, text):
    lon, lat = lonlat(x, 20)
    r = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "sanitation", "lat": lat, "long": lon, "description": text, "phone": PHONE},
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json[0]["service_request_id"]


def _user(store, uid, role, scope, secret, *, expires=None, revoked=False, active=True):
    from gridmap.web.access import token_hash

    store.write("users", pd.DataFrame([{"id": uid, "username": uid, "role": role, "scope": scope, "active": active}]))
    store.write(
        "api_tokens",
        pd.DataFrame(
            [
                {
                    "id": f"t-{uid}",
                    "user_id": uid,
                    "token_hash": token_hash(secret),
                    "revoked": revoked,
                    "expires_at": expires,
                }
            ]
        ),
    )


def _reads(store):
    log = store.read("audit_log", where={"action": "complaints.read"})
    return log.sort_values("at").to_dict("records")


def test_open311_reads_of_personal_fields_are_audited(client, world):
    mine = _file(client, 20, f"门口垃圾 call {PHONE}")  # b1, grid G1
    other = _file(client, 220, "楼道堆物")  # grid G3
    _user(world, "u-gl", "grid_leader", {"grids": [G1]}, "gl-secret")
    _user(world, "u-pl", "planner", {}, "pl-secret")
    assert _reads(world) == []

    # the public reads: no personal field, nothing audited
    pub = client.get(f"/open311/v2/requests/{mine}.json").json[0]
    assert pub["description"] is None and client.get("/open311/v2/requests.json").status_code == 200
    assert _reads(world) == []

    # the grid leader (bearer token) reads one request of their grid: audited with who, what, which fields
    bearer = {"Authorization": "Bearer gl-secret"}
    one = client.get(f"/open311/v2/requests/{mine}.json", headers=bearer).json[0]
    assert one["description"].startswith("门口垃圾") and one["address_id"] == "b1"
    log = _reads(world)
    assert len(log) == 1 and log[0]["actor"] == "u-gl" and log[0]["target"] == f"complaint:{mine}"
    assert log[0]["detail"]["fields"] == ["address_id", "description"] and log[0]["detail"]["rows"] == 1
    assert PHONE not in str(log[0]["detail"])  # the log holds no personal values

    # …and the other grid's request: no personal field, no entry
    assert client.get(f"/open311/v2/requests/{other}.json", headers=bearer).json[0]["description"] is None
    assert len(_reads(world)) == 1

    # the list (XML too) through api_key: one entry naming exactly the rows that carried personal data
    listing = client.get("/open311/v2/requests.json?api_key=gl-secret").json
    shown = {r["service_request_id"] for r in listing if r["description"] is not None}
    assert shown == {mine}
    log = _reads(world)
    assert len(log) == 2 and log[-1]["target"] == "open311:requests" and log[-1]["detail"]["ids"] == [mine]
    assert client.get("/open311/v2/requests.xml", headers=bearer).status_code == 200
    assert len(_reads(world)) == 3

    # a planner sees descriptions masked, and the read is audited
    got = {
        r["service_request_id"]: r
        for r in client.get("/open311/v2/requests.json", headers={"Authorization": "Bearer pl-secret"}).json
    }
    assert PHONE not in got[mine]["description"] and "139****5678" in got[mine]["description"]
    log = _reads(world)
    assert log[-1]["actor"] == "u-pl" and set(log[-1]["detail"]["ids"]) == {mine, other}


@pytest.mark.parametrize("kind", ["expired", "revoked", "disabled"])
def test_open311_api_key_is_checked_like_a_bearer_token(client, world, kind):
    rid = _file(client, 20, "x")
    past = dt.datetime.utcnow() - dt.timedelta(days=1)
    _user(
        world,
        "u-x",
        "grid_leader",
        {"grids": [G1]},
        "x-secret",
        expires=past if kind == "expired" else None,
        revoked=kind == "revoked",
        active=kind != "disabled",
    )
    r = client.get(f"/open311/v2/requests/{rid}.json?api_key=x-secret")
    assert r.status_code == 403
    assert _reads(world) == []
