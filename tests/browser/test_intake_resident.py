"""The resident's intake page in a real Chromium (journey 1 review): a second request asks for its place again,
a picked search result only moves the map, a nearby open request is offered by number, category and state with
its radio button beside the words. Screenshots in ``artifacts``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import G1, build, lonlat
from tests.browser.pagekit import tap_map
from tests.conftest import _arm_csrf

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}


def _page(browser, phone: bool):
    ctx = (
        browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        if phone
        else browser.new_context(viewport=DESK)
    )
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, page, errors


def _submit(page, phone: bool) -> None:
    btn = page.locator("#gm-complaint-form button[type=submit]")
    btn.scroll_into_view_if_needed()
    btn.tap() if phone else btn.click()


def test_a_second_request_asks_for_its_place_again(browser, app_factory, sqlite_store, live_server, artifacts):
    build(sqlite_store)
    server = live_server(app_factory(sqlite_store))
    ctx, page, errors = _page(browser, phone=True)
    try:
        page.goto(f"{server.url}/complaints/new")
        not_chosen = page.text_content("#gm-loc-text")
        assert "尚未选择" in not_chosen
        page.select_option("select[name=category]", "sanitation")
        c = sqlite_store.get("buildings", "b1")["geometry"].centroid
        tap_map(page, c.x, c.y)
        page.locator("#gm-route p").first.wait_for()
        page.fill("textarea[name=description]", "楼下垃圾没人清")
        _submit(page, phone=True)
        page.locator("#gm-receipt-number").wait_for()
        rows = sqlite_store.read("complaints")
        assert len(rows) == 1 and rows["filed_grid_code"].iloc[0] == G1
        # the page's own submission is a map request (a plain API client stays "api": test_complaints_api)
        assert rows["channel"].iloc[0] == "map"
        # the form is empty again, the place too
        assert page.text_content("#gm-loc-text") == not_chosen
        assert page.input_value("input[name=lon]") == "" and page.input_value("input[name=lat]") == ""
        # a second request without touching the map is refused and asks for the place
        page.select_option("select[name=category]", "parking")
        page.fill("textarea[name=description]", "车停在消防通道")
        _submit(page, phone=True)
        page.locator("#gm-form-error").wait_for()
        assert "请在地图上点选问题位置" in page.text_content("#gm-form-error")
        page.screenshot(path=str(artifacts / "intake-second-asks-place.png"), full_page=True)
        assert len(sqlite_store.read("complaints")) == 1
        # with a place it goes in, at that place, and also as a map request
        first = page.text_content("#gm-receipt-number")
        c = sqlite_store.get("buildings", "b4")["geometry"].centroid
        tap_map(page, c.x, c.y)
        page.locator("#gm-route p").first.wait_for()
        _submit(page, phone=True)
        # the first receipt (and its follow link) is still on the page: wait for the second's number
        for _ in range(150):
            if (page.text_content("#gm-receipt-number") or first) != first:
                break
            page.wait_for_timeout(100)
        second = page.text_content("#gm-receipt-number")
        assert second and second != first, "no second receipt"
        page.locator("#gm-follow").wait_for()
        rows = sqlite_store.read("complaints").sort_values("id")
        assert len(rows) == 2 and rows["category"].iloc[1] == "parking"
        assert rows["building_id"].iloc[1] == "b4" and set(rows["channel"]) == {"map"}
        assert not errors, errors
    finally:
        ctx.close()


@pytest.mark.parametrize("phone", [True, False], ids=["phone", "desktop"])
def test_a_picked_search_result_moves_the_map_and_places_nothing(
    browser, app_factory, sqlite_store, live_server, artifacts, phone
):
    build(sqlite_store)
    server = live_server(app_factory(sqlite_store))
    ctx, page, errors = _page(browser, phone)
    try:
        page.goto(f"{server.url}/complaints/new")
        before = page.input_value("input[name=lon]"), page.text_content("#gm-where")
        assert before == ("", "")
        box = page.locator(".gm-search input[type=search]")
        box.fill("四苑")
        hit = page.locator(".gm-results button", has_text="四苑").first
        hit.wait_for()
        hit.tap() if phone else hit.click()
        page.wait_for_timeout(600)  # (the map's move is animated; the page's CSP forbids wait_for_function)
        page.screenshot(path=str(artifacts / f"intake-search-pick-{'phone' if phone else 'desk'}.png"))
        # the map went to the estate (四苑: x 260–300 m of the world) …
        lat, lon = page.evaluate("() => { const c = window.gridmap.map.getCenter(); return [c.lat, c.lng]; }")
        west, east = lonlat(255, 50)[0], lonlat(305, 50)[0]
        assert west < lon < east, (lon, west, east)
        # … and the tap on the result neither placed the request nor zoomed the map to it
        assert (page.input_value("input[name=lon]"), page.text_content("#gm-where")) == before
        assert not errors, errors
    finally:
        ctx.close()


@pytest.mark.parametrize(("phone", "lang"), [(True, "zh"), (False, "en")], ids=["phone-zh", "desktop-en"])
def test_a_nearby_request_is_offered_by_number_category_and_state(
    browser, app_factory, sqlite_store, live_server, artifacts, phone, lang
):
    from gridmap.domain.complaints import CATEGORIES, STATES

    build(sqlite_store)
    app = app_factory(sqlite_store)
    server = live_server(app)
    c = sqlite_store.get("buildings", "b1")["geometry"].centroid
    api = app.test_client()
    _arm_csrf(api)
    body = {"category": "sanitation", "description": "王家门口垃圾堆", "lon": c.x, "lat": c.y}
    first = api.post("/api/complaints", json=body | {"contact_phone": "13800138000"}).get_json()
    ctx, page, errors = _page(browser, phone)
    try:
        page.goto(f"{server.url}/complaints/new" + ("?lang=en" if lang == "en" else ""))
        page.select_option("select[name=category]", "sanitation")
        tap_map(page, c.x, c.y)
        offer = page.locator("#gm-dups label", has_text=first["id"])
        offer.wait_for()
        text = offer.inner_text()
        cat, state = CATEGORIES["sanitation"], STATES[first["state"]]
        assert (cat.en if lang == "en" else cat.zh) in text and (state.en if lang == "en" else state.zh) in text, text
        assert "\u00a0m" in text and "垃圾堆" not in text and "8000" not in text  # nothing personal
        # each radio button sits beside its words, on the same line, before them
        for label in page.locator("#gm-dups label").all():
            radio, words = label.locator("input").bounding_box(), label.locator("span").bounding_box()
            assert radio and words
            assert radio["x"] + radio["width"] <= words["x"] + 0.5, (radio, words)
            mid = radio["y"] + radio["height"] / 2
            assert words["y"] <= mid <= words["y"] + words["height"], (radio, words)
            assert label.bounding_box()["height"] >= 44  # a thumb-sized row on a phone
        page.locator("#gm-dups").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"intake-dups-{'phone' if phone else 'desk'}-{lang}.png"))
        # linking to it is still one tap on its words
        offer.locator("span").tap() if phone else offer.locator("span").click()
        assert offer.locator("input").is_checked()
        assert not errors, errors
    finally:
        ctx.close()
