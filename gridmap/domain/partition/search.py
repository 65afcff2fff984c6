"""Local search over one community's partition: boundary moves, two-step chains and re-partitioning of a
grid with its neighbours, each keeping every grid one piece (see :class:`_Search`).
"""

from __future__ import annotations

import math

import numpy as np

from gridmap.domain.partition.kernels import chain_step, sweep_moves
from gridmap.domain.partition.split import _repair_contiguity, metis_partition


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
        chain_at: float = 0.1,
        redo_at: float = math.inf,
    ):
        n = len(w)
        k = int(part.max()) + 1
        self.w, self.pairs, self.cost, self.mw = w, pairs, cost, mw
        self.lo, self.hi, self.m = lo, hi, mean
        self.seed, self.max_passes, self.chain_at, self.redo_at = seed, max_passes, chain_at, redo_at
        self.csr = _csr(n, pairs, cost)
        self.wl = w.tolist()
        self.wf = w.astype(np.float64)
        scale = max(float(np.abs(cost).sum()) / k, 1e-9)
        self.lam = compactness / scale
        m, penalty = mean, 100.0 / mean

        inv = 1.0 / mean

        def bal(s: float) -> float:
            d = (s - m) * inv
            if s < lo:
                return d * d + penalty * (lo - s)
            if s > hi:
                return d * d + penalty * (s - hi)
            return d * d

        self.bal = bal
        self.prm = np.array([m, inv, lo, hi, penalty], dtype=np.float64)  # bal's terms, for the compiled sweep
        self.st = _State(part.tolist(), np.bincount(part, weights=w, minlength=k).tolist(), None, k, csr=self.csr)
        # nodes in the seeded visiting order (a node's key is its place in a seeded permutation)
        self.byrank = np.argsort(np.random.default_rng(seed).permutation(n))

    def sweeps(self) -> None:
        """Single boundary moves (:func:`.kernels.sweep_moves`, compiled), starting from every node on a
        grid boundary, until a pass moves nothing; the moves are replayed on the Python state."""
        st = self.st
        part = np.array(st.part, dtype=np.int64)
        todo = np.zeros(len(part), dtype=np.bool_)
        cut = part[self.pairs[:, 0]] != part[self.pairs[:, 1]]
        todo[self.pairs[cut].ravel()] = True
        size = np.array(st.size, dtype=np.float64)
        count = np.array([len(x) for x in st.members], dtype=np.int64)
        indptr, indices, costs = self.csr
        moves = sweep_moves(
            part, size, count, indptr, indices, costs, self.wf, self.byrank, todo, self.prm, self.lam, self.max_passes
        )
        wl = self.wl
        for v, b in moves.tolist():
            st.move(v, b, wl[v])

    def chain(self, g: int, top: int = 6) -> int:
        """Grid ``g`` too big: push v to neighbour b, which passes u on to c. Too small: pull v from
        neighbour b, which pulls x from c. Both moves are made only if together they lower the cost.

        Weighed by :func:`.kernels.chain_step` (the ``top`` best first moves, then for each the second
        step's candidates in the order of the grids' member sets, first met winning ties)."""
        st, wl = self.st, self.wl
        over = st.size[g] > self.m
        part = np.array(st.part, dtype=np.int64)
        size = np.array(st.size, dtype=np.float64)
        indptr, indices, costs = self.csr
        args = (part, size, indptr, indices, costs, self.wf, self.prm, self.lam, top)
        mem = np.fromiter(st.members[g], dtype=np.int64, count=len(st.members[g]))
        firsts = chain_step(0, mem, g, over, 0, 0, 0, 0.0, 0.0, *args)
        best, pick = -1e-12, None
        for d1, v, a, to in firsts.tolist():
            v, a, to = int(v), int(a), int(to)
            hub = to if over else a
            if over:
                cand = np.fromiter(st.members[hub], dtype=np.int64, count=len(st.members[hub]))
            else:
                nb = st.nb
                near = {z for y in st.members[hub] for z, _ in nb[y]}
                cand = np.fromiter(near, dtype=np.int64, count=len(near))
            found = chain_step(1, cand, g, over, v, a, to, d1, best, *args)
            if len(found):
                best = float(found[0, 0])
                pick = (v, a, to, int(found[0, 1]), int(found[0, 2]), int(found[0, 3]))
        if pick is None:
            return 0
        v, a, to, u, frm, dst = pick
        if not st.stays_connected(v, a):
            return 0
        st.move(v, to, wl[v])
        if st.part[u] != frm or not st.stays_connected(u, frm) or not any(st.part[x] == dst for x, _ in st.nb[u]):
            st.move(v, a, wl[v])
            return 0
        st.move(u, dst, wl[u])
        return 1

    def off(self, g: int, at: float) -> bool:
        s = self.st.size[g]
        return abs(s - self.m) > at * self.m or not self.lo <= s <= self.hi

    def run(self, *, redo: bool = True) -> None:
        st, m = self.st, self.m
        self.sweeps()
        for _ in range(4):
            moved = 0
            for g in sorted(range(len(st.size)), key=lambda g: -abs(st.size[g] - m)):
                if self.off(g, self.chain_at):
                    moved += self.chain(g)
            if not moved:
                break
            self.sweeps()
        for g in range(len(st.size)):
            if redo and self.off(g, self.redo_at):
                self.repartition(g)

    def repartition(self, g: int, tries: int = 2) -> bool:
        """Re-split grid ``g`` and its neighbour grids together; keep the best split if it is better."""
        st = self.st
        grids = sorted({st.part[u] for v in st.members[g] for u, _ in st.nb[v]} | {g})
        nodes = np.array(sorted(x for h in grids for x in st.members[h]))
        if len(nodes) <= len(grids):
            return False
        local = np.full(len(self.wl), -1, dtype=np.int64)
        local[nodes] = np.arange(len(nodes))
        lp = local[self.pairs]
        inside = (lp[:, 0] >= 0) & (lp[:, 1] >= 0)
        sub = lp[inside].reshape(-1, 2)
        cost, mw, w = self.cost[inside], self.mw[inside], self.w[nodes]
        gi = {h: i for i, h in enumerate(grids)}
        cur = np.array([gi[st.part[v]] for v in nodes.tolist()])
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
            part = np.asarray(inner.st.part)
            c = self._cost(part, sub, cost, w, len(grids))
            if c < best - 1e-9:
                best, found = c, part
                sizes = np.bincount(part, weights=w, minlength=len(grids))
                if ((sizes >= self.lo) & (sizes <= self.hi)).all():
                    break  # every grid of the group in bounds: good enough, spare the other tries
        if found is None:
            return False
        for v, p in zip(nodes.tolist(), found.tolist()):
            if st.part[v] != grids[p]:
                st.move(v, grids[p], self.wl[v])
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


def _neighbours(n: int, pairs: np.ndarray, cost: np.ndarray) -> list[list[tuple[int, float]]]:
    """Per node its (neighbour, cut cost) pairs, neighbours in ascending order."""
    return _lists(n, *_csr(n, pairs, cost))


def _lists(n: int, indptr, indices, costs) -> list[list[tuple[int, float]]]:
    bounds = indptr.tolist()
    both = list(zip(indices.tolist(), costs.tolist()))
    return [both[bounds[v] : bounds[v + 1]] for v in range(n)]


class _State:
    __slots__ = ("part", "size", "_nb", "_csr", "members")

    def __init__(self, part, size, nb, k, *, csr=None):
        """``nb``: per node its (neighbour, cut cost) pairs; or None and ``csr`` (:func:`_csr`), from which
        the lists are built when first needed (a search that only sweeps never needs them)."""
        self.part, self.size, self._nb, self._csr = part, size, nb, csr
        # each grid's members added in ascending order (a set's iteration order follows its insertions)
        p = np.asarray(part, dtype=np.int64)
        byg = np.argsort(p, kind="stable").tolist()
        ends = np.cumsum(np.bincount(p, minlength=k)).tolist() if len(p) else [0] * k
        self.members: list[set[int]] = [set(byg[(ends[g - 1] if g else 0) : ends[g]]) for g in range(k)]

    @property
    def nb(self) -> list[list[tuple[int, float]]]:
        if self._nb is None:
            self._nb = _lists(len(self.part), *self._csr)
        return self._nb

    def conn(self, v):
        out: dict[int, float] = {}
        part = self.part
        for u, c in self.nb[v]:
            g = part[u]
            out[g] = out.get(g, 0.0) + c
        return out

    def stays_connected(self, v, g):
        """Grid ``g`` without ``v`` is still one piece and not empty."""
        mem = self.members[g]
        if len(mem) <= 1:
            return False
        part = self.part
        targets = {u for u, _ in self.nb[v] if part[u] == g and u != v}
        if len(targets) <= 1:
            return True
        if self._joined_nearby(v, g, targets):
            return True
        start = next(iter(targets))
        seen = {start}
        stack = [start]
        found = 1
        need = len(targets)
        nb = self.nb
        while stack and found < need:
            x = stack.pop()
            for u, _ in nb[x]:
                if u not in seen and part[u] == g and u != v:
                    seen.add(u)
                    stack.append(u)
                    if u in targets:
                        found += 1
        return found >= need

    def _joined_nearby(self, v, g, targets) -> bool:
        """The neighbours of ``v`` in grid ``g`` reach each other within two steps of ``v`` (then ``g``
        without ``v`` is still one piece; if not, the caller searches the whole grid)."""
        part, nb = self.part, self.nb
        start = next(iter(targets))
        seen = {start}
        stack = [start]
        found = 1
        need = len(targets)
        while stack:
            x = stack.pop()
            for u, _ in nb[x]:
                if u not in seen and u != v and part[u] == g and (u in targets or x in targets):
                    seen.add(u)
                    stack.append(u)
                    if u in targets:
                        found += 1
                        if found == need:
                            return True
        return False

    def move(self, v, b, wv):
        a = self.part[v]
        self.part[v] = b
        self.size[a] -= wv
        self.size[b] += wv
        self.members[a].discard(v)
        self.members[b].add(v)
