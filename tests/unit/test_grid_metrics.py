"""Metrics of hand-made plans, checked against figures worked out by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.domain import metrics as M
from gridmap.domain.partition import BARRIER, SOFT
from gridmap.domain.plan import GridPlan
from grids_worlds import CRS, X0, Y0, lattice

COM = "370214001001"
G1, G2, G3 = COM + "001", COM + "002", COM + "003"


def _world(grid_geoms, assignment, *, adjacency=None, stewards=None, estates=None):
    w = lattice([[100, 200, 300]], estates=estates)
    grids = gpd.GeoDataFrame(
        {"code": list(grid_geoms), "community_id": COM}, geometry=list(grid_geoms.values()), crs=CRS
    )
    plan = GridPlan(assignment, {c: COM for c in grid_geoms})
    return plan, M.World(
        w["communities"], w["buildings"], grids, adjacency=adjacency, stewards=stewards, bounds={COM: (150, 350)}
    )


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 - y1, X0 + x1, Y0 - y0)


def test_balance_shape_and_coverage():
    # G1 = left third (building 100), G2 = the rest (200 + 300) — but G2 drawn in two pieces
    geoms = {G1: box(0, 0, 10, 10), G2: shapely.union_all([box(10, 0, 20, 10), box(20.5, 0, 30, 10)])}
    plan, world = _world(geoms, {"r0c0": G1, "r0c1": G2, "r0c2": G2})
    t = M.grid_table(plan, world)
    assert t.loc[G1, "households"] == 100 and t.loc[G2, "households"] == 500
    assert t.loc[G1, "residents"] == 200 and t.loc[G2, "buildings"] == 2
    assert t.loc[G1, "deviation"] == pytest.approx(100 / 300 - 1)
    assert not t.loc[G1, "in_bounds"] and not t.loc[G2, "in_bounds"]
    assert t.loc[G1, "parts"] == 1 and t.loc[G2, "parts"] == 2
    assert t.loc[G1, "detached_parts"] == 0 and t.loc[G2, "detached_parts"] == 1
    assert t.loc[G1, "polsby_popper"] == pytest.approx(np.pi / 4)
    cover = M.coverage(plan, world)
    assert cover.loc[COM, "gap_m2"] == pytest.approx(0.5 * 10)
    assert cover.loc[COM, "overlap_m2"] == pytest.approx(0)
    com = M.community_table(t, world, cover).loc[COM]
    assert com["cv"] == pytest.approx(np.std([100, 500]) / 300)
    assert com["share_in_bounds"] == 0


def test_enclosed_grid_and_walls_and_stewards():
    outer = shapely.difference(box(0, 0, 30, 10), box(12, 2, 18, 8))
    geoms = {G1: outer, G2: box(12, 2, 18, 8)}
    adj = pd.DataFrame({"i": [0, 1], "j": [1, 2], "length": [10.0, 10.0], "kind": [BARRIER, SOFT]})
    stewards = pd.DataFrame(
        [
            {"role": "grid_leader", "building_id": "r0c1", "serves": G2},
            {"role": "building_leader", "building_id": "r0c0", "serves": None},
        ]
    )
    plan, world = _world(geoms, {"r0c0": G1, "r0c1": G1, "r0c2": G2}, adjacency=adj, stewards=stewards)
    t = M.grid_table(plan, world)
    assert t.loc[G2, "enclosed_by"] == G1 and t.loc[G1, "enclosed_by"] == ""
    assert t.loc[G1, "walls_crossed"] == 1 and t.loc[G2, "walls_crossed"] == 0
    assert t.loc[G2, "grid_leaders"] == 1 and t.loc[G1, "grid_leaders"] == 0  # serves beats home
    assert t.loc[G1, "buildings_without_leader"] == 1 and t.loc[G2, "buildings_without_leader"] == 1
    assert t.loc[G1, "building_parts"] == 1


def test_split_estate_that_fits_is_counted():
    geoms = {G1: box(0, 0, 15, 10), G2: box(15, 0, 30, 10)}
    plan, world = _world(geoms, {"r0c0": G1, "r0c1": G2, "r0c2": G2}, estates=["XX."])
    t = M.grid_table(plan, world)
    assert t.loc[G1, "estates_split"] == 1 and t.loc[G2, "estates_split"] == 1


def test_unknown_metric_names_the_known_ones():
    plan, world = _world({G1: box(0, 0, 30, 10)}, {"r0c0": G1, "r0c1": G1, "r0c2": G1})
    with pytest.raises(KeyError, match="households"):
        M.compute("nope", plan, world)


def test_grid_of_buildings_is_not_fooled_by_a_reused_frame_id(monkeypatch):
    """The per-plan cache of each building's grid is keyed on the buildings frame itself: a new frame that
    gets a freed frame's ``id()`` (CPython reuses them) must not be handed the old frame's answer.

    Whether CPython reuses an id in a given run is up to its allocator, so the reuse is forced: every object
    in the module gets the same ``id()``. A cache keyed on ``id()`` then hands the swapped frame the first
    frame's answer (this failed on the code before the fix); one keyed on the frame itself does not."""
    geoms = {G1: box(0, 0, 10, 10), G2: box(10, 0, 30, 10)}
    plan, world = _world(geoms, {"r0c0": G1, "r0c1": G2, "r0c2": G2})
    monkeypatch.setattr(M, "id", lambda obj: 1, raising=False)
    first = world.buildings.copy()
    assert M.households(plan, M.World(world.communities, first, world.grids)).to_dict() == {G1: 100, G2: 500}
    # a frame with the same ids in another order: r0c2's 300 households now on the row of r0c0
    swapped = world.buildings.copy()
    swapped["id"] = ["r0c2", "r0c1", "r0c0"]
    assert M.households(plan, M.World(world.communities, swapped, world.grids)).to_dict() == {G1: 300, G2: 300}
    # and the first frame, still alive, still gets its own answer
    assert M.households(plan, M.World(world.communities, first, world.grids)).to_dict() == {G1: 100, G2: 500}
