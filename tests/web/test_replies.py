"""Public replies to the resident (答复群众): with a move or on their own (回复), stored on the events; the resident's
status page shows them under their step, the staff page apart from internal notes; a reply on its own is no move,
no escalation and no response in the KPIs; bad replies are refused with the field named and change nothing."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from complaints_world import G1, G2, build, lonlat
from gridmap import config
from gridmap.domain import complaints as C
from gridmap.domain import kpi
from gridmap.services import complaints as svc
from gridmap.services.complaints.follow import resident_view
from gridmap.web.access import User

P1 = lonlat(20, 20)  # b1, grid G1
ADMIN = User(id="u-admin", username="admin", role="admin")


@pytest.fixture
def world(sqlite_store):
    build(sqlite_store)
    return sqlite_store


@pytest.fixture
def app(app_factory, world):
    return app_factory(world)


def _file(client) -> dict:
    body = {"category": "sanitation", "description": "垃圾没人清", "lon": P1[0], "lat": P1[1]}
    r = client.post("/api/complaints", json=body | {"contact_phone": "13800138000"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _as(app, login, role, scope):
    c = app.test_client()
    login(c, role, scope)
    return c


def _events(world, cid) -> pd.DataFrame:
    return world.read("complaint_events", where={"complaint_id": cid}, order_by=["seq"])


def test_a_reply_with_a_move_and_on_its_own(app, world, login):
    cid = _file(app.test_client())["id"]
    gl = _as(app, login, "grid_leader", {"grids": [G1]})
    r = gl.post(
        f"/api/complaints/{cid}/transitions",
        json={"to": "dispatched", "note": "内部：王师傅负责", "reply": "已派城管处理，三天内清运"},
    )
    assert r.status_code == 200, r.json
    assert r.json["events"][0]["reply"] == "已派城管处理，三天内清运"
    r = gl.post(f"/api/complaints/{cid}/replies", json={"reply": "  明早八点清运  "})
    assert r.status_code == 201, r.json
    ev = r.json["events"][0]
    assert (ev["from_state"], ev["to_state"], ev["note"], ev["reply"]) == (
        "dispatched",
        "dispatched",
        None,
        "明早八点清运",
    )
    assert r.json["complaint"]["state"] == "dispatched" and world.get("complaints", cid)["state"] == "dispatched"
    stored = _events(world, cid)
    assert list(stored["reply"].fillna("")) == ["", "已派城管处理，三天内清运", "明早八点清运"]
    assert C.is_reply_only(stored.iloc[-1].to_dict()) and not C.is_reply_only(stored.iloc[1].to_dict())
    log = world.read("audit_log", where={"target": f"complaint:{cid}", "action": "complaint.reply"})
    assert len(log) == 1 and "明早" not in str(log.iloc[0].to_dict())  # the audit names no words
    # the request's version counts the reply (a move based on the version before is refused)
    r = gl.post(f"/api/complaints/{cid}/transitions", json={"to": "supervised"}, headers={"If-Match": "2"})
    assert r.status_code == 409


def test_who_may_reply(app, world, login):
    cid = _file(app.test_client())["id"]
    body = {"reply": "收到"}
    assert app.test_client().post(f"/api/complaints/{cid}/replies", json=body).status_code == 401
    assert _as(app, login, "viewer", {}).post(f"/api/complaints/{cid}/replies", json=body).status_code == 403
    other = _as(app, login, "grid_leader", {"grids": [G2]})
    assert other.post(f"/api/complaints/{cid}/replies", json=body).status_code == 403
    dept = _as(app, login, "department", {"departments": ["urban_management"]})
    assert dept.post(f"/api/complaints/{cid}/replies", json=body).status_code == 201
    assert (
        _as(app, login, "department", {"departments": ["police"]})
        .post(f"/api/complaints/{cid}/replies", json=body)
        .status_code
        == 403
    )
    assert len(_events(world, cid)) == 2


@pytest.mark.parametrize(
    "path, body",
    [
        ("replies", {"reply": "长" * (C.MAX_REPLY + 1)}),
        ("replies", {"reply": "bad\x07bell"}),
        ("replies", {"reply": "   "}),
        ("replies", {}),
        ("transitions", {"to": "dispatched", "reply": "长" * (C.MAX_REPLY + 1)}),
        ("transitions", {"to": "dispatched", "reply": "bad\x00"}),
    ],
)
def test_a_bad_reply_is_refused_naming_the_field_and_changes_nothing(app, world, login, path, body):
    cid = _file(app.test_client())["id"]
    gl = _as(app, login, "grid_leader", {"grids": [G1]})
    before = (_events(world, cid).to_dict("records"), world.get("complaints", cid)["state"])
    r = gl.post(f"/api/complaints/{cid}/{path}", json=body)
    assert r.status_code == 400, r.json
    assert "reply" in str(r.json)
    assert (_events(world, cid).to_dict("records"), world.get("complaints", cid)["state"]) == before


def test_the_domain_errors_are_bilingual():
    with pytest.raises(C.ComplaintError, match=r"给群众的答复.*reply is 1001 characters; at most 1000"):
        C.check_reply("x" * 1001)
    rec = {"id": "c1", "state": "collected"}
    with pytest.raises(C.ComplaintError, match=r"答复为空.*reply is empty"):
        C.reply(rec, " ", actor="a", at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), seq=2)


def test_the_resident_sees_replies_under_their_step_and_no_internal_note(app, world, login):
    c = app.test_client()
    j = _file(c)
    cid = j["id"]
    settings = app.config["GRIDMAP_SETTINGS"]
    t0 = dt.datetime(2025, 3, 3, 1, tzinfo=dt.UTC)
    svc.transition(
        world, cid, "dispatched", user=ADMIN, settings=settings, note="内部：张三 13511112222 负责", now=t0,
        changes={"reply": "已派人处理"},
    )  # fmt: skip
    svc.reply(world, cid, "明早清运，联系 13912345678", user=ADMIN, now=t0 + dt.timedelta(hours=1))
    svc.reply(world, cid, "车辆已出发", user=ADMIN, now=t0 + dt.timedelta(hours=2))
    svc.transition(world, cid, "responding", user=ADMIN, settings=settings, now=t0 + dt.timedelta(hours=3))
    view = resident_view(world, cid, settings=settings)
    assert [s["state"] for s in view["steps"]] == ["collected", "dispatched", "responding"]  # replies are no steps
    assert [r["text"] for r in view["steps"][1]["replies"]] == [
        "已派人处理",
        "明早清运，联系 139****5678",
        "车辆已出发",
    ]
    page = c.get(j["status_url"]).get_data(as_text=True)
    assert page.index("已派人处理") < page.index("明早清运") < page.index("车辆已出发")  # newest last
    assert "工作人员答复" in page and "13912345678" not in page
    assert "内部" not in page and "张三" not in page and "13511112222" not in page  # the note stays internal
    assert page.count('<li class="gm-step') == 3
    en = c.get(j["status_url"] + "&lang=en").get_data(as_text=True)
    assert "Reply from staff" in en and "车辆已出发" in en


def test_a_reply_while_supervised_is_no_escalation_and_no_response(app, world):
    c = app.test_client()
    j = _file(c)
    cid = j["id"]
    settings = app.config["GRIDMAP_SETTINGS"]
    svc.transition(world, cid, "supervised", user=ADMIN, settings=settings)
    level = world.get("complaints", cid)["escalation"]
    svc.reply(world, cid, "已督促承办部门", user=ADMIN)
    rec = world.get("complaints", cid)
    assert rec["state"] == "supervised" and rec["escalation"] == level
    view = resident_view(world, cid, settings=settings)
    assert [s["state"] for s in view["steps"]] == ["collected", "supervised"]  # one 督办, not two
    assert view["steps"][-1]["replies"][0]["text"] == "已督促承办部门"
    # the KPIs' first response ignores an event that keeps the state (a reply on its own)
    at = pd.Timestamp("2025-03-01T00:00:00Z")
    events = pd.DataFrame(
        {
            "complaint_id": ["a", "a", "b", "b"],
            "seq": [1, 2, 1, 2],
            "from_state": [None, "responding", None, "collected"],
            "to_state": ["collected", "responding", "collected", "responding"],
            "at": [at, at + pd.Timedelta(hours=1), at, at + pd.Timedelta(hours=2)],
        }
    )
    first = kpi._first_response(events)
    assert list(first.index) == ["b"] and first["b"] == at + pd.Timedelta(hours=2)


def test_the_staff_page_shows_public_replies_apart_from_internal_notes(app, world, login):
    cid = _file(app.test_client())["id"]
    settings = config.load()
    svc.transition(
        world, cid, "dispatched", user=ADMIN, settings=settings, note="找王师傅", changes={"reply": "公开文字"}
    )
    svc.reply(world, cid, "只答复不办理", user=ADMIN)
    gl = _as(app, login, "grid_leader", {"grids": [G1]})
    page = gl.get(f"/complaints/{cid}").get_data(as_text=True)
    history = page[page.index('id="gm-history"') :]
    assert history.count("公开答复") == 2 and history.count("找王师傅") == 1
    # every note is tagged internal (the intake's channel note and the move's), no reply is
    assert history.count("gm-tag-internal") == 2 and "内部备注</span> 公开文字" not in history
    assert history.index("只答复不办理") < history.index("公开文字")  # newest first, as the history reads
    assert "<b>回复</b>" in history  # the reply on its own is named as the verb, not as a state
    # the work list and the request page offer 回复 beside the moves, with the labelled reply field
    assert 'data-to="reply"' in page and "给群众的答复（群众可见）" in page
    html = gl.get("/complaints").get_data(as_text=True)
    assert 'data-to="reply"' in html and 'name="reply"' in html
