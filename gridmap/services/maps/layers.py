"""Map layers as GeoJSON by viewport and zoom.

Every layer is read through the store's bounding-box filter, simplified for the zoom (half a screen pixel)
and rounded to the precision the zoom can show, and carries **only non-personal columns** (names, phones,
rooms, descriptions and contacts never leave here; the security area may add role-based views).
A building's, steward's or complaint's grid is derived from the published plan (``plan_assignments``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import shapely

from gridmap import clock
from gridmap.domain.gcj02 import geometries_wgs84_to_gcj02
from gridmap.domain.values import json_column
from gridmap.errors import InvalidInput
from gridmap.present.layers import DETAIL_ZOOM, GRID_COUNT_ZOOM, LIGHT_COMPLAINT, MAX_FEATURES, POINT_ZOOM
from gridmap.services.maps.area import check_area, in_area, keep_in_area
from gridmap.services.maps.common import (
    _ASSIGN_LOCK,
    _GRIDS_CACHE,
    CACHE_SECONDS,
    _complaint_clock,
    _empty,
    _GridLayer,
    _spec,
    assignment,
    buildings_of,
    open_states,
)
from gridmap.services.maps.counts import _small_count, complaint_counts
from gridmap.services.maps.grid import with_load
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store


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
    if (
        minx > maxx
        or miny > maxy
        or not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90)
    ):
        raise InvalidInput(f"bbox={text!r}: need minx<=maxx, miny<=maxy within ±180/±90 degrees")
    return minx, miny, maxx, maxy


def parse_zoom(text: str | None, *, default: int = 18) -> int:
    if text is None or text == "":
        return default
    try:  # a whole number: 0.5 is not a zoom level
        z = int(text)
    except ValueError:
        raise InvalidInput(f"zoom={text!r}: expected a whole number 0–22") from None
    if not 0 <= z <= 22:
        raise InvalidInput(f"zoom={text!r}: expected a whole number 0–22")
    return z


def tolerance(zoom: int) -> float:
    """Half a screen pixel at ``zoom``, in degrees (the simplification tolerance)."""
    return 360.0 / (256 * 2**zoom) / 2


def decimals(zoom: int) -> int:
    """Fewest decimal places whose rounding error (half a unit of the last place) stays within half a
    pixel at ``zoom`` (3 … 7): 5 places (±0.55 m) up to zoom 17."""
    return int(min(7, max(3, math.ceil(-math.log10(2 * tolerance(zoom))))))


# -- layers as GeoJSON ---------------------------------------------------------------------------------
def layer_frame(
    store: Store,
    layer: str,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    zoom: int = 18,
    where: Mapping[str, Any] | None = None,
    open_only: bool = True,
    now: dt.datetime | None = None,
    grid: str | None = None,
) -> pd.DataFrame:
    """The rows of map layer ``layer`` inside ``bbox`` with their public properties (no simplification);
    ``grid``: only the buildings of that grid of the published plan (buildings layer only)."""
    spec = _spec(layer)
    cols = [c for c in spec.columns] + ["geometry"]
    filt = dict(where or {})
    if grid is not None:
        if layer != "buildings":
            raise InvalidInput(f"grid={grid!r} filters the buildings layer only, not {layer}")
        plan_id = published_plan_id(store)
        filt["id"] = buildings_of(store, plan_id, grid) if plan_id else []
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
        frame = _complaint_clock(frame, now or clock.now())
    return frame


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
        geoms = geometries_wgs84_to_gcj02(geoms)
    geoms = simplify(geoms, zoom)
    geo_text = cast(np.ndarray, shapely.to_geojson(geoms)) if len(geoms) else np.array([], dtype=object)
    props = [c for c in frame.columns if c != "geometry"]
    columns = [json_column(frame[c], digits=3) for c in props]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    return [
        '{"type":"Feature","geometry":' + g + ',"properties":' + dumps(dict(zip(props, values))) + "}"
        for g, values in zip(geo_text, zip(*columns))
    ]


def collection(parts: Sequence[str], extra: Mapping[str, Any] | None = None) -> str:
    """A FeatureCollection (text) of Feature texts, with ``extra`` members."""
    head = {"type": "FeatureCollection", **(extra or {})}
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
    return text[:-1] + ',"features":[' + ",".join(parts) + "]}"


def features_json(
    frame: pd.DataFrame, *, zoom: int, shift: str | None = None, extra: Mapping[str, Any] | None = None
) -> str:
    """A GeoJSON FeatureCollection (text) of ``frame``: simplified for ``zoom``; shifted to GCJ-02 when
    ``shift == "gcj02"``; ``extra`` members are added to the collection."""
    return collection(feature_texts(frame, zoom=zoom, shift=shift), extra)


def layer_geojson(
    store: Store,
    layer: str,
    *,
    bbox=None,
    zoom: int = 18,
    shift: str | None = None,
    open_only: bool = True,
    limit: int = MAX_FEATURES,
    bounds: tuple[int, int] = (300, 500),
    where: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    grid: str | None = None,
    points: bool = True,
    area: str | None = None,
) -> str:
    """Layer ``layer`` inside ``bbox`` as GeoJSON text for a map at ``zoom`` (``grid``: only that grid's
    buildings — a grid page draws the others from vector tiles). ``points=False``: complaints stay counts
    per grid at every zoom (public and embedded maps show only aggregates). ``area`` (a street, community or
    grid code): only the features inside it (:mod:`gridmap.services.maps.area`; community and street embeds).

    Below the layer's ``min_zoom`` the collection is empty with ``"hidden": "zoom"`` (too many to draw);
    more than ``limit`` features are cut with ``"truncated": true``; ``"total"`` counts them all.
    Complaints below :data:`POINT_ZOOM` are counts per grid or community (:func:`complaint_counts`,
    ``"aggregate"`` names the level); the grids layer comes from a per-plan cache (:func:`grid_features`).
    """
    spec = _spec(layer)
    meta: dict[str, Any] = {"layer": layer, "zoom": zoom, "min_zoom": spec.min_zoom}
    if area is not None:
        meta["area"] = check_area(area)
    if zoom < spec.min_zoom:
        return features_json(_empty(spec), zoom=zoom, extra={**meta, "total": None, "hidden": "zoom"})
    if layer == "grids" and not where:
        parts = grid_features(store, bbox=bbox, zoom=zoom, shift=shift, bounds=bounds, area=area)
        meta["total"] = len(parts)
        if len(parts) > limit:
            parts, meta["truncated"] = parts[:limit], True
        return collection(parts, meta)
    if layer == "complaints" and (zoom < POINT_ZOOM or not points) and not where:
        level = "grid" if zoom >= GRID_COUNT_ZOOM else "community"
        frame = complaint_counts(store, level=level, bbox=bbox, open_only=open_only, now=now)
        frame = keep_in_area(store, layer, frame, area) if area is not None else frame
        meta.update(aggregate=level, point_zoom=POINT_ZOOM, suppressed_below=_small_count(), points=points)
        return features_json(frame, zoom=zoom, shift=shift, extra={**meta, "total": len(frame)})
    frame = layer_frame(store, layer, bbox=bbox, zoom=zoom, open_only=open_only, where=where, now=now, grid=grid)
    frame = keep_in_area(store, layer, frame, area) if area is not None else frame
    total = len(frame)
    if layer == "grids" and total:
        frame = with_load(store, frame, bounds)
    if layer == "complaints" and zoom < DETAIL_ZOOM and total:
        frame = frame[[c for c in LIGHT_COMPLAINT if c in frame.columns] + ["geometry"]]
    if total > limit:
        frame = frame.iloc[:limit]
        meta["truncated"] = True
    return features_json(frame, zoom=zoom, shift=shift, extra={**meta, "total": total})


def own_buildings_geojson(frame: pd.DataFrame, *, zoom: int) -> str:
    """A grid's own buildings (a frame of them with their ``grid_code``, as :func:`.grid.grid_detail` lists them)
    as the collection ``/api/layers/buildings?grid=…&zoom=…`` answers for the whole grid: a grid page sends it
    with the page, so the first view draws them without asking."""
    spec = _spec("buildings")
    cols = [c for c in (*spec.columns, "grid_code") if c in frame.columns]
    meta = {"layer": "buildings", "zoom": zoom, "min_zoom": spec.min_zoom, "total": len(frame)}
    return features_json(frame[[*cols, "geometry"]], zoom=zoom, extra=meta)


def grid_features(
    store: Store,
    *,
    bbox: tuple[float, float, float, float] | None,
    zoom: int,
    shift: str | None = None,
    bounds: tuple[int, int] = (300, 500),
    area: str | None = None,
) -> list[str]:
    """Feature texts of the published plan's grids intersecting ``bbox`` (all without one), coloured
    against ``bounds``. The plan's whole layer is read, loaded and encoded once per zoom and kept for
    :data:`CACHE_SECONDS` (a published plan never changes; community bounds rarely do)."""
    plan_id = published_plan_id(store)
    if plan_id is None:
        return []
    key = (store.url, plan_id, (bounds[0], bounds[1]))  # a tuple even when a setting holds a list
    with _ASSIGN_LOCK:
        hit = _GRIDS_CACHE.get(key)
    if hit is None or time.monotonic() - hit.made > CACHE_SECONDS:
        frame = layer_frame(store, "grids")
        frame = with_load(store, frame, bounds) if len(frame) else frame
        hit = _GridLayer(
            frame=frame,
            boxes=shapely.bounds(frame.geometry.to_numpy()) if len(frame) else np.zeros((0, 4)),
            made=time.monotonic(),
            texts={},
        )
        with _ASSIGN_LOCK:
            if len(_GRIDS_CACHE) > 8:
                _GRIDS_CACHE.clear()
            _GRIDS_CACHE[key] = hit
    texts = hit.texts.get((zoom, shift))
    if texts is None:
        texts = feature_texts(hit.frame, zoom=zoom, shift=shift)
        hit.texts[(zoom, shift)] = texts
    mine = in_area(hit.frame["code"], area) if area is not None and len(hit.frame) else None
    if bbox is None:
        return list(texts) if mine is None else [t for t, keep in zip(texts, mine) if keep]
    b = hit.boxes
    inside = (b[:, 0] <= bbox[2]) & (b[:, 2] >= bbox[0]) & (b[:, 1] <= bbox[3]) & (b[:, 3] >= bbox[1])
    inside = inside if mine is None else inside & mine
    if inside.any():
        # the boxes overlap: keep only grids whose polygon really meets the box
        idx = np.flatnonzero(inside)
        geoms = hit.frame.geometry.to_numpy()[idx]
        idx = idx[shapely.intersects(geoms, shapely.box(*bbox))]
        return [texts[i] for i in idx]
    return []
