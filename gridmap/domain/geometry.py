"""Small pure geometry helpers: the metric CRS to measure in, and area/shape figures."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from gridmap.errors import InvalidInput

#: CGCS2000 / 3-degree Gauss-Kruger CM 120E: Qingdao and everything within 1.5 degrees of 120E
CGCS2000_GK_120E = "EPSG:4549"
#: where EPSG:4549 is used: its area of use (China onshore between 118°30'E and 121°30'E), west, south,
#: east, north in degrees; the east edge itself (121.5°E, Taipei) already measures in UTM zone 51N
GK_120E_AREA = (118.5, 24.43, 121.5, 53.33)


class CRSError(InvalidInput):
    """A frame has no CRS, so nothing in it can be measured."""


class LocationError(InvalidInput):
    """A longitude/latitude pair that is no point on the earth."""


def lonlat(lon: Any, lat: Any) -> tuple[float, float]:
    """``(lon, lat)`` as floats when they are a point on the earth in EPSG:4326 degrees: the one check of a
    location given as numbers (forms, APIs, complaint routing).

    Raises
    ------
    LocationError
        Not numbers, not finite, or outside [-180, 180] × [-90, 90].
    """
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise LocationError(f"lon/lat must be numbers, got lon={lon!r}, lat={lat!r}") from None
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise LocationError(f"lon={lon}, lat={lat} is not a location in EPSG:4326 degrees (outside the earth)")
    return x, y


def metric_crs_at(lon: float, lat: float) -> str:
    """The projected CRS to measure in around longitude/latitude ``(lon, lat)`` (EPSG:4326 degrees).

    The one rule every measurement uses: EPSG:4549 (CGCS2000 3-degree Gauss-Kruger, central meridian
    120E) inside :data:`GK_120E_AREA`, else the WGS 84 UTM zone that geopandas' ``estimate_utm_crs``
    picks for the point, and beyond UTM's latitudes (80°S–84°N) the polar stereographic of that pole.

    Raises
    ------
    LocationError
        ``lon``/``lat`` are not a point on the earth (see :func:`lonlat`).
    """
    lon, lat = lonlat(lon, lat)
    west, south, east, north = GK_120E_AREA
    if west <= lon < east and south <= lat <= north:
        return CGCS2000_GK_120E
    lat = round(lat, 2)
    if not UTM_SOUTH <= lat <= UTM_NORTH:  # UTM ends there: the polar stereographic of the pole's side
        return UPS_NORTH if lat > 0 else UPS_SOUTH
    return _utm(round(lon, 2), lat)


#: the latitudes UTM covers; beyond them the Universal Polar Stereographic of that pole (metres)
UTM_SOUTH, UTM_NORTH = -80.0, 84.0
UPS_NORTH, UPS_SOUTH = "EPSG:32661", "EPSG:32761"


@functools.lru_cache(maxsize=1024)
def _utm(lon: float, lat: float) -> str:
    """geopandas' UTM zone at a point (a query of the PROJ database: slow, so remembered per 0.01°)."""
    crs = gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").estimate_utm_crs()
    return f"EPSG:{crs.to_epsg()}"


def metric_crs_of_bounds(bounds: Iterable[float]) -> str:
    """:func:`metric_crs_at` the centre of ``(minx, miny, maxx, maxy)`` in EPSG:4326 degrees; empty
    bounds (NaN) measure in :data:`CGCS2000_GK_120E`."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return CGCS2000_GK_120E
    return metric_crs_at(lon, lat)


def metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> str:
    """The projected CRS to measure ``gdf`` in: :func:`metric_crs_at` the centre of its bounds.

    Raises
    ------
    CRSError
        ``gdf`` has no CRS, or its coordinates are not longitudes/latitudes once in EPSG:4326.
    """
    if gdf.crs is None:
        raise CRSError("the frame has no CRS; set one (EPSG:4326 for longitude/latitude) first")
    if len(gdf) == 0 or gdf.geometry.is_empty.all():
        return CGCS2000_GK_120E
    b = gdf.to_crs("EPSG:4326").geometry.total_bounds
    if not np.isfinite(b).all():
        raise CRSError("the frame's coordinates are not finite; check its CRS")
    return metric_crs_of_bounds(b)


@functools.lru_cache(maxsize=64)
def transformer(source: str, target: str) -> Transformer:
    """The pyproj transformation ``source`` → ``target`` (x = longitude/easting), made once per pair: making
    one queries the PROJ database and costs far more than using it (a Transformer may serve every thread).

    It is kept as the PROJ pipeline the database chose: pyproj remakes a transformer in each thread that
    uses it, from its recipe, and remaking one from CRSs queries the database again (~80 ms in every worker
    thread of a server), from a pipeline it does not (well under 1 ms). Same operation, same numbers — checked
    on a point, else the transformer made from the CRSs is kept."""
    made = Transformer.from_crs(source, target, always_xy=True)
    try:
        piped = Transformer.from_pipeline(made.definition)
    except Exception:
        return made
    probe = made.transform(*_probe_point(made))
    if all(math.isfinite(v) for v in probe) and piped.transform(*_probe_point(made)) == probe:
        return piped
    return made


def _probe_point(t: Transformer) -> tuple[float, float]:
    """A point inside ``t``'s area of use (its centre), in source coordinates (lon/lat for geographic)."""
    a = t.area_of_use
    lon, lat = ((a.west + a.east) / 2, (a.south + a.north) / 2) if a is not None else (120.0, 36.0)
    if t.source_crs is not None and not t.source_crs.is_geographic:
        return Transformer.from_crs("EPSG:4326", t.source_crs, always_xy=True).transform(lon, lat)
    return lon, lat


def to_metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` projected to :func:`metric_crs` (a copy; already-projected frames come back as they are)."""
    if gdf.crs is None:
        raise CRSError("the frame has no CRS; set one (EPSG:4326 for longitude/latitude) first")
    if gdf.crs.is_projected:
        return gdf
    return gdf.to_crs(metric_crs(gdf))


def polsby_popper(geoms: np.ndarray | gpd.GeoSeries) -> np.ndarray:
    """Polsby-Popper compactness 4*pi*area/perimeter**2 (1 for a disc; 0 for empty shapes)."""
    geoms = np.asarray(geoms)
    area = shapely.area(geoms)
    perim = shapely.length(geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(perim > 0, 4 * np.pi * area / perim**2, 0.0)
    return out


def parts(geoms: np.ndarray | gpd.GeoSeries) -> np.ndarray:
    """Number of polygon parts of each geometry (0 for empty)."""
    geoms = np.asarray(geoms)
    n = shapely.get_num_geometries(geoms)
    return np.where(shapely.is_empty(geoms), 0, n)
