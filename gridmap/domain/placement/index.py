"""Which polygon holds each point, fast: a lattice of cells that each know their only candidate
(:class:`CellIndex`), ``STRtree`` queries with the tie-break rules (interior first, then lowest position),
GEOS calls split over two threads for long inputs, and the one point → building matcher
(:func:`match_points` over a :class:`BuildingIndex`) that placement and complaint routing share.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import shapely

from gridmap.domain.geometry import transformer


class CellIndex:
    """Which polygon holds each point: a regular lattice of cells, each knowing its only candidate.

    Point-in-building for a million points is the hot path. Each cell of a lattice (side: the median
    building size, capped at :attr:`MAX_CELLS` cells) stores the one polygon whose bounding box touches it,
    or says there are none or several. A point in a single-candidate cell — 99.5 % of the benchmark's
    points — needs one array lookup and one ``shapely.intersects_xy`` on the prepared polygon; the rest go
    through an ``STRtree`` query. No tree walk, no candidate pairs, no sort for the many
    (``bench/bench_placement.py``); ``tests/unit/test_placement.py`` checks the answers against a plain loop.
    """

    MAX_CELLS = 8_000_000  # int32 each: 32 MB at most

    def __init__(self, polys: np.ndarray) -> None:
        self.polys = polys
        shapely.prepare(polys)
        self.tree = shapely.STRtree(polys)
        bb = shapely.bounds(polys)
        pos = np.flatnonzero(np.isfinite(bb).all(axis=1))
        bb = bb[pos]
        self.x0 = self.y0 = 0.0
        self.inv, self.nx, self.ny = 1.0, 1, 1
        if len(pos):
            side = np.maximum(bb[:, 2] - bb[:, 0], bb[:, 3] - bb[:, 1])
            size = float(np.median(side)) or 1e-6
            x0, y0, x1, y1 = bb[:, 0].min(), bb[:, 1].min(), bb[:, 2].max(), bb[:, 3].max()
            while ((x1 - x0) / size + 1) * ((y1 - y0) / size + 1) > self.MAX_CELLS:
                size *= 2
            self.x0, self.y0, self.inv = float(x0), float(y0), 1.0 / size
        ix0, ix1 = self._cell(bb[:, 0], self.x0).astype(np.int64), self._cell(bb[:, 2], self.x0).astype(np.int64)
        iy0, iy1 = self._cell(bb[:, 1], self.y0).astype(np.int64), self._cell(bb[:, 3], self.y0).astype(np.int64)
        if len(pos):
            self.nx, self.ny = int(ix1.max()) + 1, int(iy1.max()) + 1
        # every (cell, polygon) pair whose bounding box touches the cell, without a loop
        width = ix1 - ix0 + 1
        count = width * (iy1 - iy0 + 1)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        w = np.repeat(width, count)
        cell = (np.repeat(iy0, count) + k // w) * self.nx + np.repeat(ix0, count) + k % w
        # per cell (plus one "outside" slot at the end): its only candidate, -1 for none, -2 for several
        self.only = np.full(self.nx * self.ny + 1, -1, dtype=np.int32)
        self.only[cell] = np.repeat(pos, count)
        self.only[:-1][np.bincount(cell, minlength=self.nx * self.ny) > 1] = -2
        # candidate → geometry, with -1 and -2 both landing on a missing one (which intersects nothing)
        self._polys_or_none = np.append(np.asarray(polys, dtype=object), [None, None])

    def _cell(self, v: np.ndarray, origin: float) -> np.ndarray:
        # one monotonic formula for boxes and points alike, so a point on a box edge finds the box
        return np.floor((v - origin) * self.inv)

    def _cells_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Cell number of each point; ``nx * ny`` (the "outside" slot) off the lattice or for NaN."""
        fx = x - self.x0
        fx *= self.inv
        np.floor(fx, out=fx)  # the very arithmetic of _cell, in place
        fy = y - self.y0
        fy *= self.inv
        np.floor(fy, out=fy)
        on = len(fx) and fx.min() >= 0 and fx.max() < self.nx and fy.min() >= 0 and fy.max() < self.ny
        if not on:  # some point is off the lattice or NaN (NaN fails every comparison)
            off = ~((fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny))
        fy *= self.nx
        fy += fx
        if not on:
            fy[off] = self.nx * self.ny
        return fy.astype(np.int64)

    def locate_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Position of the polygon holding each point, or -1 (also for NaN coordinates).

        A point on an edge counts. When several polygons hold a point, the one whose interior holds it
        wins, then the lowest position.
        """
        cand = self.only[self._cells_of(x, y)]
        hit = _intersects_xy(self._polys_or_none[cand], x, y)
        pos = np.where(hit, cand, -1).astype(np.int64)
        many = np.flatnonzero(cand == -2)
        if len(many):  # cells with several candidates: the tree, and the tie-break
            pts = cast(np.ndarray, shapely.points(x[many], y[many]))  # arrays of coordinates: an array of points
            qi, pi = self.tree.query(pts, predicate="intersects")
            pos[many] = _pick_containing(qi, pi, self.polys, len(many), lambda q: pts[q])
        return pos

    def locate(self, pts: np.ndarray) -> np.ndarray:
        """As :meth:`locate_xy` for point geometries (missing and empty ones: -1)."""
        return self.locate_xy(*_xy(pts))


_THREADS = True  # False runs every step in the calling thread (for comparisons)
_POOL: list[ThreadPoolExecutor] = []
_POOL_LOCK = threading.Lock()


def _forget_pool() -> None:  # a forked child has none of its parent's threads
    global _POOL_LOCK
    _POOL_LOCK = threading.Lock()
    _POOL.clear()


os.register_at_fork(after_in_child=_forget_pool)


def _beside(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """Start ``fn(*args)`` in a helper thread; call the answer to wait for its result.

    For steps that spend their time outside the GIL (GEOS, numpy, pyarrow). One small pool is kept for the
    process, so no thread is started per call.
    """
    if not _THREADS:
        return lambda: fn(*args)
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="gridmap-place"))
        pool = _POOL[0]
    return pool.submit(fn, *args).result


def _intersects_xy(polys: np.ndarray, x: np.ndarray, y: np.ndarray, *, split: int = 200_000) -> np.ndarray:
    """``shapely.intersects_xy`` in two threads for long inputs (GEOS runs outside the GIL)."""
    if len(polys) < split:
        return shapely.intersects_xy(polys, x, y)
    h = len(polys) // 2
    first = _beside(shapely.intersects_xy, polys[:h], x[:h], y[:h])
    second = shapely.intersects_xy(polys[h:], x[h:], y[h:])
    return np.concatenate([first(), second])


def _xy(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of points, NaN for missing and empty ones."""
    try:
        if len(pts) < 200_000:
            return shapely.get_x(pts), shapely.get_y(pts)
        y_of = _beside(shapely.get_y, pts)
        x = shapely.get_x(pts)
        return x, y_of()
    except shapely.errors.GEOSException:  # an empty point among them: the slower, careful way
        x, y = np.full(len(pts), np.nan), np.full(len(pts), np.nan)
        ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
        x[ok], y[ok] = shapely.get_x(pts[ok]), shapely.get_y(pts[ok])
        return x, y


def _containing(
    index: shapely.STRtree | CellIndex, polys: np.ndarray, pts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each point: found?, position of the polygon containing it (interior first, then lowest position)."""
    k = len(pts)
    if not len(polys) or not k:
        return np.zeros(k, bool), np.full(k, -1, dtype=np.int64)
    if isinstance(index, CellIndex):
        pos = index.locate(pts)
    else:
        qi, pi = index.query(pts, predicate="intersects")
        pos = _pick_containing(qi, pi, polys, k, lambda q: pts[q])
    return pos >= 0, pos


def _pick_containing(
    qi: np.ndarray, pi: np.ndarray, polys: np.ndarray, k: int, points_of: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """One polygon per point from intersecting pairs (-1: none): the only one, else interior first, then
    lowest position."""
    counts = np.bincount(qi, minlength=k)
    pos = np.full(k, -1, dtype=np.int64)
    single = counts[qi] == 1
    pos[qi[single]] = pi[single]
    if (~single).any():  # a point on a shared edge, or overlapping polygons: rare, so a vectorised tie-break
        mq, mp = qi[~single], pi[~single]
        pick = _first_pairs(mq, mp, before=shapely.contains_properly(polys[mp], points_of(mq)))
        pos[mq[pick]] = mp[pick]
    return pos


def _first_pairs(qi: np.ndarray, ti: np.ndarray, *, before: np.ndarray | None = None) -> np.ndarray:
    """Indices into the ``(qi, ti)`` pairs of one pair per query: ``before`` True first, then lowest ``ti``."""
    if not len(qi):
        return np.empty(0, dtype=np.int64)
    keys = (ti, qi) if before is None else (ti, ~before, qi)
    order = np.lexsort(keys)
    qs = qi[order]
    firsts = np.ones(len(qs), bool)
    firsts[1:] = qs[1:] != qs[:-1]
    return order[firsts]


class BuildingIndex:
    """Building polygons (EPSG:4326) in tie-break order (by id: "lowest id" is "lowest position") and the
    metric CRS distances are measured in, indexed lazily for :func:`match_points`."""

    def __init__(self, polys: np.ndarray, metric_crs: str) -> None:
        self.polys = np.asarray(polys, dtype=object)
        self.metric_crs = metric_crs
        self._cells: CellIndex | None = None
        self._metric_tree: shapely.STRtree | None = None

    @property
    def cells(self) -> CellIndex:
        if self._cells is None:
            self._cells = CellIndex(self.polys)
        return self._cells

    @property
    def metric_tree(self) -> shapely.STRtree:
        if self._metric_tree is None:
            self._metric_tree = shapely.STRtree(self.to_metric(self.polys))
        return self._metric_tree

    def to_metric(self, geoms: np.ndarray) -> np.ndarray:
        """EPSG:4326 geometries in :attr:`metric_crs`."""
        t = transformer("EPSG:4326", self.metric_crs)
        return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def __getstate__(self) -> dict[str, Any]:  # indexes are rebuilt where the index travels to
        return {**self.__dict__, "_cells": None, "_metric_tree": None}

    def __len__(self) -> int:
        return len(self.polys)


def match_points(
    buildings: BuildingIndex, points: np.ndarray, *, tolerance_m: float, xy: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The one point → building matcher: placement's rules 3 and 4, and complaint routing's building.

    For each point (EPSG:4326, none missing or empty): the position of its building in ``buildings`` and
    the distance to it in metres. A point in a building, or on its edge, is *contained* (distance 0.0; on an
    edge shared by two, the building whose interior holds it, else the lowest position); else the nearest
    building within ``tolerance_m`` metres, measured in ``buildings.metric_crs`` (equal distances: the lowest
    position); else position -1 and distance NaN. ``xy``: the points' coordinates when the caller has them.
    """
    points = np.asarray(points, dtype=object)
    k = len(points)
    pos = np.full(k, -1, dtype=np.int64)
    dist = np.full(k, np.nan)
    if not len(buildings) or not k:
        return pos, dist
    x, y = xy if xy is not None else _xy(points)
    found = buildings.cells.locate_xy(x, y)
    hit = found >= 0
    pos[hit], dist[hit] = found[hit], 0.0
    rest = np.flatnonzero(~hit)
    if len(rest) and tolerance_m > 0:
        (qi, bi), d = buildings.metric_tree.query_nearest(
            buildings.to_metric(points[rest]), max_distance=tolerance_m, return_distance=True, all_matches=True
        )
        pick = _first_pairs(qi, bi)  # ties (equal distances) → lowest position
        pos[rest[qi[pick]]] = bi[pick]
        dist[rest[qi[pick]]] = d[pick]
    return pos, dist
