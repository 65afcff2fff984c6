"""The map pages, the layer API and the embeds through the Flask test client, on a hand-drawn world."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maps_world
from gridmap.web.assets import external_urls
from maps_world import SECRETS, A, B, C


@pytest.fixture
def world(sqlite_store):
    return maps_world.build(sqlite_store)


@pytest.fixture
def app(app_factory, sqlite_store, world):
    return app_factory(sqlite_store, EMBED_REQUIRE_TOKEN=False)


@pytest.fixture
def c(app):
    return app.test_client()


def token(app, view="grid", **kw):
    from gridmap.services.accounts import issue_embed
    from gridmap.web import get_store

    with app.app_context():
        return issue_embed(get_store(), app.config["SECRET_KEY"], view=view, hours=1, **kw)["token"]


PAGES = [
    "/",
    f"/grids/{A}",
    f"/embed/grids/{A}",
    "/embed/communities/370214001001",
    "/embed/streets/370214001",
    "/embed/demo",
    "/grids/999?lang=en",
    "/?lang=en",
]


# -- offline -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
def test_no_page_refers_to_anything_but_this_app(c, path):
    r = c.get(path)
    assert r.status_code in (200, 404)
    html = r.get_data(as_text=True)
    assert external_urls(html, allowed=["http://localhost"]) == []
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        if src.startswith("/") and not src.startswith("//"):
            target = src.split("?")[0]
            if target.startswith(("/static/", "/vendor/")):
                assert c.get(target).status_code == 200, target


def test_external_urls_finds_cdn_references():
    html = '<script src="https://cdn.jsdelivr.net/npm/leaflet.js"></script><link href="//unpkg.com/x.css">'
    assert external_urls(html) == ["https://cdn.jsdelivr.net/npm/leaflet.js", "//unpkg.com/x.css"]
    assert external_urls('<svg xmlns="http://www.w3.org/2000/svg">') == []


def test_folium_defaults_point_to_local_files(app):
    import folium
    from folium import plugins

    for cls in (folium.Map, plugins.MarkerCluster, plugins.HeatMap):
        for _name, url in list(cls.default_js) + list(cls.default_css):
            assert url.startswith("/"), (cls, url)
    html = folium.Map(tiles=None).get_root().render()
    assert external_urls(html) == []


def test_vendor_files_are_cacheable(c):
    r = c.get("/vendor/leaflet/1.9.3/leaflet.js")
    assert r.status_code == 200 and "max-age=31536000" in r.headers["Cache-Control"]
    assert c.get("/vendor/leaflet/0.0.1/leaflet.js").status_code == 404
    assert c.get("/vendor/nope/1.0/x.js").status_code == 404


def test_basemap_is_the_only_external_url_and_is_allowed_by_csp(app_factory, sqlite_store, world):
    app = app_factory(
        sqlite_store,
        BASEMAP="xyz",
        BASEMAP_URL="https://tiles.example.gov.cn/{z}/{x}/{y}.png",
        EMBED_REQUIRE_TOKEN=False,
    )
    r = app.test_client().get("/")
    html = r.get_data(as_text=True)
    assert external_urls(html, allowed=["https://tiles.example.gov.cn/"]) == []
    assert "https://tiles.example.gov.cn/{z}/{x}/{y}.png" in html
    assert "https://tiles.example.gov.cn" in r.headers["Content-Security-Policy"].split("img-src")[1].split(";")[0]
    r = app.test_client().get(f"/embed/grids/{A}?basemap=none")
    assert "tiles.example.gov.cn/{z}" not in r.get_data(as_text=True)


def test_amap_basemap_shifts_overlays(app_factory, sqlite_store, world):
    app = app_factory(sqlite_store, BASEMAP="amap")
    html = app.test_client().get("/").get_data(as_text=True)
    assert '"shift": "gcj02"' in html


def test_bad_basemap_setting_is_a_clear_error(app_factory, sqlite_store):
    from gridmap.web.assets import BasemapError

    with pytest.raises(BasemapError, match="TIANDITU_KEY"):
        app_factory(sqlite_store, BASEMAP="tianditu")


# -- pages -------------------------------------------------------------------------------------------------
def test_overview_page(c):
    r = c.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "网格总览" in html
    for layer in (
        "streets",
        "communities",
        "estates",
        "grids",
        "buildings",
        "stewards",
        "complaints",
        "merchants",
        "volunteer_teams",
        "heatmap",
    ):
        assert f'"layer": "{layer}"' in html
    assert "L.control.layers" in html
    assert '"search": true' in html
    assert "FeatureCollection" not in html and "coordinates" not in html  # nothing inlined
    nonce = re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1)
    assert all(
        f'nonce="{nonce}"' in tag for tag in re.findall(r"<script\b[^>]*>", html) if "application/json" not in tag
    )


def test_grid_page_for_the_public_suppresses_small_request_counts(c):
    html = c.get(f"/grids/{A}").get_data(as_text=True)
    assert 'data-figure="households">250<' in html
    assert 'data-figure="complaints_open">&lt;5<' in html and 'data-figure="complaints_overdue">&lt;5<' in html
    assert "data-complaint=" not in html and "10 天" not in html
    stats = c.get(f"/api/grids/{A}/stats").get_json()
    assert (stats["complaints_open"], stats["complaints_overdue"], stats["longest_wait_days"]) == ("<5", "<5", None)
    assert stats["households"] == 250


def test_grid_page_figures_and_lists(c, login):
    login(c, "admin")  # may see personal data: exact counts and the list of requests
    assert c.get(f"/api/grids/{A}/stats").get_json()["complaints_overdue"] == 1
    r = c.get(f"/grids/{A}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'data-figure="households">250<' in html
    assert 'data-figure="buildings">2<' in html
    assert 'data-figure="complaints_open">2<' in html and 'data-figure="complaints_overdue">1<' in html
    assert html.count("data-complaint=") == 2 and 'data-complaint="c3"' not in html
    assert 'data-role="building_leader"' in html and "楼长 <b>2</b>" in html and "网格长 <b>1</b>" in html
    assert "红色驿站便利店" in html and "远方超市" not in html  # m2 is 20 km away
    assert "红帆志愿服务队" in html
    assert "10 天" in html and "超期" in html
    for secret in SECRETS:
        assert secret not in html
    assert 'locate": true' in html


def test_grid_page_sends_its_own_buildings_as_the_api_answers_them(c, sqlite_store):
    # a name with markup: the page stays one script element and the name arrives as written
    row = sqlite_store.read("buildings", ids=["b0_0"])
    sqlite_store.write("buildings", row.assign(name="</script><script>alert(1)</script>&"))
    r = c.get(f"/grids/{A}", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"
    import gzip

    html = gzip.decompress(r.data).decode()
    assert "<script>alert(1)" not in html
    seed = json.loads(re.search(r'id="gridmap-seed-buildings">(.*?)</script>', html, re.S).group(1))
    api = c.get(f"/api/layers/buildings?grid={A}&zoom=17&bbox=-180,-90,180,90").get_json()
    by_id = lambda fc: {f["properties"]["id"]: f for f in fc["features"]}  # noqa: E731
    assert by_id(seed) == by_id(api) and set(by_id(seed)) == {"b0_0", "b1_0"}
    assert by_id(seed)["b0_0"]["properties"]["name"] == "</script><script>alert(1)</script>&"
    assert seed["total"] == 2 and seed["zoom"] == 17


def test_grid_page_in_english(c):
    html = c.get(f"/grids/{B}?lang=en").get_data(as_text=True)
    assert "Households" in html and "Grid leader" in html and '<html lang="en">' in html
    panel = c.get(f"/grids/{B}?lang=en").get_data(as_text=True).split('class="grid-panel"')[1]
    assert "户数" not in panel and "楼栋" not in panel


def test_language_cookie_is_remembered(app):
    c = app.test_client()
    c.get("/?lang=en")
    assert "Grid overview" in c.get("/").get_data(as_text=True)
    c.get("/?lang=zh_CN")
    assert "网格总览" in c.get("/").get_data(as_text=True)


@pytest.mark.parametrize("lang,text", [("zh_CN", "页面不存在"), ("en", "Page not found")])
def test_unknown_grid_is_a_404_page_in_the_ui_language(c, lang, text):
    r = c.get(f"/grids/370214001001999?lang={lang}")
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert text in r.get_data(as_text=True)
    assert c.get(f"/no/such/page?lang={lang}").status_code == 404
    assert text in c.get(f"/no/such/page?lang={lang}").get_data(as_text=True)


def test_pages_without_a_published_plan(app_factory, sqlite_store):
    c = app_factory(sqlite_store).test_client()
    assert c.get("/").status_code == 200
    assert "gridmap demo" in c.get("/").get_data(as_text=True)
    assert c.get(f"/grids/{A}").status_code == 404
    assert c.get("/api/layers/grids").get_json()["features"] == []


# -- API ---------------------------------------------------------------------------------------------------
def geo(c, url):
    r = c.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "application/geo+json"
    return json.loads(r.get_data(as_text=True))


def test_layers_api_lists_layers(c):
    names = [x["name"] for x in c.get("/api/layers").get_json()["layers"]]
    assert names == [
        "grids",
        "streets",
        "communities",
        "estates",
        "buildings",
        "stewards",
        "complaints",
        "merchants",
        "volunteer_teams",
        "facilities",
    ]


def test_grids_layer_with_load_against_bounds(c):
    fc = geo(c, "/api/layers/grids?zoom=16")
    got = {f["properties"]["code"]: (f["properties"]["households"], f["properties"]["status"]) for f in fc["features"]}
    assert got == {A: (250, "under"), B: (400, "ok"), C: (700, "over")}
    assert fc["total"] == 3


def test_bbox_filters_every_layer(c, world, login):
    login(c, "planner")  # complaint points are for staff; the public gets counts per grid
    blds = world["world"]["buildings"]
    west = blds[blds["id"].isin(["b0_0", "b1_0"])].total_bounds  # grid A only
    box = ",".join(str(v) for v in west)
    ids = sorted(f["properties"]["id"] for f in geo(c, f"/api/layers/buildings?bbox={box}&zoom=18")["features"])
    assert ids == ["b0_0", "b1_0"]
    codes = [f["properties"]["code"] for f in geo(c, f"/api/layers/grids?bbox={box}&zoom=18")["features"]]
    assert codes == [A]
    assert sorted(f["properties"]["id"] for f in geo(c, f"/api/layers/complaints?bbox={box}&zoom=18")["features"]) == [
        "c1",
        "c2",
    ]
    assert len(geo(c, "/api/layers/buildings?bbox=0,0,1,1&zoom=18")["features"]) == 0


def test_every_layer_brute_force_count(c, sqlite_store, login):
    login(c, "planner")  # complaint points are for staff; the public gets counts per grid
    import shapely

    box = (120.0, 36.0, 121.0, 37.0)
    for name, expected in [
        ("streets", 1),
        ("communities", 2),
        ("estates", 2),
        ("buildings", 8),
        ("stewards", 5),
        ("complaints", 3),
        ("merchants", 2),
        ("volunteer_teams", 1),
        ("facilities", 0),
    ]:
        fc = geo(c, f"/api/layers/{name}?bbox={','.join(map(str, box))}&zoom=18")
        frame = sqlite_store.read("complaints" if name == "complaints" else name)
        inside = shapely.intersects(shapely.box(*box), frame.geometry.to_numpy()) if len(frame) else []
        brute = (
            int(sum(inside)) if name != "complaints" else int(sum(inside & (frame["state"] != "resolved").to_numpy()))
        )
        assert len(fc["features"]) == fc["total"] == brute == expected, name
    assert len(geo(c, "/api/layers/complaints?zoom=18&state=all")["features"]) == 4


def test_complaints_carry_days_waiting_and_overdue(c, login):
    login(c, "planner")  # complaint points are for staff; the public gets counts per grid
    props = {f["properties"]["id"]: f["properties"] for f in geo(c, "/api/layers/complaints?zoom=18")["features"]}
    assert (props["c1"]["days_waiting"], props["c1"]["overdue"]) == (10, True)
    assert (props["c2"]["days_waiting"], props["c2"]["overdue"]) == (1, False)
    assert props["c4"]["grid_code"] == C


def test_no_personal_field_leaves_the_api(c):
    from gridmap.domain.schema import LAYERS

    for name in ("stewards", "complaints", "merchants", "buildings", "volunteer_teams"):
        text = c.get(f"/api/layers/{name}?zoom=18&state=all").get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in text, (name, secret)
        props = {k for f in json.loads(text)["features"] for k in f["properties"]}
        assert not props & set(LAYERS[name].personal_columns), name
    text = c.get(f"/api/grids/{A}/stats").get_data(as_text=True) + c.get("/api/search?q=测试").get_data(as_text=True)
    assert not any(s in text for s in SECRETS)


def test_zoom_hides_dense_layers_and_simplifies(c, login):
    login(c, "planner")  # complaint points are for staff; the public gets counts per grid
    fc = geo(c, "/api/layers/buildings?zoom=12")
    assert fc["features"] == [] and fc["hidden"] == "zoom" and fc["min_zoom"] == 15
    coarse = geo(c, "/api/layers/streets?zoom=10")["features"][0]["geometry"]["coordinates"]
    fine = geo(c, "/api/layers/streets?zoom=19")["features"][0]["geometry"]["coordinates"]

    def decimals(ring):
        return max(len(str(v).split(".")[1]) if "." in str(v) else 0 for p in ring for v in p)

    assert decimals(coarse[0]) <= 4 < decimals(fine[0])


def test_shift_gcj02_moves_features_a_few_hundred_metres(c, login):
    login(c, "planner")  # complaint points are for staff; the public gets counts per grid
    plain = geo(c, "/api/layers/complaints?zoom=18")["features"][0]["geometry"]["coordinates"]
    moved = geo(c, "/api/layers/complaints?zoom=18&shift=gcj02")["features"][0]["geometry"]["coordinates"]
    dx = (moved[0] - plain[0]) * 111_000 * 0.806
    dy = (moved[1] - plain[1]) * 111_000
    assert 200 < (dx * dx + dy * dy) ** 0.5 < 800


@pytest.mark.parametrize(
    "url,status",
    [
        ("/api/layers/nope", 404),
        ("/api/layers/grids?bbox=1,2,3", 400),
        ("/api/layers/grids?bbox=a,b,c,d", 400),
        ("/api/layers/grids?bbox=3,2,1,4", 400),
        ("/api/layers/grids?zoom=99", 400),
        ("/api/layers/grids?zoom=x", 400),
        ("/api/layers/grids?shift=bd09", 400),
        ("/api/layers/complaints?state=weird", 400),
        ("/api/grids/370214001001999/stats", 404),
        ("/api/grids/abc/stats", 404),
        ("/api/search?q=" + "x" * 101, 400),
    ],
)
def test_api_errors_use_the_shared_shape(c, url, status):
    r = c.get(url)
    assert r.status_code == status
    body = r.get_json()
    assert body["error"]["status"] == status and body["error"]["message"]


def test_grid_stats_brute_force(c, sqlite_store, login):
    login(c, "planner")  # exact figures (the public's are suppressed, see above)
    s = c.get(f"/api/grids/{C}/stats").get_json()
    blds = sqlite_store.read("buildings", ids=maps_world.GRIDS[C])
    assert s["households"] == int(blds["households"].sum()) == 700
    assert s["buildings"] == 4 and s["status"] == "over" and (s["min"], s["max"]) == (300, 500)
    assert s["stewards"]["volunteer"] == 1 and s["complaints_open"] == 1 and s["complaints_overdue"] == 0


def test_a_grid_counts_the_stewards_who_serve_it_by_the_cards_rule(c, sqlite_store, login):
    """One rule for "who serves" (services.maps.building.serving_stewards), on the grid page and the building card:
    A's grid leader lives in grid B but serves A — A's 网格长, not B's (B used to count him by his home)."""

    login(c, "planner")
    a, b, cc = (c.get(f"/api/grids/{g}/stats").get_json()["stewards"] for g in (A, B, C))
    assert (a["grid_leader"], a["building_leader"]) == (1, 2)
    assert (b["grid_leader"], b["party_central_household"]) == (0, 1)
    assert cc["volunteer"] == 1  # lives in C and names nothing else: C's
    # and the card of a building in A names the same grid leader, the card of his home in B does not
    leader = next(r for r in sqlite_store.read("stewards").to_dict("records") if r["role"] == "grid_leader")
    in_a = c.get(f"/buildings/{maps_world.GRIDS[A][0]}").get_data(as_text=True)
    home = c.get(f"/buildings/{leader['building_id']}").get_data(as_text=True)
    assert 'data-role="grid_leader"' in in_a and 'data-role="grid_leader"' not in home


def test_community_bounds_override_the_setting(c, sqlite_store):

    row = sqlite_store.read("communities", ids=["370214001001"])
    row["min_households"], row["max_households"] = 200, 260
    sqlite_store.write("communities", row)
    s = c.get(f"/api/grids/{A}/stats").get_json()
    assert (s["min"], s["max"], s["status"]) == (200, 260, "ok")
    assert c.get(f"/api/grids/{B}/stats").get_json()["status"] == "over"


def test_search(c):
    hits = c.get("/api/search?q=370214001002").get_json()["results"]
    # a community id finds the community first (issue 15), then its grids by code prefix
    assert [(h["kind"], h["id"]) for h in hits] == [("community", "370214001002"), ("grid", C)]
    assert hits[1]["url"] == f"/grids/{C}"
    est = c.get("/api/search?q=测试E1").get_json()["results"]
    assert [(h["kind"], h["id"]) for h in est] == [("estate", "E1")]
    bld = c.get("/api/search?q=测试E1小区 2").get_json()["results"]
    assert [(h["kind"], h["id"]) for h in bld] == [("building", "b0_1")]
    assert c.get("/api/search?q=b1_3").get_json()["results"][0]["id"] == "b1_3"
    assert c.get("/api/search?q=").get_json()["results"] == []
    assert c.get("/api/search?q=<script>").get_json()["results"] == []


# -- embeds ------------------------------------------------------------------------------------------------
def test_embed_pages_have_no_chrome_and_may_be_framed_by_the_allow_list(app_factory, sqlite_store, world):
    app = app_factory(sqlite_store, EMBED_FRAME_ANCESTORS="'self' https://screen.example.gov.cn")
    c = app.test_client()
    r = c.get(f"/embed/grids/{A}", query_string={"token": token(app), "origin": "https://screen.example.gov.cn"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'class="topbar"' not in html and '"select": true' in html
    assert '"selectOrigin": "https://screen.example.gov.cn"' in html
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://screen.example.gov.cn" in csp
    assert "X-Frame-Options" not in r.headers
    page = c.get("/")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_embed_needs_a_token_when_required(app_factory, sqlite_store, world):
    app = app_factory(sqlite_store)
    c = app.test_client()
    assert c.get(f"/embed/grids/{A}").status_code == 403
    assert c.get(f"/embed/grids/{A}", query_string={"token": token(app)}).status_code == 200
    narrow = token(app, grids=[B])
    assert c.get(f"/embed/grids/{A}", query_string={"token": narrow}).status_code == 403
    assert c.get(f"/embed/grids/{B}", query_string={"token": narrow}).status_code == 200
    street = token(app, view="map", grids=["370214001"])
    assert c.get("/embed/streets/370214001", query_string={"token": street}).status_code == 200
    assert c.get("/embed/communities/370214001002", query_string={"token": street}).status_code == 200
    only_grids = token(app, layers=["grids"])
    html = c.get(f"/embed/grids/{A}", query_string={"token": only_grids, "layers": "grids,buildings"}).get_data(
        as_text=True
    )
    assert '"layer": "grids"' in html and '"layer": "buildings"' not in html


def test_embed_url_parameters(c):
    html = c.get(f"/embed/grids/{A}?layers=grids,stewards").get_data(as_text=True)
    assert '"layer": "grids"' in html and '"layer": "stewards"' in html and '"layer": "complaints"' not in html
    assert f'"focus": "{A}"' in html
    assert c.get(f"/embed/grids/{A}?layers=grids,secret").status_code == 400
    assert c.get(f"/embed/grids/{A}?origin=https://evil.example.com").status_code == 400
    assert c.get("/embed/grids/370214001001999").status_code == 404
    assert c.get("/embed/communities/370214009999").status_code == 404
    assert c.get("/embed/streets/370214999").status_code == 404


def test_embed_demo_host_page(c):
    html = c.get("/embed/demo").get_data(as_text=True)
    assert f'src="/embed/grids/{A}?layers=' in html and "gridmap:select" in html and "embed-demo.js" in html
    assert c.get("/embed/demo?src=https://evil.example.com/").status_code == 400


def test_embed_demo_issues_a_preview_token_to_planners_only(app_factory, sqlite_store, world, login):
    import html as htmllib
    import re

    app = app_factory(sqlite_store, EMBED_REQUIRE_TOKEN=True)
    anon = app.test_client()
    page = anon.get("/embed/demo").get_data(as_text=True)
    assert '<iframe id="embedded"' not in page and "gridmap embed issue" in page
    assert sqlite_store.count("embed_tokens") == 0
    planner = app.test_client()
    login(planner, "planner")
    page = planner.get("/embed/demo").get_data(as_text=True)
    src = htmllib.unescape(re.search(r'<iframe id="embedded"[^>]* src="([^"]+)"', page).group(1))
    assert src.startswith(f"/embed/grids/{A}?") and "token=" in src
    assert sqlite_store.count("embed_tokens") == 1
    assert anon.get(src).status_code == 200  # the token works for anyone who has it (the iframe)
    assert anon.get(src.split("token=")[0] + "token=forged").status_code == 403


# -- translations -------------------------------------------------------------------------------------------
def test_english_catalog_is_complete_and_compiled():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    base = Path(__file__).resolve().parents[2] / "gridmap" / "translations" / "en" / "LC_MESSAGES"
    po = read_po(open(base / "messages.po", "rb"))
    mo = read_mo(open(base / "messages.mo", "rb"))
    po_pairs = {m.id: m.string for m in po if m.id}
    assert {m.id: m.string for m in mo if m.id} == po_pairs, "run pybabel compile (see docs/maps.md)"
    assert all(po_pairs.values()), [k for k, v in po_pairs.items() if not v]


def test_every_maps_string_is_translated():
    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    po = read_po(open(root / "gridmap/translations/en/LC_MESSAGES/messages.po", "rb"))
    have = {m.id for m in po if m.string}
    files = (
        [(root / "gridmap/web/pages.py", "python"), (root / "gridmap/web/embed.py", "python")]
        + [(p, "jinja2") for p in (root / "templates").glob("maps/*.html")]
        + [(root / "templates/base.html", "jinja2"), (root / "templates/error.html", "jinja2")]
    )
    missing = set()
    for path, method in files:
        for _lineno, msg, _c, _ctx in extract_from_file(method, str(path)):
            if isinstance(msg, str) and msg not in have:
                missing.add(msg)
    assert not missing, f"add English for {sorted(missing)} (docs/maps.md, translations)"


def test_layers_are_gzipped_when_the_client_accepts_it(c):
    import gzip

    plain = c.get("/api/layers/buildings?zoom=18")
    packed = c.get("/api/layers/buildings?zoom=18", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Content-Encoding" not in plain.headers
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data()) / 3


def test_complaints_are_light_below_detail_zoom(c, login):
    login(c, "planner")  # complaint points are for staff; the public gets counts per grid
    light = geo(c, "/api/layers/complaints?zoom=15")["features"][0]["properties"]
    full = geo(c, "/api/layers/complaints?zoom=17")["features"][0]["properties"]
    assert set(light) == {"id", "category", "state", "days_waiting", "overdue", "grid_code"}
    assert {"created_at", "due_at", "building_id"} <= set(full)


def test_top_bar_follows_the_user(app, login):
    anon = app.test_client()
    html = anon.get("/").get_data(as_text=True)
    assert 'href="/login?next=' in html and 'href="/planner"' not in html and 'action="/logout"' not in html
    planner = app.test_client()
    login(planner, "planner", username="wang")
    html = planner.get("/kpi").get_data(as_text=True)
    assert 'href="/planner"' in html and 'action="/logout"' in html and 'href="/login' not in html
    leader = app.test_client()
    login(leader, "grid_leader", {"grids": [A]}, username="li")
    html = leader.get("/").get_data(as_text=True)
    assert f'href="/grids/{A}"' in html and 'href="/planner"' not in html
    r = leader.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)})
    assert r.status_code in (302, 303)
    assert 'href="/login?next=' in leader.get("/").get_data(as_text=True)


def test_public_complaints_are_counts_per_grid_at_every_zoom(c, login):
    """Public and embedded maps show only aggregates (issue #7): at the points zoom the public still gets
    counts per grid, small ones shown as "<5"; staff get the points."""
    public = geo(c, "/api/layers/complaints?zoom=18")
    assert public["aggregate"] == "grid"
    assert all(set(f["properties"]) >= {"count"} and "category" not in f["properties"] for f in public["features"])
    assert all(f["properties"]["count"] == "<5" for f in public["features"])
    login(c, "grid_leader", {"grids": [A]})
    staff = geo(c, "/api/layers/complaints?zoom=18")
    assert "aggregate" not in staff and {f["properties"]["id"] for f in staff["features"]} == {"c1", "c2", "c4"}
