"""City-wide grid generation on a distributed.LocalCluster gives exactly the single-process plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("gridmap.domain.partition")

from gridmap.distributed import grids as dask_grids
from gridmap.store import open_store

SCALE = {"communities": 10, "estates": 14, "village_houses": 250, "loose_buildings": 30, "household_estates": 0}


@pytest.fixture(scope="module")
def world():
    from gridmap.synth import world as synth

    return synth.generate(seed=3, scale=SCALE)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _metric(world):
    from gridmap.domain.geometry import metric_crs

    coms, blds = world["communities"], world["buildings"]
    crs = metric_crs(coms)
    bars = world.get("barriers")
    return (
        coms.to_crs(crs),
        blds.to_crs(crs).reset_index(drop=True),
        bars.to_crs(crs) if bars is not None and len(bars) else None,
    )


def test_cluster_partition_is_the_single_process_partition(world, client):
    from gridmap.domain.partition import edge_kinds, partition_world
    from gridmap.domain.tessellation import adjacency, tessellate

    coms, blds, bars = _metric(world)
    bounds = {c: (300, 500) for c in coms["id"]}
    cells = tessellate(blds, coms)
    adj = adjacency(cells)
    adj["kind"] = edge_kinds(blds, cells, adj, bars)
    parts = partition_world(blds, adj, adj["kind"].to_numpy(), bounds=bounds, seed=0)

    d_cells, d_adj, d_parts = dask_grids.partition_communities(coms, blds, bars, bounds=bounds, seed=0, client=client)
    assert len(parts.communities) >= 8 and len({g for g in parts.grid_of.values()}) > 20
    assert d_parts.grid_of == parts.grid_of
    assert d_parts.building_ids == parts.building_ids
    assert d_cells["id"].tolist() == cells["id"].tolist()
    assert all(a.equals_exact(b, 0) for a, b in zip(d_cells.geometry, cells.geometry))
    np.testing.assert_array_equal(d_adj[["i", "j", "kind"]].to_numpy(), adj[["i", "j", "kind"]].to_numpy())
    np.testing.assert_allclose(d_adj["length"], adj["length"])


def test_generate_on_the_cluster_stores_the_same_plan(world, client, tmp_path):
    from gridmap.services import grids

    stores = [open_store(f"sqlite:///{tmp_path / name}.db") for name in ("single", "cluster")]
    for s in stores:
        with s.transaction():
            for layer in ("districts", "streets", "communities", "estates", "buildings"):
                s.write(layer, world[layer])
    single = grids.generate(stores[0], seed=0, publish=True)
    cluster = dask_grids.generate(stores[1], client=client, seed=0, publish=True)
    assert dict(cluster.plan.assignment) == dict(single.plan.assignment)
    assert dict(cluster.plan.grid_community) == dict(single.plan.grid_community)
    a, b = (s.read("plan_grids").sort_values("code").reset_index(drop=True) for s in stores)
    pd.testing.assert_frame_equal(a.drop(columns=["plan_id", "geometry"]), b.drop(columns=["plan_id", "geometry"]))
    assert all(x.equals_exact(y, 1e-9) for x, y in zip(a.geometry, b.geometry))
    for s in stores:
        s.close()


def test_cli_needs_exactly_one_cluster_choice():
    from click.testing import CliRunner

    from gridmap.cli.main import main

    for args in ([], ["--scheduler", "tcp://127.0.0.1:1", "--local", "2"]):
        res = CliRunner().invoke(main, ["dask", "grids", *args])
        assert res.exit_code == 2 and "exactly one of --scheduler" in res.output
