"""The complaint JSON API over a hand-drawn world: intake, routing, scopes, transitions, evaluation,
escalation, duplicates, bad input leaving the store unchanged, and the pages."""

from __future__ import annotations

import datetime as dt

import pytest

from complaints_world import COM_B, G1, G2, STREET, build, lonlat

P1 = lonlat(20, 20)  # on b1, grid G1, well inside
P2 = lonlat(90, 20)  # on b2, 10 m from grid G2


@pytest.fixture
def world(sqlite_store):
    build(sqlite_store)
    return sqlite_store


@pytest.fixture
def wclient(app_factory, world):
    return app_factory(world).test_client()


def _post(client, **kw):
    body = {"category": "parking", "description": "消防通道被占用", "lon": P1[0], "lat": P1[1]} | kw
    return client.post("/api/complaints", json=body)


def test_public_submits_and_sees_no_personal_fields(wclient, world):
    r = _post(wclient, contact_name="张三", contact_phone="13800000000")
    assert r.status_code == 201, r.json
    body = r.json
    assert body["state"] == "collected" and body["filed_grid_code"] == G1
    assert "description" not in body and "contact_phone" not in body and "assignee" not in body
    row = world.get("complaints", body["id"])
    assert row["description"] == "消防通道被占用" and row["contact_name"] == "张三"
    assert row["assignee"] == "s1" and row["department"] == "urban_management"
    assert row["needs_confirmation"] is False and row["channel"] == "api"
    ev = world.read("complaint_events", where={"complaint_id": body["id"]})
    assert ev[["seq", "to_state", "actor"]].values.tolist() == [[1, "collected", "public"]]


def test_boundary_request_is_marked_for_confirmation(wclient, world):
    r = _post(wclient, lon=P2[0], lat=P2[1], category="neighbour_dispute")
    assert r.status_code == 201
    row = world.get("complaints", r.json["id"])
    assert row["needs_confirmation"] is True and row["building_id"] == "b2"
    assert row["department"] == "judicial_mediation"
    prev = wclient.get(f"/api/complaints/route?lon={P2[0]}&lat={P2[1]}&category=parking").json
    assert prev["needs_confirmation"] and "another grid" in prev["reasons"][0]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"category": "ufo"}, "unknown category"),
        ({"description": "  "}, "description is empty"),
        ({"lon": "east", "lat": 36}, "must be numbers"),
        ({"lon": None, "lat": None}, "say where"),
        ({"duplicate_of": "nope"}, "not an open request"),
    ],
)
def test_bad_input_is_refused_and_store_unchanged(wclient, world, body, message):
    before = world.snapshot(["complaints", "complaint_events"])
    r = _post(wclient, **body)
    assert r.status_code == 400 and message in r.json["error"]["message"]
    after = world.snapshot(["complaints", "complaint_events"])
    assert all(after[k].equals(before[k]) for k in before)


def test_channel_visit_only_for_staff(wclient, login):
    assert _post(wclient, channel="visit").status_code == 403
    login(wclient, "grid_leader", {"grids": [G1]})
    r = _post(wclient, channel="phone", contact_name="王五")
    assert r.status_code == 201 and r.json["channel"] == "phone" and r.json["contact_name"] == "王五"


def _as(app_factory, world, login, role, scope):
    c = app_factory(world).test_client()
    login(c, role, scope)
    return c


def test_scopes_list_and_detail(app_factory, world, login, wclient):
    a = _post(wclient).json["id"]  # G1
    b = _post(wclient, lon=lonlat(220, 20)[0], lat=lonlat(220, 20)[1]).json["id"]  # G3
    g1 = _as(app_factory, world, login, "grid_leader", {"grids": [G1]})
    assert [i["id"] for i in g1.get("/api/complaints").json["items"]] == [a]
    assert g1.get(f"/api/complaints/{a}").json["description"] == "消防通道被占用"
    assert "description" not in g1.get(f"/api/complaints/{b}").json  # outside: no personal fields
    com_b = _as(app_factory, world, login, "community_official", {"communities": [COM_B]})
    assert [i["id"] for i in com_b.get("/api/complaints").json["items"]] == [b]
    street = _as(app_factory, world, login, "street_official", {"streets": [STREET]})
    assert street.get("/api/complaints").json["total"] == 2
    dept = _as(app_factory, world, login, "department", {"departments": ["城管"]})
    assert dept.get("/api/complaints").json["total"] == 2
    police = _as(app_factory, world, login, "department", {"departments": ["police"]})
    assert police.get("/api/complaints").json["total"] == 0
    assert wclient.get("/api/complaints").status_code == 401
    viewer = _as(app_factory, world, login, "viewer", {})
    assert viewer.get("/api/complaints").status_code == 403


def test_full_loop_with_evaluation_and_reopen(app_factory, world, login, wclient):
    cid = _post(wclient).json["id"]
    gl = _as(app_factory, world, login, "grid_leader", {"grids": [G1]})
    dept = _as(app_factory, world, login, "department", {"departments": ["urban_management"]})
    other_gl = _as(app_factory, world, login, "grid_leader", {"grids": [G2]})

    assert other_gl.post(f"/api/complaints/{cid}/transitions", json={"to": "dispatched"}).status_code == 403
    r = dept.post(f"/api/complaints/{cid}/transitions", json={"to": "dispatched"})
    assert r.status_code == 409 and "done by staff" in r.json["error"]["message"]
    r = gl.post(f"/api/complaints/{cid}/transitions", json={"to": "resolved"})
    assert r.status_code == 409 and "cannot go from collected (已受理) to resolved" in r.json["error"]["message"]
    for who, to in [(gl, "dispatched"), (dept, "responding"), (dept, "resolved")]:
        r = who.post(f"/api/complaints/{cid}/transitions", json={"to": to, "note": f"→{to}"})
        assert r.status_code == 200, r.json
    r = gl.post(f"/api/complaints/{cid}/transitions", json={"to": "evaluated", "rating": 2, "resolved": False})
    assert r.status_code == 200 and r.json["complaint"]["state"] == "reopened"
    assert [e["to_state"] for e in r.json["events"]] == ["evaluated", "reopened"]
    r = gl.post(f"/api/complaints/{cid}/transitions", json={"to": "evaluated", "rating": 9, "resolved": True})
    assert r.status_code in (400, 409)
    events = gl.get(f"/api/complaints/{cid}/events").json
    assert [(e["seq"], e["from_state"], e["to_state"]) for e in events] == [
        (1, None, "collected"),
        (2, "collected", "dispatched"),
        (3, "dispatched", "responding"),
        (4, "responding", "resolved"),
        (5, "resolved", "evaluated"),
        (6, "evaluated", "reopened"),
    ]
    assert events[1]["actor"].startswith("u-grid_leader") and events[1]["note"] == "→dispatched"
    assert events[2]["actor"].startswith("u-department") and events[0]["actor"] == "public"
    row = world.get("complaints", cid)
    assert row["rating"] == 2 and row["resolved"] is False and row["state"] == "reopened"


def test_reassign_after_return(app_factory, world, login, wclient):
    cid = _post(wclient).json["id"]
    gl = _as(app_factory, world, login, "grid_leader", {"grids": [G1]})
    dept = _as(app_factory, world, login, "department", {"departments": ["urban_management"]})
    gl.post(f"/api/complaints/{cid}/transitions", json={"to": "dispatched"})
    assert (
        dept.post(f"/api/complaints/{cid}/transitions", json={"to": "returned", "note": "非本部门"}).status_code == 200
    )
    r = gl.post(f"/api/complaints/{cid}/transitions", json={"to": "reassigned", "department": "police"})
    assert r.status_code == 200 and r.json["complaint"]["department"] == "police"
    # the urban-management department no longer holds it
    assert dept.post(f"/api/complaints/{cid}/transitions", json={"to": "responding"}).status_code == 403


def test_escalation_endpoint(app_factory, world, login, wclient):
    from gridmap import config
    from gridmap.services import complaints as svc
    from gridmap.web.access import User

    old = dt.datetime(2025, 3, 3, 9)
    rec = svc.submit(
        world,
        {"category": "consultation", "description": "政策咨询", "lon": P1[0], "lat": P1[1]},
        user=User(None, "x", "public"),
        settings=config.load(),
        now=old,
    )
    street = _as(app_factory, world, login, "street_official", {"streets": [STREET]})
    assert _post(wclient, category="consultation").status_code == 201  # fresh one: not overdue
    r = street.post("/api/complaints/escalate")
    assert r.status_code == 200 and r.json["escalated"] == [rec["id"]] and r.json["events"] == 2
    row = world.get("complaints", rec["id"])
    assert row["state"] == "supervised" and row["escalation"] == 2
    assert street.post("/api/complaints/escalate").json["escalated"] == []  # idempotent
    gl = _as(app_factory, world, login, "grid_leader", {"grids": [G1]})
    assert gl.post("/api/complaints/escalate").status_code == 403


def test_duplicates_offered_and_linked(wclient, world):
    first = _post(wclient).json["id"]
    near = lonlat(25, 60)  # 40 m away, parking radius 80 m
    dups = wclient.get(f"/api/complaints/duplicates?lon={near[0]}&lat={near[1]}&category=parking").json
    assert [d["id"] for d in dups] == [first] and dups[0]["distance_m"] == pytest.approx(40.3, abs=1)
    assert wclient.get(f"/api/complaints/duplicates?lon={near[0]}&lat={near[1]}&category=sanitation").json == []
    r = _post(wclient, lon=near[0], lat=near[1], duplicate_of=first)
    assert r.status_code == 201 and [d["id"] for d in r.json["duplicates"]] == [first]
    assert world.get("complaints", r.json["id"])["duplicate_of"] == first


def test_pages_render(wclient, world):
    form = wclient.get("/complaints/new")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert "停车管理" in html and 'id="gm-intake-map"' in html and "intake.js" in html
    assert "/vendor/leaflet/" in html and "https://" not in html.split("</head>")[0]
    assert wclient.get("/static/complaints/intake.js").status_code == 200
    _post(wclient, description="<script>alert(1)</script>")
    k = wclient.get("/kpi")
    assert k.status_code == 200 and "<script>alert" not in k.get_data(as_text=True)
    assert "每千户" in k.get_data(as_text=True)
    en = wclient.get("/complaints/new?lang=en")
    assert en.status_code == 200 and "Report a problem" in en.get_data(as_text=True)


def _fitted(html: str) -> list[float]:
    """The [minx, miny, maxx, maxy] the page's map is fitted to (folium's fitBounds)."""
    import re

    m = re.search(r"fitBounds\(\s*\[\[([-\d.e]+),\s*([-\d.e]+)\],\s*\[([-\d.e]+),\s*([-\d.e]+)\]\]", html)
    assert m, "no fitBounds in the page"
    miny, minx, maxy, maxx = map(float, m.groups())
    return [minx, miny, maxx, maxy]


def test_intake_map_zooms_to_a_community(wclient, world):
    whole = wclient.get("/complaints/new").get_data(as_text=True)
    assert "乙社区" in whole
    com = world.read("communities")
    b = com.loc[com["id"] == COM_B].geometry.iloc[0].bounds
    everything = com.total_bounds
    zoomed = _fitted(wclient.get(f"/complaints/new?community={COM_B}").get_data(as_text=True))
    assert zoomed[0] <= b[0] and zoomed[1] <= b[1] and zoomed[2] >= b[2] and zoomed[3] >= b[3]
    assert (zoomed[2] - zoomed[0]) < (everything[2] - everything[0])  # closer than the whole district
    full = _fitted(whole)
    assert full[0] <= everything[0] + 1e-5 and full[2] >= everything[2] - 1e-5  # (rounded to 6 decimals)
    assert _fitted(wclient.get("/complaints/new?community=nope").get_data(as_text=True)) == full


# -- the staff work list page ------------------------------------------------------------------------------
def test_work_list_shows_only_the_leaders_grid_and_offers_the_allowed_moves(wclient, world, login):
    mine = _post(wclient, description="楼道<script>x</script>堆物").json["id"]
    other = _post(wclient, lon=lonlat(160, 20)[0], lat=lonlat(160, 20)[1]).json["id"]  # b3, grid G2
    assert wclient.get("/complaints").status_code in (302, 401, 403)  # the public has no work list
    login(wclient, "grid_leader", scope={"grids": [G1]})
    html = wclient.get("/complaints").get_data(as_text=True)
    assert f'id="c-{mine}"' in html and f'id="c-{other}"' not in html
    assert "楼道&lt;script&gt;x&lt;/script&gt;堆物" in html and "<script>x" not in html
    moves = html.split(f'id="c-{mine}"')[1].split("</form>")[0]
    # the moves are actions named by the transitions table (派单, 不予受理 …), not target states
    assert 'data-to="dispatched"' in moves and 'data-to="rejected"' in moves and 'data-to="resolved"' not in moves
    assert ">派单<" in moves and ">不予受理<" in moves
    assert wclient.get("/complaints?state=resolved").get_data(as_text=True).count('class="gm-item') == 0
    assert "My to-do list" in wclient.get("/complaints?lang=en").get_data(as_text=True)
