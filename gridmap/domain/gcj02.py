"""GCJ-02 ("Mars coordinates" of AMap/Gaode and Tencent maps) and BD-09 (Baidu) ⇄ WGS84, vectorised with numpy.

GCJ-02 is WGS84 plus a deliberate, smooth offset of a few hundred metres inside China (none outside).
The forward formula is the widely published one (eviltransform, coordtransform); the inverse has no closed
form and is solved by fixed-point iteration to about 1e-9° (≈ 0.1 mm). BD-09 is GCJ-02 shifted once more by
Baidu's published formula; its inverse is refined the same way. No library on PyPI that we may
depend on offers a vectorised version, hence these few lines.
"""

from __future__ import annotations

import numpy as np
import shapely

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_EE = 0.00669342162296594323


def _outside_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sq = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sq) * np.pi)
    dlon = (dlon * 180.0) / (_A / sq * np.cos(rad) * np.pi)
    out = _outside_china(lon, lat)
    return np.where(out, 0.0, dlon), np.where(out, 0.0, dlat)


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 longitudes/latitudes (degrees, arrays) to GCJ-02."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(
    lon: np.ndarray, lat: np.ndarray, *, tol: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (converges to ``tol`` degrees)."""
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(max_iter):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = glon - lon, glat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if np.nanmax(np.abs(np.r_[elon.ravel(), elat.ravel(), 0.0])) < tol:
            break
    return wlon, wlat


def geometries_gcj02_to_wgs84(geoms: np.ndarray) -> np.ndarray:
    """Every vertex of shapely geometries from GCJ-02 to WGS84 (one vectorised pass)."""
    return shapely.transform(
        np.asarray(geoms, dtype=object), lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1]))
    )


def geometries_wgs84_to_gcj02(geoms: np.ndarray) -> np.ndarray:
    """Every vertex of shapely geometries from WGS84 to GCJ-02 (overlays drawn on AMap tiles)."""
    return shapely.transform(
        np.asarray(geoms, dtype=object), lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
    )


# -- BD-09 (Baidu): GCJ-02 rotated and stretched a little more, ≈ 1 km further -----------------------------

_X_PI = np.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 longitudes/latitudes (arrays) to BD-09, Baidu's published forward formula."""
    x, y = np.asarray(lon, float), np.asarray(lat, float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: np.ndarray, lat: np.ndarray, *, tol: float = 1e-10, max_iter: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`gcj02_to_bd09`: the usual closed-form approximation, then refined by fixed-point
    iteration so the round trip closes to ``tol`` degrees."""
    bx, by = np.asarray(lon, float), np.asarray(lat, float)
    x, y = bx - 0.0065, by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        fx, fy = gcj02_to_bd09(glon, glat)
        ex, ey = fx - bx, fy - by
        glon, glat = glon - ex, glat - ey
        if np.nanmax(np.abs(np.r_[ex.ravel(), ey.ravel(), 0.0])) < tol:
            break
    return glon, glat


def wgs84_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def geometries_bd09_to_wgs84(geoms: np.ndarray) -> np.ndarray:
    """Every vertex of shapely geometries from BD-09 to WGS84 (one vectorised pass)."""
    return shapely.transform(
        np.asarray(geoms, dtype=object), lambda xy: np.column_stack(bd09_to_wgs84(xy[:, 0], xy[:, 1]))
    )
