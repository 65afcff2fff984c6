"""Benchmark: gridmap's partition against METIS, GerryChain and spopt on the same communities, one run.

    python bench/bench_grids.py --world synth            # ~100k-building synthetic Chengyang district
    python bench/bench_grids.py --world taipei           # real Taipei buildings (geodata/)
    python bench/bench_grids.py --world synth --generate # also time the whole `generate` into SQLite

Every method gets the same buildings, the same adjacency (tessellation cells sharing a border) and,
per community, the same number of grids (from the bounds). Figures: time, share of grids within
[min, max], CV and share within ±10% / p95 deviation of the community's mean grid size, share of
contiguous grids (buildings connected through shared cell borders) and mean Polsby-Popper of the
grid polygons (unions of cells). The slow peers run on a sample of communities; gridmap and METIS are
also reported on that sample so each row is comparable with its neighbours.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grid_floor import floors, run_kahip, summary
from gridmap.domain import partition as P
from gridmap.domain.geometry import metric_crs, polsby_popper
from gridmap.domain.tessellation import adjacency, dissolve_cells, tessellate

# -- worlds ------------------------------------------------------------------------------------


def load_world(name: str, seed: int) -> dict:
    if name == "synth":
        from gridmap.synth import world as synth

        w = synth.generate(seed=seed, scale="district")
    elif name == "rect":
        from rect_world import rect_world

        w = rect_world(communities=85, blocks=6, seed=seed)
    elif name == "taipei":
        w = taipei_world()
    else:
        raise SystemExit(f"unknown world {name!r}")
    crs = metric_crs(w["communities"])
    out = {k: w[k].to_crs(crs) for k in ("communities", "buildings") if k in w}
    out["buildings"] = out["buildings"].reset_index(drop=True)
    bars = w.get("barriers")
    out["barriers"] = bars.to_crs(crs) if bars is not None and len(bars) else None
    out["raw"] = w
    return out


def taipei_world() -> dict:
    """Real Taipei buildings in their real villages (里, the analogue of a 社区). Households are
    estimated: floors = height / 3.2 m, 80% of floor area in flats of 90 m²."""
    import geopandas as gpd

    from gridmap.io.geodata import taipei_file

    b = gpd.read_file(taipei_file("buildings"))
    v = gpd.read_file(taipei_file("villages"))
    b = b[b["village_code"].notna()].copy()
    v = v[v["village_code"].isin(set(b["village_code"]))].sort_values("village_code").reset_index(drop=True)
    ids = {c: f"630100001{i + 1:03d}" for i, c in enumerate(v["village_code"])}  # 12 digits
    coms = gpd.GeoDataFrame(
        {"id": v["village_code"].map(ids), "name": v["village"], "street_id": "630100001"},
        geometry=v.geometry.values,
        crs=v.crs,
    )
    floors = np.maximum(1, np.round(b["height_m"].astype(float) / 3.2))
    hh = np.maximum(1, np.round(b["footprint_m2"].astype(float) * floors * 0.8 / 90)).astype(int)
    blds = gpd.GeoDataFrame(
        {
            "id": b["bldg_id"],
            "name": None,
            "estate_id": None,
            "community_id": b["village_code"].map(ids),
            "households": hh,
            "residents": np.round(hh * 2.4).astype(int),
            "floors": floors.astype(int),
        },
        geometry=b.geometry.values,
        crs=b.crs,
    )
    return {"communities": coms, "buildings": blds, "barriers": None}


# -- per-community graphs ----------------------------------------------------------------------


def community_graphs(b, adj):
    com = b["community_id"].to_numpy(dtype=object).astype(str)
    order = np.argsort(com, kind="stable")
    uc, st = np.unique(com[order], return_index=True)
    loc = np.empty(len(b), dtype=np.int64)
    groups = {}
    for c, s, e in zip(uc, st, list(st[1:]) + [len(order)]):
        idx = order[s:e]
        loc[idx] = np.arange(len(idx))
        groups[c] = idx
    ai, aj = adj["i"].to_numpy(), adj["j"].to_numpy()
    ec = com[ai]
    eo = np.argsort(ec, kind="stable")
    ue, es = np.unique(ec[eo], return_index=True)
    eranges = dict(zip(ue, zip(es, list(es[1:]) + [len(eo)])))
    out = {}
    for c, idx in groups.items():
        s, e = eranges.get(c, (0, 0))
        sel = eo[s:e]
        out[c] = (idx, np.c_[loc[ai[sel]], loc[aj[sel]]].astype(np.int64))
    return out


# -- methods: each returns labels (local grid index per building) for one community -------------


def run_metis(h, pairs, k, seed):
    return P.metis_partition(len(h), pairs, h, None, k, seed=seed)


def run_gerrychain(h, pairs, k, seed, steps, lo, hi):
    from functools import partial

    import networkx as nx
    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally

    start = P.metis_partition(len(h), pairs, h, None, k, seed=seed)
    if k < 2:
        return start
    g = nx.Graph()
    g.add_nodes_from((i, {"hh": int(x)}) for i, x in enumerate(h))
    g.add_edges_from(map(tuple, pairs.tolist()))
    graph = Graph.from_networkx(g)
    part = Partition(graph, {i: int(p) for i, p in enumerate(start)}, {"hh": Tally("hh", alias="hh")})
    target = float(h.sum()) / k
    proposal = partial(recom, pop_col="hh", pop_target=target, epsilon=0.25, node_repeats=0)
    chain = MarkovChain(proposal, [], always_accept, part, total_steps=steps, rng=seed)
    best, best_cost = start, np.inf
    try:
        for p in chain:
            sizes = np.array(list(p["hh"].values()), dtype=float)
            cost = float(((sizes - target) ** 2).sum())
            if cost < best_cost:
                best_cost = cost
                a = p.assignment
                best = np.array([a[i] for i in range(len(h))])
    except _OutOfTime:
        raise
    except Exception:  # ReCom finds no balanced cut in some communities: keep the best so far
        pass
    _, best = np.unique(best, return_inverse=True)
    return best.ravel()


def _w(n, pairs):
    from libpysal.weights import W

    nb = {i: [] for i in range(n)}
    for a, b in pairs.tolist():
        nb[a].append(b)
        nb[b].append(a)
    return W(nb, silence_warnings=True)


def run_regionkmeans(h, pairs, k, seed, xy):
    from spopt.region import RegionKMeansHeuristic

    data = np.c_[h.astype(float)]
    m = RegionKMeansHeuristic(data, k, _w(len(h), pairs), seed=seed)
    m.solve()
    return np.unique(np.asarray(m.labels_), return_inverse=True)[1].ravel()


def run_skater(h, pairs, k, seed, xy):
    import geopandas as gpd
    from spopt.region import Skater

    gdf = gpd.GeoDataFrame({"hh": h.astype(float)}, geometry=shapely.points(xy))
    m = Skater(gdf, _w(len(h), pairs), ["hh"], n_clusters=k, islands="ignore")
    m.solve()
    return np.unique(np.asarray(m.labels_), return_inverse=True)[1].ravel()


def run_maxp(h, pairs, k, seed, xy, lo):
    import geopandas as gpd
    from spopt.region import MaxPHeuristic

    gdf = gpd.GeoDataFrame({"hh": h.astype(float)}, geometry=shapely.points(xy))
    m = MaxPHeuristic(gdf, _w(len(h), pairs), ["hh"], "hh", lo, top_n=2)
    np.random.seed(seed)
    m.solve()
    labels = np.asarray(m.labels_)
    labels = np.where(labels < 0, labels.max() + 1, labels)  # unassigned: one leftover region
    return np.unique(labels, return_inverse=True)[1].ravel()


# -- scoring -----------------------------------------------------------------------------------


def score(results, graphs, hh, cells, lo, hi):
    """results: community -> labels. Figures over all grids of those communities."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ratio, inb, contiguous, pp = [], [], [], []
    geoms = cells.geometry.values
    for c, labels in results.items():
        idx, pairs = graphs[c]
        h = hh[idx]
        k = int(labels.max()) + 1
        sizes = np.bincount(labels, weights=h, minlength=k)
        ratio += (sizes / sizes.mean()).tolist()
        inb += ((sizes >= lo) & (sizes <= hi)).tolist()
        same = labels[pairs[:, 0]] == labels[pairs[:, 1]] if len(pairs) else np.zeros(0, bool)
        m = coo_matrix((np.ones(int(same.sum())), (pairs[same, 0], pairs[same, 1])), shape=(len(h),) * 2)
        _, comp = connected_components(m, directed=False)
        per = pd.Series(comp).groupby(labels).nunique()
        contiguous += (per == 1).tolist()
        _, polys = dissolve_cells(geoms[idx], labels)
        pp += polsby_popper(polys).tolist()
    r = np.array(ratio)
    dev = np.abs(r - 1)
    return {
        "grids": len(r),
        "in bounds": np.mean(inb),
        "CV": r.std(),
        "within ±10%": (dev <= 0.1).mean(),
        "p95 dev": np.quantile(dev, 0.95) if len(dev) else np.nan,
        "contiguous": np.mean(contiguous),
        "Polsby-Popper": np.mean(pp),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--world", default="synth", choices=["synth", "rect", "taipei"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min", dest="lo", type=int, default=300)
    ap.add_argument("--max", dest="hi", type=int, default=500)
    ap.add_argument("--sample", type=int, default=12, help="communities for GerryChain / RegionKMeans / Skater")
    ap.add_argument("--maxp-sample", type=int, default=3, help="communities for MaxP (slowest)")
    ap.add_argument("--sample-max-buildings", type=int, default=1500)
    ap.add_argument("--steps", type=int, default=200, help="GerryChain ReCom steps per community")
    ap.add_argument(
        "--budget",
        type=float,
        default=120.0,
        help="seconds each slow peer may spend on its sample (communities not reached are shown as not done)",
    )
    ap.add_argument("--peers", default="metis,kahip,gerrychain,regionkmeans,skater,maxp", help="also: kahip-strong")
    ap.add_argument("--generate", action="store_true", help="also time the whole generate into SQLite")
    ap.add_argument("--only-generate", action="store_true", help="only time the whole generate")
    ap.add_argument("--per-community", action=argparse.BooleanOptionalAction, default=True)
    a = ap.parse_args(argv)
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    peers = set(a.peers.split(","))

    t = time.perf_counter()
    w = load_world(a.world, a.seed)
    if a.only_generate:
        return time_generate(a, w)
    b = w["buildings"]
    print(
        f"world {a.world}: {len(w['communities'])} communities, {len(b)} buildings, "
        f"{int(b['households'].sum())} households ({time.perf_counter() - t:.1f} s)",
        flush=True,
    )
    t = time.perf_counter()
    cells = tessellate(b, w["communities"])
    adj = adjacency(cells)
    kind = P.edge_kinds(b, cells, adj, w["barriers"])
    t_tess = time.perf_counter() - t
    graphs = community_graphs(b, adj)
    hh = b["households"].fillna(0).to_numpy(dtype=np.int64)
    xy = shapely.get_coordinates(shapely.point_on_surface(b.geometry.values))
    ks = {
        c: P.grid_count(int(hh[idx].sum()), min_households=a.lo, max_households=a.hi) for c, (idx, _) in graphs.items()
    }

    rows = []
    # Each method's one-time process set-up before its timed run: gridmap's compiled kernels loaded from
    # numba's cache (compiled on the first run after an install), METIS's library called once.
    t = time.perf_counter()
    P.warm_up()
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    P.metis_partition(4, np.array([[0, 1], [1, 2], [2, 3]]), np.ones(4, dtype=np.int64), None, 2)
    print(
        f"set-up before timing: gridmap's compiled kernels {t_warm:.2f} s (once per process), "
        f"METIS {time.perf_counter() - t:.3f} s",
        flush=True,
    )
    t = time.perf_counter()
    res = P.partition_world(b, adj, kind, bounds={}, default_bounds=(a.lo, a.hi), seed=a.seed)
    t_ours = time.perf_counter() - t
    ours = {c: r.labels for c, r in res.communities.items()}
    rows.append(
        {
            "method": "gridmap (this)",
            "communities": len(ours),
            "time s": t_ours,
            **score(ours, graphs, hh, cells, a.lo, a.hi),
        }
    )
    metis = {}
    if "metis" in peers:
        t = time.perf_counter()
        for c, (idx, pairs) in graphs.items():
            metis[c] = run_metis(hh[idx], pairs, ks[c], a.seed)
        t_metis = time.perf_counter() - t
        rows.append(
            {
                "method": "METIS (pymetis, contig)",
                "communities": len(metis),
                "time s": t_metis,
                **score(metis, graphs, hh, cells, a.lo, a.hi),
            }
        )

    for key, mode in (("kahip", "fast"), ("kahip-strong", "strong")):
        if key not in peers:
            continue
        t = time.perf_counter()
        out = {c: run_kahip(hh[idx], pairs, ks[c], a.seed, mode) for c, (idx, pairs) in graphs.items()}
        rows.append(
            {
                "method": f"KaHIP kaffpa {mode} (imbalance 0.03)",
                "communities": len(out),
                "time s": time.perf_counter() - t,
                **score(out, graphs, hh, cells, a.lo, a.hi),
            }
        )
    sample = [c for c in sorted(graphs) if ks[c] >= 2 and len(graphs[c][0]) <= a.sample_max_buildings]
    sample = sample[:: max(1, len(sample) // a.sample)][: a.sample]
    small = sorted(sample, key=lambda c: len(graphs[c][0]))[: a.maxp_sample]
    sub = lambda d, cs: {c: d[c] for c in cs}  # noqa: E731
    if sample:
        n_b = sum(len(graphs[c][0]) for c in sample)
        rows.append(
            {
                "method": f"gridmap, sample ({n_b} bldgs)",
                "communities": len(sample),
                "time s": np.nan,
                **score(sub(ours, sample), graphs, hh, cells, a.lo, a.hi),
            }
        )
        if metis:
            rows.append(
                {
                    "method": "METIS, sample",
                    "communities": len(sample),
                    "time s": np.nan,
                    **score(sub(metis, sample), graphs, hh, cells, a.lo, a.hi),
                }
            )
    peer_fns = {
        "gerrychain": (
            "GerryChain ReCom from METIS",
            lambda h, p, k, c: run_gerrychain(h, p, k, a.seed, a.steps, a.lo, a.hi),
        ),
        "regionkmeans": ("spopt RegionKMeans", lambda h, p, k, c: run_regionkmeans(h, p, k, a.seed, xy[graphs[c][0]])),
        "skater": ("spopt Skater", lambda h, p, k, c: run_skater(h, p, k, a.seed, xy[graphs[c][0]])),
    }
    for key, (label, fn) in peer_fns.items():
        if key not in peers or not sample:
            continue
        out, spent = _budgeted(fn, sample, graphs, hh, ks, a.budget)
        done = f"{len(out)}/{len(sample)}"
        rows.append(
            {
                "method": label + ", sample",
                "communities": done,
                "time s": spent,
                **(score(out, graphs, hh, cells, a.lo, a.hi) if out else {}),
            }
        )
        print(f"  {label}: {done} communities in {spent:.1f} s", flush=True)
    if "maxp" in peers and small:
        out, t_maxp = _budgeted(
            lambda h, p, k, c: run_maxp(h, p, k, a.seed, xy[graphs[c][0]], a.lo), small, graphs, hh, ks, a.budget
        )
        n_b = sum(len(graphs[c][0]) for c in small)
        t = time.perf_counter()
        for c in small:  # gridmap on the same small sample, timed
            P.partition_world(
                b.iloc[graphs[c][0]].reset_index(drop=True),
                _local_adj(graphs[c][1]),
                _local_kind(graphs[c], adj, kind),
                bounds={},
                default_bounds=(a.lo, a.hi),
                seed=a.seed,
            )
        t_small = time.perf_counter() - t
        rows.append(
            {
                "method": f"gridmap, MaxP sample ({n_b} bldgs)",
                "communities": len(small),
                "time s": t_small,
                **score(sub(ours, small), graphs, hh, cells, a.lo, a.hi),
            }
        )
        rows.append(
            {
                "method": "spopt MaxP (threshold=min), MaxP sample",
                "communities": f"{len(out)}/{len(small)}",
                "time s": t_maxp,
                **(score(out, graphs, hh, cells, a.lo, a.hi) if out else {}),
            }
        )

    table = pd.DataFrame(rows)
    fmt = {
        "time s": "{:.2f}",
        "in bounds": "{:.1%}",
        "CV": "{:.3f}",
        "within ±10%": "{:.1%}",
        "p95 dev": "{:.3f}",
        "contiguous": "{:.1%}",
        "Polsby-Popper": "{:.3f}",
    }
    for col, f in fmt.items():
        table[col] = table[col].map(lambda v, f=f: "—" if pd.isna(v) else f.format(v))
    print()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"bounds [{a.lo}, {a.hi}]; seed {a.seed}; tessellation + adjacency {t_tess:.1f} s"
    )
    print(f"load average before / after: {load0} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if metis:
        print(
            f"partition time / METIS time: {t_ours / t_metis:.2f} "
            f"(with the kernels' one-time load counted in: {(t_ours + t_warm) / t_metis:.2f})"
        )
    print(markdown(table))
    est = b["estate_id"] if "estate_id" in b else pd.Series([None] * len(b))
    group = np.where(est.isna(), -1, est.astype("category").cat.codes).astype(np.int64)
    per = floors(ours, graphs, hh, group, a.lo, a.hi)
    print()
    print(summary(per))
    if a.per_community:
        fmt_pc = {c: "{:.0%}" for c in ("within ±10%", "floor", "floor, estates whole", "in bounds", "bounds floor")}
        for col, f in fmt_pc.items():
            per[col] = per[col].map(f.format)
        print()
        print("gridmap per community (floor: the best share the building sizes allow):")
        print(markdown(per))
    if a.generate:
        time_generate(a, w)


def markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


class _OutOfTime(Exception):
    pass


def _budgeted(fn, communities, graphs, hh, ks, budget):
    """Run ``fn`` community by community until ``budget`` seconds are spent (SIGALRM stops a long one)."""
    import signal

    def alarm(*_):
        raise _OutOfTime()

    out = {}
    t0 = time.perf_counter()
    old = signal.signal(signal.SIGALRM, alarm)
    try:
        for c in communities:
            left = budget - (time.perf_counter() - t0)
            if left <= 0:
                break
            signal.setitimer(signal.ITIMER_REAL, left)
            try:
                idx, pairs = graphs[c]
                out[c] = fn(hh[idx], pairs, ks[c], c)
            except _OutOfTime:
                break
            except Exception as exc:  # a peer that crashes on a community: count it as not done
                print(f"    {c}: {type(exc).__name__}: {str(exc)[:80]}", flush=True)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old)
    return out, time.perf_counter() - t0


def _local_adj(pairs):
    return pd.DataFrame({"i": pairs[:, 0], "j": pairs[:, 1], "length": np.ones(len(pairs))})


def _local_kind(graph, adj, kind):
    idx, pairs = graph
    sel = np.isin(adj["i"].to_numpy(), idx) & np.isin(adj["j"].to_numpy(), idx)
    # same order as community_graphs: edges of this community in adjacency order
    return kind[sel]


def time_generate(a, w) -> None:
    """Load the world into a fresh SQLite store and time `generate` (tessellation, codes, storing)."""
    from gridmap.services import grids as svc
    from gridmap.store import open_store

    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/bench.db")
        raw = w["raw"]
        t = time.perf_counter()
        _write_world(store, raw)
        print(f"\nloaded the store in {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        r = svc.generate(store, min_households=a.lo, max_households=a.hi, seed=a.seed)
        total = time.perf_counter() - t
        s = r.report["summary"]
        print(f"generate: {total:.1f} s  ({', '.join(f'{k} {v:.1f}' for k, v in r.timings.items())})")
        print(
            f"  {s['grids']} grids; in bounds {s['share_in_bounds']:.1%}; CV {s['cv']:.3f}; within ±10% "
            f"{s['share_within_10pct']:.1%}; p95 {s['p95_deviation']:.3f}; contiguous "
            f"{s['contiguous_share']:.1%}; gap {s.get('gap_m2', 0):.4f} m²; overlap "
            f"{s.get('overlap_m2', 0):.4f} m²; problems {len(r.report['problems'])}"
        )
        store.close()


def _write_world(store, raw) -> None:
    import geopandas as gpd

    coms = raw["communities"].to_crs(4326)
    region = shapely.union_all(coms.geometry.values)
    sid = str(coms["street_id"].iloc[0])
    with store.transaction():
        store.write("districts", gpd.GeoDataFrame([{"id": sid[:6], "name": "district", "geometry": region}], crs=4326))
        store.write(
            "streets",
            gpd.GeoDataFrame([{"id": sid, "name": "street", "district_id": sid[:6], "geometry": region}], crs=4326),
        )
        store.write(
            "communities",
            coms[[c for c in ("id", "name", "street_id", "min_households", "max_households", "geometry") if c in coms]],
        )
        if "estates" in raw:
            store.write("estates", raw["estates"].to_crs(4326))
        cols = ["id", "name", "estate_id", "community_id", "households", "residents", "geometry"]
        blds = raw["buildings"].to_crs(4326)
        store.write("buildings", blds[[c for c in cols if c in blds]])
        if raw.get("barriers") is not None and len(raw["barriers"]):
            store.write("barriers", raw["barriers"].to_crs(4326))
        if raw.get("stewards") is not None and len(raw["stewards"]):
            st = raw["stewards"]
            store.write(
                "stewards",
                st[
                    [
                        c
                        for c in ("id", "name", "role", "building_id", "community_id", "serves", "party_member")
                        if c in st
                    ]
                ],
            )


if __name__ == "__main__":
    main()
