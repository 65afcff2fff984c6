"""Tile math of the Web-Mercator pyramid (WebMercatorQuad): tile bounds, per-zoom tolerance, tile units.

Pure functions shared by the MVT encoder (:mod:`gridmap.present.mvt`) and the PostGIS store's ``ST_AsMVT``
path, so both draw the same tile.
"""

from __future__ import annotations

import math

import mercantile
import numpy as np
import shapely

from gridmap.errors import InvalidInput

#: tile coordinate space (units per tile side) and the margin kept around a tile to hide seams
EXTENT = 4096
BUFFER = 64
#: simplification tolerance in tile units: 1/16 of a screen pixel of a 256 px tile
SIMPLIFY_UNITS = 1.0
MAX_ZOOM = 24
_R = 6378137.0
_MAX_LAT = 85.0511287798066


class TileError(InvalidInput):
    """A tile address outside the pyramid (z, x, y)."""


def check_tile(z: int, x: int, y: int) -> None:
    """Raise :class:`TileError` unless ``0 <= z <= 24`` and ``0 <= x, y < 2**z``."""
    if not (0 <= z <= MAX_ZOOM):
        raise TileError(f"zoom {z} is outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise TileError(f"tile {z}/{x}/{y} does not exist: x and y must be in 0..{n - 1} at zoom {z}")


def tile_bbox(
    z: int, x: int, y: int, *, extent: int = EXTENT, buffer: int = BUFFER
) -> tuple[float, float, float, float]:
    """The tile's bounds in EPSG:4326 widened by ``buffer`` tile units: what to read from a store."""
    check_tile(z, x, y)
    minx, miny, maxx, maxy = mercantile.xy_bounds(x, y, z)
    pad = (maxx - minx) * buffer / extent
    lon0, lat0 = mercantile.lnglat(minx - pad, miny - pad)
    lon1, lat1 = mercantile.lnglat(maxx + pad, maxy + pad)
    return (max(lon0, -180.0), max(lat0, -_MAX_LAT), min(lon1, 180.0), min(lat1, _MAX_LAT))


def simplify_tolerance_m(z: int, *, extent: int = EXTENT, units: float = SIMPLIFY_UNITS) -> float:
    """Simplification tolerance in Web-Mercator metres at zoom ``z`` (``units`` tile units)."""
    return 2 * math.pi * _R / (1 << z) / extent * units


def to_tile_coords(geoms: np.ndarray, z: int, x: int, y: int, *, extent: int = EXTENT) -> np.ndarray:
    """Geometries in EPSG:4326 → tile units (origin top-left, y down), vectorised."""
    minx, miny, maxx, maxy = mercantile.xy_bounds(x, y, z)
    sx, sy = extent / (maxx - minx), extent / (maxy - miny)

    def project(coords: np.ndarray) -> np.ndarray:
        lon = coords[:, 0]
        lat = np.clip(coords[:, 1], -_MAX_LAT, _MAX_LAT)
        mx = _R * np.radians(lon)
        my = _R * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
        return np.column_stack(((mx - minx) * sx, (maxy - my) * sy))

    return shapely.transform(np.asarray(geoms, dtype=object), project)
