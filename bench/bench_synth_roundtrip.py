"""The synthetic world round-trips through the importer at district scale (issue #16, item 8).

Run: ``python bench/bench_synth_roundtrip.py [--scale district] [--format parquet]`` (prints a markdown table).
Writes the world with ``gridmap synth --out`` into a temporary folder, then imports it layer by layer with
``gridmap import`` into a new SQLite store, in the demo loader's write order: each layer must import with no
error and the row counts must match. The peer in the same run is writing the same frames straight into a
store (``store.write``, no validation): what the importer's checks cost on top.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.services.demo import WRITE_ORDER
from gridmap.store import open_store


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        try:
            return gpd.read_parquet(path)
        except ValueError:
            return pd.read_parquet(path)
    return gpd.read_file(path)


def main_(scale: str, fmt: str) -> int:
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        out, db = Path(tmp) / "world", Path(tmp) / "imported.db"
        t = time.perf_counter()
        res = runner.invoke(main, ["synth", "--scale", scale, "--out", str(out), "--format", fmt, "--no-progress"])
        assert res.exit_code == 0, res.output
        synth_s = time.perf_counter() - t
        rows, failed = [], 0
        env = {"GRIDMAP_DATABASE_URL": f"sqlite:///{db}"}
        peer_store = open_store(f"sqlite:///{Path(tmp) / 'peer.db'}")
        for layer in WRITE_ORDER:
            files = sorted(out.glob(f"{layer}.*"))
            if not files:
                continue
            t = time.perf_counter()
            res = runner.invoke(main, ["import", layer, str(files[0]), "--no-progress"], env=env)
            took = time.perf_counter() - t
            ok = res.exit_code == 0
            failed += not ok
            frame = _read(files[0])
            t = time.perf_counter()
            peer_store.write(layer, frame)
            peer = time.perf_counter() - t
            rows.append((layer, len(frame), ok, took, peer, res.output.strip().splitlines()[-1][:90] if not ok else ""))
        peer_store.close()
        store = open_store(f"sqlite:///{db}")
        counts = {layer: store.count(layer) for layer, *_ in rows}
        store.close()
    print(f"synth --scale {scale} --format {fmt}: {synth_s:.1f} s\n")
    print(
        "| layer | rows in file | imported | rows in store | import s | store.write s (peer, boundaries only) | error |"
    )
    print("|---|---:|---|---:|---:|---:|---|")
    for layer, n, ok, took, peer, err in rows:
        print(f"| {layer} | {n} | {'yes' if ok else 'NO'} | {counts[layer]} | {took:.1f} | {peer:.2f} | {err} |")
    return 1 if failed or any(counts[layer] != n for layer, n, *_ in rows) else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="district")
    ap.add_argument("--format", default="parquet", choices=["parquet", "geojson", "gpkg"])
    args = ap.parse_args()
    sys.exit(main_(args.scale, args.format))
