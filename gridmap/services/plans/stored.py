"""Plans in the store: the published plan, a plan (draft versions rebuilt from their parent and moves),
the list of plans, new plan ids and the audit rows every plan change writes.

A draft is a chain of plan rows (status ``draft``): its root row starts from a base plan, and every change
adds a row whose ``moves`` column holds the building moves from its parent and whose ``params`` hold
``kind="version"``, the draft's root id, the locked grids and any grids added or dropped. Only published
(or imported/generated) plans carry full ``plan_assignments`` rows.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping


from gridmap.domain.codes import community_of
from gridmap.domain.plan import GridPlan
from gridmap.domain.values import json_value
from gridmap.errors import NotFoundError
from gridmap.services.plans.world import PlanWorld
from gridmap.store.audit import record
from gridmap.store.base import Store
from gridmap.store.plans import new_plan_id


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _params(row: Mapping[str, Any]) -> dict[str, Any]:
    p = row.get("params")
    if isinstance(p, str):
        p = json.loads(p)
    return dict(p or {})


def _plan_row(store: Store, plan_id: str) -> dict[str, Any]:
    row = store.get("plans", plan_id)
    if row is None:
        raise NotFoundError(f"没有这个方案 / no plan {plan_id!r}")
    return row


def published_plan_id(store: Store) -> str | None:
    """Id of the published plan, or None when no plan is published yet (the newest if several, which
    should not happen). The one owner of this question for every service."""
    rows = store.read("plans", where={"status": "published"}, columns=["id", "published_at"])
    if not len(rows):
        return None
    return str(rows.sort_values("published_at", na_position="first").iloc[-1]["id"])


def load_plan(store: Store, plan_id: str, *, world: PlanWorld | None = None) -> GridPlan:
    """The plan ``plan_id`` as a :class:`GridPlan` (draft versions rebuilt from their parent + moves)."""
    if world is not None and (hit := world.cached(plan_id)) is not None:
        return hit
    row = _plan_row(store, plan_id)
    params = _params(row)
    if params.get("kind") == "version":
        parent = load_plan(store, row["parent_id"], world=world)
        moves = [_move_pair(m) for m in (row.get("moves") or [])]
        moved = parent.reassign(moves,
                                new_grids=params.get("new_grids") or {})
        gc = {c: com for c, com in moved.grid_community.items() if c not in set(params.get("dropped") or [])}
        plan = GridPlan(moved.assignment, gc, parent=parent, moves=moved.moves, id=plan_id,
                        meta={"locked": params.get("locked") or [], "draft": params.get("draft")})
    else:
        a = store.read("plan_assignments", where={"plan_id": plan_id},
                       columns=["building_id", "grid_code"])
        g = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "community_id"])
        grid_community = dict(zip(g["code"], g["community_id"]))
        for code in set(a["grid_code"]) - set(grid_community):  # grids without a polygon row
            grid_community[code] = community_of(code)
        plan = GridPlan(dict(zip(a["building_id"], a["grid_code"])), grid_community, id=plan_id,
                        meta={"locked": params.get("locked") or []})
    return world.remember(plan) if world is not None else plan


def _move_pair(m: Any) -> tuple[str, str]:
    """(building, to_grid) of a stored move: ``[b, from, to]`` or ``{"building_id", "to_grid"}``."""
    if isinstance(m, Mapping):
        return m["building_id"], m["to_grid"]
    return m[0], m[2]


def list_plans(store: Store) -> list[dict[str, Any]]:
    """Every plan that is not an intermediate draft version, newest first."""
    rows = store.read("plans", columns=["id", "parent_id", "status", "created_at", "created_by",
                                        "effective_date", "published_at", "params", "note"])
    out = []
    for r in rows.to_dict("records"):
        p = _params(r)
        if p.get("kind") == "version" and p.get("draft") != r["id"] and r["status"] == "draft":
            continue
        out.append({"id": r["id"], "status": r["status"], "parent_id": json_value(r["parent_id"]),
                    "created_at": json_value(r["created_at"]), "created_by": json_value(r["created_by"]),
                    "effective_date": json_value(r["effective_date"]), "published_at": json_value(r["published_at"]),
                    "head": p.get("head"), "note": json_value(r["note"])})
    return sorted(out, key=lambda r: (r["created_at"] or "", r["id"]), reverse=True)


def _new_plan_id(store: Store) -> str:
    return new_plan_id(store)  # the grids area's id scheme: one sequence for every plan


def audit(store: Store, actor: str | None, action: str, target: str | None, detail: Any = None) -> None:
    """One audit row (who, when, what): :func:`gridmap.store.audit.record`."""
    record(store, actor=actor, action=action, target=target, detail=detail)
