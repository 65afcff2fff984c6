"""A community's buildings as a graph for partitioning: households per building, shared borders, edge
kinds (ordinary, estate wall, barrier line), estate groups; islands joined to the rest; estates that fit
in one grid contracted to one node and small neighbours coarsened into clusters. Pure numpy/scipy and the
compiled kernels of :mod:`.kernels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import cKDTree

from gridmap.domain.partition.graph_kernels import coarsen_rounds, components
from gridmap.errors import InvalidInput

#: edge kinds: an ordinary neighbour, a neighbour behind an estate wall, one across a barrier line
SOFT, WALL, BARRIER = 0, 1, 2
#: cut cost per metre of shared border, by kind: walls are cheap to cut, barriers want cutting
CUT_COST = {SOFT: 1.0, WALL: 0.1, BARRIER: -10.0}
_CUT_COSTS = np.array([CUT_COST[x] for x in (SOFT, WALL, BARRIER)])


class PartitionError(InvalidInput):
    """Inputs that cannot be partitioned (bad bounds, mismatched arrays)."""


@dataclass(frozen=True)
class CommunityGraph:
    """The buildings of one community as a graph.

    ``households[i]`` of building ``i``; ``edges`` (m, 2) with ``i < j``; ``length`` the shared border
    (m); ``kind`` SOFT/WALL/BARRIER per edge; ``group`` an estate label per building (-1: none);
    ``xy`` a point per building (to join islands and order grids); ``tied`` (t, 2) pairs of buildings that
    must share a grid (overlapping footprints: one physical building), contracted into one node.
    """

    households: np.ndarray
    edges: np.ndarray
    length: np.ndarray
    kind: np.ndarray
    group: np.ndarray
    xy: np.ndarray
    tied: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    @classmethod
    def build(
        cls,
        households: Sequence[int] | np.ndarray,
        edges: Sequence[tuple[int, int]] | np.ndarray,
        *,
        length: Sequence[float] | np.ndarray | None = None,
        kind: Sequence[int] | np.ndarray | None = None,
        group: Sequence[int] | np.ndarray | None = None,
        xy: np.ndarray | None = None,
        tied: Sequence[tuple[int, int]] | np.ndarray | None = None,
    ) -> CommunityGraph:
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
        t = np.zeros((0, 2), dtype=np.int64) if tied is None else np.asarray(tied, dtype=np.int64).reshape(-1, 2)
        if len(t) and (t.min() < 0 or t.max() >= n):
            raise PartitionError(f"a tied pair refers to a building outside 0..{n - 1}")
        return cls(h, e[keep], ln[keep], kd[keep], gr, pts, t)


# -- graph preparation -------------------------------------------------------------------------


def _join_islands(graph: CommunityGraph):
    """Connect every component to its nearest neighbour component; report the islands."""
    n = len(graph.households)
    e, ln, kd = graph.edges, graph.length, graph.kind
    ncomp, comp = _components(n, e)
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
        near = np.asarray(n2)  # one neighbour per queried point
        a = int(members[np.argmin(d2)])
        b = int(idx_joined[near[np.argmin(d2)]])
        extra.append((min(a, b), max(a, b)))
        islands.append((members.tolist(), b))
        joined[members] = True
        remaining.discard(c)
    e = np.vstack([e, np.array(extra, dtype=np.int64)])
    ln = np.concatenate([ln, np.ones(len(extra))])
    kd = np.concatenate([kd, np.full(len(extra), WALL, dtype=np.int8)])
    return e, ln, kd, islands


def _components(n: int, e: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the graph on ``n`` nodes with edge rows ``e`` (either direction), numbered
    as scipy's ``connected_components`` numbers them (compiled: :func:`.graph_kernels.components`)."""
    e = np.asarray(e, dtype=np.int64).reshape(-1, 2)
    return components(n, e[:, 0], e[:, 1])


def _contract(graph: CommunityGraph, e, ln, kd, max_households, coarsen_to: int = 1):
    """Contract every connected piece of an estate that fits in one grid into one node, and every group of
    tied (overlapping) buildings whatever its size, then merge neighbouring light nodes (never across a wall
    or barrier) up to ``coarsen_to`` households."""
    n = len(graph.households)
    g = graph.group
    fits = np.zeros(n, dtype=bool)
    if (g >= 0).any():
        est = g >= 0
        _, inv = np.unique(g[est], return_inverse=True)
        sums = np.bincount(inv, weights=graph.households[est])
        fits[est] = sums[inv] <= max_households
    same = (g[e[:, 0]] == g[e[:, 1]]) & fits[e[:, 0]] & fits[e[:, 1]] & (kd != BARRIER)
    ncomp, node_of = _components(n, np.vstack([e[same], graph.tied]))
    w = np.bincount(node_of, weights=graph.households, minlength=ncomp).astype(np.int64)
    if coarsen_to > 1:
        node_of, w, ncomp = _coarsen(node_of, w, e[kd == SOFT], ln[kd == SOFT], coarsen_to)
    a, b = node_of[e[:, 0]], node_of[e[:, 1]]
    cross = a != b
    cost = _CUT_COSTS[kd[cross]] * ln[cross]
    metis_w = np.where(
        kd[cross] == SOFT, 1 + np.round(ln[cross]), np.where(kd[cross] == WALL, 1 + np.round(0.1 * ln[cross]), 1)
    ).astype(np.int64)
    lo, hi = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
    key = lo * ncomp + hi
    uniq, inv = np.unique(key, return_inverse=True)
    cost_u = np.bincount(inv, weights=cost)
    mw_u = np.bincount(inv, weights=metis_w).astype(np.int64)
    pairs = np.stack([uniq // ncomp, uniq % ncomp], axis=1)
    return node_of, w, (pairs, cost_u, mw_u)


def _coarsen(node_of, w, e, ln, cap, rounds: int = 8):
    """Heavy-edge matching (compiled: :func:`.graph_kernels.coarsen_rounds`): neighbours joined by a soft edge whose
    combined households stay within ``cap`` merge pairwise, round after round, so small houses travel in
    clusters."""
    a = node_of[e[:, 0]].astype(np.int64)
    b = node_of[e[:, 1]].astype(np.int64)
    w = np.asarray(w, dtype=np.int64)
    new_of, w2, merged = coarsen_rounds(
        np.asarray(node_of, dtype=np.int64), w, a, b, np.asarray(ln, dtype=np.float64), int(cap), int(rounds)
    )
    if not merged:
        return node_of, w, len(w)
    return new_of, w2, len(w2)


def _check_bounds(lo: int, hi: int) -> None:
    if not (isinstance(lo, (int, np.integer)) and isinstance(hi, (int, np.integer))):
        raise PartitionError(f"household bounds must be integers, got {lo!r} and {hi!r}")
    if lo < 1 or hi < lo:
        raise PartitionError(f"household bounds must satisfy 1 <= min <= max, got [{lo}, {hi}]")


def edge_kinds(buildings, cells, adj, barriers=None) -> np.ndarray:
    """SOFT/WALL/BARRIER per adjacency pair: WALL when the two buildings lie in different estates
    (or one in none), BARRIER when the segment between their cells' seeds crosses a barrier line."""
    kind = np.zeros(len(adj), dtype=np.int8)
    if not len(adj):
        return kind
    i, j = adj["i"].to_numpy(), adj["j"].to_numpy()
    est = (
        buildings["estate_id"].to_numpy(dtype=object)
        if "estate_id" in buildings
        else np.full(len(buildings), None, dtype=object)
    )
    est = np.array([None if (x is None or x != x) else x for x in est], dtype=object)
    kind[est[i] != est[j]] = WALL
    if barriers is not None and len(barriers):
        pts = shapely.point_on_surface(buildings.geometry.values)
        segs = shapely.linestrings(np.stack([shapely.get_coordinates(pts[i]), shapely.get_coordinates(pts[j])], axis=1))
        tree = shapely.STRtree(barriers.geometry.values)
        hit, _ = tree.query(segs, predicate="intersects")
        kind[np.unique(hit)] = BARRIER
    return kind
