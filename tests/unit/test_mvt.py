"""gridmap.present.mvt on hand-drawn buildings around one tile with known positions."""

from __future__ import annotations

import geopandas as gpd
import mercantile
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.present import mvt

Z, X, Y = 14, 13671, 6416  # a tile over Chengyang


def _world() -> gpd.GeoDataFrame:
    b = mercantile.bounds(X, Y, Z)
    w, h = b.east - b.west, b.north - b.south
    cx, cy = b.west + w / 2, b.south + h / 2
    return gpd.GeoDataFrame(
        {
            "id": ["inside", "far", "edge", "tiny"],
            "households": pd.array([10, 5, 3, None], dtype="Int64"),
            "name": ["3", "4", None, "x"],
        },
        geometry=[
            shapely.box(cx, cy, cx + w / 10, cy + h / 10),  # top-right quadrant of the centre
            shapely.box(b.east + w, cy, b.east + 2 * w, cy + h),  # next tile but one: outside
            shapely.box(b.west - w / 10, cy, b.west + w / 10, cy + h / 10),  # straddles the west edge
            shapely.box(cx, cy, cx + w * 1e-6, cy + h * 1e-6),  # far below one tile unit
        ],
        crs="EPSG:4326",
    )


def test_features_land_where_they_are_and_keep_their_properties():
    tile = mvt.decode(mvt.encode({"buildings": _world()}, Z, X, Y))
    feats = {f["properties"]["id"]: f for f in tile["buildings"]["features"]}
    assert set(feats) == {"inside", "edge"}
    inside = feats["inside"]
    assert inside["properties"] == {"id": "inside", "households": 10, "name": "3"}
    xs = [p[0] for p in inside["geometry"]["coordinates"][0]]
    ys = [p[1] for p in inside["geometry"]["coordinates"][0]]
    # centre of the tile is (2048, 2048); the box spans 1/10 of the tile east and north (y down)
    assert min(xs) == 2048 and max(xs) == pytest.approx(2048 + 410, abs=2)
    assert max(ys) == 2048 and min(ys) == pytest.approx(2048 - 410, abs=40)  # mercator stretches y
    assert "name" not in feats["edge"]["properties"]  # None is left out


def test_clipped_to_the_buffer():
    tile = mvt.decode(mvt.encode({"buildings": _world()}, Z, X, Y, buffer=64))
    edge = next(f for f in tile["buildings"]["features"] if f["properties"]["id"] == "edge")
    assert min(p[0] for p in edge["geometry"]["coordinates"][0]) == -64


def test_empty_tile_and_empty_layers():
    assert mvt.encode({"buildings": _world().iloc[[1]]}, Z, X, Y) == b""
    assert mvt.decode(b"") == {}
    data = mvt.encode({"buildings": _world(), "grids": _world().iloc[0:0]}, Z, X, Y)
    assert set(mvt.decode(data)) == {"buildings"}


def test_simplification_grows_with_lower_zoom():
    b = mercantile.bounds(X, Y, Z)
    circle = shapely.Point((b.west + b.east) / 2, (b.south + b.north) / 2).buffer((b.east - b.west) / 4, quad_segs=64)
    frame = gpd.GeoDataFrame({"id": ["c"]}, geometry=[circle], crs="EPSG:4326")
    counts = []
    for z in (Z, Z - 3, Z - 6):
        t = mercantile.tile((b.west + b.east) / 2, (b.south + b.north) / 2, z)
        feats = mvt.decode(mvt.encode({"g": frame}, z, t.x, t.y))["g"]["features"]
        counts.append(len(feats[0]["geometry"]["coordinates"][0]))
    assert counts[0] > counts[1] > counts[2] >= 4


@pytest.mark.parametrize("z,x,y", [(-1, 0, 0), (25, 0, 0), (2, 4, 0), (2, 0, -1)])
def test_bad_tile_addresses(z, x, y):
    with pytest.raises(mvt.TileError):
        mvt.tile_bbox(z, x, y)


def test_tile_bbox_contains_the_tile_and_the_buffer():
    b = mercantile.bounds(X, Y, Z)
    minx, miny, maxx, maxy = mvt.tile_bbox(Z, X, Y)
    assert minx < b.west < b.east < maxx and miny < b.south < b.north < maxy
    assert (b.west - minx) / (b.east - b.west) == pytest.approx(64 / 4096, rel=1e-3)
    assert mvt.tile_bbox(Z, X, Y, buffer=0) == pytest.approx((b.west, b.south, b.east, b.north))


def test_etag_depends_on_the_bytes():
    assert mvt.etag(b"a") == mvt.etag(b"a") != mvt.etag(b"b")


def _awkward() -> gpd.GeoDataFrame:
    """Shapes the vectorised winding and commands must treat exactly as the library does: clockwise and
    counter-clockwise rings, holes, multipolygons (one of whose parts is a speck), repeated points, a bow tie
    (invalid), a sliver that rounding to tile units collapses, a line and a point, in random order."""
    b = mercantile.bounds(X, Y, Z)
    w, h = b.east - b.west, b.north - b.south
    u = w / 4096  # one tile unit (about)

    def at(fx, fy):
        return b.west + fx * w, b.south + fy * h

    ring = [at(0.1, 0.1), at(0.3, 0.1), at(0.3, 0.3), at(0.1, 0.3)]
    hole = [at(0.15, 0.15), at(0.2, 0.15), at(0.2, 0.2), at(0.15, 0.2)]
    shapes = [
        shapely.Polygon(ring),  # counter-clockwise
        shapely.Polygon(ring[::-1]),  # clockwise
        shapely.Polygon(ring, [hole]),
        shapely.Polygon(ring, [hole[::-1]]),
        shapely.MultiPolygon(
            [shapely.Polygon([at(0.5, 0.5), at(0.6, 0.5), at(0.6, 0.6)]), shapely.Polygon(ring, [hole])]
        ),
        shapely.MultiPolygon([shapely.box(*at(0.7, 0.7), *at(0.8, 0.8)), shapely.box(*at(0.9, 0.9), *at(0.9, 0.9))]),
        shapely.Polygon([at(0.4, 0.4), at(0.4, 0.4), at(0.45, 0.4), at(0.45, 0.45), at(0.4, 0.45)]),  # repeated point
        shapely.Polygon([at(0.6, 0.1), at(0.7, 0.2), at(0.7, 0.1), at(0.6, 0.2)]),  # bow tie
        shapely.Polygon([at(0.2, 0.8), (at(0.2, 0.8)[0] + 3 * u, at(0.2, 0.8)[1] + 0.4 * u), at(0.25, 0.8)]),
        shapely.LineString([at(0.1, 0.9), at(0.2, 0.95), at(0.2, 0.95), at(0.3, 0.9)]),
        shapely.Point(at(0.5, 0.9)),
    ]
    order = [7, 2, 10, 0, 5, 8, 1, 9, 3, 6, 4]
    return gpd.GeoDataFrame(
        {"id": [f"s{i}" for i in order], "households": list(range(len(order))), "flag": [i % 2 == 0 for i in order]},
        geometry=[shapes[i] for i in order],
        crs="EPSG:4326",
    )


@pytest.mark.parametrize("z, x, y", [(Z, X, Y), (Z - 3, X >> 3, Y >> 3)])
def test_the_tile_is_byte_for_byte_what_mapbox_vector_tile_writes(z, x, y):
    import mapbox_vector_tile

    frame = pd.concat([_awkward(), _world()], ignore_index=True)
    feats = mvt.prepare_layer(frame, z, x, y)
    assert len(feats) >= 10
    library = mapbox_vector_tile.encode(
        [{"name": "buildings", "features": feats}],
        default_options={
            "extents": mvt.EXTENT,
            "y_coord_down": True,
            "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
        },
    )
    assert mvt.encode({"buildings": frame}, z, x, y) == library


def test_polygon_commands_follow_the_mvt_geometry_encoding():
    # tile units, wound: per ring MoveTo(1) from the cursor, LineTo(n), ClosePath; the cursor carries on across
    # rings and parts of one feature and starts again at the origin for the next feature
    from mapbox_vector_tile.geom_encoder import GeometryEncoder

    square = shapely.Polygon([(1, 1), (1, 9), (9, 9), (9, 1)], [[(3, 3), (5, 3), (5, 5), (3, 5)]])
    other = shapely.Polygon([(20, 20), (20, 26), (26, 26), (26, 20), (26, 20)])  # a repeated point
    shapes = shapely.orient_polygons(np.array([shapely.MultiPolygon([square, other]), other], dtype=object))
    cmds = mvt.polygon_commands(shapes)
    assert cmds == [GeometryEncoder(True, mvt.EXTENT).encode(s) for s in shapes]
    assert cmds[1][:4] == [9, 40, 40, (3 << 3) | 2] and cmds[1][-1] == 15


def test_shapes_that_rounding_breaks_are_left_to_the_library():
    frame = _awkward()
    feats = mvt.prepare_layer(frame, Z, X, Y)
    _, ready = mvt._wound(np.asarray([f["geometry"] for f in feats], dtype=object))
    assert 0 < ready.sum() < len(feats)  # the bow tie, the line and the point are not made ready here


def test_property_values_are_numbered_and_shared_as_the_library_does():
    # the tables are made for the whole layer at once: keys and values in order of first appearance over the rows,
    # 1 and 1.0 one value (the first seen kept), True apart from 1, "1" apart from both, lists as JSON text, a
    # missing value left out, a key first seen on a later row numbered then
    import mapbox_vector_tile

    world = _world().iloc[[0, 2]]
    frame = gpd.GeoDataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "mixed": pd.array([1, True, 1.0, "1", None], dtype=object),
            "late": pd.array([None, None, 2.5, [1, "x"], 2.5], dtype=object),
        },
        geometry=[world.geometry.iloc[0]] * 3 + [world.geometry.iloc[1]] * 2,
        crs="EPSG:4326",
    )
    feats = mvt.prepare_layer(frame, Z, X, Y)
    opts = {
        "extents": mvt.EXTENT,
        "y_coord_down": True,
        "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
    }
    library = mapbox_vector_tile.encode([{"name": "b", "features": feats}], default_options=opts)
    assert mvt.encode({"b": frame}, Z, X, Y) == library
    props = [f["properties"] for f in mvt.decode(library)["b"]["features"]]
    assert props[0] == {"id": "a", "mixed": 1} and props[2]["mixed"] == 1 and props[1]["mixed"] is True
    assert props[3] == {"id": "d", "mixed": "1", "late": '[1, "x"]'} and props[4] == {"id": "e", "late": 2.5}
