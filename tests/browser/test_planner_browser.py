"""A planner moves a building on the map, sees the grid figures change, publishes, and the grid
leader's page shows the new boundary (real Chromium, live server)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "services"))
from plan_world import COM, cell, seed
from tests.browser.pagekit import sign_in

pytestmark = pytest.mark.browser

A, B = f"{COM}001", f"{COM}002"
PASSWORD = "planner-pass-2026!"


def test_planner_moves_a_building_publishes_and_the_grid_page_follows(app_factory, sqlite_store, live_server, browser):
    from playwright.sync_api import expect

    from gridmap.services.accounts import add_user

    hh = {f"r{i}c{j}": 10 for i in range(3) for j in range(3)} | {"r1c1": 5}
    seed(sqlite_store, ["AAB", "AAB", "AAB"], hh, bounds=(30, 50))
    add_user(sqlite_store, username="planner1", role="planner", password=PASSWORD)
    server = live_server(app_factory(sqlite_store))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, server.url, "planner1", PASSWORD)
        page.goto(f"{server.url}/planner")
        page.click("#start-draft")
        page.wait_for_url("**/planner/drafts/*")
        households_a = page.locator(f"#grid-{A} td.households")
        households_b = page.locator(f"#grid-{B} td.households")
        households_a.wait_for()
        assert households_a.text_content() == "55" and households_b.text_content() == "30"
        # click the building on the map (its SVG path carries the building id), choose the grid, move
        assert not errors, errors
        page.click('path[data-building="r1c1"]')
        assert page.locator("#selected-count").text_content() == "1"
        page.select_option("#target", B)
        page.click("#move")
        expect(households_a).to_have_text("50")
        assert households_b.text_content() == "35"
        assert "above_max" not in (page.locator(f"#grid-{A} td.checks").text_content() or "")
        page.fill("#effective", "2026-12-01")
        page.click("#publish")  # opens the review; nothing is published before the confirmation
        expect(page.locator("#publish-dialog")).to_be_visible()
        assert page.locator("#publish-dialog").get_attribute("data-hard") == "0"
        page.click("#confirm-publish")
        expect(page.locator("#planner")).to_have_attribute("data-published", re.compile(r"^P\d+$"))
        published = page.locator("#planner").get_attribute("data-published")
    finally:
        page.close()

    # the published plan's grid polygon of B now covers r1c1's cell (the data the grid page draws)
    grids = sqlite_store.read("plan_grids", where={"plan_id": published})
    poly_b = dict(zip(grids["code"], grids.geometry))[B]
    assert shapely.contains(poly_b.buffer(1e-9), cell(1, 1))
    # the grid leader's page: r1c1 is listed under B, B's figures follow, and the map draws B's new
    # boundary (the published polygon) with r1c1 among B's own buildings
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{server.url}/grids/{B}")
        assert page.locator('tr[data-building="r1c1"]').count() == 1
        assert page.locator('[data-figure="households"]').first.text_content().strip() == "35"
        page.wait_for_function(
            "() => window.gridmap && gridmap.sources.length > 0 && gridmap.idle()", timeout=15000, polling=100
        )
        drawn = page.evaluate(
            """(code) => {
            var out = {grid: null, buildings: []};
            gridmap.sources.forEach(function (s) {
              if (!s.gj) return;
              s.gj.eachLayer(function (l) {
                var p = l.feature.properties;
                if (s.opts.layer === 'grids' && p.code === code) out.grid = l.feature.geometry;
                if (s.opts.layer === 'buildings') out.buildings.push(p.id);
              });
            });
            return out; }""",
            B,
        )
        assert drawn["grid"] is not None, "grid B is not drawn"
        assert "r1c1" in drawn["buildings"] and not errors, (drawn, errors)
        # the boundary drawn is the published one: it covers r1c1's cell (to the precision sent)
        assert shape(drawn["grid"]).buffer(1e-4).contains(cell(1, 1))
        assert shape(drawn["grid"]).area == pytest.approx(poly_b.area, rel=0.05)
        # the grid's own buildings (r1c1 among them) came with the page, the published assignment's: no request
        sent = page.locator("#gridmap-seed-buildings").text_content() or ""
        assert '"r1c1"' in sent
        assert not any("/api/layers/buildings" in u and f"grid={B}" in u for u in requests)
    finally:
        page.close()
