"""What publishing a draft would bring into force, and what stops it (issue 15).

:func:`review` is what the planner's confirmation shows: every grid that fails a check, the grids without a
grid leader (网格长), the hard failures, the diff against the plan in force now (summary and per grid) and
whether the draft is ``stale`` — started from a plan that has since been replaced, so publishing it replaces the
plan in force and undoes what was published since the draft began.
:func:`hard_failures` is the gate :func:`gridmap.services.plans.publishing.publish` applies to a draft:

* an empty grid (``empty``: no buildings, so it would be published without an area);
* a grid in pieces (``not_contiguous``);
* a gap in the tiling (``tiling_gap``: buildings without a tessellation cell, so the grids leave a hole);
* a grid above its maximum where the rebalance (the planner's 自动平衡, new grids allowed) brings it within
  bounds — a grid that no fix can bring down (one building above the maximum, a community short of
  grids…) is reported but does not stop publishing.

A planner may publish over hard failures only with a written reason, kept in the ``plan.publish`` audit row.
"""

from __future__ import annotations

from typing import Any

from gridmap.domain.plan import GridPlan
from gridmap.services.plans.checks import check_plan
from gridmap.services.plans.drafts import draft_info
from gridmap.services.plans.rebalancing import plan_diff, run_rebalance
from gridmap.services.plans.stored import load_plan
from gridmap.services.plans.world import PlanWorld
from gridmap.store.base import Store

#: problems that stop publishing by themselves
HARD = ("empty", "not_contiguous", "tiling_gap")
#: the words of each hard failure (Chinese / English)
_WORDS = {
    "empty": "网格 {grid} 没有楼栋，发布后是一个没有范围的空网格 / grid {grid} has no buildings: it would be published "
    "as an empty grid with no area",
    "not_contiguous": "网格 {grid} 不连续，分成 {parts} 块 / grid {grid} is in {parts} pieces",
    "tiling_gap": "网格 {grid} 有 {n} 栋楼没有地块，网格之间留有缺口 / grid {grid} has {n} buildings without a cell: "
    "the grids leave a gap",
    "above_max": "网格 {grid} 有 {households} 户，超过上限 {max}，自动平衡可以修正 / grid {grid} has {households} "
    "households, above its maximum {max}, and the rebalance can fix it",
}


def hard_failures(plan: GridPlan, world: PlanWorld, checks: dict[str, dict[str, Any]] | None = None) -> list[dict]:
    """Hard failures of ``plan``: ``[{"grid", "problem", "message"}]`` (see the module doc)."""
    checks = check_plan(plan, world) if checks is None else checks
    out = []
    for code, c in sorted(checks.items()):
        for p in c["problems"]:
            if p in HARD:
                n = len(c.get("buildings_without_cell") or [])
                out.append({"grid": code, "problem": p, "message": _WORDS[p].format(grid=code, parts=c["parts"], n=n)})
    over = {code: c for code, c in checks.items() if "above_max" in c["problems"]}
    if over:
        coms = {c["community_id"] for c in over.values()}
        locked = list(plan.meta.get("locked") or [])
        fixed = run_rebalance(plan, world, locked=locked, allow_new_grids=True, communities=coms)
        left = {i.grid for i in fixed.infeasible}
        for code, c in sorted(over.items()):
            if code not in left:
                out.append(
                    {
                        "grid": code,
                        "problem": "above_max",
                        "message": _WORDS["above_max"].format(grid=code, households=c["households"], max=c["max"]),
                    }
                )
    return out


def review(store: Store, draft_id: str, *, world: PlanWorld) -> dict[str, Any]:
    """What the confirmation before publishing shows (see the module doc)."""
    info = draft_info(store, draft_id)
    plan = load_plan(store, info["head"], world=world)
    checks = check_plan(plan, world)
    failing = {code: c for code, c in checks.items() if c["problems"]}
    previous = info["published"]
    # the planner's diff against the plan in force: buildings, households, stewards and open requests that
    # change grid — the same computation as the plan.publish audit row
    old = load_plan(store, previous, world=world) if previous else GridPlan({}, {})
    d = plan_diff(store, old, plan, households=world.households)
    return {
        "draft": draft_id,
        "plan": plan.id,
        "previous": previous,
        "base": info["base"],
        "stale": info["stale"],
        "failing": failing,
        "no_grid_leader": sorted(code for code, c in failing.items() if "no_grid_leader" in c["problems"]),
        "hard": hard_failures(plan, world, checks),
        "diff": d.as_dict(),
    }
