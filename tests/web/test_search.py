"""The overview's search box finds streets, communities, estates, buildings and grids in the forms people
type (issue 15), in the seeded demo district."""

from __future__ import annotations

import pytest

from gridmap.services.maps.search import search
from gridmap.services.plans import published_plan_id

FORMS = [
    ("恒珠社区", "community", "恒珠社区"),
    ("恒珠", "community", "恒珠社区"),
    ("城阳街道", "street", "城阳街道"),
    ("城阳", "street", "城阳街道"),
    ("宁天家园", "estate", "宁天家园"),
    ("宁天", "estate", "宁天家园"),
    ("宁天家园12号楼", "building", "宁天家园 12号楼"),
    ("宁天家园 12 号", "building", "宁天家园 12号楼"),
    ("宁天家园12", "building", "宁天家园 12号楼"),
    ("宁天家园１２栋", "building", "宁天家园 12号楼"),
]


@pytest.mark.parametrize(("q", "kind", "label"), FORMS)
def test_every_form_finds_its_target_first(demo_store, q, kind, label):
    hits = search(demo_store, q)
    assert hits, q
    first = hits[0]
    assert first["kind"] == kind
    assert first["label"].split(" · ")[0] == label
    x0, y0, x1, y1 = first["bbox"]
    assert x0 < x1 and y0 < y1
    assert first["geometry"]["type"] in ("Polygon", "MultiPolygon")


def _a_grid_of(store, community_name):
    com = store.read("communities", columns=["id", "name"])
    cid = com.loc[com["name"] == community_name, "id"].iloc[0]
    codes = store.read("plan_grids", where={"plan_id": published_plan_id(store)}, columns=["code"])["code"]
    return sorted(c for c in codes if c.startswith(cid))[-1]


@pytest.mark.parametrize("form", ["恒珠 {seq}", "恒珠社区{seq}", "恒珠社区{n}号网格", "{code}", "{seq}"])
def test_a_grid_by_its_short_code_or_full_code(demo_store, form):
    code = _a_grid_of(demo_store, "恒珠社区")
    seq = code[-3:]
    hits = search(demo_store, form.format(seq=seq, n=int(seq), code=code))
    grids = [h for h in hits if h["kind"] == "grid"]
    assert code in [h["id"] for h in grids]
    hit = next(h for h in grids if h["id"] == code)
    assert hit["label"].startswith(f"恒珠社区 {seq}")
    assert hit["url"] == f"/grids/{code}"
    if not form.startswith("{seq}"):  # with the community named, that community's grid comes first
        assert hits[0]["id"] == code


def test_an_area_by_its_id_and_nothing_for_nonsense(demo_store):
    cid = demo_store.read("communities", columns=["id", "name"]).iloc[0]
    assert search(demo_store, cid["id"])[0]["label"] == cid["name"]
    assert search(demo_store, "不存在的地方xyz") == []


def test_search_api_answers_the_same(app_factory, demo_store):
    res = app_factory(demo_store).test_client().get("/api/search", query_string={"q": "宁天家园 12 号"})
    assert res.status_code == 200
    assert res.get_json()["results"][0]["label"] == "宁天家园 12号楼"
