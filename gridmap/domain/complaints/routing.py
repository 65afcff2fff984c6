"""Where a request goes (location → building → grid → grid leader; category → department) and which open
requests nearby may be the same one. Distances are measured in a projected CRS. Pure: no Flask, no store,
no files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from gridmap.domain.complaints.catalogue import _OPEN, DEPARTMENTS, STATES, ComplaintError, _isnull
from gridmap.domain.complaints.sla import Policy
from gridmap.domain.geometry import LocationError, lonlat, metric_crs_at, transformer
from gridmap.domain.placement import BuildingIndex, match_points


def _check_point(lon: float, lat: float) -> None:
    """:func:`gridmap.domain.geometry.lonlat`, failing as a :class:`ComplaintError`."""
    try:
        lonlat(lon, lat)
    except LocationError as err:
        raise ComplaintError(f"location: {err}") from None


@dataclass(frozen=True)
class Route:
    """Where a request goes. ``needs_confirmation``: near another grid or not on a building."""

    building_id: str | None = None
    estate_id: str | None = None
    community_id: str | None = None
    grid_code: str | None = None
    grid_leader_id: str | None = None
    property_steward_id: str | None = None
    department: str | None = None
    departments: tuple[str, ...] = ()
    needs_confirmation: bool = True
    placement: str = "rejected"
    placement_distance_m: float | None = None
    reasons: tuple[str, ...] = ()

    def agency(self, *, lang: str = "zh") -> str:
        """Open311 ``agency_responsible``: the lead department and the grid."""
        dept = DEPARTMENTS.get(self.department or "")
        name = (dept.zh if lang == "zh" else dept.en) if dept else ""
        grid = f"网格 {self.grid_code}" if lang == "zh" else f"grid {self.grid_code}"
        return " / ".join(x for x in (name, grid if self.grid_code else "") if x)


def route(
    lon: float,
    lat: float,
    *,
    category: str,
    buildings: Any,
    assignment: Mapping[str, str],
    grids: Any,
    policy: Policy,
    stewards: Any = None,
) -> Route:
    """Route a request at ``(lon, lat)``.

    Parameters
    ----------
    buildings
        Rows (mappings, or a GeoDataFrame) with ``id``, ``estate_id``, ``community_id`` and polygon
        ``geometry`` in EPSG:4326, near the point.
    assignment
        building id → grid code of the published plan.
    grids
        Rows (mappings, or a GeoDataFrame) of the published plan's grid polygons near the point (``code``,
        ``community_id``, ``geometry`` in EPSG:4326), in code order.
    stewards
        Optional rows (mappings or a frame) with ``id``, ``role``, ``serves``: the grid leader serves the
        grid code, the property steward serves the estate id (or the building id).

    Returns
    -------
    Route
        Building by containment, else the nearest within ``policy.nearest_m`` (``nearest``), else only the
        grid containing the point (``area``); ``needs_confirmation`` when not on a building, or within
        ``policy.boundary_m`` of another grid, or when the building's grid is not the grid drawn there.
    """
    cat = policy.category(category)
    _check_point(lon, lat)
    buildings, grids, stewards = _records(buildings), _records(grids), _records(stewards)
    crs = metric_crs_at(float(lon), float(lat))
    pt = _project_point(float(lon), float(lat), crs)
    reasons: list[str] = []
    b_row, placement, dist = _match_building(float(lon), float(lat), buildings, crs, policy.nearest_m)
    grid_code = community = estate = building_id = None
    if b_row is not None:
        building_id, estate = str(b_row["id"]), _str_or_none(b_row.get("estate_id"))
        community = _str_or_none(b_row.get("community_id"))
        grid_code = assignment.get(building_id)
        if grid_code is None:
            reasons.append("building is in no grid of the published plan")
    else:
        reasons.append("no building at this location")
    if grids:
        d = shapely.distance(_project(_geoms(grids), crs), pt)
        codes = np.array([str(g["code"]) for g in grids], dtype=object)
        inside = np.flatnonzero(d <= 1e-6)
        drawn = str(codes[inside[0]]) if len(inside) else None
        if grid_code is None and drawn is not None:
            grid_code, placement = drawn, ("area" if b_row is None else placement)
            community = community or _str_or_none(grids[int(inside[0])].get("community_id"))
        elif drawn is not None and drawn != grid_code:
            reasons.append(f"drawn inside grid {drawn}, building belongs to {grid_code}")
        others = d[codes != str(grid_code)]
        if len(others) and float(others.min()) < policy.boundary_m:
            reasons.append(
                f"{float(others.min()):.0f} m from another grid (confirmation below {policy.boundary_m:.0f} m)"
            )
    leader = steward = None
    if stewards:
        leader = _steward(stewards, "grid_leader", [grid_code])
        steward = _steward(stewards, "property_steward", [estate, building_id])
    return Route(
        building_id=building_id,
        estate_id=estate,
        community_id=community,
        grid_code=grid_code,
        grid_leader_id=leader,
        property_steward_id=steward,
        department=cat.departments[0],
        departments=cat.departments,
        needs_confirmation=bool(reasons) or grid_code is None,
        placement=placement if grid_code or b_row is not None else "rejected",
        placement_distance_m=dist,
        reasons=tuple(reasons),
    )


def _str_or_none(v: Any) -> str | None:
    return None if v is None or _isnull(v) else str(v)


def _records(rows: Any) -> list[Mapping[str, Any]]:
    """Rows as a list of mappings: plain rows as they are, a frame's rows as dicts (geometry in EPSG:4326)."""
    if rows is None:
        return []
    if hasattr(rows, "columns") and hasattr(rows, "to_dict"):  # a (Geo)DataFrame
        crs = getattr(rows, "crs", None)
        if crs is not None and crs.to_epsg() != 4326:
            rows = rows.to_crs("EPSG:4326")
        return list(rows.to_dict("records"))
    return list(rows)


def _geoms(rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
    out = np.empty(len(rows), dtype=object)
    out[:] = [r.get("geometry") for r in rows]
    return out


def _match_building(
    lon: float, lat: float, buildings: Sequence[Mapping[str, Any]], crs: str, nearest_m: float
) -> tuple[Mapping[str, Any] | None, str, float | None]:
    """The building of a point: placement's matcher (:func:`gridmap.domain.placement.match_points`, ties to the
    lowest id) with routing's tolerance ``nearest_m``, measured in ``crs``; the distance in metres to 0.1 m."""
    if not buildings:
        return None, "rejected", None
    geoms = _geoms(buildings)
    keep = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    ids = np.array([str(b["id"]) for b in buildings], dtype=object)
    order = keep[np.argsort(ids[keep], kind="stable")]
    pos, dist = match_points(
        BuildingIndex(geoms[order], crs), np.array([shapely.Point(lon, lat)], dtype=object), tolerance_m=nearest_m
    )
    if pos[0] < 0:
        return None, "rejected", None
    row = buildings[int(order[pos[0]])]
    if dist[0] == 0.0:
        return row, "contained", 0.0
    return row, "nearest", round(float(dist[0]), 1)


def _project(geoms: Any, crs: str) -> Any:
    """Geometries in EPSG:4326 → ``crs`` (the same pyproj transformation ``GeoSeries.to_crs`` makes,
    without building a frame: routing and duplicate search run on every submission)."""
    src = getattr(geoms, "crs", None)
    if src is not None and src.to_epsg() != 4326:  # a frame in another CRS: let geopandas do it
        return np.asarray(geoms.to_crs(crs).values, dtype=object)
    tr = transformer("EPSG:4326", crs)

    def xy(c: Any) -> Any:
        x, y = tr.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(getattr(geoms, "values", geoms), dtype=object), xy)


def _project_point(lon: float, lat: float, crs: str) -> Any:
    x, y = transformer("EPSG:4326", crs).transform(lon, lat)
    return shapely.Point(x, y)


def _steward(stewards: Sequence[Mapping[str, Any]], role: str, serves: Sequence[str | None]) -> str | None:
    wanted = {s for s in serves if s}
    if not wanted:
        return None
    ids = sorted(str(s["id"]) for s in stewards if s["role"] == role and str(s["serves"]) in wanted)
    return ids[0] if ids else None


def find_duplicates(
    lon: float, lat: float, *, category: str, candidates: Any, policy: Policy, exclude: str | None = None
) -> list[tuple[str, float]]:
    """Open requests of the same category within the category's duplicate radius, nearest first.

    ``candidates``: rows (mappings, or a GeoDataFrame) with ``id``, ``category``, ``state`` and point
    ``geometry`` in EPSG:4326. Returns ``[(id, distance_m), …]``.
    """
    cat = policy.category(category)
    _check_point(lon, lat)
    if candidates is None or not len(candidates) or cat.duplicate_radius_m <= 0:
        return []
    c = [
        r
        for r in _records(candidates)
        if r["category"] == cat.code
        and (STATES[r["state"]].type == _OPEN if r["state"] in STATES else False)
        and r.get("geometry") is not None
        and (exclude is None or str(r["id"]) != str(exclude))
    ]
    if not c:
        return []
    crs = metric_crs_at(float(lon), float(lat))
    pt = _project_point(float(lon), float(lat), crs)
    d = shapely.distance(_project(_geoms(c), crs), pt)
    near = sorted((round(float(dist), 1), str(r["id"])) for r, dist in zip(c, d) if dist <= cat.duplicate_radius_m)
    return [(i, dist) for dist, i in near]
