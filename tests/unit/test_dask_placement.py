"""Dask placement on a small LocalCluster gives exactly the single-process answer (duplicates included)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
dask_geopandas = pytest.importorskip("dask_geopandas")

from gridmap.distributed.placement import place_dask, summary  # noqa: E402
from gridmap.domain.placement import PlacementWorld, place  # noqa: E402
from tests.unit.placement_world import ASSIGNMENT, frames  # noqa: E402


def records(n: int = 3000, seed: int = 3) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(120.399, 120.421, n)
    y = rng.uniform(36.299, 36.311, n)
    x[:300] = rng.uniform(120.4009, 120.4015, 300)  # a cluster on A, B and their shared edge
    y[:300] = rng.uniform(36.3009, 36.3013, 300)
    x[300:310], y[300:310] = 120.4012, 36.3011  # exactly on the shared edge
    ids = np.array([f"r{i}" for i in range(n)], dtype=object)
    ids[2900:2910] = ids[10:20]  # duplicates across partitions
    ids[1500:1505] = ids[1495:1500]  # duplicates inside one partition
    return gpd.GeoDataFrame({"id": ids}, geometry=gpd.points_from_xy(x, y), crs=4326)


def test_local_cluster_equals_single_process():
    f = frames()
    world = PlacementWorld(f["buildings"], f["communities"], assignment=ASSIGNMENT, grids=f["grids"])
    recs = records()
    want = place(recs, world).frame
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        ddf = dask_geopandas.from_geopandas(recs, npartitions=4)
        placed = place_dask(ddf, world, client=client)
        got = placed.compute()
        counts = summary(placed)
    got = got.reset_index(drop=True)
    assert len(got) == len(want)
    for col in ("id", "building_id", "estate_id", "grid_code", "community_id", "street_id", "placement", "reason"):
        assert (
            got[col].astype(object).where(got[col].notna(), None).tolist()
            == want[col].astype(object).where(want[col].notna(), None).tolist()
        ), col
    np.testing.assert_array_equal(got["placement_distance_m"].to_numpy(), want["placement_distance_m"].to_numpy())
    assert counts == place(recs, world).summary
    assert counts["rejected"] >= 15  # the duplicates at least
    assert set(want["placement"].astype(str)) >= {"contained", "nearest", "area", "rejected"}
