"""City-scale benchmark: SQLite and PostGIS side by side on one synthetic district, in one run.

World: the seeded synthetic Chengyang district (``gridmap.synth.world`` scale ``district``, ~100k buildings) plus
1M household points and 1M complaints made here (no personal fields), and a published grid plan of
~400-household grids cut along each community. Both stores get the same rows; each is then served by
``python -m gridmap serve`` in its own process and measured over loopback:

* bbox query   — ``store.read("buildings", bbox=…)`` of a random 500 m box, in process, and
                 ``/ogc/collections/buildings/items?bbox=…&limit=1000`` over HTTP;
* grid page    — ``/ogc/collections/complaint_counts/items/{code}`` (one grid with its complaint counts
                 out of 1M) and ``/ogc/collections/grids/items?bbox=…`` (a 2 km page of grids);
* tile         — ``/tiles/buildings|grids/{z}/{x}/{y}.pbf`` at z14–16, every request a different tile;
* intake       — complaints POSTed (Open311 ``requests.json``) by a second process with N threads for S
                 seconds: accepted per second, p50/p95 latency, errors.

Usage::

    python bench/bench_scale.py --postgres-url postgresql+psycopg://gridmap:gridmap@127.0.0.1/postgres
    python bench/bench_scale.py --small            # 10k households/complaints, quick check
    python bench/bench_scale.py --only intake --reuse   # intake row only, on the stores loaded last time
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadgen  # noqa: E402
from loadgen import pct  # noqa: E402

GRID_HOUSEHOLDS = 400


# -- the world ---------------------------------------------------------------------------------------
def make_world(*, seed: int, households: int, complaints: int) -> dict[str, pd.DataFrame]:
    from gridmap.synth import world as synth

    base = synth.generate(seed=seed, scale="district")
    world = {k: base[k] for k in ("districts", "streets", "communities", "property_companies", "estates", "buildings")}
    rng = np.random.default_rng(seed)
    b = world["buildings"].reset_index(drop=True)
    world["households"] = _households(b, households, rng)
    world.update(_plan(b))
    world["complaints"] = _complaints(b, world["plan_assignments"], complaints, rng)
    return world


def _points_near(b: gpd.GeoDataFrame, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    c = shapely.get_coordinates(shapely.centroid(b.geometry.values))[idx]
    jitter = rng.normal(0, 0.00005, size=c.shape)
    return shapely.points(c + jitter)


def _households(b: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    w = b["households"].to_numpy(dtype=float)
    idx = rng.choice(len(b), size=n, p=w / w.sum())
    return gpd.GeoDataFrame(
        {
            "id": [f"H{i:07d}" for i in range(n)],
            "building_id": b["id"].to_numpy()[idx],
            "community_id": b["community_id"].to_numpy()[idx],
            "unit": rng.integers(1, 4, n),
            "floor": rng.integers(1, 19, n),
            "residents": rng.integers(1, 6, n),
            "placement": "exact",
        },
        geometry=_points_near(b, idx, rng),
        crs="EPSG:4326",
    )


def _plan(b: gpd.GeoDataFrame) -> dict[str, pd.DataFrame]:
    """One published plan: each community's buildings in north→south, west→east order, cut every ~400."""
    xy = shapely.get_coordinates(shapely.centroid(b.geometry.values))
    order = np.lexsort((xy[:, 0], -np.round(xy[:, 1], 3), b["community_id"].to_numpy()))
    s = b.iloc[order]
    hh = s["households"].to_numpy()
    com = s["community_id"].to_numpy()
    csum = s.groupby("community_id")["households"].cumsum().to_numpy()
    seq = (csum - hh) // GRID_HOUSEHOLDS + 1
    codes = np.array([f"{c}{q:03d}" for c, q in zip(com, seq)], dtype=object)
    assign = pd.DataFrame({"plan_id": "bench", "building_id": s["id"].to_numpy(), "grid_code": codes})
    coords, owner = shapely.get_coordinates(s.geometry.values, return_index=True)
    uniq, inv = np.unique(codes, return_inverse=True)
    hulls = shapely.convex_hull(shapely.multipoints(coords, indices=inv[owner]))
    stats = (
        pd.DataFrame({"code": codes, "hh": hh, "community_id": com})
        .groupby("code")
        .agg(households=("hh", "sum"), buildings=("hh", "size"), community_id=("community_id", "first"))
    )
    grids = gpd.GeoDataFrame(
        {
            "plan_id": "bench",
            "code": uniq,
            "community_id": stats.loc[uniq, "community_id"].to_numpy(),
            "households": stats.loc[uniq, "households"].to_numpy(),
            "buildings": stats.loc[uniq, "buildings"].to_numpy(),
        },
        geometry=hulls,
        crs="EPSG:4326",
    )
    plans = pd.DataFrame(
        {"id": ["bench"], "status": ["published"], "created_at": [dt.datetime(2026, 1, 1)], "note": ["bench_scale"]}
    )
    return {"plans": plans, "plan_assignments": assign, "plan_grids": grids}


def _complaints(b: gpd.GeoDataFrame, assign: pd.DataFrame, n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    idx = rng.integers(0, len(b), n)
    grid = dict(zip(assign["building_id"], assign["grid_code"]))
    bid = b["id"].to_numpy()[idx]
    t0 = np.datetime64("2024-06-01T00:00:00")
    created = t0 + rng.integers(0, 540 * 86400, n).astype("timedelta64[s]")
    closed_mask = rng.random(n) < 0.9
    closed = np.where(
        closed_mask, created + rng.integers(3600, 20 * 86400, n).astype("timedelta64[s]"), np.datetime64("NaT")
    )
    cats = np.array(["parking", "property_service", "sanitation", "noise", "fitness", "medical"])
    return gpd.GeoDataFrame(
        {
            "id": [f"B{i:07d}" for i in range(n)],
            "category": cats[rng.integers(0, len(cats), n)],
            "state": np.where(closed_mask, "resolved", "collected"),
            "channel": "import",
            "building_id": bid,
            "community_id": b["community_id"].to_numpy()[idx],
            "filed_grid_code": [grid[x] for x in bid],
            "created_at": pd.to_datetime(created),
            "due_at": pd.to_datetime(created + np.timedelta64(15 * 86400, "s")),
            "closed_at": pd.to_datetime(closed),
            "placement": "exact",
        },
        geometry=_points_near(b, idx, rng),
        crs="EPSG:4326",
    )


def _loaded(store, world: dict[str, pd.DataFrame]) -> bool:
    """Whether ``store`` already holds this world (same sizes; intake runs only add complaints)."""
    try:
        return (
            store.count("plans", where={"id": "bench"}) == 1
            and store.count("households") == len(world["households"])
            and store.count("buildings") == len(world["buildings"])
            and store.count("complaints", where={"channel": "import"}) == len(world["complaints"])
        )
    except Exception:
        return False


def load(store, world: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Write every layer (one transaction per layer); seconds per layer."""
    out = {}
    for name, frame in world.items():
        t = time.perf_counter()
        with store.transaction():
            store.write(name, frame, mode="replace")
        out[name] = time.perf_counter() - t
    return out


# -- measuring ---------------------------------------------------------------------------------------
def timed_get(url: str) -> tuple[float, int, int]:
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return time.perf_counter() - t, status, len(body)


def random_box(bounds, metres: float, rng: random.Random) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = bounds
    dx, dy = metres / 90_000, metres / 111_000
    x, y = rng.uniform(minx, maxx - dx), rng.uniform(miny, maxy - dy)
    return (x, y, x + dx, y + dy)


def start_server(url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, GRIDMAP_DATABASE_URL=url, GRIDMAP_SECRET_KEY="bench", GRIDMAP_PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmap", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return proc
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server for {url} did not start on port {port}")


def measure(store, base: str, world: dict[str, pd.DataFrame], *, n: int, seed: int) -> dict[str, tuple]:
    import mercantile

    rng = random.Random(seed)
    bounds = tuple(world["buildings"].total_bounds)
    res: dict[str, tuple] = {}
    lat = []
    for _ in range(n):
        q = random_box(bounds, 500, rng)
        t = time.perf_counter()
        store.read("buildings", bbox=q)
        lat.append(time.perf_counter() - t)
    res["bbox query: store.read buildings, 500 m box"] = pct(lat)
    lat = []
    for _ in range(n):
        q = random_box(bounds, 500, rng)
        lat.append(timed_get(f"{base}/ogc/collections/buildings/items?limit=1000&bbox=" + ",".join(map(str, q)))[0])
    res["bbox query: OGC buildings items, 500 m box"] = pct(lat)
    codes = world["plan_grids"]["code"].tolist()
    lat = [timed_get(f"{base}/ogc/collections/complaint_counts/items/{rng.choice(codes)}")[0] for _ in range(n)]
    res["grid page: one grid + its complaint counts"] = pct(lat)
    lat = []
    for _ in range(n):
        q = random_box(bounds, 2000, rng)
        lat.append(timed_get(f"{base}/ogc/collections/grids/items?limit=100&bbox=" + ",".join(map(str, q)))[0])
    res["grid page: grids in a 2 km box"] = pct(lat)
    for layer in ("buildings", "grids"):
        # tiles that hold something: around random buildings, at a random zoom
        cent = shapely.get_coordinates(shapely.centroid(world["buildings"].geometry.values))
        picks = [mercantile.tile(*cent[rng.randrange(len(cent))], rng.choice((14, 15, 16))) for _ in range(n)]
        lat, sizes = [], []
        for t in picks:
            s, _, size = timed_get(f"{base}/tiles/{layer}/{t.z}/{t.x}/{t.y}.pbf")
            lat.append(s)
            sizes.append(size)
        res[f"tile: {layer} z14–16"] = pct(lat)
        res[f"tile: {layer} mean size KiB"] = (statistics.mean(sizes) / 1024,)
    return res


def intake(base: str, *, seconds: float, concurrency: int, bounds) -> dict[str, float]:
    """Run the load generator in a second process and return its figures."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "intake",
        "--url",
        base,
        "--seconds",
        str(seconds),
        "--concurrency",
        str(concurrency),
        "--bbox",
        ",".join(map(str, bounds)),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def intake_worker(args: argparse.Namespace) -> None:
    """The second process: POST Open311 requests at random points of the box from ``concurrency`` threads."""
    minx, miny, maxx, maxy = (float(v) for v in args.bbox.split(","))
    services = json.loads(urllib.request.urlopen(f"{args.url}/open311/v2/services.json", timeout=30).read())
    codes = [s["service_code"] for s in services]

    def body(rng: random.Random, i: int) -> dict[str, object]:
        return {
            "service_code": rng.choice(codes),
            "lat": rng.uniform(miny, maxy),
            "long": rng.uniform(minx, maxx),
            "description": f"bench 压测 {i}",
        }

    res = loadgen.post_requests([args.url], body, seconds=args.seconds, clients=args.concurrency)
    loadgen.print_result({**res, "concurrency": args.concurrency})


# -- main --------------------------------------------------------------------------------------------
def _postgres_db(admin_url: str, name: str, *, reuse: bool = False) -> str:
    import sqlalchemy as sa

    eng = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).scalar()
        if not (reuse and exists):
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    eng.dispose()
    url = sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    db = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with db.connect() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
    db.dispose()
    return url


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("intake", help="(internal) the load-generating second process")
    w.add_argument("--url", required=True)
    w.add_argument("--seconds", type=float, default=20)
    w.add_argument("--concurrency", type=int, default=8)
    w.add_argument("--bbox", required=True)
    ap.add_argument(
        "--postgres-url",
        default=os.environ.get("GRIDMAP_TEST_POSTGRES_URL"),
        help="admin URL of a PostgreSQL server with PostGIS (a database gridmap_bench is made)",
    )
    ap.add_argument("--workdir", default="/tmp/gridmap-bench")
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--complaints", type=int, default=1_000_000)
    ap.add_argument("--small", action="store_true", help="10k households and complaints")
    ap.add_argument("--requests", type=int, default=200, help="requests per latency figure")
    ap.add_argument("--seconds", type=float, default=20, help="intake load duration per backend")
    ap.add_argument("--concurrency", type=int, default=8, help="intake threads in the second process")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--only", choices=("intake",), help="measure only this row (skip the latency rows)")
    ap.add_argument(
        "--reuse", action="store_true", help="keep stores loaded by an earlier run with the same sizes (skip the load)"
    )
    ap.add_argument("--db-name", default="gridmap_bench", help="PostgreSQL database made for the run")
    args = ap.parse_args(argv)
    if args.cmd == "intake":
        intake_worker(args)
        return
    if args.small:
        args.households = args.complaints = 10_000
    from gridmap.store import open_store

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    world = make_world(seed=args.seed, households=args.households, complaints=args.complaints)
    print(
        f"world: {', '.join(f'{k} {len(v):,}' for k, v in world.items())} ({time.perf_counter() - t:.0f} s)", flush=True
    )
    backends = {"SQLite": f"sqlite:///{work / 'bench.db'}"}
    if args.postgres_url:
        backends["PostGIS"] = _postgres_db(args.postgres_url, args.db_name, reuse=args.reuse)
    else:
        print("no --postgres-url / GRIDMAP_TEST_POSTGRES_URL: PostGIS column skipped", flush=True)
    if not args.reuse:
        for f in work.glob("bench.db*"):
            f.unlink()
    results: dict[str, dict] = {}
    for i, (name, url) in enumerate(backends.items()):
        store = open_store(url)
        figures: dict[str, Any] = {}
        if args.reuse and _loaded(store, world):
            print(f"{name}: reusing the loaded store", flush=True)
        else:
            t = time.perf_counter()
            times = load(store, world)
            total = time.perf_counter() - t
            print(
                f"{name}: loaded in {total:.0f} s (households {times['households']:.0f} s, "
                f"complaints {times['complaints']:.0f} s)",
                flush=True,
            )
            figures["load: households rows/s"] = (len(world["households"]) / times["households"],)
            figures["load: complaints rows/s"] = (len(world["complaints"]) / times["complaints"],)
        port = 5870 + i
        server = start_server(url, port)
        try:
            base = f"http://127.0.0.1:{port}"
            if args.only != "intake":
                figures.update(measure(store, base, world, n=args.requests, seed=args.seed))
            try:
                figures["intake"] = intake(
                    base,
                    seconds=args.seconds,
                    concurrency=args.concurrency,
                    bounds=tuple(world["communities"].total_bounds),
                )
            except Exception as exc:
                figures["intake"] = {"error": str(exc)[-300:]}
        finally:
            server.terminate()
            server.wait(timeout=30)
        store.close()
        results[name] = figures
        print(f"{name}: measured", flush=True)
    print_table(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))


def print_table(results: dict[str, dict], args: argparse.Namespace) -> None:
    names = list(results)
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.households:,} households, {args.complaints:,} complaints; {args.requests} requests per row\n"
    )
    print("| measure | " + " | ".join(f"{n} p50 / p95 ms" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    rows = list(dict.fromkeys(k for n in names for k in results[n] if k != "intake"))
    for k in rows:
        cells = []
        for n in names:
            v = results[n].get(k)
            cells.append("—" if v is None else (f"{v[0]:,.0f}" if len(v) == 1 else f"{v[0]:.1f} / {v[1]:.1f}"))
        print(f"| {k} | " + " | ".join(cells) + " |")
    cells = []
    for n in names:
        r = results[n]["intake"]
        cells.append(
            r["error"][:60]
            if "error" in r
            else f"{r['per_second']:.0f}/s, {r['p50_ms']:.0f} / {r['p95_ms']:.0f} ms, "
            f"errors {sum(r['errors'].values())}"
        )
    print(
        f"| complaint intake ({args.concurrency} threads, {args.seconds:.0f} s, 2nd process) | "
        + " | ".join(cells)
        + " |"
    )


if __name__ == "__main__":
    main()
