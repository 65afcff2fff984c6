"""Mapbox vector tiles (MVT) from GeoDataFrames: tile math, clipping, per-zoom simplification, encoding.

The SQLite path of ``/tiles/{layer}/{z}/{x}/{y}.pbf`` encodes here; PostGIS does the same work in SQL with
``ST_AsMVT`` (:meth:`gridmap.store.postgis.PostGISStore.mvt`) using the same extent, buffer and tolerance
(:func:`simplify_tolerance_m`), so both backends draw the same tile. No I/O here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import shapely

from gridmap.domain.tiles import (  # noqa: F401
    BUFFER,
    EXTENT,
    MAX_ZOOM,
    SIMPLIFY_UNITS,
    TileError,
    check_tile,
    simplify_tolerance_m,
    tile_bbox,
    to_tile_coords,
)
from gridmap.domain.values import json_records


def prepare_layer(
    frame: gpd.GeoDataFrame,
    z: int,
    x: int,
    y: int,
    *,
    extent: int = EXTENT,
    buffer: int = BUFFER,
    simplify: float = SIMPLIFY_UNITS,
) -> list[dict[str, Any]]:
    """MVT features of one layer: projected, clipped to the buffered tile, simplified, properties plain.

    Polygons that shrink below one square tile unit at this zoom are left out (they would vanish
    when coordinates are rounded to the tile grid); ``None``/NaN properties are omitted.
    """
    check_tile(z, x, y)
    if frame is None or len(frame) == 0:
        return []
    geoms = to_tile_coords(frame.geometry.to_numpy(), z, x, y, extent=extent)
    geoms = shapely.clip_by_rect(geoms, -buffer, -buffer, extent + buffer, extent + buffer)
    if simplify > 0:
        geoms = shapely.simplify(geoms, simplify, preserve_topology=True)
    keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    keep &= ~polygonal | (shapely.area(geoms) >= 1.0)
    props = frame.drop(columns=frame.geometry.name).loc[keep]
    records = _plain_records(props)
    return [{"geometry": g, "properties": p} for g, p in zip(geoms[keep], records)]


def encode(
    layers: Mapping[str, gpd.GeoDataFrame],
    z: int,
    x: int,
    y: int,
    *,
    extent: int = EXTENT,
    buffer: int = BUFFER,
    simplify: float = SIMPLIFY_UNITS,
) -> bytes:
    """One tile with a layer per ``{name: GeoDataFrame in EPSG:4326}``; empty layers are left out."""
    out = []
    for name, frame in layers.items():
        feats = prepare_layer(frame, z, x, y, extent=extent, buffer=buffer, simplify=simplify)
        if feats:
            out.append({"name": name, "features": feats})
    if not out:
        return b""
    return mapbox_vector_tile.encode(
        out,
        default_options={
            "extents": extent,
            "y_coord_down": True,
            "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
        },
    )


def decode(data: bytes) -> dict[str, dict[str, Any]]:
    """Decode a tile (y down, tile units) — for tests and debugging."""
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}) if data else {}


def etag(data: bytes) -> str:
    """A strong entity tag for a tile body."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Properties of each row as :func:`gridmap.domain.values.json_value` values, missing ones left out; an
    MVT property holds one scalar, so nested values (lists, objects) go in as their JSON text."""
    out = []
    for rec in json_records(frame):
        out.append(
            {
                c: v if not isinstance(v, (list, dict)) else json.dumps(v, ensure_ascii=False)
                for c, v in rec.items()
                if v is not None
            }
        )
    return out
