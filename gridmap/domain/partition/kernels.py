"""Compiled kernels of the partition's local search (numba, ``cache=True``: compiled once per install, then
loaded from numba's cache; where the cache directory is not writable numba compiles in memory instead).

Plain arrays only: the graph as CSR (``indptr``, ``indices``, ``costs``, neighbours of a node in ascending
order), grid labels ``part`` (int64), grid sizes ``size`` (float64, as the Python search keeps them) and
member counts ``count``. The sweeps make exactly the decisions of the Python loop they replaced (same
visiting order, float expressions and tie-breaks); the chains weigh their second-step candidates in ascending
node order (first met winning ties). The coarsening and components are in :mod:`.graph_kernels`.
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
def bal(s, prm):  # pragma: no cover - compiled
    """The balance term of a grid of ``s`` households: ``d² + penalty * (households outside [lo, hi])``,
    ``d = (s - mean) / mean``; ``prm`` = (mean, 1 / mean, lo, hi, penalty)."""
    m, inv, lo, hi, pen = prm[0], prm[1], prm[2], prm[3], prm[4]
    d = (s - m) * inv
    if s < lo:
        return d * d + pen * (lo - s)
    if s > hi:
        return d * d + pen * (s - hi)
    return d * d


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
            da = bal(size[a] - wv, prm) - bal(size[a], prm)
            best = -1e-12
            target = -1
            for j in range(ng):
                g = gs[j]
                if g == a:
                    continue
                dd = da + bal(size[g] + wv, prm) - bal(size[g], prm) + lam * (ca - cs[j])
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
def _conn_to(x, g, part, indptr, indices, costs):  # pragma: no cover - compiled
    """Node ``x``'s summed border with grid ``g`` (neighbours in order, from 0.0, as a dict's get would)."""
    t = 0.0
    for q in range(indptr[x], indptr[x + 1]):
        if part[indices[q]] == g:
            t = t + costs[q]
    return t


@numba.njit(cache=True)
def pull_candidates(members, hub, part, indptr, indices):  # pragma: no cover - compiled
    """The nodes outside grid ``hub`` that touch one of its ``members``, each once, in the order first met
    (members in the order given, each one's neighbours ascending): what a grid pulls a node from."""
    seen = np.zeros(len(part), dtype=np.bool_)
    out = np.empty(indptr[-1], dtype=np.int64)
    c = 0
    for y in members:
        for q in range(indptr[y], indptr[y + 1]):
            z = indices[q]
            if not seen[z] and part[z] != hub:
                seen[z] = True
                out[c] = z
                c += 1
    return out[:c]


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
                    bal(size[aa] - wv, prm)
                    - bal(size[aa], prm)
                    + bal(size[tt] + wv, prm)
                    - bal(size[tt], prm)
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
                    bal(s_hub - wu, prm)
                    - bal(s_hub, prm)
                    + bal(sd + wu, prm)
                    - bal(sd, prm)
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
                bal(s_hub + wu, prm)
                - bal(s_hub, prm)
                + bal(sf - wu, prm)
                - bal(sf, prm)
                + lam
                * (_conn_to(u, frm, part, indptr, indices, costs) - _conn_to(u, dst, part, indptr, indices, costs))
            )
            if d1 + d2 < best:
                best = d1 + d2
                found = np.array([[best, u, frm, dst]])
    return found


@numba.njit(cache=True)
def _members(part, g):  # pragma: no cover - compiled
    """Grid ``g``'s nodes, ascending."""
    c = 0
    for x in range(len(part)):
        if part[x] == g:
            c += 1
    out = np.empty(c, dtype=np.int64)
    c = 0
    for x in range(len(part)):
        if part[x] == g:
            out[c] = x
            c += 1
    return out


@numba.njit(cache=True)
def boundary_nodes(part, indptr, indices):  # pragma: no cover - compiled
    """True for every node with a neighbour in another grid."""
    n = len(part)
    out = np.zeros(n, dtype=np.bool_)
    for v in range(n):
        for q in range(indptr[v], indptr[v + 1]):
            if part[indices[q]] != part[v]:
                out[v] = True
                break
    return out


@numba.njit(cache=True)
def _chain(
    g, part, size, count, indptr, indices, costs, w, prm, lam, top, mark, tmark, stack, stamp
):  # pragma: no cover
    """One two-step chain for grid ``g`` (part of :func:`local_search`); returns 1 if both moves were
    made. Candidates in ascending node order (first met wins ties)."""
    m = prm[0]
    over = size[g] > m
    firsts = chain_step(
        0, _members(part, g), g, over, 0, 0, 0, 0.0, 0.0, part, size, indptr, indices, costs, w, prm, lam, top
    )
    best = -1e-12
    pv, pa, pto, pu, pfrm, pdst = -1, -1, -1, -1, -1, -1
    for i in range(firsts.shape[0]):
        d1 = firsts[i, 0]
        v, a, to = int(firsts[i, 1]), int(firsts[i, 2]), int(firsts[i, 3])
        hub = to if over else a
        cand = _members(part, hub)
        if not over:
            cand = pull_candidates(cand, hub, part, indptr, indices)
        found = chain_step(1, cand, g, over, v, a, to, d1, best, part, size, indptr, indices, costs, w, prm, lam, top)
        if found.shape[0]:
            best = found[0, 0]
            pv, pa, pto = v, a, to
            pu, pfrm, pdst = int(found[0, 1]), int(found[0, 2]), int(found[0, 3])
    if pv < 0:
        return 0
    if not _stays(pv, pa, part, count, indptr, indices, mark, tmark, stack, stamp):
        return 0
    wv, wu = w[pv], w[pu]
    part[pv] = pto
    size[pa] -= wv
    size[pto] += wv
    count[pa] -= 1
    count[pto] += 1
    ok = part[pu] == pfrm and _stays(pu, pfrm, part, count, indptr, indices, mark, tmark, stack, stamp + 1)
    if ok:
        ok = False
        for q in range(indptr[pu], indptr[pu + 1]):
            if part[indices[q]] == pdst:
                ok = True
                break
    if not ok:  # undo the first move
        part[pv] = pa
        size[pto] -= wv
        size[pa] += wv
        count[pto] -= 1
        count[pa] += 1
        return 0
    part[pu] = pdst
    size[pfrm] -= wu
    size[pdst] += wu
    count[pfrm] -= 1
    count[pdst] += 1
    return 1


@numba.njit(cache=True)
def local_search(
    part, size, count, indptr, indices, costs, w, byrank, prm, lam, max_passes, chain_at, top, rounds
):  # pragma: no cover
    """The search's moves without the re-splits (:meth:`.search._Search.run`): sweeps of single moves, then up
    to ``rounds`` rounds of two-step chains for every grid off the mean by more than ``chain_at`` of it or out
    of bounds (grids most off first), each round followed by sweeps. ``part``, ``size``, ``count`` in place."""
    m, lo, hi = prm[0], prm[2], prm[3]
    n = len(part)
    k = len(size)
    mark = np.zeros(n, dtype=np.int64)
    tmark = np.zeros(n, dtype=np.int64)
    stack = np.empty(max(n, 1), dtype=np.int64)
    stamp = 0
    for r in range(rounds + 1):
        todo = boundary_nodes(part, indptr, indices)
        sweep_moves(part, size, count, indptr, indices, costs, w, byrank, todo, prm, lam, max_passes)
        if r == rounds:
            break
        moved = 0
        key = np.empty(k)
        for g in range(k):
            key[g] = -abs(size[g] - m)
        for g in np.argsort(key, kind="mergesort"):
            s = size[g]
            if abs(s - m) > chain_at * m or not (lo <= s <= hi):
                stamp += 2
                moved += _chain(
                    g, part, size, count, indptr, indices, costs, w, prm, lam, top, mark, tmark, stack, stamp
                )
        if not moved:
            break
