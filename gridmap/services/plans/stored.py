"""Plans in the store for the plan services: a plan (through :func:`gridmap.store.plans.load_plan`, the one
reader, with the :class:`PlanWorld` as its cache), the published plan (:func:`gridmap.store.plans.published_plan_id`,
the one owner of that question), the list of plans, new plan ids and the audit rows every plan change writes.

A draft is a chain of plan rows (status ``draft``): its root row starts from a base plan, and every change
adds a row whose ``moves`` column holds the building moves from its parent and whose ``params`` hold
``kind="version"``, the draft's root id, the locked grids and any grids added or dropped. Only published
(or imported/generated) plans carry full ``plan_assignments`` rows.
"""

from __future__ import annotations

from typing import Any

from gridmap import clock
from gridmap.domain.plan import GridPlan
from gridmap.domain.values import json_value
from gridmap.services.plans.world import PlanWorld
from gridmap.store import plans as stored_plans
from gridmap.store.audit import record
from gridmap.store.base import Store
from gridmap.store.plans import PlanNotFound, new_plan_id, params_of, published_plan_id

__all__ = ["published_plan_id", "load_plan", "load_current", "list_plans", "audit"]


_now = clock.now


_params = params_of


def _plan_row(store: Store, plan_id: str) -> dict[str, Any]:
    row = store.get("plans", plan_id)
    if row is None:
        raise PlanNotFound(f"没有这个方案 / no plan {plan_id!r}")
    return row


def load_plan(store: Store, plan_id: str, *, world: PlanWorld | None = None) -> GridPlan:
    """The plan ``plan_id`` (draft versions rebuilt from their parent + moves), kept in ``world``'s cache."""
    return stored_plans.load_plan(store, plan_id, cache=world)


def load_current(store: Store, plan_id: str, *, world: PlanWorld | None = None) -> GridPlan:
    """What readers (export, check, diff, report) show for ``plan_id``: an open draft as it stands (its
    head, :func:`gridmap.store.plans.current_version`), any other plan as it is."""
    return load_plan(store, stored_plans.current_version(store, plan_id), world=world)


def list_plans(store: Store) -> list[dict[str, Any]]:
    """Every plan that is not an intermediate draft version, newest first."""
    rows = store.read(
        "plans",
        columns=[
            "id",
            "parent_id",
            "status",
            "created_at",
            "created_by",
            "effective_date",
            "published_at",
            "params",
            "note",
        ],
    )
    out = []
    for r in rows.to_dict("records"):
        p = _params(r)
        if p.get("kind") == "version" and p.get("draft") != r["id"] and r["status"] == "draft":
            continue
        out.append(
            {
                "id": r["id"],
                "status": r["status"],
                "parent_id": json_value(r["parent_id"]),
                "created_at": json_value(r["created_at"]),
                "created_by": json_value(r["created_by"]),
                "effective_date": json_value(r["effective_date"]),
                "published_at": json_value(r["published_at"]),
                "head": p.get("head"),
                # a draft the planner can still edit: an open draft's root (published drafts are closed)
                "editable": r["status"] == "draft" and p.get("draft") == r["id"] and not p.get("closed"),
                "note": json_value(r["note"]),
            }
        )
    return sorted(out, key=lambda r: (r["created_at"] or "", r["id"]), reverse=True)


def _new_plan_id(store: Store) -> str:
    return new_plan_id(store)  # the grids area's id scheme: one sequence for every plan


def audit(store: Store, actor: str | None, action: str, target: str | None, detail: Any = None) -> None:
    """One audit row (who, when, what): :func:`gridmap.store.audit.record`."""
    record(store, actor=actor, action=action, target=target, detail=detail)
