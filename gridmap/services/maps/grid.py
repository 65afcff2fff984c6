"""One grid's page: its figures (households against its bounds, buildings, stewards by role, complaints)
and lists (buildings, stewards, open complaints, merchants and volunteer teams nearby); the areas embeds
show; the district's extent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap import clock
from gridmap.domain.schema import STEWARD_ROLES
from gridmap.errors import NotFoundError
from gridmap.present.layers import LAYERS
from gridmap.services.maps.building import serving_stewards
from gridmap.services.maps.common import _complaint_clock, _empty, buildings_of
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store


def community_bounds(
    store: Store, community_ids: Iterable[str], default: tuple[int, int]
) -> dict[str, tuple[int, int]]:
    """community id → (min, max) households per grid (its own or the default)."""
    ids = sorted({str(c) for c in community_ids if c is not None})
    coms = (
        store.read("communities", ids=ids, columns=["id", "min_households", "max_households"])
        if ids
        else pd.DataFrame(columns=["id", "min_households", "max_households"])
    )
    out = {}
    for r in coms.itertuples():
        lo = default[0] if pd.isna(r.min_households) else int(r.min_households)
        hi = default[1] if pd.isna(r.max_households) else int(r.max_households)
        out[str(r.id)] = (lo, hi)
    return {c: out.get(c, default) for c in ids}


def load_status(households: int, lo: int, hi: int) -> str:
    """``under``, ``ok`` or ``over`` the bounds [lo, hi]."""
    return "under" if households < lo else "over" if households > hi else "ok"


def with_load(store: Store, grids: pd.DataFrame, default: tuple[int, int]) -> pd.DataFrame:
    b = community_bounds(store, grids["community_id"], default)
    lo = np.array([b[str(c)][0] for c in grids["community_id"]])
    hi = np.array([b[str(c)][1] for c in grids["community_id"]])
    hh = grids["households"].fillna(0).astype(int).to_numpy()
    status = [load_status(h, a, z) for h, a, z in zip(hh, lo, hi)]
    return grids.assign(min=lo, max=hi, status=status)


# -- one grid --------------------------------------------------------------------------------------------
def grid_row(store: Store, code: str) -> dict[str, Any]:
    """The published plan's grid ``code`` (dict with geometry), or :class:`NotFoundError`."""
    plan_id = published_plan_id(store)
    if plan_id is None or not code.isdigit():
        raise NotFoundError(f"网格 {code} 不存在 / no grid {code} in the published plan")
    row = store.get("plan_grids", (plan_id, code))
    if row is None:
        raise NotFoundError(f"网格 {code} 不存在 / no grid {code} in the published plan")
    row["plan_id"] = plan_id
    return row


def grid_buildings(store: Store, plan_id: str, code: str) -> pd.DataFrame:
    ids = buildings_of(store, plan_id, code)
    if not ids:
        return _empty(LAYERS["buildings"]).assign(grid_code=[])
    frame = store.read(
        "buildings",
        ids=ids,
        columns=["id", "name", "estate_id", "community_id", "households", "floors", "residents", "geometry"],
    )
    return frame.assign(grid_code=code)


def grid_stats(
    store: Store, code: str, *, bounds: tuple[int, int] = (300, 500), now: dt.datetime | None = None
) -> dict[str, Any]:
    """Figures of grid ``code``: households against its bounds, buildings, stewards by role, complaints."""
    return _grid(store, code, bounds=bounds, now=now)["stats"]


def grid_detail(
    store: Store,
    code: str,
    *,
    bounds: tuple[int, int] = (300, 500),
    now: dt.datetime | None = None,
    radius_m: float = 500.0,
) -> dict[str, Any]:
    """Everything the grid page shows: the figures and the lists (buildings, stewards by role, open
    complaints with days waiting and overdue flag, merchants and volunteer teams within ``radius_m``)."""
    return _grid(store, code, bounds=bounds, now=now, radius_m=radius_m, lists=True)


def _grid(
    store: Store,
    code: str,
    *,
    bounds: tuple[int, int],
    now: dt.datetime | None,
    radius_m: float = 500.0,
    lists: bool = False,
) -> dict[str, Any]:
    now = now or clock.now()
    row = grid_row(store, code)
    plan_id = row["plan_id"]
    geom = row["geometry"]
    blds = grid_buildings(store, plan_id, code)
    ids = blds["id"].astype(str).tolist()
    lo, hi = community_bounds(store, [row["community_id"]], bounds)[str(row["community_id"])]
    stewards = serving_stewards(
        store,
        ids,
        estates=sorted({str(e) for e in blds["estate_id"].dropna()}),
        grids=[code],
        columns=["id", "role", "building_id", "serves", "geometry"],
    )
    complaints = _by_buildings(store, "complaints", ids, list(LAYERS["complaints"].columns) + ["geometry"])
    if len(complaints):
        complaints = _complaint_clock(complaints, now)
        open_c = complaints[complaints["open"]]
    else:
        open_c = complaints
    households = int(blds["households"].fillna(0).sum()) if len(blds) else 0
    by_role = {r: int((stewards["role"] == r).sum()) if len(stewards) else 0 for r in STEWARD_ROLES}
    stats = {
        "code": code,
        "plan_id": plan_id,
        "community_id": row["community_id"],
        "community": _name(store, "communities", row["community_id"]),
        "households": households,
        "min": lo,
        "max": hi,
        "status": load_status(households, lo, hi),
        "buildings": len(blds),
        "residents": int(blds["residents"].fillna(0).sum()) if len(blds) and "residents" in blds else 0,
        "stewards": by_role,
        "complaints_open": int(len(open_c)),
        "complaints_overdue": int(open_c["overdue"].sum()) if len(open_c) else 0,
        "complaints_total": int(len(complaints)),
        "longest_wait_days": int(open_c["days_waiting"].max()) if len(open_c) else 0,
        "bbox": [round(float(v), 6) for v in shapely.bounds(geom)],
    }
    out: dict[str, Any] = {"stats": stats, "geometry": geom}
    if not lists:
        return out
    near = shapely.buffer(geom, radius_m / 111_000.0)
    merchants = _near(store, "merchants", near, list(LAYERS["merchants"].columns) + ["geometry"])
    teams = _near(store, "volunteer_teams", near, list(LAYERS["volunteer_teams"].columns) + ["geometry"])
    stats["merchants_near"] = len(merchants)
    stats["volunteer_teams_near"] = len(teams)
    estates = _names(store, "estates", blds["estate_id"].dropna().astype(str).unique().tolist() if len(blds) else [])
    blds = blds.assign(estate=[estates.get(str(e), "") for e in blds["estate_id"]])
    bname = dict(zip(blds["id"].astype(str), (blds["estate"] + " " + blds["name"].fillna("").astype(str)).str.strip()))
    out.update(
        buildings=blds.sort_values(["estate", "name"], key=lambda s: s.astype(str).str.zfill(6)),
        stewards=stewards.assign(building=[bname.get(str(b), "") for b in stewards["building_id"]])
        if len(stewards)
        else stewards,
        complaints=open_c.assign(building=[bname.get(str(b), "") for b in open_c["building_id"]]).sort_values(
            "days_waiting", ascending=False
        )
        if len(open_c)
        else open_c,
        merchants=merchants,
        volunteer_teams=teams,
    )
    return out


def _by_buildings(store: Store, layer: str, ids: Sequence[str], columns: list[str]) -> pd.DataFrame:
    if not ids:
        return store.read(layer, columns=columns, limit=0)
    parts = [
        store.read(layer, where={"building_id": list(ids[i : i + 500])}, columns=columns)
        for i in range(0, len(ids), 500)
    ]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _near(store: Store, layer: str, area: shapely.Geometry, columns: list[str]) -> pd.DataFrame:
    frame = store.read(layer, bbox=tuple(shapely.bounds(area)), columns=columns)
    if len(frame):
        frame = frame[shapely.intersects(area, frame.geometry.to_numpy())]
    return frame.reset_index(drop=True)


def _name(store: Store, layer: str, key: Any) -> str:
    row = store.get(layer, key) if key is not None else None
    return str(row["name"]) if row else ""


def _names(store: Store, layer: str, ids: Sequence[str]) -> dict[str, str]:
    if not ids:
        return {}
    frame = store.read(layer, ids=list(ids), columns=["id", "name"])
    return dict(zip(frame["id"].astype(str), frame["name"].astype(str)))


# -- areas for embeds ----------------------------------------------------------------------------------
def area(store: Store, kind: str, key: str) -> dict[str, Any]:
    """A community or street: ``{"id", "name", "bbox", "grids": [codes]}`` or :class:`NotFoundError`."""
    layer = {"community": "communities", "street": "streets"}[kind]
    row = store.get(layer, key)
    if row is None:
        raise NotFoundError(f"{key} 不存在 / no {kind} {key}")
    plan_id = published_plan_id(store)
    codes: list[str] = []
    if plan_id:
        col = "community_id"
        grids = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", col])
        codes = sorted(c for c, com in zip(grids["code"], grids[col]) if str(com).startswith(key))
    return {
        "id": key,
        "name": row["name"],
        "bbox": [round(float(v), 6) for v in shapely.bounds(row["geometry"])],
        "grids": codes,
    }


def first_grid(store: Store) -> str | None:
    """The lowest grid code of the published plan (None without one)."""
    plan_id = published_plan_id(store)
    if plan_id is None:
        return None
    codes = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code"], order_by=["code"], limit=1)
    return str(codes["code"].iloc[0]) if len(codes) else None


def extent(store: Store) -> list[float] | None:
    """Bounding box of the district (or of every street), or None for an empty store."""
    for layer in ("districts", "streets", "communities"):
        frame = store.read(layer, columns=["geometry"])
        if len(frame):
            return [round(float(v), 6) for v in frame.total_bounds]
    return None
