"""Findings of the review of the grid leader's journey (phone, signed in), walked with taps in Chromium at 390×844:
a tap on a building of the grid map opens the building (and reaches its card), not the grid around it; signing
in from the header lands on 我的待办.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pagekit import sign_in

from complaints_world import G1, build, lonlat

ADMIN = SimpleNamespace(id="a1", username="a1", role="admin", scope={})
PUBLIC = SimpleNamespace(id=None, role="public", scope={})
#: the settings of the running app (the requests are made through the service with them)
SETTINGS: dict = {}

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PASSWORD = "review-密码-2468"


@pytest.fixture
def world(sqlite_store, app_factory, live_server):
    from gridmap.services.accounts import add_user

    store = sqlite_store
    build(store)
    add_user(store, username="leader1", role="grid_leader", password=PASSWORD, scope={"grids": [G1]})
    app = app_factory(store)
    SETTINGS.clear()
    SETTINGS.update(app.config["GRIDMAP_SETTINGS"])
    return store, live_server(app)


def _wait(page, test, what, tries=150):
    for _ in range(tries):  # no wait_for_function: the pages' CSP forbids eval
        if test():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def _phone(browser):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, page, errors


def _tap_map(page, lon, lat):
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridmap.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator(".folium-map").first.bounding_box()
    page.touchscreen.tap(box["x"] + x, box["y"] + y)


def _view(page, lonlat_, zoom):
    lon, lat = lonlat_
    page.evaluate("([lat, lon, z]) => window.gridmap.map.setView([lat, lon], z, {animate: false})", [lat, lon, zoom])


def _idle(page):
    _wait(
        page,
        lambda: page.evaluate(
            "() => document.documentElement.dataset.gmIdle === '1' && (window.gridmap.drawn.grids || 0) > 0"
        ),
        "the map's layers",
    )


@pytest.mark.parametrize("zoom", [18, 19])
def test_a_tap_on_a_building_opens_the_building_and_its_card_not_the_grid(browser, world, artifacts, zoom):
    store, server = world
    ctx, page, errors = _phone(browser)
    try:
        sign_in(page, server.url, "leader1", PASSWORD)
        page.locator(".gm-worklist, main").first.wait_for()
        page.goto(f"{server.url}/grids/{G1}")
        _wait(page, lambda: page.evaluate("() => !!(window.gridmap && window.gridmap.map)"), "the map")
        _idle(page)
        b1 = lonlat(20, 20)  # the middle of building b1 (x 10–30, y 10–30 in the hand-drawn world)
        # zoomed in on b1 as the reviewer did: the grids are loaded again for the new zoom, after the buildings
        _view(page, b1, zoom)
        page.wait_for_timeout(200)
        _idle(page)
        _tap_map(page, *b1)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        page.screenshot(path=str(artifacts / f"review-building-tap-z{zoom}.png"))
        assert "查看网格" not in popup.text_content()
        link = popup.locator("a.gm-card-link")
        assert link.get_attribute("href") == "/buildings/b1"
        link.tap()
        page.locator("#building-card").wait_for()
        assert page.url.endswith("/buildings/b1")
        # a tap on the grid away from its buildings still opens the grid
        page.go_back()
        _wait(page, lambda: page.evaluate("() => !!(window.gridmap && window.gridmap.map)"), "the map")
        _idle(page)
        ground = lonlat(50, 60)
        _view(page, ground, 18)
        page.wait_for_timeout(200)
        _idle(page)
        _tap_map(page, *ground)
        popup.wait_for()
        _wait(page, lambda: "查看网格" in popup.text_content(), "the grid's popup")
        assert G1 in popup.text_content()
        assert not errors, errors
    finally:
        ctx.close()


def test_signing_in_from_the_top_bar_lands_on_the_work_list_and_a_deep_link_is_kept(browser, world):
    store, server = world
    ctx, page, errors = _phone(browser)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    try:
        page.goto(f"{server.url}/")
        page.locator("a.signin").tap()  # the top bar's 登录 (its next is the overview)
        page.locator("input[name=username]").wait_for()
        assert "/login?next=" in page.url
        page.fill("input[name=username]", "leader1")
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit]").tap()
        page.locator(".gm-worklist").wait_for()
        assert page.url == f"{server.url}/complaints"
        page.locator("form.account button[type=submit]").tap()
        page.wait_for_url(f"{server.url}/")
        # a deep link is honoured, also after switching the sign-in page to English and back
        page.goto(f"{server.url}/login?next=/buildings/b1")
        page.locator("p.lang a[href*='lang=en']").tap()
        page.wait_for_url("**lang=en**")
        assert "next=" in page.url and page.locator("h1").text_content() == "Sign in"
        page.locator("p.lang a[href*='lang=zh_CN']").tap()
        page.wait_for_url("**lang=zh_CN**")
        page.fill("input[name=username]", "leader1")
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit]").tap()
        page.locator("#building-card").wait_for()
        assert page.url == f"{server.url}/buildings/b1"
        assert not missing, missing  # the sign-in page names its icon: no /favicon.ico 404
        assert not errors, errors
    finally:
        ctx.close()


def _request(store, *moves):
    """A request on b1 (grid G1) moved through ``moves`` by an official (who may also make a department's)."""
    from gridmap.services.complaints import submit, transition

    data = {"category": "sanitation", "description": "楼道堆物", "building_id": "b1", "contact_phone": "13912345678"}
    cid = str(submit(store, data, user=PUBLIC, settings=SETTINGS, channel="map")["id"])
    for to in moves:
        transition(store, cid, to, user=ADMIN, settings=SETTINGS)
    return cid


def test_a_returned_request_is_passed_on_by_taps_and_no_supervision_is_offered_beyond_the_street(
    browser, world, artifacts
):
    store, server = world
    returned = _request(store, "dispatched", "returned")
    street = _request(store, "dispatched", "supervised", "supervised")  # 督办 by the community, then the street
    community = _request(store, "dispatched", "supervised")
    assert int(store.get("complaints", street)["escalation"]) == 2
    ctx, page, errors = _phone(browser)
    try:
        sign_in(page, server.url, "leader1", PASSWORD)
        page.locator(".gm-worklist").wait_for()
        item = page.locator(f"#c-{returned}")
        assert item.locator("button.gm-act[data-to=reassigned]").text_content() == "改派"
        assert page.locator(f"#c-{street} button.gm-act[data-to=supervised]").count() == 0  # the highest level
        assert page.locator(f"#c-{community} button.gm-act[data-to=supervised]").count() == 1  # on to the street
        item.locator("button.gm-act[data-to=reassigned]").tap()
        assert item.locator(".gm-dept").is_visible()
        before = store.get("complaints", returned)["department"]
        choices = [o.get_attribute("value") for o in item.locator("select[name=department] option").all()]
        assert before not in choices and "police" in choices
        item.locator("select[name=department]").select_option("police")
        item.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "review-reassign-phone.png"))
        item.locator("form.gm-move button[type=submit]").tap()
        _wait(page, lambda: store.get("complaints", returned)["state"] == "reassigned", "the request passed on")
        assert store.get("complaints", returned)["department"] == "police"
        page.locator(".gm-worklist").wait_for()
        # the request's own page offers the same moves
        page.goto(f"{server.url}/complaints/{street}")
        page.screenshot(path=str(artifacts / "review-request-page-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1440, "height": 900})
        page.screenshot(path=str(artifacts / "review-request-page-desktop.png"))
        page.set_viewport_size(PHONE)
        assert page.locator("button.gm-act").count() > 0
        assert page.locator("button.gm-act[data-to=supervised]").count() == 0
        assert not errors, errors
    finally:
        ctx.close()
