"""Small counts that stay small when many tables are read together: primary and complementary suppression,
and the differencing attack that checks it. Pure: no store, no web.

A *table* is a set of cells (any hashable key → a true count) and the sums that tie them: ``(total, parts)``
says ``total == sum(parts)`` — a community's open requests are its grids' plus those without a grid, a grid's
requests are its open plus its closed ones, a year's district total is its months'. Some cells are
*published* (a response carries them), the others never leave the service but still take part in the
sums (a remainder such as "requests of this community without a grid").

Publishing follows :func:`gridmap.domain.privacy.suppress_small`: 0 and 5 or more exact, 1–4 as ``"<5"``
(primary suppression). Since a published total minus its other published parts gives a suppressed part
back, :func:`protect` then withholds more cells (``None``, complementary suppression) until
:func:`recovered` — interval reasoning over every sum, as an attacker differencing the tables would do —
pins no cell to a value from 1 to 4.

The attacker's knowledge of a cell: exact → that value; ``"<5"`` → 1…4; withheld or never published → ≥ 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from gridmap.domain.privacy import SMALL_COUNT, SUPPRESSED, suppress_small

Key = Hashable
Sum = tuple[Key, Sequence[Key]]
INF = math.inf
#: stands for an unknown upper bound in the arithmetic (any real count is far below it)
_BIG = 1e12
#: enough passes for the sums of a district (levels × years × measures); each pass only tightens
MAX_PASSES = 200


def _known(value: Any, threshold: int) -> tuple[float, float]:
    if value is None:
        return 0.0, INF
    if isinstance(value, str):
        if value != f"<{threshold}":
            raise ValueError(f"unknown published count {value!r}")
        return 1.0, float(threshold - 1)
    return float(value), float(value)


def ranges(
    published: Mapping[Key, Any], sums: Iterable[Sum], *, threshold: int = SMALL_COUNT
) -> dict[Key, tuple[float, float]]:
    """What differencing tells about every cell: ``{key: (lowest, highest)}`` possible values, given the
    published values (an int, ``"<5"`` or ``None``; a cell absent from ``published`` is unknown, ≥ 0) and
    the sums. Bounds are tightened through every sum until nothing changes (a sound interval attack: a
    cell it pins to one value really has that value)."""
    sums = [(t, tuple(parts)) for t, parts in sums]
    keys = list(dict.fromkeys([k for t, parts in sums for k in (t, *parts)] + list(published)))
    index = {k: i for i, k in enumerate(keys)}
    lo = np.zeros(len(keys))
    hi = np.full(len(keys), _BIG)
    for k, v in published.items():
        a, b = _known(v, threshold)
        lo[index[k]], hi[index[k]] = a, min(b, _BIG)
    if sums:
        total = np.array([index[t] for t, _ in sums])
        row = np.repeat(np.arange(len(sums)), [len(p) for _, p in sums])
        col = np.array([index[k] for _, parts in sums for k in parts], dtype=int)
        n = len(sums)
        for _ in range(MAX_PASSES * 10):
            slo = np.bincount(row, weights=lo[col], minlength=n)
            shi = np.bincount(row, weights=hi[col], minlength=n)
            new_lo, new_hi = lo.copy(), hi.copy()
            np.maximum.at(new_lo, total, slo)
            np.minimum.at(new_hi, total, shi)
            # a part is at least the total's least minus the others' most, at most the total's most minus
            # the others' least (an unknown other, ≥ _BIG, makes the first bound useless, as it should)
            np.maximum.at(new_lo, col, lo[total[row]] - (shi[row] - hi[col]))
            np.minimum.at(new_hi, col, hi[total[row]] - (slo[row] - lo[col]))
            new_hi = np.minimum(new_hi, _BIG)
            if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
                break
            lo, hi = new_lo, new_hi
        else:
            raise RuntimeError("the differencing bounds did not settle")
    return {k: (float(lo[i]), INF if hi[i] >= _BIG / 2 else float(hi[i])) for k, i in index.items()}


def recovered(
    published: Mapping[Key, Any],
    sums: Iterable[Sum],
    *,
    threshold: int = SMALL_COUNT,
    exempt: Callable[[Key], bool] | None = None,
) -> dict[Key, int]:
    """Cells that differencing pins to one value from 1 to ``threshold - 1``: ``{key: value}`` (cells for
    which ``exempt`` is true are not looked at)."""
    return {
        k: int(a)
        for k, (a, b) in ranges(published, sums, threshold=threshold).items()
        if a == b and 1 <= a < threshold and not (exempt and exempt(k))
    }


def protect(
    values: Mapping[Key, int],
    sums: Iterable[Sum],
    published: Collection[Key],
    *,
    fixed: Collection[Key] = (),
    exempt: Callable[[Key], bool] | None = None,
    threshold: int = SMALL_COUNT,
) -> dict[Key, Any]:
    """The published cells' values safe to show together: ``{key: int | "<5" | None}``.

    ``values`` holds the true count of every cell (published or not); ``published`` names the cells some
    response shows; ``fixed`` the published cells that cannot be withheld (shown by a listing of single
    records, for instance); ``exempt`` the cells whose small values need no protection. Primary suppression
    first; then, while :func:`recovered` pins any cell to 1…4, one more cell of a sum that holds it is
    withheld (``None``): the smallest exact part above zero, else the total, else a zero part, else another
    suppressed part. A cell pinned by fixed cells alone stays pinned (what is fixed tells it anyway).
    """
    equations = [(t, tuple(parts)) for t, parts in sums]
    fixed = set(fixed)
    out: dict[Key, Any] = {k: suppress_small(int(values.get(k, 0)), threshold=threshold) for k in published}
    holding: dict[Key, list[int]] = {}
    for i, (total, parts) in enumerate(equations):
        for k in (total, *parts):
            holding.setdefault(k, []).append(i)
    for _ in range(len(out) + 1):
        pinned = recovered(out, equations, threshold=threshold, exempt=exempt)
        if not pinned:
            return out
        progress = False
        for key in sorted(pinned, key=repr):
            if key not in pinned:
                continue
            choice = _complement(key, holding.get(key, ()), equations, out, values, fixed)
            if choice is None:
                continue
            out[choice] = None
            progress = True
            for i in holding.get(choice, ()):  # the sums it sits in are changed: judge them next round
                for k in (equations[i][0], *equations[i][1]):
                    pinned.pop(k, None)
        if not progress:  # only fixed cells (or the pinned cell's own) are left to tell it: nothing to hide
            return out
    return out


def _complement(
    key: Key,
    where: Iterable[int],
    sums: Sequence[tuple[Key, tuple[Key, ...]]],
    out: Mapping[Key, Any],
    values: Mapping[Key, int],
    fixed: set[Key],
) -> Key | None:
    """The cell to withhold so that ``key`` is no longer pinned (see :func:`protect` for the order)."""
    best: tuple[tuple[int, float], Key] | None = None
    for i in where:
        total, parts = sums[i]
        for cell in (total, *parts):
            if cell == key or cell not in out or out[cell] is None or cell in fixed:
                continue
            value = int(values.get(cell, 0))
            if isinstance(out[cell], str):
                rank = (3, value)
            elif cell == total:
                rank = (1, value)
            elif value > 0:
                rank = (0, value)
            else:
                rank = (2, 0)
            if best is None or rank < best[0]:
                best = (rank, cell)
    if best is None and key in out and out[key] is not None and key not in fixed:
        return key  # nothing else to hide: withhold the cell itself
    return None if best is None else best[1]


def hidden(value: Any) -> bool:
    """Whether a published count is not exact (``"<5"`` or withheld)."""
    return value is None or value == SUPPRESSED or isinstance(value, str)
