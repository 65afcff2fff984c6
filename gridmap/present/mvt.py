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
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for name, frame in layers.items():
        feats = prepare_layer(frame, z, x, y, extent=extent, buffer=buffer, simplify=simplify)
        if feats:
            out.append((name, feats))
    if not out:
        return b""
    tile = _Tile(
        default_options={
            "extents": extent,
            "y_coord_down": True,
            "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
        }
    )
    for name, feats in out:
        wound, ready = _wound(np.asarray([f["geometry"] for f in feats], dtype=object))
        tile.ready = dict(zip((id(g) for g in wound[ready]), polygon_commands(wound[ready])))
        tile.add_layer(name, [dict(f, geometry=g) for f, g in zip(feats, wound)])
    return tile.tile.SerializeToString()


class _Tile(mapbox_vector_tile.encoder.VectorTile):
    """mapbox-vector-tile's encoder, skipping its one-by-one winding of the shapes :func:`_wound` already put on the
    tile grid and wound for the whole layer at once (the same result: the tile's bytes are the same); any other
    shape (e.g. one that rounding made invalid) goes through the library's own repair as before."""

    #: id of a shape made ready by :func:`_wound` → its geometry commands (:func:`polygon_commands`)
    ready: dict[int, list[int]] = {}

    def enforce_winding_order(self, shape: Any, n_try: int = 1) -> Any:
        if n_try == 1 and id(shape) in self.ready:
            return shape
        return super().enforce_winding_order(shape, n_try)

    def _handle_attr(self, layer: Any, feature: Any, props: Mapping[str, Any]) -> None:
        """The library's property tags (same keys and values tables, same order), appended in one go."""
        tags: list[int] = []
        for k, v in props.items():
            if not isinstance(k, str) or not isinstance(v, (str, bool, int, float)):
                continue
            ki = self.seen_keys_idx.get(k)
            if ki is None:
                layer.keys.append(k)
                ki = self.seen_keys_idx[k] = self.key_idx
                self.key_idx += 1
            seen = self.seen_values_bool_idx if isinstance(v, bool) else self.seen_values_idx
            vi = seen.get(v)
            if vi is None:
                vi = seen[v] = self.val_idx
                self.val_idx += 1
                val = layer.values.add()
                if isinstance(v, bool):
                    val.bool_value = v
                elif isinstance(v, str):
                    val.string_value = v
                elif isinstance(v, int):
                    val.int_value = v
                else:
                    val.double_value = v
            tags += (ki, vi)
        feature.tags.extend(tags)

    def add_feature(self, feature: Any, shape: Any) -> None:
        commands = self.ready.get(id(shape))
        if commands is None:
            super().add_feature(feature, shape)
            return
        f = self.layer.features.add()
        if feature.get("properties") is not None:
            self._handle_attr(self.layer, f, feature["properties"])
        f.type = self.tile.Polygon
        f.geometry.extend(commands)


def polygon_commands(geoms: np.ndarray) -> list[list[int]]:
    """The MVT geometry commands of each (multi)polygon of ``geoms`` — valid, on whole tile units, wound — as
    mapbox-vector-tile's ``GeometryEncoder`` writes them, for all at once: per ring MoveTo(1) from the cursor,
    LineTo(n) over the ring's other points less repeats, ClosePath; the cursor starts at (0, 0) per feature."""
    if len(geoms) == 0:
        return []
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    _, coords, (ring_offsets, part_offsets) = shapely.to_ragged_array(parts)
    n_rings = len(ring_offsets) - 1
    ring_of = np.repeat(np.arange(len(parts)), np.diff(part_offsets))
    coord_of = np.repeat(np.arange(n_rings), np.diff(ring_offsets))
    closing = np.r_[coord_of[1:] != coord_of[:-1], True]  # a ring's last point repeats its first
    xy, rid = np.rint(coords[~closing]).astype(np.int64), coord_of[~closing]
    feat = part_of[ring_of[rid]]
    first = np.r_[True, rid[1:] != rid[:-1]]
    prev = np.vstack([[0, 0], xy[:-1]])
    prev[np.r_[True, feat[1:] != feat[:-1]]] = 0  # each feature's cursor starts at the origin
    delta = xy - prev
    zigzag = (delta << 1) ^ (delta >> 63)
    line = ~first & (delta != 0).any(axis=1)  # LineTo points (repeated points are skipped)
    per_ring = np.bincount(rid[line], minlength=n_rings)
    size = 2 * per_ring + 5  # MoveTo, x, y, LineTo, 2 n, ClosePath
    start = np.r_[0, np.cumsum(size)[:-1]]
    out = np.empty(int(size.sum()), dtype=np.int64)
    out[start] = 1 | (1 << 3)
    out[start + 1], out[start + 2] = zigzag[first, 0], zigzag[first, 1]
    out[start + 3] = 2 | (per_ring << 3)
    out[start + 4 + 2 * per_ring] = 7 | (1 << 3)
    rank = np.cumsum(line) - 1 - (np.cumsum(line) - line)[first][np.cumsum(first) - 1]
    at = start[rid[line]] + 4 + 2 * rank[line]
    out[at], out[at + 1] = zigzag[line, 0], zigzag[line, 1]
    ring_feat = part_of[ring_of]
    cuts = [0, *start[np.flatnonzero(ring_feat[1:] != ring_feat[:-1]) + 1].tolist(), len(out)]
    flat = out.tolist()
    return [flat[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


def _wound(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygons rounded to whole tile units and wound as the MVT encoder winds them (exterior counter-clockwise in
    y-down tile units, holes clockwise), vectorised; ``ready`` marks those that came out valid (the others are
    left as they were, for the encoder to repair one by one)."""
    out = geoms.copy()
    ready = np.zeros(len(geoms), dtype=bool)
    poly = np.isin(shapely.get_type_id(geoms), (3, 6))
    if poly.any():
        wound = shapely.orient_polygons(shapely.transform(geoms[poly], np.round), exterior_cw=False)
        ok = shapely.is_valid(wound) & ~shapely.is_empty(wound)
        idx = np.flatnonzero(poly)
        out[idx[ok]] = wound[ok]
        ready[idx[ok]] = True
    return out, ready


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
