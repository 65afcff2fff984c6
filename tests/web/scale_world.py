"""A tiny hand-drawn district for the OGC, tile and GDAL tests, with a published and an older plan.

One street, two communities side by side (west 001, east 002), an estate in each, 6 buildings per
community on a 3×2 block of ~50 m boxes. Plan ``p2`` (published) splits community 001 into two grids and
keeps 002 whole; plan ``p1`` (superseded) had one grid per community. Households and complaints carry
personal fields that must never be published.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

X0, Y0 = 120.40, 36.30
D = 0.0005  # building side (~45 m)
STEP = 0.001  # building spacing
NOW = dt.datetime.now().replace(microsecond=0)  # due dates are days away from it: no flakiness
SECRET = ("13800138000", "张三", "3-2-501", "楼道堆物很严重", "李四", "13900139000")


def _crs(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def frames() -> dict[str, pd.DataFrame]:
    w = {}
    w["districts"] = _crs(
        pd.DataFrame(
            {"id": ["370214"], "name": ["城阳区"], "geometry": [box(X0 - 0.01, Y0 - 0.01, X0 + 0.02, Y0 + 0.01)]}
        )
    )
    w["streets"] = _crs(
        pd.DataFrame(
            {
                "id": ["370214001"],
                "name": ["城阳街道"],
                "district_id": ["370214"],
                "geometry": [box(X0 - 0.005, Y0 - 0.005, X0 + 0.015, Y0 + 0.005)],
            }
        )
    )
    w["communities"] = _crs(
        pd.DataFrame(
            {
                "id": ["370214001001", "370214001002"],
                "name": ["西社区", "东社区"],
                "street_id": ["370214001"] * 2,
                "min_households": [300, None],
                "max_households": [500, None],
                "geometry": [
                    box(X0 - 0.005, Y0 - 0.005, X0 + 0.005, Y0 + 0.005),
                    box(X0 + 0.005, Y0 - 0.005, X0 + 0.015, Y0 + 0.005),
                ],
            }
        )
    )
    w["estates"] = _crs(
        pd.DataFrame(
            {
                "id": ["e1", "e2"],
                "name": ["万科魅力之城", "磊鑫伊顿阳光"],
                "community_id": ["370214001001", "370214001002"],
                "property_company_id": ["pc1", None],
                "geometry": [
                    box(X0 - 0.001, Y0 - 0.001, X0 + 0.0035, Y0 + 0.0025),
                    box(X0 + 0.006, Y0 - 0.001, X0 + 0.0105, Y0 + 0.0025),
                ],
            }
        )
    )
    rows = []
    for ci, (com, est, x0) in enumerate((("370214001001", "e1", X0), ("370214001002", "e2", X0 + 0.007))):
        for r in range(2):
            for c in range(3):
                n = r * 3 + c + 1
                x, y = x0 + c * STEP, Y0 + r * STEP
                rows.append(
                    {
                        "id": f"b{ci + 1}{n}",
                        "name": str(n) if n != 6 else "<b>6</b>",
                        "estate_id": est,
                        "community_id": com,
                        "households": 50 + 10 * n + ci,
                        "residents": 120 + n,
                        "floors": 6 + n,
                        "units": 2,
                        "geometry": box(x, y, x + D, y + D),
                    }
                )
    w["buildings"] = _crs(pd.DataFrame(rows))
    b = w["buildings"]
    grids_p2 = {
        "370214001001001": ["b11", "b12", "b14", "b15"],
        "370214001001002": ["b13", "b16"],
        "370214001002001": [f"b2{n}" for n in range(1, 7)],
    }
    grids_p1 = {"370214001001001": [f"b1{n}" for n in range(1, 7)], "370214001002001": [f"b2{n}" for n in range(1, 7)]}
    w["plans"] = pd.DataFrame(
        {
            "id": ["p1", "p2"],
            "status": ["superseded", "published"],
            "created_at": [NOW - dt.timedelta(days=60), NOW - dt.timedelta(days=5)],
        }
    )
    assign, grids = [], []
    for plan, gmap in (("p1", grids_p1), ("p2", grids_p2)):
        for code, members in gmap.items():
            assign += [{"plan_id": plan, "building_id": m, "grid_code": code} for m in members]
            sel = b[b["id"].isin(members)]
            grids.append(
                {
                    "plan_id": plan,
                    "code": code,
                    "community_id": code[:12],
                    "households": int(sel["households"].sum()),
                    "buildings": len(sel),
                    "geometry": sel.geometry.union_all().envelope,
                }
            )
    w["plan_assignments"] = pd.DataFrame(assign)
    w["plan_grids"] = _crs(pd.DataFrame(grids))
    w["households"] = _crs(
        pd.DataFrame(
            {
                "id": ["h1", "h2"],
                "building_id": ["b11", "b21"],
                "community_id": ["370214001001", "370214001002"],
                "room": [SECRET[2], "1-1-101"],
                "head_name": [SECRET[1], "王五"],
                "phone": [SECRET[0], None],
                "tags": ["elderly_alone", None],
                "geometry": [Point(X0 + 0.0002, Y0 + 0.0002), None],
            }
        )
    )
    comp = []
    spec = [
        ("b11", None, NOW + dt.timedelta(days=3)),
        ("b11", None, NOW - dt.timedelta(days=1)),
        ("b13", None, NOW - dt.timedelta(days=2)),
        ("b16", NOW - dt.timedelta(days=1), None),
        ("b24", None, None),
        (None, None, NOW - dt.timedelta(days=9)),
    ]
    for i, (bid, closed, due) in enumerate(spec):
        comp.append(
            {
                "id": f"c{i + 1}",
                "category": "sanitation",
                "state": "collected" if closed is None else "resolved",  # a real state: the services read it
                "building_id": bid,
                "created_at": NOW - dt.timedelta(days=10),
                "closed_at": closed,
                "due_at": due,
                "description": SECRET[3],
                "contact_name": SECRET[4],
                "contact_phone": SECRET[5],
                "filed_grid_code": "370214001002001" if bid is None else None,
                "geometry": Point(X0 + 0.0101, Y0 + 0.0001),
            }
        )
    w["complaints"] = _crs(pd.DataFrame(comp))
    return w


def expected_counts() -> dict[str, dict[str, int]]:
    """Brute-force recount of complaints per published grid at :data:`NOW`."""
    w = frames()
    grid = {r.building_id: r.grid_code for r in w["plan_assignments"].itertuples() if r.plan_id == "p2"}
    out = {
        code: {"complaints": 0, "open": 0, "closed": 0, "overdue": 0}
        for code in w["plan_grids"].query("plan_id == 'p2'")["code"]
    }
    for r in w["complaints"].itertuples():
        code = grid[r.building_id] if isinstance(r.building_id, str) else r.filed_grid_code
        rec = out[code]
        rec["complaints"] += 1
        is_closed = not pd.isna(r.closed_at)
        rec["closed" if is_closed else "open"] += 1
        rec["overdue"] += int(not is_closed and not pd.isna(r.due_at) and r.due_at < NOW)
    return out


def load(store) -> dict[str, pd.DataFrame]:
    w = frames()
    with store.transaction():
        for name, frame in w.items():
            store.write(name, frame)
    return w
