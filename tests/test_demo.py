"""Loading the demo into a real store, and giving grid leaders their grids."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gridmap.services.demo import assign_grid_leaders, load_demo
from gridmap.synth.tiny import grid_world


def test_demo_store_holds_the_world(demo_store):
    assert demo_store.count("streets") == 8
    assert demo_store.count("communities") == 40
    assert 2000 <= demo_store.count("buildings") <= 4500
    vanke = demo_store.read("estates", where={"name": "万科魅力之城"})
    assert len(vanke) == 1
    b = demo_store.read("buildings", where={"estate_id": vanke["id"].iat[0]})
    assert int(b["households"].sum()) == 2912


def test_reload_changes_nothing(sqlite_store):
    load_demo(sqlite_store, seed=0, grids=False)
    before = sqlite_store.snapshot()
    load_demo(sqlite_store, seed=0, grids=False)
    after = sqlite_store.snapshot()
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])


def test_grid_leaders_get_one_grid_each(sqlite_store):
    w = grid_world(2, 2, households=100)
    for name in ("districts", "streets", "communities", "estates", "buildings"):
        sqlite_store.write(name, w[name])
    cid = w["communities"]["id"].iat[0]
    sqlite_store.write(
        "stewards",
        pd.DataFrame(
            [
                {"id": "S1", "name": "甲", "role": "grid_leader", "community_id": cid, "building_id": "b0_0"},
                {
                    "id": "S2",
                    "name": "乙",
                    "role": "building_leader",
                    "community_id": cid,
                    "building_id": "b0_0",
                    "serves": "b0_0",
                },
            ]
        ),
    )
    now = dt.datetime(2026, 1, 1)
    sqlite_store.write("plans", pd.DataFrame([{"id": "P1", "status": "published", "created_at": now}]))
    sqlite_store.write(
        "plan_grids",
        pd.DataFrame(
            [
                {"plan_id": "P1", "code": f"{cid}001", "community_id": cid},
                {"plan_id": "P1", "code": f"{cid}002", "community_id": cid},
            ]
        ),
    )
    sqlite_store.write(
        "plan_assignments",
        pd.DataFrame(
            [
                {"plan_id": "P1", "building_id": b, "grid_code": f"{cid}00{1 if b.endswith('_0') else 2}"}
                for b in w["buildings"]["id"]
            ]
        ),
    )
    assert assign_grid_leaders(sqlite_store) == {"plan_grids": 2, "grid_leaders": 2}
    leaders = sqlite_store.read("stewards", where={"role": "grid_leader"}, order_by=["id"])
    assert list(leaders["serves"]) == [f"{cid}001", f"{cid}002"]
    new = leaders[leaders["id"] != "S1"].iloc[0]
    assert new["building_id"] in {"b0_1", "b1_1"} and new["community_id"] == cid
    assert sqlite_store.get("stewards", "S2")["serves"] == "b0_0"


def test_demo_has_published_grids_and_grid_leaders_serve_them(demo_store):
    plan = demo_store.read("plans", where={"status": "published"})
    assert len(plan) == 1
    grids = demo_store.read("plan_grids", where={"plan_id": plan["id"].iat[0]})
    leaders = demo_store.read("stewards", where={"role": "grid_leader"})
    serving = leaders[leaders["serves"].notna()]
    assert sorted(serving["serves"]) == sorted(grids["code"])  # one leader per grid, every grid served
    com = dict(zip(grids["code"], grids["community_id"]))
    assert (serving["serves"].map(com) == serving["community_id"]).all()


def test_demo_accounts_sign_in_and_see_only_their_scope(demo_copy, app_factory):
    """Every demo account signs in through /login; the grid leader and the department see exactly their
    requests (brute-force recount from the store), the viewer none."""
    from gridmap.services.demo import DEMO_ACCOUNTS, demo_accounts

    made = {a["username"]: a for a in demo_accounts(demo_copy, password="demo-pass-1")}
    assert set(made) == {u for u, _, _ in DEMO_ACCOUNTS}
    again = demo_accounts(demo_copy, password="demo-pass-2")  # re-running resets passwords, adds nobody
    assert len(again) == len(made) and demo_copy.count("users") == len(made)
    app = app_factory(demo_copy, WTF_CSRF_ENABLED=False)
    complaints = demo_copy.read("complaints", columns=["id", "filed_grid_code", "department"])

    def ids_seen(username: str) -> set[str] | int:
        c = app.test_client()
        r = c.post("/login", data={"username": username, "password": "demo-pass-2"})
        assert r.status_code in (302, 303), (username, r.status_code)
        seen, offset = set(), 0
        while True:
            r = c.get(f"/api/complaints?limit=500&offset={offset}")
            if r.status_code != 200:
                return r.status_code
            items = r.get_json()["items"]
            seen |= {i["id"] for i in items}
            if len(items) < 500:
                return seen
            offset += 500

    grid = made["gridleader"]["scope"]["grids"][0]
    leader = ids_seen("gridleader")
    assert leader and leader == set(complaints.loc[complaints["filed_grid_code"] == grid, "id"])
    dept = ids_seen("chengguan")
    assert dept and dept == set(complaints.loc[complaints["department"] == "urban_management", "id"])
    assert ids_seen("viewer") == 403
