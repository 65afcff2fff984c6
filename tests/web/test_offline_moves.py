"""The transitions API as the offline queue uses it (issue #19 part 4): an ``Idempotency-Key`` makes a repeated
send answer with the first answer and apply nothing; ``If-Match`` (the request ``version`` a move was based on)
refuses with 409 and both states when someone else changed the request meanwhile, leaving the store as it was."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from complaints_world import COM_A, G1, build, lonlat
from gridmap.services import complaints as svc

P1 = lonlat(20, 20)  # on b1, grid G1


@pytest.fixture
def world(sqlite_store):
    build(sqlite_store)
    return sqlite_store


def _file(client) -> str:
    body = {"category": "parking", "description": "消防通道被占用", "lon": P1[0], "lat": P1[1]}
    r = client.post("/api/complaints", json=body)
    assert r.status_code == 201, r.json
    return r.json["id"]


@pytest.fixture
def leader(app_factory, world, login):
    c = app_factory(world).test_client()
    login(c, "grid_leader", {"grids": [G1]})
    return c


def _events(store, cid):
    return list(store.read("complaint_events", where={"complaint_id": cid}, order_by=["seq"])["to_state"])


def test_a_repeated_key_is_answered_with_the_first_answer_and_applied_once(app_factory, world, leader):
    cid = _file(app_factory(world).test_client())
    head = {"Idempotency-Key": "6f1c7a52-0b1e-4c55-9d61-1d2f0c3a9e01"}
    first = leader.post(f"/api/complaints/{cid}/transitions", json={"to": "dispatched"}, headers=head)
    assert first.status_code == 200, first.json
    again = leader.post(f"/api/complaints/{cid}/transitions", json={"to": "dispatched"}, headers=head)
    assert again.status_code == 200 and again.json == first.json
    assert _events(world, cid) == ["collected", "dispatched"]
    moves = world.read("audit_log", where={"target": f"complaint:{cid}", "action": "complaint.transition"})
    assert len(moves) == 1
    # the same key on another request is a mistake, said so, and applies nothing there
    other = _file(app_factory(world).test_client())
    r = leader.post(f"/api/complaints/{other}/transitions", json={"to": "dispatched"}, headers=head)
    assert r.status_code == 400 and f"complaint:{cid}" in r.json["error"]["message"]
    assert _events(world, other) == ["collected"]


def test_a_bad_key_is_refused(app_factory, world, leader):
    cid = _file(app_factory(world).test_client())
    r = leader.post(
        f"/api/complaints/{cid}/transitions", json={"to": "dispatched"}, headers={"Idempotency-Key": "a b<c>"}
    )
    assert r.status_code == 400 and "Idempotency-Key" in r.json["error"]["message"]
    assert _events(world, cid) == ["collected"]


def test_a_move_based_on_an_older_state_is_a_conflict_with_both_states(app_factory, world, leader):
    cid = _file(app_factory(world).test_client())
    seen = leader.get(f"/api/complaints/{cid}").json["version"]
    # meanwhile a community official (through the service) dispatches it
    official = SimpleNamespace(id="u-co", username="co", role="community_official", scope={"communities": [COM_A]})
    settings = app_factory(world).config["GRIDMAP_SETTINGS"]
    svc.transition(world, cid, "dispatched", user=official, settings=settings, note="已派物业")
    before = world.snapshot(["complaints", "complaint_events", "action_keys"])
    r = leader.post(
        f"/api/complaints/{cid}/transitions",
        json={"to": "dispatched"},
        headers={"If-Match": f'"{seen}"', "Idempotency-Key": "k-1"},
    )
    assert r.status_code == 409, r.json
    detail = r.json["error"]["detail"]
    assert detail["based_on"] == seen == 1 and detail["current"]["version"] == 2
    assert detail["current"]["state"] == "dispatched" and detail["current"]["state_zh"] == "已派单"
    after = world.snapshot(["complaints", "complaint_events", "action_keys"])
    for k in before:
        assert before[k].equals(after[k]), k
    # on the fresh state the precondition holds and the move (a legal one) goes through once
    fresh = leader.get(f"/api/complaints/{cid}").json["version"]
    assert fresh == detail["current"]["version"]
    r = leader.post(
        f"/api/complaints/{cid}/transitions",
        json={"to": "responding"},
        headers={"If-Match": str(fresh), "Idempotency-Key": "k-2"},
    )
    assert r.status_code == 200, r.json
    assert _events(world, cid) == ["collected", "dispatched", "responding"]


def test_the_same_state_passes_the_precondition(app_factory, world, leader):
    cid = _file(app_factory(world).test_client())
    seen = leader.get(f"/api/complaints/{cid}").json["version"]
    r = leader.post(f"/api/complaints/{cid}/transitions", json={"to": "dispatched"}, headers={"If-Match": f'"{seen}"'})
    assert r.status_code == 200, r.json
    r = leader.post(f"/api/complaints/{cid}/transitions", json={"to": "responding"}, headers={"If-Match": f'"{seen}"'})
    assert r.status_code == 409 and r.json["error"]["detail"]["current"]["state"] == "dispatched"
    r = leader.post(f"/api/complaints/{cid}/transitions", json={"to": "responding"}, headers={"If-Match": "latest"})
    assert r.status_code == 400 and "If-Match" in r.json["error"]["message"]
    assert _events(world, cid) == ["collected", "dispatched"]
