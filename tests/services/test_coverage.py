"""Coverage figures of the demo district against a brute-force recount (plain loops over rows)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridmap.domain.coverage import TARGETS, red_property
from gridmap.services import placement as svc
from gridmap.services.plans import published_plan_id


def _ensure_plan(store) -> str:
    """The demo's published plan; without the grids service, publish one grid per estate (+ one per rest)."""
    plan = published_plan_id(store)
    if plan is not None:
        return plan
    b = store.read("buildings", columns=["id", "estate_id", "community_id", "geometry"])
    key = b["estate_id"].astype(object).where(b["estate_id"].notna(), "rest:" + b["community_id"].astype(str))
    codes = {}
    for com, grp in b.assign(key=key).groupby("community_id"):
        for i, k in enumerate(sorted(grp["key"].unique()), start=1):
            codes[(com, k)] = f"{com}{i:03d}"
    b["grid_code"] = [codes[(c, k)] for c, k in zip(b["community_id"], key)]
    grids = b.dissolve("grid_code", aggfunc="first").reset_index()
    now = dt.datetime(2026, 1, 1)
    with store.transaction():
        store.write(
            "plans", pd.DataFrame([{"id": "PT", "status": "published", "created_at": now, "published_at": now}])
        )
        store.write(
            "plan_assignments", pd.DataFrame({"plan_id": "PT", "building_id": b["id"], "grid_code": b["grid_code"]})
        )
        store.write(
            "plan_grids",
            gpd.GeoDataFrame(
                {"plan_id": "PT", "code": grids["grid_code"], "community_id": grids["community_id"]},
                geometry=shapely.convex_hull(grids.geometry.values),
                crs=4326,
            ),
        )
    return "PT"


def _rows(store, layer, columns):
    return (
        pd.DataFrame(store.read(layer, columns=columns))
        .astype(object)
        .where(lambda f: f.notna(), None)
        .to_dict("records")
    )


def test_demo_coverage_matches_brute_force(demo_copy):
    store = demo_copy
    plan = _ensure_plan(store)
    rep = svc.coverage_report(store)

    buildings = _rows(store, "buildings", ["id", "estate_id", "community_id", "households"])
    stewards = _rows(store, "stewards", ["id", "role", "building_id", "serves", "party_member"])
    grid_of = {
        r["building_id"]: r["grid_code"]
        for r in _rows(store, "plan_assignments", ["plan_id", "building_id", "grid_code"])
        if r["plan_id"] == plan
    }
    grids = [r for r in _rows(store, "plan_grids", ["plan_id", "code", "community_id"]) if r["plan_id"] == plan]

    # buildings without a building leader
    led = set()
    for s in stewards:
        if s["role"] == "building_leader":
            led.add(s["serves"] if s["serves"] is not None else s["building_id"])
    want = sorted(b["id"] for b in buildings if (b["households"] or 0) > 0 and b["id"] not in led)
    assert rep.buildings_without_leader["id"].tolist() == want
    assert rep.summary["buildings_without_leader"] == len(want) > 0

    # per grid: households, stewards, grid leaders, party-member central households
    hh, n_st, n_gl, n_pch = Counter(), Counter(), Counter(), Counter()
    for b in buildings:
        if b["id"] in grid_of:
            hh[grid_of[b["id"]]] += b["households"] or 0
    for s in stewards:
        g = grid_of.get(s["building_id"])
        if g is not None:
            n_st[g] += 1
        if s["role"] == "grid_leader":
            target = s["serves"] if s["serves"] is not None else g
            if target is not None:
                n_gl[target] += 1
        if s["role"] == "party_central_household" and s["party_member"] and g is not None:
            n_pch[g] += 1
    table = rep.grids.set_index("code")
    assert sorted(table.index) == sorted(g["code"] for g in grids)
    for g in grids:
        c = g["code"]
        row = table.loc[c]
        assert (row["households"], row["stewards"], row["grid_leaders"], row["party_central_households"]) == (
            hh[c],
            n_st[c],
            n_gl[c],
            n_pch[c],
        )
        if n_st[c]:
            assert row["households_per_steward"] == pytest.approx(hh[c] / n_st[c])
    assert rep.summary["grids_without_leader"] == sum(1 for g in grids if n_gl[g["code"]] == 0)
    assert rep.summary["grids_without_party_central_household"] == sum(1 for g in grids if n_pch[g["code"]] == 0)

    # party members reported in, by role
    role_of = {s["id"]: s["role"] for s in stewards}
    counts = Counter()
    for p in _rows(store, "party_members", ["id", "community_id", "reported_on", "steward_id"]):
        if p["reported_on"] is not None:
            counts[(p["community_id"], role_of.get(p["steward_id"], "not_a_steward"))] += 1
    got = {(r["community_id"], r["role"]): r["members"] for r in rep.party_members.to_dict("records")}
    assert got == dict(counts) and rep.summary["party_members_reported"] == sum(counts.values())

    # red property by community and street
    red_co = {c["id"]: bool(c["has_party_org"]) for c in _rows(store, "property_companies", ["id", "has_party_org"])}
    street_of = {c["id"]: c["street_id"] for c in _rows(store, "communities", ["id", "street_id"])}
    by_c, by_s = defaultdict(lambda: [0, 0]), defaultdict(lambda: [0, 0])
    for e in _rows(store, "estates", ["id", "community_id", "property_company_id"]):
        red = red_co.get(e["property_company_id"], False)
        for d, k in ((by_c, e["community_id"]), (by_s, street_of[e["community_id"]])):
            d[k][0] += 1
            d[k][1] += red
    com = rep.red_property["community"].set_index("community_id")
    assert sorted(com.index) == sorted(by_c)
    for k, (n, red) in by_c.items():
        assert (com.loc[k, "estates"], com.loc[k, "red_estates"]) == (n, red)
        for year, target in TARGETS.items():
            assert bool(com.loc[k, f"meets_{year}"]) == (red / n >= target)
    st = rep.red_property["street"].set_index("street_id")
    assert {k: (st.loc[k, "estates"], st.loc[k, "red_estates"]) for k in st.index} == {
        k: tuple(v) for k, v in by_s.items()
    }
    total = [sum(v[i] for v in by_c.values()) for i in (0, 1)]
    assert rep.summary["red_property_share"] == pytest.approx(total[1] / total[0])


def test_red_property_targets_on_a_hand_drawn_case():
    estates = pd.DataFrame(
        {
            "id": ["e1", "e2", "e3", "e4"],
            "community_id": ["c1", "c1", "c2", "c2"],
            "property_company_id": ["red", "plain", "red", None],
        }
    )
    companies = pd.DataFrame({"id": ["red", "plain"], "has_party_org": [True, False]})
    communities = pd.DataFrame({"id": ["c1", "c2"], "street_id": ["370214001", "370214002"]})
    out = red_property(estates, companies, communities)
    com = out["community"].set_index("community_id")
    assert com.loc["c1", "share"] == 0.5 and bool(com.loc["c1", "meets_2020"]) and not com.loc["c1", "meets_2021"]
    assert out["estate"].set_index("id")["red"].tolist() == [True, False, True, False]
    assert out["district"]["share"].iloc[0] == 0.5
