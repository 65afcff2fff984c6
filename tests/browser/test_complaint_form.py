"""The intake form in a real Chromium: click the grid map, see routing, submit, find the request stored."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import G1, build  # noqa: E402

pytestmark = pytest.mark.browser


def test_click_map_and_submit(browser, app_factory, sqlite_store, live_server, artifacts):
    build(sqlite_store)
    server = live_server(app_factory(sqlite_store))
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server.url}/complaints/new")
    page.select_option("select[name=category]", "sanitation")
    # grid G1 is the left third of the map; click inside building b1 (x 10–30 m of 300, y 10–30 of 100)
    box = page.locator("#gridmap-svg").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 20 / 300, box["y"] + box["height"] * 80 / 100)
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
    assert row["description"] == "楼下垃圾<b>没人清</b>" and row["channel"] == "api"
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
