"""Partition a community's buildings into governance grids: whole buildings, [min, max] households each,
contiguous, compact, along walls and barriers, deterministic for a seed.

The buildings form a graph (neighbours = tessellation cells sharing a border). Estates that fit in one
grid are contracted into one node, so they stay whole. METIS (pymetis, household weights, contiguity
option) gives the first partition; a local search then moves boundary nodes (single moves, and
two-step chains for heavy high-rise nodes) to pull every grid within bounds and towards the
community's mean grid size, never breaking a grid in two, while a small cut-length term keeps grids
compact and cheap cuts along estate walls and barrier lines keep boundaries where the ground has them.
The number of grids follows from the bounds; where one grid more or fewer lets every grid fit, that
count is chosen. Pure numpy/scipy/pymetis; no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pymetis
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gridmap.errors import InvalidInput

#: edge kinds: an ordinary neighbour, a neighbour behind an estate wall, one across a barrier line
SOFT, WALL, BARRIER = 0, 1, 2
#: cut cost per metre of shared border, by kind: walls are cheap to cut, barriers want cutting
CUT_COST = {SOFT: 1.0, WALL: 0.1, BARRIER: -10.0}


class PartitionError(InvalidInput):
    """Inputs that cannot be partitioned (bad bounds, mismatched arrays)."""


@dataclass(frozen=True)
class CommunityGraph:
    """The buildings of one community as a graph.

    ``households[i]`` of building ``i``; ``edges`` (m, 2) with ``i < j``; ``length`` the shared border
    (m); ``kind`` SOFT/WALL/BARRIER per edge; ``group`` an estate label per building (-1: none);
    ``xy`` a point per building (to join islands and order grids).
    """

    households: np.ndarray
    edges: np.ndarray
    length: np.ndarray
    kind: np.ndarray
    group: np.ndarray
    xy: np.ndarray

    @classmethod
    def build(cls, households: Sequence[int], edges: Sequence[tuple[int, int]] | np.ndarray, *,
              length: Sequence[float] | None = None, kind: Sequence[int] | None = None,
              group: Sequence[int] | None = None, xy: np.ndarray | None = None) -> "CommunityGraph":
        h = np.asarray(households, dtype=np.int64)
        n = len(h)
        e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        if len(e) and (e.min() < 0 or e.max() >= n):
            raise PartitionError(f"an edge refers to a building outside 0..{n - 1}")
        if (h < 0).any():
            raise PartitionError(f"building {int(np.argmax(h < 0))} has negative households")
        e = np.sort(e, axis=1)
        ln = np.ones(len(e)) if length is None else np.asarray(length, dtype=float)
        kd = np.zeros(len(e), dtype=np.int8) if kind is None else np.asarray(kind, dtype=np.int8)
        gr = np.full(n, -1, dtype=np.int64) if group is None else np.asarray(group, dtype=np.int64)
        pts = np.zeros((n, 2)) if xy is None else np.asarray(xy, dtype=float)
        keep = e[:, 0] != e[:, 1]
        return cls(h, e[keep], ln[keep], kd[keep], gr, pts)


@dataclass
class CommunityPartition:
    """``labels[i]``: grid index (0..k-1) of building ``i``."""

    labels: np.ndarray
    k: int
    mean: float
    #: buildings heavier than ``max_households`` on their own: (building, households, over by)
    too_big: list[tuple[int, int, int]] = field(default_factory=list)
    #: components joined to the rest: (building indices of the island, building it was joined to)
    islands: list[tuple[list[int], int]] = field(default_factory=list)
    #: True when no count of grids lets every grid fit the bounds
    count_infeasible: bool = False

    def sizes(self, households: np.ndarray) -> np.ndarray:
        return np.bincount(self.labels, weights=households, minlength=self.k).astype(np.int64)


def grid_count(total: int, *, min_households: int, max_households: int) -> int:
    """The number of grids for ``total`` households: nearest to total / midpoint within the bounds."""
    _check_bounds(min_households, max_households)
    if total <= max_households:
        return 1
    lo, hi = math.ceil(total / max_households), max(1, total // min_households)
    k = round(total / ((min_households + max_households) / 2))
    if lo <= hi:
        return int(min(max(k, lo), hi))
    return int(lo)


def partition_community(graph: CommunityGraph, *, min_households: int = 300,
                        max_households: int = 500, seed: int = 0,
                        compactness: float = 0.02, coarsen: float = 0.05,
                        restarts: int = 3) -> CommunityPartition:
    """Split one community's buildings into grids.

    Parameters
    ----------
    graph
        The community's buildings (see :class:`CommunityGraph`).
    min_households, max_households
        Bounds on households per grid. A community with no more than ``max_households`` is one grid.
    seed
        METIS seed and local-search order: the same seed gives the same partition.
    compactness
        Weight of cut length against balance in the local search.
    coarsen
        Neighbouring small buildings (same estate or none) are merged into clusters of up to
        ``coarsen * min_households`` households before partitioning (0: no clustering).
    restarts
        Further METIS seeds tried when a grid is still out of bounds in a community whose bounds look
        feasible.

    Returns
    -------
    CommunityPartition
    """
    _check_bounds(min_households, max_households)
    h = graph.households
    n = len(h)
    total = int(h.sum())
    too_big = [(int(i), int(h[i]), int(h[i] - max_households)) for i in np.flatnonzero(h > max_households)]
    if n == 0:
        return CommunityPartition(np.zeros(0, dtype=np.int64), 0, 0.0, too_big)
    edges, length, kind, islands = _join_islands(graph)
    k0 = grid_count(total, min_households=min_households, max_households=max_households)
    lo, hi = math.ceil(total / max_households), max(1, total // min_households)
    if k0 == 1 or n == 1:
        return CommunityPartition(np.zeros(n, dtype=np.int64), 1, float(total), too_big, islands,
                                  count_infeasible=total > max_households or total < min_households)
    node_of, nodes_w, nb_edges = _contract(graph, edges, length, kind, max_households,
                                           coarsen_to=max(1, int(coarsen * min_households)))
    best = None
    infeasible = lo > hi or total < min_households
    # the count from the bounds first, then one more or fewer; then other seeds if a grid is still out
    plan = [(k, seed) for k in (k0, k0 - 1, k0 + 1)]
    if not infeasible and not too_big:
        plan += [(k, seed * 1000 + r) for r in range(1, restarts + 1) for k in (k0, k0 - 1, k0 + 1)]
    tried: set[tuple[int, int]] = set()
    for k, s in plan:
        k = min(k, len(nodes_w))
        if k < 1 or (k, s) in tried or (k != k0 and not (lo <= k <= hi or lo > hi)):
            continue
        tried.add((k, s))
        part = _solve(nodes_w, nb_edges, k, min_households, max_households, s, compactness,
                      redo=not infeasible and not too_big)
        labels = part[node_of]
        kk = int(labels.max()) + 1
        sizes = np.bincount(labels, weights=h, minlength=kk)
        mean = total / kk
        out = int(((sizes < min_households) | (sizes > max_households)).sum())
        near = float((np.abs(sizes - mean) <= 0.1 * mean).mean())
        score = (out, -near, float(sizes.std() / mean))
        if best is None or score < best[0]:
            best = (score, labels, kk, mean)
        if out == 0:
            break
    _, labels, kk, mean = best
    return CommunityPartition(labels, kk, mean, too_big, islands, count_infeasible=infeasible)


# -- graph preparation -------------------------------------------------------------------------

def _join_islands(graph: CommunityGraph):
    """Connect every component to its nearest neighbour component; report the islands."""
    n = len(graph.households)
    e, ln, kd = graph.edges, graph.length, graph.kind
    ncomp, comp = connected_components(_adj(n, e), directed=False)
    islands: list[tuple[list[int], int]] = []
    if ncomp == 1:
        return e, ln, kd, islands
    weight = np.bincount(comp, weights=graph.households + 1e-3, minlength=ncomp)
    main = int(np.argmax(weight))
    joined = comp == main
    extra = []
    # join components in order of distance to the joined set (nearest first)
    remaining = set(range(ncomp)) - {main}
    while remaining:
        tree = cKDTree(graph.xy[joined])
        idx_joined = np.flatnonzero(joined)
        cand = np.flatnonzero(~joined)
        dist, near = tree.query(graph.xy[cand])
        pick = int(np.argmin(dist))
        c = int(comp[cand[pick]])
        members = np.flatnonzero(comp == c)
        # nearest pair between this component and the joined set
        d2, n2 = tree.query(graph.xy[members])
        a = int(members[np.argmin(d2)])
        b = int(idx_joined[n2[np.argmin(d2)]])
        extra.append((min(a, b), max(a, b)))
        islands.append((members.tolist(), b))
        joined[members] = True
        remaining.discard(c)
    e = np.vstack([e, np.array(extra, dtype=np.int64)])
    ln = np.concatenate([ln, np.ones(len(extra))])
    kd = np.concatenate([kd, np.full(len(extra), WALL, dtype=np.int8)])
    return e, ln, kd, islands


def _adj(n: int, e: np.ndarray):
    return coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()


def _contract(graph: CommunityGraph, e, ln, kd, max_households, coarsen_to: int = 1):
    """Contract every connected piece of an estate that fits in one grid into one node, then merge
    neighbouring light nodes (never across a wall or barrier) up to ``coarsen_to`` households."""
    n = len(graph.households)
    g = graph.group
    gw = {}
    if (g >= 0).any():
        labels, inv = np.unique(g[g >= 0], return_inverse=True)
        sums = np.bincount(inv, weights=graph.households[g >= 0])
        gw = dict(zip(labels.tolist(), sums.tolist()))
    fits = np.array([gi >= 0 and gw.get(int(gi), math.inf) <= max_households for gi in g]) \
        if len(gw) else np.zeros(n, dtype=bool)
    same = (g[e[:, 0]] == g[e[:, 1]]) & fits[e[:, 0]] & fits[e[:, 1]] & (kd != BARRIER)
    ncomp, node_of = connected_components(_adj(n, e[same]), directed=False)
    w = np.bincount(node_of, weights=graph.households, minlength=ncomp).astype(np.int64)
    if coarsen_to > 1:
        node_of, w, ncomp = _coarsen(node_of, w, e[kd == SOFT], ln[kd == SOFT], coarsen_to)
    a, b = node_of[e[:, 0]], node_of[e[:, 1]]
    cross = a != b
    cost = np.array([CUT_COST[int(x)] for x in range(3)])[kd[cross]] * ln[cross]
    metis_w = np.where(kd[cross] == SOFT, 1 + np.round(ln[cross]),
                       np.where(kd[cross] == WALL, 1 + np.round(0.1 * ln[cross]), 1)).astype(np.int64)
    lo, hi = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
    key = lo * ncomp + hi
    uniq, inv = np.unique(key, return_inverse=True)
    cost_u = np.bincount(inv, weights=cost)
    mw_u = np.bincount(inv, weights=metis_w).astype(np.int64)
    pairs = np.c_[uniq // ncomp, uniq % ncomp]
    return node_of, w, (pairs, cost_u, mw_u)


def _coarsen(node_of, w, e, ln, cap, rounds: int = 8):
    """Heavy-edge matching (vectorised): neighbours joined by a soft edge whose combined households
    stay within ``cap`` merge pairwise, round after round, so small houses travel in clusters."""
    a, b = node_of[e[:, 0]], node_of[e[:, 1]]
    score = ln
    for _ in range(rounds):
        n = len(w)
        ok = (a != b) & (w[a] + w[b] <= cap)
        if not ok.any():
            break
        a, b, score = a[ok], b[ok], score[ok]
        # best partner of each node: the longest shared border (ties: lower id)
        src = np.concatenate([a, b])
        dst = np.concatenate([b, a])
        sc = np.concatenate([score, score])
        order = np.lexsort((dst, -sc, src))
        first = np.unique(src[order], return_index=True)[1]
        best = np.full(n, -1, dtype=np.int64)
        best[src[order][first]] = dst[order][first]
        mutual = np.flatnonzero((best >= 0) & (best[np.maximum(best, 0)] == np.arange(n)))
        mutual = mutual[mutual < best[mutual]]
        if len(mutual) < max(1, n // 50):
            break
        m = coo_matrix((np.ones(len(mutual)), (mutual, best[mutual])), shape=(n, n))
        k, merged = connected_components(m, directed=False)
        node_of = merged[node_of]
        w = np.bincount(merged, weights=w, minlength=k).astype(np.int64)
        a, b = merged[a], merged[b]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo != hi
        key, inv = np.unique(lo[keep] * k + hi[keep], return_inverse=True)
        score = np.bincount(inv, weights=score[keep])
        a, b = key // k, key % k
    return node_of, w, len(w)


# -- solving -----------------------------------------------------------------------------------

def _solve(w, nb_edges, k, lo, hi, seed, compactness, redo=True):
    pairs, cost, mw = nb_edges
    n = len(w)
    if k <= 1:
        return np.zeros(n, dtype=np.int64)
    part = metis_partition(n, pairs, w, mw, k, seed=seed)
    part = _repair_contiguity(part, pairs, w)
    k = int(part.max()) + 1
    search = _Search(part, w, pairs, cost, mw, lo=lo, hi=hi, mean=float(w.sum()) / k, seed=seed,
                     compactness=compactness)
    search.run(redo=redo)
    return np.asarray(search.st.part, dtype=np.int64)


def metis_partition(n: int, pairs: np.ndarray, weights: np.ndarray, eweights: np.ndarray | None,
                    k: int, *, seed: int = 0, contiguous: bool = True) -> np.ndarray:
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
    opts = pymetis.Options(seed=int(seed), contig=1 if contiguous else 0)
    _, parts = pymetis.part_graph(
        int(k), pymetis.CSRAdjacency(xadj, adjncy), vweights=np.maximum(weights, 1).astype(np.int32),
        eweights=None if ew is None else np.maximum(ew[order], 1).astype(np.int32), options=opts)
    parts = np.asarray(parts, dtype=np.int64)
    _, parts = np.unique(parts, return_inverse=True)  # drop empty parts
    return parts.ravel()


def _repair_contiguity(part, pairs, w):
    """Give every detached piece of a grid to the neighbouring grid it touches most."""
    n = len(part)
    if n < 400 and _contiguous_small(part, pairs):
        return part
    for _ in range(n):
        inside = part[pairs[:, 0]] == part[pairs[:, 1]]
        ncomp, comp = connected_components(_adj(n, pairs[inside]), directed=False)
        if ncomp == part.max() + 1:
            return part
        weight = np.bincount(comp, weights=w + 1e-3, minlength=ncomp)
        keep = {}
        for c in np.argsort(-weight, kind="stable"):
            gid = part[np.argmax(comp == c)]
            keep.setdefault(int(gid), int(c))
        kept = np.isin(comp, list(keep.values()))
        stray = ~kept
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


def _contiguous_small(part, pairs) -> bool:
    """Every part is one connected piece (union-find in Python: cheaper than scipy for small graphs)."""
    parent = list(range(len(part)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    pl = part.tolist()
    for a, b in pairs.tolist():
        if pl[a] == pl[b]:
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    roots: dict[int, int] = {}
    for v, g in enumerate(pl):
        r = find(v)
        if roots.setdefault(g, r) != r:
            return False
    return True


class _Search:
    """Local search over one community's partition, lowering

    sum over grids of ((s - mean) / mean)**2 + penalty * households outside [lo, hi] / mean
    + compactness * (cut cost) / (cut cost of a typical grid),

    by single boundary moves, two-step chains (push/pull through a neighbour, swaps) and, for grids
    still out of bounds or far off, re-partitioning the grid with its neighbours by METIS.
    Every step keeps every grid one piece.
    """

    def __init__(self, part, w, pairs, cost, mw, *, lo, hi, mean, seed, compactness,
                 max_passes: int = 12, chain_at: float = 0.1, redo_at: float = math.inf):
        n = len(w)
        k = int(part.max()) + 1
        self.w, self.pairs, self.cost, self.mw = w, pairs, cost, mw
        self.lo, self.hi, self.m = lo, hi, mean
        self.seed, self.max_passes, self.chain_at, self.redo_at = seed, max_passes, chain_at, redo_at
        nb: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for (a, b), c in zip(pairs.tolist(), cost.tolist()):
            nb[a].append((b, c))
            nb[b].append((a, c))
        self.wl = w.tolist()
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
        self.st = _State(part.tolist(), np.bincount(part, weights=w, minlength=k).tolist(), nb, k)
        self.rank = np.random.default_rng(seed).permutation(n)

    def _boundary(self) -> set:
        part = np.asarray(self.st.part)
        cut = part[self.pairs[:, 0]] != part[self.pairs[:, 1]]
        return set(np.unique(self.pairs[cut]).tolist())

    def sweeps(self, todo: set) -> None:
        for _ in range(self.max_passes):
            todo = _sweep(self.st, todo, self.rank, self.wl, self.bal, self.lam)
            if not todo:
                break

    def off(self, g: int, at: float) -> bool:
        s = self.st.size[g]
        return abs(s - self.m) > at * self.m or not self.lo <= s <= self.hi

    def run(self, *, redo: bool = True) -> None:
        st, m = self.st, self.m
        self.sweeps(self._boundary())
        for _ in range(4):
            moved = 0
            for g in sorted(range(len(st.size)), key=lambda g: -abs(st.size[g] - m)):
                if self.off(g, self.chain_at):
                    moved += _try_chain(st, g, self.wl, self.bal, self.lam, m)
            if not moved:
                break
            self.sweeps(self._boundary())
        for g in range(len(st.size)):
            if redo and self.off(g, self.redo_at):
                self.repartition(g)

    def repartition(self, g: int, tries: int = 4) -> bool:
        """Re-split grid ``g`` and its neighbour grids together; keep the best split if it is better."""
        st = self.st
        grids = sorted({st.part[u] for v in st.members[g] for u, _ in st.nb[v]} | {g})
        nodes = np.array(sorted(x for h in grids for x in st.members[h]))
        if len(nodes) <= len(grids):
            return False
        local = {v: i for i, v in enumerate(nodes.tolist())}
        inside = np.isin(self.pairs[:, 0], nodes) & np.isin(self.pairs[:, 1], nodes)
        sub = np.array([[local[a], local[b]] for a, b in self.pairs[inside].tolist()], dtype=np.int64)
        sub = sub.reshape(-1, 2)
        cost, mw, w = self.cost[inside], self.mw[inside], self.w[nodes]
        cur = np.array([grids.index(st.part[v]) for v in nodes.tolist()])
        best = self._cost(cur, sub, cost, w, len(grids))
        found = None
        for t in range(tries):
            part = metis_partition(len(nodes), sub, w, mw, len(grids), seed=self.seed * 7919 + t)
            part = _repair_contiguity(part, sub, w)
            if part.max() + 1 != len(grids):
                continue
            inner = _Search(part, w, sub, cost, mw, lo=self.lo, hi=self.hi, mean=self.m,
                            seed=self.seed + t, compactness=0.0, redo_at=np.inf)
            inner.lam = self.lam
            inner.sweeps(inner._boundary())
            part = np.asarray(inner.st.part)
            c = self._cost(part, sub, cost, w, len(grids))
            if c < best - 1e-9:
                best, found = c, part
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


def _sweep(st, todo, rank, wl, bal, lam) -> set:
    """Try a move for every node in ``todo`` (in seeded order); return the neighbours of movers."""
    touched: set[int] = set()
    for v in sorted(todo, key=rank.__getitem__):
        if _try_move(st, v, wl, bal, lam):
            touched.add(v)
            touched.update(u for u, _ in st.nb[v])
    return touched


class _State:
    __slots__ = ("part", "size", "nb", "members")

    def __init__(self, part, size, nb, k):
        self.part, self.size, self.nb = part, size, nb
        self.members = [set() for _ in range(k)]
        for v, g in enumerate(part):
            self.members[g].add(v)

    def conn(self, v):
        out: dict[int, float] = {}
        part = self.part
        for u, c in self.nb[v]:
            g = part[u]
            out[g] = out.get(g, 0.0) + c
        return out

    def stays_connected(self, v, g, also=None):
        """Grid ``g`` without ``v`` (and ``also``) is still one piece and not empty."""
        mem = self.members[g]
        gone = {v} if also is None else {v, also}
        if len(mem) <= len(gone):
            return False
        part = self.part
        targets = {u for x in gone for u, _ in self.nb[x] if part[u] == g and u not in gone}
        if len(targets) <= 1 and also is None:
            return True
        if not targets:
            return False
        start = next(iter(targets))
        seen = {start}
        stack = [start]
        found = 1
        need = len(targets)
        while stack and found < need:
            x = stack.pop()
            for u, _ in self.nb[x]:
                if u not in seen and part[u] == g and u not in gone:
                    seen.add(u)
                    stack.append(u)
                    if u in targets:
                        found += 1
        if found < need:
            return False
        if also is not None:
            # every remaining member must still be reached from the rest
            return _all_reached(self, g, gone)
        return True

    def move(self, v, b, wv):
        a = self.part[v]
        self.part[v] = b
        self.size[a] -= wv
        self.size[b] += wv
        self.members[a].discard(v)
        self.members[b].add(v)


def _all_reached(st: _State, g, gone):
    mem = [x for x in st.members[g] if x not in gone]
    if not mem:
        return False
    part = st.part
    seen = {mem[0]}
    stack = [mem[0]]
    while stack:
        x = stack.pop()
        for u, _ in st.nb[x]:
            if u not in seen and part[u] == g and u not in gone:
                seen.add(u)
                stack.append(u)
    return len(seen) == len(mem)


def _try_move(st: _State, v, wl, bal, lam) -> int:
    a = st.part[v]
    conn = st.conn(v)
    if len(conn) == 1 and a in conn:
        return 0
    wv = wl[v]
    sa = st.size[a]
    ca = conn.get(a, 0.0)
    da = bal(sa - wv) - bal(sa)
    best, target = -1e-12, -1
    for g, cg in conn.items():
        if g == a:
            continue
        d = da + bal(st.size[g] + wv) - bal(st.size[g]) + lam * (ca - cg)
        if d < best:
            best, target = d, g
    if target < 0 or not st.stays_connected(v, a):
        return 0
    st.move(v, target, wv)
    return 1


def _try_chain(st: _State, g, wl, bal, lam, m, top: int = 6) -> int:
    """Grid ``g`` too big: push v to neighbour b, which passes u on to c. Too small: pull v from
    neighbour b, which pulls x from c. Both moves are made only if together they lower the cost."""
    over = st.size[g] > m
    part, size = st.part, st.size
    firsts = []
    seen = set()
    for y in st.members[g]:
        for u, _ in st.nb[y]:
            b = part[u]
            if b == g:
                continue
            v, a, to = (y, g, b) if over else (u, b, g)
            if (v, to) in seen:
                continue
            seen.add((v, to))
            wv = wl[v]
            cv = st.conn(v)
            d1 = (bal(size[a] - wv) - bal(size[a]) + bal(size[to] + wv) - bal(size[to])
                  + lam * (cv.get(a, 0.0) - cv.get(to, 0.0)))
            firsts.append((d1, v, a, to))
    firsts.sort()
    best = (-1e-12, None)
    for d1, v, a, to in firsts[:top]:
        wv = wl[v]
        hub = to if over else a            # the neighbour grid that passes on / pulls in
        s_hub = size[hub] + (wv if over else -wv)
        if over:   # u: hub -> c
            cands = ((u, hub, c, cc, cu) for u in st.members[hub] if u != v
                     for cu in (st.conn(u),) for c, cc in cu.items() if c != hub)
        else:      # x: c -> hub
            cands = ((x, part[x], hub, 0.0, cx) for x in {z for y in st.members[hub] for z, _ in st.nb[y]}
                     if x != v and part[x] != hub for cx in (st.conn(x),))
        for u, frm, dst, _, cu in cands:
            wu = wl[u]
            if over:
                sd = size[dst] - wv if dst == a else size[dst]
                d2 = (bal(s_hub - wu) - bal(s_hub) + bal(sd + wu) - bal(sd)
                      + lam * (cu.get(frm, 0.0) - cu.get(dst, 0.0)))
            else:
                sf = size[frm] + wv if frm == to else size[frm]
                d2 = (bal(s_hub + wu) - bal(s_hub) + bal(sf - wu) - bal(sf)
                      + lam * (cu.get(frm, 0.0) - cu.get(dst, 0.0)))
            if d1 + d2 < best[0]:
                best = (d1 + d2, (v, a, to, u, frm, dst))
    if best[1] is None:
        return 0
    v, a, to, u, frm, dst = best[1]
    if not st.stays_connected(v, a):
        return 0
    st.move(v, to, wl[v])
    if st.part[u] != frm or not st.stays_connected(u, frm) or \
            not any(st.part[x] == dst for x, _ in st.nb[u]):
        st.move(v, a, wl[v])
        return 0
    st.move(u, dst, wl[u])
    return 1


def _check_bounds(lo: int, hi: int) -> None:
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer))):
        raise PartitionError(f"household bounds must be integers, got {lo!r} and {hi!r}")
    if lo < 1 or hi < lo:
        raise PartitionError(f"household bounds must satisfy 1 <= min <= max, got [{lo}, {hi}]")


# -- a whole world -----------------------------------------------------------------------------

@dataclass
class WorldPartition:
    """``labels``: building id -> (community id, grid index); per community its CommunityPartition."""

    grid_of: dict[str, tuple[str, int]]
    communities: dict[str, CommunityPartition]
    building_ids: dict[str, list[str]]


def edge_kinds(buildings, cells, adj, barriers=None) -> np.ndarray:
    """SOFT/WALL/BARRIER per adjacency pair: WALL when the two buildings lie in different estates
    (or one in none), BARRIER when the segment between their cells' seeds crosses a barrier line."""
    import shapely

    kind = np.zeros(len(adj), dtype=np.int8)
    if not len(adj):
        return kind
    i, j = adj["i"].to_numpy(), adj["j"].to_numpy()
    est = buildings["estate_id"].to_numpy(dtype=object) if "estate_id" in buildings else \
        np.full(len(buildings), None, dtype=object)
    est = np.array([None if (x is None or x != x) else x for x in est], dtype=object)
    kind[est[i] != est[j]] = WALL
    if barriers is not None and len(barriers):
        pts = shapely.point_on_surface(buildings.geometry.values)
        segs = shapely.linestrings(np.stack([shapely.get_coordinates(pts[i]),
                                             shapely.get_coordinates(pts[j])], axis=1))
        tree = shapely.STRtree(barriers.geometry.values)
        hit, _ = tree.query(segs, predicate="intersects")
        kind[np.unique(hit)] = BARRIER
    return kind


def partition_world(buildings, adj, kind, *, bounds: dict[str, tuple[int, int]],
                    default_bounds: tuple[int, int] = (300, 500), seed: int = 0,
                    communities: Sequence[str] | None = None) -> WorldPartition:
    """Partition every community of ``buildings`` (rows aligned with the cells behind ``adj``).

    ``buildings``: ``id``, ``community_id``, ``households``, optional ``estate_id``, geometry in a
    projected CRS. ``adj``: :func:`gridmap.domain.tessellation.adjacency` of the buildings' cells;
    ``kind``: :func:`edge_kinds`. ``bounds``: community id -> (min, max), else ``default_bounds``.
    """
    import shapely

    com = buildings["community_id"].to_numpy(dtype=object)
    hh = buildings["households"].fillna(0).to_numpy(dtype=np.int64)
    ids = buildings["id"].to_numpy(dtype=object)
    xy = shapely.get_coordinates(shapely.point_on_surface(buildings.geometry.values))
    est = buildings["estate_id"] if "estate_id" in buildings else None
    group = (np.full(len(buildings), -1) if est is None else
             np.where(est.isna(), -1, est.astype("category").cat.codes)).astype(np.int64)
    i, j = adj["i"].to_numpy(), adj["j"].to_numpy()
    length = adj["length"].to_numpy()
    order = np.argsort(com.astype(str), kind="stable")
    uniq, start = np.unique(com[order].astype(str), return_index=True)
    local = np.empty(len(buildings), dtype=np.int64)
    grid_of: dict[str, tuple[str, int]] = {}
    results: dict[str, CommunityPartition] = {}
    members: dict[str, list[str]] = {}
    ecom = com[i].astype(str) if len(i) else np.array([], dtype=str)
    eorder = np.argsort(ecom, kind="stable")
    euniq, estart = np.unique(ecom[eorder], return_index=True)
    eranges = dict(zip(euniq, zip(estart, list(estart[1:]) + [len(eorder)])))
    wanted = None if communities is None else set(communities)
    for c, s, e in zip(uniq, start, list(start[1:]) + [len(order)]):
        if wanted is not None and c not in wanted:
            continue
        idx = order[s:e]
        local[idx] = np.arange(len(idx))
        es, ee = eranges.get(c, (0, 0))
        sel = eorder[es:ee]
        graph = CommunityGraph.build(hh[idx], np.c_[local[i[sel]], local[j[sel]]],
                                     length=length[sel], kind=kind[sel], group=group[idx], xy=xy[idx])
        lo, hi = bounds.get(c, default_bounds)
        res = partition_community(graph, min_households=int(lo), max_households=int(hi), seed=seed)
        results[c] = res
        members[c] = ids[idx].tolist()
        for b, lab in zip(members[c], res.labels.tolist()):
            grid_of[b] = (c, lab)
    return WorldPartition(grid_of, results, members)
