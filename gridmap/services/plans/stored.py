"""Plans in the store for the plan services: a plan (through :func:`gridmap.store.plans.load_plan`, the one
reader, with the :class:`PlanWorld` as its cache), the published plan (:func:`gridmap.store.plans.published_plan_id`,
the one owner of that question) and its grid polygons kept per published version (:func:`published_grids`, what
routing a request reads), the list of plans, new plan ids and the audit rows every plan change writes.

A draft is a chain of plan rows (status ``draft``): its root row starts from a base plan, and every change
adds a row whose ``moves`` column holds the building moves from its parent and whose ``params`` hold
``kind="version"``, the draft's root id, the locked grids and any grids added or dropped. Only published
(or imported/generated) plans carry full ``plan_assignments`` rows.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from gridmap import clock
from gridmap.domain.plan import GridPlan
from gridmap.domain.values import json_value
from gridmap.services.plans.world import PlanWorld
from gridmap.store import plans as stored_plans
from gridmap.store.audit import record
from gridmap.store.base import Store
from gridmap.store.plans import PlanNotFound, new_plan_id, params_of, published_plan, published_plan_id

__all__ = [
    "published_plan_id",
    "published_grids",
    "forget_published",
    "load_plan",
    "load_current",
    "list_plans",
    "audit",
]


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


@dataclass(frozen=True)
class PublishedGrids:
    """The published plan's grid polygons (EPSG:4326) in code order, with a spatial index over them."""

    plan_id: str
    codes: Sequence[str]
    community_ids: Sequence[str | None]
    geoms: np.ndarray
    tree: shapely.STRtree

    def near(self, bbox: tuple[float, float, float, float]) -> list[dict[str, Any]]:
        """The grids whose bounding box meets ``bbox`` (what ``store.read("plan_grids", bbox=…)`` of the plan
        returns), in code order, as rows with ``code``, ``community_id`` and ``geometry``."""
        hits = sorted(int(i) for i in self.tree.query(shapely.box(*bbox)))
        return [{"code": self.codes[i], "community_id": self.community_ids[i], "geometry": self.geoms[i]} for i in hits]


#: per store object (a new store — a restored database, a test's fresh one — starts empty): the kept version
_PUBLISHED: weakref.WeakKeyDictionary[Store, tuple[tuple[str, Any], PublishedGrids]] = weakref.WeakKeyDictionary()
_PUBLISHED_LOCK = threading.Lock()


def published_grids(store: Store) -> PublishedGrids | None:
    """The published plan's grids (None before the first publication), read once per published version.

    The plan in force is asked of the store every time (:func:`gridmap.store.plans.published_plan`, one small
    query, so every process of a service sees a publication at once); its polygons are kept per store object
    and ``(plan id, published_at)`` — a publication (:func:`gridmap.services.plans.publishing.publish`) sets
    ``published_at`` anew and also drops this process's copies (:func:`forget_published`).
    """
    found = published_plan(store)
    if found is None:
        return None
    with _PUBLISHED_LOCK:
        hit = _PUBLISHED.get(store)
    if hit is not None and hit[0] == found:
        return hit[1]
    rows = store.rows(
        "plan_grids", where={"plan_id": found[0]}, columns=["code", "community_id", "geometry"], order_by=["code"]
    )
    geoms = np.empty(len(rows), dtype=object)
    geoms[:] = [r["geometry"] for r in rows]
    grids = PublishedGrids(
        plan_id=found[0],
        codes=[str(r["code"]) for r in rows],
        community_ids=[r["community_id"] for r in rows],
        geoms=geoms,
        tree=shapely.STRtree(geoms),
    )
    with _PUBLISHED_LOCK:
        _PUBLISHED[store] = (found, grids)
    return grids


def forget_published() -> None:
    """Drop the kept grids of published plans (a publication, or tests that rewrite a plan under its id)."""
    with _PUBLISHED_LOCK:
        _PUBLISHED.clear()


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
