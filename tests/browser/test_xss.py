"""In a real Chromium: script payloads typed by users are shown as text and never run."""

from __future__ import annotations

import pytest

from gridmap.services import accounts
from gridmap.web import get_store
from tests.browser.pagekit import tap_map

pytestmark = pytest.mark.browser

#: each payload sets window.__xss when it runs; the page must show it as text instead
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    '"><svg onload="window.__xss=3">',
    "${window.__xss=4}`;window.__xss=5;`",
    "</script><script>window.__xss=6</script>",
    "javascript:window.__xss=7",
]


def no_xss(page) -> None:
    assert page.evaluate("window.__xss === undefined"), f"a payload ran: {page.evaluate('window.__xss')}"


def test_login_form_echo_is_text(app, browser, live_server):
    with app.app_context():
        accounts.add_user(get_store(), username="li", role="planner", password="correct horse battery")
    server = live_server(app)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for payload in PAYLOADS:
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", payload)
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.input_value("input[name=username]") == payload
        assert "用户名或密码错误" in page.inner_text("body")
        no_xss(page)
    # and the real sign-in works through the same form (CSRF token included)
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.evaluate("fetch('/api/me').then(r => r.json()).then(j => j.username)") == "li"
    page.close()


def _fill_args(rule, ids: dict[str, str]) -> str | None:
    import re

    url = rule.rule
    for m in re.finditer(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule):
        if m.group(1) not in ids:
            return None
        url = url.replace(m.group(0), ids[m.group(1)], 1)
    return url


def test_complaint_and_steward_payloads_never_run(demo_copy, app_factory, browser, live_server):
    """File a complaint with payloads through the real intake page, give a steward a payload name, then
    open every page of the app (as an admin, who sees personal fields) — nothing may run."""

    store = demo_copy
    plan = store.read("plans", where={"status": "published"}).iloc[0]["id"]
    assign = store.read("plan_assignments", where={"plan_id": plan}, limit=1).iloc[0]
    building = store.get("buildings", assign["building_id"])
    point = building["geometry"].representative_point()
    steward = {
        "id": "st-xss",
        "name": PAYLOADS[1],
        "phone": "13800000000",
        "role": "grid_leader",
        "building_id": building["id"],
        "community_id": building["community_id"],
        "serves": assign["grid_code"],
    }
    import geopandas as gpd

    store.write("stewards", gpd.GeoDataFrame([steward], geometry=[point], crs="EPSG:4326"))
    app = app_factory(store)
    with app.app_context():
        accounts.add_user(get_store(), username="boss", role="admin", password="correct horse battery")
    server = live_server(app)
    page = browser.new_page()

    page.goto(f"{server.url}/complaints/new")
    page.fill("textarea[name=description]", " ".join(PAYLOADS))
    page.fill("input[name=contact_name]", PAYLOADS[2][:50])
    page.select_option("select[name=category]", "sanitation")
    for _ in range(4):  # the place is tapped on the map (no coordinate fields); at district zoom a tap zooms in
        tap_map(page, point.x, point.y)
        page.wait_for_timeout(400)
        if page.input_value("input[name=lon]"):
            break
    page.click("#gm-complaint-form button[type=submit]")
    from playwright.sync_api import expect

    expect(page.locator("#gm-result")).not_to_be_empty(timeout=15000)
    no_xss(page)
    filed = store.read("complaints")
    mine = filed[filed["description"] == " ".join(PAYLOADS)]
    assert len(mine) == 1, "the complaint was not stored as typed"
    cid = str(mine.iloc[0]["id"])

    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    # staff answer the resident with payloads: 回复 on the request's page (the reply alone), and with a move
    page.goto(f"{server.url}/complaints/{cid}")
    page.click(".gm-actions button[data-to=reply]")
    page.fill("form.gm-move textarea[name=reply]", " ".join(PAYLOADS))
    with page.expect_navigation():
        page.click("form.gm-move button[type=submit]")
    page.click(".gm-actions button[data-to=dispatched]")
    page.fill("form.gm-move textarea[name=reply]", PAYLOADS[1])
    page.fill("form.gm-move input[name=note]", "内部备忘 " + PAYLOADS[3])
    with page.expect_navigation():
        page.click("form.gm-move button[type=submit]")
    no_xss(page)
    said = store.read("complaint_events", where={"complaint_id": cid}, order_by=["seq"])["reply"].tolist()[-2:]
    assert said == [" ".join(PAYLOADS), PAYLOADS[1]], "the replies were not stored as typed"
    assert page.locator("#gm-history .gm-reply-text").all_inner_texts() == [PAYLOADS[1], " ".join(PAYLOADS)]
    # the resident's status page shows them as text, and not the internal note
    from gridmap.services.complaints.follow import follow_token

    resident = browser.new_page()
    resident.goto(f"{server.url}/complaints/{cid}?t={follow_token('test-secret', cid)}")
    # newest step first; the reply alone came while the request was still 已受理, under that step
    assert resident.locator("#gm-steps .gm-reply-text").all_inner_texts() == [PAYLOADS[1], " ".join(PAYLOADS)]
    assert "内部备忘" not in resident.inner_text("body")
    no_xss(resident)
    resident.close()
    ids = {
        "cid": cid,
        "code": str(assign["grid_code"]),
        "sid": str(building["community_id"])[:9],
        "rid": cid,
        "fmt": "json",
        "draft": "none",
    }
    visited = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith(("/api/", "/tiles")):
            continue
        url = _fill_args(rule, ids | {"cid": cid if "complaint" in rule.endpoint else str(building["community_id"])})
        if url is None:
            continue
        page.goto(f"{server.url}{url}")
        page.wait_for_load_state("networkidle")
        no_xss(page)
        visited.append(url)
    # the staff API the pages use returns the text unchanged (as data, not markup)
    got = page.evaluate(f"fetch('/api/complaints/{cid}').then(r => r.json())")
    assert got["description"] == " ".join(PAYLOADS)
    assert "/complaints/new" in visited and len(visited) > 3
    page.close()


#: a name as an old import or another system may have stored it: tags, a redirect, a style sheet
MARKUP_NAME = (
    '<b class="gm-injected">名</b><meta http-equiv="refresh" content="0;url=/login?pwned=1">'
    '<style>body{display:none}</style><a class="gm-injected" href="//evil.example">link</a>'
)


def _injected(page) -> dict:
    return page.evaluate("""() => ({
        elements: document.querySelectorAll('.gm-injected').length,
        metas: document.querySelectorAll('body meta[http-equiv]').length,
        styles: [...document.querySelectorAll('body style')].filter(s => s.textContent.includes('display:none')).length,
        url: location.href,
        tooltips: [...document.querySelectorAll('.leaflet-tooltip')].map(t => t.textContent),
    })""")


def test_names_with_markup_render_as_text_on_every_page(demo_copy, app_factory, browser, live_server):
    """Street, community, estate and building names holding markup (stored before the importer refused it)
    are drawn as text in tooltips, popups, lists and search results on every page, anonymous and signed in."""
    store = demo_copy
    plan = store.read("plans", where={"status": "published"}).iloc[0]["id"]
    blds = store.read("buildings", columns=["id", "estate_id"])
    assigned = store.read("plan_assignments", where={"plan_id": plan})
    assign = assigned[assigned["building_id"].isin(blds.loc[blds["estate_id"].notna(), "id"])].iloc[0]
    building = store.get("buildings", assign["building_id"])
    community = store.get("communities", building["community_id"])
    for layer, key in (
        ("streets", community["street_id"]),
        ("communities", community["id"]),
        ("estates", building["estate_id"]),
        ("buildings", building["id"]),
    ):
        frame = store.read(layer, ids=[key])
        assert len(frame) == 1
        store.write(layer, frame.assign(name=MARKUP_NAME))
    app = app_factory(store)
    with app.app_context():
        accounts.add_user(get_store(), username="boss", role="admin", password="correct horse battery")
    server = live_server(app)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    code = str(assign["grid_code"])
    ids = {"cid": "none", "code": code, "sid": str(community["id"])[:9], "rid": "none", "fmt": "json", "draft": "none"}
    # the building card and a request's own page (issue 14) name the building and its estate
    ids["bid"] = str(building["id"])
    filed = store.read("complaints", columns=["id", "building_id"])
    here = filed[filed["building_id"] == building["id"]]
    ids["rid"] = str((here if len(here) else filed).iloc[0]["id"])

    def visit_all() -> list[str]:
        seen = []
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith(("/api/", "/tiles")):
                continue
            url = _fill_args(rule, ids | {"cid": str(community["id"])} if "complaint" not in rule.endpoint else ids)
            if url is None:
                continue
            page.goto(f"{server.url}{url}")
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)  # a meta refresh of 0 s would have fired by now
            got = _injected(page)
            assert got["elements"] == 0 and got["metas"] == 0 and got["styles"] == 0, (url, got)
            assert "pwned" not in got["url"], (url, got["url"])
            seen.append(url)
        return seen

    assert "/" in visit_all()
    # the overview at community zoom: street and community labels are permanent tooltips, shown as text
    page.goto(f"{server.url}/")
    page.wait_for_load_state("networkidle")
    c = community["geometry"].representative_point()
    page.evaluate("([lat, lon]) => { window.gridmap.map.setView([lat, lon], 13); return true; }", [c.y, c.x])
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    got = _injected(page)
    assert any(MARKUP_NAME in t for t in got["tooltips"]), got["tooltips"][:5]
    assert got["elements"] == 0 and got["metas"] == 0 and "pwned" not in got["url"]
    # search: the suggestions list shows the name as text
    page.fill(".gm-search input[type=search]", "gm-injected")
    page.press(".gm-search input[type=search]", "Enter")
    page.wait_for_selector(".gm-results li", timeout=15000)  # the answer is drawn (a hit or 没有找到)
    results = page.locator(".gm-results").inner_text()
    got = _injected(page)
    assert got["elements"] == 0 and got["metas"] == 0, got
    if "没有找到" not in results:
        assert "<b class=" in results
    # a building popup (signed in: the grid page shows buildings)
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert len(visit_all()) > 3
    page.close()
