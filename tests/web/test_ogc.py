"""OGC API – Features under /ogc on every backend, against the hand-drawn world of ``scale_world``."""

from __future__ import annotations

import json

import pytest
from shapely.geometry import box, shape

from tests.web import scale_world as W


@pytest.fixture
def ogc(store, app_factory):
    world = W.load(store)
    return app_factory(store).test_client(), world


def _get(client, url, **kw):
    resp = client.get(url, **kw)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def _walk(client, url):
    """Every feature of a collection, following ``next`` links; also the pages seen."""
    feats, pages = [], 0
    while url:
        body = _get(client, url).get_json()
        feats += body["features"]
        pages += 1
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return feats, pages


def test_landing_conformance_and_collections(ogc):
    client, _ = ogc
    landing = _get(client, "/ogc").get_json()
    rels = {link["rel"]: link for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    conf = _get(client, rels["conformance"]["href"]).get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    colls = _get(client, rels["data"]["href"]).get_json()["collections"]
    assert [c["id"] for c in colls] == ["streets", "communities", "estates", "buildings", "grids", "complaint_counts"]
    assert "complaints" not in {c["id"] for c in colls} and "households" not in {c["id"] for c in colls}
    bbox = colls[0]["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx([W.X0 - 0.005, W.Y0 - 0.005, W.X0 + 0.015, W.Y0 + 0.005])
    one = _get(client, "/ogc/collections/buildings").get_json()
    assert any(link["rel"] == "items" and link["type"] == "application/geo+json" for link in one["links"])


def test_items_page_with_next_links_until_every_building(ogc):
    client, world = ogc
    feats, pages = _walk(client, "/ogc/collections/buildings/items?limit=5")
    assert pages == 3
    assert [f["id"] for f in feats] == sorted(world["buildings"]["id"])
    first = _get(client, "/ogc/collections/buildings/items?limit=5&offset=5").get_json()
    assert (first["numberMatched"], first["numberReturned"]) == (12, 5)
    assert {link["rel"] for link in first["links"]} >= {"self", "next", "prev", "alternate"}
    by_id = world["buildings"].set_index("id")
    for f in feats:
        row = by_id.loc[f["id"]]
        assert f["properties"]["households"] == row["households"]
        assert f["properties"]["name"] == row["name"]
        assert shape(f["geometry"]).equals_exact(row.geometry, 1e-12)


def test_bbox_matches_brute_force(ogc):
    client, world = ogc
    q = (W.X0 + 0.0012, W.Y0 - 0.001, W.X0 + 0.0075, W.Y0 + 0.0012)
    body = _get(client, "/ogc/collections/buildings/items?limit=100&bbox=" + ",".join(map(str, q))).get_json()
    expected = sorted(i for i, g in zip(world["buildings"]["id"], world["buildings"].geometry) if g.intersects(box(*q)))
    assert [f["id"] for f in body["features"]] == expected and 0 < len(expected) < 12
    assert body["numberMatched"] == len(expected)


def test_bbox_selects_by_geometry_like_the_cql2_bbox_filter(store, app_factory):
    """OGC API – Features: ``bbox`` selects the features whose *geometry* intersects the box. An L-shaped estate
    whose bounding box reaches into the box but whose shape does not is not selected — by ``bbox=`` and by
    ``filter=BBOX(geometry, …)`` alike (the review found 15 grids against 14 for the same box)."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    W.load(store)
    x, y = W.X0 + 0.02, W.Y0
    ell = Polygon([(x, y), (x + 0.004, y), (x + 0.004, y + 0.001), (x + 0.001, y + 0.001), (x + 0.001, y + 0.004),
                   (x, y + 0.004)])  # fmt: skip
    near = box(x + 0.005, y + 0.005, x + 0.006, y + 0.006)  # plainly outside, for contrast
    store.write(
        "estates",
        gpd.GeoDataFrame(
            {"id": ["eL", "eN"], "name": ["L形小区", "远处小区"], "community_id": ["370214001002"] * 2,
             "property_company_id": [None, None]},
            geometry=[ell, near],
            crs="EPSG:4326",
        ),
    )  # fmt: skip
    client = app_factory(store).test_client()
    q = (x + 0.002, y + 0.002, x + 0.0035, y + 0.0035)  # inside the L's bounding box, in its empty corner
    assert box(*ell.bounds).intersects(box(*q)) and not ell.intersects(box(*q))
    by_param = _get(client, "/ogc/collections/estates/items?bbox=" + ",".join(map(str, q))).get_json()
    by_filter = _get(
        client, "/ogc/collections/estates/items?filter=BBOX(geometry," + ",".join(map(str, q)) + ")"
    ).get_json()
    assert [f["id"] for f in by_param["features"]] == [f["id"] for f in by_filter["features"]] == []
    assert by_param["numberMatched"] == by_filter["numberMatched"] == 0
    q2 = (x + 0.0005, y + 0.002, x + 0.0035, y + 0.0035)  # now over the L's upright arm
    ids = [
        f["id"]
        for f in _get(client, "/ogc/collections/estates/items?bbox=" + ",".join(map(str, q2))).get_json()["features"]
    ]
    assert ids == ["eL"]


def test_grids_are_the_published_plans(ogc):
    client, world = ogc
    feats, _ = _walk(client, "/ogc/collections/grids/items")
    pg = world["plan_grids"].query("plan_id == 'p2'").set_index("code")
    assert [f["id"] for f in feats] == sorted(pg.index)
    for f in feats:
        assert "plan_id" not in f["properties"]
        assert f["properties"]["households"] == pg.loc[f["id"], "households"]
        assert f["properties"]["community_id"] == pg.loc[f["id"], "community_id"]


def test_complaints_only_as_counts_per_grid(ogc, login):
    client, _ = ogc
    login(client, "admin")  # may see personal data: exact counts
    feats, _ = _walk(client, "/ogc/collections/complaint_counts/items")
    got = {f["id"]: {k: f["properties"][k] for k in ("complaints", "open", "closed", "overdue")} for f in feats}
    assert got == W.expected_counts()
    one = _get(client, "/ogc/collections/complaint_counts/items/370214001001002").get_json()
    assert one["properties"]["complaints"] == 2 and one["geometry"]["type"] == "Polygon"
    assert client.get("/ogc/collections/complaints/items").status_code == 404


def test_complaint_counts_below_5_are_suppressed_for_the_public(ogc, login):
    client, _ = ogc
    expected = {
        code: {k: "<5" if 0 < n < 5 else n for k, n in rec.items()} for code, rec in W.expected_counts().items()
    }
    assert any(0 < n < 5 for rec in W.expected_counts().values() for n in rec.values())
    for role in (None, "viewer"):
        if role:
            login(client, role)
        feats, _ = _walk(client, "/ogc/collections/complaint_counts/items")
        got = {f["id"]: {k: f["properties"][k] for k in ("complaints", "open", "closed", "overdue")} for f in feats}
        assert got == expected
        one = _get(client, "/ogc/collections/complaint_counts/items/370214001001002").get_json()
        assert one["properties"]["complaints"] == "<5"
        assert "&lt;5" in client.get("/ogc/collections/complaint_counts/items?f=html").get_data(as_text=True)
    schema = _get(client, "/ogc/api").get_json()["components"]["schemas"]["complaint_counts"]
    assert schema["properties"]["complaints"]["oneOf"][1] == {"type": "string", "enum": ["<5"]}


def test_no_personal_data_anywhere(ogc):
    client, _ = ogc
    texts = []
    for coll in _get(client, "/ogc/collections").get_json()["collections"]:
        feats, _ = _walk(client, f"/ogc/collections/{coll['id']}/items?limit=3")
        texts.append(json.dumps(feats, ensure_ascii=False))
        texts.append(client.get(f"/ogc/collections/{coll['id']}/items?f=html&limit=100").get_data(as_text=True))
    blob = "\n".join(texts)
    for secret in W.SECRET:
        assert secret not in blob


def test_single_item_and_errors_in_the_json_shape(ogc):
    client, _ = ogc
    f = _get(client, "/ogc/collections/estates/items/e2").get_json()
    assert f["type"] == "Feature" and f["id"] == "e2" and f["properties"]["name"] == "磊鑫伊顿阳光"
    assert {link["rel"] for link in f["links"]} >= {"self", "collection"}
    for url, status in (
        ("/ogc/collections/estates/items/nope", 404),
        ("/ogc/collections/nope", 404),
        ("/ogc/collections/buildings/items?bbox=1,2,3", 400),
        ("/ogc/collections/buildings/items?limit=0", 400),
        ("/ogc/collections/buildings/items?offset=x", 400),
        ("/ogc/collections/buildings/items?f=xml", 400),
    ):
        resp = client.get(url)
        assert resp.status_code == status, url
        assert resp.get_json()["error"]["status"] == status


def test_limit_is_clamped_and_offset_past_the_end_is_empty(ogc):
    client, _ = ogc
    body = _get(client, "/ogc/collections/buildings/items?limit=1000000").get_json()
    assert body["numberReturned"] == 12 and not any(link["rel"] == "next" for link in body["links"])
    body = _get(client, "/ogc/collections/buildings/items?offset=50").get_json()
    assert body["features"] == [] and body["numberMatched"] == 12


def test_html_by_f_and_by_accept_with_text_escaped(ogc):
    client, _ = ogc
    by_f = _get(client, "/ogc/collections/buildings/items?f=html&limit=100")
    by_accept = _get(client, "/ogc/collections/buildings/items?limit=100", headers={"Accept": "text/html"})
    for resp in (by_f, by_accept):
        assert resp.mimetype == "text/html"
        html = resp.get_data(as_text=True)
        assert "&lt;b&gt;6&lt;/b&gt;" in html and "<b>6</b>" not in html
        assert "b26" in html
    assert _get(client, "/ogc", headers={"Accept": "application/json"}).mimetype == "application/json"
    assert _get(client, "/ogc/collections/grids/items").mimetype == "application/geo+json"
    for url in (
        "/ogc?f=html",
        "/ogc/conformance?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/grids?f=html",
        "/ogc/collections/grids/items/370214001002001?f=html",
        "/ogc/api?f=html",
    ):
        assert "<html" in _get(client, url).get_data(as_text=True)


def test_openapi_document_describes_every_path_and_collection(ogc):
    client, _ = ogc
    resp = _get(client, "/ogc/api")
    assert resp.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    doc = json.loads(resp.get_data(as_text=True))
    assert doc["openapi"].startswith("3.0")
    assert "/collections/{collectionId}/items" in doc["paths"]
    assert doc["components"]["parameters"]["collectionId"]["schema"]["enum"] == [
        "streets",
        "communities",
        "estates",
        "buildings",
        "grids",
        "complaint_counts",
    ]
    from openapi_spec_validator import validate

    validate(doc)


def test_no_published_plan_means_no_grids(store, app_factory):
    W.load(store)
    store.write("plans", __import__("pandas").DataFrame({"id": ["p2"], "status": ["draft"]}))
    client = app_factory(store).test_client()
    for coll in ("grids", "complaint_counts"):
        body = _get(client, f"/ogc/collections/{coll}/items").get_json()
        assert body["features"] == [] and body["numberMatched"] == 0
