"""The plan's figures as the report shows them: the per-community table, the district summary, coverage and the
grid table's shape, each worked out by hand from a small drawn table or world.

The metric registry, the household sums, the steward counts and the tables are what the evaluation report of a
plan is made of (gridmap/present/report.py): a figure that moved or a column that went missing would reach the
planner unnoticed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.domain import coverage
from gridmap.domain import metrics as M
from gridmap.domain.partition import BARRIER, SOFT
from gridmap.domain.plan import GridPlan
from grids_worlds import CRS, X0, Y0, lattice

A, B, C = "370214001001", "370214001002", "370214001003"
A1, A2, A3, B1, B2, C1 = A + "001", A + "002", A + "003", B + "001", B + "002", C + "001"


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 - y1, X0 + x1, Y0 - y0)


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[], crs=CRS)


def _bounds_world(bounds=None, default=(300, 500)) -> M.World:
    """A world that only carries household bounds (all community_table and summary read of it)."""
    return M.World(_empty(), _empty(), _empty(), bounds=bounds or {}, default_bounds=default)


# -- a hand-made grid table: three communities, rows deliberately not in community order ---------------------------

COLUMNS = [
    "community_id",
    "households",
    "residents",
    "buildings",
    "stewards",
    "grid_leaders",
    "party_central_households",
    "buildings_without_leader",
    "deviation",
    "in_bounds",
    "parts",
    "detached_parts",
    "building_parts",
    "enclosed_by",
    "polsby_popper",
    "walls_crossed",
    "estates_split",
]
ROWS = {
    # A (bounds 150..350): 100, 200, 360 households, mean 220
    C1: [C, 0, 0, 0, 0, 0, 0, 0, 0.0, False, 0, 0, 0.0, "", 0.0, 0, 0],
    B1: [B, 400, 800, 5, 3, 2, 0, 1, 400 / 420 - 1, True, 1, 0, 2.0, "", 0.7, 0, 0],
    A1: [A, 100, 210, 2, 1, 1, 0, 1, 100 / 220 - 1, False, 1, 0, 1.0, "", 0.8, 0, 0],
    B2: [B, 440, 900, 6, 0, 1, 0, 0, 440 / 420 - 1, True, 3, 0, 1.0, B1, 0.9, 0, 0],
    A2: [A, 200, 390, 3, 2, 0, 1, 0, 200 / 220 - 1, True, 2, 1, 2.0, "", 0.5, 2, 1],
    A3: [A, 360, 600, 4, 0, 1, 2, 3, 360 / 220 - 1, False, 1, 0, np.nan, A2, 0.6, 1, 1],
}


def _grids() -> pd.DataFrame:
    t = pd.DataFrame.from_dict(ROWS, orient="index", columns=COLUMNS)
    t.index.name = "code"
    return t


def _p95(values) -> float:
    return float(np.quantile(np.abs(values), 0.95))


def test_community_table_figures_worked_out_by_hand():
    world = _bounds_world({A: (150, 350)})
    out = M.community_table(_grids(), world)
    dev_a = [100 / 220 - 1, 200 / 220 - 1, 360 / 220 - 1]
    dev_b = [400 / 420 - 1, 440 / 420 - 1]
    want = pd.DataFrame(
        {
            "grids": [3, 2, 1],
            "households": [660, 840, 0],
            "residents": [1200, 1700, 0],
            "buildings": [9, 11, 0],
            "stewards": [3, 3, 0],
            "min": [100, 400, 0],
            "max": [360, 440, 0],
            "mean": [220.0, 420.0, 0.0],
            "cv": [np.std([100, 200, 360]) / 220, np.std([400, 440]) / 420, 0.0],
            "min_bound": [150, 300, 300],
            "max_bound": [350, 500, 500],
            "share_in_bounds": [1 / 3, 1.0, 0.0],
            "share_within_10pct": [1 / 3, 1.0, 1.0],  # only A2 (-9.1%) of A; a community of empty grids is even
            "p95_deviation": [_p95(dev_a), _p95(dev_b), 0.0],
            "contiguous_share": [2 / 3, 1.0, 1.0],
            "enclosed_grids": [1, 1, 0],
            "polsby_popper_mean": [(0.8 + 0.5 + 0.6) / 3, 0.8, 0.0],
            "walls_crossed": [3, 0, 0],
            "grids_without_leader": [1, 0, 1],
            "grids_without_party_central": [1, 2, 1],
            "buildings_without_leader": [4, 1, 0],
        },
        index=pd.Index([A, B, C], name="community_id"),
    )
    # the same columns in the same order, communities sorted by id, counts as integers, shares as floats
    pd.testing.assert_frame_equal(out, want, check_exact=False, rtol=1e-12, atol=0)


def test_community_table_counts_are_integers_and_shares_are_floats():
    out = M.community_table(_grids(), _bounds_world({A: (150, 350)}))
    counts = ["grids", "households", "residents", "buildings", "stewards", "min", "max", "enclosed_grids"]
    counts += ["walls_crossed", "grids_without_leader", "grids_without_party_central", "buildings_without_leader"]
    counts += ["min_bound", "max_bound"]
    assert {c: out[c].dtype.kind for c in counts} == {c: "i" for c in counts}
    shares = ["mean", "cv", "share_in_bounds", "share_within_10pct", "p95_deviation", "contiguous_share"]
    assert {c: out[c].dtype.kind for c in shares + ["polsby_popper_mean"]} == {c: "f" for c in shares} | {
        "polsby_popper_mean": "f"
    }


def test_community_table_joins_coverage_when_given():
    cover = pd.DataFrame(
        {"area_m2": [1000.0, 500.0], "gap_m2": [10.0, 0.0], "overlap_m2": [0.0, 2.5]},
        index=pd.Index([A, B], name="community_id"),
    )
    out = M.community_table(_grids(), _bounds_world(), cover)
    assert list(out.columns[-3:]) == ["area_m2", "gap_m2", "overlap_m2"]
    assert out.loc[B, "overlap_m2"] == 2.5 and out.loc[A, "gap_m2"] == 10.0
    assert pd.isna(out.loc[C, "area_m2"])  # a community coverage does not know stays, its area unknown
    assert "area_m2" not in M.community_table(_grids(), _bounds_world()).columns


def test_within_ten_percent_includes_ten_percent_itself():
    # 90 and 110 around a mean of 100: both exactly 10% off (110/100 - 1 is 0.10000000000000009 in floats)
    t = _grids().loc[[A1, A2]].assign(households=[90, 110], deviation=[90 / 100 - 1, 110 / 100 - 1])
    com = M.community_table(t, _bounds_world()).loc[A]
    assert com["share_within_10pct"] == 1.0 and com["p95_deviation"] == pytest.approx(0.1)
    # one household more is out
    t = t.assign(households=[89, 111])
    assert M.community_table(t, _bounds_world()).loc[A, "share_within_10pct"] == 0.0
    # the summary reads the deviations it is given: the band is ±10% with 1e-12 allowed for rounding
    s = _grids().iloc[:5].assign(deviation=[M.NEAR, -M.NEAR, M.NEAR + 1e-12, -(M.NEAR + 1e-12), M.NEAR + 1e-9])
    assert M.summary(s)["share_within_10pct"] == pytest.approx(4 / 5)


def test_empty_tables():
    assert M.community_table(pd.DataFrame(), _bounds_world()).empty
    assert M.summary(pd.DataFrame()) == {"grids": 0}


def test_summary_figures_worked_out_by_hand():
    t = _grids()
    dev = t["deviation"].to_numpy(dtype=float)
    got = M.summary(t)
    want = {
        "grids": 6,
        "communities": 3,
        "households": 1500,
        "buildings": 20,
        "share_in_bounds": 3 / 6,
        "cv": float(np.std(1 + dev)),
        "share_within_10pct": 4 / 6,  # C1 (0), B1, B2 (±4.8%) and A2 (-9.1%)
        "p95_deviation": _p95(dev),
        "contiguous_share": 5 / 6,  # A2 has a detached piece
        "one_piece_share": 4 / 6,  # A2 (2) and B2 (3 pieces); C1 has no polygon (0)
        "building_contiguous_share": 4 / 6,  # B1 and A2 fall in 2; A3 without adjacency counts as whole
        "enclosed_grids": 2,
        "polsby_popper_mean": (0.0 + 0.7 + 0.8 + 0.9 + 0.5 + 0.6) / 6,
        "walls_crossed": 3,
        "estates_split": 2,
    }
    assert list(got) == list(want)
    assert got == pytest.approx(want, rel=1e-12)
    assert all(type(got[k]) is int for k in ("grids", "communities", "households", "buildings", "enclosed_grids"))
    assert type(got["walls_crossed"]) is int and type(got["estates_split"]) is int
    assert all(type(got[k]) is float for k in want if k.endswith(("share", "10pct", "deviation", "mean", "cv")))


# -- grid table, registry and bounds -------------------------------------------------------------------------------


def _lattice_world(assignment, codes, *, households=((100, 200, 300),), stewards=None, drop=(), bounds=None):
    w = lattice([list(r) for r in households])
    blds = w["buildings"].drop(columns=list(drop))
    grids = gpd.GeoDataFrame({"code": codes, "community_id": A}, geometry=[box(0, 0, 10, 10)] * len(codes), crs=CRS)
    plan = GridPlan(assignment, {c: A for c in codes})
    return plan, M.World(w["communities"], blds, grids, stewards=stewards, bounds=bounds or {})


def test_grid_table_is_indexed_by_code_with_the_named_columns_in_order():
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A2, A1, A3])
    t = M.grid_table(plan, world, ["households", "community_id"])
    assert list(t.columns) == ["households", "community_id"]
    assert list(t.index) == [A1, A2, A3] and t.index.name == "code"
    assert list(t.reset_index().columns) == ["code", "households", "community_id"]  # as the report reads it
    assert t["households"].tolist() == [100, 500, 0]
    assert list(M.grid_table(plan, world).columns) == list(M.METRICS)


def test_compute_names_the_series_and_refuses_unknown_names():
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A1, "r0c2": A1}, [A1])
    s = M.compute("residents", plan, world)
    assert s.name == "residents" and s.to_dict() == {A1: 1200}
    with pytest.raises(KeyError) as e:
        M.compute("nope", plan, world)
    assert str(e.value) == repr(f"unknown metric 'nope'; known: {', '.join(sorted(M.METRICS))}")


def test_household_sums_count_every_assigned_building_once_and_nothing_else():
    # r0c2 is not in the plan; A3 has no building; r0c1's households are unreadable
    households = ((100, 200, 300),)
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2}, [A1, A2, A3], households=households)
    world.buildings["households"] = world.buildings["households"].astype(object)
    world.buildings.loc[1, "households"] = "unknown"
    t = M.grid_table(plan, world, ["households", "residents", "buildings"])
    assert t.to_dict("index") == {
        A1: {"households": 100, "residents": 200, "buildings": 1},
        A2: {"households": 0, "residents": 400, "buildings": 1},
        A3: {"households": 0, "residents": 0, "buildings": 0},
    }


def test_a_world_without_residents_counts_none():
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2], drop=["residents"])
    s = M.compute("residents", plan, world)
    assert s.to_dict() == {A1: 0, A2: 0} and s.dtype.kind == "i"


def test_one_plan_measured_against_two_worlds():
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2])
    assert M.compute("households", plan, world).tolist() == [100, 500]
    reordered = world.buildings.iloc[[2, 0, 1]].reset_index(drop=True).assign(households=[7, 1, 2])
    other = M.World(world.communities, reordered, world.grids)
    assert M.compute("households", plan, other).tolist() == [1, 9]
    assert M.compute("households", plan, world).tolist() == [100, 500]


def test_bounds_fall_back_to_the_default():
    world = _bounds_world({A: [150, 350]}, default=(200, 400))
    assert world.bounds_of(A) == (150, 350) and world.bounds_of(B) == (200, 400)
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A3}, [A1, A2, A3])
    assert M.compute("in_bounds", plan, world).tolist() == [False, False, True]  # 300..500 by default


# -- stewards --------------------------------------------------------------------------------------------------


def test_stewards_counted_by_role_home_and_the_grid_a_leader_serves():
    stewards = pd.DataFrame(
        [
            {"role": "grid_leader", "building_id": "r0c0", "serves": A2},  # serves A2 from a home in A1
            {"role": "grid_leader", "building_id": "r0c0", "serves": None},  # serves its home grid
            {"role": "grid_leader", "building_id": "r0c1", "serves": "370214001001999"},  # no such grid: home
            {"role": "party_central_household", "building_id": "r0c1", "serves": A1},  # counted at home
            {"role": "party_central_household", "building_id": "r0c0", "serves": None},
            {"role": "building_leader", "building_id": "r0c2", "serves": "r0c1"},  # leads r0c1, not its home
            {"role": "volunteer", "building_id": "r0c2", "serves": None},
        ]
    )
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2, A3], stewards=stewards)
    names = ["stewards", "grid_leaders", "party_central_households", "buildings_without_leader"]
    t = M.grid_table(plan, world, names)
    assert t.to_dict("index") == {
        A1: {"stewards": 3, "grid_leaders": 1, "party_central_households": 1, "buildings_without_leader": 1},
        A2: {"stewards": 4, "grid_leaders": 2, "party_central_households": 1, "buildings_without_leader": 1},
        A3: {"stewards": 0, "grid_leaders": 0, "party_central_households": 0, "buildings_without_leader": 0},
    }
    assert all(t[c].dtype.kind == "i" for c in names)


@pytest.mark.parametrize("stewards", [None, pd.DataFrame(columns=["role", "building_id", "serves"])])
def test_no_stewards_at_all(stewards):
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2], stewards=stewards)
    names = ["stewards", "grid_leaders", "party_central_households", "buildings_without_leader"]
    t = M.grid_table(plan, world, names)
    assert t.to_dict("list") == {
        "stewards": [0, 0],
        "grid_leaders": [0, 0],
        "party_central_households": [0, 0],
        "buildings_without_leader": [1, 2],
    }
    assert all(t[c].dtype.kind == "i" for c in names)


def test_grid_leaders_without_a_serves_column_count_at_home():
    stewards = pd.DataFrame([{"role": "grid_leader", "building_id": "r0c2"}])
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2], stewards=stewards)
    assert M.compute("grid_leaders", plan, world).to_dict() == {A1: 0, A2: 1}


# -- coverage --------------------------------------------------------------------------------------------------


def _coverage_world(grids: gpd.GeoDataFrame) -> M.World:
    coms = gpd.GeoDataFrame({"id": [A, B]}, geometry=[box(0, 0, 30, 10), box(40, 0, 50, 10)], crs=CRS)
    return M.World(coms, _empty(), grids)


def test_coverage_measures_gaps_and_overlaps_per_community():
    grids = gpd.GeoDataFrame(
        {"code": [A1, A2], "community_id": A},
        geometry=[box(0, 0, 12, 10), box(10, 0, 25, 10)],  # 2 m overlap strip, 5 m gap at the east end
        crs=CRS,
    )
    cover = M.coverage(GridPlan({}, {A1: A, A2: A}), _coverage_world(grids))
    assert list(cover.index) == [A, B] and cover.index.name == "community_id"
    assert list(cover.columns) == ["area_m2", "gap_m2", "overlap_m2"]
    assert cover.loc[A].tolist() == pytest.approx([300.0, 50.0, 20.0])
    assert cover.loc[B].tolist() == pytest.approx([100.0, 100.0, 0.0])  # no grid: all gap


def test_coverage_never_goes_negative_when_grids_spill_over():
    grids = gpd.GeoDataFrame({"code": [A1], "community_id": A}, geometry=[box(-5, -5, 35, 15)], crs=CRS)
    cover = M.coverage(GridPlan({}, {A1: A}), _coverage_world(grids))
    assert cover.loc[A].tolist() == pytest.approx([300.0, 0.0, 0.0])


def test_coverage_without_grids_or_communities():
    cover = M.coverage(GridPlan({}, {}), _coverage_world(_empty()))
    assert cover.to_dict("index") == {
        A: {"area_m2": 300.0, "gap_m2": 300.0, "overlap_m2": 0.0},
        B: {"area_m2": 100.0, "gap_m2": 100.0, "overlap_m2": 0.0},
    }
    none = M.coverage(GridPlan({}, {}), M.World(gpd.GeoDataFrame({"id": []}, geometry=[], crs=CRS), _empty(), _empty()))
    assert none.empty and list(none.columns) == ["area_m2", "gap_m2", "overlap_m2"]


def test_grid_table_has_one_row_per_grid_of_the_plan_whatever_a_metric_returns(monkeypatch):
    # a registered metric that knows only some grids, and one the plan does not have
    monkeypatch.setitem(M.METRICS, "partial", lambda plan, world: pd.Series({A2: 1.5, A + "999": 9.0}))
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2, A3])
    t = M.grid_table(plan, world, ["households", "partial"])
    assert list(t.index) == [A1, A2, A3]
    assert t["partial"].tolist() == pytest.approx([np.nan, 1.5, np.nan], nan_ok=True)


def test_buildings_without_leader_follow_the_coverage_rule():
    """The report and the coverage page count the same buildings: residential ones (households > 0) that no
    building leader serves — ``serves`` names the building, or the leader lives in it when ``serves`` is empty."""
    stewards = pd.DataFrame(
        [
            {"role": "building_leader", "building_id": "r0c0", "serves": "r0c3"},  # serves r0c3 only
            {"role": "building_leader", "building_id": "r0c1", "serves": None},  # serves its home
            {"role": "grid_leader", "building_id": "r0c2", "serves": None},  # not a building leader
        ]
    )
    # r0c4 is a shop or a school (no households): nobody has to lead it
    plan, world = _lattice_world(
        {f"r0c{i}": A1 if i < 2 else A2 for i in range(5)},
        [A1, A2],
        households=((100, 200, 300, 50, 0),),
        stewards=stewards,
    )
    assert M.compute("buildings_without_leader", plan, world).to_dict() == {A1: 1, A2: 1}  # r0c0; r0c2
    assert sorted(coverage.buildings_without_leader(world.buildings, stewards)["id"]) == ["r0c0", "r0c2"]


def test_buildings_without_leader_when_stewards_have_no_serves_column():
    stewards = pd.DataFrame([{"role": "building_leader", "building_id": "r0c1"}])
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2], stewards=stewards)
    assert M.compute("buildings_without_leader", plan, world).to_dict() == {A1: 1, A2: 1}


def test_only_party_members_count_as_party_central_households():
    """A grid without a party-member central household is reported as such (docs/grids.md, as the coverage page
    counts it): a steward in that role who is not a party member does not fill the gap."""
    stewards = pd.DataFrame(
        [
            {"role": "party_central_household", "building_id": "r0c0", "serves": None, "party_member": True},
            {"role": "party_central_household", "building_id": "r0c1", "serves": None, "party_member": False},
            {"role": "party_central_household", "building_id": "r0c2", "serves": None, "party_member": None},
        ]
    )
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A3}, [A1, A2, A3], stewards=stewards)
    t = M.grid_table(plan, world, ["stewards", "party_central_households"])
    assert t.to_dict("index") == {
        A1: {"stewards": 1, "party_central_households": 1},
        A2: {"stewards": 1, "party_central_households": 0},
        A3: {"stewards": 1, "party_central_households": 0},
    }
    com = M.community_table(M.grid_table(plan, world), world).loc[A]
    assert com["grids_without_party_central"] == 2


def test_buildings_indexed_any_way():
    # a frame filtered or indexed by id (not 0..n-1) is read row by row as it stands
    plan, world = _lattice_world({"r0c0": A1, "r0c1": A2, "r0c2": A2}, [A1, A2])
    b = world.buildings.iloc[[2, 0, 1]].set_axis([30, 10, 20])
    other = M.World(world.communities, b, world.grids)
    t = M.grid_table(plan, other, ["households", "buildings", "buildings_without_leader"])
    assert t.to_dict("list") == {"households": [100, 500], "buildings": [1, 2], "buildings_without_leader": [1, 2]}


def test_grid_polygons_are_matched_by_code_not_by_row():
    # the grids frame lists the polygons in its own order, with one the plan does not have and one missing
    grids = gpd.GeoDataFrame(
        {"code": [A3 + "9", A2, A1], "community_id": A},
        geometry=[box(0, 0, 1, 1), box(10, 0, 30, 10), box(0, 0, 10, 10)],
        crs=CRS,
    )
    w = lattice([[100, 200, 300]])
    plan = GridPlan({"r0c0": A1, "r0c1": A2, "r0c2": A2}, {A1: A, A2: A, A3: A})
    t = M.grid_table(plan, M.World(w["communities"], w["buildings"], grids), ["area_m2", "parts", "polsby_popper"])
    assert list(t.index) == [A1, A2, A3]
    assert t["area_m2"].tolist() == pytest.approx([100.0, 200.0, np.nan], nan_ok=True)
    assert t["parts"].tolist() == [1, 1, 0]
    assert t["polsby_popper"].tolist() == pytest.approx([np.pi / 4, 4 * np.pi * 200 / 60**2, 0.0])


def test_a_community_of_a_single_household_is_still_measured():
    # mean 0.5 households per grid: the grids are 100% off it, and the spread is the mean itself
    t = _grids().loc[[A1, A2]].assign(households=[0, 1], deviation=[-1.0, 1.0])
    com = M.community_table(t, _bounds_world()).loc[A]
    assert (com["mean"], com["cv"], com["share_within_10pct"], com["p95_deviation"]) == pytest.approx((0.5, 1, 0, 1))


@pytest.mark.parametrize("ring_first", [True, False])
def test_a_grid_inside_any_piece_of_another_is_enclosed(ring_first):
    # A1 is drawn in two pieces, the second a ring around A2: A2 is enclosed whatever the order of A1's pieces
    ring = shapely.difference(box(10, 0, 30, 10), box(15, 2, 25, 8))
    pieces = [ring, box(0, 0, 5, 10)] if ring_first else [box(0, 0, 5, 10), ring]
    grids = gpd.GeoDataFrame(
        {"code": [A1, A2], "community_id": A}, geometry=[shapely.MultiPolygon(pieces), box(15, 2, 25, 8)], crs=CRS
    )
    w = lattice([[100, 200, 300]])
    plan = GridPlan({"r0c0": A1, "r0c1": A2, "r0c2": A1}, {A1: A, A2: A})
    got = M.compute("enclosed_by", plan, M.World(w["communities"], w["buildings"], grids))
    assert got.to_dict() == {A1: "", A2: A1}


# -- the per-grid metrics themselves (mutmut skips decorated functions, so these stand outside its score) -----------


def _row_world(households, assignment, codes, geoms=None, *, adjacency=None, estates=None, bounds=None):
    w = lattice([list(households)], estates=estates)
    geoms = geoms or [box(0, 0, 10, 10)] * len(codes)
    grids = gpd.GeoDataFrame({"code": codes, "community_id": A}, geometry=geoms, crs=CRS)
    plan = GridPlan(assignment, {c: A for c in codes})
    return plan, M.World(w["communities"], w["buildings"], grids, adjacency=adjacency, bounds=bounds or {})


def test_in_bounds_includes_both_bounds_and_deviation_of_empty_communities():
    plan, world = _row_world(
        (150, 350, 100, 251), {"r0c0": A1, "r0c1": A2, "r0c2": A3, "r0c3": A3}, [A1, A2, A3], bounds={A: (150, 350)}
    )
    assert M.compute("in_bounds", plan, world).tolist() == [True, True, False]  # 150, 350, 351
    plan, world = _row_world((0, 0), {"r0c0": A1, "r0c1": A2}, [A1, A2])
    assert M.compute("deviation", plan, world).tolist() == [0.0, 0.0]  # no households: no deviation
    plan, world = _row_world((0, 1), {"r0c0": A1, "r0c1": A2}, [A1, A2])
    assert M.compute("deviation", plan, world).tolist() == [-1.0, 1.0]  # mean 0.5


def test_building_parts_counts_pieces_of_same_grid_neighbours():
    adj = pd.DataFrame({"i": [0, 1, 2], "j": [1, 2, 3], "length": 10.0, "kind": [SOFT, SOFT, SOFT]})
    # A1 = r0c0, r0c1 (touching) and r0c3 (cut off by A2's r0c2); A3 has no building
    plan, world = _row_world(
        (1, 1, 1, 1), {"r0c0": A1, "r0c1": A1, "r0c2": A2, "r0c3": A1}, [A1, A2, A3], adjacency=adj
    )
    got = M.compute("building_parts", plan, world)
    assert got.tolist() == [2, 1, 0] and got.dtype.kind == "i"
    plan, world = _row_world((1,), {"r0c0": A1}, [A1, A2], adjacency=adj.iloc[:0])
    assert M.compute("building_parts", plan, world).tolist() == [1, 0]  # a world of one building
    plan, world = _row_world((1, 1), {"r0c0": A1, "r0c1": A1}, [A1, A2])
    got = M.compute("building_parts", plan, world)
    assert list(got.index) == [A1, A2] and got.isna().all()  # no adjacency: unknown, not 0


def test_walls_crossed_counts_barrier_pairs_inside_one_grid_only():
    adj = pd.DataFrame({"i": [0, 1, 2], "j": [1, 2, 3], "length": 10.0, "kind": [BARRIER, BARRIER, SOFT]})
    plan, world = _row_world(
        (1, 1, 1, 1), {"r0c0": A1, "r0c1": A1, "r0c2": A2, "r0c3": A2}, [A1, A2, A3], adjacency=adj
    )
    got = M.compute("walls_crossed", plan, world)
    assert got.tolist() == [1, 0, 0] and got.dtype.kind == "i"  # r0c1-r0c2 is a barrier between grids
    plan, world = _row_world((1, 1), {"r0c0": A1, "r0c1": A1}, [A1, A2])
    got = M.compute("walls_crossed", plan, world)
    assert got.to_dict() == {A1: 0, A2: 0}


def test_estates_split_only_when_the_estate_fits_one_grid():
    # estate X: 150 + 200 = 350 households, exactly the maximum: it fits, so splitting it counts
    assign = {"r0c0": A1, "r0c1": A2, "r0c2": A2, "r0c3": A3}
    plan, world = _row_world((150, 200, 100, 100), assign, [A1, A2, A3], estates=["XXY."], bounds={A: (100, 350)})
    got = M.compute("estates_split", plan, world)
    assert got.tolist() == [1, 1, 0] and got.dtype.kind == "i"  # Y lies in one grid; r0c3 has no estate
    # one household more and X cannot fit in one grid: not counted
    plan, world = _row_world((151, 200, 100, 100), assign, [A1, A2, A3], estates=["XXY."], bounds={A: (100, 350)})
    assert M.compute("estates_split", plan, world).tolist() == [0, 0, 0]
    plan, world = _row_world((1, 1), {"r0c0": A1, "r0c1": A2}, [A1, A2])
    world = M.World(world.communities, world.buildings.drop(columns="estate_id"), world.grids)
    assert M.compute("estates_split", plan, world).to_dict() == {A1: 0, A2: 0}


def test_detached_parts_forgives_pieces_the_community_forces():
    # the community is two separate boxes; A1 spans both (forced), A2 is in two pieces of one box (avoidable)
    region = shapely.union_all([box(0, 0, 20, 10), box(30, 0, 50, 10)])
    w = lattice([[1, 1, 1, 1, 1]], region=region)
    geoms = [
        shapely.union_all([box(0, 0, 10, 10), box(30, 0, 40, 10)]),
        shapely.union_all([box(40, 0, 45, 10), box(46, 0, 50, 10)]),
        shapely.Polygon(),  # A3 drawn empty
    ]
    grids = gpd.GeoDataFrame({"code": [A1, A2, A3], "community_id": A}, geometry=geoms, crs=CRS)
    plan = GridPlan({"r0c0": A1, "r0c4": A2}, {A1: A, A2: A, A3: A})
    got = M.compute("detached_parts", plan, M.World(w["communities"], w["buildings"], grids))
    assert got.tolist() == [0, 1, 0] and got.dtype.kind == "i"


def test_neighbours_and_slivers_are_not_enclosed():
    # A2 sits in a notch of A1 but touches the outside; A3 is a 1.5 m wide strip in a hole of A1
    outer = shapely.difference(box(0, 0, 30, 10), shapely.union_all([box(10, 0, 20, 5), box(24, 4, 25.5, 6)]))
    geoms = [outer, box(10, 0, 20, 5), box(24, 4, 25.5, 6)]
    grids = gpd.GeoDataFrame({"code": [A1, A2, A3], "community_id": A}, geometry=geoms, crs=CRS)
    w = lattice([[1, 1, 1]])
    plan = GridPlan({"r0c0": A1, "r0c1": A2, "r0c2": A3}, {A1: A, A2: A, A3: A})
    got = M.compute("enclosed_by", plan, M.World(w["communities"], w["buildings"], grids))
    assert got.to_dict() == {A1: "", A2: "", A3: A1}
