"""Drafts: start one, move buildings, merge, split and lock grids, undo and redo, and what the planner map
shows of a draft.

Every change adds a version row (see :mod:`.stored`) and moves the draft's head to it; undo/redo move the
head along that chain (head and redo stack live in the root row's ``params``). Every change is written to
the audit log in the same transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from gridmap.domain.codes import short_code
from gridmap.domain.colouring import colour_grids, grid_adjacency, touching
from gridmap.domain.plan import GridPlan, PlanError
from gridmap.domain.rebalance import fresh_code, plan_partners, split_off
from gridmap.errors import Conflict, InvalidInput
from gridmap.services.plans.checks import check_plan, grid_features, grid_polygons
from gridmap.services.plans.stored import _new_plan_id, _now, _params, _plan_row, audit, load_plan, published_plan_id
from gridmap.services.plans.world import PlanWorld
from gridmap.store.base import Store


def start_draft(store: Store, *, actor: str | None, base: str | None = None, note: str | None = None) -> dict[str, Any]:
    """Start a draft from plan ``base`` (default: the published plan). Returns :func:`draft_info`."""
    base = base or published_plan_id(store)
    if base is None:
        raise Conflict("还没有已发布的方案 / there is no published plan to start a draft from")
    base_row = _plan_row(store, base)
    with store.transaction():
        pid = _new_plan_id(store)
        store.write(
            "plans",
            pd.DataFrame(
                [
                    {
                        "id": pid,
                        "parent_id": base,
                        "status": "draft",
                        "created_at": _now(),
                        "created_by": actor,
                        "params": {
                            "kind": "version",
                            "draft": pid,
                            "head": pid,
                            "redo": [],
                            "base": base,
                            "locked": _params(base_row).get("locked") or [],
                            "action": "start",
                        },
                        "moves": [],
                        "note": note,
                    }
                ]
            ),
        )
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
    published = published_plan_id(store)
    return {
        "draft": draft_id,
        "head": head,
        "base": root["parent_id"],
        "published": published,
        # started from a plan no longer in force: publishing it undoes what was published since
        "stale": published is not None and root["parent_id"] != published,
        "can_undo": head != draft_id,
        "can_redo": bool(p.get("redo")),
        "locked": _params(_plan_row(store, head)).get("locked") or [],
    }


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


def _commit(
    store: Store,
    draft_id: str,
    root: dict,
    head: GridPlan,
    new: GridPlan,
    *,
    actor: str | None,
    action: str,
    locked: list[str],
    new_grids: Mapping[str, str] | None = None,
    dropped: Iterable[str] = (),
    detail: Any = None,
    world: PlanWorld | None = None,
) -> GridPlan:
    """Write ``new`` (a child of ``head``) as the draft's new head; clears the redo stack.

    One transaction: the version row, the root's head pointer and the audit row.
    """
    # the grids area's format (gridmap.store.plans): [building_id, from_grid, to_grid]
    moves = [[m.building_id, m.from_grid, m.to_grid] for m in new.moves]
    locked = sorted(locked)
    with store.transaction():
        pid = _new_plan_id(store)
        version = {
            "id": pid,
            "parent_id": head.id,
            "status": "draft",
            "created_at": _now(),
            "created_by": actor,
            "moves": moves,
            "effective_date": None,
            "published_at": None,
            "note": None,
            "params": {
                "kind": "version",
                "draft": draft_id,
                "locked": locked,
                "new_grids": dict(new_grids or {}),
                "dropped": sorted(dropped),
                "action": action,
            },
        }
        # what the change adds: the new version row, and the root's head pointer (its params, nothing else)
        store.write_rows("plans", [version], mode="insert")
        store.write("plans", pd.DataFrame([{"id": draft_id, "params": {**root["params"], "head": pid, "redo": []}}]))
        audit(store, actor, f"plan.draft.{action}", pid, {"draft": draft_id, "moves": len(moves), **(detail or {})})
    plan = GridPlan(
        new.assignment,
        new.grid_community,
        parent=head,
        moves=new.moves,
        id=pid,
        meta={"locked": locked, "draft": draft_id},
    )
    return world.remember(plan) if world is not None else plan


def _info_after_change(draft_id: str, root: dict, plan: GridPlan) -> dict[str, Any]:
    return {
        "draft": draft_id,
        "head": plan.id,
        "base": root.get("parent_id"),
        "can_undo": True,
        "can_redo": False,
        "locked": _locked(plan),
    }


def _check_locked(head: GridPlan, moves: Iterable[tuple[str, str]], locked: Iterable[str]) -> None:
    locked = set(locked)
    for b, to in moves:
        frm = head.assignment.get(b)
        if frm in locked or to in locked:
            g = frm if frm in locked else to
            raise Conflict(f"网格 {g} 已锁定（楼栋 {b}） / grid {g} is locked (building {b})")


def move_buildings(
    store: Store, draft_id: str, building_ids: Iterable[str], to_grid: str, *, actor: str | None, world: PlanWorld
) -> dict[str, Any]:
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
    # tied buildings move together: a building leader's home and served building, overlapping footprints
    ids = _with_partners(ids, head, world)
    pairs = [(b, to_grid) for b in ids]
    locked = _locked(head)
    _check_locked(head, pairs, locked)
    try:
        new = head.reassign(pairs)
    except PlanError as err:
        raise InvalidInput(str(err)) from None
    touched = {m.from_grid for m in new.moves} | {to_grid}
    plan = _commit(
        store,
        draft_id,
        root,
        head,
        new,
        actor=actor,
        action="move",
        locked=locked,
        detail={"to_grid": to_grid, "buildings": ids[:50]},
        world=world,
    )
    return change_result(store, draft_id, plan, touched, world, info=_info_after_change(draft_id, root, plan))


def _with_partners(ids: list[str], plan: GridPlan, world: PlanWorld) -> list[str]:
    """``ids`` and the buildings tied to them that ``plan`` can keep with them (:attr:`PlanWorld.together`: a
    building leader's home and served building, overlapping footprints; see
    :func:`gridmap.domain.rebalance.plan_partners`), each once, in that order."""
    out = list(dict.fromkeys(ids))
    chosen = set(out)
    for b in list(out):
        for p in plan_partners(plan, world.partners, b):
            if p not in chosen:
                out.append(p)
                chosen.add(p)
    return out


def change_result(
    store: Store,
    draft_id: str,
    plan: GridPlan,
    touched: Iterable[str],
    world: PlanWorld,
    *,
    info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the map and side panel need after a change: the touched grids' checks and polygons."""
    touched = sorted(c for c in set(touched) if c in plan.grid_community)
    t0 = time.perf_counter()
    checks = check_plan(plan, world, codes=touched)
    ms = (time.perf_counter() - t0) * 1000
    return {
        "draft": info or draft_info(store, draft_id),
        "plan": plan.id,
        "moves": [m.__dict__ for m in plan.moves],
        "grids": checks,
        "check_ms": round(ms, 2),
        "polygons": grid_features(plan, world, touched),
    }


def merge_grids(
    store: Store, draft_id: str, codes: list[str], *, actor: str | None, world: PlanWorld
) -> dict[str, Any]:
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
    plan = _commit(
        store,
        draft_id,
        root,
        head,
        new,
        actor=actor,
        action="merge",
        locked=locked,
        dropped=others,
        detail={"into": keep, "merged": others},
        world=world,
    )
    return change_result(store, draft_id, plan, [keep], world)


def split_grid(
    store: Store,
    draft_id: str,
    code: str,
    building_ids: Iterable[str] | None = None,
    *,
    actor: str | None,
    world: PlanWorld,
) -> dict[str, Any]:
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
        # tied buildings of the grid go with the chosen ones
        ids = [b for b in _with_partners(ids, head, world) if head.assignment.get(b) == code]
        if len(set(ids)) >= len(head.grids[code]):
            raise InvalidInput("拆分后原网格不能为空 / a split must leave buildings in the grid")
    else:
        ids = split_off(
            head, code, new_code, households=world.households, adjacency=world.adjacency, together=world.together
        )
        if not ids:
            raise InvalidInput(f"网格 {code} 无法拆分 / grid {code} cannot be split")
    new = head.reassign([(b, new_code) for b in ids], new_grids={new_code: com})
    plan = _commit(
        store,
        draft_id,
        root,
        head,
        new,
        actor=actor,
        action="split",
        locked=locked,
        new_grids={new_code: com},
        detail={"grid": code, "new_grid": new_code},
        world=world,
    )
    return change_result(store, draft_id, plan, [code, new_code], world)


def _codes_in_chain(plan: GridPlan) -> set[str]:
    out: set[str] = set()
    for p in plan.history():
        out |= set(p.grid_community)
    return out


def lock_grids(
    store: Store, draft_id: str, codes: Iterable[str], *, locked: bool = True, actor: str | None, world: PlanWorld
) -> dict[str, Any]:
    """Lock (or unlock) grids of the draft: rebalance and moves leave locked grids alone."""
    head, root = _head(store, draft_id, world)
    codes = list(codes)
    missing = [c for c in codes if c not in head.grid_community]
    if missing:
        raise InvalidInput(f"没有网格 / no grids {missing}")
    current = set(_locked(head))
    current = current | set(codes) if locked else current - set(codes)
    new = GridPlan(head.assignment, head.grid_community, parent=head)
    plan = _commit(
        store,
        draft_id,
        root,
        head,
        new,
        actor=actor,
        action="lock" if locked else "unlock",
        locked=sorted(current),
        detail={"grids": codes},
        world=world,
    )
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
    return {**change_result(store, draft_id, load_plan(store, parent, world=world), touched, world), "step": _step(row)}


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
    return {**change_result(store, draft_id, plan, touched, world), "step": _step(_plan_row(store, nxt))}


def _step(row: Mapping[str, Any]) -> dict[str, Any]:
    """What an undone or redone version did, for the status line: its action (``move``, ``merge``, ``split``,
    ``lock``, ``unlock``, ``rebalance``, ``import``) and how many buildings it moved."""
    params = row.get("params") or {}
    return {"action": params.get("action") or "", "buildings": len(row.get("moves") or [])}


# ---------------------------------------------------------------------------------------------
# what the planner map shows


def communities(store: Store) -> list[dict[str, str]]:
    c = store.read("communities", columns=["id", "name"])
    return [{"id": r["id"], "name": r["name"]} for r in c.to_dict("records")]


def draft_view(store: Store, draft_id: str, *, world: PlanWorld, community: str | None = None) -> dict[str, Any]:
    """The draft's head for one community: buildings (with grid), grid polygons and every grid's checks."""
    info = draft_info(store, draft_id)
    plan = load_plan(store, info["head"], world=world)
    coms = sorted(set(plan.grid_community.values()))
    if community is None or community not in coms:
        community = coms[0] if coms else None
    codes = plan.grids_in(community) if community else []
    b = (
        store.read("buildings", where={"community_id": community}, columns=["id", "name", "households", "geometry"])
        if community
        else None
    )
    buildings: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    if b is not None and len(b):
        pts = b.geometry.representative_point()
        b = b.assign(
            grid=[plan.assignment.get(i) for i in b["id"]],
            cx=pts.x.round(7),
            cy=pts.y.round(7),
            households=b["households"].fillna(0).astype(int),
        )
        buildings = json.loads(b.to_json(drop_id=True))
    polys = grid_polygons(plan, world, codes=codes)
    # neighbouring grids never share a colour; each grid labelled with its short code at a point inside it
    near = grid_adjacency(plan.assignment, world.adjacency, grids=codes)
    for code, ns in touching(dict(zip(polys["code"], polys.geometry))).items():
        near.setdefault(code, set()).update(ns)
    colours = colour_grids(near)
    polys["colour"] = [colours.get(c, 0) for c in polys["code"]]
    polys["short"] = [short_code(c) for c in polys["code"]]
    inside = polys.geometry.representative_point()
    polys["lx"], polys["ly"] = inside.x.round(7), inside.y.round(7)
    return {
        "draft": info,
        "plan": plan.id,
        "base": info["base"],
        "community": community,
        "grids": check_plan(plan, world, codes=codes),
        "colours": colours,
        "buildings": buildings,
        "polygons": json.loads(polys.to_json()),
    }
