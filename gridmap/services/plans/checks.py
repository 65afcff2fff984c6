"""What a plan's grids look like and whether they pass: per-grid checks (bounds, contiguity, tiling,
steward coverage) and grid polygons as the union of the buildings' tessellation cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import shapely.errors
import shapely.geometry

from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance import check_grids, members_of
from gridmap.domain.values import json_value
from gridmap.errors import InvalidInput
from gridmap.services.plans.world import PlanWorld


def check_plan(plan: GridPlan, world: PlanWorld, *, codes: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """Bounds, contiguity, exact tiling, steward coverage and tied buildings kept together for ``codes``
    (default: every grid).

    Tiling: every building of a grid has a tessellation cell, so the grid polygon (the union of its
    buildings' cells) and its neighbours' polygons tile the community without gap or overlap.
    """
    checks = check_grids(
        plan,
        households=world.households,
        adjacency=world.adjacency,
        bounds=world.bounds,
        default_bounds=world.default_bounds,
        codes=codes,
        covered=world.grid_leaders,
        partners=world.partners,
    )
    members = members_of(plan, checks) if len(checks) <= 50 else plan.grids
    out = {}
    for code, c in checks.items():
        no_cell = sorted(b for b in members[code] if b not in world.cells)
        problems = list(c.problems) + (["tiling_gap"] if no_cell else [])
        out[code] = {
            "code": code,
            "community_id": c.community,
            "households": c.households,
            "buildings": c.buildings,
            "min": c.min,
            "max": c.max,
            "parts": c.parts,
            "within_bounds": c.within_bounds,
            "buildings_without_cell": no_cell[:20],
            "problems": problems,
            "ok": not problems,
        }
    return out


def grid_rows(plan: GridPlan, world: PlanWorld, codes: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Per grid of ``codes`` (default every grid), in code order: ``code``, ``community_id``, ``households``,
    ``buildings`` and ``geometry`` (the union of its buildings' cells, EPSG:4326; None without cells)."""
    codes = plan.codes if codes is None else sorted(set(codes))
    members = plan.grids if len(codes) > 50 else members_of(plan, codes)
    out = []
    for code in codes:
        parts = [world.cells[b] for b in members[code] if b in world.cells]
        out.append(
            {
                "code": code,
                "community_id": plan.grid_community[code],
                "households": int(sum(world.households.get(b, 0) for b in members[code])),
                "buildings": len(members[code]),
                "geometry": union_cells(parts) if parts else None,
            }
        )
    return out


def grid_features(plan: GridPlan, world: PlanWorld, codes: Iterable[str]) -> dict[str, Any]:
    """:func:`grid_rows` as a GeoJSON FeatureCollection (what the map redraws after a change)."""
    feats = []
    for row in grid_rows(plan, world, codes):
        geom = row.pop("geometry")
        feats.append(
            {
                "type": "Feature",
                "properties": {k: json_value(v) for k, v in row.items()},
                "geometry": shapely.geometry.mapping(geom) if geom is not None else None,
            }
        )
    return {"type": "FeatureCollection", "features": feats}


def grid_polygons(
    plan: GridPlan, world: PlanWorld, *, codes: Iterable[str] | None = None, community: str | None = None
) -> gpd.GeoDataFrame:
    """Grid polygons = union of the grid's buildings' cells (EPSG:4326), with households (:func:`grid_rows`)."""
    codes = plan.codes if codes is None else sorted(set(codes))
    if community is not None:
        codes = [c for c in codes if plan.grid_community[c] == community]
    rows = grid_rows(plan, world, codes)
    return gpd.GeoDataFrame(
        {k: [r[k] for r in rows] for k in ("code", "community_id", "households", "buildings")},
        geometry=[r["geometry"] for r in rows],
        crs=4326,
    )


def union_cells(parts: list[Any]) -> Any:
    """Union of tessellation cells; cells that GEOS cannot union as they are (slivers, rings that touch
    themselves after reprojection) are repaired on a 1e-9° grid first."""
    try:  # cells of a tessellation share their borders vertex for vertex: a coverage union is exact
        out = shapely.coverage_union_all(parts)
        if out.is_valid and not out.is_empty:
            return out
    except shapely.errors.GEOSException:
        pass
    try:
        return shapely.union_all(parts)
    except shapely.errors.GEOSException:
        pass
    fixed = shapely.make_valid(np.asarray(parts, dtype=object))
    for repair in (
        lambda g: g,
        lambda g: shapely.buffer(g, 0),
        lambda g: shapely.set_precision(shapely.buffer(g, 0), 1e-9),
    ):
        try:
            return shapely.union_all(repair(fixed))
        except shapely.errors.GEOSException:
            continue
    raise InvalidInput(
        "网格多边形无法合并 / the grid's tessellation cells cannot be unioned; "
        "regenerate the cells (gridmap grids generate)"
    )
