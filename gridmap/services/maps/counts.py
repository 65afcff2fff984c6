"""Complaints counted per published grid or per community, as points inside each area: the aggregates
public maps show at every zoom, from the public table (:mod:`gridmap.services.complaints.public`: counts of 1–4
are ``"<5"``, counts that differencing would give back are withheld).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.domain.privacy import SMALL_COUNT, suppress_small
from gridmap.errors import InvalidInput
from gridmap.present.layers import LAYERS
from gridmap.services.complaints.public import public_table
from gridmap.services.maps.common import _ASSIGN_LOCK, _CENTRES_CACHE, CACHE_SECONDS, _empty
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
        rows = (
            store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "geometry"])
            if plan_id
            else _empty(LAYERS["grids"])
        )
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


def complaint_counts(
    store: Store,
    *,
    level: str = "grid",
    bbox: tuple[float, float, float, float] | None = None,
    open_only: bool = True,
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """Complaints counted per published grid (``level="grid"``) or per community, as points inside each
    area with ``id, name, level, count, overdue`` — the public table's figures
    (:mod:`gridmap.services.complaints.public`: ``"<5"`` for 1–4, ``None`` where withheld so that no
    combination of public figures gives a small count back); areas without complaints are left out; only
    areas whose point lies in ``bbox``.

    A complaint's grid is its building's in the published plan (else the grid it was filed in); its
    community its own, else its grid's. The table describes one moment for every public response, so
    ``now`` is not used.
    """
    if level not in ("grid", "community"):
        raise InvalidInput(f"level={level!r}: use grid or community")
    where = centres(store, level)
    if bbox is not None and len(where):
        x, y = shapely.get_x(where.geometry.to_numpy()), shapely.get_y(where.geometry.to_numpy())
        where = where[(x >= bbox[0]) & (x <= bbox[2]) & (y >= bbox[1]) & (y <= bbox[3])]
    if not len(where) or not store.count("complaints"):
        empty: dict[str, list[Any]] = {"id": [], "name": [], "level": [], "count": [], "overdue": []}
        return gpd.GeoDataFrame(empty, geometry=[], crs=4326)
    table = public_table(store)
    measure = "open" if open_only else "total"
    count = [table.current(measure, level, str(i)) for i in where["id"]]
    out = where.assign(level=level, count=count, overdue=[table.current("overdue", level, str(i)) for i in where["id"]])
    out = out[[c != 0 for c in count]]
    cols = ["id", "name"] if level == "community" else ["id"]
    return out[cols + ["level", "count", "overdue", "geometry"]].reset_index(drop=True)
