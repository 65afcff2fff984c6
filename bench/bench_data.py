"""Benchmark the data area: synthetic world generation and validated import, against plain peers.

Run: ``python bench/bench_data.py`` (prints a markdown table). Peers on the same data in the same run:
``store.write`` without validation (what an import costs on top of writing), and geopandas/pyogrio writing
the same buildings to a GeoPackage (a file-based load most GIS users know).
"""

from __future__ import annotations

import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from gridmap.io.validation import validate
from gridmap.services.importing import import_frame
from gridmap.store import open_store
from gridmap.synth.world import generate


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    rows = []
    t, demo = timed(lambda: generate(seed=0, scale="demo"))
    rows.append(("synth demo", f"{len(demo['buildings']):,} buildings", t, ""))
    t, w = timed(lambda: generate(seed=0, scale="district"))
    b = w["buildings"]
    rows.append(("synth district", f"{len(b):,} buildings, {int(b['households'].sum()):,} households", t, ""))
    t, p = timed(lambda: generate(seed=0, scale={"base": "district", "household_points": 1_000_000}))
    rows.append(("synth district + 1M household points", f"{len(p['households']):,} households rows", t, ""))
    frame = b.drop(columns=["community_id"]).assign(_row=np.arange(1, len(b) + 1))
    t, _ = timed(
        lambda: validate(
            "buildings",
            frame,
            communities=w["communities"][["id", "geometry"]],
            known_ids={"estates": set(w["estates"]["id"])},
        )
    )
    rows.append(("validate buildings (derive community)", f"{len(b):,} rows", t, ""))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        stores = []
        for name in ("gridmap", "peer"):
            s = open_store(f"sqlite:///{tmp / name}.db")
            with s.transaction():
                for layer in ("districts", "streets", "communities", "property_companies", "estates"):
                    s.write(layer, w[layer])
            stores.append(s)
        t_imp, _ = timed(lambda: import_frame(stores[0], "buildings", b.drop(columns=["community_id"])))
        t_raw, _ = timed(lambda: stores[1].write("buildings", b))
        t_re, _ = timed(lambda: import_frame(stores[0], "buildings", b.drop(columns=["community_id"])))
        t_gpkg, _ = timed(lambda: b.to_file(tmp / "b.gpkg", driver="GPKG", engine="pyogrio"))
        rows.append(
            (
                "import_frame buildings → SQLite (validate + upsert)",
                f"{len(b):,} rows",
                t_imp,
                f"{t_imp / t_raw:.2f}× store.write",
            )
        )
        rows.append(("peer: store.write buildings, no validation", f"{len(b):,} rows", t_raw, "1.00×"))
        rows.append(("re-import same rows (all unchanged)", f"{len(b):,} rows", t_re, f"{t_re / t_raw:.2f}×"))
        rows.append(("peer: geopandas/pyogrio to GeoPackage", f"{len(b):,} rows", t_gpkg, f"{t_gpkg / t_raw:.2f}×"))
        for s in stores:
            s.close()
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print("| step | data | seconds | ratio |\n|---|---|---|---|")
    for step, data, secs, ratio in rows:
        print(f"| {step} | {data} | {secs:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
