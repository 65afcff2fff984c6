"""Benchmark: complaint intake — server CPU per submission (the intake service and the store, in process) with
the plain-row path (new) and the frame path it replaced (old) in the same run, on SQLite and PostGIS; then
throughput over HTTP under a load generator with 1 and 4 server processes against one store.

    python bench/bench_intake.py [--n 200] [--postgres-url postgresql+psycopg://…/postgres]
                                 [--seconds 20] [--clients 8] [--no-throughput]

CPU: time.process_time over ``--n`` submissions, old and new interleaved in four rounds (second best of four),
into the small complaints world of the tests (three grids, six buildings, stewards, a published plan) and
into the demo (``gridmap demo --seed 1``: 276 grids, ~7,800 requests), each submission at a point near a
random building. "old" is the same code with the store's plain rows switched off (``rows.SMALL_ROWS = 0``:
every read and write through pandas/GeoPandas frames) and nothing kept between submissions (the published
plan's grids read every time).

Throughput: the demo in a store, served by ``python -m gridmap serve`` 1× and 4× (ports side by side, rate
limits off), ``--clients`` threads in a second process POSTing Open311 requests (``requests.json``) at points
near random buildings for ``--seconds``, spread evenly over the servers: accepted per second, p50/p95 latency,
errors, and the servers' CPU per accepted request (from /proc: the whole web request, not only the service).
SQLite runs in WAL with a busy timeout (the store's own settings), PostGIS as it is. The machine's load
average is printed before and after: on a shared machine every figure moves with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "web"))

import shapely  # noqa: E402

import loadgen  # noqa: E402
from complaints_world import build, lonlat  # noqa: E402
from gridmap import config  # noqa: E402
from gridmap.services import complaints as svc  # noqa: E402
from gridmap.services.plans import stored  # noqa: E402
from gridmap.store import open_store, rows  # noqa: E402
from gridmap.web.access import User  # noqa: E402

PUB = User(None, "anon", "public")
T0 = dt.datetime(2025, 3, 3, 9)
CATEGORIES = ("parking", "sanitation", "property_service", "safety", "other")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_per_submit(store, points: list[tuple[float, float]], n: int, *, old: bool, seed: int = 0) -> float:
    """CPU milliseconds per submission; ``old``: the frame path for every read and write, nothing kept."""
    settings = config.load()
    rng = random.Random(seed)
    keep = rows.SMALL_ROWS
    rows.SMALL_ROWS = 0 if old else keep
    try:
        t = time.process_time()
        for _ in range(n):
            if old:
                stored.forget_published()
            lon, lat = rng.choice(points)
            data = {"category": rng.choice(CATEGORIES), "description": "占道停车", "lon": lon, "lat": lat}
            svc.submit(store, data, user=PUB, settings=settings, now=T0)
        return (time.process_time() - t) / n * 1000
    finally:
        rows.SMALL_ROWS = keep


def building_points(store, k: int = 2000, seed: int = 1) -> list[tuple[float, float]]:
    """``k`` points each within ~30 m of a random building of ``store``."""
    b = store.read("buildings", columns=["id", "geometry"])
    rng = random.Random(seed)
    cent = shapely.get_coordinates(shapely.centroid(b.geometry.values))
    return [
        (float(x) + rng.uniform(-3e-4, 3e-4), float(y) + rng.uniform(-3e-4, 3e-4))
        for x, y in (cent[rng.randrange(len(cent))] for _ in range(k))
    ]


def cpu_table(stores: dict[str, str], n: int, demo: dict[str, str]) -> list[str]:
    lines = [
        "| world | backend | old: frame path (ms CPU) | new: plain rows (ms CPU) | old / new |",
        "|---|---|---|---|---|",
    ]
    cells = [("tests' complaints world", name, url, None) for name, url in stores.items()]
    cells += [("demo (seed 1)", name, url, "demo") for name, url in demo.items()]
    for world, name, url, kind in cells:
        store = open_store(url)
        if kind is None:
            build(store)
            points = [lonlat(20, 20)]  # the world of the tests: always on building b1 (as before)
        else:
            points = building_points(store)
        cpu_per_submit(store, points, 5, old=False)  # warm caches (statements, settings)
        old, new = [], []
        for r in range(4):  # interleaved, so load changes hit both alike
            old.append(cpu_per_submit(store, points, n // 4, old=True, seed=r))
            new.append(cpu_per_submit(store, points, n // 4, old=False, seed=r))
        o, w = sorted(old)[1], sorted(new)[1]  # second best of four
        lines.append(f"| {world} | {name} | {o:.1f} | {w:.1f} | {o / w:.2f} |")
        store.close()
    return lines


# -- throughput over HTTP ------------------------------------------------------------------------------
def load_demo(url: str) -> None:
    env = dict(os.environ, GRIDMAP_DATABASE_URL=url, GRIDMAP_SECRET_KEY="bench")
    cmd = [sys.executable, "-m", "gridmap", "demo", "--no-serve", "--no-accounts", "--seed", "1", "--fresh"]
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_servers(url: str, ports: list[int]) -> list[subprocess.Popen]:
    from bench_scale import start_server

    keep = os.environ.get("GRIDMAP_RATE_LIMIT_ENABLED")
    os.environ["GRIDMAP_RATE_LIMIT_ENABLED"] = "false"  # the load generator is one client sending many
    try:
        return [start_server(url, p) for p in ports]
    finally:
        if keep is None:
            os.environ.pop("GRIDMAP_RATE_LIMIT_ENABLED", None)
        else:
            os.environ["GRIDMAP_RATE_LIMIT_ENABLED"] = keep


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def throughput(url: str, servers: int, *, seconds: float, clients: int, points_file: str, port0: int) -> dict:
    ports = [port0 + i for i in range(servers)]
    procs = start_servers(url, ports)
    try:
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        points = json.loads(Path(points_file).read_text())
        for b in bases:  # each process's first requests (imports, caches, statements) outside the measurement
            urllib.request.urlopen(f"{b}/open311/v2/services.json", timeout=60).read()
            for lon, lat in points[:3]:
                body = {"service_code": "parking", "lat": lat, "long": lon, "description": "warm-up"}
                post = urllib.request.Request(
                    f"{b}/open311/v2/requests.json", data=urllib.parse.urlencode(body).encode(), method="POST"
                )
                urllib.request.urlopen(post, timeout=60).read()
        cpu0 = [_cpu_seconds(p.pid) for p in procs]
        cmd = [sys.executable, str(Path(__file__).resolve()), "load", "--urls", ",".join(bases)]
        cmd += ["--seconds", str(seconds), "--clients", str(clients), "--points", points_file]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 180, cwd=ROOT)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        res = json.loads(out.stdout.strip().splitlines()[-1])
        cpu = sum(_cpu_seconds(p.pid) for p in procs) - sum(cpu0)
        res["server_cpu_ms"] = cpu / max(res["accepted"], 1) * 1000
        return res
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def load_worker(args: argparse.Namespace) -> None:
    """The second process: ``clients`` threads POSTing Open311 requests at the points, spread over ``urls``."""
    points = json.loads(Path(args.points).read_text())

    def body(rng: random.Random, i: int) -> dict[str, object]:
        lon, la = rng.choice(points)
        return {"service_code": rng.choice(CATEGORIES), "lat": la, "long": lon, "description": f"bench 压测 {i}"}

    loadgen.print_result(loadgen.post_requests(args.urls.split(","), body, seconds=args.seconds, clients=args.clients))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("load", help="(internal) the load-generating second process")
    w.add_argument("--urls", required=True)
    w.add_argument("--seconds", type=float, default=20)
    w.add_argument("--clients", type=int, default=8)
    w.add_argument("--points", required=True)
    ap.add_argument("--n", type=int, default=200, help="submissions per CPU figure (split over 4 rounds)")
    ap.add_argument("--postgres-url", default=os.environ.get("GRIDMAP_TEST_POSTGRES_URL"))
    ap.add_argument("--seconds", type=float, default=20, help="load per throughput row")
    ap.add_argument("--clients", type=int, default=8, help="client threads of the load generator")
    ap.add_argument("--port", type=int, default=5710, help="first port of the servers")
    ap.add_argument("--no-throughput", action="store_true", help="only the CPU table")
    a = ap.parse_args(argv)
    if a.cmd == "load":
        load_worker(a)
        return
    started = time.perf_counter()
    print(f"load average at start: {_load()}", flush=True)
    tmp = tempfile.mkdtemp()
    small = {"SQLite": f"sqlite:///{tmp}/intake.db"}
    demo = {"SQLite": f"sqlite:///{tmp}/demo.db"}
    if a.postgres_url:
        from bench_scale import _postgres_db

        small["PostGIS"] = _postgres_db(a.postgres_url, "gridmap_bench_intake")
        demo["PostGIS"] = _postgres_db(a.postgres_url, "gridmap_bench_intake_demo")
    for url in demo.values():
        load_demo(url)
    print(f"demo loaded ({time.perf_counter() - started:.0f} s); load average {_load()}", flush=True)
    lines = cpu_table(small, a.n, demo)
    print(f"CPU per complaint submission (service + store, in process), {a.n} submissions per cell")
    print("\n".join(lines))
    print(f"load average after the CPU table: {_load()}", flush=True)
    if a.no_throughput:
        return
    out = [
        f"Throughput over HTTP (Open311 POST, {a.clients} client threads in a second process, {a.seconds:.0f} s a row)",
        "| backend | servers | accepted / s | p50 (ms) | p95 (ms) | server CPU / request (ms) | errors | load avg |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, url in demo.items():
        store = open_store(url)
        points = building_points(store, seed=7)
        store.close()
        pf = Path(tmp) / f"points-{name}.json"
        pf.write_text(json.dumps(points))
        for k in (1, 4):
            before = _load()
            r = throughput(url, k, seconds=a.seconds, clients=a.clients, points_file=str(pf), port0=a.port)
            out.append(
                f"| {name} | {k} | {r['per_second']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                f"{r['server_cpu_ms']:.1f} | {r['errors'] or '–'} | {before} → {_load()} |"
            )
            print(out[-1], flush=True)
    print("\n".join(out))
    print(f"({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
