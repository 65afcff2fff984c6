"""Use cases of grid generation: generate a plan for every (or one) community, report on a plan.

``generate`` reads the world from the store, tessellates, partitions, codes and stores a draft plan
(one transaction), and returns its id with the evaluation report. CLI and web call these.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import jobs
from gridmap.domain import codes as codes_mod
from gridmap.domain.geometry import metric_crs
from gridmap.domain.metrics import World
from gridmap.domain.partition import edge_kinds, partition_world
from gridmap.domain.plan import GridPlan
from gridmap.domain.tessellation import adjacency, dissolve_cells, tessellate
from gridmap.domain.values import json_value
from gridmap.errors import InvalidInput, NotFoundError
from gridmap.jobs import Progress
from gridmap.present import report as report_mod
from gridmap.services.plans import publishing
from gridmap.store import plans as plans_mod
from gridmap.store.base import Store


@dataclass
class GenerateResult:
    plan_id: str
    plan: GridPlan
    report: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def generate(
    store: Store,
    *,
    community: str | None = None,
    min_households: int = 300,
    max_households: int = 500,
    seed: int = 0,
    publish: bool = False,
    created_by: str | None = None,
    partitioner: Any = None,
    progress: Progress | None = None,
) -> GenerateResult:
    """Generate grids for every community (or only ``community``) and store them as a draft plan.

    Per-community bounds (``communities.min_households/max_households``) override the defaults.
    With ``community``, the other communities keep their grids from the current plan (published,
    else newest). ``publish=True`` publishes the new plan at once (the demo loader does this).
    ``progress(done, 5)`` is called after each step (read, cells, partition, codes, store; the report follows).

    Raises
    ------
    NotFoundError
        ``community`` is not in the store, or the store has no communities.
    InvalidInput
        Bounds that make no sense, or a community id that is not 12 digits.
    """
    if min_households < 1 or max_households < min_households:
        raise InvalidInput(f"household bounds must satisfy 1 <= min <= max, got [{min_households}, {max_households}]")
    with jobs.timed("generate"):
        return _generate(
            store, community, min_households, max_households, seed, publish, created_by, partitioner, progress
        )


def _generate(
    store: Store,
    community: str | None,
    min_households: int,
    max_households: int,
    seed: int,
    publish: bool,
    created_by: str | None,
    partitioner: Any,
    progress: Progress | None,
) -> GenerateResult:
    steps = 5
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    coms = store.read("communities")
    if community is not None:
        coms = coms[coms["id"] == community]
        if not len(coms):
            raise NotFoundError(f"no community {community!r}; see the communities layer")
    if not len(coms):
        raise NotFoundError("the store has no communities: import them first (gridmap import)")
    bad = [c for c in coms["id"] if not codes_mod.COMMUNITY_RE.match(str(c))]
    if bad:
        raise InvalidInput(f"community id {bad[0]!r} is not 12 digits (street id + 3 digits)")
    com_ids = coms["id"].tolist()
    blds = store.read("buildings", where={"community_id": com_ids})
    barriers = store.read("barriers")
    crs = metric_crs(coms)
    coms_m, blds_m = coms.to_crs(crs), blds.to_crs(crs).reset_index(drop=True)
    bars_m = barriers.to_crs(crs) if len(barriers) else None
    timings["read"] = time.perf_counter() - t0
    jobs.report(progress, 1, steps)

    bounds = _bounds(coms, min_households, max_households)
    if partitioner is not None:  # e.g. gridmap.distributed.grids: the same steps, one task per community
        t = time.perf_counter()
        cells, adj, parts = partitioner(
            coms_m, blds_m, bars_m, bounds=bounds, default_bounds=(min_households, max_households), seed=seed
        )
        timings["partition"] = time.perf_counter() - t
        jobs.report(progress, 3, steps)
    else:
        t = time.perf_counter()
        cells = tessellate(blds_m, coms_m)
        adj = adjacency(cells)
        adj["kind"] = edge_kinds(blds_m, cells, adj, bars_m)
        timings["tessellate"] = time.perf_counter() - t
        jobs.report(progress, 2, steps)

        t = time.perf_counter()
        parts = partition_world(
            blds_m,
            adj,
            adj["kind"].to_numpy(),
            bounds=bounds,
            default_bounds=(min_households, max_households),
            seed=seed,
        )
        timings["partition"] = time.perf_counter() - t
        jobs.report(progress, 3, steps)

    t = time.perf_counter()
    prev_id = plans_mod.latest_plan_id(store)
    prev = plans_mod.load_plan(store, prev_id) if prev_id else None
    issued = plans_mod.issued_codes(store, com_ids)
    grids, assignment, diagnostics = _grids_and_codes(coms_m, blds_m, cells, parts, prev, issued)
    grid_community = dict(zip(grids["code"], grids["community_id"]))
    if prev is not None and community is not None:
        assignment, grid_community, grids = _keep_others(store, prev, com_ids, assignment, grid_community, grids, crs)
    plan = GridPlan(assignment, grid_community, meta={"parent_id": prev_id})
    timings["codes"] = time.perf_counter() - t
    jobs.report(progress, 4, steps)

    t = time.perf_counter()
    params = {
        "min_households": min_households,
        "max_households": max_households,
        "seed": seed,
        "community": community,
        "bounds": {c: list(b) for c, b in bounds.items()},
        "diagnostics": diagnostics,
    }
    prints = _fingerprints(coms_m, blds_m)
    params["cells_fingerprint"] = prints
    stale = _stale_cells(store, prints, blds_m)
    with store.transaction():
        plan_id = plans_mod.save_plan(store, plan, grids, params=params, created_by=created_by, note="generated")
        if stale:
            plans_mod.save_cells(store, cells[cells["community_id"].isin(stale)], stale)
        if publish:  # the one way a plan comes into force (audit row, codes, supersede)
            publishing.publish(store, plan_id, actor=created_by)
    plan = plan.with_id(plan_id)
    timings["store"] = time.perf_counter() - t
    jobs.report(progress, 5, steps)

    t = time.perf_counter()
    world = World(
        coms_m,
        blds_m,
        grids.to_crs(crs) if grids.crs != crs else grids,
        adjacency=adj,
        stewards=store.read("stewards", where={"community_id": com_ids}),
        bounds=bounds,
        default_bounds=(min_households, max_households),
    )
    rep = report_mod.build_report(plan, world, diagnostics=diagnostics)
    timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    rep["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    return GenerateResult(plan_id, plan, rep, timings)


def report(store: Store, plan_id: str) -> dict[str, Any]:
    """The evaluation report of a stored plan, of a draft as it stands (see
    :func:`gridmap.present.report.build_report`)."""
    plan = plans_mod.load_plan(store, plans_mod.current_version(store, plan_id))
    return _report(plan, load_world(store, plan))


def _report(plan: GridPlan, world: World) -> dict[str, Any]:
    return report_mod.build_report(plan, world, diagnostics=(plan.meta.get("params") or {}).get("diagnostics"))


def load_world(store: Store, plan: GridPlan) -> World:
    """The world ``plan`` divides, from the store, in its metric CRS (adjacency from stored cells).

    The grid polygons are the plan's stored ones; a draft version has none stored, so its polygons are the
    union of its buildings' stored cells, drawn as generation draws them.
    """
    com_ids = sorted(set(plan.grid_community.values()))
    coms = store.read("communities", ids=com_ids)
    crs = metric_crs(coms)
    blds = store.read("buildings", where={"community_id": com_ids}).to_crs(crs).reset_index(drop=True)
    adj = None
    cells = store.read("cells", where={"community_id": com_ids})
    if len(cells):
        cells = cells.to_crs(crs).set_index("id").reindex(blds["id"]).reset_index()
        if cells.geometry.notna().all():
            cells = gpd.GeoDataFrame(cells, geometry="geometry", crs=crs)
            adj = adjacency(cells)
            bars = store.read("barriers")
            adj["kind"] = edge_kinds(blds, cells, adj, bars.to_crs(crs) if len(bars) else None)
    grids = plans_mod.load_grids(store, plan.stored_id)
    grids = grids.to_crs(crs) if len(grids) else _cell_grids(plan, coms, blds, cells, crs)
    params = plan.meta.get("params") or {}
    lo, hi = params.get("min_households", 300), params.get("max_households", 500)
    bounds = {c: tuple(b) for c, b in (params.get("bounds") or {}).items()} or _bounds(coms, lo, hi)
    return World(
        coms.to_crs(crs),
        blds,
        grids,
        adjacency=adj,
        stewards=store.read("stewards", where={"community_id": com_ids}),
        bounds=bounds,
        default_bounds=(lo, hi),
    )


def _cell_grids(
    plan: GridPlan, coms: gpd.GeoDataFrame, blds: gpd.GeoDataFrame, cells: pd.DataFrame, crs: Any
) -> gpd.GeoDataFrame:
    """Grid polygons of ``plan`` as generation draws them: the union of each grid's buildings' cells
    (``cells`` aligned with ``blds``); a community without buildings is its one grid."""
    codes = blds["id"].map(dict(plan.assignment))
    has = codes.notna().to_numpy() & (cells.geometry.notna().to_numpy() if len(cells) else False)
    uniq, polys = (
        dissolve_cells(np.asarray(cells.geometry.values)[has], codes.to_numpy()[has])
        if has.any()
        else (np.array([], dtype=object), np.array([], dtype=object))
    )
    rows = {str(c): p for c, p in zip(uniq, polys)}
    region = dict(zip(coms["id"], coms.to_crs(crs).geometry.values))
    for com in set(plan.grid_community.values()):
        mine = plan.grids_in(com)
        if len(mine) == 1 and not plan.grids[mine[0]] and com in region:
            rows[mine[0]] = region[com]
    codes_out = sorted(rows)
    return gpd.GeoDataFrame(
        {"code": codes_out, "community_id": [plan.grid_community[c] for c in codes_out]},
        geometry=[rows[c] for c in codes_out],
        crs=crs,
    )


# -- helpers -----------------------------------------------------------------------------------


def _bounds(coms: pd.DataFrame, lo: int, hi: int) -> dict[str, tuple[int, int]]:
    out = {}
    for cid, a, b in zip(
        coms["id"],
        coms.get("min_households", pd.Series(index=coms.index)),
        coms.get("max_households", pd.Series(index=coms.index)),
    ):
        a = lo if a is None or pd.isna(a) else int(a)
        b = hi if b is None or pd.isna(b) else int(b)
        if a < 1 or b < a:
            raise InvalidInput(
                f"community {cid}: bounds [{a}, {b}] must satisfy 1 <= min <= max "
                f"(columns min_households/max_households)"
            )
        out[str(cid)] = (a, b)
    return out


def _grids_and_codes(coms_m, blds_m, cells, parts, prev: GridPlan | None, issued):
    """Grid polygons (dissolved cells) with codes, the assignment, and the partition diagnostics."""
    previous = {}
    if prev is not None:
        previous = {frozenset(b): code for code, b in prev.grids.items()}
    cell_geom = dict(zip(cells["id"], cells.geometry.values))
    rows, assignment = [], {}
    diagnostics: dict[str, Any] = {"too_big": [], "islands": [], "count_infeasible": []}
    hh = dict(zip(blds_m["id"], blds_m["households"].fillna(0).astype(int)))
    for cid, region in zip(coms_m["id"], coms_m.geometry.values):
        res = parts.communities.get(cid)
        ids = parts.building_ids.get(cid, [])
        sets: list[frozenset[str]]
        if res is None or not ids:
            polys, sets = np.array([region], dtype=object), [frozenset()]
        else:
            labels = res.labels
            geoms = np.array([cell_geom[b] for b in ids], dtype=object)
            uniq, polys = dissolve_cells(geoms, labels)
            arr = np.array(ids, dtype=object)
            sets = [frozenset(arr[labels == u].tolist()) for u in uniq]
            diagnostics["too_big"] += [
                {"community_id": cid, "building_id": ids[i], "households": h, "over_by": over}
                for i, h, over in res.too_big
            ]
            diagnostics["islands"] += [
                {"community_id": cid, "buildings": [ids[i] for i in isl], "joined_to": ids[to]}
                for isl, to in res.islands
            ]
            if res.count_infeasible:
                diagnostics["count_infeasible"].append(cid)
        xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(polys, dtype=object)))
        codes = codes_mod.assign_codes(
            cid, sets, xy, previous=previous, issued=[c for c in issued if c.startswith(cid)]
        )
        for code, poly, s in zip(codes, polys, sets):
            rows.append(
                {
                    "code": code,
                    "community_id": cid,
                    "households": int(sum(hh[b] for b in s)),
                    "buildings": len(s),
                    "geometry": poly,
                }
            )
            for b in s:
                assignment[b] = code
    grids = gpd.GeoDataFrame(rows, geometry="geometry", crs=coms_m.crs)
    return grids, assignment, diagnostics


def _keep_others(store, prev: GridPlan, com_ids, assignment, grid_community, grids, crs):
    """Carry the other communities' grids over from ``prev`` unchanged."""
    keep = {c: com for c, com in prev.grid_community.items() if com not in set(com_ids)}
    a = {b: c for b, c in prev.assignment.items() if c in keep}
    a.update(assignment)
    gc = dict(keep)
    gc.update(grid_community)
    old = plans_mod.load_grids(store, prev.stored_id)
    old = old[old["code"].isin(keep)].to_crs(crs)
    cols = ["code", "community_id", "households", "buildings", "geometry"]
    both = pd.concat([old[cols], grids[cols]], ignore_index=True)
    return a, gc, gpd.GeoDataFrame(both, geometry="geometry", crs=crs)


def report_text(store: Store, plan_id: str, *, fmt: str = "json") -> str:
    """The report of a stored plan (a draft too) rendered as ``json`` or standalone ``html``."""
    if fmt not in ("json", "html"):
        raise InvalidInput(f"format must be json or html, not {fmt!r}")
    plan = plans_mod.load_plan(store, plans_mod.current_version(store, plan_id))
    world = load_world(store, plan)
    rep = _report(plan, world)
    if fmt == "json":
        return json.dumps(rep, ensure_ascii=False, indent=1, default=json_value)
    return report_mod.render_html(rep, world.grids)


def _fingerprints(coms_m: gpd.GeoDataFrame, blds_m: gpd.GeoDataFrame) -> dict[str, str]:
    """A hash per community of its outline and its buildings (ids and footprints, in id order)."""
    wkb = shapely.to_wkb(np.asarray(blds_m.geometry.values, dtype=object), output_dimension=2)
    keys = pd.DataFrame({"c": blds_m["community_id"].astype(str).to_numpy(), "i": blds_m["id"].astype(str).to_numpy()})
    order = keys.sort_values(["c", "i"], kind="stable").index.to_numpy()
    com, ids = keys["c"].to_numpy()[order], keys["i"].to_numpy()[order]
    start = np.flatnonzero(np.r_[True, com[1:] != com[:-1]]) if len(com) else np.zeros(0, dtype=int)
    ranges = dict(zip(com[start].tolist(), zip(start.tolist(), start[1:].tolist() + [len(com)])))
    out = {}
    for cid, geom in zip(coms_m["id"].astype(str), coms_m.geometry.values):
        h = hashlib.sha1(shapely.to_wkb(geom, output_dimension=2))
        s, e = ranges.get(cid, (0, 0))
        h.update(
            b"".join(part for i, w in zip(ids[s:e].tolist(), wkb[order[s:e]].tolist()) for part in (i.encode(), w))
        )
        out[cid] = h.hexdigest()
    return out


def _stale_cells(store: Store, prints: dict[str, str], blds_m: gpd.GeoDataFrame) -> list[str]:
    """Communities whose stored cells do not come from the same outline and buildings."""
    rows = store.read("plans", columns=["id", "created_at", "params"])
    last: dict[str, str] = {}
    if len(rows):
        newest = rows.sort_values(["created_at", "id"]).iloc[-1]["params"] or {}
        last = newest.get("cells_fingerprint") or {}
    same = [c for c, fp in prints.items() if last.get(c) == fp]
    if same:
        n = int((blds_m["community_id"].isin(same)).sum())
        if store.count("cells", where={"community_id": same}) != n:
            same = []
    return [c for c in prints if c not in set(same)]
