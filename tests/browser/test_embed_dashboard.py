"""docs/maps.md "Embed in your dashboard", followed in Chromium (issue 15): a planner issues a token on the
embed tokens page for a host site on another port, pastes the snippet into the host page, a click on the map
posts gridmap:select to the host; an expired and a revoked token show a bare message in the frame and post
gridmap:error to the host."""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
import maps_world
from tests.browser.pagekit import sign_in

PASSWORD = "planner-pass-2026!"
RECORDER = """<script>
window.received = [];
window.addEventListener("message", function (e) { window.received.push({origin: e.origin, data: e.data}); });
</script>"""


@pytest.fixture
def host(tmp_path):
    """A dashboard on another port (another origin) serving files from a folder."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _issue(page, app_url, *, area, origin, days="30"):
    page.goto(f"{app_url}/embed/tokens")
    page.select_option("#view", "grid")
    page.fill("#area", area)
    page.fill("#origin", origin)
    page.fill("#days", days)
    page.click("#issue-button")
    box = page.locator("#snippet-box")
    box.wait_for(state="visible")
    return box.get_attribute("data-token"), page.locator("#snippet").input_value(), box.get_attribute("data-src")


def _host_page(folder, name, snippet):
    # the walk-through: paste the snippet into the dashboard's page (here with a recorder of the messages)
    (folder / name).write_text(
        f"<!doctype html><meta charset='utf-8'><title>Dashboard</title>{RECORDER}<h1>Dashboard</h1>{snippet}",
        encoding="utf-8",
    )


def _messages(page, kind):
    page.wait_for_function(
        "(kind) => window.received.some(m => m.data && m.data.type === kind)", arg=kind, timeout=20000
    )
    return [m for m in page.evaluate("() => window.received") if m["data"].get("type") == kind]


@pytest.mark.browser
def test_embed_in_your_dashboard(app_factory, sqlite_store, live_server, browser, host):
    from gridmap.services.accounts import add_user

    maps_world.build(sqlite_store)
    add_user(sqlite_store, username="planner1", role="planner", password=PASSWORD)
    server = live_server(app_factory(sqlite_store))  # default GRIDMAP_EMBED_FRAME_ANCESTORS: 'self' only
    folder, host_url = host
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    planner = ctx.new_page()
    errors: list[str] = []
    planner.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(planner, server.url, "planner1", PASSWORD)

    # 1. issue a token for grid A, allowed on the dashboard's origin; the snippet carries the real token
    token_id, snippet, src = _issue(planner, server.url, area=maps_world.A, origin=host_url)
    assert "<iframe" in snippet and src in snippet and "gridmap:select" in snippet and "gridmap:error" in snippet
    assert planner.locator(f'#tokens tr[data-token="{token_id}"] .state').text_content() == "有效"
    _host_page(folder, "dashboard.html", snippet)

    # 2. the dashboard frames the map and hears a click
    dash = ctx.new_page()
    dash.on("pageerror", lambda e: errors.append(str(e)))
    dash.goto(f"{host_url}/dashboard.html")
    inner = dash.locator("iframe").element_handle().content_frame()
    inner.wait_for_function("() => window.gridmap && gridmap.sources.length > 0 && gridmap.idle()", timeout=20000)
    assert inner.evaluate("() => document.querySelector('.topbar') === null")
    xy = inner.evaluate(
        """(code) => { var m = gridmap.map, hit = null;
        gridmap.sources.filter(s => s.opts.layer === 'grids')[0].group.eachLayer(g => g.eachLayer(l => {
          if (l.feature.properties.code === code) hit = m.latLngToContainerPoint(l.getBounds().getCenter()); }));
        return [hit.x, hit.y]; }""",
        maps_world.A,
    )
    dash.frame_locator("iframe").locator(".folium-map").click(position={"x": xy[0], "y": xy[1]})
    selects = _messages(dash, "gridmap:select")
    assert selects[0]["origin"] == server.url and selects[0]["data"]["code"] == maps_world.A

    # 3. an expired token: a bare message in the frame, gridmap:error at the host
    _id, short_snippet, _src = _issue(planner, server.url, area=maps_world.A, origin=host_url, days="0.00001")
    _host_page(folder, "expired.html", short_snippet)
    planner.wait_for_timeout(1500)  # the token lived under a second
    dash.goto(f"{host_url}/expired.html")
    err = _messages(dash, "gridmap:error")[0]["data"]
    assert err["code"] == "invalid_token" and "过期" in err["message"]
    frame = dash.locator("iframe").element_handle().content_frame()
    assert frame.locator(".embed-error").count() == 1 and frame.locator(".topbar, a[href^='/login']").count() == 0

    # 4. revoke the first token on the page: the dashboard's map is refused the same way
    planner.goto(f"{server.url}/embed/tokens")
    planner.locator(f'#tokens tr[data-token="{token_id}"] button.revoke').click()
    planner.locator(f'#tokens tr[data-token="{token_id}"] .state').filter(has_text="已撤销").wait_for()
    dash.goto(f"{host_url}/dashboard.html")
    err = _messages(dash, "gridmap:error")[0]["data"]
    assert err["code"] == "invalid_token" and "撤销" in err["message"]
    assert not errors, errors
    ctx.close()


def test_a_refused_embed_is_bare_and_names_the_real_setting(app_factory, sqlite_store):
    from gridmap.services.accounts import issue_embed

    maps_world.build(sqlite_store)
    app = app_factory(sqlite_store)
    c = app.test_client()
    with app.app_context():
        token = issue_embed(sqlite_store, app.config["SECRET_KEY"], view="grid", hours=1)["token"]
    res = c.get(f"/embed/grids/{maps_world.A}", query_string={"token": token, "origin": "https://elsewhere.example"})
    page = res.get_data(as_text=True)
    assert res.status_code == 400 and "GRIDMAP_EMBED_FRAME_ANCESTORS" in page
    assert 'class="topbar"' not in page and "/login" not in page and '"gridmap:error"' in page
    assert "frame-ancestors *" in res.headers["Content-Security-Policy"]  # the host can show why
    res = c.get(f"/embed/grids/{maps_world.A}")  # no token
    assert res.status_code == 403 and '"invalid_token"' in res.get_data(as_text=True)


@pytest.mark.browser
def test_a_community_embed_selects_and_shows_only_its_area(app_factory, sqlite_store, live_server, browser, host):
    from gridmap.services.accounts import issue_embed

    maps_world.build(sqlite_store)
    community = maps_world.A[:12]  # grids A and B; C is the neighbouring community's
    app = app_factory(sqlite_store)
    server = live_server(app)
    folder, host_url = host
    with app.app_context():
        token = issue_embed(
            sqlite_store, app.config["SECRET_KEY"], view="map", grids=[community], hours=1, origin=host_url
        )["token"]
    src = f"{server.url}/embed/communities/{community}?token={token}&layers=grids,buildings"
    _host_page(folder, "community.html", f'<iframe src="{src}" width="900" height="700"></iframe>')
    grids = sqlite_store.read("plan_grids")
    centre = {
        code: (g.representative_point().y, g.representative_point().x) for code, g in zip(grids["code"], grids.geometry)
    }
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    dash = ctx.new_page()
    fetched: list[str] = []
    dash.on("request", lambda r: fetched.append(r.url) if "/api/layers/" in r.url else None)
    dash.goto(f"{host_url}/community.html")
    inner = dash.locator("iframe").element_handle().content_frame()
    inner.wait_for_function("() => window.gridmap && gridmap.sources.length > 0 && gridmap.idle()", timeout=20000)
    inner.evaluate("() => gridmap.map.setZoom(gridmap.map.getZoom() - 1, {animate: false})")  # C in view too
    inner.wait_for_function("() => gridmap.idle()", timeout=20000)
    drawn = inner.evaluate(
        """() => { var codes = [];
        gridmap.sources.filter(s => s.opts.layer === 'grids')[0].group.eachLayer(g => g.eachLayer(l => {
          codes.push(l.feature.properties.code); })); return codes.sort(); }"""
    )
    assert drawn == sorted([maps_world.A, maps_world.B])
    assert fetched and all(f"area={community}" in u for u in fetched), fetched
    frame = dash.frame_locator("iframe").locator(".folium-map")
    for code in (maps_world.C, maps_world.A):  # the neighbour's grid first: a click there posts nothing
        xy = inner.evaluate(
            "([lat, lon]) => { var p = gridmap.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
            list(centre[code]),
        )
        assert 0 < xy[0] < 900 and 0 < xy[1] < 700, (code, xy)  # on the map
        frame.click(position={"x": xy[0], "y": xy[1]})
    selects = _messages(dash, "gridmap:select")
    assert [m["data"]["code"] for m in selects] == [maps_world.A]
    ctx.close()
