"""Open311 GeoReport v2: the spec's paths in JSON and XML, filters, errors; real third-party clients
(``georeport`` lists and reads, ``civicbot`` posts) against a live local server; and ≥ 50 concurrent
submissions each stored exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import xmltodict

from complaints_world import G1, build, lonlat

P1 = lonlat(20, 20)


@pytest.fixture
def world(tmp_path):
    from gridmap.store import open_store

    s = open_store(f"sqlite:///{tmp_path / 'o311.db'}")
    build(s)
    yield s
    s.close()


@pytest.fixture
def client(app_factory, world):
    return app_factory(world).test_client()


def _post(client, fmt="json", **kw):
    form = {
        "service_code": "sanitation",
        "lat": P1[1],
        "long": P1[0],
        "description": "垃圾桶满了",
        "first_name": "李",
        "last_name": "四",
        "phone": "13900000000",
    } | kw
    return client.post(f"/open311/v2/requests.{fmt}", data=form)


def test_discovery_and_services_json_and_xml(client):
    d = client.get("/open311/v2/discovery.json").json
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    services = client.get("/open311/v2/services.json").json
    codes = [s["service_code"] for s in services]
    assert "parking" in codes and "neighbour_dispute" in codes
    svc = next(s for s in services if s["service_code"] == "consultation")
    assert svc["service_name"] == "政策咨询" and "2 个工作日" in svc["description"] and svc["metadata"] is False
    xml = xmltodict.parse(client.get("/open311/v2/services.xml").data)
    assert [s["service_code"] for s in xml["services"]["service"]] == codes
    assert client.get("/open311/v2/services/parking.json").json == {"service_code": "parking", "attributes": []}
    r = client.get("/open311/v2/services/ufo.json")
    assert r.status_code == 404 and r.json[0]["code"] == 404
    r = client.get("/open311/v2/services/ufo.xml")
    assert r.status_code == 404 and xmltodict.parse(r.data)["errors"]["error"]["code"] == "404"
    assert client.get("/open311/v2/services.csv").status_code == 404


def test_post_and_read_back_json_and_xml(client, world):
    r = _post(client)
    assert r.status_code == 201
    rid = r.json[0]["service_request_id"]
    assert "15 个工作日" in r.json[0]["service_notice"]
    row = world.get("complaints", rid)
    assert row["channel"] == "open311" and row["contact_name"] == "李 四" and row["filed_grid_code"] == G1
    got = client.get(f"/open311/v2/requests/{rid}.json").json[0]
    assert got["status"] == "open" and got["service_code"] == "sanitation"
    # public: no personal fields, and no area or location (they would publish small counts per area)
    assert got["agency_responsible"] == "城管" and got["status_notes"] == ""  # no reply to the resident yet
    assert got["description"] is None and got["address_id"] is None
    assert got["lat"] is None and got["long"] is None and got["requested_datetime"].endswith("+08:00")
    x = xmltodict.parse(client.get(f"/open311/v2/requests/{rid}.xml").data)["service_requests"]["request"]
    assert x["service_request_id"] == rid and x["status"] == "open"
    rx = _post(client, fmt="xml")
    assert rx.status_code == 201 and xmltodict.parse(rx.data)["service_requests"]["request"]["service_request_id"]


def test_staff_with_api_key_sees_description(client, world, login):
    import pandas as pd

    from gridmap.web.access import token_hash

    rid = _post(client).json[0]["service_request_id"]
    world.write(
        "users",
        pd.DataFrame(
            [{"id": "u9", "username": "gl9", "role": "grid_leader", "scope": {"grids": [G1]}, "active": True}]
        ),
    )
    world.write(
        "api_tokens",
        pd.DataFrame([{"id": "t9", "user_id": "u9", "token_hash": token_hash("secret-9"), "revoked": False}]),
    )
    got = client.get(f"/open311/v2/requests/{rid}.json?api_key=secret-9").json[0]
    assert got["description"] == "垃圾桶满了" and got["address_id"] == "b1"
    assert client.get(f"/open311/v2/requests/{rid}.json?api_key=wrong").status_code == 403


def test_request_filters(client, world):
    from gridmap import config
    from gridmap.services import complaints as svc
    from gridmap.web.access import User

    pub = User(None, "x", "public")
    old = svc.submit(
        world,
        {"category": "parking", "description": "旧", "lon": P1[0], "lat": P1[1]},
        user=pub,
        settings=config.load(),
        now=dt.datetime(2025, 1, 10, 9),
    )["id"]
    new = svc.submit(
        world,
        {"category": "sanitation", "description": "新", "lon": P1[0], "lat": P1[1]},
        user=pub,
        settings=config.load(),
        now=dt.datetime(2025, 3, 1, 9),
    )["id"]
    staff = User("u1", "gl", "admin")
    svc.transition(
        world, new, "rejected", user=staff, settings=config.load(), note="不属实", now=dt.datetime(2025, 3, 2)
    )

    def ids(**q):
        r = client.get("/open311/v2/requests.json", query_string=q)
        assert r.status_code == 200, r.json
        return [x["service_request_id"] for x in r.json]

    window = {"start_date": "2025-01-01T00:00:00+08:00", "end_date": "2025-03-31T00:00:00+08:00"}
    assert ids(**window) == [new, old]
    assert ids(**window, service_code="parking") == [old]
    assert ids(**window, status="closed") == [new]
    assert ids(**window, status="open,closed") == [new, old]
    assert ids(start_date="2025-02-01T00:00:00Z", end_date="2025-03-31T00:00:00Z") == [new]
    assert ids(service_request_id=f"{old},{new}") == [old, new]
    assert ids() == []  # default: the last 90 days
    r = client.get(
        "/open311/v2/requests.json",
        query_string={"start_date": "2024-01-01T00:00:00Z", "end_date": "2025-01-01T00:00:00Z"},
    )
    assert r.status_code == 400 and "90 days" in r.json[0]["description"]
    assert client.get("/open311/v2/requests.json?status=pending").status_code == 400
    closed = client.get(f"/open311/v2/requests/{new}.json").json[0]
    # the rejection's note is internal: status_notes carries only replies to the resident
    assert closed["status"] == "closed" and closed["status_notes"] == "" and "不属实" not in str(closed)


@pytest.mark.parametrize(
    "form, status, text",
    [
        ({"service_code": "ufo"}, 404, "does not exist"),
        ({"service_code": ""}, 400, "service_code is required"),
        ({"lat": "", "long": "", "address_string": "城阳区某路1号"}, 400, "address_string alone"),
        ({"description": ""}, 400, "description is empty"),
        ({"lat": "95"}, 400, "not a location"),
    ],
)
def test_post_errors_leave_store_unchanged(client, world, form, status, text):
    before = world.snapshot(["complaints", "complaint_events"])
    r = _post(client, **form)
    assert r.status_code == status and text in r.json[0]["description"]
    after = world.snapshot(["complaints", "complaint_events"])
    assert all(after[k].equals(before[k]) for k in before)


def test_post_by_address_id(client, world):
    r = _post(client, lat="", long="", address_id="b3")
    assert r.status_code == 201
    assert world.get("complaints", r.json[0]["service_request_id"])["building_id"] == "b3"


# -- real clients against a live server ---------------------------------------------------------------
def test_georeport_and_civicbot_clients_live(app_factory, world, live_server):
    from civicbot.open311 import Open311Client
    from civicbot.registry import Endpoint
    from georeport import GeoReport

    server = live_server(app_factory(world))
    root = f"{server.url}/open311/v2"
    gr = GeoReport(root)
    services = gr.get_service_list()
    assert {s["service_code"] for s in services} >= {"parking", "medical", "after_school", "fitness"}
    assert gr.get_service_definition("parking")["service_code"] == "parking"
    # post through civicbot (georeport has no POST), read back through both clients
    cb = Open311Client(
        Endpoint(id="gridmap", name="gridmap", base_url=root, write=True, api_key_required_for_write=False)
    )
    sent = cb.create_request(
        "after_school",
        dry_run=False,
        confirm="SEND",
        lat=P1[1],
        lng=P1[0],
        description="希望增设课后托管",
        first_name="周",
        last_name="七",
        validate_remote=True,
    )
    rid = sent.response[0]["service_request_id"]
    back = gr.get_service_request(rid)
    assert back["service_request_id"] == rid and back["service_code"] == "after_school"
    assert back["status"] == "open" and back["agency_responsible"].startswith("民政")
    assert rid in [r["service_request_id"] for r in gr.get_service_requests(service_code="after_school")]
    # staff answer the resident (with a move, then on its own): status_notes is the latest reply, notes stay out
    from gridmap import config
    from gridmap.services import complaints as svc
    from gridmap.web.access import User

    staff = User("u1", "gl", "admin")
    assert back["status_notes"] == ""
    svc.transition(
        world,
        rid,
        "dispatched",
        user=staff,
        settings=config.load(),
        note="内部：找王师傅",
        changes={"reply": "已派社区处理"},
    )
    assert gr.get_service_request(rid)["status_notes"] == "已派社区处理"
    svc.reply(world, rid, "下周一开放报名，电话 13912345678", user=staff)
    back = gr.get_service_request(rid)
    assert back["status_notes"] == "下周一开放报名，电话 139****5678" and back["status"] == "open"
    listed = {r["service_request_id"]: r for r in gr.get_service_requests(service_code="after_school")}
    assert listed[rid]["status_notes"] == back["status_notes"] and "王师傅" not in str(listed[rid])
    assert cb.get_request(rid)["service_name"] == "课后托管"
    xml = GeoReport(root, output_format="xml")
    assert xml.get_service_request(rid)["service_request_id"] == rid
    assert len(xml.get_service_list()) == len(services)
    assert world.get("complaints", rid)["description"] == "希望增设课后托管"


def test_fifty_concurrent_submissions_each_stored_once(app_factory, world, live_server):
    server = live_server(app_factory(world))
    n = 60
    start = threading.Barrier(n)

    def fire(i: int) -> tuple[int, str]:
        start.wait()
        if i % 2:
            r = requests.post(
                f"{server.url}/api/complaints",
                timeout=60,
                json={"category": "parking", "description": f"并发诉求 #{i}", "lon": P1[0], "lat": P1[1]},
            )
            return r.status_code, r.json().get("id")
        r = requests.post(
            f"{server.url}/open311/v2/requests.json",
            timeout=60,
            data={"service_code": "parking", "description": f"并发诉求 #{i}", "lat": P1[1], "long": P1[0]},
        )
        return r.status_code, r.json()[0].get("service_request_id")

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(fire, range(n)))
    assert [s for s, _ in results] == [201] * n
    ids = [i for _, i in results]
    assert len(set(ids)) == n
    rows = world.read("complaints")
    assert sorted(rows["description"]) == sorted(f"并发诉求 #{i}" for i in range(n))
    assert sorted(rows["id"]) == sorted(ids)
    ev = world.read("complaint_events")
    assert len(ev) == n and sorted(ev["complaint_id"]) == sorted(ids) and set(ev["seq"]) == {1}
