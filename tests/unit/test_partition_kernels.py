"""The partition's compiled kernels (numba) against plain numpy/scipy: the sweep's moves keep every grid one
piece and never raise the cost, the components match scipy's, and the kernels still run
where numba's cache directory cannot be written (a read-only install)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap.domain.partition.graph import _components
from gridmap.domain.partition.kernels import sweep_moves
from gridmap.domain.partition.search import _csr, _Search

ROOT = Path(__file__).resolve().parents[2]


def _lattice(rows: int, cols: int, rng) -> np.ndarray:
    idx = np.arange(rows * cols).reshape(rows, cols)
    pairs = np.r_[np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()], np.c_[idx[:-1, :].ravel(), idx[1:, :].ravel()]]
    diag = np.c_[idx[:-1, :-1].ravel(), idx[1:, 1:].ravel()]
    return np.r_[pairs, diag[rng.random(len(diag)) < 0.3]].astype(np.int64)


def _scipy_components(n: int, pairs: np.ndarray) -> tuple[int, np.ndarray]:
    m = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(m, directed=False)


def pieces(part: np.ndarray, pairs: np.ndarray) -> int:
    """The number of one-piece parts of the grids ``part`` (components over the edges inside a grid)."""
    return int(_components(len(part), pairs[part[pairs[:, 0]] == part[pairs[:, 1]]])[0])


@pytest.mark.parametrize("seed", range(4))
def test_components_match_scipy_labels_and_all(seed):
    rng = np.random.default_rng(seed)
    pairs = _lattice(8, 9, rng)
    part = rng.integers(0, 5, 72)  # random labels: grids in many pieces
    inside = pairs[part[pairs[:, 0]] == part[pairs[:, 1]]]
    ncomp, label = _components(72, inside[rng.permutation(len(inside))][:, ::-1])  # any edge order, direction
    want_n, want = _scipy_components(72, inside)
    assert ncomp == want_n > 5
    assert (label == want).all()  # the same numbering, which the contiguity repair's tie-breaks rely on
    blocks = (np.arange(72) % 9 >= 4).astype(np.int64)  # two halves: two pieces
    assert pieces(blocks, pairs) == 2
    assert _components(3, np.zeros((0, 2), dtype=np.int64))[0] == 3


def _cost(part, pairs, cost, w, search: _Search) -> float:
    sizes = np.bincount(part, weights=w, minlength=part.max() + 1)
    cut = part[pairs[:, 0]] != part[pairs[:, 1]]
    return sum(search.bal(s) for s in sizes.tolist()) + search.lam * float(cost[cut].sum())


@pytest.mark.parametrize("seed", range(4))
def test_sweep_moves_keep_grids_whole_and_lower_the_cost(seed):
    rng = np.random.default_rng(seed)
    pairs = _lattice(10, 12, rng)
    n = 120
    w = rng.integers(5, 60, n).astype(np.int64)
    cost = rng.random(len(pairs))
    part = (np.arange(n) % 12 // 4 + 3 * (np.arange(n) // 12 >= 5)).astype(np.int64)  # six blocks, uneven sizes
    k = int(part.max()) + 1
    mean = float(w.sum()) / k
    search = _Search(
        part, w, pairs, cost, np.ones(len(pairs), dtype=np.int64), lo=int(0.9 * mean), hi=int(1.1 * mean),
        mean=mean, seed=seed, compactness=0.02,
    )  # fmt: skip
    before = _cost(part, pairs, cost, w, search)
    p = part.copy()
    size = np.bincount(p, weights=w, minlength=k).astype(np.float64)
    count = np.bincount(p, minlength=k).astype(np.int64)
    todo = np.zeros(n, dtype=np.bool_)  # the first pass visits the nodes on a grid boundary
    todo[pairs[part[pairs[:, 0]] != part[pairs[:, 1]]].ravel()] = True
    indptr, indices, costs = _csr(n, pairs, cost)
    moves = sweep_moves(p, size, count, indptr, indices, costs, w.astype(np.float64), search.byrank, todo,
                        search.prm, search.lam, 12)  # fmt: skip
    assert len(moves) > 0
    replay = part.copy()
    for v, g in moves.tolist():
        replay[v] = g
    assert (replay == p).all()  # the moves, in order, give the kernel's labels
    assert np.allclose(size, np.bincount(p, weights=w, minlength=k))
    assert (count == np.bincount(p, minlength=k)).all()
    assert pieces(p, pairs) == k  # every grid still one piece, none emptied
    assert _cost(p, pairs, cost, w, search) < before
    # the Python search's sweeps make the same moves
    search.sweeps()
    assert (search.labels() == p).all()


def test_kernels_run_where_the_cache_cannot_be_written(tmp_path):
    """A read-only install: numba cannot write its cache, compiles in memory and gives the same answer."""
    code = (
        "import numpy as np\n"
        "from gridmap.domain.partition.graph_kernels import components\n"
        "print(components(4, np.array([0, 2]), np.array([1, 3]))[0])\n"
    )
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(blocked / "numba"), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"


@pytest.mark.parametrize("seed", range(3))
def test_pair_sort_is_the_stable_argsort(seed):
    from gridmap.domain.partition.graph_kernels import _sort_pairs

    rng = np.random.default_rng(seed)
    k = 40
    lo = rng.integers(0, k - 1, 500)
    hi = lo + 1 + rng.integers(0, k - 1 - lo)
    keys = (lo * k + hi).astype(np.int64)  # many repeats: ties must keep the keys' order
    assert (_sort_pairs(keys, k) == np.argsort(keys, kind="stable")).all()


def test_warm_up_runs_every_compiled_kernel_the_partition_calls():
    """A process that calls warm_up() compiles or loads every kernel a district partition uses (the bench
    times the partition after it): in a fresh process, each dispatcher then holds a compiled signature."""
    code = (
        "from gridmap.domain.partition import graph_kernels, kernels, warm_up\n"
        "warm_up()\n"
        "names = ('local_search', 'sweep_moves', 'boundary_nodes', 'bal', 'coarsen_rounds', 'components')\n"
        "print(' '.join(n for n in names if not (getattr(kernels, n, None) or getattr(graph_kernels, n)).signatures))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"not run by warm_up(): {out.stdout.strip()}"


def _sweeps_then_search(seed: int) -> tuple[float, float]:
    """The cost after the sweeps alone and after the whole compiled search, from the same start; asserts
    that the search keeps every grid one piece and its sizes and counts right."""
    from gridmap.domain.partition.kernels import boundary_nodes, local_search

    rng = np.random.default_rng(seed)
    pairs = _lattice(10, 12, rng)
    n = 120
    w = rng.integers(5, 60, n).astype(np.int64)
    w[rng.choice(n, 8, replace=False)] = 150  # heavy nodes: single moves overshoot, chains pass them on
    cost = rng.random(len(pairs))
    part = (np.arange(n) % 12 // 4 + 3 * (np.arange(n) // 12 >= 5)).astype(np.int64)
    k = int(part.max()) + 1
    mean = float(w.sum()) / k
    search = _Search(
        part, w, pairs, cost, np.ones(len(pairs), dtype=np.int64), lo=int(0.95 * mean), hi=int(1.05 * mean),
        mean=mean, seed=seed, compactness=0.02,
    )  # fmt: skip
    indptr, indices, costs = _csr(n, pairs, cost)
    wf = w.astype(np.float64)

    def start():
        p = part.copy()
        return p, np.bincount(p, weights=w, minlength=k).astype(np.float64), np.bincount(p, minlength=k)

    p1, s1, c1 = start()
    sweep_moves(p1, s1, c1, indptr, indices, costs, wf, search.byrank, boundary_nodes(p1, indptr, indices),
                search.prm, search.lam, 12)  # fmt: skip
    p2, s2, c2 = start()
    local_search(p2, s2, c2, indptr, indices, costs, wf, search.byrank, search.prm, search.lam, 12, 0.0, 6, 4)
    assert np.allclose(s2, np.bincount(p2, weights=w, minlength=k))
    assert (c2 == np.bincount(p2, minlength=k)).all()
    assert pieces(p2, pairs) == k
    assert _cost(p1, pairs, cost, w, search) < _cost(part, pairs, cost, w, search)
    return _cost(p1, pairs, cost, w, search), _cost(p2, pairs, cost, w, search)


@pytest.mark.parametrize("seed", range(4))
def test_local_search_keeps_grids_whole_and_never_ends_above_the_sweeps(seed):
    swept, searched = _sweeps_then_search(seed)
    assert searched <= swept


def test_the_chains_move_where_single_moves_stop():
    """Somewhere the chains lower the cost below what single moves reach (they are not dead code)."""
    assert any(searched < swept - 1e-9 for swept, searched in map(_sweeps_then_search, range(4)))
