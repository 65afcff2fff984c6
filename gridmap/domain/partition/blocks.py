"""Blocks between barriers: the pieces of a community that barrier lines (roads, rivers, railways, walls) cut
it into. Where the bounds allow, grids never cross a barrier: each block that can be divided into grids within
the bounds is partitioned on its own; a block that cannot (fewer households than the minimum, or no count of
grids fits) is joined to the neighbouring block it shares the longest barrier with, until every block fits or
no neighbour is left. Overlapping buildings (tied pairs) are never separated. Pure numpy/scipy.
"""

from __future__ import annotations

import math

import numpy as np

from gridmap.domain.partition.graph import BARRIER, _components


def feasible(total: float, lo: int, hi: int) -> bool:
    """Whether ``total`` households can form whole grids of ``[lo, hi]`` households each."""
    if total < lo:
        return False
    return total <= hi or math.ceil(total / hi) <= math.floor(total / lo)


def barrier_blocks(
    households: np.ndarray,
    edges: np.ndarray,
    length: np.ndarray,
    kind: np.ndarray,
    tied: np.ndarray,
    lo: int,
    hi: int,
) -> np.ndarray:
    """A block label (0..B-1) per building (see the module docstring); all zeros when there is one block."""
    n = len(households)
    if n == 0 or not (kind == BARRIER).any():
        return np.zeros(n, dtype=np.int64)
    soft = edges[kind != BARRIER]
    joined = np.vstack([soft, np.asarray(tied, dtype=np.int64).reshape(-1, 2)])
    nb, block = _components(n, joined)
    if nb == 1:
        return np.zeros(n, dtype=np.int64)
    bar = edges[kind == BARRIER]
    bar_len = length[kind == BARRIER]
    block = block.astype(np.int64)
    stuck: set[int] = set()
    for _ in range(nb):
        present = np.unique(block)
        weight = np.bincount(block, weights=households, minlength=nb)
        order = present[np.argsort(weight[present], kind="stable")]
        bad = [b for b in order if b not in stuck and not feasible(weight[b], lo, hi)]
        if not bad or len(present) == 1:
            break
        b = int(bad[0])
        a, c = block[bar[:, 0]], block[bar[:, 1]]
        touch = ((a == b) ^ (c == b)) & (a != c)
        if not touch.any():
            stuck.add(b)
            continue
        other = np.where(a[touch] == b, c[touch], a[touch])
        shared = np.bincount(other, weights=bar_len[touch], minlength=nb)
        best = int(np.argmax(shared))  # the longest shared barrier; ties: the lower label
        block[block == b] = best
        stuck = {s if s != b else best for s in stuck}
    _, renumbered = np.unique(block, return_inverse=True)
    return np.asarray(renumbered, dtype=np.int64).ravel()
