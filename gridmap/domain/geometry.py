"""Small pure geometry helpers: the metric CRS to measure in, and area/shape figures."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gridmap.errors import InvalidInput

#: CGCS2000 / 3-degree Gauss-Kruger CM 120E: Qingdao and everything within 1.5 degrees of 120E
CGCS2000_GK_120E = "EPSG:4549"


class CRSError(InvalidInput):
    """A frame has no CRS, so nothing in it can be measured."""


def metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> str:
    """The projected CRS to measure ``gdf`` in.

    EPSG:4549 (CGCS2000 3-degree Gauss-Kruger, central meridian 120E) when the data lies within
    1.5 degrees of 120E, else the UTM zone of the data's centre (WGS 84).

    Raises
    ------
    CRSError
        ``gdf`` has no CRS.
    """
    if gdf.crs is None:
        raise CRSError("the frame has no CRS; set one (EPSG:4326 for longitude/latitude) first")
    if len(gdf) == 0 or gdf.geometry.is_empty.all():
        return CGCS2000_GK_120E
    b = gdf.to_crs("EPSG:4326").geometry.total_bounds
    lon, lat = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise CRSError("the frame's coordinates are not finite; check its CRS")
    if 118.5 <= lon < 121.5 and lat > 0:
        return CGCS2000_GK_120E
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


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
        out = np.where(perim > 0, 4 * np.pi * area / perim ** 2, 0.0)
    return out


def parts(geoms: np.ndarray | gpd.GeoSeries) -> np.ndarray:
    """Number of polygon parts of each geometry (0 for empty)."""
    geoms = np.asarray(geoms)
    n = shapely.get_num_geometries(geoms)
    return np.where(shapely.is_empty(geoms), 0, n)
