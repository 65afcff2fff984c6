"""Compiled kernels of the partition's graph preparation (numba, ``cache=True``, as :mod:`.kernels`): the
coarsening's matching rounds and connected components, on plain int64 arrays. Each makes exactly the
decisions of the numpy/scipy code it replaced (same partners and tie-breaks, scipy's component numbering).
"""

from __future__ import annotations

import numba
import numpy as np


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
