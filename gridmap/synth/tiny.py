"""Tiny hand-drawn worlds with known answers, for unit tests, examples and benchmarks.

``grid_world(3, 3, households=100)`` is one community holding one estate of 3 × 3 square buildings of
100 households each; every figure is known by construction. Geometry is drawn in metres (EPSG:4549 near
Chengyang) and returned in EPSG:4326 like everything else in gridmap. Nothing here touches the disk.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

METRIC_CRS = "EPSG:4549"
#: south-west corner of every test world, metres in EPSG:4549 (inside Chengyang, 城阳街道)
ORIGIN_M = (535_000.0, 4_017_000.0)
DISTRICT_ID, STREET_ID = "370214", "370214001"


def _to_wgs84(geoms: Sequence[shapely.Geometry]) -> np.ndarray:
    t = Transformer.from_crs(METRIC_CRS, 4326, always_xy=True)
    return shapely.transform(
        np.asarray(geoms, dtype=object), lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))
    )


def grid_world(
    rows: int,
    cols: int,
    *,
    households: int | Sequence[Sequence[int]] = 100,
    communities: int = 1,
    estates: int = 1,
    size_m: float = 30.0,
    gap_m: float = 20.0,
    margin_m: float = 15.0,
) -> dict[str, gpd.GeoDataFrame]:
    """A world of ``rows`` × ``cols`` square buildings on a lattice.

    Parameters
    ----------
    households
        One number for every building, or a ``rows`` × ``cols`` table (row 0 is the northern row).
    communities
        Split the columns into this many communities side by side (west → east), ids
        ``370214001001``, ``370214001002`` …; the communities tile the street without gaps.
    estates
        Split each community's rows into this many estates (north → south), ids ``E1``, ``E2`` …
    size_m, gap_m, margin_m
        Building side, gap between buildings, and the margin between buildings and community edges.

    Returns
    -------
    dict with ``districts``, ``streets``, ``communities``, ``estates`` and ``buildings`` GeoDataFrames.
    Building ids are ``b{row}_{col}``; a building's ``name`` is its number in its estate (row-major).
    """
    hh = np.broadcast_to(np.asarray(households, dtype=int), (rows, cols))
    if communities < 1 or communities > cols or estates < 1 or estates > rows:
        raise ValueError("need 1 <= communities <= cols and 1 <= estates <= rows")
    pitch = size_m + gap_m
    x0, y0 = ORIGIN_M
    width = 2 * margin_m + cols * pitch - gap_m
    height = 2 * margin_m + rows * pitch - gap_m
    col_split = np.array_split(np.arange(cols), communities)
    row_split = np.array_split(np.arange(rows), estates)
    com_rows, est_rows, bld_rows = [], [], []
    for k, cs in enumerate(col_split):
        cid = f"{STREET_ID}{k + 1:03d}"
        left = x0 if k == 0 else x0 + margin_m + cs[0] * pitch - gap_m / 2
        right = x0 + width if k == communities - 1 else x0 + margin_m + (cs[-1] + 1) * pitch - gap_m / 2
        com_rows.append((cid, f"测试{k + 1}社区", STREET_ID, shapely.box(left, y0, right, y0 + height)))
        for j, rs in enumerate(row_split):
            eid = f"E{k * estates + j + 1}"
            est_rows.append(
                (eid, f"测试{eid}小区", cid, _bbox_of(rs, cs, x0, y0, height, margin_m, pitch, size_m, gap_m))
            )
            number = 0
            for r in rs:
                for c in cs:
                    number += 1
                    bx = x0 + margin_m + c * pitch
                    by = y0 + height - margin_m - r * pitch - size_m
                    bld_rows.append(
                        (
                            f"b{r}_{c}",
                            str(number),
                            eid,
                            cid,
                            int(hh[r, c]),
                            shapely.box(bx, by, bx + size_m, by + size_m),
                        )
                    )
    coms = _frame(com_rows, ["id", "name", "street_id"])
    street_geom = shapely.union_all(coms.geometry.to_numpy())  # exactly tiled by its communities
    return {
        "districts": gpd.GeoDataFrame({"id": [DISTRICT_ID], "name": ["城阳区"]}, geometry=[street_geom], crs=4326),
        "streets": gpd.GeoDataFrame(
            {"id": [STREET_ID], "name": ["城阳街道"], "district_id": [DISTRICT_ID]}, geometry=[street_geom], crs=4326
        ),
        "communities": coms,
        "estates": _frame(
            [(*r, None) for r in est_rows], ["id", "name", "community_id", "property_company_id"], geom_at=3
        ),
        "buildings": _buildings(bld_rows),
    }


def _bbox_of(rs, cs, x0, y0, height, margin_m, pitch, size_m, gap_m) -> shapely.Polygon:
    half_gap = gap_m / 2
    left = x0 + margin_m + cs[0] * pitch - half_gap / 2
    right = x0 + margin_m + cs[-1] * pitch + size_m + half_gap / 2
    top = y0 + height - margin_m - rs[0] * pitch + half_gap / 2
    bottom = y0 + height - margin_m - rs[-1] * pitch - size_m - half_gap / 2
    return shapely.box(left, bottom, right, top)


def _frame(rows: list[tuple], columns: list[str], *, geom_at: int | None = None) -> gpd.GeoDataFrame:
    geom_at = len(columns) if geom_at is None else geom_at
    geoms = [r[geom_at] for r in rows]
    frame = pd.DataFrame([r[:geom_at] + r[geom_at + 1 :] for r in rows], columns=columns)
    return gpd.GeoDataFrame(frame, geometry=_to_wgs84(geoms), crs=4326)


def _buildings(rows: list[tuple]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame([r[:5] for r in rows], columns=["id", "name", "estate_id", "community_id", "households"])
    frame["residents"] = (frame["households"] * 5 + 1) // 2  # 2.5 per household, rounded up
    frame["floors"] = pd.array([None] * len(frame), dtype="Int64")
    frame["units"] = pd.array([None] * len(frame), dtype="Int64")
    return gpd.GeoDataFrame(frame, geometry=_to_wgs84([r[5] for r in rows]), crs=4326)


def households_at(buildings: gpd.GeoDataFrame, per_building: int = 1) -> gpd.GeoDataFrame:
    """``per_building`` household points at each building's centre-ish (known building for every point)."""
    idx = np.repeat(np.arange(len(buildings)), per_building)
    pts = shapely.point_on_surface(buildings.geometry.to_numpy())[idx]
    ids = [
        f"h{bid}_{k}"
        for bid, k in zip(buildings["id"].to_numpy()[idx], np.tile(np.arange(per_building), len(buildings)))
    ]
    return gpd.GeoDataFrame(
        {
            "id": ids,
            "building_id": buildings["id"].to_numpy()[idx],
            "community_id": buildings["community_id"].to_numpy()[idx],
        },
        geometry=pts,
        crs=4326,
    )
