"""Compiled kernels of the partition's local search (numba, ``cache=True``: compiled once per install, then
loaded from numba's cache; where the cache directory is not writable numba compiles in memory instead).

Plain arrays only: the graph as CSR (``indptr``, ``indices``, ``costs``, neighbours of a node in ascending
order), grid labels ``part`` (int64), grid sizes ``size`` (float64, as the Python search keeps them) and
member counts ``count``. Each kernel makes exactly the decisions of the Python code it replaces (same
visiting order, same float expressions, same tie-breaks), so the labels do not change.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _stays(v, g, part, count, indptr, indices, mark, tmark, stack, stamp):  # pragma: no cover - compiled
    """Grid ``g`` without node ``v`` is still one piece (its neighbours in ``g`` reach each other) and not
    empty. ``mark``/``tmark``: scratch stamps (``stamp`` unique per call), ``stack``: scratch of size n."""
    if count[g] <= 1:
        return False
    nt = 0
    first = -1
    for q in range(indptr[v], indptr[v + 1]):
        u = indices[q]
        if part[u] == g and u != v and tmark[u] != stamp:
            tmark[u] = stamp
            nt += 1
            if first < 0:
                first = u
    if nt <= 1:
        return True
    mark[first] = stamp
    stack[0] = first
    top = 1
    found = 1
    while top > 0 and found < nt:
        top -= 1
        x = stack[top]
        for q in range(indptr[x], indptr[x + 1]):
            u = indices[q]
            if mark[u] != stamp and part[u] == g and u != v:
                mark[u] = stamp
                stack[top] = u
                top += 1
                if tmark[u] == stamp:
                    found += 1
    return found >= nt


@numba.njit(cache=True)
def sweep_moves(part, size, count, indptr, indices, costs, w, byrank, todo, prm, lam, max_passes):  # pragma: no cover
    """Up to ``max_passes`` sweeps of single boundary moves; returns the moves made, in order, as rows
    (node, new grid). ``part``, ``size`` and ``count`` are updated in place.

    A pass visits the nodes flagged in ``todo`` in the order ``byrank``; a node that is not inner moves to
    the neighbouring grid (first met among its neighbours on ties) that lowers

        bal(size of its grid without it) - bal(size) + bal(size of the target with it) - bal(size)
        + lam * (border to its grid - border to the target)

    most (below -1e-12), if its grid stays one piece. The movers and their neighbours are the next
    pass's ``todo``; the sweeps stop when a pass moves nothing. ``prm``: (mean, 1 / mean, lo, hi, penalty)
    of ``bal(s) = d² + penalty * (households outside [lo, hi])``, ``d = (s - mean) / mean``.
    """
    m, inv, lo, hi, pen = prm[0], prm[1], prm[2], prm[3], prm[4]
    n = len(part)
    cur = todo.copy()
    nxt = np.zeros(n, dtype=np.bool_)
    mark = np.zeros(n, dtype=np.int64)
    tmark = np.zeros(n, dtype=np.int64)
    stack = np.empty(max(n, 1), dtype=np.int64)
    deg = 1
    for v in range(n):
        deg = max(deg, indptr[v + 1] - indptr[v])
    gs = np.empty(deg, dtype=np.int64)
    cs = np.empty(deg, dtype=np.float64)
    moves = np.empty((max_passes * n, 2), dtype=np.int64)
    nm = 0
    stamp = 0
    for _ in range(max_passes):
        moved = False
        for r in range(n):
            v = byrank[r]
            if not cur[v]:
                continue
            a = part[v]
            s, e = indptr[v], indptr[v + 1]
            inner = True
            for q in range(s, e):
                if part[indices[q]] != a:
                    inner = False
                    break
            if inner:
                continue
            ng = 0
            ca = 0.0
            for q in range(s, e):
                g = part[indices[q]]
                j = 0
                while j < ng and gs[j] != g:
                    j += 1
                if j == ng:
                    gs[ng] = g
                    cs[ng] = 0.0 + costs[q]
                    ng += 1
                else:
                    cs[j] = cs[j] + costs[q]
            for j in range(ng):
                if gs[j] == a:
                    ca = cs[j]
            wv = w[v]
            sa = size[a]
            x = sa - wv
            d = (x - m) * inv
            b1 = d * d + pen * (lo - x) if x < lo else (d * d + pen * (x - hi) if x > hi else d * d)
            d = (sa - m) * inv
            b0 = d * d + pen * (lo - sa) if sa < lo else (d * d + pen * (sa - hi) if sa > hi else d * d)
            da = b1 - b0
            best = -1e-12
            target = -1
            for j in range(ng):
                g = gs[j]
                if g == a:
                    continue
                sg = size[g]
                x = sg + wv
                d = (x - m) * inv
                b1 = d * d + pen * (lo - x) if x < lo else (d * d + pen * (x - hi) if x > hi else d * d)
                d = (sg - m) * inv
                b0 = d * d + pen * (lo - sg) if sg < lo else (d * d + pen * (sg - hi) if sg > hi else d * d)
                dd = da + b1 - b0 + lam * (ca - cs[j])
                if dd < best:
                    best = dd
                    target = g
            if target < 0:
                continue
            stamp += 1
            if not _stays(v, a, part, count, indptr, indices, mark, tmark, stack, stamp):
                continue
            part[v] = target
            size[a] -= wv
            size[target] += wv
            count[a] -= 1
            count[target] += 1
            moves[nm, 0] = v
            moves[nm, 1] = target
            nm += 1
            moved = True
            nxt[v] = True
            for q in range(s, e):
                nxt[indices[q]] = True
        if not moved:
            break
        cur, nxt = nxt, cur
        nxt[:] = False
    return moves[:nm]
