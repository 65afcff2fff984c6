"""The intake form in a real Chromium: click the grid map, see routing, submit, find the request stored."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import G1, build
from tests.browser.pagekit import tap_map

pytestmark = pytest.mark.browser


def test_click_map_and_submit(browser, app_factory, sqlite_store, live_server, artifacts):
    build(sqlite_store)
    server = live_server(app_factory(sqlite_store))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server.url}/complaints/new")
    page.select_option("select[name=category]", "sanitation")
    # click the Leaflet map at building b1's centre (in grid G1)
    c = sqlite_store.get("buildings", "b1")["geometry"].centroid
    tap_map(page, c.x, c.y)
    assert abs(float(page.input_value("input[name=lon]")) - c.x) < 2e-4
    assert abs(float(page.input_value("input[name=lat]")) - c.y) < 2e-4
    page.locator("#gm-route p").first.wait_for()  # (no wait_for_function: the page's CSP forbids eval)
    assert G1 in page.text_content("#gm-route")
    page.fill("textarea[name=description]", "楼下垃圾<b>没人清</b>")
    page.click("#gm-complaint-form button[type=submit]")
    page.locator("#gm-result p").first.wait_for()
    text = page.text_content("#gm-result")
    page.screenshot(path=str(artifacts / "complaint-form.png"), full_page=True)
    rows = sqlite_store.read("complaints")
    assert len(rows) == 1 and rows["id"].iloc[0] in text, text
    row = rows.iloc[0]
    assert row["category"] == "sanitation" and row["filed_grid_code"] == G1 and row["building_id"] == "b1"
    assert row["description"] == "楼下垃圾<b>没人清</b>" and row["channel"] == "map"  # the page files as "map"
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
    assert not [u for u in requested if not u.startswith(server.url)], "requests beyond loopback"
