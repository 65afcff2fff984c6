"""The shipped Taipei set before and after the real-data rules (the figures in docs/data.md).

    python bench/taipei_realdata.py

"Before": the set as the file has it (no merging, straddlers rejected) and the partitioner without ties
between overlapping footprints, as gridmap was. "After": ``load_taipei``'s defaults (stacked footprints
merged, straddlers to the majority 里) and today's partitioner. Grids with the default bounds [300, 500].
"""

from __future__ import annotations

import functools
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gridmap.domain.footprints import overlap_pairs
from gridmap.domain.geometry import metric_crs
from gridmap.domain.partition import partition_world
from gridmap.services import grids
from gridmap.services.taipei import load_taipei
from gridmap.store import open_store


def run(label: str, *, rules: dict, ties: bool) -> dict:
    with tempfile.TemporaryDirectory() as d:
        store = open_store(f"sqlite:///{d}/tp.db")
        rep = load_taipei(store, **rules)["buildings"]
        if not ties:
            grids.partition_world = functools.partial(partition_world, tie_overlapping=None)
        try:
            res = grids.generate(store)
        finally:
            grids.partition_world = partition_world
        b = store.read("buildings")
        b = b.to_crs(metric_crs(b)).reset_index(drop=True)
        pairs = overlap_pairs(b.geometry.values)
        ids = b["id"].to_numpy()
        split = sum(
            res.plan.assignment.get(ids[i]) != res.plan.assignment.get(ids[j]) for i, j in zip(pairs.i, pairs.j)
        )
        rules_seen = Counter(i.rule for i in rep.issues)
        out = {
            "run": label,
            "buildings stored": store.count("buildings"),
            "rows rejected": len(rep.rejected_rows),
            "households": int(b["households"].sum()),
            "issues": dict(rules_seen),
            "overlapping pairs stored": len(pairs),
            "pairs split across grids": int(split),
            "grids": res.report["summary"]["grids"],
            "in bounds": round(res.report["summary"]["share_in_bounds"], 3),
            "problems": dict(Counter(p["kind"] for p in res.report["problems"])),
        }
        store.close()
    return out


def main() -> None:
    for row in (
        run("before", rules={"merge_overlapping": None, "straddlers": "reject"}, ties=False),
        run("after", rules={}, ties=True),
    ):
        print(row)


if __name__ == "__main__":
    main()
