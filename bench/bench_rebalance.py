"""Benchmark: minimal-change rebalance against regenerating the plan from scratch, and the single-move
re-check a planner waits for.

On the synthetic district (``gridmap.synth.world``, seeded), grids are generated (tessellation + the grids
area's partition), then 10% more households are added to 5% of the buildings. Then, on the same data in
the same run:

* **rebalance**: :func:`gridmap.domain.rebalance.rebalance` from the old plan;
* **regenerate**: :func:`gridmap.domain.partition.partition_world` from scratch on the new households, its grids
  matched to the old ones per community by the largest household overlap (Hungarian), which is the most
  charitable reading of "households that change grid";
* **single move**: one boundary building moved to a neighbouring grid and the two touched grids re-checked
  (bounds, contiguity, tiling: union of their cells, grid leader), as the planner's API does; with
  ``--service`` also end-to-end through :func:`gridmap.services.plans.move_buildings` on a SQLite store.

Run: ``python bench/bench_rebalance.py [--scale district|demo] [--seed 0] [--service]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import shapely.errors

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance import rebalance


def build(scale: str, seed: int):
    from gridmap.domain.geometry import metric_crs
    from gridmap.domain.partition import edge_kinds
    from gridmap.domain.tessellation import adjacency, tessellate
    from gridmap.synth.world import generate

    t = time.perf_counter()
    world = generate(seed=seed, scale=scale)
    coms, blds = world["communities"], world["buildings"].reset_index(drop=True)
    crs = metric_crs(coms)
    coms_m, blds_m = coms.to_crs(crs), blds.to_crs(crs)
    cells, dropped = _tessellate(blds_m, coms_m, tessellate)
    if dropped:
        blds_m = blds_m[~blds_m["community_id"].isin(dropped)].reset_index(drop=True)
        coms = coms[~coms["id"].isin(dropped)]
        print(f"tessellation failed in {len(dropped)} communities (left out): {sorted(dropped)}")
    cells = cells.set_index("id").loc[blds_m["id"]].reset_index()
    adj = adjacency(cells)
    kind = edge_kinds(blds_m, cells, adj, None)
    print(
        f"world: {len(blds):,} buildings, {int(blds['households'].sum()):,} households, "
        f"{len(coms)} communities; built in {time.perf_counter() - t:.1f} s",
        flush=True,
    )
    return world, coms, blds_m, cells, adj, kind


def _tessellate(blds_m, coms_m, tessellate):
    """Tessellate community by community; a community whose geometry GEOS cannot cut is retried with
    its polygon repaired, then left out (and named)."""
    import geopandas as gpd

    frames, dropped = [], []
    for cid, group in blds_m.groupby("community_id", sort=True):
        com = coms_m[coms_m["id"] == cid]
        try:
            frames.append(tessellate(group, com))
            continue
        except shapely.errors.GEOSException:
            pass
        try:
            fixed = com.assign(geometry=shapely.buffer(shapely.make_valid(com.geometry.values), 0))
            frames.append(tessellate(group, fixed))
        except shapely.errors.GEOSException:
            dropped.append(cid)
    cells = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=blds_m.crs)
    return cells, dropped


def partition(blds_m, adj, kind, bounds, seed):
    from gridmap.domain.partition import partition_world

    parts = partition_world(blds_m, adj, kind, bounds=bounds, seed=seed)
    assignment, grid_community = {}, {}
    for b, (c, lab) in parts.grid_of.items():
        code = f"{c}{lab + 1:03d}"
        assignment[b] = code
        grid_community[code] = c
    return GridPlan(assignment, grid_community)


def grow(blds: pd.DataFrame, *, share: float, extra: float, seed: int, mode: str) -> dict[str, int]:
    """Grow ``share`` of the buildings (seeded). ``mode="each"``: each of them gains ``extra`` of its
    households (rounded up); ``mode="total"``: together they gain ``extra`` × all households
    (in proportion to their size: a stress test, those buildings about triple)."""
    rng = np.random.default_rng(seed + 1)
    hh = blds["households"].fillna(0).astype(int).to_numpy()
    chosen = rng.choice(len(blds), size=max(1, int(share * len(blds))), replace=False)
    new = hh.copy()
    if mode == "each":
        new[chosen] = np.ceil(hh[chosen] * (1 + extra)).astype(int)
    else:
        w = np.maximum(hh[chosen], 1).astype(float)
        new[chosen] += np.floor(extra * hh.sum() * w / w.sum()).astype(int)
    return dict(zip(blds["id"], new.tolist()))


def lower_bound(plan: GridPlan, hh: dict[str, int], bounds, default) -> int:
    """Households any fix must move at least: every over-full grid sheds its excess."""
    out = 0
    for code, members in plan.grids.items():
        lo, hi = bounds.get(plan.grid_community[code], default)
        out += max(0, sum(hh[b] for b in members) - hi)
    return out


def out_of_bounds(plan: GridPlan, hh: dict[str, int], bounds, default) -> int:
    n = 0
    for code, members in plan.grids.items():
        lo, hi = bounds.get(plan.grid_community[code], default)
        total = sum(hh[b] for b in members)
        n += not (lo <= total <= hi)
    return n


def moved_after_matching(old: GridPlan, new: GridPlan, hh: dict[str, int]) -> int:
    """Households whose grid changes when each new grid is matched to the old grid it overlaps most
    (per community, Hungarian assignment on shared households)."""
    from scipy.optimize import linear_sum_assignment

    frame = pd.DataFrame({"b": list(old.assignment), "old": list(old.assignment.values())})
    frame["new"] = frame["b"].map(new.assignment)
    frame["hh"] = frame["b"].map(hh)
    frame["com"] = frame["old"].map(old.grid_community)
    moved = 0
    for _, g in frame.groupby("com"):
        m = g.pivot_table(index="new", columns="old", values="hh", aggfunc="sum", fill_value=0)
        r, c = linear_sum_assignment(-m.to_numpy())
        kept = m.to_numpy()[r, c].sum()
        moved += int(g["hh"].sum() - kept)
    return moved


def single_moves(plan: GridPlan, world, n: int, seed: int):
    """Time what the planner API does after a move, minus storage: reassign, check the two touched
    grids (bounds, contiguity, tiling, grid leader) and union their cells into the new polygons."""
    from gridmap.services import plans as svc

    rng = np.random.default_rng(seed + 2)
    ids = list(plan.assignment)
    times = []
    tries = 0
    while len(times) < n and tries < n * 50:
        tries += 1
        b = ids[rng.integers(len(ids))]
        g = plan.assignment[b]
        others = sorted({plan.assignment[x] for x in world.adjacency[b]} - {g})
        if not others:
            continue
        h = others[0]
        t = time.perf_counter()
        new = plan.reassign([(b, h)])
        svc.check_plan(new, world, codes=[g, h])
        svc.grid_polygons(new, world, codes=[g, h])
        times.append((time.perf_counter() - t) * 1000)
    return times


def service_moves(world, plan: GridPlan, hh, cells_4326, n: int, seed: int):
    """End to end: seed a SQLite store, then time move_buildings (server time, no HTTP)."""
    import datetime as dt

    import geopandas as gpd

    from gridmap.services import plans as svc
    from gridmap.store import open_store

    tmp = tempfile.mkdtemp(prefix="bench-rebalance-")
    store = open_store(f"sqlite:///{tmp}/bench.db")
    t = time.perf_counter()
    blds = world["buildings"].copy()
    blds["households"] = blds["id"].map(hh)
    with store.transaction():
        store.write("communities", world["communities"])
        store.write("buildings", blds)
        store.write("cells", cells_4326)
        store.write(
            "plans",
            pd.DataFrame(
                [
                    {
                        "id": "bench-base",
                        "status": "published",
                        "created_at": dt.datetime(2026, 1, 1),
                        "published_at": dt.datetime(2026, 1, 1),
                    }
                ]
            ),
        )
        store.write(
            "plan_assignments",
            pd.DataFrame(
                {
                    "plan_id": "bench-base",
                    "building_id": list(plan.assignment),
                    "grid_code": list(plan.assignment.values()),
                }
            ),
        )
        store.write(
            "plan_grids",
            gpd.GeoDataFrame(
                {
                    "plan_id": "bench-base",
                    "code": plan.codes,
                    "community_id": [plan.grid_community[c] for c in plan.codes],
                },
                geometry=[None] * len(plan.codes),
                crs=4326,
            ),
        )
    print(f"service store seeded in {time.perf_counter() - t:.1f} s", flush=True)
    w = svc.load_world(store)
    draft = svc.start_draft(store, actor="bench")["draft"]
    svc.load_plan(store, draft, world=w)  # warm the plan cache as the web app does
    rng = np.random.default_rng(seed + 3)
    ids = list(plan.assignment)
    times = []
    head = plan
    while len(times) < n:
        b = ids[rng.integers(len(ids))]
        g = head.assignment[b]
        others = sorted({head.assignment[x] for x in w.adjacency[b]} - {g})
        if not others:
            continue
        t = time.perf_counter()
        res = svc.move_buildings(store, draft, [b], others[0], actor="bench", world=w)
        times.append((time.perf_counter() - t) * 1000)
        head = svc.load_plan(store, res["plan"], world=w)
    store.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="district")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--share", type=float, default=0.05, help="share of buildings that grow")
    ap.add_argument(
        "--extra",
        type=float,
        default=0.10,
        help="growth: each chosen building +extra, and (stress) +extra of all households",
    )
    ap.add_argument("--moves", type=int, default=200, help="single moves to time")
    ap.add_argument("--service", action="store_true", help="also time moves through the plan service")
    args = ap.parse_args()

    world, coms, blds_m, cells, adj, kind = build(args.scale, args.seed)
    default = (300, 500)
    bounds = {c: default for c in coms["id"]}
    ids = blds_m["id"].to_numpy()
    adjacency = {b: set() for b in ids}
    for i, j in zip(adj["i"].to_numpy(), adj["j"].to_numpy()):
        adjacency[ids[i]].add(ids[j])
        adjacency[ids[j]].add(ids[i])
    cells_4326 = cells.to_crs(4326)
    cell_of = dict(zip(cells_4326["id"], cells_4326.geometry.values))

    t = time.perf_counter()
    plan0 = partition(blds_m, adj, kind, bounds, args.seed)
    t_gen0 = time.perf_counter() - t
    hh0 = dict(zip(blds_m["id"], blds_m["households"].fillna(0).astype(int)))
    print()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; scale={args.scale} seed={args.seed}; "
        f"{len(hh0):,} buildings, {sum(hh0.values()):,} households, {len(plan0.grid_community):,} "
        f"grids (first generation {t_gen0:.1f} s), bounds {default}; {args.share:.0%} of buildings grow"
    )
    print()
    print(
        "| growth | method | time (s) | households moved | share of all | × regenerate | "
        "× lower bound | buildings moved | new grids | grids out of bounds |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    heads = {}
    for mode in ("each", "total"):
        hh1 = grow(blds_m, share=args.share, extra=args.extra, seed=args.seed, mode=mode)
        label = f"each +{args.extra:.0%}" if mode == "each" else f"+{args.extra:.0%} of all"
        total1 = sum(hh1.values())
        before = out_of_bounds(plan0, hh1, bounds, default)
        bound = lower_bound(plan0, hh1, bounds, default)
        t = time.perf_counter()
        res = rebalance(plan0, households=hh1, adjacency=adjacency, bounds=bounds, default_bounds=default)
        t_reb = time.perf_counter() - t
        after_reb = out_of_bounds(res.plan, hh1, bounds, default)
        grown = blds_m.assign(households=blds_m["id"].map(hh1))
        t = time.perf_counter()
        plan_regen = partition(grown, adj, kind, bounds, args.seed)
        t_regen = time.perf_counter() - t
        after_regen = out_of_bounds(plan_regen, hh1, bounds, default)
        moved_regen = moved_after_matching(plan0, plan_regen, hh1)
        changed_regen = sum(plan0.assignment[b] != plan_regen.assignment[b] for b in plan0.assignment)
        ratio = res.households_moved / moved_regen if moved_regen else float("nan")
        lb = f"{res.households_moved / bound:.2f}" if bound else "–"
        lb_regen = f"{moved_regen / bound:.2f}" if bound else "–"
        print(f"| {label} | old plan, new households | – | – | – | – | – | – | – | {before} |")
        print(
            f"| {label} | minimal-change rebalance | {t_reb:.2f} | {res.households_moved:,} | "
            f"{res.households_moved / total1:.2%} | {ratio:.3f} | {lb} | {len(res.moves):,} | "
            f"{len(res.new_grids)} | {after_reb} |"
        )
        print(
            f"| {label} | regenerate from scratch | {t_regen:.2f} | {moved_regen:,} | "
            f"{moved_regen / total1:.2%} | 1 | {lb_regen} | {changed_regen:,}* | – | {after_regen} |",
            flush=True,
        )
        reasons = pd.Series([i.reason for i in res.infeasible]).value_counts().to_dict()
        heads[mode] = (res, hh1, reasons, bound)
    print()
    print("* buildings whose grid label differs before matching; households are counted after matching.")
    print("lower bound: households over the max summed over over-full grids (any fix moves at least that).")
    for mode, (_, _, reasons, _) in heads.items():
        print(f"still out of bounds after rebalance ({mode}): {reasons}")
    print()
    res, hh1, _, _ = heads["total"]
    from gridmap.services.plans import PlanWorld

    pw = PlanWorld(hh1, {}, adjacency, cell_of, bounds, default, [], set(), set())
    _ = res.plan.grids  # the head plan's grids are grouped once, as the web app's cache holds them
    checks = single_moves(res.plan, pw, args.moves, args.seed)
    service = old_service = None
    if args.service:
        from gridmap.store import rows as store_rows

        keep = store_rows.SMALL_ROWS
        store_rows.SMALL_ROWS = 0  # the old code: every store write through frames
        try:
            old_service = service_moves(world, plan0, hh1, cells_4326, min(args.moves, 100), args.seed)
        finally:
            store_rows.SMALL_ROWS = keep
        service = service_moves(world, plan0, hh1, cells_4326, min(args.moves, 100), args.seed)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    q = statistics.quantiles(checks, n=20)
    print("| single move, re-check of the 2 touched grids | median (ms) | p95 (ms) | max (ms) | n |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| pure check (bounds, contiguity, tiling union, leader) | {statistics.median(checks):.2f} | "
        f"{q[18]:.2f} | {max(checks):.2f} | {len(checks)} |"
    )
    for label, times in (("old: store writes through frames", old_service), ("new: plain-row writes", service)):
        if times:
            qs = statistics.quantiles(times, n=20)
            print(
                f"| service move_buildings on SQLite (write version + audit + check), {label} | "
                f"{statistics.median(times):.2f} | {qs[18]:.2f} | {max(times):.2f} | {len(times)} |"
            )


if __name__ == "__main__":
    main()
