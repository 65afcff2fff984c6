"""What a grid leader's phone keeps at sign-in (``/api/offline/scope``): every script, style sheet and image the
kept pages load, by the very URLs the pages write (the grid map's Leaflet, plugins and gridmap.js included, and
the images their style sheets name), and the data of the grid map over the leader's grids and around them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maps_world
from maps_world import GRIDS, A

PASSWORD = "offline-密码-9753"


def _leader(app_factory, store):
    from gridmap.services.accounts import add_user

    maps_world.build(store)
    add_user(store, username="leader", role="grid_leader", password=PASSWORD, scope={"grids": [A]})
    c = app_factory(store).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    assert c.post("/login", data={"username": "leader", "password": PASSWORD, "csrf_token": token}).status_code in (
        302,
        303,
    )
    return c


def _loads(html: str) -> set[str]:
    """The same-origin scripts and style sheets (and the icon) a page's HTML loads."""
    found = set(re.findall(r"""<script[^>]*\bsrc="(/[^"]+)\"""", html))
    found |= {
        href
        for rel, href in re.findall(r"""<link[^>]*\brel="([^"]+)"[^>]*\bhref="(/[^"]+)\"""", html)
        if rel in ("stylesheet", "icon")
    }
    return {u.replace("&amp;", "&") for u in found}


def test_the_scope_names_every_file_the_leaders_pages_load(app_factory, sqlite_store):
    c = _leader(app_factory, sqlite_store)
    scope = c.get("/api/offline/scope").get_json()
    listed = set(scope["static"])
    for path in ("/complaints", f"/grids/{A}", f"/buildings/{GRIDS[A][0]}"):
        page = c.get(path)
        assert page.status_code == 200, path
        loads = _loads(page.get_data(as_text=True))
        assert loads, path
        assert loads <= listed, (path, sorted(loads - listed))
    grid_page = _loads(c.get(f"/grids/{A}").get_data(as_text=True))
    assert any("/leaflet.js" in u for u in grid_page) and any("/js/gridmap.js?v=" in u for u in grid_page)
    assert any(u.endswith("/images/layers.png") for u in listed)  # Leaflet's layer control, named by its css
    for url in listed:  # each one is served
        assert c.get(url).status_code == 200, url


def test_the_scope_keeps_the_grid_maps_data_around_the_leaders_grids(app_factory, sqlite_store):
    c = _leader(app_factory, sqlite_store)
    data = c.get("/api/offline/scope").get_json()["data"]
    assert f"/api/grids/{A}/stats" in data
    layers = {u.split("?")[0] for u in data if u.startswith("/api/layers/")}
    assert {"/api/layers/grids", "/api/layers/communities", "/api/layers/complaints"} <= layers
    assert any(u.startswith("/api/layers/buildings?") and u.endswith(f"&grid={A}") for u in data)
    tiles = [u for u in data if u.startswith("/tiles/buildings/")]
    assert {int(u.split("/")[3]) for u in tiles} == set(range(13, 20))
    grids = c.get(next(u for u in data if u.startswith("/api/layers/grids"))).get_json()
    assert A in {f["properties"]["code"] for f in grids["features"]}
    for url in data[:3] + tiles[:3]:
        assert c.get(url).status_code == 200, url
