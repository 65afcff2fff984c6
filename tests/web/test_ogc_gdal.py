"""GDAL's OAPIF driver copies every /ogc collection from a live server; the copy matches the store."""

from __future__ import annotations

import shutil
import subprocess

import geopandas as gpd
import pytest
import shapely

from gridmap.services import ogc as svc
from tests.conftest import need
from tests.web import scale_world as W


def _expected(store, cid):
    # what an anonymous client sees: request counts from 1 to 4 as "<5" (issue #7)
    page = svc.items(store, cid, limit=svc.MAX_LIMIT, exact=False)
    assert page.number_returned == page.number_matched > 0
    return page.features.set_index("id")


def test_ogr2ogr_copies_every_layer_and_matches_the_store(store, app_factory, live_server, tmp_path):
    need(shutil.which("ogr2ogr") is not None, "GDAL's ogr2ogr is not installed (apt-get install gdal-bin)")
    W.load(store)
    server = live_server(app_factory(store))
    for cid in svc.COLLECTIONS:
        out = tmp_path / f"{cid}.gpkg"
        # a small page size makes GDAL follow several `next` links
        run = subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server.url}/ogc", cid, "-oo", "PAGE_SIZE=4"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        copy = gpd.read_file(out).set_index("id")
        want = _expected(store, cid)
        assert sorted(copy.index) == sorted(want.index), cid
        assert copy.crs.to_epsg() == 4326
        for fid, row in want.iterrows():
            got = copy.loc[fid]
            for col in want.columns.drop("geometry"):
                a, b = row[col], got[col]
                if a is None or (isinstance(a, float) and a != a) or a is __import__("pandas").NA:
                    assert b is None or b != b, (cid, fid, col)
                else:
                    assert a == b or float(a) == pytest.approx(float(b)), (cid, fid, col, a, b)
            assert shapely.equals_exact(got.geometry, row.geometry, tolerance=1e-9), (cid, fid)
