"""Every placement rule on a tiny hand-drawn world (tests/unit/placement_world.py) with known answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from gridmap.domain.placement import PlacementError, PlacementWorld, derive, place, summarize
from tests.unit.placement_world import ASSIGNMENT, H, frames


@pytest.fixture(scope="module")
def world() -> PlacementWorld:
    f = frames()
    return PlacementWorld(f["buildings"], f["communities"], assignment=ASSIGNMENT, grids=f["grids"])


def points(rows: list[tuple], **extra) -> gpd.GeoDataFrame:
    """Records ``(id, lon, lat)``; lon None means no location."""
    geoms = [None if lon is None else shapely.Point(lon, lat) for _, lon, lat in rows]
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], **extra}, geometry=geoms, crs=4326)


def one(result, rid: str) -> dict:
    """The record ``rid`` as a dict, missing values as None."""
    row = result.frame[result.frame["id"] == rid]
    assert len(row) == 1
    return {k: (None if pd.api.types.is_scalar(v) and pd.isna(v) else v) for k, v in row.iloc[0].items()}


def vals(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


def test_building_id_exact_and_unknown(world):
    recs = pd.DataFrame({"id": ["r1", "r2"], "building_id": ["K", "NOPE"]})
    res = place(recs, world)
    r1, r2 = one(res, "r1"), one(res, "r2")
    assert (
        r1["placement"],
        r1["building_id"],
        r1["estate_id"],
        r1["community_id"],
        r1["street_id"],
        r1["grid_code"],
    ) == ("exact", "K", "E3", "C2", "S1", "G3")
    assert r2["placement"] == "rejected" and "NOPE" in r2["reason"] and r2["building_id"] is None


def test_room_codes(world):
    recs = pd.DataFrame(
        {
            "id": ["ok", "amb", "unit", "bld", "floor", "fmt", "ctx", "bycom"],
            "room": ["2-1-301", "1-2-501", "1-3-101", "9-1-101", "1-1-701", "abc", "1-1-101", "1-2-402"],
            "estate_id": ["E1", None, "E1", "E1", "E1", "E1", None, None],
            "community_id": ["C1", "C1", "C1", "C1", "C1", "C1", None, "C2"],
        }
    )
    res = place(recs, world)
    ok = one(res, "ok")
    assert (ok["placement"], ok["building_id"], ok["unit"], ok["floor"], ok["grid_code"]) == ("room", "B", 1, 3, "G1")
    bycom = one(res, "bycom")  # "1" is unique in C2
    assert (bycom["placement"], bycom["building_id"], bycom["unit"], bycom["floor"]) == ("room", "K", 2, 4)
    reasons = {rid: one(res, rid)["reason"] for rid in ["amb", "unit", "bld", "floor", "fmt", "ctx"]}
    assert all(one(res, rid)["placement"] == "rejected" for rid in reasons)
    assert "several buildings 1" in reasons["amb"]
    assert "has no unit 3" in reasons["unit"] and "units 1–2" in reasons["unit"]
    assert "has no building 9" in reasons["bld"]
    assert "has no floor 7" in reasons["floor"]
    assert "not building-unit-room" in reasons["fmt"]
    assert "needs the record's estate_id or community_id" in reasons["ctx"]
    assert one(res, "unit")["unit"] is None  # a rejected room code leaves no unit behind


def test_missing_unit_with_coordinates_is_still_rejected(world):
    """A wrong room code is a data error: the point inside A does not paper over it."""
    recs = points([("r", 120.4011, 36.3011)], room=["1-5-101"], estate_id=["E1"])
    row = one(place(recs, world), "r")
    assert row["placement"] == "rejected" and "no unit 5" in row["reason"]


def test_point_in_building(world):
    row = one(place(points([("r", 120.4011, 36.3011)]), world), "r")
    assert (row["placement"], row["building_id"], row["grid_code"], row["placement_distance_m"]) == (
        "contained",
        "A",
        "G1",
        0.0,
    )


@pytest.mark.parametrize("order", [["A", "B", "H", "D", "K"], ["K", "D", "H", "B", "A"]])
def test_point_on_shared_edge_goes_to_lowest_id_whatever_the_input_order(order):
    f = frames()
    b = f["buildings"].set_index("id").loc[order].reset_index()
    w = PlacementWorld(b, f["communities"], assignment=ASSIGNMENT, grids=f["grids"])
    on_edge = shapely.Point(120.4012, 36.3011)
    assert shapely.touches(on_edge, f["buildings"].geometry.iloc[0]) and shapely.touches(
        on_edge, f["buildings"].geometry.iloc[1]
    )
    row = one(place(points([("r", 120.4012, 36.3011)]), w), "r")
    assert (row["placement"], row["building_id"]) == ("contained", "A")


def test_point_in_hole_is_nearest_with_metric_distance(world):
    res = place(points([("r", 120.4033, 36.3033)]), world)
    row = one(res, "r")
    t = Transformer.from_crs(4326, "EPSG:4549", always_xy=True)
    hole_m = shapely.transform(H, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    pt_m = shapely.Point(*t.transform(120.4033, 36.3033))
    assert not H.intersects(shapely.Point(120.4033, 36.3033))
    assert row["placement"] == "nearest" and row["building_id"] == "H"
    assert row["placement_distance_m"] == pytest.approx(hole_m.distance(pt_m), rel=1e-6)
    assert 8 < row["placement_distance_m"] < 10


def test_nearest_within_tolerance_else_area_else_rejected(world):
    recs = points(
        [("near", 120.4154, 36.3051), ("far", 120.418, 36.308), ("out", 121.0, 37.0), ("nothing", None, None)]
    )
    res = place(recs, world)
    near, far, out, nothing = (one(res, k) for k in ["near", "far", "out", "nothing"])
    assert (near["placement"], near["building_id"]) == ("nearest", "K")
    assert 17 < near["placement_distance_m"] < 19
    assert (far["placement"], far["building_id"], far["community_id"], far["street_id"], far["grid_code"]) == (
        "area",
        None,
        "C2",
        "S1",
        "G3",
    )
    assert "no building within 30 m" in far["reason"]
    assert out["placement"] == "rejected" and "outside every community" in out["reason"]
    assert nothing["placement"] == "rejected" and "no building id, room code or location" in nothing["reason"]
    # a tighter tolerance turns the near point into an area-only one
    tight = one(place(recs, world, tolerance_m=10), "near")
    assert (tight["placement"], tight["community_id"]) == ("area", "C2")


def test_point_on_shared_community_edge_far_from_buildings(world):
    row = one(place(points([("r", 120.410, 36.309)]), world), "r")
    assert (row["placement"], row["community_id"]) == ("area", "C1")


def test_duplicate_records(world):
    recs = points([("r", 120.4011, 36.3011), ("r", 120.4013, 36.3011), ("s", 120.4013, 36.3011)])
    res = place(recs, world)
    assert list(res.frame["placement"]) == ["contained", "rejected", "contained"]
    assert vals(res.frame["building_id"]) == ["A", None, "B"]
    assert "duplicate record id r" in res.frame["reason"].iloc[1]
    again = place(recs.iloc[[2]], world, seen_ids=["s"])
    assert again.frame["placement"].iloc[0] == "rejected"


def test_rules_apply_in_order(world):
    """building id beats room code beats location."""
    recs = points([("r", 120.4011, 36.3011)], building_id=["K"], room=["2-1-101"], estate_id=["E1"])
    assert one(place(recs, world), "r")["building_id"] == "K"
    recs = points([("r", 120.4011, 36.3011)], room=["2-1-101"], estate_id=["E1"])
    assert one(place(recs, world), "r")["building_id"] == "B"


def test_summary_report_and_passthrough(world):
    recs = points(
        [("a", 120.4011, 36.3011), ("b", 120.4154, 36.3051), ("c", 120.418, 36.308), ("d", 121.0, 37.0)],
        note=["x", "y", "z", "w"],
    )
    res = place(recs, world)
    assert res.summary == {"exact": 0, "room": 0, "contained": 1, "nearest": 1, "area": 1, "rejected": 1, "total": 4}
    assert res.summary == summarize(res.frame["placement"])
    assert list(res.frame["note"]) == ["x", "y", "z", "w"]  # other columns pass through
    assert list(res.report()["id"]) == ["b", "c", "d"] and list(res.report()["row"]) == [2, 3, 4]
    assert list(recs.columns) == ["id", "note", "geometry"]  # input not modified


def test_grid_follows_the_assignment(world):
    f = frames()
    moved = dict(ASSIGNMENT, A="G2")
    w2 = PlacementWorld(f["buildings"], f["communities"], assignment=moved, grids=f["grids"])
    recs = points([("r", 120.4011, 36.3011)])
    assert one(place(recs, world), "r")["grid_code"] == "G1"
    assert one(place(recs, w2), "r")["grid_code"] == "G2"


def test_contained_matches_brute_force(world):
    """Random points: the building found equals a plain loop over every building (lowest id on ties)."""
    rng = np.random.default_rng(7)
    xy = np.column_stack([rng.uniform(120.4005, 120.4040, 400), rng.uniform(36.3005, 36.3040, 400)])
    xy = np.vstack([xy, [[120.4012, 36.3010], [120.4012, 36.3012], [120.4030, 36.3033]]])  # corners, edges
    recs = points([(f"p{i}", x, y) for i, (x, y) in enumerate(xy)])
    got = place(recs, world, tolerance_m=0).frame
    f = frames()["buildings"].sort_values("id")
    for (x, y), bid, how in zip(xy, vals(got["building_id"]), got["placement"]):
        p = shapely.Point(x, y)
        inside = [i for i, g in zip(f["id"], f.geometry) if g.intersects(p)]
        interior = [i for i, g in zip(f["id"], f.geometry) if g.contains_properly(p)]
        want = (interior or inside or [None])[0]
        assert bid == want
        assert how == ("contained" if want else "area")


def test_bad_inputs(world):
    with pytest.raises(PlacementError, match="no CRS"):
        place(gpd.GeoDataFrame({"id": ["r"]}, geometry=[shapely.Point(120.4, 36.3)]), world)
    with pytest.raises(PlacementError, match="tolerance"):
        place(points([("r", 120.4, 36.3)]), world, tolerance_m=-1)
    f = frames()
    with pytest.raises(PlacementError, match="not unique"):
        PlacementWorld(pd.concat([f["buildings"], f["buildings"]]), f["communities"])
    non_point = gpd.GeoDataFrame({"id": ["r"]}, geometry=[shapely.box(120.401, 36.301, 120.402, 36.302)], crs=4326)
    assert "not a point" in place(non_point, world).frame["reason"].iloc[0]


def test_projected_records_are_reprojected(world):
    recs = points([("r", 120.4011, 36.3011)]).to_crs("EPSG:4549")
    assert one(place(recs, world), "r")["building_id"] == "A"


def test_world_survives_pickling(world):
    import pickle

    w = pickle.loads(pickle.dumps(world.prepare()))
    assert one(place(points([("r", 120.4011, 36.3011)]), w), "r")["building_id"] == "A"


def test_empty_records(world):
    res = place(points([]), world)
    assert res.summary["total"] == 0 and "placement" in res.frame


def test_derive_follows_the_plan_for_stored_records(world):
    f = frames()
    stored = points(
        [("b", 120.4011, 36.3011), ("a", 120.418, 36.308), ("x", None, None)],
        building_id=["A", None, None],
        community_id=["C1", "C2", "C1"],
    )
    got = {r["id"]: r for r in derive(stored, world).to_dict("records")}
    assert (got["b"]["grid_code"], got["b"]["estate_id"], got["b"]["street_id"]) == ("G1", "E1", "S1")
    assert (got["a"]["grid_code"], got["a"]["community_id"]) == ("G3", "C2")
    assert pd.isna(got["x"]["grid_code"]) and got["x"]["community_id"] == "C1"
    w2 = PlacementWorld(f["buildings"], f["communities"], assignment=dict(ASSIGNMENT, A="G2"), grids=f["grids"])
    assert derive(stored, w2)["grid_code"].iloc[0] == "G2"


def test_an_empty_world_rejects_everything_with_reasons():
    f = frames()
    w = PlacementWorld(f["buildings"].iloc[0:0], f["communities"].iloc[0:0])
    res = place(points([("r", 120.4011, 36.3011)], building_id=["A"]), w)
    assert res.summary["rejected"] == 1 and "unknown building id A" in res.frame["reason"].iloc[0]
    res = place(points([("r", 120.4011, 36.3011)]), w)
    assert "outside every community" in res.frame["reason"].iloc[0]
    assert derive(points([("r", 120.4011, 36.3011)]), w)["grid_code"].isna().all()


def test_cell_index_agrees_with_the_strtree():
    from gridmap.domain.placement.index import CellIndex, _containing

    rng = np.random.default_rng(11)
    f = frames()["buildings"]
    # many small random rectangles of varied size, some touching, plus the hand-drawn ones
    x0 = rng.uniform(120.400, 120.402, 300)
    y0 = rng.uniform(36.300, 36.302, 300)
    w = rng.choice([0.00002, 0.00005, 0.0002], 300)
    polys = np.concatenate([shapely.box(x0, y0, x0 + w, y0 + w), f.geometry.to_numpy()])
    corners = shapely.get_coordinates(shapely.boundary(polys))[::3]
    xy = np.vstack(
        [np.column_stack([rng.uniform(120.3995, 120.4025, 3000), rng.uniform(36.2995, 36.3025, 3000)]), corners]
    )
    pts = shapely.points(xy)
    pts = np.append(pts, [shapely.Point(), None])  # empty and missing points match nothing
    got = CellIndex(polys).locate(pts)
    hit, want = _containing(shapely.STRtree(polys), polys, pts)
    np.testing.assert_array_equal(got, want)
    assert hit.sum() > 500 and got[-2:].tolist() == [-1, -1]


def test_cell_index_locate_picks_interior_then_lowest_like_a_plain_loop():
    from gridmap.domain.placement.index import CellIndex

    rng = np.random.default_rng(12)
    # touching and overlapping squares of a few sizes, so cells hold one, several or no candidates
    x0 = rng.uniform(120.400, 120.402, 200).round(5)
    y0 = rng.uniform(36.300, 36.302, 200).round(5)
    w = rng.choice([0.00002, 0.00005, 0.0002], 200)
    polys = shapely.box(x0, y0, x0 + w, y0 + w)
    corners = shapely.get_coordinates(shapely.boundary(polys))[::2]
    xy = np.vstack(
        [
            np.column_stack([rng.uniform(120.3995, 120.4025, 3000), rng.uniform(36.2995, 36.3025, 3000)]),
            corners,
            [[np.nan, np.nan]],
        ]
    )
    got = CellIndex(polys).locate_xy(xy[:, 0].copy(), xy[:, 1].copy())
    want = []
    for x, y in xy:  # a plain loop over the points, each against every polygon
        p = shapely.Point(x, y)
        holding = [] if np.isnan(x) else np.flatnonzero(shapely.intersects(polys, p)).tolist()
        inner = [i for i in holding if polys[i].contains_properly(p)]
        want.append((inner or holding or [-1])[0])
    np.testing.assert_array_equal(got, want)
    assert (got >= 0).sum() > 300 and len(set(map(int, got))) > 50


def test_fingerprints_equal_for_equal_ids_and_distinct_for_short_distinct_ones():
    import pyarrow as pa

    from gridmap.domain.placement.duplicates import _fingerprints, _suspects

    words = [
        "",
        "a",
        "ab",
        "P0000001",
        "P0000002",
        "abcdefgh",
        "abcdefghi",
        "xbcdefghi",
        "abcdefghijklmnop",
        "abcdefghijklmnoq",
        "3-2-501",
        "户0001",
        "户0002",
        "a" * 40,
        "b" + "a" * 39,
    ]
    arr = pa.chunked_array([pa.array(words[:7]), pa.array(words[7:] + words)])  # two chunks, repeats
    fp = _fingerprints(arr)
    by_word: dict[str, set] = {}
    for w, f in zip(words + words, fp.tolist()):
        by_word.setdefault(w, set()).add(f)
    assert all(len(v) == 1 for v in by_word.values())  # equal strings, equal fingerprints
    assert len({next(iter(v)) for v in by_word.values()}) == len(words)  # these distinct ones stay distinct
    sliced = pa.array(["x", "y", "a", "b"]).slice(2)  # an offset into the buffers
    assert _fingerprints(sliced).tolist() == _fingerprints(pa.array(["a", "b"])).tolist()
    assert _fingerprints(pa.array([1, 2])) is None
    for fixed in (["P0000001", "P0000002", "P0000001", "Q0000001"], ["abc", "abd", "abc", "户"]):  # 8 and 3 bytes
        fp = _fingerprints(pa.array(["pad"] + fixed).slice(1)).tolist()
        assert fp[0] == fp[2] and len({fp[0], fp[1], fp[3]}) == 3
    assert _suspects(pd.Series(words, dtype="str")).tolist() == []
    assert _suspects(pd.Series(words + ["ab"], dtype="str")).tolist() == [2, len(words)]
    assert _suspects(pd.Series(["x", None, None], dtype="str")).tolist() == [1, 2]  # missing ids: look closer
    assert _suspects(pd.Series(["x", "x"], dtype=object)) is None  # not arrow-backed: every row


@pytest.mark.parametrize("dtype", ["str", object])
def test_duplicates_among_many_ids_match_a_plain_loop(world, dtype):
    rng = np.random.default_rng(5)
    pool = [f"H{i:05d}" for i in range(1500)] + [f"户-{i}" for i in range(300)] + ["a" * 30 + str(i) for i in range(9)]
    ids = [None if rng.random() < 0.02 else pool[i] for i in rng.integers(0, len(pool), 2500)]
    recs = pd.DataFrame({"id": pd.Series(ids, dtype=dtype), "building_id": "K"})
    got = place(recs, world).frame
    seen, want = set(), []
    for i in ids:
        want.append(i is not None and i in seen)
        seen.add(i)
    assert (got["placement"] == "rejected").tolist() == want
    assert sum(want) > 300
