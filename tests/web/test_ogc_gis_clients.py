"""Real GIS clients against a live /ogc on both backends: GDAL's OAPIF driver reads grids in EPSG:4490 and EPSG:4549 and
sends ``-where`` to the server as a CQL2 filter; OWSLib lists queryables and filters; GDAL's OGCAPI driver reads
the vector tiles.

Two GDALs: the system's ``ogrinfo`` (Debian's, 3.6) and the one inside pyogrio's wheel (newer; it has the OAPIF
``CRS`` open option of Part 2). pyogrio runs in a child process: it holds the GIL while GDAL waits for this
process's server thread.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from urllib.parse import unquote

import mercantile
import pytest
from owslib.ogcapi.features import Features

from tests.conftest import need
from tests.web import scale_world as W

QUERY = "households >= 100 AND community_id = '370214001001'"


@pytest.fixture
def server(store, app_factory, live_server):
    world = W.load(store)
    app = app_factory(store)
    seen: list[str] = []
    inner = app.wsgi_app

    def record(environ, start_response):
        seen.append(environ.get("PATH_INFO", "") + "?" + unquote(environ.get("QUERY_STRING", "")))
        return inner(environ, start_response)

    app.wsgi_app = record
    srv = live_server(app)
    srv.seen, srv.world = seen, world
    return srv


def _gdal(code: str) -> dict:
    """Run ``code`` with pyogrio (GDAL inside its wheel) in a child process; it prints one JSON line."""
    run = subprocess.run(
        [sys.executable, "-c", "import json, pyogrio\n" + code], capture_output=True, text=True, timeout=180
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [4490, 4549])
def test_gdal_reads_grids_in_cgcs2000_and_its_gauss_kruger_zone(server, code):
    got = _gdal(
        f"df = pyogrio.read_dataframe('OAPIF:{server.url}/ogc', layer='grids', CRS='EPSG:{code}')\n"
        "print(json.dumps({'epsg': df.crs.to_epsg(), 'ids': df['id'].tolist(), "
        "'bounds': [list(g.bounds) for g in df.geometry]}))"
    )
    assert got["epsg"] == code
    grids = W.frames()["plan_grids"]
    want = grids[grids["plan_id"] == "p2"].set_index("code").to_crs(code)  # GIS order: east, north
    assert got["ids"] == sorted(want.index)
    for fid, b in zip(got["ids"], got["bounds"]):
        assert b == pytest.approx(list(want.loc[fid].geometry.bounds), abs=1e-6 if code == 4490 else 1e-3)
    assert any(f"crs=http://www.opengis.net/def/crs/EPSG/0/{code}" in u for u in server.seen if "/items" in u)


def test_gdal_sends_where_to_the_server_as_cql2(server):
    got = _gdal(
        f"df = pyogrio.read_dataframe('OAPIF:{server.url}/ogc', layer='buildings', where=\"{QUERY}\")\n"
        "print(json.dumps(sorted(df['id'])))"
    )
    assert got == ["b15", "b16"]
    sent = [u for u in server.seen if "/buildings/items" in u and "filter=" in u]
    assert sent and "households >= 100" in sent[-1] and "community_id = '370214001001'" in sent[-1]


def test_ogrinfo_where_runs_on_the_server(server):
    need(shutil.which("ogrinfo") is not None, "GDAL's ogrinfo is not installed (apt-get install gdal-bin)")
    run = subprocess.run(
        ["ogrinfo", "-ro", "-q", "-where", QUERY, f"OAPIF:{server.url}/ogc", "buildings"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("OGRFeature(buildings)") == 2
    assert "id (String) = b15" in run.stdout and "id (String) = b16" in run.stdout
    sent = [u for u in server.seen if "/buildings/items" in u and "filter=" in u]
    assert sent and "(households >= 100) AND (community_id = '370214001001')" in sent[-1]


def test_owslib_lists_queryables_and_filters(server):
    api = Features(f"{server.url}/ogc")
    q = api.collection_queryables("grids")
    assert {"id", "community_id", "households", "geometry"} <= set(q["properties"])
    counts = api.collection_queryables("complaint_counts")["properties"]
    assert "complaints" not in counts
    items = api.collection_items("buildings", filter=QUERY, limit=50)
    assert sorted(f["id"] for f in items["features"]) == ["b15", "b16"]
    js = json.dumps({"op": "<", "args": [{"property": "households"}, 62]})
    items = api.collection_items("buildings", filter=js, **{"filter-lang": "cql2-json"})
    assert sorted(f["id"] for f in items["features"]) == ["b11", "b21"]


def test_gdal_ogcapi_driver_reads_the_vector_tiles(server):
    x0, y0 = mercantile.xy(W.X0 - 0.005, W.Y0 - 0.005)
    x1, y1 = mercantile.xy(W.X0 + 0.015, W.Y0 + 0.005)
    # MINX…MAXY: the extent in the tile matrix set's CRS (GDAL takes the collection's CRS84 extent as such)
    got = _gdal(
        f"path = 'OGCAPI:{server.url}/ogc/collections/buildings'\n"
        f"df = pyogrio.read_dataframe(path, layer='Zoom level 16', MINX={x0}, MINY={y0}, MAXX={x1}, MAXY={y1})\n"
        "print(json.dumps({'epsg': df.crs.to_epsg(), 'ids': sorted(set(df['id'])), "
        "'grid': dict(zip(df['id'], df['grid_code']))}))"
    )
    assert got["epsg"] == 3857
    assert got["ids"] == sorted(server.world["buildings"]["id"])
    assert got["grid"]["b13"] == "370214001001002" and got["grid"]["b21"] == "370214001002001"
    assert any("/ogc/collections/buildings/tiles/WebMercatorQuad/16/" in u for u in server.seen)
