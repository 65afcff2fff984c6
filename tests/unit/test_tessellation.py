"""Tessellation cells tile each community exactly; adjacency is rook adjacency of the cells."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridmap.domain.geometry import CRSError, metric_crs, polsby_popper
from gridmap.domain.tessellation import (
    TessellationError,
    _local_cells,
    adjacency,
    community_cells,
    dissolve_cells,
    tessellate,
)
from grids_worlds import CRS, STEP, X0, Y0, lattice


def _tiles(cells, region):
    geoms = cells.geometry.values
    union = shapely.union_all(geoms)
    assert abs(shapely.area(union) - shapely.area(region)) <= 1e-4 * shapely.area(region)
    assert abs(shapely.area(geoms).sum() - shapely.area(region)) <= 1e-4 * shapely.area(region)
    assert shapely.area(shapely.symmetric_difference(union, region)) <= 1e-4 * shapely.area(region)


def test_three_by_three_cells_tile_the_square_with_twelve_rook_neighbours():
    w = lattice([[10] * 3] * 3)
    cells = tessellate(w["buildings"], w["communities"])
    assert cells["id"].tolist() == w["buildings"]["id"].tolist()
    _tiles(cells, w["communities"].geometry.iloc[0])
    # each cell is the 10 m square around its building
    assert np.allclose(shapely.area(cells.geometry.values), STEP * STEP, rtol=1e-3)  # seeds jittered
    assert shapely.contains(cells.geometry.values, w["buildings"].geometry.values).all()
    adj = adjacency(cells)
    assert len(adj) == 12  # 3 x 2 horizontal + 2 x 3 vertical; no diagonal (corner) pairs
    assert np.allclose(adj["length"], STEP, rtol=1e-3)


def test_concave_community_fragments_go_to_a_neighbour():
    # a U-shaped community: the cell of the building in the left arm would also reach into the
    # right arm across the notch; that piece must go to a cell in the right arm
    u = shapely.difference(shapely.box(X0, Y0 - 30, X0 + 30, Y0), shapely.box(X0 + 10, Y0 - 20, X0 + 20, Y0))
    w = lattice([[10, None, 10], [None, None, None], [None, 10, None]], region=u)
    cells = tessellate(w["buildings"], w["communities"])
    _tiles(cells, u)
    assert (shapely.get_num_geometries(cells.geometry.values) == 1).all()


def test_one_building_cell_is_the_whole_community_and_empty_community_gets_none():
    w = lattice([[10]])
    other = gpd.GeoDataFrame([{"id": "370214001002", "geometry": shapely.box(X0 + 50, Y0 - 10, X0 + 60, Y0)}], crs=CRS)
    coms = gpd.GeoDataFrame(
        [*w["communities"][["id", "geometry"]].to_dict("records"), *other.to_dict("records")], crs=CRS
    )
    cells = tessellate(w["buildings"], coms)
    assert len(cells) == 1
    assert shapely.equals(cells.geometry.iloc[0], w["communities"].geometry.iloc[0])


def test_coincident_buildings_each_get_a_cell():
    w = lattice([[10, 10]])
    b = w["buildings"].copy()
    b.loc[1, "geometry"] = b.geometry.iloc[0]
    cells = tessellate(b, w["communities"])
    assert (shapely.area(cells.geometry.values) > 0).all()
    _tiles(cells, w["communities"].geometry.iloc[0])


def test_dissolve_gives_one_polygon_per_label():
    w = lattice([[10] * 4])
    cells = tessellate(w["buildings"], w["communities"])
    labels, polys = dissolve_cells(cells.geometry.values, np.array([0, 0, 1, 1]))
    assert labels.tolist() == [0, 1]
    assert np.allclose(shapely.area(polys), 2 * STEP * STEP)
    assert np.allclose(polsby_popper(polys), 4 * np.pi * 200 / 60**2)


def test_crs_is_checked():
    w = lattice([[10, 10]])
    with pytest.raises(TessellationError, match="projected"):
        tessellate(w["buildings"].to_crs(4326), w["communities"].to_crs(4326))
    with pytest.raises(TessellationError, match="different CRS"):
        tessellate(w["buildings"], w["communities"].to_crs(4326))


def test_metric_crs():
    w = lattice([[10]])
    assert metric_crs(w["buildings"].to_crs(4326)) == "EPSG:4549"  # Qingdao, 120.4E
    taipei = gpd.GeoDataFrame(geometry=[shapely.Point(121.56, 25.04)], crs=4326)
    assert metric_crs(taipei) == "EPSG:32651"
    with pytest.raises(CRSError):
        metric_crs(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]))


# -- regression: lattice layouts far from the origin (issue #3, TopologyException) ----------------


def _lattice_community():
    """Community 370214001005 of the synthetic district (see the JSON's ``about``)."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parent / "data" / "lattice_community.json").read_text())
    return np.asarray(shapely.from_wkt(data["buildings"])), shapely.from_wkt(data["community"])


def _cells_tile(cells, footprints, region):
    assert shapely.is_valid(cells).all()
    assert (shapely.get_type_id(cells) == 3).all()  # one polygon per building
    assert shapely.contains(cells, shapely.point_on_surface(footprints)).all()
    union = shapely.union_all(cells)
    area = shapely.area(region)
    assert abs(shapely.area(cells).sum() - area) <= 1e-4 * area  # no overlap (given no gap)
    assert shapely.area(shapely.symmetric_difference(union, region)) <= 1e-4 * area  # no gap


def test_lattice_community_from_the_district_tiles_without_topology_error():
    footprints, region = _lattice_community()
    cells = community_cells(footprints, region)
    _cells_tile(cells, footprints, region)


def test_self_crossing_voronoi_cells_are_repaired_before_clipping():
    # the raw seeds, in projected coordinates and without jitter: GEOS's diagram of them has a
    # self-crossing cell (the input that used to raise); the repair alone must still tile
    footprints, region = _lattice_community()
    seeds = shapely.get_coordinates(shapely.point_on_surface(footprints))
    raw = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(seeds), ordered=True, extend_to=shapely.buffer(region, 500))
    )
    assert not shapely.is_valid(raw).all(), "this GEOS no longer builds the degenerate cell"
    cells = _local_cells(seeds, region)
    _cells_tile(cells, footprints, region)


def test_exact_lattice_far_from_origin_tiles():
    # an exactly cocircular 30 x 30 lattice at projected coordinates: every square of four seeds
    # shares one circumcircle
    xs, ys = np.meshgrid(np.arange(30) * 44.0 + 535_700.0, np.arange(30) * 44.0 + 4_024_000.0)
    footprints = shapely.buffer(shapely.points(np.c_[xs.ravel(), ys.ravel()]), 5, quad_segs=1)
    region = shapely.Polygon(
        [(535_680, 4_023_980), (537_030, 4_023_990), (536_900, 4_025_330), (536_300, 4_024_700), (535_690, 4_025_310)]
    )
    inside = shapely.contains(region, footprints)
    cells = community_cells(footprints[inside], region)
    _cells_tile(cells, footprints[inside], region)


def test_clipping_leaves_no_line_slivers():
    # cell borders running exactly along the outline: the clipped cell must stay one polygon
    w = lattice([[10] * 4] * 4)
    region = w["communities"].geometry.iloc[0]
    cells = community_cells(w["buildings"].geometry.values, region)
    _cells_tile(cells, w["buildings"].geometry.values, region)


def test_a_chain_of_cut_off_pieces_joins_the_cell_it_hangs_from():
    # five buildings in a row; the community also has a hook: an arm up the west side and a strip
    # running east 4 m above the row. The cells of buildings 1-4 reach over the gap into the strip;
    # those pieces hang, one after the other, from the west cell's piece, so all go to that cell
    # (the nearest cell across the gap would make a cell of two pieces)
    w = lattice([[10] * 5])
    body = shapely.box(X0, Y0 - 10, X0 + 50, Y0)
    arm = shapely.box(X0, Y0 - 1, X0 + 4, Y0 + 8)
    strip = shapely.box(X0, Y0 + 4, X0 + 50, Y0 + 8)
    region = shapely.union_all([body, arm, strip])
    cells = community_cells(w["buildings"].geometry.values, region)
    _cells_tile(cells, w["buildings"].geometry.values, region)
    assert shapely.area(shapely.difference(strip, cells[0])) < 1e-6
