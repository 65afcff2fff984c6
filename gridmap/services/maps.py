"""What the maps show: layers as GeoJSON by viewport and zoom, per-grid figures, search.

Every layer is read through the store's bounding-box filter, simplified for the zoom (half a screen pixel)
and rounded to the precision the zoom can show, and carries **only non-personal columns** (names, phones,
rooms, descriptions and contacts never leave here; the security area may add role-based views).
A building's, steward's or complaint's grid is derived from the published plan (``plan_assignments``).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import shapely

from gridmap.errors import InvalidInput, NotFoundError
from gridmap.domain.schema import STEWARD_ROLES
from gridmap.store.base import Store
from gridmap.present.layers import (DETAIL_ZOOM, GRID_COUNT_ZOOM, LAYERS, LIGHT_COMPLAINT,  # noqa: F401
                                    MAX_FEATURES, POINT_ZOOM, LayerSpec)

#: closed complaint states (the complaints area's table wins when it is installed)
_CLOSED_FALLBACK = ("resolved", "evaluated", "rejected", "duplicate", "closed")
#: seconds a cached whole-plan grids layer or community centre list is trusted (community bounds may change)
CACHE_SECONDS = 300.0


# -- small helpers -------------------------------------------------------------------------------------
def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``"minx,miny,maxx,maxy"`` (degrees) → tuple, or None when absent; :class:`InvalidInput` if malformed."""
    if text is None or text == "":
        return None
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        raise InvalidInput(f"bbox={text!r}: expected four numbers minx,miny,maxx,maxy") from None
    if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
        raise InvalidInput(f"bbox={text!r}: expected four finite numbers minx,miny,maxx,maxy")
    minx, miny, maxx, maxy = parts
    if minx > maxx or miny > maxy or not (-180 <= minx <= 180 and -180 <= maxx <= 180
                                          and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise InvalidInput(f"bbox={text!r}: need minx<=maxx, miny<=maxy within ±180/±90 degrees")
    return minx, miny, maxx, maxy


def parse_zoom(text: str | None, *, default: int = 18) -> int:
    if text is None or text == "":
        return default
    try:
        z = int(float(text))
    except ValueError:
        raise InvalidInput(f"zoom={text!r}: expected a number 0–22") from None
    if not 0 <= z <= 22:
        raise InvalidInput(f"zoom={text!r}: expected a number 0–22")
    return z


def tolerance(zoom: int) -> float:
    """Half a screen pixel at ``zoom``, in degrees (the simplification tolerance)."""
    return 360.0 / (256 * 2 ** zoom) / 2


def decimals(zoom: int) -> int:
    """Fewest decimal places whose rounding error (half a unit of the last place) stays within half a
    pixel at ``zoom`` (3 … 7): 5 places (±0.55 m) up to zoom 17."""
    return int(min(7, max(3, math.ceil(-math.log10(2 * tolerance(zoom))))))


def _is_closed(states: pd.Series) -> np.ndarray:
    try:
        from gridmap.domain.complaints import STATES, is_open  # noqa: F401
    except ImportError:
        return states.isin(_CLOSED_FALLBACK).to_numpy()
    return np.array([s not in STATES or not is_open(s) for s in states], dtype=bool)


def open_states() -> list[str]:
    try:
        from gridmap.domain.complaints import STATES, is_open
    except ImportError:
        return ["collected", "dispatched", "responding", "returned", "reassigned", "supervised", "reopened",
                "open", "new"]
    return [s for s in STATES if is_open(s)]


def _utc(value: Any) -> dt.datetime | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def _native(col: pd.Series) -> list[Any]:
    """A column as a list of JSON-ready Python values (None for missing), converted at once."""
    if pd.api.types.is_datetime64_any_dtype(col):
        return [None if pd.isna(v) else v for v in col.dt.strftime("%Y-%m-%dT%H:%M:%S")]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_integer_dtype(col):
        return col.astype(object).where(col.notna(), None).tolist()
    if pd.api.types.is_float_dtype(col):
        return col.round(3).astype(object).where(col.notna(), None).tolist()
    values = col.astype(object).where(col.notna(), None).tolist()
    if {type(v) for v in values} <= {str, int, bool, type(None)}:
        return values
    return [_jsonable(v) for v in values]


def _jsonable(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else round(float(v), 3)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date)):
        return v.isoformat()
    if v is pd.NA or v is pd.NaT:
        return None
    return v


# -- the published plan --------------------------------------------------------------------------------
def published_plan_id(store: Store) -> str | None:
    """Id of the published plan, or None when no plan is published yet."""
    plans = store.read("plans", where={"status": "published"}, columns=["id", "published_at"])
    if plans.empty:
        return None
    return str(plans.sort_values("published_at", na_position="first")["id"].iloc[-1])


_ASSIGN_CACHE: dict[tuple[str, str], dict[str, str]] = {}
_ASSIGN_LOCK = threading.Lock()


def assignment(store: Store, plan_id: str) -> dict[str, str]:
    """building id → grid code of ``plan_id`` (cached: a published plan never changes)."""
    key = (store.url, plan_id)
    with _ASSIGN_LOCK:
        hit = _ASSIGN_CACHE.get(key)
    if hit is not None:
        return hit
    rows = store.read("plan_assignments", where={"plan_id": plan_id}, columns=["building_id", "grid_code"])
    out = dict(zip(rows["building_id"].astype(str), rows["grid_code"].astype(str)))
    with _ASSIGN_LOCK:
        if len(_ASSIGN_CACHE) > 8:
            _ASSIGN_CACHE.clear()
        _ASSIGN_CACHE[key] = out
    return out


def forget_cache() -> None:
    """Drop cached plan assignments, grid layers and centres (tests that rewrite a plan under the same id)."""
    with _ASSIGN_LOCK:
        _ASSIGN_CACHE.clear()
        _GRIDS_CACHE.clear()
        _CENTRES_CACHE.clear()


# -- layers as GeoJSON ---------------------------------------------------------------------------------
def layer_frame(store: Store, layer: str, *, bbox: tuple[float, float, float, float] | None = None,
                zoom: int = 18, where: Mapping[str, Any] | None = None, open_only: bool = True,
                now: dt.datetime | None = None, grid: str | None = None) -> pd.DataFrame:
    """The rows of map layer ``layer`` inside ``bbox`` with their public properties (no simplification);
    ``grid``: only the buildings of that grid of the published plan (buildings layer only)."""
    spec = _spec(layer)
    cols = [c for c in spec.columns] + ["geometry"]
    filt = dict(where or {})
    if grid is not None:
        if layer != "buildings":
            raise InvalidInput(f"grid={grid!r} filters the buildings layer only, not {layer}")
        plan_id = published_plan_id(store)
        grid_of = assignment(store, plan_id) if plan_id else {}
        filt["id"] = sorted(b for b, g in grid_of.items() if g == grid)
        if not filt["id"]:
            return _empty(spec).assign(grid_code=[])
    if layer == "grids":
        plan_id = published_plan_id(store)
        if plan_id is None:
            return _empty(spec)
        filt["plan_id"] = plan_id
    if layer == "complaints" and open_only:
        filt["state"] = open_states()
    frame = store.read(spec.source, bbox=bbox, where=filt or None, columns=cols)
    frame = frame[frame.geometry.notna()] if len(frame) else frame
    if spec.with_grid and len(frame):
        plan_id = published_plan_id(store)
        grid_of = assignment(store, plan_id) if plan_id else {}
        bid = frame["id"] if layer == "buildings" else frame["building_id"]
        frame = frame.assign(grid_code=[grid_of.get(str(b)) if b is not None else None for b in bid])
    if layer == "complaints" and len(frame):
        frame = _complaint_clock(frame, now or dt.datetime.utcnow())
    return frame


def _complaint_clock(frame: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
    created = _utc_naive(frame["created_at"])
    due = _utc_naive(frame["due_at"])
    closed = _is_closed(frame["state"])
    waiting = ((pd.Timestamp(now) - created).dt.total_seconds() / 86400).fillna(0).clip(lower=0)
    overdue = (~closed) & due.notna().to_numpy() & (due < pd.Timestamp(now)).to_numpy()
    return frame.assign(days_waiting=np.floor(waiting).astype(int), overdue=overdue, open=~closed)


def _utc_naive(col: pd.Series) -> pd.Series:
    """Datetimes as naive UTC (naive values are taken as UTC already)."""
    return pd.to_datetime(col, utc=True, errors="coerce").dt.tz_localize(None)


def _empty(spec: LayerSpec) -> pd.DataFrame:
    import geopandas as gpd

    return gpd.GeoDataFrame({c: [] for c in spec.columns}, geometry=[], crs=4326)


def _spec(layer: str) -> LayerSpec:
    try:
        return LAYERS[layer]
    except KeyError:
        raise NotFoundError(f"unknown map layer {layer!r}; layers are {', '.join(LAYERS)}") from None


def simplify(geoms: np.ndarray, zoom: int) -> np.ndarray:
    """Geometries simplified to half a pixel at ``zoom`` and rounded to the zoom's precision."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    d = decimals(zoom)
    out = shapely.simplify(geoms, tolerance(zoom), preserve_topology=True)
    out = shapely.transform(out, lambda xy: np.round(xy, d))
    # rounding may collapse a tiny polygon; keep it drawable as the rounded original
    bad = shapely.is_empty(out) | ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.transform(geoms[bad], lambda xy: np.round(xy, 7))
    return out


def feature_texts(frame: pd.DataFrame, *, zoom: int, shift: str | None = None) -> list[str]:
    """One GeoJSON Feature (text) per row of ``frame``, simplified for ``zoom``, shifted to GCJ-02 when
    ``shift == "gcj02"``."""
    geoms = frame.geometry.to_numpy() if len(frame) else np.array([], dtype=object)
    if shift == "gcj02" and len(geoms):
        from gridmap.domain.gcj02 import geometries_wgs84_to_gcj02
        geoms = geometries_wgs84_to_gcj02(geoms)
    geoms = simplify(geoms, zoom)
    geo_text = shapely.to_geojson(geoms) if len(geoms) else []
    props = [c for c in frame.columns if c != "geometry"]
    columns = [_native(frame[c]) for c in props]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return ['{"type":"Feature","geometry":' + g + ',"properties":' + dumps(dict(zip(props, values))) + "}"
            for g, values in zip(geo_text, zip(*columns))]


def collection(parts: Sequence[str], extra: Mapping[str, Any] | None = None) -> str:
    """A FeatureCollection (text) of Feature texts, with ``extra`` members."""
    head = {"type": "FeatureCollection", **(extra or {})}
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return text[:-1] + ',"features":[' + ",".join(parts) + "]}"


def features_json(frame: pd.DataFrame, *, zoom: int, shift: str | None = None,
                  extra: Mapping[str, Any] | None = None) -> str:
    """A GeoJSON FeatureCollection (text) of ``frame``: simplified for ``zoom``; shifted to GCJ-02 when
    ``shift == "gcj02"``; ``extra`` members are added to the collection."""
    return collection(feature_texts(frame, zoom=zoom, shift=shift), extra)


def layer_geojson(store: Store, layer: str, *, bbox=None, zoom: int = 18, shift: str | None = None,
                  open_only: bool = True, limit: int = MAX_FEATURES, bounds: tuple[int, int] = (300, 500),
                  where: Mapping[str, Any] | None = None, now: dt.datetime | None = None,
                  grid: str | None = None, points: bool = True) -> str:
    """Layer ``layer`` inside ``bbox`` as GeoJSON text for a map at ``zoom`` (``grid``: only that grid's
    buildings — a grid page draws the others from vector tiles). ``points=False``: complaints stay counts
    per grid at every zoom (public and embedded maps show only aggregates).

    Below the layer's ``min_zoom`` the collection is empty with ``"hidden": "zoom"`` (too many to draw);
    more than ``limit`` features are cut with ``"truncated": true``; ``"total"`` counts them all.
    Complaints below :data:`POINT_ZOOM` are counts per grid or community (:func:`complaint_counts`,
    ``"aggregate"`` names the level); the grids layer comes from a per-plan cache (:func:`grid_features`).
    """
    spec = _spec(layer)
    meta: dict[str, Any] = {"layer": layer, "zoom": zoom, "min_zoom": spec.min_zoom}
    if zoom < spec.min_zoom:
        return features_json(_empty(spec), zoom=zoom, extra={**meta, "total": None, "hidden": "zoom"})
    if layer == "grids" and not where:
        parts = grid_features(store, bbox=bbox, zoom=zoom, shift=shift, bounds=bounds)
        meta["total"] = len(parts)
        if len(parts) > limit:
            parts, meta["truncated"] = parts[:limit], True
        return collection(parts, meta)
    if layer == "complaints" and (zoom < POINT_ZOOM or not points) and not where:
        level = "grid" if zoom >= GRID_COUNT_ZOOM else "community"
        frame = complaint_counts(store, level=level, bbox=bbox, open_only=open_only, now=now)
        meta.update(aggregate=level, point_zoom=POINT_ZOOM, suppressed_below=_small_count(), points=points)
        return features_json(frame, zoom=zoom, shift=shift, extra={**meta, "total": len(frame)})
    frame = layer_frame(store, layer, bbox=bbox, zoom=zoom, open_only=open_only, where=where, now=now, grid=grid)
    total = len(frame)
    if layer == "grids" and total:
        frame = with_load(store, frame, bounds)
    if layer == "complaints" and zoom < DETAIL_ZOOM and total:
        frame = frame[[c for c in LIGHT_COMPLAINT if c in frame.columns] + ["geometry"]]
    if total > limit:
        frame = frame.iloc[:limit]
        meta["truncated"] = True
    return features_json(frame, zoom=zoom, shift=shift, extra={**meta, "total": total})


# -- cached whole-plan grids -----------------------------------------------------------------------------
@dataclass
class _GridLayer:
    """A published plan's grids with their load, and Feature texts per (zoom, shift), made once."""

    frame: pd.DataFrame
    boxes: np.ndarray
    made: float
    texts: dict[tuple[int, str | None], list[str]]


_GRIDS_CACHE: dict[tuple[str, str, tuple[int, int]], _GridLayer] = {}


def grid_features(store: Store, *, bbox: tuple[float, float, float, float] | None, zoom: int,
                  shift: str | None = None, bounds: tuple[int, int] = (300, 500)) -> list[str]:
    """Feature texts of the published plan's grids intersecting ``bbox`` (all without one), coloured
    against ``bounds``. The plan's whole layer is read, loaded and encoded once per zoom and kept for
    :data:`CACHE_SECONDS` (a published plan never changes; community bounds rarely do)."""
    import time

    plan_id = published_plan_id(store)
    if plan_id is None:
        return []
    key = (store.url, plan_id, tuple(bounds))
    with _ASSIGN_LOCK:
        hit = _GRIDS_CACHE.get(key)
    if hit is None or time.monotonic() - hit.made > CACHE_SECONDS:
        frame = layer_frame(store, "grids")
        frame = with_load(store, frame, bounds) if len(frame) else frame
        hit = _GridLayer(frame=frame, boxes=shapely.bounds(frame.geometry.to_numpy()) if len(frame)
                         else np.zeros((0, 4)), made=time.monotonic(), texts={})
        with _ASSIGN_LOCK:
            if len(_GRIDS_CACHE) > 8:
                _GRIDS_CACHE.clear()
            _GRIDS_CACHE[key] = hit
    texts = hit.texts.get((zoom, shift))
    if texts is None:
        texts = feature_texts(hit.frame, zoom=zoom, shift=shift)
        hit.texts[(zoom, shift)] = texts
    if bbox is None:
        return list(texts)
    b = hit.boxes
    inside = (b[:, 0] <= bbox[2]) & (b[:, 2] >= bbox[0]) & (b[:, 1] <= bbox[3]) & (b[:, 3] >= bbox[1])
    if inside.any():
        # the boxes overlap: keep only grids whose polygon really meets the box
        idx = np.flatnonzero(inside)
        geoms = hit.frame.geometry.to_numpy()[idx]
        idx = idx[shapely.intersects(geoms, shapely.box(*bbox))]
        return [texts[i] for i in idx]
    return []


# -- complaint counts ------------------------------------------------------------------------------------
_CENTRES_CACHE: dict[tuple[str, str, str], tuple[float, pd.DataFrame]] = {}


def _small_count() -> int:
    try:
        from gridmap.domain.privacy import SMALL_COUNT
    except ImportError:
        return 5
    return int(SMALL_COUNT)


def suppressed(n: int) -> int | str:
    """A public count: ``"<5"`` for 1–4, other counts as they are (:func:`gridmap.domain.privacy.suppress_small`,
    the one small-count rule of issue #7)."""
    try:
        from gridmap.domain.privacy import suppress_small
    except ImportError:
        return n if n == 0 or n >= 5 else "<5"
    return suppress_small(n)


def centres(store: Store, level: str) -> pd.DataFrame:
    """``id, name, geometry`` (a point inside each area) of the published plan's grids (``level="grid"``)
    or of the communities (``"community"``); cached like :func:`grid_features`."""
    import time

    import geopandas as gpd

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
        import geopandas as gpd
        return gpd.GeoDataFrame(cols, geometry=[], crs=4326)
    rows = _complaint_clock(rows, now or dt.datetime.utcnow())
    plan_id = published_plan_id(store)
    grid_of = assignment(store, plan_id) if plan_id else {}
    grid = pd.Series([grid_of.get(str(b)) if b is not None else None for b in rows["building_id"]],
                     index=rows.index, dtype=object)
    if level == "grid":
        key = grid
    else:
        key = grid.str[:12].where(grid.notna(), rows["community_id"].astype(object))
    counts = pd.DataFrame({"key": key, "overdue": rows["overdue"].astype(int)}).dropna(subset=["key"]) \
        .groupby("key")["overdue"].agg(["size", "sum"])
    where = where[where["id"].isin(counts.index)]
    c = counts.reindex(where["id"])
    out = where.assign(level=level, count=[suppressed(int(n)) for n in c["size"]],
                       overdue=[suppressed(int(n)) for n in c["sum"]])
    cols = ["id", "name"] if level == "community" else ["id"]
    return out[cols + ["level", "count", "overdue", "geometry"]].reset_index(drop=True)


def community_bounds(store: Store, community_ids: Iterable[str], default: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """community id → (min, max) households per grid (its own or the default)."""
    ids = sorted({str(c) for c in community_ids if c is not None})
    coms = store.read("communities", ids=ids, columns=["id", "min_households", "max_households"]) if ids \
        else pd.DataFrame(columns=["id", "min_households", "max_households"])
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
    grid_of = assignment(store, plan_id)
    ids = sorted(b for b, g in grid_of.items() if g == code)
    if not ids:
        return _empty(LAYERS["buildings"]).assign(grid_code=[])
    frame = store.read("buildings", ids=ids, columns=["id", "name", "estate_id", "community_id", "households",
                                                     "floors", "residents", "geometry"])
    return frame.assign(grid_code=code)


def grid_stats(store: Store, code: str, *, bounds: tuple[int, int] = (300, 500),
               now: dt.datetime | None = None) -> dict[str, Any]:
    """Figures of grid ``code``: households against its bounds, buildings, stewards by role, complaints."""
    return _grid(store, code, bounds=bounds, now=now)["stats"]


def grid_detail(store: Store, code: str, *, bounds: tuple[int, int] = (300, 500),
                now: dt.datetime | None = None, radius_m: float = 500.0) -> dict[str, Any]:
    """Everything the grid page shows: the figures and the lists (buildings, stewards by role, open
    complaints with days waiting and overdue flag, merchants and volunteer teams within ``radius_m``)."""
    return _grid(store, code, bounds=bounds, now=now, radius_m=radius_m, lists=True)


def _grid(store: Store, code: str, *, bounds: tuple[int, int], now: dt.datetime | None,
          radius_m: float = 500.0, lists: bool = False) -> dict[str, Any]:
    now = now or dt.datetime.utcnow()
    row = grid_row(store, code)
    plan_id = row["plan_id"]
    geom = row["geometry"]
    blds = grid_buildings(store, plan_id, code)
    ids = blds["id"].astype(str).tolist()
    lo, hi = community_bounds(store, [row["community_id"]], bounds)[str(row["community_id"])]
    stewards = _by_buildings(store, "stewards", ids, ["id", "role", "building_id", "serves", "geometry"])
    leaders = store.read("stewards", where={"role": "grid_leader", "serves": code},
                         columns=["id", "role", "building_id", "serves", "geometry"])
    if len(leaders):
        stewards = pd.concat([stewards, leaders[~leaders["id"].isin(stewards["id"])]], ignore_index=True)
    complaints = _by_buildings(store, "complaints", ids, list(LAYERS["complaints"].columns) + ["geometry"])
    if len(complaints):
        complaints = _complaint_clock(complaints, now)
        open_c = complaints[complaints["open"]]
    else:
        open_c = complaints
    households = int(blds["households"].fillna(0).sum()) if len(blds) else 0
    by_role = {r: int((stewards["role"] == r).sum()) if len(stewards) else 0 for r in STEWARD_ROLES}
    stats = {
        "code": code, "plan_id": plan_id, "community_id": row["community_id"],
        "community": _name(store, "communities", row["community_id"]),
        "households": households, "min": lo, "max": hi, "status": load_status(households, lo, hi),
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
        if len(stewards) else stewards,
        complaints=open_c.assign(building=[bname.get(str(b), "") for b in open_c["building_id"]])
        .sort_values("days_waiting", ascending=False) if len(open_c) else open_c,
        merchants=merchants, volunteer_teams=teams)
    return out


def _by_buildings(store: Store, layer: str, ids: Sequence[str], columns: list[str]) -> pd.DataFrame:
    if not ids:
        return store.read(layer, columns=columns, limit=0)
    parts = [store.read(layer, where={"building_id": list(ids[i:i + 500])}, columns=columns)
             for i in range(0, len(ids), 500)]
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
    return {"id": key, "name": row["name"], "bbox": [round(float(v), 6) for v in shapely.bounds(row["geometry"])],
            "grids": codes}


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


# -- search --------------------------------------------------------------------------------------------
def search(store: Store, q: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Grids by code (prefix), estates by name, buildings as "estate name + number" or by id.

    Each hit: ``{"kind", "id", "label", "bbox", "url"}`` (url only for grids).
    """
    q = (q or "").strip()
    if not q:
        return []
    if len(q) > 100:
        raise InvalidInput("search text is longer than 100 characters")
    hits: list[dict[str, Any]] = []
    plan_id = published_plan_id(store)
    if q.isdigit() and plan_id:
        grids = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "geometry"])
        g = grids[grids["code"].astype(str).str.startswith(q)].head(limit)
        hits += [{"kind": "grid", "id": c, "label": c, "bbox": _bbox(geom), "url": f"/grids/{c}"}
                 for c, geom in zip(g["code"], g.geometry)]
    estates = store.read("estates", columns=["id", "name", "geometry"])
    words = q.split()
    est_q = words[0] if len(words) > 1 else q
    number = words[-1].rstrip("号楼栋") if len(words) > 1 else None
    match = estates[estates["name"].astype(str).str.contains(est_q, regex=False)]
    if number and len(match):
        blds = store.read("buildings", where={"estate_id": match["id"].tolist()[:50], "name": number},
                          columns=["id", "name", "estate_id", "geometry"])
        names = dict(zip(match["id"], match["name"]))
        hits += [{"kind": "building", "id": b, "label": f"{names.get(e, '')} {n}号楼", "bbox": _bbox(geom)}
                 for b, n, e, geom in zip(blds["id"], blds["name"], blds["estate_id"], blds.geometry)]
    if not number:
        hits += [{"kind": "estate", "id": e, "label": n, "bbox": _bbox(geom)}
                 for e, n, geom in zip(match["id"], match["name"], match.geometry)][:limit]
    b = store.get("buildings", q)
    if b is not None:
        hits.append({"kind": "building", "id": q, "label": f"{q}", "bbox": _bbox(b["geometry"])})
    return hits[:limit]


def _bbox(geom: shapely.Geometry) -> list[float]:
    return [round(float(v), 6) for v in shapely.bounds(geom)]
