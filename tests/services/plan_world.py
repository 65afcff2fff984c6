"""Seed a store with a tiny lattice world and a published plan (for the plan service tests)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
from shapely.geometry import box
from shapely.ops import unary_union

COM = "370214001001"
X0, Y0, D = 120.40, 36.30, 0.001


def cell(i: int, j: int):
    return box(X0 + j * D, Y0 - (i + 1) * D, X0 + (j + 1) * D, Y0 - i * D)


def seed(
    store,
    picture: list[str],
    households: dict[str, int] | int = 10,
    *,
    plan_id: str = "plan-base",
    leaders: bool = True,
    bounds: tuple[int, int] | None = None,
) -> dict:
    rows, cols = len(picture), len(picture[0])
    letters = sorted({ch for row in picture for ch in row})
    codes = {ch: f"{COM}{k + 1:03d}" for k, ch in enumerate(letters)}
    ids = [f"r{i}c{j}" for i in range(rows) for j in range(cols)]
    hh = households if isinstance(households, dict) else {b: households for b in ids}
    cells = {f"r{i}c{j}": cell(i, j) for i in range(rows) for j in range(cols)}
    lo, hi = bounds or (None, None)
    with store.transaction():
        store.write(
            "communities",
            gpd.GeoDataFrame(
                {
                    "id": [COM],
                    "name": ["测试社区"],
                    "street_id": [COM[:9]],
                    "min_households": [lo],
                    "max_households": [hi],
                },
                geometry=[unary_union(list(cells.values()))],
                crs=4326,
            ),
        )
        store.write(
            "buildings",
            gpd.GeoDataFrame(
                {
                    "id": ids,
                    "name": [str(k + 1) for k in range(len(ids))],
                    "community_id": COM,
                    "households": [hh[b] for b in ids],
                },
                geometry=[cells[b].buffer(-D / 4) for b in ids],
                crs=4326,
            ),
        )
        store.write(
            "cells", gpd.GeoDataFrame({"id": ids, "community_id": COM}, geometry=[cells[b] for b in ids], crs=4326)
        )
        assignment = {f"r{i}c{j}": codes[ch] for i, row in enumerate(picture) for j, ch in enumerate(row)}
        store.write(
            "plans",
            pd.DataFrame(
                [
                    {
                        "id": plan_id,
                        "status": "published",
                        "created_at": dt.datetime(2026, 1, 1),
                        "published_at": dt.datetime(2026, 1, 1),
                        "effective_date": dt.date(2026, 1, 1),
                        "params": {},
                    }
                ]
            ),
        )
        store.write(
            "plan_assignments",
            pd.DataFrame({"plan_id": plan_id, "building_id": list(assignment), "grid_code": list(assignment.values())}),
        )
        grid_codes = sorted(codes.values())
        store.write(
            "plan_grids",
            gpd.GeoDataFrame(
                {"plan_id": plan_id, "code": grid_codes, "community_id": COM},
                geometry=[unary_union([cells[b] for b, g in assignment.items() if g == c]) for c in grid_codes],
                crs=4326,
            ),
        )
        store.write("grid_codes", pd.DataFrame({"code": grid_codes, "community_id": COM, "first_plan_id": plan_id}))
        if leaders:
            store.write(
                "stewards",
                pd.DataFrame(
                    [
                        {
                            "id": f"gl{k}",
                            "name": f"网格长{k}",
                            "role": "grid_leader",
                            "serves": c,
                            "building_id": next(b for b, g in assignment.items() if g == c),
                            "community_id": COM,
                        }
                        for k, c in enumerate(grid_codes)
                    ]
                ),
            )
    return {"codes": codes, "assignment": assignment, "households": hh}


def overfill(store, draft: str, world, community: str, *, actor: str = "planner1") -> str:
    """Move neighbouring buildings into the first grid of ``community`` in ``draft`` until it is above its
    maximum (a grid the rebalance can bring back); returns that grid's code."""
    from gridmap.services import plans as svc

    def head():
        return svc.load_plan(store, svc.draft_info(store, draft)["head"], world=world)

    plan = head()
    g1 = sorted(plan.grids_in(community))[0]
    hi = world.bounds.get(community, world.default_bounds)[1]
    for _ in range(60):
        members = {b for b, g in plan.assignment.items() if g == g1}
        if sum(world.households.get(b, 0) for b in members) > hi:
            return g1
        near = sorted(
            n for b in members for n in world.adjacency.get(b, ()) if plan.assignment.get(n) not in (None, g1)
        )
        near = [n for n in near if plan.grid_community[plan.assignment[n]] == community]
        svc.move_buildings(store, draft, near[:1], g1, actor=actor, world=world)
        plan = head()
    raise AssertionError(f"could not overfill {g1}")
