"""The English UI is complete: every HTML page of the app, requested as an admin with ``?lang=en`` over the
demo world, shows no Chinese text except data (place, estate and people's names, residents' own words).

How: the page's visible text nodes and the attributes people read (``title``, ``placeholder``,
``aria-label``, ``alt``, button values) are split into tokens at spaces and punctuation; every token
holding a CJK character must be a value (or a space-separated part of a value) of a text column of the
store. A UI label such as 户数 is in no column, so an untranslated string fails the test. The language's
own name 中文 (the switch back to Chinese) is allowed.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from gridmap.domain.schema import LAYERS
from gridmap.services.accounts import issue_embed
from gridmap.services.complaints.follow import follow_token
from gridmap.web import get_store
from gridmap.web.access import embed_view_of

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]")
SPLIT = re.compile(r"[\s·/|()（）\[\]{}:：,，;；、。.!?！？\"'“”‘’<>=+*×→←–—…%#@&~-]+")
ALLOWED = {"中文"}
READ_ATTRS = ("title", "placeholder", "aria-label", "alt", "label")


class _Text(HTMLParser):
    """Visible text and read attributes of a page, the ``data-*`` strings and JSON blocks our scripts show
    (the values, not the keys); script code and styles are skipped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[str] = []
        self._skip = 0
        self._json = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
            self._json = tag == "script" and (a.get("type") or "").endswith("json")
        for name, value in a.items():
            if value and (name in READ_ATTRS or name.startswith("data-")):
                self.items.append(value)
        if tag == "input" and a.get("type") in ("submit", "button", "reset") and a.get("value"):
            self.items.append(a["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
            self._json = False

    def handle_data(self, data):
        if self._json:
            self.items += _json_strings(json.loads(data))
        elif not self._skip and data.strip():
            self.items.append(data)


def _json_strings(node) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _json_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _json_strings(v)]
    return [node] if isinstance(node, str) else []


def chinese_left(html: str, data: set[str]) -> list[str]:
    """Tokens of the page's visible text with Chinese characters that are not data."""
    p = _Text()
    p.feed(html)
    left = []
    for item in p.items:
        text = item.strip()
        if not CJK.search(text) or text in data:
            continue
        bad = [t for t in SPLIT.split(text) if CJK.search(t) and t not in data and t not in ALLOWED]
        if bad:
            left.append(f"{' '.join(bad)!s}  ←  {text[:80]!r}")
    return left


def data_strings(store) -> set[str]:
    """Every value of every text column of the store, and the space-separated parts of each."""
    out: set[str] = set()
    for name, spec in LAYERS.items():
        cols = [c.name for c in spec.columns if c.kind == "str"]
        if not cols:
            continue
        frame = store.read(name, columns=cols)
        for col in cols:
            for v in frame[col].dropna().astype(str).unique():
                v = v.strip()
                out.add(v)
                out.update(t for t in SPLIT.split(v) if t)
    return out


def test_the_check_finds_untranslated_text():
    data = {"城阳花园", "王小明"}
    html = (
        "<html><head><title>Grid</title></head><body><h1>Grid 370214001001001</h1><p>城阳花园 · 王小明</p>"
        '<script>var s = {"户数": "Households"};</script><a href="?lang=zh_CN">中文</a>'
        '<input type="submit" value="Search"></body></html>'
    )
    assert chinese_left(html, data) == []
    assert chinese_left(html.replace('Households"', 'x"').replace("<h1>Grid", "<h1>网格"), data) == [
        "网格  ←  '网格 370214001001001'"
    ]
    assert chinese_left('<input placeholder="搜索">', data) and chinese_left('<b title="户数">1</b>', data)
    assert chinese_left('<input type="submit" value="提交">', data)
    assert chinese_left('<script type="application/json">{"户数": {"a": ["已发布"]}}</script>', data) == [
        "已发布  ←  '已发布'"
    ]
    assert chinese_left('<template data-ok="已受理"></template>', data)


def _draft(client) -> str:
    r = client.post("/api/planner/drafts", json={})
    assert r.status_code in (200, 201), r.get_data(as_text=True)
    return r.get_json()["draft"]


def test_every_html_page_is_english_with_lang_en(demo_copy, app_factory, login):
    store = demo_copy
    app = app_factory(store)
    client = app.test_client()
    login(client, "admin")
    data = data_strings(store)
    complaints = store.read("complaints", columns=["id", "filed_grid_code", "community_id"], limit=5)
    grid = str(complaints["filed_grid_code"].dropna().iloc[0])
    ids = {
        "code": grid,
        "cid": grid[:12],
        "sid": grid[:9],
        "draft": _draft(client),
        "collection_id": "grids",
        "feature_id": grid,
        "rid": str(complaints.iloc[0]["id"]),
        "bid": str(store.read("households", columns=["building_id"], limit=1)["building_id"].iloc[0]),
    }
    pages, problems = [], []
    for rule in app.url_map.iter_rules():
        if (
            "GET" not in rule.methods
            or rule.endpoint == "static"
            or rule.rule.startswith("/api/")
            or "vendor" in rule.rule
            or "open311" in rule.rule
            or "tiles" in rule.endpoint
        ):
            continue
        url = rule.rule
        for m in re.finditer(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule):
            if m.group(1) not in ids:
                break
            url = url.replace(m.group(0), ids[m.group(1)], 1)
        else:
            query = {"lang": "en"}
            if rule.rule.startswith("/ogc"):
                query["f"] = "html"
            view = app.view_functions[rule.endpoint]
            if embed_view_of(view):
                with app.app_context():
                    query["token"] = issue_embed(get_store(), app.config["SECRET_KEY"], view=embed_view_of(view))[
                        "token"
                    ]
            resp = client.get(url, query_string=query)
            if resp.mimetype != "text/html":
                continue
            assert resp.status_code == 200, (url, resp.status_code)
            pages.append(url)
            problems += [f"{url}: {x}" for x in chinese_left(resp.get_data(as_text=True), data)]
    for url in ("/no/such/page", f"/grids/{grid[:12]}999"):  # error pages
        resp = client.get(url, query_string={"lang": "en"})
        assert resp.status_code == 404 and resp.mimetype == "text/html"
        problems += [f"{url} (404): {x}" for x in chinese_left(resp.get_data(as_text=True), data)]
    # what other people see: the sign-in link, a grid leader's "my grid", the public grid page
    for role in (None, "grid_leader"):
        other = app.test_client()
        if role:
            login(other, role, {"grids": [grid]})
        rid = ids["rid"]
        status = f"/complaints/{rid}?t={follow_token(app.config['SECRET_KEY'], rid)}"  # the resident's page
        for url in ("/", "/login", "/kpi", "/complaints/new", f"/grids/{grid}", status, "/complaints/track"):
            resp = other.get(url + ("&" if "?" in url else "?") + "lang=en")
            assert resp.status_code == 200, (role, url)
            problems += [f"{url} ({role or 'public'}): {x}" for x in chinese_left(resp.get_data(as_text=True), data)]
    must = {
        "/",
        "/kpi",
        "/login",
        "/complaints/new",
        "/planner",
        f"/grids/{grid}",
        f"/planner/drafts/{ids['draft']}",
        "/ogc",
        f"/embed/grids/{grid}",
        "/complaints",
        f"/complaints/{ids['rid']}",
        f"/buildings/{ids['bid']}",
        "/complaints/track",
    }
    assert must <= set(pages), sorted(must - set(pages))
    assert not problems, f"{len(problems)} untranslated:\n" + "\n".join(sorted(set(problems))[:150])


def test_map_script_strings_are_english():
    """The strings gridmap.js shows (popups, legend, search) come translated from the page."""
    from gridmap.web import create_app
    from gridmap.web.pages import js_strings

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    with app.test_request_context("/?lang=en"):
        strings = js_strings()
    left = {k: v for k, v in strings.items() if CJK.search(v)}
    assert not left, left
    with app.test_request_context("/?lang=zh_CN"):
        assert CJK.search(js_strings()["户数"])


@pytest.mark.parametrize(
    "path",
    [
        "gridmap/static/planner/planner.js",
        "gridmap/static/complaints/intake.js",
        "gridmap/static/js/embed-demo.js",
        "gridmap/static/js/gridmap.js",
    ],
)
def test_scripts_hold_no_chinese_literals_outside_t(path):
    """User-facing text in our scripts comes from the page (``t(...)`` lookups or data attributes)."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[2].joinpath(path).read_text(encoding="utf-8")
    src = re.sub(r"\bt\(\s*\"[^\"]*\"", "t(", src)  # t("网格") keys are looked up in the page's strings
    src = re.sub(r"//[^\n]*|/\*.*?\*/", "", src, flags=re.S)  # comments
    assert not CJK.search(src), [line for line in src.splitlines() if CJK.search(line)][:10]
