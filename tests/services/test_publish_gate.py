"""Publishing a draft through the one publish path: hard failures refused unless a written reason is given
(kept in the audit row); the review the planner confirms; rebalance limited to a community; grid colours
(issue 15)."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

from gridmap.domain.colouring import colour_grids, grid_adjacency, touching
from gridmap.errors import Conflict
from gridmap.services import plans as svc
from plan_world import COM, overfill, seed

A, B = (f"{COM}{k:03d}" for k in (1, 2))
SETTINGS = {"MIN_HOUSEHOLDS": 30, "MAX_HOUSEHOLDS": 50}


def _world(store):
    return svc.load_world(store, settings=SETTINGS)


def _audit(store, action):
    return store.read("audit_log", where={"action": action}).to_dict("records")


def test_a_grid_in_pieces_is_refused_then_published_with_a_reason(sqlite_store):
    store = sqlite_store
    seed(store, ["ABA", "BBB", "AAA"])  # A's corner (0,0) touches no other building of A
    w = _world(store)
    draft = svc.start_draft(store, actor="planner1")["draft"]
    review = svc.review(store, draft, world=w)
    assert [(h["grid"], h["problem"]) for h in review["hard"]] == [(A, "not_contiguous")]
    assert "2" in review["hard"][0]["message"] and A in review["failing"]
    with pytest.raises(Conflict) as err:
        svc.publish(store, draft, actor="planner1", world=w)
    assert A in str(err.value) and "pieces" in str(err.value)
    assert svc.published_plan_id(store) == "plan-base"  # nothing changed
    assert not _audit(store, "plan.publish")
    with pytest.raises(Conflict):
        svc.publish(store, draft, actor="planner1", world=w, override_reason="   ")  # blank is no reason
    out = svc.publish(
        store, draft, actor="planner1", world=w, override_reason="老城区两栋楼之间隔着学校，暂按原网格管理"
    )
    assert svc.published_plan_id(store) == out["plan"]
    row = _audit(store, "plan.publish")[-1]
    assert row["actor"] == "planner1"
    assert row["detail"]["override_reason"] == "老城区两栋楼之间隔着学校，暂按原网格管理"
    assert row["detail"]["overridden"] == [f"{A}:not_contiguous"]


def test_a_fixable_grid_above_max_is_refused_until_rebalanced(sqlite_store):
    store = sqlite_store
    seed(
        store,
        ["AAB", "AAB", "AAB"],
        {"r1c1": 5} | {f"r{i}c{j}": 10 for i in range(3) for j in range(3) if (i, j) != (1, 1)},
    )
    w = _world(store)
    draft = svc.start_draft(store, actor="planner1")["draft"]
    hard = svc.review(store, draft, world=w)["hard"]
    assert [(h["grid"], h["problem"]) for h in hard] == [(A, "above_max")]  # 55 > 50, and a move fixes it
    with pytest.raises(Conflict):
        svc.publish(store, draft, actor="planner1", world=w)
    svc.rebalance_draft(store, draft, actor="planner1", world=w, communities=[COM])
    assert svc.review(store, draft, world=w)["hard"] == []
    out = svc.publish(store, draft, actor="planner1", world=w)
    assert "override_reason" not in _audit(store, "plan.publish")[-1]["detail"]
    assert out["plan"] == svc.published_plan_id(store)


def test_a_grid_above_max_that_no_fix_can_bring_down_is_not_a_hard_failure(sqlite_store):
    store = sqlite_store
    seed(store, ["AB", "AB"], {"r0c0": 60, "r1c0": 5, "r0c1": 20, "r1c1": 20})  # one building above max
    w = _world(store)
    draft = svc.start_draft(store, actor="planner1")["draft"]
    review = svc.review(store, draft, world=w)
    assert "above_max" in review["failing"][A]["problems"] and review["hard"] == []
    svc.publish(store, draft, actor="planner1", world=w)


def test_rebalance_changes_only_the_community_asked_for(demo_copy):
    store = demo_copy
    w = svc.load_world(store)
    draft = svc.start_draft(store, actor="planner1")["draft"]
    coms = sorted({c for c in svc.load_plan(store, svc.published_plan_id(store), world=w).grid_community.values()})
    coms = [c for c in coms if len(svc.load_plan(store, svc.published_plan_id(store), world=w).grids_in(c)) >= 3]
    target, other = coms[0], coms[1]
    full_t, full_o = overfill(store, draft, w, target), overfill(store, draft, w, other)
    head = svc.load_plan(store, svc.draft_info(store, draft)["head"], world=w)
    out = svc.rebalance_draft(store, draft, actor="planner1", world=w, communities=[target])
    moves = out["rebalance"]["moves"]
    assert moves and {m["from_grid"][:12] for m in moves} == {target}
    after = svc.load_plan(store, svc.draft_info(store, draft)["head"], world=w)
    changed = {b for b, g in after.assignment.items() if head.assignment.get(b) != g}
    assert changed and {b[:12] for b in changed} == {target}
    checks = svc.check_plan(after, w, codes=[full_t, full_o])
    assert "above_max" not in checks[full_t]["problems"] and "above_max" in checks[full_o]["problems"]
    for i in out["rebalance"]["infeasible"]:  # what it could not fix is named, with why
        assert i["community"] == target and i["reason"]


def test_neighbouring_grids_never_share_a_colour(demo_store):
    w = svc.load_world(demo_store)
    plan = svc.load_plan(demo_store, svc.published_plan_id(demo_store), world=w)
    adj = grid_adjacency(plan.assignment, w.adjacency)
    colours = colour_grids(adj)
    assert set(colours) == set(plan.grid_community)
    assert all(colours[g] != colours[h] for g, ns in adj.items() for h in ns)
    assert max(colours.values()) < 8  # a handful of colours, not one per grid
    big = max({c for c in plan.grid_community.values()}, key=lambda c: len(plan.grids_in(c)))
    assert len(plan.grids_in(big)) > max(colours.values()) + 1


def test_on_the_planners_map_touching_grids_never_share_a_colour(demo_copy):
    w = svc.load_world(demo_copy)
    plan = svc.load_plan(demo_copy, svc.published_plan_id(demo_copy), world=w)
    big = max({c for c in plan.grid_community.values()}, key=lambda c: len(plan.grids_in(c)))
    draft = svc.start_draft(demo_copy, actor="planner1")["draft"]
    view = svc.draft_view(demo_copy, draft, world=w, community=big)
    polys = {f["properties"]["code"]: shape(f["geometry"]) for f in view["polygons"]["features"] if f["geometry"]}
    for code, ns in touching(polys).items():
        assert all(view["colours"][code] != view["colours"][n] for n in ns), code


def test_a_draft_whose_base_was_replaced_is_stale_and_diffs_against_the_plan_in_force(sqlite_store):
    store = sqlite_store
    seed(store, ["AAB", "AAB", "AAB"], {f"r{i}c{j}": 8 for i in range(3) for j in range(3)})
    w = svc.load_world(store, settings={"MIN_HOUSEHOLDS": 1, "MAX_HOUSEHOLDS": 500})
    old_draft = svc.start_draft(store, actor="planner1")["draft"]
    assert svc.draft_info(store, old_draft)["stale"] is False
    newer = svc.start_draft(store, actor="planner1")["draft"]
    svc.move_buildings(store, newer, ["r0c1", "r1c1"], B, actor="planner1", world=w)
    published = svc.publish(store, newer, actor="planner1", world=w)["plan"]
    info = svc.draft_info(store, old_draft)
    assert (info["base"], info["published"], info["stale"]) == ("plan-base", published, True)
    review = svc.review(store, old_draft, world=w)
    assert review["stale"] is True and review["previous"] == published and review["base"] == "plan-base"
    # publishing the untouched old draft would move the two buildings back: the review says so
    assert review["diff"]["summary"]["buildings"] == 2
    assert {b["building_id"] for b in review["diff"]["buildings"]} == {"r0c1", "r1c1"}
    assert svc.review(store, svc.start_draft(store, actor="planner1")["draft"], world=w)["stale"] is False


def test_an_empty_grid_is_a_hard_failure(sqlite_store):
    store = sqlite_store
    seed(store, ["AAB", "AAB", "AAB"])
    w = svc.load_world(store, settings={"MIN_HOUSEHOLDS": 1, "MAX_HOUSEHOLDS": 500})
    draft = svc.start_draft(store, actor="planner1")["draft"]
    svc.move_buildings(store, draft, ["r0c2", "r1c2", "r2c2"], A, actor="planner1", world=w)
    review = svc.review(store, draft, world=w)
    assert [(h["grid"], h["problem"]) for h in review["hard"]] == [(B, "empty")]
    assert "empty" in review["hard"][0]["message"] and "没有楼栋" in review["hard"][0]["message"]
    with pytest.raises(Conflict) as err:
        svc.publish(store, draft, actor="planner1", world=w)
    assert B in str(err.value)
    assert svc.published_plan_id(store) == "plan-base"
    out = svc.publish(store, draft, actor="planner1", world=w, override_reason="B 网格下月撤销，先保留编码")
    assert _audit(store, "plan.publish")[-1]["detail"]["overridden"] == [f"{B}:empty"]
    assert out["plan"] == svc.published_plan_id(store)


def test_the_publish_audit_row_carries_the_figures_of_the_review(sqlite_store):
    store = sqlite_store
    seed(store, ["AAB", "AAB", "AAB"])  # each grid's leader lives in its first building (r0c0, r0c2)
    w = svc.load_world(store, settings={"MIN_HOUSEHOLDS": 1, "MAX_HOUSEHOLDS": 500})
    draft = svc.start_draft(store, actor="planner1")["draft"]
    svc.move_buildings(store, draft, ["r0c2"], A, actor="planner1", world=w)
    summary = svc.review(store, draft, world=w)["diff"]["summary"]
    assert summary["stewards"] == 1 and summary["buildings"] == 1
    svc.publish(store, draft, actor="planner1", world=w)
    detail = _audit(store, "plan.publish")[-1]["detail"]
    assert {k: detail[k] for k in summary} == summary
