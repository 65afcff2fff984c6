"""Placing records (households, stewards, complaints, merchants, facilities) on buildings, vectorised.

Rules, first match wins (each record gets ``placement`` = the rule that placed it):

1. ``exact``     — the record names a known ``building_id``;
2. ``room``      — a room code ``3-2-501`` (building name "3" inside the record's estate, or its community
   when the name is unique there; unit 2; room 501 → floor 5);
3. ``contained`` — its point lies in (or on the edge of) a building polygon;
4. ``nearest``   — no building contains the point, but one lies within ``tolerance_m`` metres;
5. ``area``      — only the community (and the published plan's grid polygon) containing the point;
6. ``rejected``  — everything else, with the ``reason``.

An identifier that is given but does not resolve (an unknown building id, a room code naming a missing
building, unit or floor) rejects the record with that reason even when it also carries a point: a wrong
identifier is a data error the community should fix, not something to paper over with coordinates.
Later copies of a record id (and ids in ``seen_ids``) are rejected as duplicates; the first copy is placed
(the check runs in a second thread beside the spatial rules and overrides what they found).

Ties are broken the same way every run: a point on the edge shared by two buildings (or communities, or
grids) goes to the one whose interior holds it, else to the lowest id. Distances are measured in a metric
CRS (EPSG:4549 near 120°E, else the UTM zone). The hot path is shapely 2 ``STRtree`` queries and numpy
indexing; there is no per-record Python loop. Nothing here does I/O.
"""
from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import CRS, Transformer

from gridmap.errors import InvalidInput

OUTCOMES = ("exact", "room", "contained", "nearest", "area", "rejected")
EXACT, ROOM, CONTAINED, NEAREST, AREA, REJECTED = range(len(OUTCOMES))
_UNSET = -1
#: columns every placement adds (or overwrites) on the records
DERIVED = ("building_id", "estate_id", "grid_code", "community_id", "street_id", "placement",
           "placement_distance_m", "reason")
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
ROOM_PATTERN = r"^\s*([^-\s]+)-(\d+)-(\d+)\s*$"
DEFAULT_TOLERANCE_M = 30.0


class PlacementError(InvalidInput):
    """Inputs placement cannot work with (no CRS, missing columns, duplicate building ids …)."""


def metric_crs_for(bounds: Iterable[float]) -> str:
    """EPSG:4549 (CGCS2000 GK, CM 120°E) within 1.5° of 120°E, else the WGS 84 UTM zone of the centre."""
    minx, miny, maxx, maxy = bounds
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    if not (np.isfinite(lon) and np.isfinite(lat)):
        return "EPSG:4549"
    if 118.5 <= lon < 121.5 and lat > 0:
        return "EPSG:4549"
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


class PlacementWorld:
    """Buildings, communities and the published plan, indexed for placement (build once, place often).

    Buildings, communities and grids are sorted by id, so "lowest id" ties are "lowest position".
    Spatial indexes are built lazily and dropped when pickled (the world travels to Dask workers).
    """

    def __init__(self, buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, *,
                 assignment: Mapping[str, str] | pd.Series | None = None,
                 grids: gpd.GeoDataFrame | None = None) -> None:
        b = _geo(buildings, "buildings", ("id", "community_id"))
        c = _geo(communities, "communities", ("id",))
        b = b.sort_values("id", kind="stable").reset_index(drop=True)
        c = c.sort_values("id", kind="stable").reset_index(drop=True)
        for frame, what in ((b, "buildings"), (c, "communities")):
            dup = frame["id"][frame["id"].duplicated()]
            if len(dup):
                raise PlacementError(f"{what} ids are not unique: {sorted(map(str, dup.unique()))[:5]}")
        self.building_ids = b["id"].astype(str).to_numpy(dtype=object)
        self.building_geoms = b.geometry.to_numpy()
        self.building_names = _str_or_none(b.get("name"), len(b))
        self.building_estates = _str_or_none(b.get("estate_id"), len(b))
        self.building_communities = _str_or_none(b["community_id"], len(b))
        self.building_units = _int_or_nan(b.get("units"), len(b))
        self.building_floors = _int_or_nan(b.get("floors"), len(b))
        self.community_ids = c["id"].astype(str).to_numpy(dtype=object)
        self.community_geoms = c.geometry.to_numpy()
        self.community_streets = _str_or_none(c.get("street_id"), len(c))
        self.building_community_pos = pd.Index(self.community_ids).get_indexer(self.building_communities)
        if assignment is None:
            self.building_grids = np.full(len(b), None, dtype=object)
        else:
            amap = pd.Series(assignment) if not isinstance(assignment, pd.Series) else assignment
            self.building_grids = _str_or_none(pd.Series(self.building_ids).map(amap), len(b))
        if grids is not None and len(grids):
            g = _geo(grids, "plan_grids", ("code",)).sort_values("code", kind="stable")
            self.grid_codes = g["code"].astype(str).to_numpy(dtype=object)
            self.grid_geoms = g.geometry.to_numpy()
        else:
            self.grid_codes = np.empty(0, dtype=object)
            self.grid_geoms = np.empty(0, dtype=object)
        # integer codes into shared category arrays, so results are cheap pandas Categoricals
        self.estate_cats, (self.b_estate,) = _shared_codes(self.building_estates)
        self.community_cats, (self.c_community, self.b_community) = _shared_codes(
            self.community_ids, self.building_communities)
        self.street_cats, (self.c_street,) = _shared_codes(self.community_streets)
        self.b_street = np.where(self.building_community_pos >= 0,
                                 self.c_street[np.maximum(self.building_community_pos, 0)]
                                 if len(self.c_street) else -1, -1)
        self.grid_cats, (self.b_grid, self.g_grid) = _shared_codes(self.building_grids, self.grid_codes)
        extent = self.building_geoms if len(b) else self.community_geoms
        self.metric_crs = metric_crs_for(shapely.total_bounds(extent) if len(extent) else (120, 36, 120, 36))
        self._cache: dict[str, Any] = {}

    # -- lazily built indexes ------------------------------------------------------------------
    def _cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def building_tree(self) -> shapely.STRtree:
        return self.building_cells.tree

    @property
    def building_cells(self) -> CellIndex:
        return self._cached("building_cells", lambda: CellIndex(self.building_geoms))

    @property
    def metric_building_tree(self) -> shapely.STRtree:
        return self._cached("metric_building_tree",
                            lambda: shapely.STRtree(self.to_metric(self.building_geoms)))

    @property
    def community_tree(self) -> shapely.STRtree:
        return self._cached("community_tree", lambda: shapely.STRtree(self.community_geoms))

    @property
    def grid_tree(self) -> shapely.STRtree:
        return self._cached("grid_tree", lambda: shapely.STRtree(self.grid_geoms))

    @property
    def dtypes(self) -> dict[str, pd.CategoricalDtype]:
        """Categorical dtypes of the derived id columns (categories validated once)."""
        return self._cached("dtypes", lambda: {
            "building": pd.CategoricalDtype(self.building_ids), "estate": pd.CategoricalDtype(self.estate_cats),
            "grid": pd.CategoricalDtype(self.grid_cats), "community": pd.CategoricalDtype(self.community_cats),
            "street": pd.CategoricalDtype(self.street_cats)})

    @property
    def code_tables(self) -> dict[str, np.ndarray]:
        """Per building position (and -1 at the end, for "no building"): the code of each derived id."""
        def table(per_building: np.ndarray, dtype: pd.CategoricalDtype) -> np.ndarray:
            small = pd.Categorical.from_codes(np.empty(0, dtype=np.int64), dtype=dtype).codes.dtype
            return np.append(per_building, -1).astype(small)

        return self._cached("code_tables", lambda: {
            name: table(per_building, self.dtypes[name]) for name, per_building in (
                ("building", np.arange(len(self))), ("estate", self.b_estate), ("grid", self.b_grid),
                ("community", self.b_community), ("street", self.b_street))})

    @property
    def building_index(self) -> pd.Index:
        return self._cached("building_index", lambda: pd.Index(self.building_ids))

    def to_metric(self, geoms: np.ndarray) -> np.ndarray:
        """Project EPSG:4326 geometries to :attr:`metric_crs`."""
        t = self._cached("transformer", lambda: Transformer.from_crs(4326, self.metric_crs, always_xy=True))
        return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    def prepare(self) -> "PlacementWorld":
        """Build every index now (benchmarks time preparation apart from placing)."""
        shapely.prepare(self.building_geoms)
        for name in ("building_cells", "community_tree", "grid_tree", "building_index", "code_tables"):
            getattr(self, name)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __len__(self) -> int:
        return len(self.building_ids)


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
            pts = shapely.points(x[many], y[many])
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
        y = _beside(shapely.get_y, pts)
        x = shapely.get_x(pts)
        return x, y()
    except shapely.errors.GEOSException:  # an empty point among them: the slower, careful way
        x, y = np.full(len(pts), np.nan), np.full(len(pts), np.nan)
        ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
        x[ok], y[ok] = shapely.get_x(pts[ok]), shapely.get_y(pts[ok])
        return x, y


@dataclass(frozen=True)
class Placement:
    """The records with the derived columns added, and counts by outcome."""

    frame: pd.DataFrame
    summary: dict[str, int]

    @property
    def unmatched(self) -> pd.DataFrame:
        """Rejected records (with ``reason``)."""
        return self.frame[self.frame["placement"] == "rejected"]

    def report(self) -> pd.DataFrame:
        """Every record not placed exactly: rejected, area-only and nearest, with the input row number."""
        flagged = self.frame["placement"].isin(["rejected", "area", "nearest"]).to_numpy()
        cols = [c for c in ("id", "room", "building_id", "community_id", "grid_code", "placement",
                            "placement_distance_m", "reason") if c in self.frame]
        out = pd.DataFrame(self.frame.loc[flagged, cols])
        out.insert(0, "row", np.flatnonzero(flagged) + 1)
        return out.reset_index(drop=True)


def summarize(placement: pd.Series | np.ndarray) -> dict[str, int]:
    """Counts by outcome (every outcome present, zeros included) and ``total``.

    ``placement``: outcome names, or the integer codes of :data:`OUTCOMES`.
    """
    arr = np.asarray(placement)
    if arr.dtype.kind in "iu":
        out = {k: int(np.count_nonzero(arr == i)) for i, k in enumerate(OUTCOMES)}
    else:
        vc = pd.Series(arr).value_counts()
        out = {k: int(vc.get(k, 0)) for k in OUTCOMES}
    out["total"] = int(len(placement))
    return out


def place(records: pd.DataFrame, world: PlacementWorld, *, tolerance_m: float = DEFAULT_TOLERANCE_M,
          seen_ids: Iterable[str] | None = None) -> Placement:
    """Place ``records`` on the buildings of ``world`` (see the module docstring for the rules).

    Parameters
    ----------
    records
        A (Geo)DataFrame; optional columns ``id``, ``building_id``, ``room`` (with ``estate_id`` or
        ``community_id`` naming where the room code's building number lives) and point ``geometry``.
        Its other columns are passed through unchanged.
    world
        :class:`PlacementWorld` of buildings, communities and the published plan.
    tolerance_m
        How far (metres) the nearest building may be from a point in no building.
    seen_ids
        Record ids placed before (earlier chunks): their copies here are duplicates.

    Returns
    -------
    Placement
        ``frame``: the records in input order with ``building_id, estate_id, grid_code, community_id,
        street_id, placement, placement_distance_m, reason`` (and ``unit``/``floor`` from room codes);
        ``summary``: counts by outcome.
    """
    if tolerance_m < 0 or not np.isfinite(tolerance_m):
        raise PlacementError(f"tolerance must be a non-negative number of metres, got {tolerance_m!r}")
    n = len(records)
    st = _State(n)
    duplicates = _beside(_duplicate_rows, records, seen_ids)
    _by_building_id(records, world, st)
    room = _by_room(records, world, st)
    _by_location(records, world, st, tolerance_m)
    rows, reasons = duplicates()
    st.reject_again(rows, reasons)  # a later copy of an id is rejected whatever it matched
    none_left = st.todo
    st.reject(none_left, "没有楼栋编号、房号或坐标 / no building id, room code or location")
    return _assemble(records, world, st, room)


# -- the rules -------------------------------------------------------------------------------------
class _State:
    """Per-record working arrays shared by the rules."""

    def __init__(self, n: int) -> None:
        self.outcome = np.full(n, _UNSET, dtype=np.int8)
        self.building = np.full(n, -1, dtype=np.int64)
        self.community = np.full(n, -1, dtype=np.int64)
        self.grid = np.full(n, -1, dtype=np.int64)
        self.distance = np.full(n, np.nan)
        # reasons as integer codes into ``reasons`` (no million-element object array on the hot path)
        self.reason = np.full(n, -1, dtype=np.int32)
        self.reasons: dict[str, int] = {}

    @property
    def todo(self) -> np.ndarray:
        return self.outcome == _UNSET

    def say(self, rows: np.ndarray, reason: str | Iterable[str]) -> None:
        """Set the reason of ``rows`` (an index or mask): one text for all, or one per row."""
        if isinstance(reason, str):
            self.reason[rows] = self.reasons.setdefault(reason, len(self.reasons))
            return
        codes, texts = pd.factorize(np.asarray(list(reason), dtype=object))
        table = np.array([self.reasons.setdefault(t, len(self.reasons)) for t in texts], dtype=np.int32)
        self.reason[rows] = table[codes]

    def reason_column(self) -> pd.Categorical:
        """The reasons as a Categorical over the texts in use (NaN where there is none)."""
        texts = np.array(list(self.reasons), dtype=object)
        used = np.bincount(self.reason[self.reason >= 0], minlength=len(texts)) > 0
        remap = np.full(len(texts) + 1, -1, dtype=np.int32)
        remap[:-1][used] = np.arange(int(used.sum()), dtype=np.int32)
        return pd.Categorical.from_codes(remap[self.reason], categories=pd.Index(texts[used], dtype=object),
                                         validate=False)

    def reject(self, mask: np.ndarray, reason: str) -> None:
        self.outcome[mask] = REJECTED
        self.say(mask, reason)

    def reject_again(self, rows: np.ndarray, reasons: list[str]) -> None:
        """Reject ``rows`` whatever a rule found for them."""
        if len(rows):
            self.building[rows] = self.community[rows] = self.grid[rows] = -1
            self.distance[rows] = np.nan
            _reject_rows(self, rows, reasons)

    def to_building(self, rows: np.ndarray, buildings: np.ndarray, outcome: int) -> None:
        self.outcome[rows] = outcome
        self.building[rows] = buildings


def _column(records: pd.DataFrame, name: str) -> np.ndarray | None:
    """Column as an object array with blanks as None, or None when absent."""
    if name not in records:
        return None
    return _str_or_none(records[name], len(records))


def _duplicate_rows(records: pd.DataFrame, seen_ids: Iterable[str] | None) -> tuple[np.ndarray, list[str]]:
    """Rows repeating an earlier record id (or one of ``seen_ids``), with their reasons.

    Only rows whose id shares its fingerprint with another row's (:func:`_suspects`) are compared as
    strings, so a million distinct ids cost one numpy sort, which runs outside the GIL, beside the spatial
    rules (see :func:`place`).
    """
    if "id" not in records:
        return np.empty(0, dtype=np.int64), []
    col = records["id"]
    rows = _suspects(col) if seen_ids is None else None
    if rows is None:
        rows = np.arange(len(col))
    elif not len(rows):
        return rows, []
    else:
        col = col.iloc[rows]
    ids = _str_or_none(col, len(col))
    s = pd.Series(ids)
    has = s.notna().to_numpy()
    dup = has & s.duplicated(keep="first").to_numpy()
    if seen_ids is not None:
        dup |= has & s.isin(pd.Index(seen_ids)).to_numpy()
    return rows[dup], [f"重复记录 / duplicate record id {v}" for v in ids[dup]]


def _suspects(col: pd.Series) -> np.ndarray | None:
    """Rows that may repeat another row's id (ascending), or None: look at every row.

    Arrow-backed strings (pandas' default ``str``) get 64-bit fingerprints (:func:`_fingerprints`); rows
    with a fingerprint of their own certainly hold an id of their own. Sorting a million fingerprints
    (numpy's vectorised sort) is several times faster than hashing the strings.
    """
    dtype = col.dtype
    if not (isinstance(dtype, pd.ArrowDtype) or getattr(dtype, "storage", None) == "pyarrow"):
        return None
    fp = _fingerprints(pa.array(col))  # zero-copy for arrow-backed columns
    if fp is None:
        return None
    ordered = np.sort(fp)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.flatnonzero(np.isin(fp, shared)) if len(shared) else np.empty(0, dtype=np.int64)


_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def _fingerprints(values: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """A 64-bit fingerprint of each string (equal strings, equal fingerprints), or None for other types.

    Mixes the length, the first 8 and the last 8 bytes (one unaligned 8-byte load each from the arrow
    data buffer), so strings of up to 16 bytes that differ get different (head, tail, length) triples.
    """
    if sys.byteorder != "little" or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    if len(arr) and hi - lo == (offsets[1] - offsets[0]) * len(arr) and (offsets[1] - offsets[0]) <= 8 and \
            (np.diff(offsets) == offsets[1] - offsets[0]).all():  # fixed width ≤ 8 (generated ids): exact
        width = int(offsets[1] - offsets[0])
        chars = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[lo:hi]
        if width == 8:
            return chars.view(np.uint64)
        block = np.zeros((len(arr), 8), dtype=np.uint8)
        block[:, :width] = chars.reshape(len(arr), width)
        return block.view(np.uint64).ravel()
    padded = np.zeros(hi - lo + 16, dtype=np.uint8)  # 8 spare bytes either side of the characters
    if hi > lo:
        padded[8:8 + hi - lo] = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[lo:hi]
    words = np.ndarray((len(padded) - 7,), dtype=np.uint64, buffer=padded, strides=(1,))  # load at any byte
    start, end = offsets[:-1] - lo, offsets[1:] - lo
    length = (end - start).astype(np.uint64)
    head = words[start + 8]  # the 8 bytes from the first character (little-endian: first = lowest)
    tail = words[end]        # the 8 bytes ending with the last character (last = highest)
    bits = np.minimum(length, 8) * np.uint64(8)
    head &= np.where(bits < 64, (np.uint64(1) << (bits & np.uint64(63))) - np.uint64(1), _ONES)
    bits = np.minimum(np.maximum(length, 8) - np.uint64(8), 8) * np.uint64(8)  # tail bytes beyond the head
    tail &= np.where(bits > 0, ~((np.uint64(1) << ((np.uint64(64) - bits) & np.uint64(63))) - np.uint64(1)),
                     np.uint64(0))
    head *= np.uint64(0x9E37_79B9_7F4A_7C15)
    tail *= np.uint64(0xC2B2_AE3D_27D4_EB4F)
    head ^= tail
    head ^= length
    return head


def _by_building_id(records: pd.DataFrame, world: PlacementWorld, st: _State) -> None:
    given = _column(records, "building_id")
    if given is None:
        return
    rows = st.todo & pd.notna(given)
    if not rows.any():
        return
    idx = np.flatnonzero(rows)
    pos = world.building_index.get_indexer(given[idx])
    ok = pos >= 0
    st.to_building(idx[ok], pos[ok], EXACT)
    _reject_rows(st, idx[~ok], [f"楼栋编号不存在 / unknown building id {v}" for v in given[idx[~ok]]])


@dataclass
class _Rooms:
    unit: np.ndarray
    floor: np.ndarray


def _by_room(records: pd.DataFrame, world: PlacementWorld, st: _State) -> _Rooms | None:
    """Rule 2: room codes within the record's estate (or community, when the building name is unique)."""
    rooms = _column(records, "room")
    if rooms is None:
        return None
    n = len(records)
    unit = np.full(n, np.nan)
    floor = np.full(n, np.nan)
    rows = np.flatnonzero(st.todo & pd.notna(rooms))
    if not len(rows):
        return _Rooms(unit, floor)
    parts = pd.Series(rooms[rows]).str.extract(ROOM_PATTERN)
    bad_format = parts[0].isna().to_numpy()
    _reject_rows(st, rows[bad_format], [f"房号格式不对 / room code {r!r} is not building-unit-room like 3-2-501"
                                        for r in rooms[rows[bad_format]]])
    rows, parts = rows[~bad_format], parts[~bad_format]
    name = parts[0].to_numpy(dtype=object)
    u = parts[1].astype(int).to_numpy()
    r = parts[2].astype(int).to_numpy()
    estate = _column(records, "estate_id")
    community = _column(records, "community_id")
    est = estate[rows] if estate is not None else np.full(len(rows), None, dtype=object)
    com = community[rows] if community is not None else np.full(len(rows), None, dtype=object)
    pos, why = _room_buildings(world, name, est, com)
    failed = pos < 0
    _reject_rows(st, rows[failed], list(why[failed]))
    ok = ~failed
    rows, pos, name, u, r = rows[ok], pos[ok], name[ok], u[ok], r[ok]
    f = r // 100
    units = world.building_units[pos]
    floors = world.building_floors[pos]
    no_unit = (u < 1) | (~np.isnan(units) & (u > units))
    no_floor = ~no_unit & ((f < 1) | (~np.isnan(floors) & (f > floors)))
    _reject_rows(st, rows[no_unit], [f"{b} 号楼没有 {x} 单元 / building {b} has no unit {x}"
                                     f" (units 1–{'?' if np.isnan(k) else int(k)})"
                                     for b, x, k in zip(name[no_unit], u[no_unit], units[no_unit])])
    _reject_rows(st, rows[no_floor], [f"{b} 号楼没有 {x} 层 / building {b} has no floor {x}"
                                      f" (floors 1–{'?' if np.isnan(k) else int(k)})"
                                      for b, x, k in zip(name[no_floor], f[no_floor], floors[no_floor])])
    good = ~(no_unit | no_floor)
    st.to_building(rows[good], pos[good], ROOM)
    unit[rows[good]] = u[good]
    floor[rows[good]] = f[good]
    return _Rooms(unit, floor)


def _reject_rows(st: _State, rows: np.ndarray, reasons: list[str]) -> None:
    if len(rows):
        st.outcome[rows] = REJECTED
        st.say(rows, reasons)


def _room_buildings(world: PlacementWorld, name: np.ndarray, estate: np.ndarray,
                    community: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Building position for each (name, estate | community) or -1 with the reason (vectorised joins)."""
    k = len(name)
    pos = np.full(k, -1, dtype=np.int64)
    why = np.full(k, None, dtype=object)
    bld = pd.DataFrame({"name": world.building_names, "estate": world.building_estates,
                        "community": world.building_communities, "pos": np.arange(len(world))})
    bld = bld[bld["name"].notna()]
    use_estate = pd.notna(estate)
    use_comm = ~use_estate & pd.notna(community)
    neither = ~use_estate & ~use_comm
    why[neither] = "房号需要小区或社区 / a room code needs the record's estate_id or community_id"
    if use_estate.any():
        q = pd.DataFrame({"name": name[use_estate], "estate": estate[use_estate]})
        m = q.merge(bld.drop_duplicates(["estate", "name"], keep=False), how="left", on=["name", "estate"])
        p = m["pos"].fillna(-1).astype(np.int64).to_numpy()
        idx = np.flatnonzero(use_estate)
        pos[idx] = p
        missing = p < 0
        why[idx[missing]] = [f"小区 {e} 没有 {b} 号楼 / estate {e} has no building {b}"
                             for b, e in zip(q["name"].to_numpy()[missing], q["estate"].to_numpy()[missing])]
    if use_comm.any():
        counts = bld.groupby(["community", "name"]).size().rename("n").reset_index()
        first = bld.drop_duplicates(["community", "name"], keep="first")
        q = pd.DataFrame({"name": name[use_comm], "community": community[use_comm]})
        m = q.merge(counts, how="left", on=["community", "name"]).merge(first, how="left",
                                                                         on=["community", "name"])
        nn = m["n"].fillna(0).to_numpy()
        p = np.where(nn == 1, m["pos"].fillna(-1).to_numpy(), -1).astype(np.int64)
        idx = np.flatnonzero(use_comm)
        pos[idx] = p
        qn, qc = q["name"].to_numpy(), q["community"].to_numpy()
        why[idx[nn == 0]] = [f"社区 {c} 没有 {b} 号楼 / community {c} has no building {b}"
                             for b, c in zip(qn[nn == 0], qc[nn == 0])]
        why[idx[nn > 1]] = [f"社区 {c} 有多个 {b} 号楼, 请给出小区 / community {c} has several buildings {b};"
                            f" give the estate_id" for b, c in zip(qn[nn > 1], qc[nn > 1])]
    return pos, why


def _by_location(records: pd.DataFrame, world: PlacementWorld, st: _State, tolerance_m: float) -> None:
    """Rules 3–5: containing building, nearest building within the tolerance, containing area."""
    if "geometry" not in records or not isinstance(records, gpd.GeoDataFrame):
        return
    geoms = _records_4326(records)
    x, y = _xy(geoms)  # NaN: missing, empty or not a point
    todo = st.todo
    odd = np.flatnonzero(todo & np.isnan(x))
    if len(odd):  # rare: say why, unless there simply is no geometry
        kind = shapely.get_type_id(geoms[odd])
        _reject_rows(st, odd[kind == 0], ["坐标为空 / the point is empty"] * int((kind == 0).sum()))
        _reject_rows(st, odd[kind > 0], ["坐标不是点 / the geometry is not a point"] * int((kind > 0).sum()))
    rows = np.flatnonzero(todo & ~np.isnan(x))
    if not len(rows):
        return
    # 3. containing building (a point on an edge counts; see _containing for ties)
    every = len(rows) == len(x)
    pos = world.building_cells.locate_xy(x if every else x[rows], y if every else y[rows])
    hit = pos >= 0
    if hit.all():
        if every:  # the common case, without index arrays
            st.outcome[:] = CONTAINED
            st.building = pos
            st.distance[:] = 0.0
        else:
            st.to_building(rows, pos, CONTAINED)
            st.distance[rows] = 0.0
        return
    st.to_building(rows[hit], pos[hit], CONTAINED)
    st.distance[rows[hit]] = 0.0
    rows = rows[~hit]
    pts = geoms[rows]
    # 4. nearest building within the tolerance, in metres
    if len(world) and tolerance_m > 0:
        mpts = world.to_metric(pts)
        (qi, bi), d = world.metric_building_tree.query_nearest(mpts, max_distance=tolerance_m,
                                                               return_distance=True, all_matches=True)
        pick = _first_pairs(qi, bi)  # ties (equal distances) → lowest id
        first = np.full(len(pts), -1, dtype=np.int64)
        dist = np.full(len(pts), np.nan)
        first[qi[pick]] = bi[pick]
        dist[qi[pick]] = d[pick]
        near = first >= 0
        st.to_building(rows[near], first[near], NEAREST)
        st.distance[rows[near]] = dist[near]
        st.say(rows[near], f"不在楼内, 取 {tolerance_m:g} 米内最近楼栋 / in no building; nearest " \
                                f"within {tolerance_m:g} m")
        rows, pts = rows[~near], pts[~near]
    if not len(rows):
        return
    # 5. the community (and grid) containing the point
    hit, cpos = _containing(world.community_tree, world.community_geoms, pts)
    st.outcome[rows[hit]] = AREA
    st.community[rows[hit]] = cpos[hit]
    st.say(rows[hit], f"{tolerance_m:g} 米内没有楼栋, 只定位到社区 / no building within " \
                           f"{tolerance_m:g} m; placed in its community only")
    if len(world.grid_codes) and hit.any():
        ghit, gpos = _containing(world.grid_tree, world.grid_geoms, pts[hit])
        st.grid[rows[hit][ghit]] = gpos[ghit]
    _reject_rows(st, rows[~hit], ["不在任何社区内 / outside every community"] * int((~hit).sum()))


def _records_4326(records: gpd.GeoDataFrame) -> np.ndarray:
    if records.crs is None:
        raise PlacementError("the records have no CRS; set one (EPSG:4326 for longitude/latitude) first")
    if not CRS.from_user_input(records.crs).equals(CRS.from_epsg(4326)):
        records = records.to_crs(4326)
    return records.geometry.to_numpy()


def _containing(index: shapely.STRtree | CellIndex, polys: np.ndarray,
                pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _pick_containing(qi: np.ndarray, pi: np.ndarray, polys: np.ndarray, k: int,
                     points_of: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
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


# -- assembling the answer -------------------------------------------------------------------------
def _derived_columns(world: PlacementWorld, st: _State) -> dict[str, pd.Categorical]:
    """building, estate, grid, community and street of every record, as Categoricals over the world's ids."""
    on_c, on_g = st.community >= 0, st.grid >= 0

    tables = world.code_tables

    def codes(name: str, per_area: np.ndarray | None = None, on_area: np.ndarray | None = None,
              area_pos: np.ndarray | None = None) -> pd.Categorical:
        # position -1 (no building) picks the table's last entry, -1: one gather, no masks, and the
        # table's dtype is already the one pandas keeps for these categories (no conversion pass)
        out = tables[name][st.building]
        if per_area is not None and len(per_area) and on_area.any():
            rows = np.flatnonzero(on_area & (out < 0))
            out[rows] = per_area[area_pos[rows]]
        return pd.Categorical.from_codes(out, dtype=world.dtypes[name], validate=False)

    return {
        "building_id": codes("building"),
        "estate_id": codes("estate"),
        "grid_code": codes("grid", world.g_grid, on_g, st.grid),
        "community_id": codes("community", world.c_community, on_c, st.community),
        "street_id": codes("street", world.c_street, on_c, st.community),
    }


def _assemble(records: pd.DataFrame, world: PlacementWorld, st: _State, room: _Rooms | None) -> Placement:
    """The records plus the derived columns, as Categoricals (small integer codes, shared categories)."""
    n = len(records)
    out = records.copy(deep=False)  # copy-on-write: the caller's frame is never changed
    for name, values in _derived_columns(world, st).items():
        out[name] = values
    out["placement"] = pd.Categorical.from_codes(st.outcome, dtype=OUTCOME_DTYPE, validate=False)
    out["placement_distance_m"] = st.distance
    out["reason"] = st.reason_column()
    if room is not None:
        by_room = st.outcome == ROOM
        for name, got in (("unit", np.where(by_room, room.unit, np.nan)),
                          ("floor", np.where(by_room, room.floor, np.nan))):
            old = pd.to_numeric(records[name], errors="coerce").to_numpy(float) if name in records \
                else np.full(n, np.nan)
            out[name] = pd.array(np.where(np.isnan(got), old, got), dtype="Float64").astype("Int64")
    return Placement(out, summarize(st.outcome))


def derive(records: pd.DataFrame, world: PlacementWorld) -> pd.DataFrame:
    """Estate, grid, community and street of already placed records, from the world's current plan.

    A record with a ``building_id`` takes everything from its building (its grid from the plan's
    assignment); one without (area-only) keeps its ``community_id`` and takes the grid whose polygon
    holds its point. Returns ``id`` (when present) and the derived columns, in input order.
    """
    n = len(records)
    st = _State(n)
    bid = _column(records, "building_id")
    if bid is not None and len(world):
        st.building = world.building_index.get_indexer(bid).astype(np.int64)
    free = st.building < 0
    com = _column(records, "community_id")
    if com is not None and len(world.community_ids):
        st.community = np.where(free, pd.Index(world.community_ids).get_indexer(com), -1).astype(np.int64)
    if isinstance(records, gpd.GeoDataFrame) and "geometry" in records and free.any():
        geoms = _records_4326(records)
        rows = np.flatnonzero(free & (shapely.get_type_id(geoms) == 0))
        if len(world.grid_codes) and len(rows):
            hit, gpos = _containing(world.grid_tree, world.grid_geoms, geoms[rows])
            st.grid[rows[hit]] = gpos[hit]
        lost = rows[st.community[rows] < 0]
        if len(lost) and len(world.community_ids):
            hit, cpos = _containing(world.community_tree, world.community_geoms, geoms[lost])
            st.community[lost[hit]] = cpos[hit]
    out = pd.DataFrame(_derived_columns(world, st), index=records.index)
    if "id" in records:
        out.insert(0, "id", records["id"].to_numpy())
    return out.reset_index(drop=True)


# -- small helpers ---------------------------------------------------------------------------------
def _geo(frame: gpd.GeoDataFrame, what: str, required: tuple[str, ...]) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise PlacementError(f"{what} must be a GeoDataFrame with polygons")
    missing = [c for c in required if c not in frame]
    if missing:
        raise PlacementError(f"{what} lack the column(s) {missing}")
    if frame.crs is None:
        raise PlacementError(f"{what} have no CRS; set one (EPSG:4326) first")
    if not CRS.from_user_input(frame.crs).equals(CRS.from_epsg(4326)):
        frame = frame.to_crs(4326)
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    return frame


def _str_or_none(col: pd.Series | np.ndarray | None, n: int) -> np.ndarray:
    """Object array of strings, with missing and empty values as None (a copy)."""
    if col is None:
        return np.full(n, None, dtype=object)
    s = pd.Series(np.asarray(col, dtype=object))
    missing = s.isna().to_numpy().copy()
    if pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty"):
        s = s.astype(object)
        s[~missing] = s[~missing].astype(str)
    arr = s.to_numpy(dtype=object, copy=True)
    missing |= arr == ""
    arr[missing] = None
    return arr


def _int_or_nan(col: pd.Series | None, n: int) -> np.ndarray:
    if col is None:
        return np.full(n, np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _shared_codes(*parts: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unique non-null values over ``parts`` and each part's integer codes into them (-1 for None)."""
    joined = np.concatenate([np.asarray(p, dtype=object) for p in parts]) if parts else np.empty(0, object)
    codes, cats = pd.factorize(joined)
    bounds = np.cumsum([0] + [len(p) for p in parts])
    return np.asarray(cats, dtype=object), [codes[a:b].astype(np.int64) for a, b in zip(bounds[:-1], bounds[1:])]
