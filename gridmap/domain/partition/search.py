"""Local search over one community's partition: boundary moves, two-step chains and re-partitioning of a
grid with its neighbours, each keeping every grid one piece (see :class:`_Search`).
"""

from __future__ import annotations

import math

import numpy as np

from gridmap.domain.partition.kernels import bal, boundary_nodes, local_search, sweep_moves
from gridmap.domain.partition.split import _repair_contiguity, metis_partition

#: a chain weighs the best few first moves of a grid, in up to this many rounds of chains
CHAIN_TOP, CHAIN_ROUNDS = 6, 4


class _Search:
    """Local search over one community's partition, lowering

    sum over grids of ((s - mean) / mean)**2 + penalty * households outside [lo, hi] / mean
    + compactness * (cut cost) / (cut cost of a typical grid),

    by single boundary moves, two-step chains (push/pull through a neighbour, swaps) and, for grids
    still out of bounds or far off, re-partitioning the grid with its neighbours by METIS.
    Every step keeps every grid one piece.
    """

    def __init__(
        self,
        part,
        w,
        pairs,
        cost,
        mw,
        *,
        lo,
        hi,
        mean,
        seed,
        compactness,
        max_passes: int = 12,
        chain_at: float = 0.05,
        redo_at: float = math.inf,
    ):
        n = len(w)
        k = int(part.max()) + 1
        self.w, self.pairs, self.cost, self.mw = w, pairs, cost, mw
        self.lo, self.hi, self.m = lo, hi, mean
        self.seed, self.max_passes, self.chain_at, self.redo_at = seed, max_passes, chain_at, redo_at
        self.csr = _csr(n, pairs, cost)
        self.wf = w.astype(np.float64)
        scale = max(float(np.abs(cost).sum()) / k, 1e-9)
        self.lam = compactness / scale
        # the terms of the balance cost (:func:`.kernels.bal`): mean, 1 / mean, bounds, penalty per household out
        self.prm = np.array([mean, 1.0 / mean, lo, hi, 100.0 / mean], dtype=np.float64)
        # the state: grid per node, households and nodes per grid (the kernels update them in place)
        self.part = np.array(part, dtype=np.int64)
        self.size = np.bincount(self.part, weights=w, minlength=k).astype(np.float64)
        self.count = np.bincount(self.part, minlength=k).astype(np.int64)
        # nodes in the seeded visiting order (a node's key is its place in a seeded permutation)
        self.byrank = np.argsort(np.random.default_rng(seed).permutation(n))

    def bal(self, s: float) -> float:
        """The balance term of a grid of ``s`` households (:func:`.kernels.bal`)."""
        return bal(s, self.prm)

    def labels(self) -> np.ndarray:
        """The grid of every node now."""
        return self.part.copy()

    def sweeps(self) -> None:
        """Single boundary moves (:func:`.kernels.sweep_moves`, compiled), starting from every node on a
        grid boundary, until a pass moves nothing."""
        indptr, indices, costs = self.csr
        sweep_moves(
            self.part, self.size, self.count, indptr, indices, costs, self.wf, self.byrank,
            boundary_nodes(self.part, indptr, indices), self.prm, self.lam, self.max_passes,
        )  # fmt: skip

    def off(self, g: int, at: float) -> bool:
        s = float(self.size[g])
        return abs(s - self.m) > at * self.m or not self.lo <= s <= self.hi

    def run(self, *, redo: bool = True) -> None:
        """Sweeps, then rounds of two-step chains for the grids off the mean by more than ``chain_at`` of it
        (each round followed by sweeps) — :func:`.kernels.local_search`: a grid too big pushes a node to a
        neighbour grid, which passes one on; too small pulls one in, whose grid pulls one from a third; both
        moves only if together they lower the cost, first met winning ties — then a re-split of every grid
        still out of bounds (or off by more than ``redo_at``) with its neighbours."""
        indptr, indices, costs = self.csr
        local_search(
            self.part, self.size, self.count, indptr, indices, costs, self.wf, self.byrank, self.prm, self.lam,
            self.max_passes, self.chain_at, CHAIN_TOP, CHAIN_ROUNDS,
        )  # fmt: skip
        if redo:
            for g in range(len(self.size)):
                if self.off(g, self.redo_at):
                    self.repartition(g)

    def repartition(self, g: int, tries: int = 2) -> bool:
        """Re-split grid ``g`` and its neighbour grids together; keep the best split if it is better."""
        indptr, indices, _ = self.csr
        mine = np.flatnonzero(self.part == g)
        around = indices[np.concatenate([np.arange(indptr[v], indptr[v + 1]) for v in mine.tolist()])]
        grids = np.union1d(self.part[around], [g])
        nodes = np.flatnonzero(np.isin(self.part, grids))
        if len(nodes) <= len(grids):
            return False
        local = np.full(len(self.part), -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        lp = local[self.pairs]
        inside = (lp[:, 0] >= 0) & (lp[:, 1] >= 0)
        sub = lp[inside].reshape(-1, 2)
        cost, mw, w = self.cost[inside], self.mw[inside], self.w[nodes]
        cur = np.searchsorted(grids, self.part[nodes])
        best = self._cost(cur, sub, cost, w, len(grids))
        found = None
        for t in range(tries):
            part = metis_partition(len(nodes), sub, w, mw, len(grids), seed=self.seed * 7919 + t)
            part = _repair_contiguity(part, sub, w)
            if part.max() + 1 != len(grids):
                continue
            inner = _Search(
                part,
                w,
                sub,
                cost,
                mw,
                lo=self.lo,
                hi=self.hi,
                mean=self.m,
                seed=self.seed + t,
                compactness=0.0,
                redo_at=np.inf,
            )
            inner.lam = self.lam
            inner.sweeps()
            part = inner.labels()
            c = self._cost(part, sub, cost, w, len(grids))
            if c < best - 1e-9:
                best, found = c, part
                sizes = np.bincount(part, weights=w, minlength=len(grids))
                if ((sizes >= self.lo) & (sizes <= self.hi)).all():
                    break  # every grid of the group in bounds: good enough, spare the other tries
        if found is None:
            return False
        self.part[nodes] = grids[found]
        k = len(self.size)
        self.size[:] = np.bincount(self.part, weights=self.w, minlength=k)  # whole households: exact sums
        self.count[:] = np.bincount(self.part, minlength=k)
        return True

    def _cost(self, part, pairs, cost, w, k) -> float:
        sizes = np.bincount(part, weights=w, minlength=k)
        cut = part[pairs[:, 0]] != part[pairs[:, 1]]
        return sum(self.bal(s) for s in sizes.tolist()) + self.lam * float(cost[cut].sum())


def _csr(n: int, pairs: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The graph as CSR (indptr, neighbour, cut cost): per node its neighbours in ascending order (one integer
    sort; a pair listed twice stays twice)."""
    src = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.int64)
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.int64)
    order = np.argsort(src * max(n, 1) + dst, kind="stable")  # by node, then neighbour
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).astype(np.int64)
    costs = np.concatenate([cost, cost]).astype(np.float64)[order]
    return indptr, dst[order], costs
