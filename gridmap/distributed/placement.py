"""Placement of inputs too large for one machine's memory: the same rules over dask-geopandas partitions.

The records are split into partitions; the :class:`~gridmap.domain.placement.PlacementWorld` (buildings,
communities, the plan) is small by comparison and is **broadcast** to every worker once. Each partition is
placed by :func:`gridmap.domain.placement.place` — the very function of the single-process path — so the answer
is identical, duplicates included: a first pass collects, per partition, the record ids that occur more
than once in the whole input, and each partition treats the ids of earlier partitions as ``seen_ids``.

Usage (see ``docs/placement.md``)::

    import dask_geopandas, distributed
    client = distributed.Client("tcp://scheduler:8786")          # or distributed.LocalCluster()
    records = dask_geopandas.read_parquet("households/*.parquet")  # EPSG:4326 points, column id
    placed = place_dask(records, world, client=client)            # lazy dask-geopandas frame
    placed.to_parquet("placed/")                                  # or summary(placed)
"""

from __future__ import annotations

from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from gridmap.domain.placement import DEFAULT_TOLERANCE_M, OUTCOMES, PlacementWorld, place


def _place_partition(
    part: pd.DataFrame, world: PlacementWorld, seen: list[str] | None, tolerance_m: float
) -> pd.DataFrame:
    frame = place(part, world, tolerance_m=tolerance_m, seen_ids=seen or None).frame
    # reasons differ between partitions: plain strings keep the partitions' dtypes alike
    frame["reason"] = frame["reason"].astype(object)
    frame.attrs = {}  # dask-geopandas' read_parquet puts a GeoSeries (spatial_partitions) in attrs; drop it
    return frame


def _duplicate_ids(ids: pd.Series, dups: set[str]) -> set[str]:
    if not dups:
        return set()
    present = ids.dropna().astype(str)
    return set(present[present.isin(dups)].unique())


def place_dask(
    records: dd.DataFrame, world: PlacementWorld, *, tolerance_m: float = DEFAULT_TOLERANCE_M, client: Any = None
) -> dd.DataFrame:
    """Place a dask(-geopandas) frame of records; returns a lazy frame like :func:`place`'s ``frame``.

    Parameters
    ----------
    records
        Partitioned records (``dask_geopandas.GeoDataFrame`` with point geometry, or a dask DataFrame
        with ``building_id``/``room`` columns). Partitions are placed in order; the first copy of a
        duplicated id (in partition order, then row order) is the one placed.
    world
        Built once on the client and broadcast to the workers (``client.scatter(..., broadcast=True)``).
    client
        A ``distributed.Client``; ``None`` uses the current dask scheduler.
    """
    parts = records.to_delayed()
    seen: list[list[str] | None] = [None] * len(parts)
    if "id" in records.columns:
        counts = records["id"].dropna().astype(str).value_counts().compute()
        dups = set(counts.index[counts.to_numpy() > 1])
        if dups:
            id_parts = records["id"].to_delayed()
            present = dask.compute(*[dask.delayed(_duplicate_ids)(p, dups) for p in id_parts])
            before: set[str] = set()
            for i, got in enumerate(present):
                seen[i] = sorted(before) if before else None
                before |= got
    shared = client.scatter(world, broadcast=True, hash=False) if client is not None else dask.delayed(world, pure=True)
    meta = _place_partition(records._meta, world, None, tolerance_m)
    run = dask.delayed(_place_partition, pure=True)
    placed = [run(p, shared, s, tolerance_m) for p, s in zip(parts, seen)]
    return dd.from_delayed(placed, meta=meta, verify_meta=False)


def summary(placed: dd.DataFrame) -> dict[str, int]:
    """Counts by outcome of a :func:`place_dask` result (computes it)."""
    counts = placed["placement"].astype(str).value_counts().compute()
    out = {k: int(counts.get(k, 0)) for k in OUTCOMES}
    out["total"] = int(np.sum(list(out.values())))
    return out
