"""The grid leader's phone keeps working offline (issue #19 part 4), in Chromium at 390×844 with the service
worker on a real http origin: sign in, load the grid, go offline, open the to-do list and a building card,
move two requests on, come back online and find both moves stored exactly once; a third request changed
meanwhile by a community official (through the service) is shown as a conflict with both states, and dropped.
Sign-out leaves no cache, no queue and no worker on the device.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from pagekit import sign_in

from complaints_world import COM_A, G1, build

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PASSWORD = "offline-密码-1357"


@pytest.fixture
def world(sqlite_store, app_factory, live_server):
    from gridmap.services.accounts import add_user
    from gridmap.services.complaints import submit

    store = sqlite_store
    build(store)
    store.write(
        "stewards",
        pd.DataFrame(
            {
                "id": ["s10"],
                "name": ["孙楼长"],
                "phone": ["13712345678"],
                "role": ["building_leader"],
                "building_id": ["b1"],
                "serves": ["b1"],
                "community_id": [COM_A],
            }
        ),
    )
    add_user(store, username="leader1", role="grid_leader", password=PASSWORD, scope={"grids": [G1]})
    app = app_factory(store)
    settings = app.config["GRIDMAP_SETTINGS"]
    public = SimpleNamespace(id=None, role="public", scope={})
    ids = []
    for text in ("单元门口堆放垃圾", "楼道灯不亮", "消防通道被占用"):
        data = {"category": "sanitation", "description": text, "building_id": "b1", "contact_phone": "13912345678"}
        ids.append(str(submit(store, data, user=public, settings=settings, channel="map")["id"]))
    return store, live_server(app), settings, ids


def _wait(page, test, what, tries=150):
    for _ in range(tries):  # no wait_for_function: the pages' CSP forbids eval
        if test():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def _states(store, cid):
    return list(store.read("complaint_events", where={"complaint_id": cid}, order_by=["seq"])["to_state"])


def _move(page, cid, to):
    item = page.locator(f"#c-{cid}")
    item.locator(f"button.gm-act[data-to={to}]").click()
    item.locator("form.gm-move button[type=submit]").click()
    item.locator(".gm-pending").wait_for()


def test_the_leader_works_offline_and_each_move_is_sent_once(browser, world, artifacts):
    store, server, settings, (a, b, c) = world
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, service_workers="allow")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, server.url, "leader1", PASSWORD)
        page.locator(".gm-worklist").wait_for()
        assert page.locator("link[rel=manifest]").count() == 1
        kept = "() => document.documentElement.dataset.offlineReady"
        _wait(page, lambda: page.evaluate(kept) == "1", "the scope kept")
        # load the grid with the network on (its map data is kept as it loads)
        page.goto(f"{server.url}/grids/{G1}")
        _wait(page, lambda: page.evaluate("() => !!(window.gridmap && window.gridmap.map)"), "the grid's map")
        page.wait_for_timeout(1000)
        assert page.evaluate("() => !!navigator.serviceWorker.controller")

        ctx.set_offline(True)
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url) if r.url.startswith(server.url) else None)
        page.goto(f"{server.url}/grids/{G1}")  # the grid page and its map data from the device
        _wait(page, lambda: page.evaluate("() => !!(window.gridmap && window.gridmap.map)"), "the grid's map offline")
        page.wait_for_timeout(1000)
        assert not failed, failed
        page.goto(f"{server.url}/buildings/b1")  # a building card of the grid, kept at sign-in, never opened
        card = page.locator("#building-card")
        assert "孙楼长" in card.text_content()
        assert card.locator("a[href='tel:13712345678']").count() == 1
        page.goto(f"{server.url}/complaints")  # the to-do list
        assert {x.get_attribute("id") for x in page.locator(".gm-item").all()} == {f"c-{a}", f"c-{b}", f"c-{c}"}
        assert "离线模式" in page.text_content("#gm-offline-bar")
        _move(page, a, "dispatched")
        _move(page, b, "dispatched")
        _move(page, c, "dispatched")
        assert "待同步" in page.text_content(f"#c-{a} .gm-pending")
        assert "3 项待同步" in page.text_content("#gm-offline-bar")
        assert page.locator(f"#c-{a} button.gm-act").first.is_hidden()  # no second move while one waits
        assert _states(store, a) == _states(store, b) == ["collected"]  # nothing left the phone
        # meanwhile a community official dispatches the third one
        official = SimpleNamespace(id="co1", username="co1", role="community_official", scope={"communities": [COM_A]})
        from gridmap.services.complaints import transition

        transition(store, c, "dispatched", user=official, settings=settings, note="已派物业")
        page.reload()  # still offline: the kept page, with the queue shown again from the device
        assert "待同步" in page.text_content(f"#c-{b} .gm-pending")

        ctx.set_offline(False)  # back online: the queue is sent
        _wait(page, lambda: store.get("complaints", b)["state"] == "dispatched", "the queued moves stored")
        page.locator(f"#c-{c} .gm-queued-conflict").wait_for()
        for cid in (a, b):
            assert _states(store, cid) == ["collected", "dispatched"]
            log = store.read("audit_log", where={"target": f"complaint:{cid}", "action": "complaint.transition"})
            assert len(log) == 1
        assert len(store.read("action_keys")) == 2
        # the conflict: the leader's move and what it was based on, and the request as it is now
        conflict = page.locator(f"#c-{c} .gm-queued-conflict")
        assert "已被他人更新" in conflict.text_content()
        assert "已受理" in conflict.locator(".gm-conflict-mine").text_content()
        assert "已派单" in conflict.locator(".gm-conflict-now").text_content()
        assert _states(store, c) == ["collected", "dispatched"]  # the official's move, not overwritten
        page.wait_for_timeout(500)
        # a second round of sending changes nothing
        page.evaluate("() => window.gridmapOffline.sync()")
        page.wait_for_timeout(1000)
        assert _states(store, a) == _states(store, b) == ["collected", "dispatched"]
        conflict.locator("button.gm-drop").click()
        page.locator(f"#c-{c} .gm-queued").wait_for(state="detached")
        assert _states(store, c) == ["collected", "dispatched"]
        page.screenshot(path=str(artifacts / "offline-leader.png"))

        # sign-out: no cache, no queue, no worker stays
        page.locator("form.account button[type=submit]").click()
        page.wait_for_url(f"{server.url}/")
        page.wait_for_timeout(500)
        left = page.evaluate(
            """async () => ({caches: (await caches.keys()).length,
                dbs: (await indexedDB.databases()).map(d => d.name),
                workers: (await navigator.serviceWorker.getRegistrations()).length})"""
        )
        assert left == {"caches": 0, "dbs": [], "workers": 0}, left
        assert not errors, errors
    finally:
        ctx.close()


def _device(page):
    return page.evaluate(
        """async () => ({caches: (await caches.keys()).length,
            dbs: (await indexedDB.databases()).map(d => d.name),
            workers: (await navigator.serviceWorker.getRegistrations()).length})"""
    )


def test_sign_out_asks_before_dropping_unsent_moves_and_sends_them_when_it_can(browser, world):
    """Signing out deletes the queue with everything else on the phone. Offline, the leader is asked first
    (还有 1 项操作未同步…) and saying no keeps the move, which is sent when the network returns. Online with a
    move still waiting (the request failed on the way and the next round has not come), sign-out sends it first
    and asks nothing."""
    store, server, settings, (a, b, c) = world
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, service_workers="allow")
    page = ctx.new_page()
    errors: list[str] = []
    asked: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, server.url, "leader1", PASSWORD)
        page.locator(".gm-worklist").wait_for()
        _wait(page, lambda: page.evaluate("() => document.documentElement.dataset.offlineReady") == "1", "ready")

        # offline: a move waits, sign-out asks, "no" keeps it
        ctx.set_offline(True)
        _move(page, a, "dispatched")
        page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.locator("form.account button[type=submit]").click()
        _wait(page, lambda: bool(asked), "the question before signing out")
        assert "1 项操作未同步" in asked[0] and "丢失" in asked[0], asked
        page.wait_for_timeout(300)
        assert page.url.endswith("/complaints"), page.url  # still signed in, on the work list
        assert "待同步" in page.text_content(f"#c-{a} .gm-pending")  # the move still waits on the phone
        assert _states(store, a) == ["collected"]
        ctx.set_offline(False)  # the network returns: the kept move is sent
        _wait(page, lambda: _states(store, a) == ["collected", "dispatched"], "the kept move stored")

        # online, a move whose request failed on the way: sign-out sends it, then signs out without asking
        page.goto(f"{server.url}/complaints")  # a fresh page: its 30-second round is far off
        page.locator(".gm-worklist").wait_for()
        page.route("**/api/complaints/*/transitions", lambda route: route.abort())
        _move(page, b, "dispatched")
        page.unroute("**/api/complaints/*/transitions")
        assert _states(store, b) == ["collected"]
        page.on("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.locator("form.account button[type=submit]").click()
        page.wait_for_url(f"{server.url}/")
        assert _states(store, b) == ["collected", "dispatched"]
        assert len(asked) == 1, asked  # asked only the first time
        page.wait_for_timeout(500)
        assert _device(page) == {"caches": 0, "dbs": [], "workers": 0}
        assert not errors, errors
    finally:
        ctx.close()


def test_the_grid_map_draws_offline_without_having_been_opened(browser, world, artifacts):
    """Signed in, the phone keeps the grid map's libraries, gridmap.js and its data with the pages: offline, the
    grid page never opened online draws its map (Leaflet there, the grids and buildings drawn, tiles shown) and no
    request to the app fails."""
    store, server, settings, ids = world
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, service_workers="allow")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        sign_in(page, server.url, "leader1", PASSWORD)
        page.locator(".gm-worklist").wait_for()
        _wait(page, lambda: page.evaluate("() => document.documentElement.dataset.offlineReady") == "1", "the worker")
        _wait(page, lambda: page.evaluate("() => document.documentElement.dataset.offlineKept"), "the scope kept")
        assert page.evaluate("() => !!navigator.serviceWorker.controller")

        ctx.set_offline(True)
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url) if r.url.startswith(server.url) else None)
        page.goto(f"{server.url}/grids/{G1}")
        _wait(page, lambda: page.evaluate("() => !!(window.gridmap && window.gridmap.map)"), "the grid's map offline")
        drawn = "() => document.documentElement.dataset.gmIdle === '1' && (window.gridmap.drawn.grids || 0) > 0"
        _wait(page, lambda: page.evaluate(drawn), "the grids drawn offline")
        assert page.evaluate("() => window.gridmap.drawn.buildings") == 2  # b1, b2 of G1, from the page
        assert page.evaluate("() => (window.gridmap.errors || 0)") == 0  # every layer answered from the device
        page.evaluate("() => window.gridmap.map.setZoom(window.gridmap.map.getZoom() - 1, {animate: false})")
        page.wait_for_timeout(300)
        _wait(page, lambda: page.evaluate(drawn), "the map zoomed out offline")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "offline-grid-never-opened.png"))
        assert page.evaluate("() => window.gridmap.tiled.buildings || 0") > 0  # the neighbours, from kept tiles
        assert not failed, failed
        assert not errors, errors
    finally:
        ctx.close()
