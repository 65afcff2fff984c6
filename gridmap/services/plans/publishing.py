"""Publish a draft and roll back to an earlier plan: the one published plan gets full assignment and grid
polygon rows, the previous one is superseded, new and retired grid codes are recorded.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from gridmap import clock
from gridmap.domain.diff import diff_plans
from gridmap.domain.plan import GridPlan
from gridmap.errors import Conflict, InvalidInput
from gridmap.services.plans.checks import grid_polygons
from gridmap.services.plans.drafts import _draft_root, _head
from gridmap.services.plans.stored import _new_plan_id, _now, _params, _plan_row, audit, load_plan, published_plan_id
from gridmap.services.plans.world import PlanWorld
from gridmap.store.base import Store


def _write_full(store: Store, plan_id: str, plan: GridPlan, world: PlanWorld) -> None:
    store.delete("plan_assignments", where={"plan_id": plan_id})
    store.delete("plan_grids", where={"plan_id": plan_id})
    rows = sorted(plan.assignment.items())
    store.write("plan_assignments", pd.DataFrame({"plan_id": plan_id, "building_id": [b for b, _ in rows],
                                                  "grid_code": [g for _, g in rows]}), mode="insert")
    polys = grid_polygons(plan, world)
    polys.insert(0, "plan_id", plan_id)
    store.write("plan_grids", polys, mode="insert")


def _supersede_and_codes(store: Store, plan_id: str, plan: GridPlan, previous: str | None,
                         prev_plan: GridPlan | None) -> None:
    if previous:
        store.write("plans", pd.DataFrame([{"id": previous, "status": "superseded"}]))
    known = store.read("grid_codes")
    known_codes = set(known["code"])
    new_rows = [{"code": c, "community_id": plan.grid_community[c], "first_plan_id": plan_id}
                for c in plan.codes if c not in known_codes]
    retired = sorted(set(prev_plan.grid_community) - set(plan.grid_community)) if prev_plan else []
    if new_rows:
        store.write("grid_codes", pd.DataFrame(new_rows))
    if retired:
        store.write("grid_codes", pd.DataFrame([{"code": c, "community_id": prev_plan.grid_community[c],
                                                 "retired_plan_id": plan_id} for c in retired]))


def publish(store: Store, draft_id: str, *, effective_date: dt.date | str | None = None,
            actor: str | None, world: PlanWorld) -> dict[str, Any]:
    """Publish the draft's head: it becomes the one published plan; the previous one is superseded."""
    head, p = _head(store, draft_id, world)
    eff = _date(effective_date, world.zone)
    previous = published_plan_id(store)
    prev_plan = load_plan(store, previous, world=world) if previous else None
    with store.transaction():
        pid = head.id
        _write_full(store, pid, head, world)
        row = _plan_row(store, pid)
        params = _params(row)
        params["kind"] = "published_version"
        store.write("plans", pd.DataFrame([{"id": pid, "status": "published", "effective_date": eff,
                                            "published_at": _now(), "params": params}]))
        root = _params(_draft_root(store, draft_id)) if pid != draft_id else params
        root["closed"] = pid
        store.write("plans", pd.DataFrame([{"id": draft_id, "params": root}]))
        _supersede_and_codes(store, pid, head, previous, prev_plan)
        diff_summary = diff_plans(prev_plan, head, households=world.households).summary() \
            if prev_plan else {}
        audit(store, actor, "plan.publish", pid, {"draft": draft_id, "previous": previous,
                                                  "effective_date": eff.isoformat(), **diff_summary})
    world.plans.pop(pid, None)
    world.issued_codes |= set(head.grid_community)
    return {"plan": pid, "previous": previous, "effective_date": eff.isoformat(), "diff": diff_summary}


def _date(value: dt.date | str | None, zone: dt.tzinfo) -> dt.date:
    if value is None or value == "":
        return clock.today(zone)  # today where the people are
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"生效日期格式应为 YYYY-MM-DD / effective date {value!r} is not YYYY-MM-DD") \
            from None


def rollback(store: Store, to_plan: str, *, actor: str | None, world: PlanWorld,
             effective_date: dt.date | str | None = None) -> dict[str, Any]:
    """Publish a new version equal to the earlier plan ``to_plan`` (its codes, assignment)."""
    row = _plan_row(store, to_plan)
    if row["status"] not in ("published", "superseded"):
        raise Conflict(f"只能回退到已发布过的方案 / can only roll back to a plan that was published; "
                       f"{to_plan} is {row['status']}")
    target = load_plan(store, to_plan, world=world)
    previous = published_plan_id(store)
    if previous == to_plan:
        raise Conflict(f"{to_plan} 已是当前方案 / {to_plan} is already the published plan")
    prev_plan = load_plan(store, previous, world=world) if previous else None
    eff = _date(effective_date, world.zone)
    with store.transaction():
        pid = _new_plan_id(store)
        store.write("plans", pd.DataFrame([{
            "id": pid, "parent_id": previous, "status": "published", "created_at": _now(),
            "created_by": actor, "effective_date": eff, "published_at": _now(),
            "params": {"kind": "rollback", "rollback_of": to_plan}, "moves": [],
            "note": f"rollback to {to_plan}"}]))
        plan = GridPlan(target.assignment, target.grid_community, id=pid)
        _write_full(store, pid, plan, world)
        _supersede_and_codes(store, pid, plan, previous, prev_plan)
        audit(store, actor, "plan.rollback", pid, {"to": to_plan, "previous": previous,
                                                   "effective_date": eff.isoformat()})
    return {"plan": pid, "rollback_of": to_plan, "previous": previous, "effective_date": eff.isoformat()}
