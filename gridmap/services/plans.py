"""Plan use cases shared by the CLI and the planner UI: drafts, moves, checks, rebalance, diff, publish,
rollback, export and import.

A draft is a chain of plan rows (status ``draft``): its root row starts from a base plan, and every change
(move, merge, split, lock, rebalance, import) adds a row whose ``moves`` column holds the building moves
from its parent and whose ``params`` hold ``kind="version"``, the draft's root id, the locked grids and
any grids added or dropped. Only published (or imported/generated) plans carry full ``plan_assignments``
rows, so a move writes one small row. Undo/redo move the draft's head along that chain (head and redo
stack live in the root row's ``params``). Publishing writes the head's assignments and grid polygons
(union of the buildings' tessellation cells), supersedes the previous published plan and records new and
retired grid codes. Every change is written to the audit log.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.errors
import shapely.geometry

from gridmap import config
from gridmap.domain.diff import PlanDiff, diff_plans
from gridmap.errors import Conflict, InvalidInput, NotFoundError
from gridmap.domain.plan import GridPlan, PlanError
from gridmap.domain.rebalance import (RebalanceError, RebalanceResult, _Community, check_grids, fresh_code,
                               members_of, rebalance, together_groups)
from gridmap.store.base import Store

__all__ = ["PlanWorld", "load_world", "communities", "draft_view", "published_plan_id", "load_plan", "start_draft", "draft_info",
           "move_buildings", "merge_grids", "split_grid", "lock_grids", "undo", "redo",
           "rebalance_draft", "check_plan", "publish", "rollback", "diff", "list_plans",
           "grid_polygons", "export_plan_file", "import_plan_file", "audit"]

#: complaint states that count as closed when the complaints module is not there to say
_CLOSED_STATES = frozenset({"closed", "resolved", "rejected", "cancelled", "archived", "duplicate"})


# ---------------------------------------------------------------------------------------------
# the world the plans are about (loaded once, cached by the caller)

@dataclass
class PlanWorld:
    """Everything a plan is checked against: households, adjacency, cells, bounds, stewards.

    Built by :func:`load_world`; the web layer keeps one per app and reloads it when the data changes.
    Plans loaded through it are cached by id (plan rows never change their assignment).
    """

    households: dict[str, int]
    community_of: dict[str, str]
    adjacency: dict[str, set[str]]
    cells: dict[str, Any]
    bounds: dict[str, tuple[int, int]]
    default_bounds: tuple[int, int]
    together: list[frozenset[str]]
    grid_leaders: set[str]
    issued_codes: set[str]
    stamp: tuple = ()
    plans: "OrderedDict[str, GridPlan]" = field(default_factory=OrderedDict)

    def cached(self, plan_id: str) -> GridPlan | None:
        plan = self.plans.get(plan_id)
        if plan is not None:
            self.plans.move_to_end(plan_id)
        return plan

    def remember(self, plan: GridPlan) -> GridPlan:
        self.plans[plan.id] = plan
        while len(self.plans) > 64:
            self.plans.popitem(last=False)
        return plan


def world_stamp(store: Store) -> tuple:
    """A cheap fingerprint of the data a world is built from (to know when to reload it)."""
    return tuple(store.count(layer) for layer in ("buildings", "cells", "stewards", "communities",
                                                  "grid_codes"))


def load_world(store: Store, *, settings: Mapping[str, Any] | None = None) -> PlanWorld:
    """Read buildings, cells, communities, stewards and issued codes into a :class:`PlanWorld`."""
    settings = settings or config.load()
    b = store.read("buildings", columns=["id", "community_id", "households"])
    households = dict(zip(b["id"], pd.to_numeric(b["households"]).fillna(0).astype(int)))
    community_of = dict(zip(b["id"], b["community_id"]))
    cells_frame = store.read("cells", columns=["id", "community_id", "geometry"])
    cells = dict(zip(cells_frame["id"], cells_frame.geometry.values))
    adjacency = _adjacency(cells_frame)
    com = store.read("communities", columns=["id", "min_households", "max_households"])
    default = (int(settings["MIN_HOUSEHOLDS"]), int(settings["MAX_HOUSEHOLDS"]))
    bounds = {}
    for row in com.to_dict("records"):
        lo, hi = row.get("min_households"), row.get("max_households")
        bounds[row["id"]] = (default[0] if pd.isna(lo) else int(lo), default[1] if pd.isna(hi) else int(hi))
    st = store.read("stewards", columns=["id", "role", "building_id", "serves"])
    rows = st.to_dict("records")
    together = together_groups(rows, buildings=households)
    leaders = {r["serves"] for r in rows if r["role"] == "grid_leader" and isinstance(r["serves"], str)}
    issued = set(store.read("grid_codes", columns=["code"])["code"])
    return PlanWorld(households, community_of, adjacency, cells, bounds, default, together, leaders,
                     issued, stamp=world_stamp(store))


def _adjacency(cells: gpd.GeoDataFrame) -> dict[str, set[str]]:
    """Building id → ids of buildings whose cells share a border (same community)."""
    out: dict[str, set[str]] = {b: set() for b in cells["id"]}
    if len(cells) < 2:
        return out
    try:  # the grids engineer's segment-matching adjacency (fast, rook)
        from gridmap.domain.tessellation import adjacency as tess_adjacency
        from gridmap.domain.geometry import to_metric

        pairs = tess_adjacency(to_metric(gpd.GeoDataFrame(cells, geometry="geometry", crs=4326)))
        ids = cells["id"].to_numpy()
        for i, j in zip(pairs["i"], pairs["j"]):
            out[ids[i]].add(ids[j])
            out[ids[j]].add(ids[i])
        return out
    except ImportError:
        pass
    geoms = cells.geometry.values
    ids = cells["id"].to_numpy()
    com = cells["community_id"].to_numpy()
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    sel = (i < j) & (com[i] == com[j])
    i, j = i[sel], j[sel]
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j])))
    for a, c in zip(i[shared > 0], j[shared > 0]):
        out[ids[a]].add(ids[c])
        out[ids[c]].add(ids[a])
    return out


# ---------------------------------------------------------------------------------------------
# plans in the store

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
    rows = store.read("plans", where={"status": "published"}, columns=["id", "published_at"])
    if not len(rows):
        return None
    return str(rows.sort_values("published_at").iloc[-1]["id"])


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
            grid_community[code] = code[:12]
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
        out.append({"id": r["id"], "status": r["status"], "parent_id": _none(r["parent_id"]),
                    "created_at": _iso(r["created_at"]), "created_by": _none(r["created_by"]),
                    "effective_date": _iso(r["effective_date"]), "published_at": _iso(r["published_at"]),
                    "head": p.get("head"), "note": _none(r["note"])})
    return sorted(out, key=lambda r: (r["created_at"] or "", r["id"]), reverse=True)


def _none(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT else v


def _iso(v: Any) -> str | None:
    v = _none(v)
    if v is None or pd.isna(v):
        return None
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _new_plan_id(store: Store) -> str:
    from gridmap.store.plans import new_plan_id  # the grids area's id scheme: one sequence for every plan

    return new_plan_id(store)


def audit(store: Store, actor: str | None, action: str, target: str | None, detail: Any = None) -> None:
    """One audit row (who, when, what). Uses ``gridmap.store.audit.record`` when the security module has it."""
    try:
        from gridmap.store.audit import record  # type: ignore[attr-defined]
    except ImportError:
        record = None
    if record is not None:
        record(store, actor=actor, action=action, target=target, detail=detail)
        return
    store.write("audit_log", pd.DataFrame([{
        "id": f"audit-{store.next_id('audit_log')}", "at": _now(), "actor": actor, "action": action,
        "target": target, "detail": detail}]))


# ---------------------------------------------------------------------------------------------
# drafts

def start_draft(store: Store, *, actor: str | None, base: str | None = None,
                note: str | None = None) -> dict[str, Any]:
    """Start a draft from plan ``base`` (default: the published plan). Returns :func:`draft_info`."""
    base = base or published_plan_id(store)
    if base is None:
        raise Conflict("还没有已发布的方案 / there is no published plan to start a draft from")
    base_row = _plan_row(store, base)
    with store.transaction():
        pid = _new_plan_id(store)
        store.write("plans", pd.DataFrame([{
            "id": pid, "parent_id": base, "status": "draft", "created_at": _now(), "created_by": actor,
            "params": {"kind": "version", "draft": pid, "head": pid, "redo": [], "base": base,
                       "locked": _params(base_row).get("locked") or [], "action": "start"},
            "moves": [], "note": note}]))
        audit(store, actor, "plan.draft.start", pid, {"base": base})
    return draft_info(store, pid)


def _draft_root(store: Store, draft_id: str) -> dict[str, Any]:
    row = _plan_row(store, draft_id)
    params = _params(row)
    if params.get("draft") != draft_id or row["status"] != "draft" or params.get("closed"):
        raise Conflict(f"方案 {draft_id} 不是草稿 / plan {draft_id!r} is not an open draft")
    return row


def draft_info(store: Store, draft_id: str) -> dict[str, Any]:
    root = _draft_root(store, draft_id)
    p = _params(root)
    head = p["head"]
    return {"draft": draft_id, "head": head, "base": root["parent_id"],
            "can_undo": head != draft_id, "can_redo": bool(p.get("redo")),
            "locked": _params(_plan_row(store, head)).get("locked") or []}


def _set_head(store: Store, draft_id: str, head: str, redo: list[str]) -> None:
    root = _draft_root(store, draft_id)
    p = _params(root)
    p.update(head=head, redo=redo)
    store.write("plans", pd.DataFrame([{"id": draft_id, "params": p}]))


def _head(store: Store, draft_id: str, world: PlanWorld | None) -> tuple[GridPlan, dict]:
    """The draft's head plan and its root row (``params`` decoded)."""
    root = _draft_root(store, draft_id)
    root = {**root, "params": _params(root)}
    return load_plan(store, root["params"]["head"], world=world), root


def _locked(plan: GridPlan) -> list[str]:
    return list(plan.meta.get("locked") or [])


def _commit(store: Store, draft_id: str, root: dict, head: GridPlan, new: GridPlan, *,
            actor: str | None, action: str, locked: list[str],
            new_grids: Mapping[str, str] | None = None, dropped: Iterable[str] = (),
            detail: Any = None, world: PlanWorld | None = None) -> GridPlan:
    """Write ``new`` (a child of ``head``) as the draft's new head; clears the redo stack.

    One transaction: the version row, the root's head pointer and the audit row.
    """
    # the grids area's format (gridmap.store.plans): [building_id, from_grid, to_grid]
    moves = [[m.building_id, m.from_grid, m.to_grid] for m in new.moves]
    locked = sorted(locked)
    with store.transaction():
        pid = _new_plan_id(store)
        version = {"id": pid, "parent_id": head.id, "status": "draft", "created_at": _now(),
                   "created_by": actor, "moves": moves, "effective_date": None, "published_at": None,
                   "note": None,
                   "params": {"kind": "version", "draft": draft_id, "locked": locked,
                              "new_grids": dict(new_grids or {}), "dropped": sorted(dropped),
                              "action": action}}
        # the new version and the root's head pointer in one write (the root row written whole)
        moved_root = {**root, "params": {**root["params"], "head": pid, "redo": []}}
        store.write("plans", pd.DataFrame([moved_root, version])[list(version)])
        audit(store, actor, f"plan.draft.{action}", pid,
              {"draft": draft_id, "moves": len(moves), **(detail or {})})
    plan = GridPlan(new.assignment, new.grid_community, parent=head, moves=new.moves, id=pid,
                    meta={"locked": locked, "draft": draft_id})
    return world.remember(plan) if world is not None else plan


def _info_after_change(draft_id: str, root: dict, plan: GridPlan) -> dict[str, Any]:
    return {"draft": draft_id, "head": plan.id, "base": root.get("parent_id"), "can_undo": True,
            "can_redo": False, "locked": _locked(plan)}


def _check_locked(head: GridPlan, moves: Iterable[tuple[str, str]], locked: Iterable[str]) -> None:
    locked = set(locked)
    for b, to in moves:
        frm = head.assignment.get(b)
        if frm in locked or to in locked:
            raise Conflict(f"网格 {frm if frm in locked else to} 已锁定 / grid "
                           f"{frm if frm in locked else to} is locked")


def move_buildings(store: Store, draft_id: str, building_ids: Iterable[str], to_grid: str, *,
                   actor: str | None, world: PlanWorld) -> dict[str, Any]:
    """Move buildings (ids from a click or a lasso) to ``to_grid``; returns the touched grids' checks."""
    head, root = _head(store, draft_id, world)
    ids = [str(b) for b in building_ids]
    if not ids:
        raise InvalidInput("没有选中楼栋 / no buildings selected")
    unknown = [b for b in ids if b not in head.assignment]
    if unknown:
        raise InvalidInput(f"方案中没有这些楼栋 / buildings not in the plan: {unknown[:5]}")
    if to_grid not in head.grid_community:
        raise InvalidInput(f"没有网格 {to_grid} / no grid {to_grid!r} in this plan")
    # a building leader's home and served building go together
    ids = _with_partners(ids, world)
    pairs = [(b, to_grid) for b in ids]
    locked = _locked(head)
    _check_locked(head, pairs, locked)
    try:
        new = head.reassign(pairs)
    except PlanError as err:
        raise InvalidInput(str(err)) from None
    touched = {m.from_grid for m in new.moves} | {to_grid}
    plan = _commit(store, draft_id, root, head, new, actor=actor, action="move", locked=locked,
                   detail={"to_grid": to_grid, "buildings": ids[:50]}, world=world)
    return change_result(store, draft_id, plan, touched, world,
                         info=_info_after_change(draft_id, root, plan))


def _with_partners(ids: list[str], world: PlanWorld) -> list[str]:
    out = list(dict.fromkeys(ids))
    chosen = set(out)
    for group in world.together:
        if group & chosen:
            for b in sorted(group - chosen):
                out.append(b)
                chosen.add(b)
    return out


def change_result(store: Store, draft_id: str, plan: GridPlan, touched: Iterable[str],
                  world: PlanWorld, *, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the map and side panel need after a change: the touched grids' checks and polygons."""
    touched = sorted(c for c in set(touched) if c in plan.grid_community)
    t0 = time.perf_counter()
    checks = check_plan(plan, world, codes=touched)
    ms = (time.perf_counter() - t0) * 1000
    return {"draft": info or draft_info(store, draft_id), "plan": plan.id,
            "moves": [m.__dict__ for m in plan.moves], "grids": checks, "check_ms": round(ms, 2),
            "polygons": _feature_collection(grid_polygons(plan, world, codes=touched))}


def _feature_collection(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """GeoJSON of a small frame (faster than ``to_json`` for the two grids of a move)."""
    props = [c for c in frame.columns if c != "geometry"]
    feats = []
    for row, geom in zip(frame[props].to_dict("records"), frame.geometry.values):
        feats.append({"type": "Feature", "properties": {k: _plain(v) for k, v in row.items()},
                      "geometry": shapely.geometry.mapping(geom) if geom is not None else None})
    return {"type": "FeatureCollection", "features": feats}


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def check_plan(plan: GridPlan, world: PlanWorld, *, codes: Iterable[str] | None = None
               ) -> dict[str, dict[str, Any]]:
    """Bounds, contiguity, exact tiling and steward coverage for ``codes`` (default: every grid).

    Tiling: every building of a grid has a tessellation cell, so the grid polygon (the union of its
    buildings' cells) and its neighbours' polygons tile the community without gap or overlap.
    """
    checks = check_grids(plan, households=world.households, adjacency=world.adjacency,
                         bounds=world.bounds, default_bounds=world.default_bounds, codes=codes,
                         covered=world.grid_leaders)
    members = members_of(plan, checks) if len(checks) <= 50 else plan.grids
    out = {}
    for code, c in checks.items():
        no_cell = sorted(b for b in members[code] if b not in world.cells)
        problems = list(c.problems) + (["tiling_gap"] if no_cell else [])
        out[code] = {"code": code, "community_id": c.community, "households": c.households,
                     "buildings": c.buildings, "min": c.min, "max": c.max, "parts": c.parts,
                     "within_bounds": c.within_bounds, "buildings_without_cell": no_cell[:20],
                     "problems": problems, "ok": not problems}
    return out


def grid_polygons(plan: GridPlan, world: PlanWorld, *, codes: Iterable[str] | None = None,
                  community: str | None = None) -> gpd.GeoDataFrame:
    """Grid polygons = union of the grid's buildings' cells (EPSG:4326), with households."""
    codes = plan.codes if codes is None else sorted(set(codes))
    if community is not None:
        codes = [c for c in codes if plan.grid_community[c] == community]
    members = plan.grids if len(codes) > 50 else members_of(plan, codes)
    geoms, hh = [], []
    for code in codes:
        parts = [world.cells[b] for b in members[code] if b in world.cells]
        geoms.append(union_cells(parts) if parts else None)
        hh.append(sum(world.households.get(b, 0) for b in members[code]))
    return gpd.GeoDataFrame({"code": codes, "community_id": [plan.grid_community[c] for c in codes],
                             "households": hh, "buildings": [len(members[c]) for c in codes]},
                            geometry=geoms, crs=4326)


def union_cells(parts: list[Any]) -> Any:
    """Union of tessellation cells; cells that GEOS cannot union as they are (slivers, rings that touch
    themselves after reprojection) are repaired on a 1e-9° grid first."""
    try:  # cells of a tessellation share their borders vertex for vertex: a coverage union is exact
        out = shapely.coverage_union_all(parts)
        if out.is_valid and not out.is_empty:
            return out
    except shapely.errors.GEOSException:
        pass
    try:
        return shapely.union_all(parts)
    except shapely.errors.GEOSException:
        pass
    fixed = shapely.make_valid(np.asarray(parts, dtype=object))
    for repair in (lambda g: g, lambda g: shapely.buffer(g, 0),
                   lambda g: shapely.set_precision(shapely.buffer(g, 0), 1e-9)):
        try:
            return shapely.union_all(repair(fixed))
        except shapely.errors.GEOSException:
            continue
    raise InvalidInput("网格多边形无法合并 / the grid's tessellation cells cannot be unioned; "
                       "regenerate the cells (gridmap grids generate)")


def merge_grids(store: Store, draft_id: str, codes: list[str], *, actor: str | None,
                world: PlanWorld) -> dict[str, Any]:
    """Merge grids into the first code; the others' codes are retired (never reused)."""
    head, root = _head(store, draft_id, world)
    if len(set(codes)) < 2:
        raise InvalidInput("至少选择两个网格 / choose at least two grids to merge")
    missing = [c for c in codes if c not in head.grid_community]
    if missing:
        raise InvalidInput(f"没有网格 / no grids {missing}")
    keep, others = codes[0], [c for c in dict.fromkeys(codes[1:]) if c != codes[0]]
    locked = _locked(head)
    pairs = [(b, keep) for c in others for b in sorted(head.grids[c])]
    _check_locked(head, pairs, locked + ([keep] if keep in locked else []))
    try:
        moved = head.reassign(pairs)
        dropped = moved.without_grids(others)
    except PlanError as err:
        raise InvalidInput(str(err)) from None
    new = GridPlan(dropped.assignment, dropped.grid_community, parent=head, moves=moved.moves)
    plan = _commit(store, draft_id, root, head, new, actor=actor, action="merge", locked=locked,
                   dropped=others, detail={"into": keep, "merged": others}, world=world)
    return change_result(store, draft_id, plan, [keep], world)


def split_grid(store: Store, draft_id: str, code: str, building_ids: Iterable[str] | None = None, *,
               actor: str | None, world: PlanWorld) -> dict[str, Any]:
    """Split grid ``code``: the given buildings (or, without ids, about half of it, contiguous) go to a
    new grid with a fresh code never issued before."""
    head, root = _head(store, draft_id, world)
    if code not in head.grid_community:
        raise InvalidInput(f"没有网格 {code} / no grid {code!r}")
    locked = _locked(head)
    if code in locked:
        raise Conflict(f"网格 {code} 已锁定 / grid {code} is locked")
    com = head.grid_community[code]
    issued = world.issued_codes | _codes_in_chain(head)
    new_code = fresh_code(com, issued)
    ids = list(building_ids or [])
    if ids:
        bad = [b for b in ids if head.assignment.get(b) != code]
        if bad:
            raise InvalidInput(f"这些楼栋不在网格 {code} / buildings not in grid {code}: {bad[:5]}")
        if len(set(ids)) >= len(head.grids[code]):
            raise InvalidInput("拆分后原网格不能为空 / a split must leave buildings in the grid")
    else:
        state = _Community(com, head, [code], world.households, world.adjacency, [], 0, 10**9, set())
        state.split(code, new_code)
        ids = sorted(b for u in state.units[new_code] for b in state.members[u])
        if not ids:
            raise InvalidInput(f"网格 {code} 无法拆分 / grid {code} cannot be split")
    new = head.reassign([(b, new_code) for b in ids], new_grids={new_code: com})
    plan = _commit(store, draft_id, root, head, new, actor=actor, action="split", locked=locked,
                   new_grids={new_code: com}, detail={"grid": code, "new_grid": new_code},
                   world=world)
    return change_result(store, draft_id, plan, [code, new_code], world)


def _codes_in_chain(plan: GridPlan) -> set[str]:
    out: set[str] = set()
    for p in plan.history():
        out |= set(p.grid_community)
    return out


def lock_grids(store: Store, draft_id: str, codes: Iterable[str], *, locked: bool = True,
               actor: str | None, world: PlanWorld) -> dict[str, Any]:
    """Lock (or unlock) grids of the draft: rebalance and moves leave locked grids alone."""
    head, root = _head(store, draft_id, world)
    codes = list(codes)
    missing = [c for c in codes if c not in head.grid_community]
    if missing:
        raise InvalidInput(f"没有网格 / no grids {missing}")
    current = set(_locked(head))
    current = current | set(codes) if locked else current - set(codes)
    new = GridPlan(head.assignment, head.grid_community, parent=head)
    plan = _commit(store, draft_id, root, head, new, actor=actor, action="lock" if locked else "unlock",
                   locked=sorted(current), detail={"grids": codes}, world=world)
    return change_result(store, draft_id, plan, codes, world)


def undo(store: Store, draft_id: str, *, actor: str | None, world: PlanWorld) -> dict[str, Any]:
    root = _draft_root(store, draft_id)
    p = _params(root)
    head = p["head"]
    if head == draft_id:
        raise Conflict("没有可撤销的操作 / nothing to undo")
    row = _plan_row(store, head)
    parent = row["parent_id"]
    plan = load_plan(store, head, world=world)
    with store.transaction():
        _set_head(store, draft_id, parent, [head, *p.get("redo", [])])
        audit(store, actor, "plan.draft.undo", draft_id, {"from": head, "to": parent})
    touched = {m.from_grid for m in plan.moves} | {m.to_grid for m in plan.moves}
    return change_result(store, draft_id, load_plan(store, parent, world=world), touched, world)


def redo(store: Store, draft_id: str, *, actor: str | None, world: PlanWorld) -> dict[str, Any]:
    root = _draft_root(store, draft_id)
    p = _params(root)
    stack = list(p.get("redo") or [])
    if not stack:
        raise Conflict("没有可重做的操作 / nothing to redo")
    nxt = stack.pop(0)
    with store.transaction():
        _set_head(store, draft_id, nxt, stack)
        audit(store, actor, "plan.draft.redo", draft_id, {"to": nxt})
    plan = load_plan(store, nxt, world=world)
    touched = {m.from_grid for m in plan.moves} | {m.to_grid for m in plan.moves}
    return change_result(store, draft_id, plan, touched, world)


def rebalance_draft(store: Store, draft_id: str, *, actor: str | None, world: PlanWorld,
                    allow_new_grids: bool = True) -> dict[str, Any]:
    """Run the minimal-change rebalance on the draft's head; the result becomes the new head."""
    head, root = _head(store, draft_id, world)
    locked = _locked(head)
    result = run_rebalance(head, world, locked=locked, allow_new_grids=allow_new_grids)
    plan = _commit(store, draft_id, root, head, result.plan, actor=actor, action="rebalance", locked=locked,
                   new_grids=result.new_grids,
                   detail={"households_moved": result.households_moved,
                           "infeasible": len(result.infeasible)}, world=world)
    touched = {m.from_grid for m in result.moves} | {m.to_grid for m in result.moves}
    out = change_result(store, draft_id, plan, touched, world)
    out["rebalance"] = result.as_dict()
    return out


def run_rebalance(plan: GridPlan, world: PlanWorld, *, locked: Iterable[str] = (),
                  allow_new_grids: bool = True) -> RebalanceResult:
    try:
        return rebalance(plan, households=world.households, adjacency=world.adjacency,
                         bounds=world.bounds, default_bounds=world.default_bounds, locked=locked,
                         together=world.together, issued_codes=world.issued_codes | _codes_in_chain(plan),
                         allow_new_grids=allow_new_grids)
    except (RebalanceError, PlanError) as err:
        raise InvalidInput(str(err)) from None


# ---------------------------------------------------------------------------------------------
# publish, rollback

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
    eff = _date(effective_date)
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


def _date(value: dt.date | str | None) -> dt.date:
    if value is None or value == "":
        return dt.date.today()
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
    eff = _date(effective_date)
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


# ---------------------------------------------------------------------------------------------
# diff, export, import

def _open_complaints(store: Store) -> list[dict[str, Any]]:
    c = store.read("complaints", columns=["id", "building_id", "state"])
    try:
        from gridmap.domain.complaints import is_open  # type: ignore[attr-defined]
        mask = [bool(is_open(s)) for s in c["state"]]
    except ImportError:
        mask = [str(s) not in _CLOSED_STATES for s in c["state"]]
    keep = pd.Series(mask, index=c.index, dtype=bool)
    return c.loc[keep, ["id", "building_id"]].to_dict("records")


def diff(store: Store, old_id: str, new_id: str, *, world: PlanWorld) -> PlanDiff:
    """Diff two stored plans with today's households, stewards and open complaints."""
    old = load_plan(store, old_id, world=world)
    new = load_plan(store, new_id, world=world)
    st = store.read("stewards", columns=["id", "building_id", "role"]).to_dict("records")
    return diff_plans(old, new, households=world.households, stewards=st,
                      complaints=_open_complaints(store))


def export_plan_file(store: Store, plan_id: str, path: str, *, format: str | None = None,
                     world: PlanWorld) -> str:
    from gridmap.io.planfiles import export_plan

    plan = load_plan(store, plan_id, world=world)
    export_plan(plan, path, format=format, grids=grid_polygons(plan, world),
                households=world.households)
    return str(path)


def import_plan_file(store: Store, path: str, *, format: str | None = None, actor: str | None,
                     world: PlanWorld) -> dict[str, Any]:
    """Import a plan file as a new draft (from the published plan, moved to the file's assignment)."""
    from gridmap.io.planfiles import PlanFileError, import_plan

    try:
        plan = import_plan(path, format=format)
    except PlanFileError as err:
        raise InvalidInput(str(err)) from None
    unknown = sorted(set(plan.assignment) - set(world.households))
    if unknown:
        raise InvalidInput(f"{path}: {len(unknown)} buildings are not in the store, e.g. {unknown[:5]}")
    info = start_draft(store, actor=actor, note=f"imported from {path}")
    draft = info["draft"]
    head, root = _head(store, draft, world)
    missing = sorted(set(head.assignment) - set(plan.assignment))
    if missing:
        raise InvalidInput(f"{path}: {len(missing)} buildings of the published plan are missing, "
                           f"e.g. {missing[:5]}")
    new_grids = {c: com for c, com in plan.grid_community.items() if c not in head.grid_community}
    try:
        moved = head.reassign(dict(plan.assignment), new_grids=new_grids)
    except PlanError as err:
        raise InvalidInput(f"{path}: {err}") from None
    dropped = [c for c in moved.grid_community if not moved.grids[c]]
    new = moved.without_grids(dropped) if dropped else moved
    new = GridPlan(new.assignment, new.grid_community, parent=head, moves=moved.moves)
    plan_v = _commit(store, draft, root, head, new, actor=actor, action="import", locked=[],
                     new_grids=new_grids, dropped=dropped, detail={"file": str(path)}, world=world)
    return {**draft_info(store, draft), "plan": plan_v.id, "moves": len(plan_v.moves)}


# ---------------------------------------------------------------------------------------------
# what the planner map shows

def communities(store: Store) -> list[dict[str, str]]:
    c = store.read("communities", columns=["id", "name"])
    return [{"id": r["id"], "name": r["name"]} for r in c.to_dict("records")]


def draft_view(store: Store, draft_id: str, *, world: PlanWorld,
               community: str | None = None) -> dict[str, Any]:
    """The draft's head for one community: buildings (with grid), grid polygons and every grid's checks."""
    info = draft_info(store, draft_id)
    plan = load_plan(store, info["head"], world=world)
    coms = sorted(set(plan.grid_community.values()))
    if community is None or community not in coms:
        community = coms[0] if coms else None
    codes = plan.grids_in(community) if community else []
    b = store.read("buildings", where={"community_id": community},
                   columns=["id", "name", "households", "geometry"]) if community else None
    buildings: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if b is not None and len(b):
        pts = b.geometry.representative_point()
        b = b.assign(grid=[plan.assignment.get(i) for i in b["id"]], cx=pts.x.round(7),
                     cy=pts.y.round(7), households=b["households"].fillna(0).astype(int))
        buildings = json.loads(b.to_json(drop_id=True))
    return {"draft": info, "plan": plan.id, "base": info["base"], "community": community,
            "grids": check_plan(plan, world, codes=codes), "buildings": buildings,
            "polygons": json.loads(grid_polygons(plan, world, codes=codes).to_json())}
