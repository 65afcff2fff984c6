"""The desktop journeys of issue 15 as screenshot walks: the planner's editor, embedding in a dashboard, search
on the overview and the KPI page (also at 390×844).

    PYTHONPATH=. python scripts/screens_desktop.py [--out docs/screens] [--lang zh_CN,en]

Each journey is a function ``journey(walk)`` using ``walk.page``, ``walk.base``, ``walk.store`` and
``walk.shot(step)`` — the interface of ``scripts/screens.py`` (the phone journeys), which can take them as
``JOURNEYS += DESKTOP_JOURNEYS``. Run alone, this module loads the seeded demo into a temporary SQLite store,
signs in a planner, serves the app on a local port and saves ``<journey>-<lang>-<width>-<nn>-<step>.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "screens-desktop-2468"


@dataclass
class Walk:
    page: Any
    base: str
    store: Any
    shot: Callable[[str], None]


def _sign_in(walk: Walk, username: str = "planner") -> None:
    """Sign in (with the demo accounts' password when ``scripts/screens.py`` runs the walk)."""
    world = getattr(walk, "world", None) or {}
    walk.page.goto(f"{walk.base}/login")
    walk.page.fill("input[name=username]", username)
    walk.page.fill("input[name=password]", world.get("password", PASSWORD))
    walk.page.click("form button[type=submit]")
    walk.page.wait_for_load_state()


def _busiest_community(store: Any) -> str:
    from gridmap.services import plans as svc

    w = svc.load_world(store)
    plan = svc.load_plan(store, svc.published_plan_id(store), world=w)
    checks = svc.check_plan(plan, w)
    grids = Counter(c["community_id"] for c in checks.values())
    over = Counter(c["community_id"] for c in checks.values() if "above_max" in c["problems"])
    # a community with several grids (the walk moves buildings between two), the most above max first
    return max(grids, key=lambda cid: (grids[cid] >= 3, over[cid], grids[cid]))


def planner(walk: Walk) -> None:
    """A planner opens a draft of the community with most grids above max, makes a grid active, paints two
    buildings into it, rebalances the community, looks at the diff and reviews the publication."""
    page = walk.page
    _sign_in(walk)
    page.goto(f"{walk.base}/planner")
    walk.shot("plans")
    page.click("#start-draft")
    page.wait_for_url("**/planner/drafts/*")
    page.locator("#grids tbody tr").first.wait_for()
    page.select_option("#community", _busiest_community(walk.store))
    page.wait_for_timeout(1500)
    walk.shot("editor")
    rows = page.locator("#grids tbody tr")
    rows.nth(1).click()
    page.wait_for_timeout(800)
    page.check('#modes input[value="paint"]')
    walk.shot("active-grid")
    active = page.locator("#planner").get_attribute("data-active")
    others = page.eval_on_selector_all(
        "path[data-building]", "(els, g) => els.filter(e => e.dataset.grid !== g).map(e => e.dataset.building)", active
    )
    for b in others[:40]:
        box = page.locator(f'path[data-building="{b}"]').bounding_box()
        if box and box["width"] > 4 and 0 < box["x"] < 1000 and 60 < box["y"] < 880:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.up()
            break
    page.wait_for_timeout(1200)
    walk.shot("painted")
    page.click(".fit-community a")
    page.click("#rebalance")
    page.wait_for_timeout(2500)
    walk.shot("rebalanced")
    page.click("#diff")
    page.wait_for_timeout(1500)
    walk.shot("diff")
    page.fill("#effective", "2027-01-01")
    page.click("#publish")
    page.locator("#publish-dialog").wait_for(state="visible")
    walk.shot("review")


def embedding(walk: Walk) -> None:
    """A planner issues an embed token for a grid on a dashboard's site and copies the snippet."""
    page = walk.page
    _sign_in(walk)
    page.goto(f"{walk.base}/embed/tokens")
    walk.shot("tokens")
    page.fill("#origin", "https://screen.example.gov.cn")
    page.click("#issue-button")
    page.locator("#snippet-box").wait_for(state="visible")
    walk.shot("snippet")
    page.goto(f"{walk.base}/embed/grids/000000000000000")
    walk.shot("refused")


def search(walk: Walk) -> None:
    """Search the overview the way people type: a community, then a building, with suggestions."""
    page = walk.page
    page.goto(f"{walk.base}/")
    page.wait_for_timeout(1500)
    page.fill(".gm-search input", "恒珠")
    page.locator(".gm-results li button").first.wait_for()
    walk.shot("suggestions")
    page.locator(".gm-results li button").first.click()
    page.wait_for_timeout(1500)
    walk.shot("community")
    page.fill(".gm-search input", "宁天家园12号楼")
    page.locator(".gm-results li button").first.wait_for()
    page.locator(".gm-results li button").first.click()
    page.wait_for_timeout(1500)
    walk.shot("building")


def kpi(walk: Walk) -> None:
    """The KPI page: cards, charts with axes, the grid map with its legend, definitions."""
    page = walk.page
    page.goto(f"{walk.base}/kpi")
    walk.shot("top")
    page.locator("#definitions").scroll_into_view_if_needed()
    walk.shot("definitions")


#: (name, journey, viewports)
DESKTOP_JOURNEYS: list[tuple[str, Callable[[Walk], None], tuple[dict[str, int], ...]]] = [
    ("planner", planner, (DESKTOP,)),
    ("embed", embedding, (DESKTOP,)),
    ("search", search, (DESKTOP,)),
    ("kpi", kpi, (DESKTOP, PHONE)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/screens")
    ap.add_argument("--lang", default="zh_CN,en")
    ap.add_argument("--only", default="", help="journeys to walk, comma separated (default: all)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from gridmap.services.accounts import add_user
    from gridmap.services.demo import load_demo
    from gridmap.store import open_store
    from gridmap.web import create_app

    folder = Path(tempfile.mkdtemp(prefix="gridmap-screens-"))
    store = open_store(f"sqlite:///{folder / 'demo.db'}")
    load_demo(store, seed=0)
    add_user(store, username="planner", role="planner", password=PASSWORD)
    app = create_app({"SECRET_KEY": "screens", "RATE_LIMIT_ENABLED": False}, store=store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    only = {x for x in args.only.split(",") if x}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless=new"])
        for name, journey, viewports in DESKTOP_JOURNEYS:
            if only and name not in only:
                continue
            for lang in args.lang.split(","):
                for vp in viewports:
                    ctx = browser.new_context(viewport=vp, locale="zh-CN" if lang == "zh_CN" else "en-US")
                    page = ctx.new_page()
                    page.goto(f"{base}/?lang={lang}")
                    n = [0]

                    prefix = f"{name}-{lang}-{vp['width']}"

                    def shot(step: str, page: Any = page, n: list[int] = n, prefix: str = prefix) -> None:
                        n[0] += 1
                        page.screenshot(path=str(out / f"{prefix}-{n[0]:02d}-{step}.png"))

                    try:
                        journey(Walk(page, base, store, shot))
                    except Exception as err:  # a broken walk names itself and the others still run
                        print(f"{name} {lang} {vp['width']}: {err}", file=sys.stderr)
                    ctx.close()
        browser.close()
    server.shutdown()
    print(f"screens in {out}")


if __name__ == "__main__":
    main()
