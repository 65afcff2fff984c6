"""Metrics of a grid plan, registered by name: each is a function of a plan and the world it divides.

Per-grid metrics return a Series indexed by grid code; :func:`grid_table` gathers them all and
:func:`community_table` summarises per community. Everything is measured in the world's metric CRS.
No I/O.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap.domain.coverage import buildings_without_leader as _unled_buildings
from gridmap.domain.geometry import parts, polsby_popper
from gridmap.domain.partition.graph import BARRIER
from gridmap.domain.plan import GridPlan

#: "within ±10% of the community mean"
NEAR = 0.10


@dataclass(frozen=True)
class World:
    """The frames a plan is judged against, all in one projected CRS.

    ``buildings``: id, community_id, households, residents?, estate_id?, geometry.
    ``grids``: code, community_id, geometry (the plan's grid polygons).
    ``adjacency``: i, j (positions in ``buildings``), length, kind (SOFT/WALL/BARRIER) — optional.
    ``stewards``: role, building_id, serves, party_member — optional.
    ``bounds``: community id -> (min, max) households.
    """

    communities: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    adjacency: pd.DataFrame | None = None
    stewards: pd.DataFrame | None = None
    bounds: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    default_bounds: tuple[int, int] = (300, 500)

    def bounds_of(self, community_id: str) -> tuple[int, int]:
        return tuple(self.bounds.get(community_id, self.default_bounds))  # type: ignore[return-value]


Metric = Callable[[GridPlan, World], pd.Series]
METRICS: dict[str, Metric] = {}


def metric(name: str) -> Callable[[Metric], Metric]:
    """Register a per-grid metric under ``name``."""

    def deco(fn: Metric) -> Metric:
        METRICS[name] = fn
        return fn

    return deco


def compute(name: str, plan: GridPlan, world: World) -> pd.Series:
    """The metric ``name`` of ``plan``; KeyError naming the known metrics otherwise."""
    try:
        fn = METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}") from None
    return fn(plan, world).rename(name)


# -- helpers -----------------------------------------------------------------------------------


def _codes(plan: GridPlan) -> pd.Index:
    return pd.Index(plan.codes, name="code")


#: per plan: (a weak reference to the buildings frame it was computed for, the result). The frame is held by
#: reference, not by ``id()``: a new frame may reuse a freed frame's id and would be handed a stale answer.
_GRID_OF: weakref.WeakKeyDictionary[GridPlan, tuple[weakref.ref, pd.Series]] = weakref.WeakKeyDictionary()


def _grid_of_buildings(plan: GridPlan, world: World) -> pd.Series:
    """Grid code of each of ``world.buildings`` (NaN when unassigned), computed once per plan/world."""
    hit = _GRID_OF.get(plan)
    if hit is not None and hit[0]() is world.buildings:
        return hit[1]
    lookup = pd.Series(dict(plan.assignment), dtype=object)
    out = pd.Series(
        lookup.reindex(world.buildings["id"].to_numpy()).to_numpy(), index=world.buildings.index, dtype=object
    )
    _GRID_OF[plan] = (weakref.ref(world.buildings), out)
    return out


def _sum_by_grid(plan: GridPlan, world: World, column: str) -> pd.Series:
    b = world.buildings
    if column not in b:
        return pd.Series(0, index=_codes(plan))
    vals = pd.to_numeric(b[column], errors="coerce").fillna(0)
    return vals.groupby(_grid_of_buildings(plan, world)).sum().reindex(_codes(plan), fill_value=0)


def _geom(plan: GridPlan, world: World) -> pd.Series:
    g = world.grids.set_index("code").geometry
    return g.reindex(_codes(plan))


# -- per-grid metrics --------------------------------------------------------------------------


def community_id(plan: GridPlan, world: World) -> pd.Series:
    return pd.Series(plan.grid_community).reindex(_codes(plan))


def households(plan: GridPlan, world: World) -> pd.Series:
    return _sum_by_grid(plan, world, "households").astype(int)


def residents(plan: GridPlan, world: World) -> pd.Series:
    return _sum_by_grid(plan, world, "residents").astype(int)


def buildings(plan: GridPlan, world: World) -> pd.Series:
    grid = _grid_of_buildings(plan, world)
    return grid.value_counts().reindex(_codes(plan), fill_value=0).astype(int)


def deviation(plan: GridPlan, world: World) -> pd.Series:
    """Households relative to the community's mean grid size, minus 1."""
    h = households(plan, world)
    com = community_id(plan, world)
    mean = h.groupby(com).transform("mean")
    return (h / mean.where(mean > 0) - 1).fillna(0.0)


def in_bounds(plan: GridPlan, world: World) -> pd.Series:
    h = households(plan, world)
    com = community_id(plan, world)
    lo = pd.Series([world.bounds_of(c)[0] for c in com], index=com.index, dtype=float)
    hi = pd.Series([world.bounds_of(c)[1] for c in com], index=com.index, dtype=float)
    return (h >= lo) & (h <= hi)


def polygon_parts(plan: GridPlan, world: World) -> pd.Series:
    """Number of pieces of the grid polygon (1 = contiguous)."""
    return pd.Series(parts(_geom(plan, world).values), index=_codes(plan)).astype(int)


def detached_parts(plan: GridPlan, world: World) -> pd.Series:
    """Pieces of the grid polygon beyond one per piece of its community it lies in: 0 = contiguous.

    A community drawn as several separate pieces forces a grid spanning them to have several pieces;
    only the pieces the plan could have avoided are counted here.
    """
    geoms = _geom(plan, world).values
    codes = _codes(plan)
    ok = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    out = pd.Series(0, index=codes, dtype=int)
    if not ok.any():
        return out
    pieces, owner = shapely.get_parts(world.communities.geometry.values, return_index=True)
    piece_com = world.communities["id"].to_numpy()[owner]
    parts_, grid_idx = shapely.get_parts(geoms[ok], return_index=True)
    tree = shapely.STRtree(pieces)
    pt, pc = tree.query(shapely.point_on_surface(parts_), predicate="intersects")
    frame = pd.DataFrame({"grid": np.flatnonzero(ok)[grid_idx[pt]], "piece": pc})
    com = np.array([plan.grid_community[c] for c in codes], dtype=object)
    frame = frame[piece_com[frame["piece"].to_numpy()] == com[frame["grid"].to_numpy()]]
    n_pieces = frame.groupby("grid")["piece"].nunique()
    n_parts = pd.Series(shapely.get_num_geometries(geoms[ok]), index=np.flatnonzero(ok))
    extra = (n_parts - n_pieces.reindex(n_parts.index).fillna(1)).clip(lower=0).astype(int)
    out.iloc[extra.index.to_numpy()] = extra.to_numpy()
    return out


def building_parts(plan: GridPlan, world: World) -> pd.Series:
    """Number of connected pieces of the grid's buildings in the adjacency graph (1 = contiguous)."""
    adj = world.adjacency
    grid = _grid_of_buildings(plan, world).to_numpy(dtype=object)
    n = len(grid)
    if adj is None or n == 0:
        return pd.Series(np.nan, index=_codes(plan))
    i, j = adj["i"].to_numpy(), adj["j"].to_numpy()
    same = grid[i] == grid[j]
    m = coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
    _, comp = connected_components(m, directed=False)
    frame = pd.DataFrame({"grid": grid, "comp": comp}).dropna()
    return frame.groupby("grid")["comp"].nunique().reindex(_codes(plan), fill_value=0).astype(int)


def polsby_popper_metric(plan: GridPlan, world: World) -> pd.Series:
    return pd.Series(polsby_popper(_geom(plan, world).values), index=_codes(plan))


def area(plan: GridPlan, world: World) -> pd.Series:
    return pd.Series(shapely.area(_geom(plan, world).values), index=_codes(plan))


def enclosed_by(plan: GridPlan, world: World) -> pd.Series:
    """Code of the grid that surrounds this grid on every side ('' when none)."""
    geoms = _geom(plan, world).values
    codes = _codes(plan)
    out = pd.Series("", index=codes, dtype=object)
    ok = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    if ok.sum() < 2:
        return out
    idx = np.flatnonzero(ok)
    pieces, owner = shapely.get_parts(geoms[idx], return_index=True)  # every piece of a grid drawn in several
    filled = np.asarray(shapely.polygons(shapely.get_exterior_ring(pieces)))
    shrunk = shapely.buffer(geoms[idx], -0.01)
    tree = shapely.STRtree(filled)
    a, b = tree.query(shrunk, predicate="within")
    for x, y in zip(a.tolist(), owner[b].tolist()):
        if x != y and plan.grid_community[codes[idx[x]]] == plan.grid_community[codes[idx[y]]]:
            out.iloc[idx[x]] = codes[idx[y]]
    return out


def walls_crossed(plan: GridPlan, world: World) -> pd.Series:
    """Neighbouring building pairs inside the grid that a barrier line (road, river, wall) separates."""
    adj = world.adjacency
    if adj is None or "kind" not in adj:
        return pd.Series(0, index=_codes(plan))

    grid = _grid_of_buildings(plan, world).to_numpy(dtype=object)
    i, j = adj["i"].to_numpy(), adj["j"].to_numpy()
    inside = (grid[i] == grid[j]) & (adj["kind"].to_numpy() == BARRIER)
    return pd.Series(grid[i[inside]]).value_counts().reindex(_codes(plan), fill_value=0).astype(int)


def estates_split(plan: GridPlan, world: World) -> pd.Series:
    """Estates that fit in one grid but have buildings in this grid and in another."""
    b = world.buildings
    if "estate_id" not in b:
        return pd.Series(0, index=_codes(plan))
    f = pd.DataFrame(
        {
            "estate": b["estate_id"],
            "grid": _grid_of_buildings(plan, world),
            "hh": pd.to_numeric(b["households"], errors="coerce").fillna(0),
            "com": b["community_id"],
        }
    ).dropna(subset=["estate", "grid"])
    tot = f.groupby("estate")["hh"].sum()
    first = f.groupby("estate")["com"].first()
    hi = pd.Series([world.bounds_of(c)[1] for c in first], index=first.index, dtype=float)
    fits = tot <= hi
    ngrids = f.groupby("estate")["grid"].nunique()
    bad = ngrids[(ngrids > 1) & fits].index
    hit = f[f["estate"].isin(bad)].groupby("grid")["estate"].nunique()
    return hit.reindex(_codes(plan), fill_value=0).astype(int)


def _stewards_by_grid(plan: GridPlan, world: World, role: str) -> pd.Series:
    s = world.stewards
    if s is None or not len(s):
        return pd.Series(0, index=_codes(plan))
    s = s[s["role"] == role]
    grid = s["building_id"].map(plan.assignment)
    if role == "grid_leader" and "serves" in s:  # a grid leader serves a grid code
        grid = s["serves"].where(s["serves"].isin(plan.grid_community), grid)
    return grid.value_counts().reindex(_codes(plan), fill_value=0).astype(int)


def stewards(plan: GridPlan, world: World) -> pd.Series:
    s = world.stewards
    if s is None or not len(s):
        return pd.Series(0, index=_codes(plan))
    return s["building_id"].map(plan.assignment).value_counts().reindex(_codes(plan), fill_value=0).astype(int)


def grid_leaders(plan: GridPlan, world: World) -> pd.Series:
    return _stewards_by_grid(plan, world, "grid_leader")


def party_central(plan: GridPlan, world: World) -> pd.Series:
    """Party-member central households living in the grid (as :mod:`gridmap.domain.coverage` counts them): a
    steward in the role who is not a party member does not count; without a ``party_member`` column, all do."""
    s = world.stewards
    if s is not None and "party_member" in s:
        world = replace(world, stewards=s[s["party_member"].astype("boolean").fillna(False).astype(bool)])
    return _stewards_by_grid(plan, world, "party_central_household")


def buildings_without_leader(plan: GridPlan, world: World) -> pd.Series:
    """Residential buildings that no building leader serves, by the rule of
    :func:`gridmap.domain.coverage.buildings_without_leader` (``serves`` names the building, or the leader lives
    in it when ``serves`` is empty)."""
    s = world.stewards
    if s is None or not len(s):
        s = pd.DataFrame({"role": [], "building_id": [], "serves": []}, dtype=object)
    elif "serves" not in s:
        s = s.assign(serves=None)
    b = world.buildings
    lacking = b["id"].isin(_unled_buildings(b, s)["id"]).to_numpy()
    grid = _grid_of_buildings(plan, world)[lacking]
    return grid.value_counts().reindex(_codes(plan), fill_value=0).astype(int)


# -- tables ------------------------------------------------------------------------------------

#: the per-grid metrics, in column order — registered in a table rather than with ``@metric`` so that mutation
#: testing reaches them (mutmut leaves decorated functions alone)
for _name, _fn in (
    ("community_id", community_id),
    ("households", households),
    ("residents", residents),
    ("buildings", buildings),
    ("deviation", deviation),
    ("in_bounds", in_bounds),
    ("parts", polygon_parts),
    ("detached_parts", detached_parts),
    ("building_parts", building_parts),
    ("polsby_popper", polsby_popper_metric),
    ("area_m2", area),
    ("enclosed_by", enclosed_by),
    ("walls_crossed", walls_crossed),
    ("estates_split", estates_split),
    ("stewards", stewards),
    ("grid_leaders", grid_leaders),
    ("party_central_households", party_central),
    ("buildings_without_leader", buildings_without_leader),
):
    metric(_name)(_fn)


def grid_table(plan: GridPlan, world: World, names: list[str] | None = None) -> pd.DataFrame:
    """Every (or the named) per-grid metric, one row per grid code."""
    cols = {name: compute(name, plan, world) for name in (names or METRICS)}
    return pd.DataFrame(cols, index=_codes(plan))


def coverage(plan: GridPlan, world: World) -> pd.DataFrame:
    """Per community: area, gap area (not covered by a grid) and overlap area (covered twice), m².

    Grids are clipped to their community, so gap = community area - union area and
    overlap = sum of grid areas - union area.
    """
    g = world.grids
    by_com = {c: geoms for c, geoms in g.groupby("community_id").geometry} if len(g) else {}
    rows = []
    for cid, geom in zip(world.communities["id"], world.communities.geometry.values):
        total = float(shapely.area(geom))
        mine = by_com.get(cid)
        if mine is not None and len(mine):
            geoms = mine.values
            union = float(shapely.area(shapely.union_all(geoms)))
            gap = max(0.0, total - union)
            overlap = max(0.0, float(shapely.area(geoms).sum()) - union)
        else:
            gap, overlap = total, 0.0
        rows.append({"community_id": cid, "area_m2": total, "gap_m2": gap, "overlap_m2": overlap})
    return (
        pd.DataFrame(rows).set_index("community_id")
        if rows
        else pd.DataFrame(columns=["area_m2", "gap_m2", "overlap_m2"])
    )


def community_table(grids: pd.DataFrame, world: World, cover: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per community, from :func:`grid_table`: grid count, households, balance, contiguity, shape."""
    if not len(grids):
        return pd.DataFrame()
    t = grids.assign(households=grids["households"].astype(float))
    g = t.groupby("community_id", sort=True)
    mean = g["households"].transform("mean")
    dev = ((t["households"] / mean - 1).abs()).where(mean > 0, 0.0)
    t = t.assign(
        _near=(dev <= NEAR + 1e-12).astype(float),
        _dev=dev,
        _contig=(t["detached_parts"] == 0).astype(float),
        _enclosed=(t["enclosed_by"] != "").astype(int),
        _noleader=(t["grid_leaders"] == 0).astype(int),
        _noparty=(t["party_central_households"] == 0).astype(int),
    )
    g = t.groupby("community_id", sort=True)
    out = pd.DataFrame(
        {
            "grids": g.size(),
            "households": g["households"].sum().astype(int),
            "residents": g["residents"].sum().astype(int),
            "buildings": g["buildings"].sum().astype(int),
            "stewards": g["stewards"].sum().astype(int),
            "min": g["households"].min().astype(int),
            "max": g["households"].max().astype(int),
            "mean": g["households"].mean().astype(float),
        }
    )
    std = g["households"].std(ddof=0)
    out["cv"] = (std / out["mean"]).where(out["mean"] > 0, 0.0).astype(float)
    bounds = [world.bounds_of(c) for c in out.index]
    out["min_bound"] = [lo for lo, _ in bounds]
    out["max_bound"] = [hi for _, hi in bounds]
    out["share_in_bounds"] = g["in_bounds"].mean().astype(float)
    out["share_within_10pct"] = g["_near"].mean()
    out["p95_deviation"] = g["_dev"].quantile(0.95).astype(float)
    out["contiguous_share"] = g["_contig"].mean()
    out["enclosed_grids"] = g["_enclosed"].sum().astype(int)
    out["polsby_popper_mean"] = g["polsby_popper"].mean().astype(float)
    out["walls_crossed"] = g["walls_crossed"].sum().astype(int)
    out["grids_without_leader"] = g["_noleader"].sum().astype(int)
    out["grids_without_party_central"] = g["_noparty"].sum().astype(int)
    out["buildings_without_leader"] = g["buildings_without_leader"].sum().astype(int)
    out.index.name = "community_id"
    if cover is not None:
        out = out.join(cover)
    return out


def summary(grids: pd.DataFrame) -> dict:
    """District-wide figures; deviations are relative to each grid's own community mean."""
    if not len(grids):
        return {"grids": 0}
    dev = grids["deviation"].astype(float)
    return {
        "grids": int(len(grids)),
        "communities": int(grids["community_id"].nunique()),
        "households": int(grids["households"].sum()),
        "buildings": int(grids["buildings"].sum()),
        "share_in_bounds": float(grids["in_bounds"].mean()),
        "cv": float((1 + dev).std(ddof=0)),
        "share_within_10pct": float((dev.abs() <= NEAR + 1e-12).mean()),
        "p95_deviation": float(dev.abs().quantile(0.95)),
        "contiguous_share": float((grids["detached_parts"] == 0).mean()),
        "one_piece_share": float((grids["parts"] <= 1).mean()),
        "building_contiguous_share": float((grids["building_parts"].fillna(1) <= 1).mean()),
        "enclosed_grids": int((grids["enclosed_by"] != "").sum()),
        "polsby_popper_mean": float(grids["polsby_popper"].mean()),
        "walls_crossed": int(grids["walls_crossed"].sum()),
        "estates_split": int(grids["estates_split"].sum()),
    }
