"""The local search's building blocks against brute force: whether a grid stays one piece without a node
(the compiled check every move makes), and the coarsening's pairwise matching."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap.domain.partition.graph import _coarsen
from gridmap.domain.partition.kernels import _stays
from gridmap.domain.partition.search import _csr


def _lattice(rows: int, cols: int, rng) -> np.ndarray:
    idx = np.arange(rows * cols).reshape(rows, cols)
    pairs = np.r_[np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()], np.c_[idx[:-1, :].ravel(), idx[1:, :].ravel()]]
    diag = np.c_[idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()]  # some diagonals: triangles, not only squares
    return np.r_[pairs, diag[rng.random(len(diag)) < 0.3]]


def _one_piece(part: np.ndarray, pairs: np.ndarray, g: int, without: int) -> bool:
    keep = (part == g) & (np.arange(len(part)) != without)
    if not keep.any():
        return False
    sel = keep[pairs[:, 0]] & keep[pairs[:, 1]]
    n = len(part)
    m = coo_matrix((np.ones(int(sel.sum())), (pairs[sel, 0], pairs[sel, 1])), shape=(n, n))
    _, comp = connected_components(m, directed=False)
    return len(np.unique(comp[keep])) == 1


@pytest.mark.parametrize("seed", range(6))
def test_stays_connected_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    pairs = _lattice(9, 11, rng)
    n = 99
    part = (np.arange(n) % 11 >= 5).astype(int) + 2 * (np.arange(n) // 11 >= 4)  # four blocks
    for _ in range(60):  # ragged borders: random boundary swaps
        a, b = pairs[rng.integers(len(pairs))]
        part[a] = part[b]
    part = np.unique(part, return_inverse=True)[1].ravel()
    indptr, indices, _ = _csr(n, pairs, np.ones(len(pairs)))
    count = np.bincount(part)
    mark, tmark, stack = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    checked = 0
    for v in range(n):
        g = int(part[v])
        if all(part[u] == g for u in indices[indptr[v] : indptr[v + 1]]) or not _one_piece(part, pairs, g, -1):
            continue  # an inner node, or a grid the swaps already broke (the search keeps grids whole)
        stays = _stays(v, g, part.astype(np.int64), count, indptr, indices, mark, tmark, stack, v + 1)
        assert stays == _one_piece(part, pairs, g, v), (seed, v)
        checked += 1
    assert checked > 20


def test_coarsening_merges_mutual_best_partners_within_the_cap():
    rng = np.random.default_rng(3)
    pairs = _lattice(12, 12, rng)
    n = 144
    w = rng.integers(1, 6, n)
    length = rng.random(len(pairs))
    node_of, cw, k = _coarsen(np.arange(n), w, pairs, length, cap=12)
    assert k == len(cw) < n
    assert (np.bincount(node_of, weights=w, minlength=k) == cw).all()  # households kept
    assert cw.max() <= 12 or (np.bincount(node_of) == 1)[cw > 12].all()  # merges stay within the cap
    for c in range(k):  # every cluster is one connected piece
        members = np.flatnonzero(node_of == c)
        assert _one_piece((node_of == c).astype(int), pairs, 1, -1) or len(members) == 1
