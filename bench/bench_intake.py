"""Benchmark: server CPU per complaint submission (the intake service and the store, in process), with the
store's plain-row insert path (new) and the frame path it replaced (old), in the same run, on SQLite and
PostGIS. The web layer is left out (see bench_scale.py --only intake for throughput over HTTP).

    python bench/bench_intake.py [--n 200] [--postgres-url postgresql+psycopg://…/postgres]

Each figure is CPU time (time.process_time) over ``--n`` submissions into the small complaints world of
the tests (three grids, six buildings, stewards, a published plan), old and new interleaved in rounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "web"))

from complaints_world import build, lonlat  # noqa: E402
from gridmap import config  # noqa: E402
from gridmap.services import complaints as svc  # noqa: E402
from gridmap.store import open_store, rows  # noqa: E402
from gridmap.web.access import User  # noqa: E402

PUB = User(None, "anon", "public")
T0 = dt.datetime(2025, 3, 3, 9)


def cpu_per_submit(store, n: int, *, old: bool) -> float:
    """CPU milliseconds per submission; ``old``: the frame path for every write (as before the fast path)."""
    lon, lat = lonlat(20, 20)
    data = {"category": "parking", "description": "占道停车", "lon": lon, "lat": lat}
    settings = config.load()
    keep = rows.SMALL_ROWS
    rows.SMALL_ROWS = 0 if old else keep
    try:
        t = time.process_time()
        for _ in range(n):
            svc.submit(store, dict(data), user=PUB, settings=settings, now=T0)
        return (time.process_time() - t) / n * 1000
    finally:
        rows.SMALL_ROWS = keep


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200, help="submissions per figure (split over 4 rounds)")
    ap.add_argument("--postgres-url", default=os.environ.get("GRIDMAP_TEST_POSTGRES_URL"))
    a = ap.parse_args(argv)
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    backends = {"SQLite": f"sqlite:///{tempfile.mkdtemp()}/intake.db"}
    if a.postgres_url:
        from bench_scale import _postgres_db

        backends["PostGIS"] = _postgres_db(a.postgres_url, "gridmap_bench_intake")
    lines = ["| backend | old: frame path (ms CPU) | new: plain rows (ms CPU) | old / new |", "|---|---|---|---|"]
    for name, url in backends.items():
        store = open_store(url)
        build(store)
        cpu_per_submit(store, 5, old=False)  # warm caches (statements, settings)
        old, new = [], []
        for _ in range(4):  # interleaved, so load changes hit both alike
            old.append(cpu_per_submit(store, a.n // 4, old=True))
            new.append(cpu_per_submit(store, a.n // 4, old=False))
        o, w = sorted(old)[1], sorted(new)[1]  # second best of four
        lines.append(f"| {name} | {o:.1f} | {w:.1f} | {o / w:.2f} |")
        store.close()
    print(f"load average before / after: {load0} / {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"CPU per complaint submission (service + store, in process), {a.n} submissions per cell")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
