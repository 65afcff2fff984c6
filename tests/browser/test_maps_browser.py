"""The maps in a real headless Chromium against a live local server: pages load, draw the features the
store holds, never request anything beyond loopback, and the embed's click reaches its host page."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
import maps_world
from tests.browser.pagekit import sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def site(app_factory, sqlite_store, live_server):
    maps_world.build(sqlite_store)
    app = app_factory(sqlite_store)
    return live_server(app), app


def _page(browser, viewport):
    ctx = browser.new_context(
        viewport=viewport,
        device_scale_factor=1,
        locale="zh-CN",
        geolocation={"latitude": 36.2833, "longitude": 120.3899},
        permissions=["geolocation"],
    )
    page = ctx.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return ctx, page, requests, errors


def _wait_idle(frame, timeout=15000):
    frame.wait_for_function(
        "() => window.gridmap && window.gridmap.sources.length > 0 && window.gridmap.idle()",
        timeout=timeout,
        polling=100,
    )


def _only_loopback(requests):
    hosts = {urlsplit(u).hostname for u in requests if not u.startswith(("data:", "blob:", "about:"))}
    assert hosts <= {"127.0.0.1"}, f"requests left loopback: {sorted(hosts)}"


def _drawn(frame) -> dict:
    return frame.evaluate(
        "() => ({drawn: gridmap.drawn, totals: gridmap.totals, tiled: gridmap.tiled, errors: gridmap.errors || 0})"
    )


def test_overview_draws_every_layer_offline(site, browser, artifacts):
    server, _ = site
    for name, vp in (("desktop", DESKTOP), ("phone", PHONE)):
        ctx, page, requests, errors = _page(browser, vp)
        page.goto(server.url + "/")
        _wait_idle(page)
        d = _drawn(page)
        assert d["errors"] == 0 and not errors, (d, errors)
        # the whole tiny world is in view: every feature of the store is drawn, as the API counted it
        assert d["drawn"]["grids"] == d["totals"]["grids"] == 3
        assert d["drawn"]["streets"] == 1 and d["drawn"]["communities"] == 2
        if page.evaluate("() => gridmap.map.getZoom()") >= 15:
            assert d["drawn"]["buildings"] == 8
        assert d["drawn"]["complaints"] == 2  # the public sees counts per grid (A, C), never points
        assert d["drawn"]["stewards"] == 5
        assert d["drawn"]["merchants"] == d["totals"]["merchants"] == 1  # m2 lies far outside the view
        assert d["drawn"]["volunteer_teams"] == 1
        assert page.locator(".gm-legend").is_visible()
        page.screenshot(path=str(artifacts / f"overview-{name}.png"))
        _only_loopback(requests)
        ctx.close()


def test_overview_grid_popup_and_search(site, browser, artifacts):
    server, app = site
    from gridmap.services.accounts import add_user
    from gridmap.web import get_store

    with app.app_context():
        add_user(get_store(app), username="wang", role="planner", password="planner-pass-1")
    ctx, page, requests, _errors = _page(browser, DESKTOP)
    # staff see complaint points (the public gets count bubbles at grid centres, which would take this click)
    sign_in(page, server.url, "wang", "planner-pass-1")
    page.wait_for_url(server.url + "/")
    page.goto(server.url + "/")
    _wait_idle(page)
    xy = page.evaluate(
        """(code) => { var m = gridmap.map, hit = null;
        gridmap.sources.filter(s => s.opts.layer === 'grids')[0].group.eachLayer(g => g.eachLayer(l => {
          if (l.feature.properties.code === code) hit = m.latLngToContainerPoint(l.getBounds().getCenter()); }));
        return [hit.x, hit.y]; }""",
        maps_world.C,
    )
    page.locator(".folium-map").click(position={"x": xy[0], "y": xy[1]})
    popup = page.locator(".gm-popup")
    popup.wait_for()
    assert maps_world.C in popup.inner_text()
    assert popup.locator("a.gm-link").get_attribute("href") == f"/grids/{maps_world.C}"
    page.wait_for_function("() => document.querySelectorAll('.gm-popup .gm-more dt').length > 0")
    page.screenshot(path=str(artifacts / "overview-popup.png"))
    page.locator(".gm-search input").fill("370214001001")
    page.locator(".gm-search input").press("Enter")
    page.locator(".gm-results button").first.wait_for()
    # the community itself first (issue 15), then its two grids
    assert page.locator(".gm-results button").count() == 3
    assert page.locator(".gm-results li .gm-kind").first.inner_text() == "社区"
    _only_loopback(requests)
    ctx.close()


def test_grid_page_on_a_phone_and_desktop(site, browser, artifacts):
    server, _ = site
    for name, vp in (("phone", PHONE), ("desktop", DESKTOP)):
        ctx, page, requests, errors = _page(browser, vp)
        page.goto(f"{server.url}/grids/{maps_world.A}")
        _wait_idle(page)
        d = _drawn(page)
        assert not errors and d["errors"] == 0
        # the grid's own 2 buildings as GeoJSON, all 8 from the vector tiles (the others are context)
        assert d["drawn"]["buildings"] == 2 and d["drawn"]["grids"] == 3
        tiled = page.evaluate("() => gridmap.tiled.buildings")
        assert tiled == 8, tiled
        assert page.locator("[data-figure=households]").inner_text() == "250"
        # the public sees small request counts suppressed and no list of requests (issue #7)
        assert page.locator("[data-figure=complaints_overdue]").inner_text() == "<5"
        assert page.locator("tr[data-complaint]").count() == 0
        assert page.locator(".gm-locate a").is_visible()
        # the map's script runs before the panel is parsed: it measured the box it has once the panel is there, and
        # the grid's own buildings are inside the view it fitted
        fit = page.evaluate(
            """() => { const box = document.querySelector('.map-box'), s = gridmap.map.getSize();
                       const own = L.latLngBounds([]);
                       gridmap.sources.forEach(src => {
                           if (src.gj && src.opts.layer === 'buildings') own.extend(src.gj.getBounds()); });
                       return [s.x, s.y, box.clientWidth, box.clientHeight, gridmap.map.getBounds().contains(own)]; }"""
        )
        assert fit[:2] == fit[2:4] and fit[4], fit
        # no horizontal scrolling on the phone
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.locator(".gm-locate a").click()
        page.wait_for_function("() => gridmap.located || gridmap.locateError")
        page.screenshot(path=str(artifacts / f"grid-{name}.png"), full_page=True)
        _only_loopback(requests)
        ctx.close()


def test_embed_click_reaches_the_host_page(site, browser, artifacts):
    server, app = site
    from gridmap.services.accounts import issue_embed
    from gridmap.web import get_store

    with app.app_context():
        token = issue_embed(get_store(), app.config["SECRET_KEY"], view="grid", hours=1)["token"]
    ctx, page, requests, errors = _page(browser, {"width": 1280, "height": 1300})
    src = f"/embed/grids/{maps_world.A}?layers=grids,buildings,stewards"
    page.goto(
        f"{server.url}/embed/demo?" + "&".join([f"src={src.replace('?', '%3F').replace('&', '%26')}", f"token={token}"])
    )
    frame = page.frame_locator("#embedded")
    inner = page.locator("#embedded").element_handle().content_frame()
    _wait_idle(inner)
    assert _drawn(inner)["drawn"]["grids"] == 3
    assert inner.evaluate("() => document.querySelector('.topbar') === null")  # no page chrome
    xy = inner.evaluate(
        """(code) => { var m = gridmap.map, hit = null;
        gridmap.sources.filter(s => s.opts.layer === 'grids')[0].group.eachLayer(g => g.eachLayer(l => {
          if (l.feature.properties.code === code) hit = m.latLngToContainerPoint(l.getBounds().getCenter()); }));
        return [hit.x, hit.y]; }""",
        maps_world.A,
    )
    frame.locator(".folium-map").click(position={"x": xy[0], "y": xy[1]})
    page.wait_for_function("() => window.gridmapMessages && window.gridmapMessages.length > 0")
    msg = page.evaluate("() => window.gridmapMessages[0]")
    assert msg["type"] == "gridmap:select" and msg["code"] == maps_world.A
    assert msg["figures"]["households"] == 250 and msg["figures"]["complaints_overdue"] == "<5"
    assert "250" in page.locator("#selection").inner_text()
    page.screenshot(path=str(artifacts / "embed-demo.png"))
    _only_loopback(requests)
    assert not errors
    ctx.close()


def test_not_found_page_in_english(site, browser):
    server, _ = site
    ctx, page, _requests, _errors = _page(browser, PHONE)
    resp = page.goto(f"{server.url}/grids/999999999999999?lang=en")
    assert resp.status == 404
    assert "Page not found" in page.inner_text("body")
    ctx.close()


def test_overview_zoomed_out_draws_counts_and_tiled_buildings(site, browser, artifacts):
    """Below zoom 15 complaints are bubbles of counts per grid ("<5" here), below 12 per community;
    at zoom 13–14 buildings come from the vector tiles (Leaflet.VectorGrid), all from loopback."""
    server, _ = site
    ctx, page, requests, errors = _page(browser, DESKTOP)
    page.goto(server.url + "/")
    _wait_idle(page)
    centre = page.evaluate("() => { var c = gridmap.map.getCenter(); return [c.lat, c.lng]; }")
    page.evaluate("([lat, lng]) => gridmap.map.setView([lat, lng], 14, {animate: false})", centre)
    page.wait_for_function(
        "() => gridmap.map.getZoom() === 14 && gridmap.aggregate.complaints === 'grid' "
        "&& gridmap.idle() && gridmap.tiled.buildings > 0",
        timeout=15000,
        polling=100,
    )
    d = page.evaluate("() => ({drawn: gridmap.drawn, tiled: gridmap.tiled, errors: gridmap.errors || 0})")
    assert d["errors"] == 0 and not errors, (d, errors)
    assert d["tiled"]["buildings"] == 8 and d["drawn"]["buildings"] == 0  # every building, from tiles
    assert d["drawn"]["complaints"] == 2  # grids A and C
    bubbles = page.locator(".gm-bubble")
    assert bubbles.count() == 2 and {bubbles.nth(i).inner_text() for i in range(2)} == {"<5"}
    assert any("/tiles/buildings/14/" in u for u in requests)
    page.screenshot(path=str(artifacts / "overview-z14-tiles-counts.png"))
    page.evaluate("([lat, lng]) => gridmap.map.setView([lat, lng], 11, {animate: false})", centre)
    page.wait_for_function(
        "() => gridmap.map.getZoom() === 11 && gridmap.aggregate.complaints === 'community' && gridmap.idle()",
        timeout=15000,
        polling=100,
    )
    assert page.locator(".gm-bubble-community").count() == 2
    assert page.evaluate("() => gridmap.tiled.buildings") == 0  # below the tile zooms
    _only_loopback(requests)
    ctx.close()
