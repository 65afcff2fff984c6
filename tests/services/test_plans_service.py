from __future__ import annotations

import pandas as pd
import pytest

from gridmap.errors import Conflict, InvalidInput
from gridmap.io.planfiles import FORMATS
from gridmap.services import plans as svc
from plan_world import COM, seed

A, B, C = (f"{COM}{k:03d}" for k in (1, 2, 3))
SETTINGS = {"MIN_HOUSEHOLDS": 30, "MAX_HOUSEHOLDS": 50}


@pytest.fixture
def world_store(sqlite_store):
    seed(
        sqlite_store,
        ["AAB", "AAB", "AAB"],
        {"r1c1": 5} | {f"r{i}c{j}": 10 for i in range(3) for j in range(3) if (i, j) != (1, 1)},
    )
    return sqlite_store


def world(store):
    return svc.load_world(store, settings=SETTINGS)


def test_world_reads_adjacency_bounds_and_leaders(world_store):
    w = world(world_store)
    assert w.adjacency["r1c1"] == {"r0c1", "r2c1", "r1c0", "r1c2"}
    assert w.bounds[COM] == (30, 50) and w.grid_leaders == {A, B}
    assert svc.published_plan_id(world_store) == "plan-base"


def test_move_check_undo_redo_publish(world_store):
    store, w = world_store, world(world_store)
    info = svc.start_draft(store, actor="u1")
    draft = info["draft"]
    assert info["can_undo"] is False
    res = svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)
    assert res["grids"][A]["households"] == 50 and res["grids"][B]["households"] == 35
    assert res["grids"][A]["ok"] and res["grids"][B]["ok"]
    assert {f["properties"]["code"] for f in res["polygons"]["features"]} == {A, B}
    # a move that breaks contiguity is reported, not refused
    res2 = svc.move_buildings(store, draft, ["r0c0"], B, actor="u1", world=w)
    assert "not_contiguous" in res2["grids"][B]["problems"]
    undone = svc.undo(store, draft, actor="u1", world=w)
    assert undone["draft"]["can_redo"] and undone["grids"][B]["households"] == 35
    redone = svc.redo(store, draft, actor="u1", world=w)
    assert redone["grids"][B]["households"] == 45
    svc.undo(store, draft, actor="u1", world=w)
    out = svc.publish(store, draft, effective_date="2026-12-01", actor="u1", world=w)
    assert out["previous"] == "plan-base" and out["diff"]["buildings"] == 1
    assert svc.published_plan_id(store) == out["plan"]
    assert store.get("plans", "plan-base")["status"] == "superseded"
    grids = store.read("plan_grids", where={"plan_id": out["plan"]})
    assert dict(zip(grids["code"], grids["households"])) == {A: 50, B: 35}
    # grid polygons of the new plan tile the community exactly
    m, community = grids.to_crs(4549), store.read("communities").to_crs(4549)
    assert abs(m.union_all().area - community.union_all().area) < 1e-4 * community.area.sum()
    assert abs(m.area.sum() - m.union_all().area) < 1e-4 * community.area.sum()
    actions = list(store.read("audit_log")["action"])
    assert actions.count("plan.draft.move") == 2 and "plan.publish" in actions
    with pytest.raises(Conflict):
        svc.move_buildings(store, draft, ["r0c1"], B, actor="u1", world=w)  # draft is closed


def test_undo_and_redo_say_which_step_they_took(world_store):
    store, w = world_store, world(world_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)
    svc.lock_grids(store, draft, [B], actor="u1", world=w)
    assert svc.undo(store, draft, actor="u1", world=w)["step"] == {"action": "lock", "buildings": 0}
    assert svc.undo(store, draft, actor="u1", world=w)["step"] == {"action": "move", "buildings": 1}
    assert svc.redo(store, draft, actor="u1", world=w)["step"] == {"action": "move", "buildings": 1}


def test_a_future_effective_date_is_refused_because_publishing_takes_effect_now(world_store, fixed_now):
    """Publishing has no scheduling: a plan published with a later date would be in force at once while
    saying otherwise, so the date is refused, with why, and nothing changes (review of journey 3)."""
    store, w = world_store, world(world_store)
    fixed_now("2026-12-04T17:00:00Z")  # 2026-12-05 01:00 in Asia/Shanghai
    draft = svc.start_draft(store, actor="u1")["draft"]
    svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)

    def plans():
        return store.read("plans")[["id", "status"]].sort_values("id").reset_index(drop=True)

    plans_before = plans()
    audit_before = len(store.read("audit_log"))
    with pytest.raises(InvalidInput, match="effective_date 2026-12-06 is after today \\(2026-12-05\\)") as err:
        svc.publish(store, draft, effective_date="2026-12-06", actor="u1", world=w)
    assert "发布即刻生效" in str(err.value)
    assert svc.published_plan_id(store) == "plan-base"
    pd.testing.assert_frame_equal(
        store.read("plans")[["id", "status"]].sort_values("id").reset_index(drop=True), plans_before
    )
    assert len(store.read("audit_log")) == audit_before
    # today where the people are (already the 5th in Shanghai) is accepted and recorded
    out = svc.publish(store, draft, effective_date="2026-12-05", actor="u1", world=w)
    assert out["effective_date"] == "2026-12-05" and svc.published_plan_id(store) == out["plan"]
    with pytest.raises(InvalidInput, match="after today"):  # rollback publishes too
        svc.rollback(store, "plan-base", actor="u1", world=w, effective_date="2027-01-01")
    assert svc.published_plan_id(store) == out["plan"]


def test_locked_grids_refuse_moves_and_rebalance_leaves_them(world_store):
    store, w = world_store, world(world_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    svc.lock_grids(store, draft, [B], actor="u1", world=w)
    with pytest.raises(Conflict, match="locked"):
        svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)
    out = svc.rebalance_draft(store, draft, actor="u1", world=w)
    assert out["rebalance"]["moves"] == []
    svc.lock_grids(store, draft, [B], locked=False, actor="u1", world=w)
    out = svc.rebalance_draft(store, draft, actor="u1", world=w)
    assert [m["building_id"] for m in out["rebalance"]["moves"]] == ["r1c1"]
    assert out["rebalance"]["households_moved"] == 5


def test_merge_and_split_use_fresh_codes(world_store):
    store, w = world_store, world(world_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    merged = svc.merge_grids(store, draft, [A, B], actor="u1", world=w)
    assert merged["grids"][A]["buildings"] == 9
    split = svc.split_grid(store, draft, A, ["r0c2", "r1c2", "r2c2"], actor="u1", world=w)
    assert set(split["grids"]) == {A, C}  # B was issued once: never reused
    head = svc.load_plan(store, svc.draft_info(store, draft)["head"], world=w)
    assert B not in head.grid_community
    # A stays above max (a fix is feasible): a hard failure, published here with a reason (the gate's own
    # tests are in test_publish_gate.py)
    out = svc.publish(store, draft, actor="u1", world=w, override_reason="codes under test")
    codes = store.read("grid_codes").set_index("code")
    assert codes.loc[B, "retired_plan_id"] == out["plan"] and codes.loc[C, "first_plan_id"] == out["plan"]


def test_rollback_creates_a_new_published_version(world_store):
    store, w = world_store, world(world_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)
    pub = svc.publish(store, draft, actor="u1", world=w)["plan"]
    back = svc.rollback(store, "plan-base", actor="u1", world=w)
    assert svc.published_plan_id(store) == back["plan"] not in ("plan-base", pub)
    assert svc.load_plan(store, back["plan"]).same_assignment(svc.load_plan(store, "plan-base"))
    statuses = dict(zip(*store.read("plans", columns=["id", "status"]).T.values))
    assert statuses[pub] == "superseded" and statuses["plan-base"] == "superseded"


def test_diff_counts_stewards_and_open_complaints(world_store):
    store, w = world_store, world(world_store)
    store.write(
        "complaints",
        pd.DataFrame(
            [
                {
                    "id": "c1",
                    "category": "parking",
                    "state": "collected",
                    "building_id": "r1c1",
                    "filed_grid_code": A,
                    "created_at": pd.Timestamp("2026-02-01"),
                },
                {
                    "id": "c2",
                    "category": "parking",
                    "state": "resolved",
                    "building_id": "r1c1",
                    "filed_grid_code": A,
                    "created_at": pd.Timestamp("2026-02-01"),
                },
            ]
        ),
    )
    store.write(
        "stewards",
        pd.DataFrame(
            [{"id": "bl1", "name": "楼长", "role": "building_leader", "building_id": "r1c1", "serves": "r1c1"}]
        ),
    )
    draft = svc.start_draft(store, actor="u1")["draft"]
    res = svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)
    d = svc.diff(store, "plan-base", res["plan"], world=w)
    assert d.summary()["open_complaints"] == 1 and list(d.complaints["id"]) == ["c1"]
    assert list(d.stewards["id"]) == ["bl1"]
    svc.publish(store, draft, actor="u1", world=w)
    assert store.get("complaints", "c1")["filed_grid_code"] == A  # complaints keep the filed grid


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_import_round_trip_through_the_store(world_store, tmp_path, fmt):
    store, w = world_store, world(world_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    res = svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)
    suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip", "csv": ".csv"}[fmt]
    path = svc.export_plan_file(store, res["plan"], str(tmp_path / f"p{suffix}"), world=w)
    imported = svc.import_plan_file(store, path, actor="u2", world=w)
    back = svc.load_plan(store, imported["plan"], world=w)
    assert back.same_assignment(svc.load_plan(store, res["plan"], world=w))


def test_bad_moves_leave_the_store_unchanged(world_store):
    store, w = world_store, world(world_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    before = store.snapshot(["plans", "audit_log"])
    with pytest.raises(InvalidInput, match="not in the plan"):
        svc.move_buildings(store, draft, ["nope"], B, actor="u1", world=w)
    with pytest.raises(InvalidInput, match="no grid"):
        svc.move_buildings(store, draft, ["r0c0"], "370214001001999", actor="u1", world=w)
    with pytest.raises(Conflict, match="nothing to undo"):
        svc.undo(store, draft, actor="u1", world=w)
    after = store.snapshot(["plans", "audit_log"])
    for k in before:
        pd.testing.assert_frame_equal(before[k], after[k])
