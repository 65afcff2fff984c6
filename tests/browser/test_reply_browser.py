"""Replies to the resident in a real Chromium: a grid leader answers from the work list on a phone in two taps
(回复, then 确定) without moving the request, and on a desktop in English gives a reply with a move; the resident's
status page shows both under their steps, the internal note nowhere. Screenshots in ``artifacts``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import G1, build, lonlat
from tests.browser.pagekit import sign_in

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
PASSWORD = "reply-test-密码-123"


def _fits(page, selector: str, width: int) -> None:
    boxes = [b for b in (el.bounding_box() for el in page.locator(selector).all()) if b]
    assert boxes, f"nothing matches {selector}"
    for b in boxes:
        assert b["x"] >= -0.5 and b["x"] + b["width"] <= width + 0.5, (selector, b)


def test_reply_from_the_work_list_and_with_a_move(browser, app_factory, sqlite_store, live_server, artifacts):
    from gridmap.services.accounts import add_user
    from gridmap.services.complaints.follow import follow_token

    build(sqlite_store)
    add_user(sqlite_store, username="leader1", role="grid_leader", password=PASSWORD, scope={"grids": [G1]})
    app = app_factory(sqlite_store)
    server = live_server(app)
    lon, lat = lonlat(20, 20)
    filed = app.test_client().post(
        "/api/complaints", json={"category": "sanitation", "description": "楼下垃圾没人清", "lon": lon, "lat": lat}
    )
    assert filed.status_code == 201, filed.get_json()
    cid = filed.get_json()["id"]
    errors: list[str] = []

    # a phone: 回复 then 确定 on the work list — two taps; the request keeps its state
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, server.url, "leader1", PASSWORD)
        page.goto(f"{server.url}/complaints")
        item = page.locator(f"#c-{cid}")
        item.locator("button.gm-act[data-to=reply]").tap()
        assert item.locator("input[name=note]").is_hidden()  # 回复 carries words for the resident only
        field = item.locator("textarea[name=reply]")
        assert field.is_visible() and "给群众的答复（群众可见）" in item.locator("label.gm-reply-field").inner_text()
        for sel in ("form.gm-move textarea", "form.gm-move button", ".gm-act"):
            _fits(page, f"#c-{cid} {sel}", PHONE["width"])
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        field.fill("已联系保洁，明早清运")
        page.screenshot(path=str(artifacts / "phone-work-list-reply.png"), full_page=True)
        with page.expect_navigation():
            item.locator("form.gm-move button[type=submit]").tap()
        assert sqlite_store.get("complaints", cid)["state"] == "collected"
        ev = sqlite_store.read("complaint_events", where={"complaint_id": cid}, order_by=["seq"]).iloc[-1]
        assert (ev["from_state"], ev["to_state"], ev["reply"]) == ("collected", "collected", "已联系保洁，明早清运")
        # an empty reply is refused in the page (the field is required for 回复)
        page.locator(f"#c-{cid} button.gm-act[data-to=reply]").tap()
        page.locator(f"#c-{cid} form.gm-move button[type=submit]").tap()
        assert page.evaluate(f"document.querySelector('#c-{cid} textarea[name=reply]').validity.valueMissing")
        assert len(sqlite_store.read("complaint_events", where={"complaint_id": cid})) == 2
    finally:
        ctx.close()

    # a desktop in English: dispatch from the request's page with an internal note and a reply
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, server.url, "leader1", PASSWORD)
        page.goto(f"{server.url}/complaints/{cid}?lang=en")
        assert "Reply to the resident (the resident sees this)" in page.text_content(".gm-actions")
        page.click(".gm-actions button[data-to=dispatched]")
        page.fill("form.gm-move input[name=note]", "internal: Wang on duty")
        page.fill("form.gm-move textarea[name=reply]", "Sent to the city management team")
        with page.expect_navigation():
            page.click("form.gm-move button[type=submit]")
        assert sqlite_store.get("complaints", cid)["state"] == "dispatched"
        history = page.locator("#gm-history")
        assert history.locator(".gm-reply-by").all_inner_texts() == ["Public reply", "Public reply"]
        assert "Internal note" in history.inner_text()
        page.screenshot(path=str(artifacts / "desktop-request-replies.png"), full_page=True)
        # the resident's page, in English
        page.goto(f"{server.url}/complaints/{cid}?t={follow_token('test-secret', cid)}&lang=en")
        steps = page.locator("#gm-steps")
        assert steps.locator(".gm-reply-text").all_inner_texts() == [
            "Sent to the city management team",
            "已联系保洁，明早清运",
        ]
        assert "Reply from staff" in steps.inner_text() and "Wang" not in page.inner_text("body")
        page.screenshot(path=str(artifacts / "desktop-status-replies.png"), full_page=True)
    finally:
        ctx.close()
    # the resident's page on a phone fits the screen
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    try:
        page.goto(f"{server.url}/complaints/{cid}?t={follow_token('test-secret', cid)}")
        _fits(page, "#gm-steps .gm-reply", PHONE["width"])
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts / "phone-status-replies.png"), full_page=True)
    finally:
        ctx.close()
    assert not errors, errors
