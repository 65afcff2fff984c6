"""A tiny hand-drawn world with a published plan, for the maps tests: every figure known by construction.

Two communities of 2 × 2 buildings (``grid_world(2, 4, communities=2)``), three grids:

=================  ======================  ==========  ==========================
grid               buildings               households  status (bounds 300–500)
=================  ======================  ==========  ==========================
370214001001001    b0_0, b1_0              250         under
370214001001002    b0_1, b1_1              400         ok
370214001002001    b0_2, b1_2, b0_3, b1_3  700         over
=================  ======================  ==========  ==========================

Stewards: A has 2 building leaders and its grid leader lives in b0_1 (grid B) but serves A; B has a party
central household; C a volunteer. Complaints: A has one overdue open (10 days waiting), one open in time
(1 day) and one resolved; C one open. Personal fields carry marker values the API must never return.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.synth.tiny import grid_world

A, B, C = "370214001001001", "370214001001002", "370214001002001"
GRIDS = {A: ["b0_0", "b1_0"], B: ["b0_1", "b1_1"], C: ["b0_2", "b1_2", "b0_3", "b1_3"]}
HOUSEHOLDS = {A: 250, B: 400, C: 700}
SECRETS = ("张秘密", "13800000000", "漏水秘密描述", "13900000000", "王联系人")


def _points(blds: gpd.GeoDataFrame, ids: list[str], dx: float = 0.0) -> list[shapely.Point]:
    pts = []
    for b in ids:
        p = shapely.point_on_surface(blds.loc[blds["id"] == b, "geometry"].iloc[0])
        pts.append(shapely.Point(p.x + dx, p.y))
    return pts


def build(store, *, now: dt.datetime | None = None) -> dict:
    now = (now or dt.datetime.utcnow()).replace(microsecond=0)
    w = grid_world(2, 4, communities=2, households=[[100, 200, 130, 140], [150, 200, 170, 260]])
    blds = w["buildings"]
    plan = pd.DataFrame(
        [
            {
                "id": "p1",
                "status": "published",
                "created_at": now - dt.timedelta(days=30),
                "published_at": now - dt.timedelta(days=30),
                "created_by": "test",
            }
        ]
    )
    assign = pd.DataFrame(
        [{"plan_id": "p1", "building_id": b, "grid_code": g} for g, ids in GRIDS.items() for b in ids]
    )
    grids = gpd.GeoDataFrame(
        [
            {"plan_id": "p1", "code": g, "community_id": g[:12], "households": HOUSEHOLDS[g], "buildings": len(ids)}
            for g, ids in GRIDS.items()
        ],
        geometry=[
            shapely.union_all(blds[blds["id"].isin(ids)].geometry.to_numpy()).envelope.buffer(0.00005)
            for ids in GRIDS.values()
        ],
        crs=4326,
    )
    s_ids = ["b0_0", "b1_0", "b0_1", "b1_1", "b0_2"]
    stewards = gpd.GeoDataFrame(
        {
            "id": ["s1", "s2", "s3", "s4", "s5"],
            "name": [SECRETS[0]] * 5,
            "phone": [SECRETS[1]] * 5,
            "role": ["building_leader", "building_leader", "grid_leader", "party_central_household", "volunteer"],
            "building_id": s_ids,
            "community_id": [b and ("370214001001" if b[-1] in "01" else "370214001002") for b in s_ids],
            "serves": ["b0_0", "b1_0", A, None, None],
            "party_member": [True, False, True, True, False],
        },
        geometry=_points(blds, s_ids),
        crs=4326,
    )
    c_b = ["b0_0", "b1_0", "b0_0", "b0_3"]
    complaints = gpd.GeoDataFrame(
        {
            "id": ["c1", "c2", "c3", "c4"],
            "category": ["环境卫生", "物业服务", "噪音", "环境卫生"],
            "description": [SECRETS[2]] * 4,
            "state": ["dispatched", "collected", "resolved", "collected"],
            "channel": ["map"] * 4,
            "building_id": c_b,
            "community_id": ["370214001001", "370214001001", "370214001001", "370214001002"],
            "filed_grid_code": [A, A, A, C],
            "created_at": [
                now - dt.timedelta(days=10, hours=2),
                now - dt.timedelta(days=1, hours=1),
                now - dt.timedelta(days=20),
                now - dt.timedelta(days=2, hours=3),
            ],
            "due_at": [
                now - dt.timedelta(days=3),
                now + dt.timedelta(days=5),
                now - dt.timedelta(days=15),
                now + dt.timedelta(days=3),
            ],
            "contact_name": [SECRETS[4]] * 4,
            "contact_phone": [SECRETS[3]] * 4,
        },
        geometry=_points(blds, c_b),
        crs=4326,
    )
    merchants = gpd.GeoDataFrame(
        {
            "id": ["m1", "m2"],
            "name": ["红色驿站便利店", "远方超市"],
            "category": ["便利店", "超市"],
            "alliance": [True, False],
            "building_id": ["b0_0", None],
            "community_id": ["370214001001", None],
        },
        geometry=_points(blds, ["b0_0"]) + [shapely.Point(120.60, 36.40)],
        crs=4326,
    )
    teams = gpd.GeoDataFrame(
        {
            "id": ["t1"],
            "name": ["红帆志愿服务队"],
            "community_id": ["370214001001"],
            "members": [12],
            "party_members": [5],
            "service": ["助老"],
        },
        geometry=_points(blds, ["b1_0"], dx=0.0001),
        crs=4326,
    )
    with store.transaction():
        for name in ("districts", "streets", "communities", "estates", "buildings"):
            store.write(name, w[name])
        store.write("plans", plan)
        store.write("plan_assignments", assign)
        store.write("plan_grids", grids)
        store.write("stewards", stewards)
        store.write("complaints", complaints)
        store.write("merchants", merchants)
        store.write("volunteer_teams", teams)
    from gridmap.services.maps.common import forget_cache

    forget_cache()
    return {"world": w, "grids": grids, "now": now}
