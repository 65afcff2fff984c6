"""The moves a grid leader is offered come from the domain, for the request as it is: no 督办 beyond the street
(and that refusal in both languages), 改派 of a returned request with the departments to choose from."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from complaints_world import G1, build
from gridmap import clock, config
from gridmap.domain import complaints as C
from gridmap.errors import Conflict
from gridmap.services import complaints as svc
from gridmap.services.complaints.todo import moves

ADMIN = SimpleNamespace(id="a1", username="a1", role="admin", scope={})
PUBLIC = SimpleNamespace(id=None, role="public", scope={})


@pytest.fixture
def made(sqlite_store):
    build(sqlite_store)
    s = config.load()

    def request(*steps: str) -> str:
        data = {"category": "sanitation", "description": "楼道堆物", "building_id": "b1"}
        cid = str(
            svc.submit(sqlite_store, data, user=SimpleNamespace(id=None, role="public", scope={}), settings=s)["id"]
        )
        for to in steps:
            svc.transition(sqlite_store, cid, to, user=ADMIN, settings=s, now=dt.datetime(2025, 5, 6, 12))
        return cid

    return sqlite_store, s, request


def test_supervision_is_not_offered_at_the_street_and_its_refusal_is_bilingual(made):
    store, s, request = made
    community, street = request("dispatched", "supervised"), request("dispatched", "supervised", "supervised")
    assert "supervised" in [m["to"] for m in moves(store.get("complaints", community), "staff")]
    assert "supervised" not in [m["to"] for m in moves(store.get("complaints", street), "staff")]
    assert "supervised" in C.allowed_targets("supervised")  # the state allows it: the request's level does not
    with pytest.raises(Conflict) as refused:
        svc.transition(store, street, "supervised", user=ADMIN, settings=s)
    text = str(refused.value)
    assert "已由街道督办" in text and "the highest level" in text
    assert int(store.get("complaints", street)["escalation"]) == 2  # unchanged


def test_a_returned_request_offers_reassignment_to_another_department(made):
    store, s, request = made
    cid = request("dispatched", "returned")
    rec = store.get("complaints", cid)
    offered = {m["to"]: m for m in moves(rec, "staff")}
    assert set(offered) == set(C.allowed_targets("returned", by="staff"))  # every move the table allows
    codes = [d["code"] for d in offered["reassigned"]["departments"]]
    assert rec["department"] not in codes and set(codes) == set(C.DEPARTMENTS) - {rec["department"]}
    assert offered["reassigned"]["zh"] == "改派"


def test_the_work_list_and_request_pages_offer_reassign_with_a_department_choice(made, app_factory, login):
    store, s, request = made
    cid = request("dispatched", "returned")
    c = app_factory(store).test_client()
    login(c, "grid_leader", scope={"grids": [G1]})
    for path in ("/complaints", f"/complaints/{cid}"):
        html = c.get(path).get_data(as_text=True)
        assert 'data-to="reassigned"' in html and '<select name="department">' in html, path
        assert f'<option value="police">{C.DEPARTMENTS["police"].zh}</option>' in html, path
    en = c.get("/complaints?lang=en").get_data(as_text=True)
    assert "Reassign to" in en and "Choose a department" in en
    assert f'<option value="police">{C.DEPARTMENTS["police"].en}</option>' in en


def test_the_request_page_shows_waiting_and_overdue_and_names_the_building_as_its_card(
    made, app_factory, login, fixed_now
):
    store, s, request = made
    cid = request("dispatched")
    rec = store.get("complaints", cid)
    fixed_now(pd.Timestamp(rec["due_at"]).to_pydatetime() + dt.timedelta(days=2, hours=1))
    waited = (clock.now() - clock.utc(pd.Timestamp(rec["created_at"]).to_pydatetime())).days
    c = app_factory(store).test_client()
    login(c, "grid_leader", scope={"grids": [G1]})
    page = c.get(f"/complaints/{cid}").get_data(as_text=True)
    listed = c.get("/complaints").get_data(as_text=True)
    late = re.search(r'<span class="tag overdue gm-sla">超期 (\d+) 天</span>', listed)
    assert late and int(late.group(1)) >= 2
    assert late.group(0) in page  # as the work list says it
    assert f'<dd class="gm-waited">{waited} 天</dd>' in page and waited >= 2
    assert ">一苑 1号楼</a>" in page  # estate and number as the building card names it
    assert "一苑 1号楼" in listed
    en = c.get(f"/complaints/{cid}?lang=en").get_data(as_text=True)
    assert "一苑 Building 1" in en and "days overdue" in en and f"{waited} days" in en
