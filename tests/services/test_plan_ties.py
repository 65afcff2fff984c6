"""Buildings whose footprints overlap by more than half the smaller one are one physical building: a
planner's move takes the others along, and the rebalance and a split never put them in different grids
(the partitioner's tie, ``gridmap.domain.footprints.overlap_pairs``). Service path, both backends."""

from __future__ import annotations

import dataclasses
import json

import geopandas as gpd
import pandas as pd
import pytest

from gridmap.errors import Conflict
from gridmap.services import plans as svc
from gridmap.services.plans.rebalancing import run_rebalance
from plan_world import COM, seed

A, B, C = (f"{COM}{k:03d}" for k in (1, 2, 3))
SETTINGS = {"MIN_HOUSEHOLDS": 30, "MAX_HOUSEHOLDS": 50}


def overlap(store, big: str, small: str) -> None:
    """Stretch ``big``'s footprint over ``small``'s (which then lies wholly under it)."""
    rows = store.read("buildings", ids=[big, small]).set_index("id")
    both = rows.geometry[big].union(rows.geometry[small]).envelope
    store.write("buildings", gpd.GeoDataFrame({"id": [big]}, geometry=[both], crs=4326))


@pytest.fixture
def tied_store(sqlite_store):
    # A (6 buildings, 55 households) is above its max of 50; r1c1 (5 households) borders B and alone would fix it
    seed(
        sqlite_store,
        ["AAB", "AAB", "AAB"],
        {"r1c1": 5} | {f"r{i}c{j}": 10 for i in range(3) for j in range(3) if (i, j) != (1, 1)},
    )
    overlap(sqlite_store, "r1c0", "r1c1")
    return sqlite_store


def world(store):
    return svc.load_world(store, settings=SETTINGS)


def head(store, draft, w):
    return svc.load_plan(store, svc.draft_info(store, draft)["head"], world=w)


def test_the_world_knows_the_overlapping_pair(tied_store):
    w = world(tied_store)
    assert w.overlapping == [frozenset({"r1c0", "r1c1"})]
    assert w.partners["r1c1"] == w.partners["r1c0"] == frozenset({"r1c0", "r1c1"})
    assert "r0c0" not in w.partners  # neighbours whose footprints do not overlap are not tied


@pytest.mark.parametrize("chosen", ["r1c1", "r1c0"])
def test_a_move_of_one_of_an_overlapping_pair_moves_both(tied_store, chosen):
    store, w = tied_store, world(tied_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    res = svc.move_buildings(store, draft, [chosen], B, actor="u1", world=w)
    assert sorted((m["building_id"], m["from_grid"], m["to_grid"]) for m in res["moves"]) == [
        ("r1c0", A, B),
        ("r1c1", A, B),
    ]
    assert res["grids"][A]["households"] == 40 and res["grids"][B]["households"] == 45
    now = head(store, draft, w)
    assert now.grid_of("r1c0") == now.grid_of("r1c1") == B
    # the audit row names both buildings, the one chosen first
    entry = store.read("audit_log", where={"action": "plan.draft.move"}).iloc[0]
    detail = entry["detail"] if isinstance(entry["detail"], dict) else json.loads(entry["detail"])
    assert detail["buildings"][0] == chosen and sorted(detail["buildings"]) == ["r1c0", "r1c1"]
    # undo brings both back
    svc.undo(store, draft, actor="u1", world=w)
    back = head(store, draft, w)
    assert back.grid_of("r1c0") == back.grid_of("r1c1") == A


def test_ties_chain_through_a_building_leader(tied_store):
    """A building leader living in r0c0 who serves r1c0 ties r0c0 to r1c0, and r1c0's footprint ties it to
    r1c1: moving r1c1 moves all three."""
    store = tied_store
    store.write(
        "stewards",
        pd.DataFrame(
            [
                {
                    "id": "bl1",
                    "name": "楼长",
                    "role": "building_leader",
                    "building_id": "r0c0",
                    "serves": "r1c0",
                    "community_id": COM,
                }
            ]
        ),
    )
    w = world(store)
    assert w.partners["r1c1"] == frozenset({"r0c0", "r1c0", "r1c1"})
    draft = svc.start_draft(store, actor="u1")["draft"]
    res = svc.move_buildings(store, draft, ["r1c1"], B, actor="u1", world=w)
    assert sorted(m["building_id"] for m in res["moves"]) == ["r0c0", "r1c0", "r1c1"]


def test_the_rebalance_never_splits_an_overlapping_pair(tied_store):
    store, w = tied_store, world(tied_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    # without the tie the rebalance would move r1c1 alone (its 5 households are exactly A's excess) …
    untied = dataclasses.replace(w, together=[], overlapping=[])
    alone = run_rebalance(head(store, draft, w), untied)
    assert [m.building_id for m in alone.moves] == ["r1c1"]
    # … with it, r1c1 stays with r1c0 and another boundary building moves instead
    out = svc.rebalance_draft(store, draft, actor="u1", world=w)
    moved = [m["building_id"] for m in out["rebalance"]["moves"]]
    assert moved in (["r0c1"], ["r2c1"]) and out["rebalance"]["households_moved"] == 10
    now = head(store, draft, w)
    assert now.grid_of("r1c0") == now.grid_of("r1c1") == A
    assert out["grids"][A]["ok"] and out["grids"][B]["ok"]


def test_a_split_keeps_an_overlapping_pair_on_one_side(tied_store):
    store, w = tied_store, world(tied_store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    res = svc.split_grid(store, draft, A, ["r1c1"], actor="u1", world=w)
    assert res["grids"][C]["buildings"] == 2  # r1c1 and the building it is part of
    now = head(store, draft, w)
    assert now.grid_of("r1c0") == now.grid_of("r1c1") == C
    # a split without ids (about half, from the grid's far end) keeps them together as well
    svc.undo(store, draft, actor="u1", world=w)
    svc.split_grid(store, draft, A, actor="u1", world=w)
    now = head(store, draft, w)
    assert now.grid_of("r1c0") == now.grid_of("r1c1")


def test_a_move_whose_tied_building_is_in_a_locked_grid_is_refused_and_leaves_the_store_unchanged(sqlite_store):
    store = sqlite_store
    seed(store, ["ABC", "ABC", "ABC"])
    overlap(store, "r0c2", "r0c1")  # a pair the base plan already puts in two grids (B and C)
    w = world(store)
    draft = svc.start_draft(store, actor="u1")["draft"]
    svc.lock_grids(store, draft, [C], actor="u1", world=w)
    before = store.snapshot(["plans", "audit_log"])
    with pytest.raises(Conflict, match=f"grid {C} is locked \\(building r0c2\\)"):
        svc.move_buildings(store, draft, ["r0c1"], A, actor="u1", world=w)
    after = store.snapshot(["plans", "audit_log"])
    for k in before:
        pd.testing.assert_frame_equal(before[k], after[k])
    # unlocked, the move joins the pair again in the target grid
    svc.lock_grids(store, draft, [C], locked=False, actor="u1", world=w)
    res = svc.move_buildings(store, draft, ["r0c1"], A, actor="u1", world=w)
    assert sorted((m["building_id"], m["from_grid"]) for m in res["moves"]) == [("r0c1", B), ("r0c2", C)]


def test_a_plan_made_elsewhere_that_splits_a_pair_is_flagged_in_its_checks(sqlite_store):
    """Moves and the rebalance keep tied buildings together, but a plan imported or made before the tie may not:
    its checks say so on both grids (a warning: publishing is not stopped by it)."""
    from gridmap.services.plans.checks import check_plan
    from gridmap.services.plans.gate import hard_failures

    seed(sqlite_store, ["AAB", "AAB", "AAB"], 10)
    w = world(sqlite_store)
    plan = svc.load_plan(sqlite_store, "plan-base", world=w)
    assert not any("tie_split" in c["problems"] for c in check_plan(plan, w).values())  # no tie yet
    overlap(sqlite_store, "r1c1", "r1c2")  # r1c1 in A now lies over r1c2 in B
    w = world(sqlite_store)
    checks = check_plan(plan, w)
    assert "tie_split" in checks[A]["problems"] and "tie_split" in checks[B]["problems"]
    assert all(f["problem"] != "tie_split" for f in hard_failures(plan, w, checks))
    # a planner's move of either building mends it
    draft = svc.start_draft(sqlite_store, actor="u1")["draft"]
    res = svc.move_buildings(sqlite_store, draft, ["r1c2"], A, actor="u1", world=w)
    assert all("tie_split" not in g["problems"] for g in res["grids"].values())


def test_a_tie_to_a_building_the_plan_lacks_neither_drags_a_move_nor_flags_a_grid(sqlite_store):
    """A footprint imported after the plan was made lies over one of the plan's buildings: the plan cannot keep
    them together (it does not hold the newcomer), so a move of the old building is made alone and no grid is
    flagged for ever."""
    from gridmap.services.plans.checks import check_plan

    seed(sqlite_store, ["AAB", "AAB", "AAB"], 10)
    draft = svc.start_draft(sqlite_store, actor="u1")["draft"]
    rows = sqlite_store.read("buildings", ids=["r1c0"]).reset_index(drop=True)
    rows["id"] = "late1"  # the same footprint: overlapping by all of it
    sqlite_store.write("buildings", gpd.GeoDataFrame(rows, geometry="geometry", crs=rows.crs))
    w = world(sqlite_store)
    assert w.partners["r1c0"] == frozenset({"r1c0", "late1"})
    plan = head(sqlite_store, draft, w)
    assert all("tie_split" not in c["problems"] for c in check_plan(plan, w).values())
    res = svc.move_buildings(sqlite_store, draft, ["r1c0"], B, actor="u1", world=w)
    assert [m["building_id"] for m in res["moves"]] == ["r1c0"]
