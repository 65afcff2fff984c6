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


@numba.njit(cache=True)
def coarsen_rounds(node_of, w, a, b, score, cap, rounds):  # pragma: no cover - compiled
    """Heavy-edge matching, round after round (see :func:`.graph._coarsen`): per node its best partner by the
    longest shared border (ties: the lower id) among neighbours whose households together stay within
    ``cap``; mutual best partners merge, numbered by their lower member. Stops when a round matches fewer
    than one node in 50. Returns (node_of, w, whether anything merged); borders of merged pairs are summed
    in the order of the edges (as ``np.bincount`` would)."""
    merged_any = False
    for _ in range(rounds):
        n = len(w)
        cnt = 0
        for i in range(len(a)):
            if a[i] != b[i] and w[a[i]] + w[b[i]] <= cap:
                cnt += 1
        if cnt == 0:
            break
        a2 = np.empty(cnt, dtype=np.int64)
        b2 = np.empty(cnt, dtype=np.int64)
        s2 = np.empty(cnt, dtype=np.float64)
        j = 0
        for i in range(len(a)):
            if a[i] != b[i] and w[a[i]] + w[b[i]] <= cap:
                a2[j] = a[i]
                b2[j] = b[i]
                s2[j] = score[i]
                j += 1
        a, b, score = a2, b2, s2
        top = np.full(n, -np.inf)
        for i in range(cnt):
            if score[i] > top[a[i]]:
                top[a[i]] = score[i]
            if score[i] > top[b[i]]:
                top[b[i]] = score[i]
        best = np.full(n, n, dtype=np.int64)
        for i in range(cnt):
            if score[i] == top[a[i]] and b[i] < best[a[i]]:
                best[a[i]] = b[i]
            if score[i] == top[b[i]] and a[i] < best[b[i]]:
                best[b[i]] = a[i]
        rep = np.arange(n)
        nmut = 0
        for v in range(n):
            p = best[v]
            if p < n and best[p] == v and v < p:
                nmut += 1
        if nmut < max(1, n // 50):
            break
        for v in range(n):
            p = best[v]
            if p < n and best[p] == v and v < p:
                rep[p] = v
        newid = np.empty(n, dtype=np.int64)
        c = -1
        for v in range(n):
            if rep[v] == v:
                c += 1
            newid[v] = c
        k = c + 1
        merged = newid[rep]
        node_of = merged[node_of]
        w2 = np.zeros(k, dtype=np.int64)
        for v in range(n):
            w2[merged[v]] += w[v]
        w = w2
        merged_any = True
        m = 0
        for i in range(cnt):
            if merged[a[i]] != merged[b[i]]:
                m += 1
        keys = np.empty(m, dtype=np.int64)
        sc = np.empty(m, dtype=np.float64)
        j = 0
        for i in range(cnt):
            x, y = merged[a[i]], merged[b[i]]
            if x != y:
                keys[j] = min(x, y) * k + max(x, y)
                sc[j] = score[i]
                j += 1
        order = _sort_pairs(keys, k)
        nu = 0
        for t in range(m):
            if t == 0 or keys[order[t]] != keys[order[t - 1]]:
                nu += 1
        a = np.empty(nu, dtype=np.int64)
        b = np.empty(nu, dtype=np.int64)
        score = np.zeros(nu, dtype=np.float64)
        u = -1
        for t in range(m):
            key = keys[order[t]]
            if t == 0 or key != keys[order[t - 1]]:
                u += 1
                a[u] = key // k
                b[u] = key % k
            score[u] += sc[order[t]]
    return node_of, w, merged_any


@numba.njit(cache=True)
def _sort_pairs(keys, k):  # pragma: no cover - compiled
    """The stable order of ``keys`` (each ``lo * k + hi`` with 0 <= lo < hi < k), as
    ``np.argsort(keys, kind="stable")`` gives it, by two counting passes (by ``hi``, then by ``lo``): linear
    in the keys and the nodes where the sort is not."""
    m = len(keys)
    count = np.zeros(k + 1, dtype=np.int64)
    for t in range(m):
        count[keys[t] % k + 1] += 1
    for v in range(k):
        count[v + 1] += count[v]
    by_hi = np.empty(m, dtype=np.int64)
    for t in range(m):
        h = keys[t] % k
        by_hi[count[h]] = t
        count[h] += 1
    count[:] = 0
    for t in range(m):
        count[keys[t] // k + 1] += 1
    for v in range(k):
        count[v + 1] += count[v]
    order = np.empty(m, dtype=np.int64)
    for i in range(m):
        t = by_hi[i]
        lo = keys[t] // k
        order[count[lo]] = t
        count[lo] += 1
    return order


@numba.njit(cache=True)
def components(n, a, b):  # pragma: no cover - compiled
    """Connected components of the graph on nodes 0..n-1 with edges (a[i], b[i]), numbered as
    ``scipy.sparse.csgraph.connected_components`` numbers them (in the order of each one's lowest node).
    Union-find with path halving; returns (count, label per node)."""
    root = np.arange(n)
    for i in range(len(a)):
        x, y = a[i], b[i]
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        while root[y] != y:
            root[y] = root[root[y]]
            y = root[y]
        if x != y:
            root[max(x, y)] = min(x, y)
    label = np.empty(n, dtype=np.int64)
    c = 0
    for v in range(n):  # a root is its set's lowest node: roots are met in order
        x = v
        while root[x] != x:
            x = root[x]
        if x == v:
            label[v] = c
            c += 1
        else:
            label[v] = label[x]
    return c, label


@numba.njit(cache=True)
def _bal(s, prm):  # pragma: no cover - compiled
    m, inv, lo, hi, pen = prm[0], prm[1], prm[2], prm[3], prm[4]
    d = (s - m) * inv
    if s < lo:
        return d * d + pen * (lo - s)
    if s > hi:
        return d * d + pen * (s - hi)
    return d * d


@numba.njit(cache=True)
def _conn_to(x, g, part, indptr, indices, costs):  # pragma: no cover - compiled
    """Node ``x``'s summed border with grid ``g`` (neighbours in order, from 0.0, as a dict's get would)."""
    t = 0.0
    for q in range(indptr[x], indptr[x + 1]):
        if part[indices[q]] == g:
            t = t + costs[q]
    return t


@numba.njit(cache=True)
def chain_step(stage, nodes, g, over, v, a, to, d1, best, part, size, indptr, indices, costs, w, prm, lam, top):
    """The two steps of a chain (:meth:`.search._Search.chain`), weighed as the Python search did before.

    ``stage`` 0: ``nodes`` are grid ``g``'s members; returns the first moves as rows (d1, v, a, to), the
    ``top`` best by (d1, v, a, to). ``stage`` 1: ``nodes`` are the second step's candidates in the Python
    code's order; returns one row (best d1 + d2, u, from, to) if a candidate beats ``best`` (first met on ties),
    else an empty array."""
    if stage == 0:
        cap = 0
        for y in nodes:
            cap += indptr[y + 1] - indptr[y]
        rows = np.empty((cap, 4))
        nr = 0
        for y in nodes:
            for q in range(indptr[y], indptr[y + 1]):
                u = indices[q]
                b = part[u]
                if b == g:
                    continue
                if over:
                    vv, aa, tt = y, g, b
                else:
                    vv, aa, tt = u, b, g
                dup = False
                for r in range(nr):
                    if rows[r, 1] == vv and rows[r, 3] == tt:
                        dup = True
                        break
                if dup:
                    continue
                wv = w[vv]
                d = (
                    _bal(size[aa] - wv, prm)
                    - _bal(size[aa], prm)
                    + _bal(size[tt] + wv, prm)
                    - _bal(size[tt], prm)
                    + lam
                    * (_conn_to(vv, aa, part, indptr, indices, costs) - _conn_to(vv, tt, part, indptr, indices, costs))
                )
                rows[nr, 0] = d
                rows[nr, 1] = vv
                rows[nr, 2] = aa
                rows[nr, 3] = tt
                nr += 1
        k = min(top, nr)
        out = np.empty((k, 4))
        used = np.zeros(nr, dtype=np.bool_)
        for i in range(k):
            bi = -1
            for r in range(nr):
                if used[r]:
                    continue
                if bi < 0:
                    bi = r
                    continue
                x, y = rows[r], rows[bi]
                if (x[0], x[1], x[2], x[3]) < (y[0], y[1], y[2], y[3]):
                    bi = r
            used[bi] = True
            out[i] = rows[bi]
        return out
    wv = w[v]
    hub = to if over else a
    s_hub = size[hub] + wv if over else size[hub] - wv
    found = np.empty((0, 4))
    for u in nodes:
        if u == v:
            continue
        wu = w[u]
        if over:
            frm = hub
            cf = _conn_to(u, frm, part, indptr, indices, costs)
            # the neighbouring grids of u other than hub, in the order first met
            for q in range(indptr[u], indptr[u + 1]):
                dst = part[indices[q]]
                if dst == hub:
                    continue
                first = True
                for q2 in range(indptr[u], q):
                    if part[indices[q2]] == dst:
                        first = False
                        break
                if not first:
                    continue
                sd = size[dst] - wv if dst == a else size[dst]
                d2 = (
                    _bal(s_hub - wu, prm)
                    - _bal(s_hub, prm)
                    + _bal(sd + wu, prm)
                    - _bal(sd, prm)
                    + lam * (cf - _conn_to(u, dst, part, indptr, indices, costs))
                )
                if d1 + d2 < best:
                    best = d1 + d2
                    found = np.array([[best, u, frm, dst]])
        else:
            frm = part[u]
            if frm == hub:
                continue
            dst = hub
            sf = size[frm] + wv if frm == to else size[frm]
            d2 = (
                _bal(s_hub + wu, prm)
                - _bal(s_hub, prm)
                + _bal(sf - wu, prm)
                - _bal(sf, prm)
                + lam
                * (_conn_to(u, frm, part, indptr, indices, costs) - _conn_to(u, dst, part, indptr, indices, costs))
            )
            if d1 + d2 < best:
                best = d1 + d2
                found = np.array([[best, u, frm, dst]])
    return found
