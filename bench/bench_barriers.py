"""Benchmark: do grids follow streets? The synthetic district with a generated street network, grids generated
without and with the street layer (``gridmap import barriers``), on the same buildings and bounds.

    python bench/bench_barriers.py                  # demo scale (40 communities, ≈3,300 buildings)
    python bench/bench_barriers.py --scale district # ≈102,000 buildings: minutes, run it on a quiet machine

The street network: a street along every edge of the synthetic world's 400 m block lattice (the estates and
loose buildings sit inside the blocks with a 20 m margin, so the streets run in the gaps), clipped to the
district, written as GeoJSON with ``highway=residential`` and imported through ``gridmap import barriers``.

Figures per run, on the buildings' adjacency (tessellation cells sharing a border): grids, share within
bounds, the share of the grid boundary (shared cell border between neighbouring buildings of different grids)
that runs along a street, the streets crossed inside grids (neighbouring buildings on both sides of a street
in one grid), and the time of ``generate``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridmap.domain.geometry import metric_crs
from gridmap.domain.partition import BARRIER, edge_kinds
from gridmap.domain.tessellation import adjacency
from gridmap.services import grids
from gridmap.services.barriers import import_barriers
from gridmap.services.demo import WRITE_ORDER
from gridmap.store import open_store
from gridmap.synth.layout import BLOCK_M
from gridmap.synth.world import generate as synth


def lattice_phase(lo: np.ndarray, hi: np.ndarray, period: float = BLOCK_M) -> float:
    """The residue (mod ``period``) covered by no building extent [lo, hi]: where the streets run."""
    cover = np.zeros(int(period))
    for a, b in zip(np.floor(lo).astype(int), np.ceil(hi).astype(int)):
        idx = np.arange(a, b + 1) % int(period)
        cover[idx] += 1
    free = np.flatnonzero(cover == cover.min())
    # the middle of the longest run of free residues (circular)
    runs = np.split(free, np.flatnonzero(np.diff(free) != 1) + 1)
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][-1] == int(period) - 1:
        runs = [np.r_[runs[-1], runs[0] + int(period)], *runs[1:-1]]
    best = max(runs, key=len)
    return float(best[len(best) // 2] % int(period))


def street_network(buildings_m: gpd.GeoDataFrame, district_m) -> gpd.GeoDataFrame:
    """Lines along the block lattice's edges, clipped to the district (metric CRS)."""
    b = buildings_m.geometry.bounds
    px = lattice_phase(b["minx"].to_numpy(), b["maxx"].to_numpy())
    py = lattice_phase(b["miny"].to_numpy(), b["maxy"].to_numpy())
    x0, y0, x1, y1 = district_m.bounds
    xs = np.arange(np.floor((x0 - px) / BLOCK_M) * BLOCK_M + px, x1 + BLOCK_M, BLOCK_M)
    ys = np.arange(np.floor((y0 - py) / BLOCK_M) * BLOCK_M + py, y1 + BLOCK_M, BLOCK_M)
    lines = [shapely.LineString([(x, y0), (x, y1)]) for x in xs] + [shapely.LineString([(x0, y), (x1, y)]) for y in ys]
    clipped = shapely.intersection(np.array(lines, dtype=object), district_m)
    keep = ~shapely.is_empty(clipped)
    return gpd.GeoDataFrame(
        {"osm_id": np.arange(1, keep.sum() + 1), "highway": "residential", "name": None},
        geometry=list(clipped[keep]),
        crs=buildings_m.crs,
    )


def measure(store, plan, streets_m: gpd.GeoDataFrame, crs) -> dict:
    """Figures on the buildings' adjacency (cells sharing a border): the grid boundary between neighbouring
    buildings, and how much of it runs along a street; street crossings between neighbours of one grid."""
    blds = store.read("buildings").to_crs(crs).reset_index(drop=True)
    cells = store.read("cells").to_crs(crs).set_index("id").reindex(blds["id"]).reset_index()
    adj = adjacency(gpd.GeoDataFrame(cells, geometry="geometry", crs=crs))
    kind = edge_kinds(blds, cells, adj, streets_m)
    grid_of = blds["id"].map(dict(plan.assignment)).to_numpy()
    i, j = adj["i"].to_numpy(), adj["j"].to_numpy()
    length = adj["length"].to_numpy()
    cut = grid_of[i] != grid_of[j]
    street = kind == BARRIER
    rep = grids.report(store, plan.id)
    return {
        "grids": len(plan.grids),
        "in_bounds": rep["summary"]["share_in_bounds"],
        "on_street": float(length[cut & street].sum() / max(length[cut].sum(), 1e-9)),
        "crossed": int((street & ~cut).sum()),
        "street_pairs": int(street.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="demo", choices=["demo", "district"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    world = synth(seed=args.seed, scale=args.scale)
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/b.db")
        with store.transaction():
            for name in WRITE_ORDER:
                if name in world and name in ("districts", "streets", "communities", "estates", "buildings"):
                    store.write(name, world[name])
        blds = store.read("buildings")
        crs = metric_crs(blds)
        district = shapely.union_all(store.read("communities").to_crs(crs).geometry.to_numpy())
        streets_m = street_network(blds.to_crs(crs), district)
        rows = []
        t = time.perf_counter()
        plain = grids.generate(store, seed=args.seed)
        rows.append(("without streets", time.perf_counter() - t, measure(store, plain.plan, streets_m, crs)))
        path = Path(d) / "streets.geojson"
        streets_m.to_crs(4326).to_file(path, driver="GeoJSON")
        rep = import_barriers(store, path)
        t = time.perf_counter()
        walled = grids.generate(store, seed=args.seed)
        rows.append(("with streets", time.perf_counter() - t, measure(store, walled.plan, streets_m, crs)))
        store.close()
    print(
        f"# bench_barriers: scale {args.scale}, {len(world['buildings']):,} buildings, "
        f"{len(world['communities'])} communities, {rep.kinds.get('road', 0)} street lines; "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(
        "| run | grids | in bounds | grid boundary on streets | streets crossed inside grids "
        f"(of {rows[0][2]['street_pairs']} neighbour pairs across a street) | generate (s) |"
    )
    print("|---|---|---|---|---|---|")
    for name, secs, m in rows:
        print(f"| {name} | {m['grids']} | {m['in_bounds']:.1%} | {m['on_street']:.1%} | {m['crossed']} | {secs:.1f} |")


if __name__ == "__main__":
    main()
