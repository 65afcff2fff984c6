"""The placement rules, first match wins: ``exact`` building id, ``room`` code, ``contained`` in a
building, ``nearest`` building within the tolerance, ``area`` (community and grid only), else ``rejected``
with the reason (see :mod:`gridmap.domain.placement`); and :func:`derive` for already placed records.
The hot path is vectorised: no per-record Python loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridmap.domain.placement.duplicates import _duplicate_rows
from gridmap.domain.placement.index import _beside, _containing, _xy, match_points
from gridmap.domain.placement.world import PlacementError, PlacementWorld, _str_or_none

OUTCOMES = ("exact", "room", "contained", "nearest", "area", "rejected")
EXACT, ROOM, CONTAINED, NEAREST, AREA, REJECTED = range(len(OUTCOMES))
_UNSET = -1
#: columns every placement adds (or overwrites) on the records
DERIVED = (
    "building_id",
    "estate_id",
    "grid_code",
    "community_id",
    "street_id",
    "placement",
    "placement_distance_m",
    "reason",
)
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
ROOM_PATTERN = r"^\s*([^-\s]+)-(\d+)-(\d+)\s*$"
DEFAULT_TOLERANCE_M = 30.0


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
        cols = [
            c
            for c in (
                "id",
                "room",
                "building_id",
                "community_id",
                "grid_code",
                "placement",
                "placement_distance_m",
                "reason",
            )
            if c in self.frame
        ]
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


def place(
    records: pd.DataFrame,
    world: PlacementWorld,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    seen_ids: Iterable[str] | None = None,
) -> Placement:
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
        return pd.Categorical.from_codes(
            remap[self.reason], categories=pd.Index(texts[used], dtype=object), validate=False
        )

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


def _by_building_id(records: pd.DataFrame, world: PlacementWorld, st: _State) -> None:
    given = _column(records, "building_id")
    if given is None:
        return
    rows = st.todo & pd.notna(given)
    if not rows.any():
        return
    idx = np.flatnonzero(rows)
    named = given[idx]
    if world.building_aliases:  # a footprint merged into a building places on that building
        named = np.array([world.building_aliases.get(str(v), v) for v in named], dtype=object)
    pos = world.building_index.get_indexer(named)
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
    _reject_rows(
        st,
        rows[bad_format],
        [f"房号格式不对 / room code {r!r} is not building-unit-room like 3-2-501" for r in rooms[rows[bad_format]]],
    )
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
    _reject_rows(
        st,
        rows[no_unit],
        [
            f"{b} 号楼没有 {x} 单元 / building {b} has no unit {x} (units 1–{'?' if np.isnan(k) else int(k)})"
            for b, x, k in zip(name[no_unit], u[no_unit], units[no_unit])
        ],
    )
    _reject_rows(
        st,
        rows[no_floor],
        [
            f"{b} 号楼没有 {x} 层 / building {b} has no floor {x} (floors 1–{'?' if np.isnan(k) else int(k)})"
            for b, x, k in zip(name[no_floor], f[no_floor], floors[no_floor])
        ],
    )
    good = ~(no_unit | no_floor)
    st.to_building(rows[good], pos[good], ROOM)
    unit[rows[good]] = u[good]
    floor[rows[good]] = f[good]
    return _Rooms(unit, floor)


def _reject_rows(st: _State, rows: np.ndarray, reasons: list[str]) -> None:
    if len(rows):
        st.outcome[rows] = REJECTED
        st.say(rows, reasons)


def _room_buildings(
    world: PlacementWorld, name: np.ndarray, estate: np.ndarray, community: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Building position for each (name, estate | community) or -1 with the reason (vectorised joins)."""
    k = len(name)
    pos = np.full(k, -1, dtype=np.int64)
    why = np.full(k, None, dtype=object)
    bld = pd.DataFrame(
        {
            "name": world.building_names,
            "estate": world.building_estates,
            "community": world.building_communities,
            "pos": np.arange(len(world)),
        }
    )
    bld = bld[bld["name"].notna()]
    use_estate = pd.notna(estate)
    use_comm = ~use_estate & pd.notna(community)
    neither = ~use_estate & ~use_comm
    why[neither] = "房号需要小区或社区 / a room code needs the record's estate_id or community_id"
    if use_estate.any():
        idx = np.flatnonzero(use_estate)
        pos[idx], nn = _only_building(bld, "estate", name[idx], estate[idx])
        qn, qe = name[idx], estate[idx]
        why[idx[nn == 0]] = [
            f"小区 {e} 没有 {b} 号楼 / estate {e} has no building {b}" for b, e in zip(qn[nn == 0], qe[nn == 0])
        ]
        why[idx[nn > 1]] = [
            f"小区 {e} 有多个 {b} 号楼 / estate {e} has several buildings {b}" for b, e in zip(qn[nn > 1], qe[nn > 1])
        ]
    if use_comm.any():
        idx = np.flatnonzero(use_comm)
        pos[idx], nn = _only_building(bld, "community", name[idx], community[idx])
        qn, qc = name[idx], community[idx]
        why[idx[nn == 0]] = [
            f"社区 {c} 没有 {b} 号楼 / community {c} has no building {b}" for b, c in zip(qn[nn == 0], qc[nn == 0])
        ]
        why[idx[nn > 1]] = [
            f"社区 {c} 有多个 {b} 号楼, 请给出小区 / community {c} has several buildings {b}; give the estate_id"
            for b, c in zip(qn[nn > 1], qc[nn > 1])
        ]
    return pos, why


def _only_building(bld: pd.DataFrame, key: str, name: np.ndarray, area: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each (name, area): the position of the only building of that name in the area (an ``estate`` or a
    ``community``, as ``key`` says) or -1, and how many buildings of that name the area has."""
    counts = bld.groupby([key, "name"]).size().rename("n").reset_index()
    first = bld.drop_duplicates([key, "name"])[[key, "name", "pos"]]
    q = pd.DataFrame({"name": name, key: area})
    m = q.merge(counts, how="left", on=[key, "name"]).merge(first, how="left", on=[key, "name"])
    nn = m["n"].fillna(0).to_numpy()
    return np.where(nn == 1, m["pos"].to_numpy(dtype=float), -1).astype(np.int64), nn


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
    every = len(rows) == len(x)
    pos, dist = match_points(
        world.buildings,
        geoms if every else geoms[rows],
        tolerance_m=tolerance_m,
        xy=(x, y) if every else (x[rows], y[rows]),
    )
    contained = dist == 0.0
    if every and contained.all():  # the common case, without index arrays
        st.outcome[:] = CONTAINED
        st.building = pos
        st.distance[:] = 0.0
        return
    st.to_building(rows[contained], pos[contained], CONTAINED)
    st.distance[rows[contained]] = 0.0
    near = (pos >= 0) & ~contained
    if near.any():
        st.to_building(rows[near], pos[near], NEAREST)
        st.distance[rows[near]] = dist[near]
        st.say(
            rows[near], f"不在楼内, 取 {tolerance_m:g} 米内最近楼栋 / in no building; nearest within {tolerance_m:g} m"
        )
    rows = rows[pos < 0]
    pts = geoms[rows]
    if not len(rows):
        return
    # 5. the community (and grid) containing the point
    hit, cpos = _containing(world.community_tree, world.community_geoms, pts)
    st.outcome[rows[hit]] = AREA
    st.community[rows[hit]] = cpos[hit]
    st.say(
        rows[hit],
        f"{tolerance_m:g} 米内没有楼栋, 只定位到社区 / no building within "
        f"{tolerance_m:g} m; placed in its community only",
    )
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


# -- assembling the answer -------------------------------------------------------------------------
def _derived_columns(world: PlacementWorld, st: _State) -> dict[str, pd.Categorical]:
    """building, estate, grid, community and street of every record, as Categoricals over the world's ids."""
    on_c, on_g = st.community >= 0, st.grid >= 0

    tables = world.code_tables

    def codes(name: str, area: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> pd.Categorical:
        """``area``: (code per area, record on an area, record's area position) fills records off buildings."""
        # position -1 (no building) picks the table's last entry, -1: one gather, no masks, and the
        # table's dtype is already the one pandas keeps for these categories (no conversion pass)
        out = tables[name][st.building]
        if area is not None:
            per_area, on_area, area_pos = area
            if len(per_area) and on_area.any():
                rows = np.flatnonzero(on_area & (out < 0))
                out[rows] = per_area[area_pos[rows]]
        return pd.Categorical.from_codes(out, dtype=world.dtypes[name], validate=False)

    return {
        "building_id": codes("building"),
        "estate_id": codes("estate"),
        "grid_code": codes("grid", (world.g_grid, on_g, st.grid)),
        "community_id": codes("community", (world.c_community, on_c, st.community)),
        "street_id": codes("street", (world.c_street, on_c, st.community)),
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
        for name, got in (
            ("unit", np.where(by_room, room.unit, np.nan)),
            ("floor", np.where(by_room, room.floor, np.nan)),
        ):
            old = (
                pd.to_numeric(records[name], errors="coerce").to_numpy(float) if name in records else np.full(n, np.nan)
            )
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
