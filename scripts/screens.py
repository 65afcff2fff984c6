"""Walk the journeys in headless Chromium and save a screenshot of every step under docs/screens/.

    PYTHONPATH=. python scripts/screens.py [--out docs/screens] [--desktop] [--lang zh_CN,en]

It loads the seeded demo into a temporary SQLite store, creates the demo accounts, serves the app on a
local port and walks each journey in :data:`JOURNEYS` — taps and typing only after the first address —
at 390×844 (and 1440×900 with ``--desktop``) in each language. Files are named
``<journey>-<lang>-<width>-<nn>-<step>.png``; the tap count of each journey is printed and written to
``<out>/taps.json``. The browser tests (tests/browser/test_phone_journeys.py) walk the same functions over
a small hand-drawn world.

A journey is a function ``journey(walk: Walk) -> None`` that drives ``walk.page`` through ``walk.tap``,
``walk.type`` and ``walk.choose`` and calls ``walk.shot(step)``; add one to :data:`JOURNEYS`. The desktop
journeys of ``scripts/screens_desktop.py`` (planner, embedding, search, KPI) run after them, each at its own
sizes (``--only planner`` walks one).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
PASSWORD = "screens-密码-2468"


@dataclass
class Walk:
    """One walk through a journey: the page, the server's address, the store (for what other people do
    meanwhile, e.g. staff acting on a resident's request), the world's facts and the screenshot hook."""

    page: Any
    base: str
    store: Any
    world: dict[str, Any]
    shot: Callable[[str], None]
    taps: int = 0
    log: list[str] = field(default_factory=list)

    def tap(self, selector: str) -> None:
        """Tap what ``selector`` finds (the first match) — one tap."""
        self.taps += 1
        self.page.locator(selector).first.click()

    def choose(self, selector: str, value: str) -> None:
        """Pick ``value`` in a select — one tap."""
        self.taps += 1
        self.page.select_option(selector, value)

    def type(self, selector: str, text: str) -> None:
        self.page.fill(selector, text)

    def tap_map(self, lon: float, lat: float, container: str = "#gm-intake-map .folium-map") -> None:
        """Tap the page's Leaflet map at ``lon``/``lat`` — one tap."""
        for _ in range(100):  # no wait_for_function: the pages' CSP forbids eval
            if self.page.evaluate("() => !!(window.gridmap && window.gridmap.map)"):
                break
            self.page.wait_for_timeout(100)
        x, y = self.page.evaluate(
            "([lat, lon]) => { const p = window.gridmap.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
            [lat, lon],
        )
        box = self.page.locator(container).bounding_box()
        self.taps += 1
        self.page.mouse.click(box["x"] + x, box["y"] + y)

    def zoom(self) -> float:
        return float(self.page.evaluate("() => window.gridmap.map.getZoom()"))

    def idle(self) -> None:
        """Wait until the map's layers have loaded (``data-gm-idle``)."""
        for _ in range(200):
            if self.page.evaluate("() => document.documentElement.dataset.gmIdle === '1'"):
                return
            self.page.wait_for_timeout(100)


def _staff() -> Any:
    return SimpleNamespace(id="screens-staff", username="screens-staff", role="admin", scope={})


# -- the journeys -------------------------------------------------------------------------------------
def resident(walk: Walk) -> None:
    """A resident files a request on the map, follows the link, sees staff act, rates it."""
    from gridmap.services import complaints as svc

    page, w = walk.page, walk.world
    page.goto(f"{walk.base}/complaints/new")
    walk.idle()
    walk.shot("form")
    walk.choose("select[name=category]", "sanitation")
    lon, lat = w["lonlat"]
    for _ in range(3):  # a tap on the district zooms in; the next one places the pin
        if walk.page.evaluate("() => window.gridmap.map.getZoom()") >= 16:
            break
        walk.tap_map(lon, lat)
        page.wait_for_timeout(400)
        walk.idle()
    walk.tap_map(lon, lat)
    page.locator("#gm-route p").first.wait_for()
    walk.type("textarea[name=description]", "楼下垃圾桶满了三天没人清运")
    walk.type("input[name=contact_phone]", "13800138000")
    walk.shot("filled")
    walk.tap("#gm-complaint-form button[type=submit]")
    page.locator("#gm-follow").wait_for()
    cid = page.text_content("#gm-receipt-number").strip()
    walk.log.append(cid)
    walk.shot("receipt")
    walk.tap("#gm-follow")
    page.locator("#gm-steps").wait_for()
    walk.shot("status")
    for to in ("dispatched", "responding", "resolved"):  # meanwhile the grid leader and the department act
        svc.transition(walk.store, cid, to, user=_staff(), settings=w["settings"], note=None)
    page.reload()
    page.locator("#gm-rate").wait_for()
    walk.shot("resolved")
    walk.tap("#gm-rate input[name=rating][value='4'] + span")
    walk.tap("#gm-rate input[name=resolved][value=true] + span")
    walk.shot("rating")
    walk.tap("#gm-rate button[type=submit]")
    page.locator("#gm-rated").wait_for()
    walk.shot("rated")


def grid_leader(walk: Walk) -> None:
    """A grid leader signs in, lands on 我的待办, takes a request from 受理 to 办结, opens the building card."""
    page, w = walk.page, walk.world
    cid = w["prepare"]()
    walk.log.append(cid)
    page.goto(f"{walk.base}/login")
    walk.type("input[name=username]", w["leader"])
    walk.type("input[name=password]", PASSWORD)
    walk.tap("form button[type=submit]")
    page.locator(f"#c-{cid}").wait_for()
    walk.shot("todo")
    walk.tap(f"#c-{cid} a.gm-item-link")
    page.locator("#gm-history").wait_for()
    walk.shot("request")
    for to in ("dispatched", "responding", "resolved"):  # 派单, 签收响应, 办结: two taps each
        walk.tap(f"button.gm-act[data-to={to}]")
        if to == "dispatched":
            walk.shot("confirm")
        with page.expect_navigation():
            walk.tap("form.gm-move button[type=submit]")
        page.locator(f".gm-show[data-state={to}]").wait_for()
        walk.shot(to)
    walk.tap(".gm-facts a[href^='/grids/']")
    page.locator(".grid-panel").wait_for()
    walk.idle()
    walk.shot("grid")
    walk.tap(f"tr[data-building='{w['building']}'] a")
    page.locator("#building-card").wait_for()
    walk.shot("building-card")


def viewer_card(walk: Walk) -> None:
    """A viewer signs in and sees the same building card with the stewards' names and phones withheld."""
    page, w = walk.page, walk.world
    page.goto(f"{walk.base}/login?next=/buildings/{w['building']}")
    walk.type("input[name=username]", w["viewer"])
    walk.type("input[name=password]", PASSWORD)
    walk.tap("form button[type=submit]")
    page.locator("#building-card").wait_for()
    walk.shot("building-card")


#: (name, function): the journeys this script walks, in order
JOURNEYS: list[tuple[str, Callable[[Walk], None]]] = [
    ("resident", resident),
    ("grid-leader", grid_leader),
    ("viewer-card", viewer_card),
]


# -- running ------------------------------------------------------------------------------------------
class Server:
    def __init__(self, app: Any) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def demo_world(store: Any, settings: dict[str, Any]) -> dict[str, Any]:
    """Facts the journeys need in the demo: the accounts, the grid leader's building with a 楼长, a point."""
    from gridmap.services import complaints as svc
    from gridmap.services.demo import demo_accounts
    from gridmap.services.plans.stored import published_plan_id

    accounts = {a["role"]: a for a in demo_accounts(store, password=PASSWORD)}
    grid = accounts["grid_leader"]["scope"]["grids"][0]
    plan = published_plan_id(store)
    ids = store.read("plan_assignments", where={"plan_id": plan, "grid_code": grid})["building_id"].astype(str)
    leaders = store.read("stewards", where={"role": "building_leader", "building_id": ids.tolist()})
    bid = str(leaders["building_id"].iloc[0]) if len(leaders) else str(ids.iloc[0])
    c = store.get("buildings", bid)["geometry"].centroid

    def prepare() -> str:
        out = svc.submit(
            store,
            {
                "category": "sanitation",
                "description": "单元门口堆放垃圾",
                "building_id": bid,
                "contact_phone": "13912345678",
            },
            user=SimpleNamespace(id=None, role="public", scope={}),
            settings=settings,
            channel="map",
        )
        return str(out["id"])

    return {
        "leader": "gridleader",
        "viewer": "viewer",
        "building": bid,
        "lonlat": (c.x, c.y),
        "settings": settings,
        "prepare": prepare,
        "password": PASSWORD,
    }


def shooter(page: Any, out: Path, prefix: str) -> tuple[Callable[[str], None], list[int]]:
    """A ``shot(step)`` that saves ``<out>/<prefix>-<nn>-<step>.png`` of what the screen shows, and its count."""
    n = [0]

    def shot(step: str) -> None:
        n[0] += 1
        page.wait_for_timeout(250)  # let transitions and tiles settle
        page.screenshot(path=str(out / f"{prefix}-{n[0]:02d}-{step}.png"), full_page=False)

    return shot, n


def main(argv: list[str] | None = None) -> int:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # the desktop journeys live beside this script
    from screens_desktop import DESKTOP_JOURNEYS

    from gridmap.services.demo import load_demo
    from gridmap.store import open_store
    from gridmap.web import create_app

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="docs/screens")
    ap.add_argument("--desktop", action="store_true", help="also at 1440×900")
    ap.add_argument("--lang", default="zh_CN,en")
    ap.add_argument("--only", default="", help="comma-separated journey names")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-screens-"))
    store = open_store(f"sqlite:///{tmp / 'demo.db'}")
    load_demo(store, seed=0)
    app = create_app({"SECRET_KEY": "screens", "RATE_LIMIT_ENABLED": False}, store=store)
    settings = app.config["GRIDMAP_SETTINGS"]
    world = demo_world(store, settings)
    server = Server(app)
    taps: dict[str, int] = {}
    sizes = [PHONE] + ([DESKTOP] if args.desktop else [])
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--headless=new"])
            for name, journey in JOURNEYS:
                if args.only and name not in args.only.split(","):
                    continue
                for lang in args.lang.split(","):
                    for size in sizes:
                        phone = size is PHONE
                        ctx = browser.new_context(viewport=size, is_mobile=phone, has_touch=phone, locale="zh-CN")
                        ctx.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
                        page = ctx.new_page()
                        shot, n = shooter(page, out, f"{name}-{lang}-{size['width']}")
                        walk = Walk(page=page, base=server.url, store=store, world=world, shot=shot)
                        journey(walk)
                        taps[name] = walk.taps
                        print(f"{name} [{lang} {size['width']}]: {walk.taps} taps, {n[0]} screens")
                        ctx.close()
            # the desktop journeys (issue 15): planner, embedding, search, KPI — each at its own sizes
            for name, desk_journey, viewports in DESKTOP_JOURNEYS:
                if args.only and name not in args.only.split(","):
                    continue
                for lang in args.lang.split(","):
                    for size in viewports:
                        ctx = browser.new_context(viewport=size, locale="zh-CN")
                        ctx.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
                        page = ctx.new_page()
                        shot, n = shooter(page, out, f"{name}-{lang}-{size['width']}")
                        desk_journey(Walk(page=page, base=server.url, store=store, world=world, shot=shot))
                        print(f"{name} [{lang} {size['width']}]: {n[0]} screens")
                        ctx.close()
            browser.close()
    finally:
        server.stop()
    known = json.loads((out / "taps.json").read_text()) if (out / "taps.json").exists() else {}
    (out / "taps.json").write_text(json.dumps(known | taps, indent=1, ensure_ascii=False) + "\n")  # --only adds
    return 0


if __name__ == "__main__":
    sys.exit(main())
