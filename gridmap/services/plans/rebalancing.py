"""Rebalance a draft with the minimal-change rebalance, and diff two stored plans with today's households,
stewards and open complaints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from gridmap import jobs
from gridmap.domain.complaints import is_open
from gridmap.domain.diff import PlanDiff, diff_plans
from gridmap.domain.plan import GridPlan, PlanError
from gridmap.domain.rebalance import RebalanceError, RebalanceResult, rebalance
from gridmap.errors import InvalidInput
from gridmap.jobs import Progress
from gridmap.services.plans.drafts import _codes_in_chain, _commit, _head, _locked, change_result
from gridmap.services.plans.stored import load_current
from gridmap.services.plans.world import PlanWorld
from gridmap.store.base import Store


def rebalance_draft(
    store: Store,
    draft_id: str,
    *,
    actor: str | None,
    world: PlanWorld,
    allow_new_grids: bool = True,
    progress: Progress | None = None,
    communities: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Run the minimal-change rebalance on the draft's head; the result becomes the new head.

    ``communities``: only these communities' grids change (the planner's community on screen); default all.
    The result's ``rebalance.infeasible`` names each grid still out of bounds and why.
    ``progress(done, 3)`` after loading the head, rebalancing and storing the result."""
    head, root = _head(store, draft_id, world)
    locked = _locked(head)
    if communities is not None:
        communities = sorted(set(communities))
        unknown = [c for c in communities if c not in set(head.grid_community.values())]
        if unknown:
            raise InvalidInput(f"草稿中没有社区 {unknown[0]} / the draft has no community {unknown[0]!r}")
    jobs.report(progress, 1, 3)
    with jobs.timed("rebalance"):
        result = run_rebalance(head, world, locked=locked, allow_new_grids=allow_new_grids, communities=communities)
    jobs.report(progress, 2, 3)
    plan = _commit(
        store,
        draft_id,
        root,
        head,
        result.plan,
        actor=actor,
        action="rebalance",
        locked=locked,
        new_grids=result.new_grids,
        detail={
            "households_moved": result.households_moved,
            "infeasible": len(result.infeasible),
            "communities": communities or "all",
        },
        world=world,
    )
    touched = {m.from_grid for m in result.moves} | {m.to_grid for m in result.moves}
    out = change_result(store, draft_id, plan, touched, world)
    jobs.report(progress, 3, 3)
    out["rebalance"] = result.as_dict()
    return out


def run_rebalance(
    plan: GridPlan,
    world: PlanWorld,
    *,
    locked: Iterable[str] = (),
    allow_new_grids: bool = True,
    communities: Iterable[str] | None = None,
) -> RebalanceResult:
    try:
        return rebalance(
            plan,
            households=world.households,
            adjacency=world.adjacency,
            bounds=world.bounds,
            default_bounds=world.default_bounds,
            locked=locked,
            together=world.together,
            issued_codes=world.issued_codes | _codes_in_chain(plan),
            allow_new_grids=allow_new_grids,
            communities=communities,
        )
    except (RebalanceError, PlanError) as err:
        raise InvalidInput(str(err)) from None


def _open_complaints(store: Store) -> list[dict[str, Any]]:
    c = store.read("complaints", columns=["id", "building_id", "state"])
    mask = [bool(is_open(s)) for s in c["state"]]
    keep = pd.Series(mask, index=c.index, dtype=bool)
    return c.loc[keep, ["id", "building_id"]].to_dict("records")


def diff(store: Store, old_id: str, new_id: str, *, world: PlanWorld) -> PlanDiff:
    """Diff two stored plans with today's households, stewards and open complaints."""
    old = load_current(store, old_id, world=world)
    new = load_current(store, new_id, world=world)
    return plan_diff(store, old, new, households=world.households)


def plan_diff(store: Store, old: GridPlan, new: GridPlan, *, households: Mapping[str, int]) -> PlanDiff:
    """The diff of two plans with ``households`` and today's stewards and open complaints: the one
    computation behind the planner's diff, the review before publishing and the ``plan.publish`` audit row."""
    st = store.read("stewards", columns=["id", "building_id", "role"]).to_dict("records")
    return diff_plans(old, new, households=households, stewards=st, complaints=_open_complaints(store))
