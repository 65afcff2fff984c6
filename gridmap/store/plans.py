"""Save grid plans to a store and load them back: layers ``plans``, ``plan_assignments``,
``plan_grids``, ``grid_codes`` and the tessellation ``cells``.

Callers group these writes in one ``with store.transaction():`` block (the services do).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import geopandas as gpd
import pandas as pd

from gridmap import clock
from gridmap.domain.codes import community_of
from gridmap.domain.plan import GridPlan, Move
from gridmap.errors import NotFoundError
from gridmap.store.base import Store


class PlanNotFound(NotFoundError):
    """No plan with that id in the store."""


def new_plan_id(store: Store) -> str:
    return f"P{store.next_id('plans'):06d}"


def save_plan(
    store: Store,
    plan: GridPlan,
    grids: gpd.GeoDataFrame,
    *,
    status: str = "draft",
    params: Mapping[str, Any] | None = None,
    note: str | None = None,
    created_by: str | None = None,
    plan_id: str | None = None,
) -> str:
    """Write ``plan`` (its row, assignments and grid polygons) and return its id.

    ``grids``: code, community_id, households, buildings, geometry (any CRS; stored in EPSG:4326).
    Codes not yet in ``grid_codes`` are recorded there with this plan as their first plan.
    """
    plan_id = plan_id or plan.id or new_plan_id(store)
    parent_id = plan.meta.get("parent_id") or (plan.parent.id if plan.parent is not None else None)
    row = pd.DataFrame(
        [
            {
                "id": plan_id,
                "parent_id": parent_id,
                "status": status,
                "created_at": clock.now(),
                "created_by": created_by,
                "params": dict(params or {}),
                "note": note,
                "moves": [[m.building_id, m.from_grid, m.to_grid] for m in plan.moves],
            }
        ]
    )
    store.write("plans", row, mode="insert")
    assign = pd.DataFrame(
        {"plan_id": plan_id, "building_id": list(plan.assignment.keys()), "grid_code": list(plan.assignment.values())}
    )
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
        store.write(
            "grid_codes",
            pd.DataFrame(
                {"code": [c for c, _ in new], "community_id": [com for _, com in new], "first_plan_id": plan_id}
            ),
            mode="insert",
        )
    return len(new)


def settle_codes(store: Store, plan: GridPlan, *, plan_id: str) -> list[str]:
    """Bring ``grid_codes`` in line with ``plan`` now in force (published as ``plan_id``): codes it uses
    that were never issued are recorded, codes it uses again (a rollback) are no longer retired, and every
    issued code it does not use is retired by ``plan_id``. Returns the codes retired now."""
    record_codes(store, plan.grid_community, plan_id=plan_id)
    codes = store.read("grid_codes")
    back = codes[codes["code"].isin(plan.grid_community) & codes["retired_plan_id"].notna()]
    if len(back):
        store.write("grid_codes", back.assign(retired_plan_id=None), mode="upsert")
    gone = codes[~codes["code"].isin(plan.grid_community) & codes["retired_plan_id"].isna()]
    if len(gone):
        store.write("grid_codes", gone.assign(retired_plan_id=plan_id), mode="upsert")
    return sorted(gone["code"].tolist())


def issued_codes(store: Store, community_ids: Iterable[str] | None = None) -> list[str]:
    where = None if community_ids is None else {"community_id": list(community_ids)}
    return store.read("grid_codes", where=where, columns=["code"])["code"].tolist()


def set_published(
    store: Store,
    plan_id: str,
    plan: GridPlan,
    *,
    effective_date: dt.date,
    published_at: dt.datetime,
    params: Mapping[str, Any] | None = None,
) -> str | None:
    """Make ``plan_id`` (whose assignment is ``plan``, its rows already written) the one published plan:
    its row says ``published`` with ``effective_date`` and ``published_at`` (and ``params`` when given), the
    plan published before is ``superseded``, and :func:`settle_codes` records and retires grid codes.
    Returns the id of the plan published before (None for the first).

    The bookkeeping of :func:`gridmap.services.plans.publishing.publish` (which also writes the audit row):
    call it inside the caller's ``store.transaction()``.
    """
    if store.get("plans", plan_id) is None:
        raise PlanNotFound(f"no plan {plan_id!r}")
    previous = published_plan_id(store)
    old = store.read("plans", where={"status": "published"}, columns=["id"])
    old = old[old["id"] != plan_id]
    if len(old):
        store.write("plans", old.assign(status="superseded"), mode="upsert")
    row = {"id": plan_id, "status": "published", "effective_date": effective_date, "published_at": published_at}
    if params is not None:
        row["params"] = dict(params)
    store.write("plans", pd.DataFrame([row]), mode="upsert")
    settle_codes(store, plan, plan_id=plan_id)
    return previous if previous != plan_id else None


def published_plan_id(store: Store) -> str | None:
    """Id of the published plan, or None before the first is published: the one owner of this question.

    At most one plan is published at a time; should several rows say so, the newest ``published_at`` wins
    (a row without one counts as oldest), then the highest id.
    """
    found = published_plan(store)
    return found[0] if found is not None else None


def published_plan(store: Store) -> tuple[str, dt.datetime | None] | None:
    """``(id, published_at)`` of the published plan (:func:`published_plan_id`'s answer and when it came into
    force: a version that caches may key on, as every publication sets it anew), or None."""
    rows = store.rows(
        "plans",
        where={"status": "published"},
        columns=["id", "published_at"],
        order_by=["-published_at", "-id"],
        limit=1,
    )
    return (str(rows[0]["id"]), rows[0]["published_at"]) if rows else None


def latest_plan_id(store: Store) -> str | None:
    """The published plan, else the newest plan, else None."""
    pid = published_plan_id(store)
    if pid:
        return pid
    rows = store.read("plans", columns=["id", "created_at"])
    if not len(rows):
        return None
    return str(rows.sort_values(["created_at", "id"])["id"].iloc[-1])


class PlanCache(Protocol):
    """Where loaded plans may be kept (``gridmap.services.plans.PlanWorld`` is one)."""

    def cached(self, plan_id: str) -> GridPlan | None: ...

    def remember(self, plan: GridPlan) -> GridPlan: ...


def params_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``params`` of a plan row as a dict (decoded when a backend hands back JSON text)."""
    p = row.get("params")
    if isinstance(p, str):
        p = json.loads(p)
    return dict(p or {})


def load_plan(store: Store, plan_id: str, *, cache: PlanCache | None = None) -> GridPlan:
    """The stored plan ``plan_id`` as a :class:`GridPlan`, whatever kind it is: the one reader of plans.

    A plan with its own ``plan_assignments`` rows (generated, imported, published) is read from them; a
    draft version (``params.kind == "version"``: its moves from its parent) is its parent with those moves
    made. ``meta`` holds the row's ``parent_id``, ``status``, ``params``, ``created_at``, ``note``, the
    ``locked`` grids and, for a version, its ``draft``. ``cache`` keeps plans by id (plan rows never change
    their assignment).
    """
    if cache is not None and (hit := cache.cached(plan_id)) is not None:
        return hit
    row = store.get("plans", plan_id)
    if row is None:
        raise PlanNotFound(f"没有这个方案 / no plan {plan_id!r}; list plans with `gridmap plan list`")
    params = params_of(row)
    meta = {
        "parent_id": _none(row.get("parent_id")),
        "status": row.get("status"),
        "params": params,
        "created_at": row.get("created_at"),
        "note": _none(row.get("note")),
        "locked": list(params.get("locked") or []),
    }
    if params.get("kind") == "version":
        parent = load_plan(store, row["parent_id"], cache=cache)
        moved = parent.reassign(
            [_move_pair(m) for m in (row.get("moves") or [])], new_grids=params.get("new_grids") or {}
        )
        dropped = set(params.get("dropped") or [])
        gc = {c: com for c, com in moved.grid_community.items() if c not in dropped}
        plan = GridPlan(
            moved.assignment,
            gc,
            parent=parent,
            moves=moved.moves,
            id=plan_id,
            meta={**meta, "draft": params.get("draft")},
        )
    else:
        a = store.read("plan_assignments", where={"plan_id": plan_id}, columns=["building_id", "grid_code"])
        g = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "community_id"])
        grid_community = dict(zip(g["code"], g["community_id"]))
        for code in set(a["grid_code"]) - set(grid_community):  # grids without a polygon row
            grid_community[code] = community_of(code)
        moves = tuple(Move(*m) for m in (row.get("moves") or []) if not isinstance(m, Mapping))
        plan = GridPlan(dict(zip(a["building_id"], a["grid_code"])), grid_community, moves=moves, id=plan_id, meta=meta)
    return cache.remember(plan) if cache is not None else plan


def current_version(store: Store, plan_id: str) -> str:
    """The plan a reader shows for ``plan_id``: an open draft's head (the draft as it stands after its
    changes), else ``plan_id`` itself. Reports, exports, checks and diffs read this; :func:`load_plan` reads
    exactly the row it is given (a draft's root is also the first version of its chain)."""
    row = store.get("plans", plan_id)
    if row is None:
        raise PlanNotFound(f"没有这个方案 / no plan {plan_id!r}; list plans with `gridmap plan list`")
    params = params_of(row)
    if row.get("status") == "draft" and params.get("draft") == plan_id and not params.get("closed"):
        return str(params.get("head") or plan_id)
    return plan_id


def _move_pair(m: Any) -> tuple[str, str]:
    """(building, to_grid) of a stored move: ``[b, from, to]`` or ``{"building_id", "to_grid"}``."""
    if isinstance(m, Mapping):
        return m["building_id"], m["to_grid"]
    return m[0], m[2]


def _none(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and v != v) else v


def load_grids(store: Store, plan_id: str) -> gpd.GeoDataFrame:
    """The plan's grid polygons (EPSG:4326): code, community_id, households, buildings, geometry."""
    return store.read("plan_grids", where={"plan_id": plan_id})


def save_cells(store: Store, cells: gpd.GeoDataFrame, community_ids: Iterable[str]) -> None:
    """Replace the tessellation cells of ``community_ids`` with ``cells`` (id, community_id, geometry)."""
    ids = list(community_ids)
    store.delete("cells", where={"community_id": ids})
    g = cells.to_crs("EPSG:4326")
    store.write(
        "cells", gpd.GeoDataFrame(g[["id", "community_id"]], geometry=g.geometry.values, crs="EPSG:4326"), mode="insert"
    )
