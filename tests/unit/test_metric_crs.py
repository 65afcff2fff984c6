"""One metric CRS for every measurement (gridmap.domain.geometry): EPSG:4549 near 120°E, else the UTM zone
geopandas estimates; grid generation, import checks, placement and complaint routing all measure in it."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, box

from gridmap.domain import complaints as C
from gridmap.domain.complaints import Policy
from gridmap.domain.geometry import CRSError, LocationError, metric_crs, metric_crs_at, metric_crs_of_bounds
from gridmap.domain.placement import PlacementWorld
from gridmap.domain.workdays import WorkCalendar
from gridmap.io.validation import community_shares

URUMQI = (87.6, 43.8)  # 6° zone 45N, far from 120°E
QINGDAO = (120.4, 36.3)


def test_the_rule_near_and_away_from_120e():
    assert metric_crs_at(*QINGDAO) == "EPSG:4549"
    assert metric_crs_at(*URUMQI) == "EPSG:32645"  # its UTM zone, not the Gauss-Krüger zone of 120°E
    assert metric_crs_at(87.0, 43.0) == "EPSG:32645"
    assert metric_crs_at(121.56, 25.04) == "EPSG:32651"  # Taipei lies east of EPSG:4549's area
    assert metric_crs_at(120.9, 14.6) == "EPSG:32651"  # Luzon: 120°E but outside China
    assert metric_crs_at(-70.6, -33.4) == "EPSG:32719"  # southern hemisphere: a 327xx zone
    expected = gpd.GeoSeries([Point(*URUMQI)], crs=4326).estimate_utm_crs().to_epsg()
    assert metric_crs_at(*URUMQI) == f"EPSG:{expected}"
    with pytest.raises(LocationError, match="not a location"):
        metric_crs_at(math.nan, 36.0)
    with pytest.raises(LocationError, match="not a location"):
        metric_crs_at(200.0, 36.0)
    with pytest.raises(LocationError, match="must be numbers"):
        metric_crs_at("east", 36.0)


def test_beyond_utm_the_polar_stereographic():
    """UTM ends at 80°S and 84°N (geopandas finds no zone there): a point nearer a pole measures in UPS."""
    assert metric_crs_at(-118.6, -89.0) == "EPSG:32761"
    assert metric_crs_at(10.0, 89.0) == "EPSG:32661"
    assert metric_crs_at(10.0, 84.0) == "EPSG:32632" and metric_crs_at(10.0, -80.0) == "EPSG:32732"
    assert metric_crs_at(10.0, 84.01) == "EPSG:32661" and metric_crs_at(10.0, -80.01) == "EPSG:32761"
    frame = gpd.GeoDataFrame(geometry=[Point(-118.6, -89.0)], crs=4326)
    assert frame.to_crs(metric_crs_at(-118.6, -89.0)).geometry.is_valid.all()


def test_frames_and_bounds_use_the_same_rule():
    far = gpd.GeoDataFrame(geometry=[box(87.5, 43.7, 87.7, 43.9)], crs=4326)
    assert metric_crs(far) == metric_crs(far.geometry) == metric_crs_at(*URUMQI) == "EPSG:32645"
    assert metric_crs(far.to_crs("EPSG:3857")) == "EPSG:32645"  # measured from its centre in degrees
    assert metric_crs_of_bounds(far.total_bounds) == "EPSG:32645"
    assert metric_crs_of_bounds((math.nan,) * 4) == "EPSG:4549"  # nothing to measure
    with pytest.raises(CRSError):
        metric_crs(gpd.GeoDataFrame(geometry=[Point(0, 0)]))


def _square_m(lon: float, lat: float, side_m: float, crs: str) -> shapely.Polygon:
    p = gpd.GeoSeries([Point(lon, lat)], crs=4326).to_crs(crs).iloc[0]
    return gpd.GeoSeries([box(p.x, p.y, p.x + side_m, p.y + side_m)], crs=crs).to_crs(4326).iloc[0]


def test_placement_and_import_checks_measure_in_it_away_from_120e():
    crs = metric_crs_at(*URUMQI)
    com = gpd.GeoDataFrame(
        {"id": ["650102001001"], "street_id": ["650102001"]}, geometry=[_square_m(*URUMQI, 200, crs)], crs=4326
    )
    bld = gpd.GeoDataFrame(
        {"id": ["b1"], "community_id": ["650102001001"]}, geometry=[_square_m(*URUMQI, 20, crs)], crs=4326
    )
    assert PlacementWorld(bld, com).metric_crs == "EPSG:32645"
    shares = community_shares(bld.geometry, com)
    assert shares["share"].tolist() == pytest.approx([1.0])


def test_routing_measures_metres_away_from_120e():
    crs = metric_crs_at(*URUMQI)
    origin = gpd.GeoSeries([Point(*URUMQI)], crs=4326).to_crs(crs).iloc[0]

    def lonlat(dx, dy):
        p = gpd.GeoSeries([Point(origin.x + dx, origin.y + dy)], crs=crs).to_crs(4326).iloc[0]
        return p.x, p.y

    frame = lambda rows, geoms: gpd.GeoDataFrame(rows, geometry=geoms, crs=crs).to_crs(4326)  # noqa: E731
    grids = frame({"code": ["G1"], "community_id": ["C"]}, [box(origin.x, origin.y, origin.x + 100, origin.y + 100)])
    buildings = frame(
        {"id": ["b1"], "estate_id": ["e1"], "community_id": ["C"]},
        [box(origin.x + 10, origin.y + 10, origin.x + 30, origin.y + 30)],
    )
    r = C.route(
        *lonlat(42, 20),
        category="parking",
        policy=Policy(calendar=WorkCalendar()),
        buildings=buildings,
        grids=grids,
        assignment={"b1": "G1"},
    )
    assert r.building_id == "b1" and r.placement == "nearest"
    assert r.placement_distance_m == pytest.approx(12, abs=0.1)  # 12 m in the UTM zone
