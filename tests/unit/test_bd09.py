"""BD-09 (Baidu) ⇄ GCJ-02 ⇄ WGS84 on published reference points, and round trips within 1 m."""

from __future__ import annotations

import numpy as np
import pytest

from gridmap.domain.gcj02 import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Haversine distance in metres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))


#: published pairs: wandergis/coordtransform test/app.js (Tiananmen, 116.404 39.915 as the input of each
#: conversion) and Beijing railway station in GCJ-02 and BD-09 (5 decimals, about 1 m)
REFERENCE = [
    ("gcj02→bd09", gcj02_to_bd09, (116.404, 39.915), (116.41036949371029, 39.92133699351021)),
    ("bd09→gcj02", bd09_to_gcj02, (116.404, 39.915), (116.39762729119315, 39.90865673957631)),
    ("wgs84→gcj02", wgs84_to_gcj02, (116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ("gcj02→wgs84", gcj02_to_wgs84, (116.404, 39.915), (116.39775550083061, 39.91359571849836)),
    ("station gcj02→bd09", gcj02_to_bd09, (116.42703, 39.90245), (116.43351, 39.90851)),
    ("station bd09→gcj02", bd09_to_gcj02, (116.43351, 39.90851), (116.42703, 39.90245)),
]


@pytest.mark.parametrize("name,fn,given,expected", REFERENCE, ids=[r[0] for r in REFERENCE])
def test_reference_points_within_one_metre(name, fn, given, expected):
    lon, lat = fn(np.array([given[0]]), np.array([given[1]]))
    assert metres(lon[0], lat[0], *expected) < 1.0, name


def test_forward_formula_is_exact():
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert abs(lon - 116.41036949371029) < 1e-12 and abs(lat - 39.92133699351021) < 1e-12


def test_round_trips_over_china_within_one_metre_vectorised():
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(74, 134, 20_000), rng.uniform(19, 53, 20_000)
    blon, blat = wgs84_to_bd09(lon, lat)
    shift = metres(lon, lat, blon, blat)
    assert shift.min() > 100 and shift.max() < 2000  # BD-09 sits further off than GCJ-02
    wlon, wlat = bd09_to_wgs84(blon, blat)
    assert metres(lon, lat, wlon, wlat).max() < 1.0
    glon, glat = wgs84_to_gcj02(lon, lat)
    back = bd09_to_gcj02(*gcj02_to_bd09(glon, glat))
    assert metres(glon, glat, *back).max() < 0.01  # the refined inverse closes to centimetres
