"""The demo (seed 1) as `gridmap demo` draws it: every grid within its community's household bounds, except in
communities where no count of grids can fit (the report's ``bounds_infeasible``: too few households for one
grid, too many for one and too few for two)."""

from __future__ import annotations

import math

import pandas as pd

from gridmap.services.demo import load_demo
from gridmap.store import open_store
from gridmap.store import plans as plans_mod


def test_demo_grids_are_in_bounds_wherever_a_count_fits(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        load_demo(store, seed=1, fresh=True, complaints=False)
        grids = store.read("plan_grids", where={"plan_id": plans_mod.latest_plan_id(store)})
        coms = store.read("communities", columns=["id", "min_households", "max_households"])
        blds = store.read("buildings", columns=["community_id", "households"])
    finally:
        store.close()
    total = blds.groupby("community_id")["households"].sum()
    biggest = blds.groupby("community_id")["households"].max()
    checked, out = 0, []
    for cid, lo, hi in zip(coms["id"], coms["min_households"], coms["max_households"]):
        lo = 300 if pd.isna(lo) else int(lo)
        hi = 500 if pd.isna(hi) else int(hi)
        t = int(total.get(cid, 0))
        fits = (lo <= t <= hi) or (math.ceil(t / hi) <= t // lo and t > hi)
        if not fits or biggest.get(cid, 0) > hi:
            continue
        sizes = grids.loc[grids["community_id"] == cid, "households"].astype(int).tolist()
        checked += len(sizes)
        out += [(cid, s) for s in sizes if not lo <= s <= hi]
    assert checked > 200
    assert out == [], f"grids out of bounds where a count of grids fits: {out}"
