"""Complaints counted per published grid or per community, as points inside each area: the aggregates
public maps show at every zoom (counts of 1–4 are ``"<5"``, :func:`gridmap.domain.privacy.suppress_small`).
"""
from __future__ import annotations

import datetime as dt
import time

import geopandas as gpd
import pandas as pd
import shapely

from gridmap import clock
from gridmap.domain.codes import community_of
from gridmap.domain.privacy import SMALL_COUNT, suppress_small
from gridmap.errors import InvalidInput
from gridmap.present.layers import LAYERS
from gridmap.services.maps.common import (_ASSIGN_LOCK, _CENTRES_CACHE, CACHE_SECONDS, _complaint_clock, _empty,
                                          assignment, open_states)
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store


def _small_count() -> int:
    return int(SMALL_COUNT)


def suppressed(n: int) -> int | str:
    """A public count: ``"<5"`` for 1–4, other counts as they are (:func:`gridmap.domain.privacy.suppress_small`,
    the one small-count rule of issue #7)."""
    return suppress_small(n)


def centres(store: Store, level: str) -> pd.DataFrame:
    """``id, name, geometry`` (a point inside each area) of the published plan's grids (``level="grid"``)
    or of the communities (``"community"``); cached like :func:`~.layers.grid_features`."""
    plan_id = published_plan_id(store) or ""
    key = (store.url, plan_id, level)
    with _ASSIGN_LOCK:
        hit = _CENTRES_CACHE.get(key)
    if hit is not None and time.monotonic() - hit[0] <= CACHE_SECONDS:
        return hit[1]
    if level == "grid":
        rows = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "geometry"]) \
            if plan_id else _empty(LAYERS["grids"])
        ids, names = rows["code"].astype(str), rows["code"].astype(str)
    else:
        rows = store.read("communities", columns=["id", "name", "geometry"])
        ids, names = rows["id"].astype(str), rows["name"].astype(str)
    pts = shapely.point_on_surface(rows.geometry.to_numpy()) if len(rows) else []
    out = gpd.GeoDataFrame({"id": ids.to_numpy(), "name": names.to_numpy()}, geometry=list(pts), crs=4326)
    with _ASSIGN_LOCK:
        if len(_CENTRES_CACHE) > 16:
            _CENTRES_CACHE.clear()
        _CENTRES_CACHE[key] = (time.monotonic(), out)
    return out


def complaint_counts(store: Store, *, level: str = "grid", bbox: tuple[float, float, float, float] | None = None,
                     open_only: bool = True, now: dt.datetime | None = None) -> pd.DataFrame:
    """Complaints counted per published grid (``level="grid"``) or per community, as points inside each
    area with ``id, name, level, count, overdue`` — counts of 1–4 are ``"<5"`` (PIPL: no small cells in
    public aggregates); areas without complaints are left out; only areas whose point lies in ``bbox``.

    A complaint's grid is its building's in the published plan; its community is that grid's (the
    first 12 digits of the code), or the complaint's own ``community_id`` when it has no grid.
    """
    if level not in ("grid", "community"):
        raise InvalidInput(f"level={level!r}: use grid or community")
    filt = {"state": open_states()} if open_only else None
    rows = store.read("complaints", where=filt, columns=["building_id", "community_id", "state", "created_at",
                                                         "due_at"])
    where = centres(store, level)
    if bbox is not None and len(where):
        x, y = shapely.get_x(where.geometry.to_numpy()), shapely.get_y(where.geometry.to_numpy())
        where = where[(x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])]
    cols = {"id": [], "name": [], "level": [], "count": [], "overdue": []}
    if not len(rows) or not len(where):
        return gpd.GeoDataFrame(cols, geometry=[], crs=4326)
    rows = _complaint_clock(rows, now or clock.now())
    plan_id = published_plan_id(store)
    grid_of = assignment(store, plan_id) if plan_id else {}
    grid = pd.Series([grid_of.get(str(b)) if b is not None else None for b in rows["building_id"]],
                     index=rows.index, dtype=object)
    if level == "grid":
        key = grid
    else:
        key = grid.map(community_of, na_action="ignore").where(grid.notna(), rows["community_id"].astype(object))
    counts = pd.DataFrame({"key": key, "overdue": rows["overdue"].astype(int)}).dropna(subset=["key"]) \
        .groupby("key")["overdue"].agg(["size", "sum"])
    where = where[where["id"].isin(counts.index)]
    c = counts.reindex(where["id"])
    out = where.assign(level=level, count=[suppressed(int(n)) for n in c["size"]],
                       overdue=[suppressed(int(n)) for n in c["sum"]])
    cols = ["id", "name"] if level == "community" else ["id"]
    return out[cols + ["level", "count", "overdue", "geometry"]].reset_index(drop=True)
