"""A resident's own request page and rating, the staff work list's order and actions, a request's page and the
building card (issue #14), over the hand-drawn complaints world."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import pandas as pd
import pytest

from complaints_world import G1, G2, build, lonlat
from gridmap.domain import privacy
from gridmap.services import complaints as svc
from gridmap.services.complaints.follow import check_token, follow_token
from gridmap.web.access import User
from tests.conftest import _arm_csrf

P1 = lonlat(20, 20)  # b1, grid G1


@pytest.fixture
def world(sqlite_store):
    build(sqlite_store)
    home = sqlite_store.get("buildings", "b1")["geometry"].centroid
    sqlite_store.write(
        "stewards",
        gpd.GeoDataFrame(
            {
                "id": ["s10"],
                "name": ["孙楼长"],
                "phone": ["13712345678"],
                "role": ["building_leader"],
                "building_id": ["b1"],
                "serves": ["b1"],
                "community_id": ["370214001001"],
            },
            geometry=[home],
            crs=4326,
        ),
    )
    sqlite_store.write(
        "households",
        pd.DataFrame(
            {
                "id": ["h1"],
                "building_id": ["b1"],
                "community_id": ["370214001001"],
                "room": ["1-1-101"],
                "unit": [1],
                "head_name": ["吴大爷"],
                "phone": ["13511112222"],
                "tags": ["elderly_alone"],
            }
        ),
    )
    return sqlite_store


@pytest.fixture
def app(app_factory, world):
    return app_factory(world)


def _file(client, **kw):
    body = {"category": "sanitation", "description": "垃圾没人清", "lon": P1[0], "lat": P1[1]}
    r = client.post("/api/complaints", json=body | {"contact_phone": "13800138000"} | kw)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _resolve(store, app, cid):
    staff = User(id="u-admin", username="admin", role="admin")
    for to in ("dispatched", "responding", "resolved"):
        svc.transition(store, cid, to, user=staff, settings=app.config["GRIDMAP_SETTINGS"])


def test_the_receipt_links_to_a_status_page_no_one_can_guess(app, world):
    c = app.test_client()
    j = _file(c)
    url = urlsplit(j["status_url"])
    token = parse_qs(url.query)["t"][0]
    assert url.path == f"/complaints/{j['id']}" and len(token) == 24
    check_token(["test-secret"], j["id"], token)
    assert follow_token("test-secret", j["id"]) != follow_token("other-secret", j["id"])
    page = c.get(j["status_url"]).get_data(as_text=True)
    assert j["id"] in page and "已受理" in page and "城管" in page and "13800138000" not in page
    # a wrong or missing token says nothing about the request
    assert c.get(f"/complaints/{j['id']}?t={'a' * 24}").status_code == 404
    assert "电话后四位" in c.get(f"/complaints/{j['id']}").get_data(as_text=True)  # the finder instead
    # number + the last four digits of the phone find it again
    _arm_csrf(c)
    assert c.post("/complaints/track", data={"id": j["id"], "last4": "1234"}).status_code == 404
    r = c.post("/complaints/track", data={"id": j["id"], "last4": "8000"})
    assert r.status_code == 303 and r.headers["Location"] == j["status_url"]


def test_the_resident_rates_once_and_unsolved_reopens(app, world):
    c = app.test_client()
    _arm_csrf(c)
    j = _file(c)
    token = parse_qs(urlsplit(j["status_url"]).query)["t"][0]
    r = c.post(f"/complaints/{j['id']}/rate", data={"t": token, "rating": "4", "resolved": "true"})
    assert r.status_code == 409 and world.get("complaints", j["id"])["state"] == "collected"  # not resolved yet
    _resolve(world, app, j["id"])
    assert c.post(f"/complaints/{j['id']}/rate", data={"t": "x" * 24, "rating": "2"}).status_code == 404
    r = c.post(f"/complaints/{j['id']}/rate", data={"t": token, "rating": "2", "resolved": "false"})
    assert r.status_code == 303 and "rated=reopened" in r.headers["Location"]
    rec = world.get("complaints", j["id"])
    assert rec["state"] == "reopened" and rec["rating"] == 2 and not rec["resolved"]
    ev = world.read("complaint_events", where={"complaint_id": j["id"]}, order_by=["seq"])
    assert list(ev["to_state"])[-2:] == ["evaluated", "reopened"] and set(ev["actor"].iloc[-2:]) == {"resident"}
    log = world.read("audit_log", where={"target": f"complaint:{j['id']}", "actor": f"resident:{j['id']}"})
    assert list(log["action"]) == ["complaint.transition"]
    # once per resolution: rating again is refused until it is resolved again
    again = c.post(f"/complaints/{j['id']}/rate", data={"t": token, "rating": "5", "resolved": "true"})
    assert again.status_code == 409 and world.get("complaints", j["id"])["state"] == "reopened"
    assert c.post(f"/complaints/{j['id']}/rate", data={"t": token, "rating": "9", "resolved": "true"}).status_code
    page = c.get(j["status_url"]).get_data(as_text=True)
    assert "已重办" in page and "您的评价" in page


@pytest.mark.parametrize("mark", [4, 3])
def test_a_low_rating_with_solved_says_it_was_below_the_mark(app_factory, world, mark):
    """Rated below the policy's satisfaction mark but "solved": reopened (the rule), and the page says why —
    the mark shown is the policy's COMPLAINT_SATISFIED_MIN, not a restated 4; the form names both triggers."""
    app = app_factory(world, COMPLAINT_SATISFIED_MIN=mark)
    c = app.test_client()
    _arm_csrf(c)
    j = _file(c)
    _resolve(world, app, j["id"])
    form = c.get(j["status_url"]).get_data(as_text=True)
    assert f"选“未解决”或评分低于 {mark} 星，诉求将重新交办" in form
    en = app.test_client()  # (?lang=en is remembered in a cookie)
    english = en.get(j["status_url"] + "&lang=en").get_data(as_text=True)
    assert f'Choose "not solved" or rate below {mark} stars' in english
    token = parse_qs(urlsplit(j["status_url"]).query)["t"][0]
    r = c.post(f"/complaints/{j['id']}/rate", data={"t": token, "rating": str(mark - 1), "resolved": "true"})
    assert r.status_code == 303 and "rated=reopened" in r.headers["Location"] and "why=rating" in r.headers["Location"]
    assert world.get("complaints", j["id"])["state"] == "reopened"
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f"评分低于满意标准（{mark} 星），已重新交办" in page and "问题未解决" not in page
    english = en.get(r.headers["Location"] + "&lang=en").get_data(as_text=True)
    assert f"Rated below the satisfaction mark ({mark} stars)" in english


def test_not_solved_says_not_solved_and_a_good_rating_just_thanks(app, world):
    c = app.test_client()
    _arm_csrf(c)
    first, second = _file(c), _file(c, description="路灯不亮")
    for j in (first, second):
        _resolve(world, app, j["id"])
    token = parse_qs(urlsplit(first["status_url"]).query)["t"][0]
    r = c.post(f"/complaints/{first['id']}/rate", data={"t": token, "rating": "5", "resolved": "false"})
    assert "rated=reopened" in r.headers["Location"] and "why=unresolved" in r.headers["Location"]
    assert "问题未解决，已重新交办" in c.get(r.headers["Location"]).get_data(as_text=True)
    token = parse_qs(urlsplit(second["status_url"]).query)["t"][0]
    r = c.post(f"/complaints/{second['id']}/rate", data={"t": token, "rating": "4", "resolved": "true"})
    assert "rated=evaluated" in r.headers["Location"] and "why=" not in r.headers["Location"]
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "感谢您的评价" in page and "重新交办，请留意进度" not in page


def test_bad_ratings_change_nothing(app, world):
    c = app.test_client()
    _arm_csrf(c)
    j = _file(c)
    _resolve(world, app, j["id"])
    token = parse_qs(urlsplit(j["status_url"]).query)["t"][0]
    for data in ({"rating": "9", "resolved": "true"}, {"rating": "x", "resolved": "true"}, {"rating": "3"}):
        r = c.post(f"/complaints/{j['id']}/rate", data={"t": token} | data)
        assert r.status_code == 400, data
        assert world.get("complaints", j["id"])["state"] == "resolved"


def test_work_list_is_open_requests_earliest_limit_first_with_actions(app, world, login, fixed_now):
    c = app.test_client()
    late = _file(c)["id"]
    fixed_now(dt.datetime.now(dt.UTC) + dt.timedelta(days=10))
    fresh = _file(c)["id"]
    done = _file(c)["id"]
    _resolve(world, app, done)
    _file(c, lon=lonlat(160, 20)[0], lat=lonlat(160, 20)[1])  # G2: not the leader's
    fixed_now(dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    login(c, "grid_leader", {"grids": [G1]})
    out = svc.work_list(world, user=User(id="x", username="x", role="grid_leader", scope={"grids": [G1]}))
    assert [i["id"] for i in out["items"]] == [late, fresh]
    first = out["items"][0]
    assert first["overdue"] and first["days_left"] < 0 and first["building"] == "一苑 1" and first["days_waiting"] >= 30
    assert [m["zh"] for m in first["moves"]] == ["派单", "就地办理", "不予受理", "督办"]
    assert [m["confirm"] for m in first["moves"]] == [False, False, True, False]
    html = c.get("/complaints").get_data(as_text=True)
    assert html.index(f'id="c-{late}"') < html.index(f'id="c-{fresh}"') and f'id="c-{done}"' not in html
    assert "超期" in html and 'href="tel:13800138000"' in html
    assert f'id="c-{done}"' in c.get("/complaints?state=all").get_data(as_text=True)
    page = c.get(f"/complaints/{late}").get_data(as_text=True)  # its own page: history, actions, tel:
    assert 'id="gm-history"' in page and 'data-to="dispatched"' in page and 'href="tel:13800138000"' in page
    assert G2 not in page


@pytest.mark.parametrize(
    "role,scope,see",
    [
        ("grid_leader", {"grids": [G1]}, "clear"),
        ("grid_leader", {"grids": [G2]}, "masked"),
        ("planner", None, "planner"),
        ("viewer", None, "none"),
    ],
)
def test_building_card_is_masked_by_the_privacy_rule(app, world, login, role, scope, see):
    c = app.test_client()
    login(c, role, scope)
    html = c.get("/buildings/b1").get_data(as_text=True)
    viewer = User(id="v", username="v", role=role, scope=scope or {})
    rule = privacy.redact_record({"phone": "13712345678", "name": "孙楼长", "grid_code": G1}, "stewards", viewer)
    assert "一苑" in html and "楼长" in html
    if see == "clear":
        assert "孙楼长" in html and 'href="tel:13712345678"' in html and "吴大爷" in html and "独居老人" in html
    elif see == "masked":
        assert "孙楼长" not in html and "137****5678" in html and "tel:" not in html and "独居老人" not in html
    elif see == "planner":  # masked, and the special-group tags planners are given (privacy.sees_sensitive)
        assert "孙楼长" not in html and "137****5678" in html and "tel:" not in html and "独居老人" in html
    else:
        assert "孙楼长" not in html and "5678" not in html and "吴大爷" not in html
    # one rule (gridmap.domain.privacy), the one the complaint API applies: the card shows what it gives
    assert ("phone" not in rule) if see == "none" else (rule["phone"] in html and rule["name"] in html)
    reads = world.read("audit_log", where={"action": "stewards.read", "target": "building:b1:stewards"})
    assert len(reads) == (0 if see == "none" else 1)


def test_public_gets_no_building_card_and_roles_land_where_they_work(app, world):
    assert app.test_client().get("/buildings/b1").status_code in (302, 401, 403)
    from gridmap.web.pages import home_of

    assert home_of("grid_leader") == home_of("department") == "/complaints"
    assert home_of("planner") == home_of("admin") == home_of("viewer") == "/"
