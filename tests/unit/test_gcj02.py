"""GCJ-02 ⇄ WGS84: the published forward formula, and an inverse that round-trips."""

from __future__ import annotations

import numpy as np

from gridmap.domain.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02


def test_forward_matches_the_published_reference():
    # wandergis/coordtransform test/app.js: wgs84togcj02(116.404, 39.915)
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert abs(lon - 116.41024449916938) < 1e-12 and abs(lat - 39.91640428150164) < 1e-12


def test_round_trip_over_china_is_sub_millimetre():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(74, 134, 20_000), rng.uniform(19, 53, 20_000)
    glon, glat = wgs84_to_gcj02(lon, lat)
    shift_m = np.hypot((glon - lon) * 111_320 * np.cos(np.radians(lat)), (glat - lat) * 110_540)
    assert shift_m.min() > 1 and shift_m.max() < 1000  # the offset is real, and hundreds of metres at most
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    assert np.abs(wlon - lon).max() < 1e-9 and np.abs(wlat - lat).max() < 1e-9


def test_outside_china_is_unchanged():
    lon, lat = np.array([2.35, -74.0]), np.array([48.85, 40.7])
    assert np.array_equal(wgs84_to_gcj02(lon, lat)[0], lon)
    assert np.array_equal(gcj02_to_wgs84(lon, lat)[1], lat)
