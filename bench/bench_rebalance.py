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
  ``--service`` also end-to-end through :func:`gridmap.services.plans.move_buildings` on a SQLite store;
  ``--baseline REF`` times the same moves with the code of git revision ``REF`` (``git archive`` of its
  ``gridmap/`` into a temporary directory) in the same run: each code in its own process, on its own copy of
  the same seeded store, the same moves, alternating old and new ``--rounds`` times.

Run: ``python bench/bench_rebalance.py [--scale district|demo] [--seed 0] [--service [--baseline REF]]``
(``--moves-only``: skip the rebalance table).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import shapely.errors

# the code under test: this checkout, or (for --baseline) an older revision's gridmap/ in a child process
sys.path.insert(0, os.environ.get("GRIDMAP_BENCH_CODE") or str(Path(__file__).resolve().parent.parent))

from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance import rebalance

ROOT = Path(__file__).resolve().parent.parent


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


def seed_store(path: str, world_file: str) -> None:
    """A SQLite store at ``path`` with the district, its cells and the first plan published (``world_file``:
    what :func:`service_rows` pickled), written by the code under test."""
    import datetime as dt

    import geopandas as gpd

    from gridmap.store import open_store

    with open(world_file, "rb") as f:
        data = pickle.load(f)
    assignment, grid_community = data["assignment"], data["grid_community"]
    codes = sorted(grid_community)
    store = open_store(f"sqlite:///{path}")
    with store.transaction():
        store.write("communities", data["communities"])
        store.write("buildings", data["buildings"])
        store.write("cells", data["cells"])
        when = dt.datetime(2026, 1, 1)
        base = {"id": "bench-base", "status": "published", "created_at": when, "published_at": when}
        store.write("plans", pd.DataFrame([base]))
        store.write(
            "plan_assignments",
            pd.DataFrame(
                {"plan_id": "bench-base", "building_id": list(assignment), "grid_code": list(assignment.values())}
            ),
        )
        store.write(
            "plan_grids",
            gpd.GeoDataFrame(
                {"plan_id": "bench-base", "code": codes, "community_id": [grid_community[c] for c in codes]},
                geometry=[None] * len(codes),
                crs=4326,
            ),
        )
    store.close()


def timed_moves(path: str, n: int, seed: int) -> list[float]:
    """Server time of ``n`` planner moves through :func:`gridmap.services.plans.move_buildings` (no HTTP) on
    the store at ``path``: a random building to a neighbouring grid, in one draft, as the planner's API
    does (the plan world loaded once and its plan cache warm, as the web app keeps them)."""
    from gridmap.services import plans as svc
    from gridmap.store import open_store

    store = open_store(f"sqlite:///{path}")
    w = svc.load_world(store)
    draft = svc.start_draft(store, actor="bench")["draft"]
    head = svc.load_plan(store, draft, world=w)
    rng = np.random.default_rng(seed + 3)
    ids = list(head.assignment)
    times: list[float] = []
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


def _child(world_file: str, db: str, n: int, seed: int) -> None:
    """One code's run (this process imports the code under test): seed its store once, time moves on a copy."""
    if not os.path.exists(db):
        seed_store(db, world_file)
    work = db + ".work"
    shutil.copyfile(db, work)
    try:
        times = timed_moves(work, n, seed)
    finally:
        os.remove(work)
    print(json.dumps(times))


def export_code(ref: str, into: Path) -> Path:
    """``gridmap/`` of git revision ``ref`` of this repository, written under ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "gridmap"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def service_rows(
    world, hh, cells_4326, plan: GridPlan, n: int, seed: int, *, baseline: str | None, rounds: int
) -> dict[str, list[float]]:
    """Moves timed end to end on SQLite, per code (``new``: this checkout; ``old``: ``baseline``), each in a
    child process, alternating old and new ``rounds`` times; every run starts from the same seeded store."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-rebalance-"))
    blds = world["buildings"].copy()
    blds["households"] = blds["id"].map(hh)
    world_file = tmp / "world.pickle"
    with open(world_file, "wb") as f:
        pickle.dump(
            {
                "communities": world["communities"],
                "buildings": blds,
                "cells": cells_4326,
                "assignment": dict(plan.assignment),
                "grid_community": dict(plan.grid_community),
            },
            f,
        )
    codes = {"new": str(ROOT)}
    if baseline:
        codes = {"old": str(export_code(baseline, tmp / "old")), **codes}
    out: dict[str, list[float]] = {label: [] for label in codes}
    per_round = max(1, n // rounds)
    for r in range(rounds):
        for label, code in codes.items():
            cmd = [sys.executable, __file__, "--child", str(world_file), str(tmp / f"{label}.db")]
            cmd += ["--moves", str(per_round), "--seed", str(seed + r)]
            done = subprocess.run(
                cmd, env={**os.environ, "GRIDMAP_BENCH_CODE": code}, check=True, capture_output=True, text=True
            )
            out[label] += json.loads(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(tmp, ignore_errors=True)
    return out


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
    ap.add_argument("--baseline", default=None, help="git revision whose code is timed too (with --service)")
    ap.add_argument("--rounds", type=int, default=2, help="old/new alternations of the service moves")
    ap.add_argument("--moves-only", action="store_true", help="skip the rebalance and regenerate table")
    ap.add_argument("--child", nargs=2, metavar=("WORLD", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child, args.moves, args.seed)
        return

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
    if args.moves_only:
        hh1 = grow(blds_m, share=args.share, extra=args.extra, seed=args.seed, mode="total")
        moves(args, world, plan0, hh1, adjacency, cell_of, cells_4326, bounds, default)
        return
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
    moves(args, world, plan0, hh1, adjacency, cell_of, cells_4326, bounds, default, head=res.plan)


def moves(args, world, plan0, hh1, adjacency, cell_of, cells_4326, bounds, default, *, head=None) -> None:
    """The single-move table: the pure check on ``head`` (the rebalanced plan; without it the first plan),
    and with ``--service`` the moves end to end on SQLite (old and new code with ``--baseline``)."""
    from gridmap.services.plans import PlanWorld

    head = head if head is not None else plan0
    pw = PlanWorld(hh1, {}, adjacency, cell_of, bounds, default, [], set(), set())
    _ = head.grids  # the head plan's grids are grouped once, as the web app's cache holds them
    print(f"load average before the moves: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    checks = single_moves(head, pw, args.moves, args.seed)
    service: dict[str, list[float]] = {}
    if args.service:
        n = min(args.moves, 100)
        service = service_rows(world, hh1, cells_4326, plan0, n, args.seed, baseline=args.baseline, rounds=args.rounds)
    print(f"load average after the moves: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    q = statistics.quantiles(checks, n=20)
    print("| single move, re-check of the 2 touched grids | median (ms) | p95 (ms) | max (ms) | n |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| pure check (bounds, contiguity, tiling union, leader) | {statistics.median(checks):.2f} | "
        f"{q[18]:.2f} | {max(checks):.2f} | {len(checks)} |"
    )
    names = {"old": f"old code ({args.baseline})", "new": "new code (this checkout)"}
    for label, times in service.items():
        qs = statistics.quantiles(times, n=20)
        print(
            f"| service move_buildings on SQLite (version row + head pointer + audit + check), {names[label]} | "
            f"{statistics.median(times):.2f} | {qs[18]:.2f} | {max(times):.2f} | {len(times)} |"
        )


if __name__ == "__main__":
    main()
