"""Save grid plans to a store and load them back: layers ``plans``, ``plan_assignments``,
``plan_grids``, ``grid_codes`` and the tessellation ``cells``.

Callers group these writes in one ``with store.transaction():`` block (the services do).
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import geopandas as gpd
import pandas as pd

from gridmap import clock
from gridmap.domain.plan import GridPlan, Move
from gridmap.errors import NotFoundError
from gridmap.store.base import Store


class PlanNotFound(NotFoundError):
    """No plan with that id in the store."""


def new_plan_id(store: Store) -> str:
    return f"P{store.next_id('plans'):06d}"


def save_plan(store: Store, plan: GridPlan, grids: gpd.GeoDataFrame, *, status: str = "draft",
              params: Mapping[str, Any] | None = None, note: str | None = None,
              created_by: str | None = None, plan_id: str | None = None) -> str:
    """Write ``plan`` (its row, assignments and grid polygons) and return its id.

    ``grids``: code, community_id, households, buildings, geometry (any CRS; stored in EPSG:4326).
    Codes not yet in ``grid_codes`` are recorded there with this plan as their first plan.
    """
    plan_id = plan_id or plan.id or new_plan_id(store)
    parent_id = plan.meta.get("parent_id") or (plan.parent.id if plan.parent is not None else None)
    row = pd.DataFrame([{
        "id": plan_id, "parent_id": parent_id, "status": status,
        "created_at": clock.now(), "created_by": created_by,
        "params": dict(params or {}), "note": note,
        "moves": [[m.building_id, m.from_grid, m.to_grid] for m in plan.moves],
    }])
    store.write("plans", row, mode="insert")
    assign = pd.DataFrame({"plan_id": plan_id, "building_id": list(plan.assignment.keys()),
                           "grid_code": list(plan.assignment.values())})
    store.write("plan_assignments", assign, mode="insert")
    g = grids.to_crs("EPSG:4326") if grids.crs is not None else grids
    cols = [c for c in ("code", "community_id", "households", "buildings") if c in g]
    frame = gpd.GeoDataFrame(g[cols].assign(plan_id=plan_id), geometry=g.geometry.values, crs=g.crs)
    store.write("plan_grids", frame, mode="insert")
    record_codes(store, plan.grid_community, plan_id=plan_id)
    return plan_id


def record_codes(store: Store, grid_community: Mapping[str, str], *, plan_id: str) -> int:
    """Add codes not yet issued to ``grid_codes``; returns how many were new."""
    known = set(issued_codes(store))
    new = [(c, com) for c, com in grid_community.items() if c not in known]
    if new:
        store.write("grid_codes", pd.DataFrame({"code": [c for c, _ in new],
                                                "community_id": [com for _, com in new],
                                                "first_plan_id": plan_id}), mode="insert")
    return len(new)


def retire_codes(store: Store, plan: GridPlan, *, plan_id: str) -> list[str]:
    """Mark every issued code that ``plan`` (now in force) does not use as retired by ``plan_id``."""
    codes = store.read("grid_codes")
    if not len(codes):
        return []
    gone = codes[~codes["code"].isin(plan.grid_community) & codes["retired_plan_id"].isna()]
    if len(gone):
        store.write("grid_codes", gone.assign(retired_plan_id=plan_id), mode="upsert")
    return gone["code"].tolist()


def issued_codes(store: Store, community_ids: Iterable[str] | None = None) -> list[str]:
    where = None if community_ids is None else {"community_id": list(community_ids)}
    return store.read("grid_codes", where=where, columns=["code"])["code"].tolist()


def publish(store: Store, plan_id: str) -> None:
    """Make ``plan_id`` the published plan: the one published before becomes ``superseded`` and the
    codes it no longer uses are retired."""
    row = store.get("plans", plan_id)
    if row is None:
        raise PlanNotFound(f"no plan {plan_id!r}")
    old = store.read("plans", where={"status": "published"})
    if len(old):
        store.write("plans", old.assign(status="superseded"), mode="upsert")
    row.update(status="published", published_at=clock.now())
    store.write("plans", pd.DataFrame([row]), mode="upsert")
    retire_codes(store, load_plan(store, plan_id), plan_id=plan_id)


def published_plan_id(store: Store) -> str | None:
    rows = store.read("plans", where={"status": "published"}, columns=["id"])
    return None if not len(rows) else str(rows["id"].iloc[-1])


def latest_plan_id(store: Store) -> str | None:
    """The published plan, else the newest plan, else None."""
    pid = published_plan_id(store)
    if pid:
        return pid
    rows = store.read("plans", columns=["id", "created_at"])
    if not len(rows):
        return None
    return str(rows.sort_values(["created_at", "id"])["id"].iloc[-1])


def load_plan(store: Store, plan_id: str) -> GridPlan:
    """The stored plan as a :class:`GridPlan` (its parent by id in ``meta['parent_id']``)."""
    row = store.get("plans", plan_id)
    if row is None:
        raise PlanNotFound(f"no plan {plan_id!r}; list plans with `gridmap plan list`")
    assign = store.read("plan_assignments", where={"plan_id": plan_id},
                        columns=["building_id", "grid_code"])
    grids = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "community_id"])
    moves = tuple(Move(*m) for m in (row.get("moves") or []))
    meta = {"parent_id": row.get("parent_id"), "status": row.get("status"),
            "params": row.get("params") or {}, "created_at": row.get("created_at"),
            "note": row.get("note")}
    return GridPlan(dict(zip(assign["building_id"], assign["grid_code"])),
                    dict(zip(grids["code"], grids["community_id"])), moves=moves, id=plan_id, meta=meta)


def load_grids(store: Store, plan_id: str) -> gpd.GeoDataFrame:
    """The plan's grid polygons (EPSG:4326): code, community_id, households, buildings, geometry."""
    return store.read("plan_grids", where={"plan_id": plan_id})


def save_cells(store: Store, cells: gpd.GeoDataFrame, community_ids: Iterable[str]) -> None:
    """Replace the tessellation cells of ``community_ids`` with ``cells`` (id, community_id, geometry)."""
    ids = list(community_ids)
    store.delete("cells", where={"community_id": ids})
    g = cells.to_crs("EPSG:4326")
    store.write("cells", gpd.GeoDataFrame(g[["id", "community_id"]], geometry=g.geometry.values,
                                          crs="EPSG:4326"), mode="insert")
