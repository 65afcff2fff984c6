"""Partition a community's buildings into governance grids: whole buildings, [min, max] households each,
contiguous, compact, along walls and barriers, deterministic for a seed.

The buildings form a graph (neighbours = tessellation cells sharing a border). Estates that fit in one
grid are contracted into one node, so they stay whole (:mod:`.graph`). METIS (pymetis, household weights,
contiguity option) gives the first partition (:mod:`.split`); a local search then moves boundary nodes
(single moves, and two-step chains for heavy high-rise nodes) to pull every grid within bounds and towards
the community's mean grid size, never breaking a grid in two, while a small cut-length term keeps grids
compact and cheap cuts along estate walls and barrier lines keep boundaries where the ground has them
(:mod:`.search`). The number of grids follows from the bounds; where one grid more or fewer lets every grid
fit, that count is chosen (:mod:`.community`). The hot loops are compiled by numba (:mod:`.kernels`).
Pure numpy/scipy/pymetis/numba; no I/O.

The names below are the package's public API.
"""

from gridmap.domain.partition.community import (
    CommunityPartition,
    WorldPartition,
    grid_count,
    partition_community,
    partition_world,
    warm_up,
)
from gridmap.domain.partition.graph import BARRIER, CUT_COST, SOFT, WALL, CommunityGraph, PartitionError, edge_kinds
from gridmap.domain.partition.split import metis_partition

__all__ = [
    "SOFT",
    "WALL",
    "BARRIER",
    "CUT_COST",
    "PartitionError",
    "CommunityGraph",
    "CommunityPartition",
    "WorldPartition",
    "grid_count",
    "partition_community",
    "metis_partition",
    "edge_kinds",
    "partition_world",
    "warm_up",
]
