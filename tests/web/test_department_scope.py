"""A department sees exactly the requests routed to it, whether its account names the department by code
(``urban_management``), Chinese name (``城管``) or English name: :mod:`gridmap.domain.privacy` and the
complaints service compare department codes on both sides."""

from __future__ import annotations

import datetime as dt

import pytest

from complaints_world import build, lonlat
from gridmap.domain import complaints as C
from gridmap.domain import privacy
from gridmap.services import accounts
from gridmap.services import complaints as svc
from gridmap.web.access import User

CATS = ("parking", "medical", "property_service", "sanitation", "neighbour_dispute", "parking", "fitness")


@pytest.fixture
def world(sqlite_store):
    from gridmap import config

    build(sqlite_store)
    pub, staff, s = User(None, "x", "public"), User("u1", "admin", "admin"), config.load()
    ids = []
    for i, cat in enumerate(CATS):
        lon, lat = lonlat(20 + 40 * i, 20)
        ids.append(
            svc.submit(
                sqlite_store,
                {"category": cat, "description": f"诉求 {i}", "lon": lon, "lat": lat},
                user=pub,
                settings=s,
                now=dt.datetime(2025, 5, 5 + i, 10),
            )["id"]
        )
    # one request moved to another department: it now belongs there only
    svc.transition(sqlite_store, ids[0], "dispatched", user=staff, settings=s, now=dt.datetime(2025, 5, 6))
    svc.transition(sqlite_store, ids[0], "returned", user=staff, settings=s, now=dt.datetime(2025, 5, 6, 12))
    svc.transition(
        sqlite_store,
        ids[0],
        "reassigned",
        user=staff,
        settings=s,
        changes={"department": "police"},
        now=dt.datetime(2025, 5, 7),
    )
    return sqlite_store


def _routed(store) -> dict[str, set[str]]:
    """Brute force: request ids per department code, read straight from the store."""
    out: dict[str, set[str]] = {code: set() for code in C.DEPARTMENTS}
    for rec in store.read("complaints", columns=["id", "department"]).to_dict("records"):
        out[rec["department"]].add(rec["id"])
    return out


def test_a_department_sees_exactly_the_requests_routed_to_it(app_factory, world, login):
    routed = _routed(world)
    assert len([d for d, ids in routed.items() if ids]) >= 3 and "police" in {d for d, ids in routed.items() if ids}
    app = app_factory(world)
    every = set().union(*routed.values())
    for code, dept in C.DEPARTMENTS.items():
        for name in (code, dept.zh, dept.en):
            c = app.test_client()
            login(c, "department", {"departments": [name]})
            got = c.get("/api/complaints?limit=1000").get_json()
            assert {i["id"] for i in got["items"]} == routed[code] and got["total"] == len(routed[code]), name
            user = User("u", "u", "department", {"departments": [name]})
            for cid in every:
                rec = world.get("complaints", cid)
                mine = cid in routed[code]
                assert privacy.in_scope(user, privacy.Where.of(rec)) is mine
                assert svc.in_scope(user, rec) is mine
                assert privacy.access_level(user, privacy.Where.of(rec)) == (privacy.FULL if mine else privacy.MASKED)
            one = next(iter(routed[code]), None)
            if one:
                assert c.get(f"/api/complaints/{one}").get_json()["description"].startswith("诉求")


def test_accounts_store_department_codes(world, app_factory, login):
    row = accounts.add_user(world, username="cg", role="department", scope={"departments": ["城管"]})
    assert row["scope"] == {"departments": ["urban_management"]}
    stored = accounts.find_user(world, "cg")
    user = User(stored["id"], "cg", "department", stored["scope"])
    routed = _routed(world)["urban_management"]
    assert routed
    assert {r["id"] for r in svc.list_complaints(world, user=user, limit=1000)["items"]} == routed
    assert all(privacy.in_scope(user, privacy.Where.of(world.get("complaints", cid))) for cid in routed)
    # an old account naming the department in Chinese still matches (read as its code)
    legacy = User("u-old", "old", "department", {"departments": "城管"})
    assert {r["id"] for r in svc.list_complaints(world, user=legacy, limit=1000)["items"]} == routed
