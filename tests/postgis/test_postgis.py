"""PostGIS-only behaviour: COPY bulk loads, spatial questions answered in the database, ST_AsMVT tiles.

Each answer is checked against the SQLite store or a brute-force shapely recount on the same rows.
"""

from __future__ import annotations

import datetime as dt
import random

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from gridmap.present import mvt
from gridmap.store import ConflictError, open_store

pytestmark = pytest.mark.postgis


@pytest.fixture
def pg(postgis_url):
    store = open_store(postgis_url)
    from tests.conftest import _empty

    _empty(store)
    yield store
    store.close()


def _complaints(n: int) -> gpd.GeoDataFrame:
    rng = random.Random(3)
    t0 = dt.datetime(2026, 1, 1, 8, 0, 0)
    return gpd.GeoDataFrame(
        {
            "id": [f"c{i:05d}" for i in range(n)],
            "category": [rng.choice(["parking", "noise", "卫生"]) for _ in range(n)],
            "description": [None if i % 7 == 0 else f"第{i}号 \t tab\nnewline \\ back" for i in range(n)],
            "state": ["collected"] * n,
            "created_at": [t0 + dt.timedelta(minutes=i, microseconds=i) for i in range(n)],
            "rating": [None if i % 3 else i % 5 for i in range(n)],
            "resolved": [None if i % 4 == 0 else bool(i % 2) for i in range(n)],
            "placement_distance_m": [None if i % 5 else i / 3 for i in range(n)],
        },
        geometry=[None if i % 11 == 0 else Point(120 + rng.random(), 36 + rng.random()) for i in range(n)],
        crs="EPSG:4326",
    )


def test_copy_bulk_load_reads_back_like_sqlite(pg, sqlite_store):
    from gridmap.store import postgis

    frame = _complaints(postgis.COPY_MIN_ROWS * 3)
    plans = pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(postgis.COPY_MIN_ROWS)],
            "status": "draft",
            "created_at": dt.datetime(2026, 2, 3, 4, 5, 6),
            "effective_date": dt.date(2026, 5, 1),
            "params": [{"i": i, "名": ["a", None]} if i % 2 else None for i in range(postgis.COPY_MIN_ROWS)],
        }
    )
    for s in (pg, sqlite_store):
        assert s.write("complaints", frame).inserted == len(frame)
        assert s.write("plans", plans).inserted == len(plans)
    for layer in ("complaints", "plans"):
        a, b = pg.snapshot([layer])[layer], sqlite_store.snapshot([layer])[layer]
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # writing the same rows again changes nothing (the COPY'd values compare equal)
    again = pg.write("complaints", frame)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(frame))


def test_copy_inside_a_failed_transaction_leaves_nothing(pg):
    frame = _complaints(1200)
    before = pg.snapshot(["complaints"])
    with pytest.raises(ConflictError):
        with pg.transaction():
            pg.write("complaints", frame)
            pg.write("complaints", frame.iloc[:3], mode="insert")
    pd.testing.assert_frame_equal(pg.snapshot(["complaints"])["complaints"], before["complaints"], check_dtype=False)


def _blocks() -> gpd.GeoDataFrame:
    # a 6×6 block of 80 m buildings with 40 m gaps near Chengyang; building b<row><col>
    ids, geoms = [], []
    x0, y0, d = 120.39, 36.30, 0.001
    for r in range(6):
        for c in range(6):
            ids.append(f"b{r}{c}")
            geoms.append(box(x0 + c * 1.5 * d, y0 + r * 1.5 * d, x0 + c * 1.5 * d + d, y0 + r * 1.5 * d + d))
    return gpd.GeoDataFrame(
        {"id": ids, "community_id": ["370214001001"] * 36, "households": list(range(36))},
        geometry=geoms,
        crs="EPSG:4326",
    )


def test_containing_and_nearest_match_brute_force(pg):
    b = _blocks()
    pg.write("buildings", b)
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = b.total_bounds
    pts = [
        Point(x, y)
        for x, y in zip(rng.uniform(minx - 0.002, maxx + 0.002, 300), rng.uniform(miny - 0.002, maxy + 0.002, 300))
    ]
    got = pg.containing("buildings", pts)
    expected = [next((i for i, g in zip(b["id"], b.geometry) if g.covers(p)), None) for p in pts]
    assert got == expected and any(expected) and None in expected

    metric = b.to_crs(4549)
    pts_m = gpd.GeoSeries(pts, crs=4326).to_crs(4549)
    keys, dists = pg.nearest("buildings", pts, max_distance_m=60)
    assert None in keys and sum(k is not None for k in keys) > 100
    for p, k, d in zip(pts_m, keys, dists):
        dist = metric.distance(p)
        best = dist.min()
        if best > 61:  # geodesic vs projected metres differ by well under 1 %
            assert k is None and d is None
        elif best < 59:
            assert k == metric["id"][dist.idxmin()] or abs(dist[metric["id"] == k].iloc[0] - best) < 0.5
            assert d == pytest.approx(best, rel=0.01, abs=0.3)


def test_st_asmvt_tile_has_the_same_features_as_the_encoder(pg, sqlite_store):
    import mercantile

    b = _blocks()
    pg.write("buildings", b)
    t = mercantile.tile(120.3925, 36.3025, 15)
    pg_tile = mvt.decode(pg.mvt("buildings", t.z, t.x, t.y, columns=["id", "households"]))
    frame = b[b.intersects(box(*mvt.tile_bbox(t.z, t.x, t.y)))][["id", "households", "geometry"]]
    py_tile = mvt.decode(mvt.encode({"buildings": frame}, t.z, t.x, t.y))
    feats = {f["properties"]["id"]: f for f in pg_tile["buildings"]["features"]}
    ref = {f["properties"]["id"]: f for f in py_tile["buildings"]["features"]}
    assert set(feats) == set(ref) and len(feats) > 3
    for fid, f in feats.items():
        assert f["properties"]["households"] == ref[fid]["properties"]["households"]
        got = shapely.geometry.shape(f["geometry"])
        want = shapely.geometry.shape(ref[fid]["geometry"])
        assert got.symmetric_difference(want).area <= 0.02 * want.area + 4  # grid snapping only


def test_st_asmvt_lookup_and_where(pg):
    b = _blocks()
    pg.write("buildings", b)
    pg.write(
        "plan_assignments",
        pd.DataFrame(
            {
                "plan_id": ["p1"] * 36 + ["p0"] * 36,
                "building_id": list(b["id"]) * 2,
                "grid_code": ["G1"] * 18 + ["G2"] * 18 + ["OLD"] * 36,
            }
        ),
    )
    import mercantile

    t = mercantile.tile(120.3925, 36.3025, 13)
    lookup = {"grid_code": ("plan_assignments", "building_id", "grid_code", {"plan_id": "p1"})}
    tile = mvt.decode(pg.mvt("buildings", t.z, t.x, t.y, columns=["id"], lookup=lookup))
    codes = {f["properties"]["id"]: f["properties"]["grid_code"] for f in tile["buildings"]["features"]}
    assert codes == {i: ("G1" if n < 18 else "G2") for n, i in enumerate(b["id"])}
    tile = mvt.decode(pg.mvt("buildings", t.z, t.x, t.y, columns=["id"], where={"id": ["b00", "b55"]}))
    assert sorted(f["properties"]["id"] for f in tile["buildings"]["features"]) == ["b00", "b55"]
    far = mercantile.tile(10.0, 50.0, 13)
    assert pg.mvt("buildings", far.z, far.x, far.y, columns=["id"]) == b""
