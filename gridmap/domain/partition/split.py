"""The first split of a community's graph: METIS k-way (pymetis, vertex and edge weights, contiguity
option), then every detached piece of a grid handed to the neighbour it touches most.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pymetis

from gridmap.domain.partition.graph import _components
from gridmap.quiet import quiet_fds


def metis_partition(
    n: int,
    pairs: np.ndarray,
    weights: np.ndarray,
    eweights: np.ndarray | None,
    k: int,
    *,
    seed: int = 0,
    contiguous: bool = True,
) -> np.ndarray:
    """METIS k-way partition (pymetis) with vertex weights and the contiguity option."""
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64)
    if k >= n:
        return np.arange(n, dtype=np.int64)
    src = np.concatenate([pairs[:, 0], pairs[:, 1]])
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
    ew = None if eweights is None else np.concatenate([eweights, eweights])
    order = np.argsort(src, kind="stable")
    adjncy = dst[order].astype(np.int32)
    xadj = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).astype(np.int32)
    opts = _options(int(seed), contiguous)
    with quiet_fds():  # METIS prints its own complaints to the C stdout; gridmap's report says what matters
        _, membership = pymetis.part_graph(
            int(k),
            pymetis.CSRAdjacency(xadj, adjncy),
            vweights=np.maximum(weights, 1).astype(np.int32),
            eweights=None if ew is None else np.maximum(ew[order], 1).astype(np.int32),
            options=opts,
        )
    parts = np.asarray(membership, dtype=np.int64)
    present = np.bincount(parts, minlength=k) > 0
    if present.all():
        return parts
    return (np.cumsum(present) - 1)[parts]  # drop empty parts, keeping the order of the rest


@lru_cache(maxsize=64)
def _options(seed: int, contiguous: bool) -> pymetis.Options:
    return pymetis.Options(seed=seed, contig=1 if contiguous else 0)


def _repair_contiguity(part, pairs, w):
    """Give every detached piece of a grid to the neighbouring grid it touches most."""
    n = len(part)
    for _ in range(n):
        inside = part[pairs[:, 0]] == part[pairs[:, 1]]
        ncomp, comp = _components(n, pairs[inside])
        if ncomp == part.max() + 1:
            return part
        weight = np.bincount(comp, weights=w + 1e-3, minlength=ncomp)
        # per grid, its heaviest piece (ties: the lower piece label) stays
        first = np.full(ncomp, n, dtype=np.int64)
        np.minimum.at(first, comp, np.arange(n))
        order = np.argsort(-weight, kind="stable")
        _, pos = np.unique(part[first[order]], return_index=True)
        kept_comp = np.zeros(ncomp, dtype=bool)
        kept_comp[order[pos]] = True
        stray = ~kept_comp[comp]
        # move one stray piece at a time to a neighbouring grid
        cross = ~inside & (stray[pairs[:, 0]] ^ stray[pairs[:, 1]])
        if not cross.any():
            return part
        a, b = pairs[cross][0]
        s, t = (a, b) if stray[a] else (b, a)
        part = part.copy()
        part[comp == comp[s]] = part[t]
        _, part = np.unique(part, return_inverse=True)
        part = part.ravel()
    return part
