"""The complaint pages on a phone (390×844): the intake form and the grid leader's work list fit the screen
without sideways scrolling, and a grid leader moves a request from the list. Screenshots in ``artifacts``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import G1, build
from tests.browser.pagekit import sign_in, tap_map

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PASSWORD = "phone-test-密码-123"


def _fits(page, selector: str) -> None:
    """Every element matched lies within the 390 px wide screen."""
    boxes = [b for b in (el.bounding_box() for el in page.locator(selector).all()) if b]
    assert boxes, f"nothing matches {selector}"
    for b in boxes:
        assert b["x"] >= -0.5 and b["x"] + b["width"] <= PHONE["width"] + 0.5, (selector, b)


def test_intake_and_work_list_on_a_phone(browser, app_factory, sqlite_store, live_server, artifacts):
    from gridmap.services.accounts import add_user

    build(sqlite_store)
    add_user(sqlite_store, username="leader1", role="grid_leader", password=PASSWORD, scope={"grids": [G1]})
    server = live_server(app_factory(sqlite_store))
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # the resident's form: tap the map on building b1, fill in, submit
        page.goto(f"{server.url}/complaints/new")
        page.select_option("select[name=category]", "sanitation")
        c = sqlite_store.get("buildings", "b1")["geometry"].centroid
        tap_map(page, c.x, c.y)
        page.locator("#gm-route p").first.wait_for()
        assert G1 in page.text_content("#gm-route")
        page.fill("textarea[name=description]", "楼下垃圾没人清")
        for sel in (
            "#gm-intake-map",
            "#gm-complaint-form",
            "#gm-complaint-form textarea",
            "#gm-complaint-form select",
            "#gm-complaint-form button[type=submit]",
            "main",
        ):
            _fits(page, sel)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts / "phone-complaint-form.png"), full_page=True)
        page.click("#gm-complaint-form button[type=submit]")
        page.locator("#gm-result p").first.wait_for()
        cid = str(sqlite_store.read("complaints")["id"].iloc[0])
        assert cid in page.text_content("#gm-result")

        # the grid leader's work list: sign in, find it, dispatch it from the phone
        sign_in(page, server.url, "leader1", PASSWORD)
        page.goto(f"{server.url}/complaints")
        item = page.locator(f"#c-{cid}")
        item.wait_for()
        assert "楼下垃圾没人清" in item.text_content()
        for sel in (".gm-item", ".gm-act", ".gm-filters", "main"):
            _fits(page, sel)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts / "phone-work-list.png"), full_page=True)
        item.locator("button.gm-act[data-to=dispatched]").click()  # the action, then its confirmation
        for sel in (".gm-move input", ".gm-move button"):
            _fits(page, f"#c-{cid} {sel}")
        item.locator("input[name=note]").fill("已派城管")
        with page.expect_navigation():
            item.locator("form.gm-move button[type=submit]").click()
        assert sqlite_store.get("complaints", cid)["state"] == "dispatched"
        page.locator(f"#c-{cid} .gm-state").wait_for()
        assert page.locator(f"#c-{cid} .gm-state").text_content().strip() == "已派单"
        page.screenshot(path=str(artifacts / "phone-work-list-dispatched.png"), full_page=True)
    finally:
        ctx.close()
    assert not errors, errors
