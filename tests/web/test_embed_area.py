"""A community or street embed shows and fetches only its area (docs/maps.md, "Embed in your dashboard"):
the layer API's ``area=`` keeps the features inside a street, community or grid, and the embed page's map asks
for it (review of journey 4: a community embed showed and posted its neighbours' grids)."""

from __future__ import annotations

import json
import re

import pytest

import maps_world
from maps_world import A, B, C

COM_AB = "370214001001"  # grids A and B; C is in the neighbouring community 370214001002


@pytest.fixture
def c(app_factory, sqlite_store):
    maps_world.build(sqlite_store)
    return app_factory(sqlite_store).test_client()


@pytest.fixture
def both(app_factory, store):
    """The same world on SQLite and on PostGIS (the area filter is a spatial query on both backends)."""
    maps_world.build(store)
    return app_factory(store).test_client()


def _features(c, layer, **args):
    res = c.get(f"/api/layers/{layer}", query_string={"zoom": 18, **args})
    assert res.status_code == 200, res.get_data(as_text=True)
    return res.get_json()["features"]


def test_the_layer_api_keeps_only_the_area(both):
    c = both
    assert {f["properties"]["code"] for f in _features(c, "grids")} == {A, B, C}
    assert {f["properties"]["code"] for f in _features(c, "grids", area=COM_AB)} == {A, B}
    assert {f["properties"]["code"] for f in _features(c, "grids", area=C)} == {C}
    blds = _features(c, "buildings", area=COM_AB)
    assert {f["properties"]["id"] for f in blds} == set(maps_world.GRIDS[A] + maps_world.GRIDS[B])
    assert {f["properties"]["id"] for f in _features(c, "communities", area=COM_AB)} == {COM_AB}
    assert {f["properties"]["grid_code"] for f in _features(c, "stewards", area=COM_AB)} <= {A, B}
    assert {f["properties"]["grid_code"] for f in _features(c, "stewards", area="370214001002")} == {C}
    # complaint counts below the points zoom (what the public and embeds get): per grid, only the area's
    counts = c.get("/api/layers/complaints", query_string={"zoom": 13, "area": COM_AB}).get_json()["features"]
    assert counts and {f["properties"]["id"] for f in counts} <= {A, B}
    assert C in {f["properties"]["id"] for f in c.get("/api/layers/complaints?zoom=13").get_json()["features"]}
    assert c.get("/api/layers/grids", query_string={"area": "3702"}).status_code == 400


def _token(c, **kw):
    from gridmap.services.accounts import issue_embed
    from gridmap.web import get_store

    with c.application.app_context():
        return issue_embed(get_store(), c.application.config["SECRET_KEY"], hours=1, **kw)["token"]


def test_a_community_embed_asks_for_its_area_only(c):
    token = _token(c, view="map", grids=[COM_AB])
    html = c.get(f"/embed/communities/{COM_AB}", query_string={"token": token}).get_data(as_text=True)
    opts = [json.loads(m) for m in re.findall(r"gridmap\.register\([^,]+, [^,]+, (\{.*?\})\);", html)]
    assert opts and all(o["area"] == COM_AB for o in opts)
    assert "/tiles/" not in html  # no vector tiles: they would carry the buildings around the community
    # the neighbouring community is refused by the token
    assert c.get("/embed/communities/370214001002", query_string={"token": token}).status_code == 403
    # a grid embed stays as it was (its neighbours drawn faintly around it)
    grid = _token(c, view="grid", grids=[A])
    html = c.get(f"/embed/grids/{A}", query_string={"token": grid}).get_data(as_text=True)
    assert '"area": null' in html


@pytest.mark.parametrize(
    "page,code,said",
    [
        ("grid", COM_AB, "community code"),  # the review's case: a one-grid embed of a community code
        ("community", A, "grid code"),
        ("community", "370214001", "street code"),
        ("street", COM_AB, "community code"),
    ],
)
def test_an_embed_token_for_a_page_needs_a_code_of_that_level(c, login, page, code, said):
    """The embed tokens form names the page it frames; a code of another level (which that page answers with
    404) is refused when issuing, with a bilingual message naming the area field, and nothing is stored."""
    login(c, "planner")
    view = "grid" if page == "grid" else "map"
    r = c.post("/api/embed-tokens", json={"view": view, "page": page, "grids": [code], "hours": 2})
    assert r.status_code == 400, r.get_json()
    message = r.get_json()["error"]["message"]
    assert "区域编码" in message and f"area {code} is a {said}" in message, message
    assert c.get("/api/embed-tokens").get_json()["embeds"] == []
    # the same page with a code of its level is issued, and its page answers
    right = {"grid": A, "community": COM_AB, "street": "370214001"}[page]
    ok = c.post("/api/embed-tokens", json={"view": view, "page": page, "grids": [right], "hours": 2})
    assert ok.status_code == 201, ok.get_json()
    path = {"grid": "grids", "community": "communities", "street": "streets"}[page]
    assert c.get(f"/embed/{path}/{right}", query_string={"token": ok.get_json()["token"]}).status_code == 200


def test_an_embed_token_page_must_fit_its_view(c, login):
    login(c, "planner")
    r = c.post("/api/embed-tokens", json={"view": "map", "page": "grid", "grids": [A], "hours": 2})
    assert r.status_code == 400 and "view" in r.get_json()["error"]["message"]
    assert c.get("/api/embed-tokens").get_json()["embeds"] == []
