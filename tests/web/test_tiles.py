"""Vector tiles /tiles/{layer}/{z}/{x}/{y}.pbf on every backend: decoded features, grid codes, caching."""

from __future__ import annotations

import mercantile
import pytest
import shapely
from shapely.geometry import box

from gridmap.present import mvt
from tests.web import scale_world as W


@pytest.fixture
def tiles(store, app_factory):
    world = W.load(store)
    return app_factory(store).test_client(), world


def _tile(client, layer, t):
    resp = client.get(f"/tiles/{layer}/{t.z}/{t.x}/{t.y}.pbf")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.mapbox-vector-tile"
    return resp, mvt.decode(resp.data)


def _touching(frame, t):
    q = box(*mvt.tile_bbox(t.z, t.x, t.y))
    return sorted(i for i, g in zip(frame.iloc[:, 0], frame.geometry) if box(*g.bounds).intersects(q))


@pytest.mark.parametrize("z", [13, 15, 16, 17])
def test_building_tiles_hold_the_buildings_they_touch_with_published_grid_codes(tiles, z):
    client, world = tiles
    grid = {r.building_id: r.grid_code for r in world["plan_assignments"].itertuples() if r.plan_id == "p2"}
    seen = set()
    b = world["buildings"]
    for t in mercantile.tiles(*b.total_bounds, zooms=z):
        _, data = _tile(client, "buildings", t)
        feats = data.get("buildings", {}).get("features", [])
        ids = sorted(f["properties"]["id"] for f in feats)
        assert ids == _touching(b[["id", "geometry"]], t)
        for f in feats:
            row = b.set_index("id").loc[f["properties"]["id"]]
            assert f["properties"]["grid_code"] == grid[f["properties"]["id"]]
            assert f["properties"]["households"] == row["households"]
            assert f["geometry"]["type"] == "Polygon"
            assert data["buildings"]["extent"] == 4096
        seen |= set(ids)
    assert seen == set(b["id"])


def test_a_building_lands_where_it_is(tiles):
    client, world = tiles
    b = world["buildings"].set_index("id").loc["b11"].geometry
    t = mercantile.tile(b.centroid.x, b.centroid.y, 17)
    _, data = _tile(client, "buildings", t)
    f = next(f for f in data["buildings"]["features"] if f["properties"]["id"] == "b11")
    got = shapely.geometry.shape(f["geometry"])
    want = mvt.to_tile_coords([b], t.z, t.x, t.y)[0]
    assert want.area > 1000  # a sizeable polygon at z17, not a speck
    assert got.symmetric_difference(want).area <= 0.02 * want.area


def test_grid_tiles_show_only_the_published_plan(tiles):
    client, world = tiles
    t = mercantile.tile(W.X0 + 0.005, W.Y0, 13)
    _, data = _tile(client, "grids", t)
    codes = sorted(f["properties"]["code"] for f in data["grids"]["features"])
    assert codes == sorted(world["plan_grids"].query("plan_id == 'p2'")["code"])
    hh = {f["properties"]["code"]: f["properties"]["households"] for f in data["grids"]["features"]}
    assert hh == dict(world["plan_grids"].query("plan_id == 'p2'")[["code", "households"]].values)


def test_etag_cache_control_and_not_modified(tiles):
    client, _ = tiles
    t = mercantile.tile(W.X0, W.Y0, 15)
    resp, _ = _tile(client, "buildings", t)
    etag = resp.headers["ETag"]
    assert "max-age=60" in resp.headers["Cache-Control"] and "public" in resp.headers["Cache-Control"]
    again = client.get(f"/tiles/buildings/{t.z}/{t.x}/{t.y}.pbf", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other, _ = _tile(client, "grids", t)
    assert other.headers["ETag"] != etag


def test_empty_and_bad_tiles(tiles):
    client, _ = tiles
    far = mercantile.tile(10.0, 50.0, 15)
    resp, data = _tile(client, "buildings", far)
    assert resp.data == b"" and data == {}
    for url in ("/tiles/households/15/1/1.pbf", "/tiles/buildings/3/9/0.pbf", "/tiles/buildings/30/0/0.pbf"):
        resp = client.get(url)
        assert resp.status_code == 404 and resp.get_json()["error"]["status"] == 404
