"""The phone journeys of issue #14 at 390×844 in Chromium, walked with taps and typing only after the first
address, by the same journey functions scripts/screens.py uses for docs/screens: the resident files, follows
the link, sees staff act and rates; the grid leader signs in, lands on 我的待办, takes a request from 受理 to
办结 in two taps per step and opens a building card with the 楼长's phone; a viewer sees that card masked.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import G1, build

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
ROOT = Path(__file__).resolve().parents[2]
GEO_ERRORS = (
    "定位被拒绝：请在浏览器设置中允许定位，或在地图上点选位置",
    "无法获取您的位置，请在地图上点选",
    "定位超时，请重试或在地图上点选",
)


def _screens():
    spec = importlib.util.spec_from_file_location("gridmap_screens", ROOT / "scripts" / "screens.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


screens = _screens()


@pytest.fixture
def world(sqlite_store, app_factory, live_server):
    """The hand-drawn complaints world with a 楼长 and households on b1, a grid leader of G1, a viewer."""
    from gridmap.services.accounts import add_user
    from gridmap.services.complaints import submit

    store = sqlite_store
    build(store)
    store.write(
        "stewards",
        pd.DataFrame(
            {
                "id": ["s10", "s11"],
                "name": ["孙楼长", "周党员"],
                "phone": ["13712345678", "13612345678"],
                "role": ["building_leader", "party_central_household"],
                "building_id": ["b1", "b1"],
                "serves": ["b1", "b1"],
                "community_id": ["370214001001", "370214001001"],
            }
        ),
    )
    store.write(
        "households",
        pd.DataFrame(
            {
                "id": ["h1", "h2", "h3"],
                "building_id": ["b1"] * 3,
                "community_id": ["370214001001"] * 3,
                "room": ["1-1-101", "1-1-102", "1-2-201"],
                "unit": [1, 1, 2],
                "floor": [1, 1, 2],
                "head_name": ["吴大爷", "郑阿姨", "冯先生"],
                "phone": ["13511112222", "13522223333", "13533334444"],
                "tags": ["elderly_alone", None, "disabled"],
            }
        ),
    )
    add_user(store, username="leader1", role="grid_leader", password=screens.PASSWORD, scope={"grids": [G1]})
    add_user(store, username="viewer1", role="viewer", password=screens.PASSWORD)
    app = app_factory(store)
    server = live_server(app)
    settings = app.config["GRIDMAP_SETTINGS"]
    c = store.get("buildings", "b1")["geometry"].centroid

    def prepare() -> str:
        from types import SimpleNamespace

        public = SimpleNamespace(id=None, role="public", scope={})
        data = {"category": "sanitation", "description": "单元门口堆放垃圾", "building_id": "b1"}
        out = submit(store, data | {"contact_phone": "13912345678"}, user=public, settings=settings, channel="map")
        return str(out["id"])

    facts = {
        "leader": "leader1",
        "viewer": "viewer1",
        "building": "b1",
        "lonlat": (c.x, c.y),
        "settings": settings,
        "prepare": prepare,
    }
    return store, server, facts


def _walk(browser, server, store, facts, artifacts, name):
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    shot, _ = screens.shooter(page, artifacts, f"journey-{name}")
    walk = screens.Walk(page=page, base=server.url, store=store, world=facts, shot=shot)
    return ctx, page, walk, errors


def _no_sideways(page, width=PHONE["width"]):
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_resident_files_follows_and_rates(browser, world, artifacts):
    store, server, facts = world
    ctx, page, walk, errors = _walk(browser, server, store, facts, artifacts, "resident")
    try:
        screens.resident(walk)
        cid = walk.log[0]
        rec = store.get("complaints", cid)
        assert rec["state"] == "evaluated" and rec["rating"] == 4 and bool(rec["resolved"]) is True
        ev = store.read("complaint_events", where={"complaint_id": cid}, order_by=["seq"])
        assert list(ev["to_state"]) == ["collected", "dispatched", "responding", "resolved", "evaluated"]
        assert ev.iloc[-1]["actor"] == "resident"
        log = store.read("audit_log", where={"target": f"complaint:{cid}", "action": "complaint.transition"})
        assert f"resident:{cid}" in set(log["actor"])
        assert "已评价" in page.text_content("#gm-state")
        assert "13800138000" not in page.content()  # the status page shows no phone, not even the resident's own
        _no_sideways(page)
        assert walk.taps <= 8, walk.taps
        # once only: the form is gone, and a second post is refused
        assert page.locator("#gm-rate").count() == 0
        assert not errors, errors
    finally:
        ctx.close()


def test_intake_asks_in_chinese_and_zooms_before_pinning(browser, world, artifacts):
    store, server, facts = world
    ctx, page, walk, errors = _walk(browser, server, store, facts, artifacts, "intake")
    try:
        page.goto(f"{server.url}/complaints/new")
        assert page.locator("input[name=lon]").get_attribute("type") == "hidden"
        assert page.locator("select[name=category] option:checked").text_content().strip() == "请选择"
        walk.tap("#gm-complaint-form button[type=submit]")
        assert page.text_content("#gm-form-error") == "请选择问题类别"
        walk.choose("select[name=category]", "sanitation")
        walk.type("textarea[name=description]", "路灯不亮")
        walk.tap("#gm-complaint-form button[type=submit]")
        assert "请在地图上点选问题位置" in page.text_content("#gm-form-error")
        assert store.count("complaints") == 0
        # at a district's zoom a tap zooms in and places no pin
        page.evaluate("() => window.gridmap.map.setZoom(12, {animate: false})")
        lon, lat = facts["lonlat"]
        walk.tap_map(lon, lat)
        page.wait_for_timeout(500)
        assert page.evaluate("() => window.gridmap.map.getZoom()") >= 16
        assert page.input_value("input[name=lon]") == ""
        assert "已放大" in page.text_content("#gm-where")
        # a refused geolocation is told in Chinese (the context grants no permission)
        walk.tap("#gm-locate")
        for _ in range(50):
            if page.text_content("#gm-where") in GEO_ERRORS:
                break
            page.wait_for_timeout(200)
        assert page.text_content("#gm-where") in GEO_ERRORS
        assert not errors, errors
    finally:
        ctx.close()


def test_grid_leader_works_the_to_do_list_and_opens_a_building_card(browser, world, artifacts):
    store, server, facts = world
    ctx, page, walk, errors = _walk(browser, server, store, facts, artifacts, "leader")
    try:
        screens.grid_leader(walk)
        cid = walk.log[0]
        assert store.get("complaints", cid)["state"] == "resolved"
        assert walk.taps == 1 + 1 + 3 * 2 + 1 + 1, walk.taps  # sign in, open, 3 steps × 2 taps, grid, building
        card = page.locator("#building-card")
        leader = card.locator("li[data-role=building_leader]")
        assert "孙楼长" in leader.text_content()
        assert leader.locator("a[href='tel:13712345678']").count() == 1
        assert "独居老人" in card.text_content() and "吴大爷" in card.text_content()  # own grid: in clear
        _no_sideways(page)
        # the same card in English: longer words ("elderly living alone") still fit the phone's width
        page.goto(page.url.split("?")[0] + "?lang=en")
        card.wait_for()
        assert "elderly living alone" in card.text_content().lower()
        _no_sideways(page)
        assert not errors, errors
    finally:
        ctx.close()


def test_grid_leader_lands_on_the_to_do_list_overdue_first(browser, world, artifacts, fixed_now):
    store, server, facts = world
    early = facts["prepare"]()
    late = facts["prepare"]()
    fixed_now(pd.Timestamp(store.get("complaints", early)["due_at"]).to_pydatetime() + pd.Timedelta(days=2))
    ctx, page, walk, errors = _walk(browser, server, store, facts, artifacts, "todo")
    try:
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(f"{server.url}/login")
        walk.type("input[name=username]", "leader1")
        walk.type("input[name=password]", screens.PASSWORD)
        walk.tap("form button[type=submit]")
        page.locator(".gm-worklist").wait_for()
        assert page.url.endswith("/complaints")
        ids = [x.get_attribute("id") for x in page.locator(".gm-item").all()]
        assert set(ids) == {f"c-{early}", f"c-{late}"}
        first = page.locator(".gm-item").first
        assert "超期" in first.text_content() and "环境卫生" in first.text_content()
        assert "一苑 1" in first.text_content()  # the building, by estate and number
        assert page.locator(".topnav a.nav-primary[href='/complaints']").is_visible()  # 待办 in the top bar
        _no_sideways(page, 360)
        walk.tap(".nav-menu")
        assert page.locator(".nav-drop a[href^='/grids/']").is_visible()
        _no_sideways(page, 360)
        # rejecting asks first: the warning shows and nothing moves until 确定
        page.locator(".nav-menu").click()
        first.locator("button.gm-act[data-to=rejected]").click()
        assert first.locator(".gm-warn").is_visible()
        assert store.get("complaints", early)["state"] == "collected"
        first.locator(".gm-cancel").click()
        assert not errors, errors
    finally:
        ctx.close()


def test_viewer_sees_the_building_card_masked(browser, world, artifacts):
    store, server, facts = world
    ctx, page, walk, errors = _walk(browser, server, store, facts, artifacts, "viewer")
    try:
        screens.viewer_card(walk)
        card = page.locator("#building-card")
        text = card.text_content()
        assert card.locator("li[data-role=building_leader]").count() == 1  # the role is there …
        assert "孙楼长" not in text and "13712345678" not in text and "3712" not in text  # … not who, not the phone
        assert card.locator("a[href^='tel:']").count() == 0
        assert "吴大爷" not in text and "独居老人" not in text and "1-1-101" not in text
        assert not errors, errors
    finally:
        ctx.close()
