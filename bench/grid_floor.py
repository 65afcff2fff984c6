"""KaHIP as a peer for bench_grids.py, and per community the floor: the best balance the building sizes allow.

The floor of a community with ``k`` grids (mean ``m`` = households / k): a building heavier than 1.1 m puts
its grid above +10% whatever the split, so at most k - (such buildings) grids can be within ±10%; a building
over the maximum puts its grid out of bounds. "estates whole" counts the same for the indivisible units the
partition works with (estates that fit in one grid are kept whole). The floor is an upper bound on the share
within ±10% (it may be higher than any split reaches, never lower).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridmap.domain import partition as P
from gridmap.domain.partition.graph import _contract, _join_islands


def run_kahip(h, pairs, k, seed, mode="fast", imbalance=0.03):
    """KaHIP kaffpa on the community graph (household weights, unit edge weights), ``k`` blocks."""
    import kahip

    n = len(h)
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64)
    if k >= n:
        return np.arange(n, dtype=np.int64)
    src = np.concatenate([pairs[:, 0], pairs[:, 1]])
    dst = np.concatenate([pairs[:, 1], pairs[:, 0]])
    order = np.lexsort((dst, src))
    adjncy = dst[order].astype(int).tolist()
    xadj = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).astype(int).tolist()
    vw = np.maximum(h, 1).astype(int).tolist()
    ew = [1] * len(adjncy)
    modes = {"fast": kahip.FAST, "eco": kahip.ECO, "strong": kahip.STRONG}
    _, blocks = kahip.kaffpa(vw, xadj, ew, adjncy, int(k), float(imbalance), True, int(seed), modes[mode])
    return np.unique(np.asarray(blocks), return_inverse=True)[1].ravel().astype(np.int64)


def floors(results, graphs, hh, group, lo, hi) -> pd.DataFrame:
    """Per community: buildings, grids, the share within ±10% and in bounds reached, and the floor."""
    rows = []
    for c, labels in sorted(results.items()):
        idx, pairs = graphs[c]
        h = hh[idx]
        k = int(labels.max()) + 1 if len(labels) else 0
        if k == 0:
            continue
        sizes = np.bincount(labels, weights=h, minlength=k)
        m = sizes.mean()
        g = P.CommunityGraph.build(h, pairs, group=group[idx])
        e, ln, kd, _ = _join_islands(g)
        _, units, _ = _contract(g, e, ln, kd, hi, coarsen_to=1)
        rows.append(
            {
                "community": c,
                "buildings": len(idx),
                "grids": k,
                "within ±10%": float((np.abs(sizes - m) <= 0.1 * m).mean()),
                "floor": max(0.0, 1 - int((h > 1.1 * m).sum()) / k),
                "floor, estates whole": max(0.0, 1 - int((units > 1.1 * m).sum()) / k),
                "in bounds": float(((sizes >= lo) & (sizes <= hi)).mean()),
                "bounds floor": max(0.0, 1 - int((h > hi).sum()) / k),
            }
        )
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame, goal: float = 0.9) -> str:
    """Grid-weighted shares over the communities whose floor allows the goal."""
    ok = table[table["floor, estates whole"] >= goal]
    w = ok["grids"]
    within = float((ok["within ±10%"] * w).sum() / max(1, w.sum()))
    reach = int((ok["within ±10%"] >= goal).sum())
    return (
        f"communities whose floor (estates whole) allows ≥ {goal:.0%} within ±10%: {len(ok)} of {len(table)}, "
        f"{int(w.sum())} grids; within ±10% there: {within:.1%}; communities at the goal: {reach} of {len(ok)}"
    )
