"""OGC API – Features Part 2 (CRS), Part 3 (queryables, CQL2 filters, sortby) and OGC API – Tiles under /ogc, on
every backend, against the hand-drawn world of ``scale_world``."""

from __future__ import annotations

import json
from urllib.parse import quote

import mercantile
import pytest
from pyproj import Transformer
from shapely.geometry import shape

from gridmap.present import mvt
from tests.web import scale_world as W

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.fixture
def ogc(store, app_factory):
    world = W.load(store)
    return app_factory(store).test_client(), world


def _get(client, url, status=200):
    resp = client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp


def _ids(client, url):
    body = _get(client, url).get_json()
    assert body["numberMatched"] == body["numberReturned"]
    return [f["id"] for f in body["features"]]


def test_conformance_and_crs_lists(ogc):
    client, _ = ogc
    conf = set(_get(client, "/ogc/conformance").get_json()["conformsTo"])
    assert {
        "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
        "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    } <= conf
    coll = _get(client, "/ogc/collections/grids").get_json()
    assert coll["storageCrs"] == CRS84
    assert coll["crs"][0] == CRS84
    assert {EPSG + c for c in ("4326", "4490", "4549", "3857")} <= set(coll["crs"])
    assert all(
        c == CRS84 or 4534 <= int(c.rsplit("/", 1)[1]) <= 4554 or c.endswith(("4326", "4490", "3857"))
        for c in coll["crs"]
    )


@pytest.mark.parametrize("code", ["4326", "4490", "4549", "3857"])
def test_features_in_a_requested_crs_follow_its_axis_order(ogc, code):
    client, world = ogc
    resp = _get(client, f"/ogc/collections/buildings/items?limit=20&crs={EPSG}{code}")
    assert resp.headers["Content-Crs"] == f"<{EPSG}{code}>"
    to = Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")  # authority axis order
    want = world["buildings"].set_index("id")
    for f in resp.get_json()["features"]:
        x, y = want.loc[f["id"]].geometry.exterior.coords[0]
        a, b = to.transform(x, y)
        assert shape(f["geometry"]).exterior.coords[0] == pytest.approx((a, b), abs=1e-6)
    if code in ("4326", "4490"):  # latitude first
        assert resp.get_json()["features"][0]["geometry"]["coordinates"][0][0][0] == pytest.approx(W.Y0, abs=0.01)
    one = _get(client, f"/ogc/collections/buildings/items/b11?crs=EPSG:{code}")
    assert one.headers["Content-Crs"] == f"<{EPSG}{code}>"


def test_bbox_crs_and_bad_crs(ogc):
    client, _ = ogc
    # community 001's buildings only, as a lat/lon box in EPSG:4326 and as a 4549 (northing, easting) box
    lat0, lon0, lat1, lon1 = W.Y0 - 0.0001, W.X0 - 0.0001, W.Y0 + 0.0016, W.X0 + 0.0026
    got = _ids(client, f"/ogc/collections/buildings/items?bbox={lat0},{lon0},{lat1},{lon1}&bbox-crs={EPSG}4326")
    assert got == [f"b1{n}" for n in range(1, 7)]
    to = Transformer.from_crs("OGC:CRS84", "EPSG:4549")
    n0, e0 = to.transform(lon0, lat0)
    n1, e1 = to.transform(lon1, lat1)
    assert _ids(client, f"/ogc/collections/buildings/items?bbox={n0},{e0},{n1},{e1}&bbox-crs=EPSG:4549") == got
    err = _get(client, "/ogc/collections/buildings/items?crs=EPSG:2000", 400).get_json()["error"]["message"]
    assert "crs" in err and "EPSG:2000" in err


def test_queryables_are_a_json_schema_without_counts(ogc):
    client, _ = ogc
    resp = _get(client, "/ogc/collections/buildings/queryables")
    assert resp.headers["Content-Type"].startswith("application/schema+json")
    q = resp.get_json()
    assert q["type"] == "object" and q["$id"].endswith("/ogc/collections/buildings/queryables")
    assert q["properties"]["households"]["type"] == "integer"
    assert q["properties"]["geometry"]["format"].startswith("geometry-")
    assert "head_name" not in q["properties"] and "phone" not in q["properties"]
    counts = _get(client, "/ogc/collections/complaint_counts/queryables").get_json()["properties"]
    assert not {"complaints", "open", "closed", "overdue"} & set(counts)


@pytest.mark.parametrize(
    ("lang", "text", "want"),
    [
        ("cql2-text", "households >= 100", ["b21", "b22", "b23", "b24", "b25", "b26"][:0] or None),
        ("cql2-text", "households >= 100 AND community_id = '370214001001'", ["b15", "b16"]),
        ("cql2-text", "id IN ('b11', 'b26') OR floors BETWEEN 11 AND 11", ["b11", "b15", "b25", "b26"]),
        ("cql2-text", "name LIKE '<b>%'", ["b16", "b26"]),
        # LIKE is case-sensitive on every backend (SQLite's own LIKE is not); CASEI() on both sides is not
        ("cql2-text", "name LIKE '<B>%'", []),
        ("cql2-text", "CASEI(name) LIKE CASEI('<B>%')", ["b16", "b26"]),
        ("cql2-text", "name NOT LIKE '<B>%' AND households >= 100", ["b15", "b16", "b25", "b26"]),
        ("cql2-text", "name LIKE '<_>_</_>'", ["b16", "b26"]),
        ("cql2-text", "name LIKE '<b>6</b\\%'", []),  # an escaped % is a plain percent sign
        ("cql2-text", "name LIKE '[b]%'", []),  # GLOB's [...] is literal text in a LIKE pattern
        ("cql2-text", "NOT (households < 110) AND estate_id IS NOT NULL", ["b16", "b26"]),
        ("cql2-text", f"S_INTERSECTS(geometry, POINT({W.X0 + 0.0002} {W.Y0 + 0.0002}))", ["b11"]),
        (
            "cql2-text",
            f"S_WITHIN(geometry, BBOX({W.X0 - 0.0001}, {W.Y0 - 0.0001}, {W.X0 + 0.0016}, {W.Y0 + 0.0016}))",
            ["b11", "b12", "b14", "b15"],
        ),
        (
            "cql2-json",
            json.dumps({"op": "=", "args": [{"property": "estate_id"}, "e2"]}),
            [f"b2{n}" for n in range(1, 7)],
        ),
        (
            "cql2-json",
            json.dumps(
                {
                    "op": "s_intersects",
                    "args": [
                        {"property": "geometry"},
                        {"type": "Point", "coordinates": [W.X0 + 0.0072, W.Y0 + 0.0012]},
                    ],
                }
            ),
            ["b24"],
        ),
    ],
)
def test_cql2_filters(ogc, lang, text, want):
    client, world = ogc
    b = world["buildings"]
    if want is None:  # computed: every building with at least 100 households
        want = sorted(b.loc[b["households"] >= 100, "id"])
    got = _ids(client, f"/ogc/collections/buildings/items?limit=100&filter-lang={lang}&filter={quote(text)}")
    assert got == want


def test_filter_crs_sortby_and_property_parameters(ogc):
    client, world = ogc
    # a BBOX given in EPSG:4326 (latitude first) around community 002's first row
    text = f"BBOX(geometry, {W.Y0 - 0.0001}, {W.X0 + 0.0069}, {W.Y0 + 0.0004}, {W.X0 + 0.0096})"
    url = f"/ogc/collections/buildings/items?filter={quote(text)}&filter-crs=EPSG:4326"
    assert _ids(client, url) == ["b21", "b22", "b23"]
    body = _get(client, "/ogc/collections/buildings/items?sortby=-households,%2Bid&limit=3").get_json()
    want = world["buildings"].sort_values(["households", "id"], ascending=[False, True])["id"][:3].tolist()
    assert [f["id"] for f in body["features"]] == want
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "sortby=" in nxt
    assert _ids(client, "/ogc/collections/grids/items?community_id=370214001001") == [
        "370214001001001",
        "370214001001002",
    ]


def test_bad_filters_say_what_is_wrong_and_counts_cannot_be_filtered(ogc):
    client, _ = ogc
    bad = {
        "filter=households%20%3E%3D": "filter",
        "filter=phone%20%3D%20%27x%27": "'phone' is not queryable",
        "filter=a%3D1&filter-lang=ecql": "filter-lang",
        "filter-crs=EPSG:4326": "need a filter",
        "sortby=phone": "cannot sort by 'phone'",
    }
    for query, text in bad.items():
        msg = _get(client, f"/ogc/collections/buildings/items?{query}", 400).get_json()["error"]["message"]
        assert text in msg, (query, msg)
    # the small-count rule: a filter on a count is refused, and filtering changes no count that is shown
    for query in ("filter=complaints%20%3C%205", "filter=overdue%20%3E%200", "sortby=open"):
        _get(client, f"/ogc/collections/complaint_counts/items?{query}", 400)
    whole = {
        f["id"]: f["properties"] for f in _get(client, "/ogc/collections/complaint_counts/items").get_json()["features"]
    }
    one = _get(client, "/ogc/collections/complaint_counts/items?filter=" + quote("code = '370214001001002'"))
    (feat,) = one.get_json()["features"]
    assert feat["properties"] == whole["370214001001002"]


def test_ogc_api_tiles(ogc):
    client, world = ogc
    sets = _get(client, "/ogc/tileMatrixSets").get_json()["tileMatrixSets"]
    assert [s["id"] for s in sets] == ["WebMercatorQuad"]
    tms = _get(client, "/ogc/tileMatrixSets/WebMercatorQuad").get_json()
    assert tms["crs"] == EPSG + "3857" and tms["tileMatrices"][16]["matrixWidth"] == 2**16
    coll = _get(client, "/ogc/collections/buildings").get_json()
    href = next(x["href"] for x in coll["links"] if x["rel"].endswith("/tilesets-vector"))
    tileset_link = _get(client, href).get_json()["tilesets"][0]["links"][0]["href"]
    tileset = _get(client, tileset_link).get_json()
    item = next(x for x in tileset["links"] if x["rel"] == "item")
    assert item["type"] == "application/vnd.mapbox-vector-tile"
    t = mercantile.tile(W.X0 + 0.0002, W.Y0 + 0.0002, 16)
    limit = next(lim for lim in tileset["tileMatrixSetLimits"] if lim["tileMatrix"] == "16")
    assert limit["minTileCol"] <= t.x <= limit["maxTileCol"] and limit["minTileRow"] <= t.y <= limit["maxTileRow"]
    url = item["href"].replace("{tileMatrix}", "16").replace("{tileRow}", str(t.y)).replace("{tileCol}", str(t.x))
    one = _get(client, url.split("localhost", 1)[1])
    assert one.data == _get(client, f"/tiles/buildings/16/{t.x}/{t.y}.pbf").data
    names = {f["properties"]["id"] for f in mvt.decode(one.data)["buildings"]["features"]}
    assert "b11" in names and names <= set(world["buildings"]["id"])
    both = mvt.decode(_get(client, f"/ogc/tiles/WebMercatorQuad/16/{t.y}/{t.x}").data)
    assert set(both) == {"buildings", "grids"}
    _get(client, "/ogc/collections/complaint_counts/tiles", 404)
    _get(client, "/ogc/tileMatrixSets/WorldCRS84Quad", 404)
