"""City-wide grid generation on a Dask cluster: communities are independent, so each is one task.

A task tessellates one community's buildings, finds their adjacency and edge kinds, and partitions
them (:mod:`gridmap.domain.tessellation`, :mod:`gridmap.domain.partition`) — the same functions, on the same rows,
as the single-process path, so the result is identical. :func:`partition_communities` gathers the pieces back into
the whole-world shapes (cells in building order, adjacency by position, a :class:`WorldPartition`);
:func:`generate` runs :func:`gridmap.services.grids.generate` with it.

Usage (see ``docs/scale.md``)::

    dask scheduler --port 8786 &                 # one machine
    dask worker tcp://SCHEDULER:8786 --nworkers 4 --nthreads 1 &   # on each machine
    GRIDMAP_DATABASE_URL=postgresql+psycopg://… gridmap grids generate --dask tcp://SCHEDULER:8786
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap import jobs
from gridmap.domain.partition import WorldPartition, edge_kinds, partition_world
from gridmap.domain.tessellation import adjacency, tessellate
from gridmap.jobs import Progress
from gridmap.services import grids


def _pair(bounds: Sequence[int]) -> tuple[int, int]:
    """(min, max) households as a tuple (a setting may hold them in a list)."""
    lo, hi = bounds
    return lo, hi


def community_job(
    community_id: str,
    region: Any,
    buildings: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None,
    bounds: tuple[int, int],
    default_bounds: tuple[int, int],
    seed: int,
) -> dict[str, Any]:
    """Tessellate, connect and partition one community (runs on a worker; pure, picklable inputs).

    ``buildings`` are this community's rows in a projected CRS; ``barriers`` those that may cross it.
    Returns the cells, the adjacency (local positions), the community's partition and building ids.
    """
    coms = gpd.GeoDataFrame({"id": [community_id]}, geometry=[region], crs=buildings.crs)
    cells = tessellate(buildings, coms)
    adj = adjacency(cells)
    adj["kind"] = edge_kinds(buildings, cells, adj, barriers)
    parts = partition_world(
        buildings, adj, adj["kind"].to_numpy(), bounds={community_id: bounds}, default_bounds=default_bounds, seed=seed
    )
    return {
        "cells": cells,
        "adj": adj,
        "partition": parts.communities.get(community_id),
        "ids": parts.building_ids.get(community_id, []),
    }


def partition_communities(
    communities: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    barriers: gpd.GeoDataFrame | None,
    *,
    bounds: Mapping[str, tuple[int, int]],
    default_bounds: tuple[int, int] = (300, 500),
    seed: int = 0,
    client: Any = None,
    progress: Progress | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, Any]:
    """Cells, adjacency (with ``kind``) and partition of every community, one task per community.

    Parameters
    ----------
    communities, buildings, barriers
        In one projected CRS; ``buildings`` with a fresh ``RangeIndex`` (positions are its labels).
    bounds, default_bounds, seed
        As for :func:`gridmap.domain.partition.partition_world`.
    client
        A ``distributed.Client``; ``None`` runs the same tasks one after another in this process.
    progress
        Called ``progress(done, total)`` as communities finish.

    Returns
    -------
    cells, adjacency, WorldPartition
        The shapes :func:`gridmap.domain.tessellation.tessellate`, :func:`~gridmap.domain.tessellation.adjacency`
        and :func:`gridmap.domain.partition.partition_world` give for the whole world.
    """
    # estate labels are compared only for equality, so each task numbering its own estates is harmless
    blds = buildings.reset_index(drop=True)
    regions = dict(zip(communities["id"], communities.geometry.values))
    groups = {
        cid: np.flatnonzero((blds["community_id"] == cid).to_numpy())
        for cid in sorted(set(blds["community_id"]) & set(regions))
    }
    args = [
        (
            cid,
            regions[cid],
            blds.iloc[pos].reset_index(drop=True),
            _near(barriers, blds.iloc[pos]),
            _pair(bounds.get(cid, default_bounds)),
            _pair(default_bounds),
            seed,
        )
        for cid, pos in groups.items()
    ]
    if client is None:
        results = []
        for a in args:
            results.append(community_job(*a))
            jobs.report(progress, len(results), len(args))
    else:
        from distributed import as_completed  # the optional dask extra

        futures = [client.submit(community_job, *a, pure=False) for a in args]
        for done, _ in enumerate(as_completed(futures), start=1):
            jobs.report(progress, done, len(futures))
        results = client.gather(futures)
    return _assemble(blds, groups, results, WorldPartition)


def generate(store: Any, *, client: Any, progress: Progress | None = None, **options: Any) -> Any:
    """:func:`gridmap.services.grids.generate` with the communities partitioned on ``client`` (``progress``
    counts finished communities)."""

    def partitioner(coms_m, blds_m, bars_m, *, bounds, default_bounds, seed):
        return partition_communities(
            coms_m,
            blds_m,
            bars_m,
            bounds=bounds,
            default_bounds=default_bounds,
            seed=seed,
            client=client,
            progress=progress,
        )

    return grids.generate(store, partitioner=partitioner, **options)


# -- helpers -----------------------------------------------------------------------------------------
def _near(barriers: gpd.GeoDataFrame | None, blds: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Barriers that can cross a segment between two of these buildings (inside their bounding box)."""
    if barriers is None or not len(barriers):
        return None
    hit = barriers[barriers.intersects(shapely.box(*blds.total_bounds))]
    return hit.reset_index(drop=True) if len(hit) else None


def _assemble(
    blds: gpd.GeoDataFrame, groups: Mapping[str, np.ndarray], results: list[dict[str, Any]], world_partition: Any
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, Any]:
    cell_parts, adj_parts = [], []
    communities: dict[str, Any] = {}
    members: dict[str, list[str]] = {}
    for (cid, pos), res in zip(groups.items(), results):
        cells = res["cells"].assign(_pos=pos)
        cell_parts.append(cells)
        adj = res["adj"]
        adj_parts.append(adj.assign(i=pos[adj["i"].to_numpy()], j=pos[adj["j"].to_numpy()]))
        if res["partition"] is not None:
            communities[cid] = res["partition"]
            members[cid] = list(res["ids"])
    crs = blds.crs
    if cell_parts:
        cells = pd.concat(cell_parts, ignore_index=True).sort_values("_pos").drop(columns="_pos")
        cells = gpd.GeoDataFrame(cells.reset_index(drop=True), geometry="geometry", crs=crs)
    else:
        cells = gpd.GeoDataFrame({"id": [], "community_id": []}, geometry=[], crs=crs)
    if adj_parts:
        adj = pd.concat(adj_parts, ignore_index=True)
        lo = np.minimum(adj["i"], adj["j"])
        hi = np.maximum(adj["i"], adj["j"])
        adj = adj.assign(i=lo, j=hi).sort_values(["i", "j"]).reset_index(drop=True)
    else:
        adj = pd.DataFrame(
            {
                "i": np.zeros(0, dtype=np.int64),
                "j": np.zeros(0, dtype=np.int64),
                "length": np.zeros(0),
                "kind": np.zeros(0, dtype=np.int8),
            }
        )
    return cells, adj, world_partition(communities, members)
