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
