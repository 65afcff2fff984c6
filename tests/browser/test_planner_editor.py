"""The planner's editor as a Districtr user expects it (issue 15), in real Chromium at 1440×900: paint buildings
into the active grid and watch its household bar move; lasso (closed and open) selects without zooming; a
draft with a grid in pieces is refused, then published with a reason that reaches the audit log; rebalance
changes only the community on screen."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "services"))
from plan_world import COM, overfill, seed
from tests.browser.pagekit import sign_in

pytestmark = pytest.mark.browser

A, B, C = f"{COM}001", f"{COM}002", f"{COM}003"
PASSWORD = "planner-pass-2026!"


def _open_editor(app_factory, store, live_server, browser):
    from gridmap.services.accounts import add_user

    add_user(store, username="planner1", role="planner", password=PASSWORD)
    server = live_server(app_factory(store))
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server.url, "planner1", PASSWORD)
    page.goto(f"{server.url}/planner")
    page.click("#start-draft")
    page.wait_for_url("**/planner/drafts/*")
    page.locator("#grids tbody tr").first.wait_for()
    return server, page, errors


def _centre(page, building):
    box = page.locator(f'path[data-building="{building}"]').bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


VIEW = "() => { const m = document.getElementById('planner').map; return [m.getZoom(), m.getCenter()]; }"


def _bar_width(page, code):
    return page.evaluate(
        "(code) => parseFloat(document.querySelector('#grid-' + code + ' .hh-bar .fill').style.width)", code
    )


def test_paint_buildings_into_the_active_grid_and_the_bar_moves(app_factory, sqlite_store, live_server, browser):
    from playwright.sync_api import expect

    seed(sqlite_store, ["AAB", "AAB", "AAB"], 10, bounds=(20, 80))
    server, page, errors = _open_editor(app_factory, sqlite_store, live_server, browser)
    try:
        # a full-width map: the map takes the page beside the panel
        map_box, panel_box = page.locator("#map").bounding_box(), page.locator("#panel").bounding_box()
        assert panel_box["width"] <= 480 and map_box["width"] >= 1440 - panel_box["width"] - 2
        assert map_box["height"] >= 900 - 60
        # every grid has a numbered swatch in its colour and a label on the map; neighbours differ
        swatches = page.eval_on_selector_all(
            "#grids tbody tr .swatch", "els => els.map(e => [e.textContent, e.style.background])"
        )
        assert [s[0] for s in swatches] == ["001", "002"] and swatches[0][1] != swatches[1][1]
        assert page.locator(f'.grid-label[data-grid="{B}"]').text_content() == "002"
        before_b, before_a = _bar_width(page, B), _bar_width(page, A)
        assert page.locator(f"#grid-{B} .households").text_content() == "30"
        # click the grid in the list: it becomes the active grid and the map zooms to it
        zoom0 = page.evaluate("() => document.getElementById('planner').map.getZoom()")
        page.click(f"#grid-{B}")
        expect(page.locator(f"#grid-{B}")).to_have_class("active")
        assert page.locator("#planner").get_attribute("data-active") == B
        page.wait_for_timeout(400)
        assert page.evaluate("() => document.getElementById('planner').map.getZoom()") >= zoom0
        page.click(".fit-community a")  # back to the whole community
        page.wait_for_timeout(400)
        # paint: press on one building of A and drag over a second, release → both join B
        page.check('#modes input[value="paint"]')
        loaded = page.locator("#planner").get_attribute("data-loaded")
        x0, y0 = _centre(page, "r0c1")
        x1, y1 = _centre(page, "r1c1")
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, steps=4)
        page.mouse.move(x1, y1, steps=4)
        page.mouse.up()
        expect(page.locator("#planner")).not_to_have_attribute("data-loaded", loaded)
        expect(page.locator(f"#grid-{B} .households")).to_have_text("50")
        assert page.locator(f"#grid-{A} .households").text_content() == "40"
        assert _bar_width(page, B) > before_b and _bar_width(page, A) < before_a
        assert page.locator('path[data-building="r0c1"]').get_attribute("data-grid") == B
        assert page.locator('path[data-building="r2c1"]').get_attribute("data-grid") == A  # not painted
        expect(page.locator("#message")).to_contain_text("已移动 2")
        # undo takes the stroke back, and the status line says so (not the stale "已移动 2")
        page.click("#undo")
        expect(page.locator(f"#grid-{B} .households")).to_have_text("30")
        expect(page.locator("#message")).to_have_text("已撤销上一步：移动楼栋 · 2 栋楼")
        page.click("#redo")
        expect(page.locator(f"#grid-{B} .households")).to_have_text("50")
        expect(page.locator("#message")).to_have_text("已重做：移动楼栋 · 2 栋楼")
        assert not errors, errors
    finally:
        page.close()


@pytest.mark.parametrize("closed", [True, False], ids=["closed", "open"])
def test_lasso_selects_without_zooming(app_factory, sqlite_store, live_server, browser, closed):
    seed(sqlite_store, ["AAB", "AAB", "AAB"], 10, bounds=(20, 80))
    server, page, errors = _open_editor(app_factory, sqlite_store, live_server, browser)
    try:
        page.wait_for_timeout(300)
        view = page.evaluate(
            "() => { const m = document.getElementById('planner').map; return [m.getZoom(), m.getCenter()]; }"
        )
        # around the left column's middle and bottom buildings (r1c0, r2c0), Shift held
        xa, ya = _centre(page, "r1c0")
        xb, yb = _centre(page, "r2c0")
        w = abs(xb - xa) * 0.45 or 30
        pts = [(xa - w, ya - w), (xa + w, ya - w), (xb + w, yb + w), (xb - w, yb + w)]
        if closed:
            pts.append((xa - w + 3, ya - w + 3))  # ends next to where it began
        page.keyboard.down("Shift")
        page.mouse.move(*pts[0])
        page.mouse.down()
        for p in pts[1:]:
            page.mouse.move(*p, steps=6)
        page.mouse.up()
        page.keyboard.up("Shift")
        page.wait_for_timeout(500)
        assert page.locator("#selected-count").text_content() == "2"
        after = page.evaluate(
            "() => { const m = document.getElementById('planner').map; return [m.getZoom(), m.getCenter()]; }"
        )
        assert after == view  # no box zoom, no pan
        # the lasso tool does the same without Shift
        page.click("#clear")
        page.check('#modes input[value="lasso"]')
        page.mouse.move(*pts[0])
        page.mouse.down()
        for p in pts[1:]:
            page.mouse.move(*p, steps=6)
        page.mouse.up()
        page.wait_for_timeout(300)
        assert page.locator("#selected-count").text_content() == "2"
        assert (
            page.evaluate(
                "() => { const m = document.getElementById('planner').map; return [m.getZoom(), m.getCenter()]; }"
            )
            == view
        )
        assert not errors, errors
    finally:
        page.close()


def test_a_broken_draft_is_refused_then_published_with_a_reason_in_the_audit_log(
    app_factory, sqlite_store, live_server, browser
):
    from playwright.sync_api import expect

    seed(sqlite_store, ["ABA", "BBB", "AAA"], 10, bounds=(20, 80), leaders=False)  # A in two pieces
    server, page, errors = _open_editor(app_factory, sqlite_store, live_server, browser)
    try:
        page.fill("#effective", "2026-12-01")
        page.click("#publish")
        dialog = page.locator("#publish-dialog")
        expect(dialog).to_be_visible()
        assert dialog.get_attribute("data-hard") == "1"
        assert A in (page.locator("#review-body section.hard").text_content() or "")
        assert "无网格长" in (page.locator("#review-body section.failing").text_content() or "")
        assert A in (page.locator("#review-body section.no-leader").text_content() or "")
        expect(page.locator("#reason-box")).to_be_visible()
        page.click("#confirm-publish")  # no reason: refused in the page, nothing sent
        assert page.locator("#planner").get_attribute("data-published") is None
        assert len(sqlite_store.read("plans", where={"status": "published"})) == 1
        # the API refuses it too without a reason (the one publish path)
        res = page.evaluate(
            """(url) => fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json',
                 'X-CSRFToken': document.querySelector('meta[name=csrf-token]').content},
                 body: JSON.stringify({})}).then(r => r.status)""",
            page.locator("#planner").get_attribute("data-api") + "/publish",
        )
        assert res == 409
        page.fill("#override-reason", "两片楼栋由同一物业管理，下月调整")
        page.click("#confirm-publish")
        expect(page.locator("#planner")).to_have_attribute("data-published", re.compile(r"^P\d+$"))
        published = page.locator("#planner").get_attribute("data-published")
        page.goto(f"{server.url}/planner")
        draft_row = page.locator("tr", has=page.locator("a.edit"))
        assert draft_row.count() == 0  # the published draft left the editable drafts
    finally:
        page.close()
    rows = sqlite_store.read("audit_log", where={"action": "plan.publish"}).to_dict("records")
    row = next(r for r in rows if r["target"] == published)
    assert row["actor"] == "planner1" and row["detail"]["override_reason"] == "两片楼栋由同一物业管理，下月调整"
    assert row["detail"]["overridden"] == [f"{A}:not_contiguous"]
    assert not errors, errors


def test_rebalance_changes_only_the_community_on_screen(app_factory, demo_copy, live_server, browser):
    from playwright.sync_api import expect

    from gridmap.services import plans as svc

    store = demo_copy
    w = svc.load_world(store)
    pub = svc.load_plan(store, svc.published_plan_id(store), world=w)
    coms = [c for c in sorted(set(pub.grid_community.values())) if len(pub.grids_in(c)) >= 3]
    target, other = coms[0], coms[1]
    server, page, errors = _open_editor(app_factory, store, live_server, browser)
    try:
        draft = page.locator("#planner").get_attribute("data-draft")
        full_t, full_o = overfill(store, draft, w, target), overfill(store, draft, w, other)
        before = svc.load_plan(store, svc.draft_info(store, draft)["head"], world=w)
        page.select_option("#community", target)
        expect(page.locator("#planner")).to_have_attribute("data-community", target)
        expect(page.locator(f"#grid-{full_t} td.checks")).to_contain_text("超过上限")
        plan0 = page.locator("#planner").get_attribute("data-plan")
        page.click("#rebalance")
        expect(page.locator("#planner")).not_to_have_attribute("data-plan", plan0)
        expect(page.locator("#message")).to_contain_text("已移动")
        head = page.locator("#planner").get_attribute("data-plan")
        expect(page.locator(f"#grid-{full_t} td.checks")).not_to_contain_text("超过上限")
        for li in page.locator("#rebalance-report li").all():  # each grid it could not fix, named with why
            assert li.get_attribute("data-grid").startswith(target) and li.get_attribute("data-reason")
        assert not errors, errors
    finally:
        page.close()
    after = svc.load_plan(store, head, world=w)
    changed = {b for b, g in after.assignment.items() if before.assignment.get(b) != g}
    assert changed and {b[:12] for b in changed} == {target}
    assert "above_max" in svc.check_plan(after, w, codes=[full_o])[full_o]["problems"]  # the other untouched


def test_a_grid_row_in_a_sparse_community_zooms_to_where_buildings_can_be_picked(
    app_factory, sqlite_store, live_server, browser, monkeypatch
):
    """A village community: 2 km cells with 20 m houses. Clicking a grid row fitted the grid's polygon, so the
    houses were 1-2 px and could not be clicked; now the map fits the grid's buildings and goes no further out
    than a zoom where a house can be picked (review of journey 3)."""
    import geopandas as gpd
    from shapely.geometry import box

    import plan_world

    monkeypatch.setattr(plan_world, "D", 0.02)
    seed(sqlite_store, ["AAB", "AAB", "AAB"], 10, bounds=(20, 80))
    b = sqlite_store.read("buildings", columns=["id", "geometry"])
    h = 0.0001  # half of about 20 m
    small = [box(c.x - h, c.y - h, c.x + h, c.y + h) for c in b.geometry.representative_point()]
    sqlite_store.write("buildings", gpd.GeoDataFrame({"id": b["id"]}, geometry=small, crs=b.crs))
    server, page, errors = _open_editor(app_factory, sqlite_store, live_server, browser)
    try:
        page.click(f"#grid-{A}")
        page.wait_for_timeout(600)
        assert page.evaluate("() => document.getElementById('planner').map.getZoom()") >= 16
        map_box = page.locator("#map").bounding_box()
        seen = []
        for path in page.locator("path[data-building]").all():
            r = path.bounding_box()
            inside = r and map_box["x"] <= r["x"] and r["x"] + r["width"] <= map_box["x"] + map_box["width"]
            if inside and map_box["y"] <= r["y"] and r["y"] + r["height"] <= map_box["y"] + map_box["height"]:
                seen.append((path.get_attribute("data-building"), path.get_attribute("data-grid"), r["width"]))
        assert seen and all(w >= 8 for _, _, w in seen), seen  # a house is a target, not a dot
        assert any(g == A for _, g, _ in seen), seen
        building = next(bid for bid, g, _ in seen if g == A)
        page.click(f'path[data-building="{building}"]')
        assert page.locator("#selected-count").text_content() == "1"
        assert not errors, errors
    finally:
        page.close()
