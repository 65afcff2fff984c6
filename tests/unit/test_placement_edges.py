"""Placement behaviours the first mutation run of ``placement`` showed unpinned (issue #20): the edges of the
room-code rule (floor 1, the top floor, units and floors unknown, a room code with only a community), the exact
reasons a community-only room code gets, blank cells, ids read as numbers, what a rejected record carries,
the report's columns, sub-metre tolerances, worlds given in a projected CRS or far from 120°E, and the errors
a malformed world raises. The hand-drawn world is tests/unit/placement_world.py."""

from __future__ import annotations

import re
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.domain.placement import PlacementError, PlacementWorld, derive, place
from tests.unit.placement_world import ASSIGNMENT, frames

IN_A = (120.4011, 36.3011)  # inside building A (estate E1, community C1, grid G1)
DERIVED_IDS = ["building_id", "estate_id", "community_id", "grid_code", "street_id"]


@pytest.fixture(scope="module")
def world() -> PlacementWorld:
    f = frames()
    return PlacementWorld(f["buildings"], f["communities"], assignment=ASSIGNMENT, grids=f["grids"])


def located(ids: list[str], geoms: list, **extra) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ids, **extra}, geometry=geoms, crs=4326)


def row(result, rid: str) -> dict:
    """Record ``rid`` of a placement as a dict, missing values as None."""
    got = result.frame[result.frame["id"] == rid]
    assert len(got) == 1
    return {k: (None if pd.api.types.is_scalar(v) and pd.isna(v) else v) for k, v in got.iloc[0].items()}


# -- room codes ------------------------------------------------------------------------------------
def test_room_codes_accept_exactly_the_units_and_floors_the_building_has(world):
    """Building "1" of estate E1 (A) has units 1–2 and floors 1–6: every code around those edges."""
    codes = [(u, f) for u in range(4) for f in range(8)]
    recs = pd.DataFrame(
        {"id": [f"u{u}f{f}" for u, f in codes], "room": [f"1-{u}-{f}01" for u, f in codes], "estate_id": "E1"}
    )
    res = place(recs, world)
    for u, f in codes:
        got = row(res, f"u{u}f{f}")
        if 1 <= u <= 2 and 1 <= f <= 6:
            assert (got["placement"], got["building_id"], got["unit"], got["floor"]) == ("room", "A", u, f)
            assert got["reason"] is None
        elif not 1 <= u <= 2:  # a missing unit is named first, with the units there are
            assert got["placement"] == "rejected" and got["building_id"] is None and got["unit"] is None
            assert got["reason"] == f"1 号楼没有 {u} 单元 / building 1 has no unit {u} (units 1–2)"
        else:
            assert got["placement"] == "rejected" and got["floor"] is None
            assert got["reason"] == f"1 号楼没有 {f} 层 / building 1 has no floor {f} (floors 1–6)"
    assert res.summary["room"] == 12 and res.summary["rejected"] == len(codes) - 12


def test_room_codes_on_a_building_of_unknown_size_need_only_positive_numbers():
    f = frames()
    b = f["buildings"].assign(units=None, floors=None)
    w = PlacementWorld(b, f["communities"], assignment=ASSIGNMENT, grids=f["grids"])
    recs = pd.DataFrame({"id": ["big", "u0", "f0"], "room": ["1-9-9901", "1-0-101", "1-1-001"], "estate_id": "E1"})
    res = place(recs, w)
    assert (row(res, "big")["placement"], row(res, "big")["unit"], row(res, "big")["floor"]) == ("room", 9, 99)
    assert row(res, "u0")["reason"] == "1 号楼没有 0 单元 / building 1 has no unit 0 (units 1–?)"
    assert row(res, "f0")["reason"] == "1 号楼没有 0 层 / building 1 has no floor 0 (floors 1–?)"


def test_room_codes_with_only_a_community_give_each_record_its_own_reason(world):
    """No estate_id column at all: the building name must be unique in the record's community. The rows
    are ordered so that each reason has to come from its own row (the unique one first)."""
    recs = pd.DataFrame(
        {
            "id": ["unique", "several", "none", "nowhere"],
            "room": ["1-2-402", "1-1-101", "9-1-101", "1-1-101"],
            "community_id": ["C2", "C1", "C1", None],
        }
    )
    res = place(recs, world)
    unique = row(res, "unique")
    assert (unique["placement"], unique["building_id"], unique["estate_id"], unique["unit"], unique["floor"]) == (
        "room",
        "K",
        "E3",
        2,
        4,
    )
    assert row(res, "several")["reason"] == (
        "社区 C1 有多个 1 号楼, 请给出小区 / community C1 has several buildings 1; give the estate_id"
    )
    assert row(res, "none")["reason"] == "社区 C1 没有 9 号楼 / community C1 has no building 9"
    assert row(res, "nowhere")["reason"] == (
        "房号需要小区或社区 / a room code needs the record's estate_id or community_id"
    )
    assert [row(res, r)["placement"] for r in ("several", "none", "nowhere")] == ["rejected"] * 3


def test_room_codes_with_neither_estate_nor_community_columns_are_rejected(world):
    res = place(pd.DataFrame({"id": ["r"], "room": ["1-1-101"]}), world)
    assert row(res, "r")["placement"] == "rejected"
    assert "needs the record's estate_id or community_id" in row(res, "r")["reason"]


def test_a_room_code_naming_two_buildings_of_one_estate_says_so():
    """D moved into estate E1 beside A, both named "1": "1-1-101" in E1 is ambiguous, not missing."""
    f = frames()
    b = f["buildings"].assign(estate_id=["E1", "E1", "E1", "E1", "E3"])
    w = PlacementWorld(b, f["communities"], assignment=ASSIGNMENT, grids=f["grids"])
    recs = pd.DataFrame(
        {
            "id": ["b", "one", "nine", "k", "e3"],
            "room": ["2-1-301", "1-1-101", "9-1-101", "1-1-101", "8-1-101"],
            "estate_id": ["E1", "E1", "E1", "E3", "E3"],
        }
    )
    res = place(recs, w)
    assert (row(res, "b")["placement"], row(res, "b")["building_id"]) == ("room", "B")
    assert (row(res, "k")["placement"], row(res, "k")["building_id"]) == ("room", "K")
    assert row(res, "one")["reason"] == "小区 E1 有多个 1 号楼 / estate E1 has several buildings 1"
    assert row(res, "nine")["reason"] == "小区 E1 没有 9 号楼 / estate E1 has no building 9"
    assert row(res, "e3")["reason"] == "小区 E3 没有 8 号楼 / estate E3 has no building 8"


def test_units_and_floors_that_are_not_numbers_are_unknown():
    f = frames()
    b = f["buildings"].assign(units=["2", "二", "4", "2", ""], floors=["6", "6", None, "六", "6"])
    w = PlacementWorld(b, f["communities"], assignment=ASSIGNMENT, grids=f["grids"])
    recs = pd.DataFrame(
        {"id": ["a", "b", "h"], "room": ["1-3-101", "2-9-101", "3-1-2001"], "estate_id": ["E1", "E1", "E1"]}
    )
    res = place(recs, w)
    assert "has no unit 3 (units 1–2)" in row(res, "a")["reason"]  # A: "2" is read as 2 units
    assert (row(res, "b")["placement"], row(res, "b")["unit"]) == ("room", 9)  # B: "二" units, so any unit
    assert (row(res, "h")["placement"], row(res, "h")["floor"]) == ("room", 20)  # H: floors unknown


def test_a_records_own_unit_and_floor_pass_through_unless_a_room_code_places_it(world):
    recs = located(
        ["own", "room", "blank", "bad"],
        [shapely.Point(*IN_A)] * 4,
        room=[None, "2-1-301", None, "9-9-999"],
        estate_id=["E1"] * 4,
        unit=["3", "9", None, "4"],
        floor=["x", "9", 2, "5"],  # "x" is not a number: no floor
    )
    res = place(recs, world)
    assert str(res.frame["unit"].dtype) == "Int64" and str(res.frame["floor"].dtype) == "Int64"
    assert (row(res, "own")["unit"], row(res, "own")["floor"], row(res, "own")["placement"]) == (3, None, "contained")
    assert (row(res, "room")["unit"], row(res, "room")["floor"], row(res, "room")["building_id"]) == (1, 3, "B")
    assert (row(res, "blank")["unit"], row(res, "blank")["floor"]) == (None, 2)
    bad = row(res, "bad")  # a wrong room code: rejected, and its own unit and floor are left as they were
    assert (bad["placement"], bad["unit"], bad["floor"]) == ("rejected", 4, 5)


# -- blank cells and ids read as numbers ------------------------------------------------------------
def test_blank_cells_count_as_missing(world):
    """An empty building id or room code is no identifier at all: the point places the record."""
    recs = located(["r"], [shapely.Point(*IN_A)], building_id=[""], room=[""], estate_id=[""])
    got = row(place(recs, world), "r")
    assert (got["placement"], got["building_id"], got["reason"]) == ("contained", "A", None)


def test_building_names_read_as_numbers_match_room_codes():
    """Names from a layer read with numeric columns: 2 and 2.0 are building "2"; a missing one has no name."""
    f = frames()
    for names in ([1, 2, 3, 1, 1], [1.0, 2.0, 3.0, np.nan, 1.0]):
        b = f["buildings"].assign(name=names)
        w = PlacementWorld(b, f["communities"], assignment=ASSIGNMENT, grids=f["grids"])
        recs = pd.DataFrame({"id": ["b", "k"], "room": ["2-1-301", "1-2-402"], "estate_id": ["E1", "E3"]})
        res = place(recs, w)
        assert (row(res, "b")["building_id"], row(res, "k")["building_id"]) == ("B", "K"), names
    # D (the other "1" of C1) has no name in the second layer, so "1" is unique in C1 there
    got = row(place(pd.DataFrame({"id": ["a"], "room": ["1-1-101"], "community_id": ["C1"]}), w), "a")
    assert (got["placement"], got["building_id"]) == ("room", "A")


def test_building_ids_read_as_numbers_with_blanks_still_match():
    """A GeoJSON upload whose building_id is a number in some features and absent in others reaches
    placement as floats (102.0, NaN): 102.0 is building "102", not an unknown id "102.0"."""
    from gridmap.services.placement import read_records

    f = frames()
    ids = {"A": "101", "B": "102", "H": "103", "D": "104", "K": "105"}
    b = f["buildings"].assign(id=f["buildings"]["id"].map(ids))
    w = PlacementWorld(b, f["communities"], assignment={ids[k]: v for k, v in ASSIGNMENT.items()}, grids=f["grids"])
    upload = read_records(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"id": "r1", "building_id": 102}, "geometry": None},
                {"type": "Feature", "properties": {"id": "r2"}, "geometry": None},
                {"type": "Feature", "properties": {"id": "r3", "building_id": 999.5}, "geometry": None},
            ],
        }
    )
    mixed = pd.DataFrame({"id": ["m1", "m2", "m3"], "building_id": pd.Series([105, 101.0, None], dtype=object)})
    for recs in (upload, mixed):
        assert pd.api.types.infer_dtype(recs["building_id"], skipna=True) in ("floating", "mixed-integer-float")
    res = place(upload, w)
    assert (row(res, "r1")["placement"], row(res, "r1")["building_id"], row(res, "r1")["grid_code"]) == (
        "exact",
        "102",
        "G1",
    )
    assert "no building id, room code or location" in row(res, "r2")["reason"]
    assert row(res, "r3")["reason"] == "楼栋编号不存在 / unknown building id 999.5"
    res = place(mixed, w)
    assert res.frame["building_id"].astype(object).tolist()[:2] == ["105", "101"]
    assert res.summary["exact"] == 2 and res.summary["rejected"] == 1


def test_record_ids_read_as_numbers_are_compared_as_they_are_stored(world):
    """Record ids are kept as given (a float id 5.0 is stored as "5.0"), and place_frame hands the ids of
    earlier chunks on as str(id): duplicates are found the same way in one call and in chunks."""
    from gridmap.services.placement import place_frame

    recs = pd.DataFrame({"id": [5.0, np.nan, 6.0, 5.0, 6.0, 7.0], "building_id": "K"})
    one_call = place(recs, world).frame
    want = ["exact", "exact", "exact", "rejected", "rejected", "exact"]
    assert one_call["placement"].tolist() == want
    assert one_call["reason"].iloc[3] == "重复记录 / duplicate record id 5.0"
    chunked, summary = place_frame(recs, world, chunk=2)
    assert chunked["placement"].astype(object).tolist() == want and summary["rejected"] == 2
    again = place(recs.iloc[[5]], world, seen_ids=["7.0"]).frame
    assert again["reason"].iloc[0] == "重复记录 / duplicate record id 7.0"


# -- what the rules leave on a record -------------------------------------------------------------
def test_rejected_records_carry_no_building_area_or_distance(world):
    recs = located(
        ["unknown", "outside", "nowhere", "first", "first", "empty", "line"],
        [
            shapely.Point(*IN_A),
            shapely.Point(121.0, 37.0),
            None,
            shapely.Point(*IN_A),
            shapely.Point(120.4154, 36.3051),  # a later copy of "first", 18 m from K
            shapely.Point(),
            shapely.LineString([IN_A, (120.4013, 36.3011)]),
        ],
        building_id=["NOPE", None, None, None, None, None, None],
    )
    res = place(recs, world)
    rejected = res.frame[res.frame["placement"] == "rejected"]
    assert len(rejected) == 6 and res.summary["rejected"] == 6 and res.summary["contained"] == 1
    for col in DERIVED_IDS:
        assert rejected[col].isna().all(), col
    assert rejected["placement_distance_m"].isna().all()
    assert res.frame.loc[res.frame["placement"] == "contained", "reason"].isna().all()
    assert list(rejected["reason"]) == [
        "楼栋编号不存在 / unknown building id NOPE",
        "不在任何社区内 / outside every community",
        "没有楼栋编号、房号或坐标 / no building id, room code or location",
        "重复记录 / duplicate record id first",
        "坐标为空 / the point is empty",
        "坐标不是点 / the geometry is not a point",
    ]


def test_the_report_lists_every_record_not_placed_exactly_with_its_columns(world):
    recs = located(
        ["in", "near", "area", "out"],
        [shapely.Point(xy) for xy in (IN_A, (120.4154, 36.3051), (120.418, 36.308), (121, 37))],
    )
    res = place(recs, world)
    report = res.report()
    cols = ["row", "id", "building_id", "community_id", "grid_code", "placement", "placement_distance_m", "reason"]
    assert list(report.columns) == cols
    assert list(report["id"]) == ["near", "area", "out"] and list(report["row"]) == [2, 3, 4]
    assert report["placement_distance_m"].iloc[0] == pytest.approx(row(res, "near")["placement_distance_m"])
    assert 17 < report["placement_distance_m"].iloc[0] < 19 and report["placement_distance_m"].iloc[1:].isna().all()
    assert report["community_id"].astype(object).where(report["community_id"].notna(), None).tolist() == [
        "C2",
        "C2",
        None,
    ]


# -- distances ------------------------------------------------------------------------------------
def _metric_world(
    crs: str, x0: float, y0: float, *, communities: bool = True
) -> tuple[PlacementWorld, Callable[[float, float], shapely.Point]]:
    """One 10 m × 20 m building at (x0, y0) in ``crs``, inside a 400 m community (or none); and metres →
    lon/lat."""

    def frame(rows: dict, geoms: list) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(rows, geometry=geoms, crs=crs).to_crs(4326)

    b = frame({"id": ["b1"], "community_id": ["C"]}, [shapely.box(x0, y0, x0 + 10, y0 + 20)])
    c = frame({"id": ["C"]}, [shapely.box(x0 - 200, y0 - 200, x0 + 200, y0 + 200)])
    if not communities:
        c = c.iloc[0:0]

    def at(dx: float, dy: float) -> shapely.Point:
        return gpd.GeoSeries([shapely.Point(x0 + dx, y0 + dy)], crs=crs).to_crs(4326).iloc[0]

    return PlacementWorld(b, c), at


def test_a_tolerance_under_one_metre_still_finds_the_nearest_building():
    w, at = _metric_world("EPSG:4549", 500000.0, 4017000.0)
    recs = located(["r"], [at(10.5, 10)])  # half a metre east of the building
    near = row(place(recs, w, tolerance_m=0.8), "r")
    assert (near["placement"], near["building_id"]) == ("nearest", "b1")
    assert near["placement_distance_m"] == pytest.approx(0.5, abs=0.01)
    assert (row(place(recs, w, tolerance_m=0.3), "r")["placement"]) == "area"
    assert (row(place(recs, w, tolerance_m=0), "r")["placement"]) == "area"


def test_distances_far_from_120e_are_measured_in_the_local_utm_zone():
    """Ürümqi, 87.6°E: a point drawn 20 m north of a building in UTM zone 45N is 20 m away (Gauss–Krüger
    at 120°E, 32° away, would stretch and turn it)."""
    w, at = _metric_world("EPSG:32645", 548000.0, 4850000.0)
    got = row(place(located(["r"], [at(5, 40)]), w, tolerance_m=30), "r")
    assert (got["placement"], got["building_id"]) == ("nearest", "b1")
    assert got["placement_distance_m"] == pytest.approx(20.0, abs=0.01)
    # the buildings alone say where the world is: without a community layer it is measured the same way
    alone, _ = _metric_world("EPSG:32645", 548000.0, 4850000.0, communities=False)
    got = row(place(located(["r"], [at(5, 40)]), alone, tolerance_m=30), "r")
    assert (got["building_id"], got["placement_distance_m"]) == ("b1", pytest.approx(20.0, abs=0.01))


def test_a_world_given_in_a_projected_crs_places_as_in_longitude_latitude(world):
    f = frames()
    projected = PlacementWorld(
        f["buildings"].to_crs("EPSG:4549"),
        f["communities"].to_crs("EPSG:4549"),
        assignment=ASSIGNMENT,
        grids=f["grids"].to_crs("EPSG:4549"),
    )
    recs = located(
        ["in", "hole", "near", "area"],
        [shapely.Point(*IN_A), shapely.Point(120.4033, 36.3033), shapely.Point(120.4154, 36.3051)]
        + [shapely.Point(120.418, 36.308)],
    )
    want, got = place(recs, world).frame, place(recs, projected).frame
    for col in [*DERIVED_IDS, "placement"]:
        assert got[col].astype(object).tolist() == want[col].astype(object).tolist(), col
    np.testing.assert_allclose(got["placement_distance_m"], want["placement_distance_m"], rtol=1e-6)
    assert list(got["placement"]) == ["contained", "nearest", "nearest", "area"]


# -- derive ----------------------------------------------------------------------------------------
def test_derive_takes_everything_from_the_building_even_when_the_plan_leaves_it_out():
    """A stored record on A keeps A's community (not the one it carries) and, with A left out of the plan,
    has no grid, though its point lies in G1."""
    f = frames()
    without_a = {k: v for k, v in ASSIGNMENT.items() if k != "A"}
    w = PlacementWorld(f["buildings"], f["communities"], assignment=without_a, grids=f["grids"])
    stored = located(["on_a", "on_b"], [shapely.Point(*IN_A), shapely.Point(120.4013, 36.3011)], building_id=["A", "B"])
    stored["community_id"] = ["C2", "C2"]
    got = derive(stored, w)
    assert got["community_id"].astype(object).tolist() == ["C1", "C1"]
    assert pd.isna(got["grid_code"].iloc[0]) and got["grid_code"].iloc[1] == "G1"
    assert got["street_id"].astype(object).tolist() == ["S1", "S1"]
    assert list(got.columns) == ["id", "building_id", "estate_id", "grid_code", "community_id", "street_id"]
    shifted = derive(stored.set_axis([10, 11]), w)  # the answer is in input order, numbered from 0
    assert list(shifted.index) == [0, 1] and list(shifted.columns) == list(got.columns)


# -- a malformed world -----------------------------------------------------------------------------
def test_a_malformed_world_is_refused_naming_the_layer():
    f = frames()
    b, c, g = f["buildings"], f["communities"], f["grids"]
    cases = [
        ((pd.DataFrame(b.drop(columns="geometry")), c), {}, "buildings must be a GeoDataFrame with polygons"),
        ((b, pd.DataFrame(c)), {}, "communities must be a GeoDataFrame with polygons"),
        ((b.drop(columns="community_id"), c), {}, "buildings lack the column(s) ['community_id']"),
        ((b, c.drop(columns="id")), {}, "communities lack the column(s) ['id']"),
        ((b, c), {"grids": g.drop(columns="code")}, "plan_grids lack the column(s) ['code']"),
        ((b.set_crs(None, allow_override=True), c), {}, "buildings have no CRS"),
    ]
    for args, kwargs, message in cases:
        with pytest.raises(PlacementError, match=re.escape(message)):
            PlacementWorld(*args, **kwargs)


def test_duplicate_community_ids_are_refused():
    f = frames()
    with pytest.raises(PlacementError, match=re.escape("communities ids are not unique: ['C1']")):
        PlacementWorld(f["buildings"], pd.concat([f["communities"], f["communities"].iloc[[0]]]))


def test_a_building_outside_the_community_layer_keeps_its_community_and_has_no_street():
    f = frames()
    b = f["buildings"].assign(community_id=["C1", "C1", "C1", "C1", "C9"])
    for communities in (f["communities"], f["communities"].iloc[0:0]):
        w = PlacementWorld(b, communities, assignment=ASSIGNMENT, grids=f["grids"])
        res = place(pd.DataFrame({"id": ["a", "k"], "building_id": ["A", "K"]}), w)
        k = row(res, "k")
        assert (k["placement"], k["community_id"], k["street_id"], k["grid_code"]) == ("exact", "C9", None, "G3")
        a = row(res, "a")  # C1 is in the first layer only
        assert (a["community_id"], a["street_id"]) == ("C1", "S1" if len(communities) else None)
        stored = derive(pd.DataFrame({"id": ["k"], "building_id": ["K"], "community_id": ["C1"]}), w)
        assert stored["community_id"].iloc[0] == "C9" and pd.isna(stored["street_id"].iloc[0])


def test_a_prepared_world_ships_without_its_indexes():
    """Workers rebuild the indexes: preparing a world does not make it heavier to send (and it still places)."""
    import pickle

    f = frames()

    def fresh() -> PlacementWorld:
        return PlacementWorld(f["buildings"], f["communities"], assignment=ASSIGNMENT, grids=f["grids"])

    prepared = fresh().prepare()
    blob = pickle.dumps(prepared)
    assert len(blob) == len(pickle.dumps(fresh()))
    got = row(place(located(["r"], [shapely.Point(*IN_A)]), pickle.loads(blob)), "r")
    assert (got["placement"], got["building_id"], got["grid_code"]) == ("contained", "A", "G1")


def test_records_without_a_crs_are_refused_with_what_to_do():
    with pytest.raises(PlacementError) as err:
        place(gpd.GeoDataFrame({"id": ["r"]}, geometry=[shapely.Point(*IN_A)]), PlacementWorld(*_two_layers()))
    assert str(err.value) == "the records have no CRS; set one (EPSG:4326 for longitude/latitude) first"


def _two_layers() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    f = frames()
    return f["buildings"], f["communities"]


def test_a_world_without_a_published_plan_places_without_grids():
    w = PlacementWorld(*_two_layers())
    assert len(w.grid_codes) == 0
    res = place(located(["in", "area"], [shapely.Point(*IN_A), shapely.Point(120.418, 36.308)]), w)
    assert (row(res, "in")["building_id"], row(res, "in")["grid_code"]) == ("A", None)
    assert (row(res, "area")["community_id"], row(res, "area")["grid_code"]) == ("C2", None)


def test_footprints_merged_into_a_building_place_on_it():
    """``aliases``: the ids of footprints merged into a building, comma-separated (blanks around them ignored)."""
    b, c = _two_layers()
    b = b.assign(aliases=[" A-old, A2 ,,", None, "", None, "K9"])
    w = PlacementWorld(b, c, assignment=ASSIGNMENT)
    recs = pd.DataFrame({"id": ["1", "2", "3", "4"], "building_id": ["A-old", "A2", "K9", "B"]})
    res = place(recs, w)
    assert res.frame["building_id"].astype(object).tolist() == ["A", "A", "K", "B"]
    assert set(res.frame["placement"]) == {"exact"}
    assert w.building_aliases == {"A-old": "A", "A2": "A", "K9": "K"}


# -- the cell index and the duplicate fingerprints -------------------------------------------------
def test_a_cell_index_of_no_polygons_locates_nothing():
    from gridmap.domain.placement.index import CellIndex

    got = CellIndex(np.empty(0, dtype=object)).locate_xy(np.array([120.4, np.nan]), np.array([36.3, 36.3]))
    assert got.tolist() == [-1, -1]


def test_fixed_width_ids_are_their_own_fingerprints():
    """Generated ids of one width up to 8 bytes need no hashing: the fingerprint is the bytes themselves
    (so distinct ids can never share one), also for a slice that starts inside the buffers."""
    import pyarrow as pa

    from gridmap.domain.placement.duplicates import _fingerprints

    for ids in (["P0000001", "P0000002", "Q0000001"], ["abc", "户"]):
        got = _fingerprints(pa.array(["padding", *ids]).slice(1)).tolist()
        assert got == [int.from_bytes(i.encode(), "little") for i in ids]


def test_shared_codes_of_nothing_is_nothing():
    from gridmap.domain.placement.world import _shared_codes

    cats, parts = _shared_codes()
    assert len(cats) == 0 and parts == []
    cats, (a, b) = _shared_codes(np.array(["x", None, "y"], dtype=object), np.array(["y", "z"], dtype=object))
    assert cats.tolist() == ["x", "y", "z"] and a.tolist() == [0, -1, 1] and b.tolist() == [1, 2]


def test_ids_differing_in_one_bit_get_different_fingerprints():
    """Ids up to 16 bytes: flipping any one bit of any byte (ASCII stays ASCII) changes the fingerprint, also in
    the bytes that only the tail word holds (9th to 16th)."""
    import pyarrow as pa

    from gridmap.domain.placement.duplicates import _fingerprints

    base = "Hk7-Qz2m9Xa4Lp0w"
    ids, twins = [], []
    for n in range(1, 17):
        word = base[:n].encode()
        for i in range(n):
            for bit in range(7):
                flipped = bytearray(word)
                flipped[i] ^= 1 << bit
                ids += [word.decode(), flipped.decode()]
                twins.append((n, i, bit))
    fp = _fingerprints(pa.array(["pad", *ids, "x" * 20]).slice(1, len(ids))).tolist()  # mixed widths: hashed
    clashes = [t for t, a, b in zip(twins, fp[0::2], fp[1::2]) if a == b]
    assert not clashes
