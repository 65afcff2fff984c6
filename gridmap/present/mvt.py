"""Mapbox vector tiles (MVT) from GeoDataFrames: tile math, clipping, per-zoom simplification, encoding.

The SQLite path of ``/tiles/{layer}/{z}/{x}/{y}.pbf`` encodes here; PostGIS does the same work in SQL with
``ST_AsMVT`` (:meth:`gridmap.store.postgis.PostGISStore.mvt`) using the same extent, buffer and tolerance
(:func:`simplify_tolerance_m`), so both backends draw the same tile. No I/O here.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pandas as pd
import shapely
from mapbox_vector_tile.geom_encoder import GeometryEncoder
from mapbox_vector_tile.utils import get_encode_options

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
from gridmap.domain.values import json_column, json_records


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
    geoms, props = _prepared(frame, z, x, y, extent=extent, buffer=buffer, simplify=simplify)
    return [{"geometry": g, "properties": p} for g, p in zip(geoms, _plain_records(props))]


def _prepared(
    frame: gpd.GeoDataFrame | None, z: int, x: int, y: int, *, extent: int, buffer: int, simplify: float
) -> tuple[np.ndarray, pd.DataFrame]:
    """The kept shapes of one layer (projected, clipped, simplified) and their rows' properties (a frame)."""
    check_tile(z, x, y)
    if frame is None or len(frame) == 0:
        return np.array([], dtype=object), pd.DataFrame()
    geoms = to_tile_coords(frame.geometry.to_numpy(), z, x, y, extent=extent)
    geoms = shapely.clip_by_rect(geoms, -buffer, -buffer, extent + buffer, extent + buffer)
    if simplify > 0:
        geoms = shapely.simplify(geoms, simplify, preserve_topology=True)
    keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    keep &= ~polygonal | (shapely.area(geoms) >= 1.0)
    props = pd.DataFrame(frame.drop(columns=frame.geometry.name)).loc[keep]
    return geoms[keep], props


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
        geoms, props = _prepared(frame, z, x, y, extent=extent, buffer=buffer, simplify=simplify)
        if len(geoms):
            out.append((name, geoms, props))
    if not out:
        return b""
    tile = _Tile(
        default_options={
            "extents": extent,
            "y_coord_down": True,
            "on_invalid_geometry": mapbox_vector_tile.encoder.on_invalid_geometry_make_valid,
        }
    )
    for name, geoms, props in out:
        tile.add_frame(name, geoms, props)
    return tile.tile.SerializeToString()


class _Tile(mapbox_vector_tile.encoder.VectorTile):
    """mapbox-vector-tile's encoder for whole layers at once, writing the bytes the library writes feature by feature:
    shapes :func:`_wound` put on the tile grid and wound get their commands from :func:`polygon_commands` for the
    whole layer, any other (e.g. one that rounding made invalid, a line, a point) goes through the library's own
    repair and geometry encoder as before; the keys and values tables and each feature's tags come from the
    property columns (:func:`_tags`), in the library's order."""

    def add_frame(self, name: str, geoms: np.ndarray, props: pd.DataFrame) -> None:
        """A layer ``name`` of the shapes ``geoms`` (tile units) with the rows of ``props`` as their properties."""
        if not name or name in self.seen_layer_names:
            raise ValueError(f"layer name {name!r} is empty or already in the tile")
        self.seen_layer_names.add(name)
        layer = self.layer = self.tile.layers.add()
        self.layer_options = get_encode_options(layer_options=None, default_options=self.default_options)
        layer.name, layer.version, layer.extent = name, 2, self.layer_options["extents"]
        wound, ready = _wound(geoms)
        n = len(geoms)
        commands: list[list[int] | None] = [None] * n
        kinds = [int(self.tile.Polygon)] * n
        for i, cmds in zip(np.flatnonzero(ready).tolist(), polygon_commands(wound[ready])):
            commands[i] = cmds
        y_down, extent = self.layer_options["y_coord_down"], self.layer_options["extents"]
        for i in np.flatnonzero(~ready).tolist():  # as the library's add_layer and add_feature treat them
            shape = self.enforce_winding_order(wound[i])
            if shape is not None and not shape.is_empty:
                cmds = GeometryEncoder(y_down, extent).encode(shape)  # one encoder per shape: it keeps a cursor
                if len(cmds):
                    commands[i], kinds[i] = cmds, int(self._get_feature_type(shape))
        drawn = [i for i in range(n) if commands[i] is not None]
        keys, values, tags = _tags(props.iloc[drawn])
        layer.keys.extend(keys)
        for v in values:
            val = layer.values.add()
            if isinstance(v, bool):
                val.bool_value = v
            elif isinstance(v, str):
                val.string_value = v
            elif isinstance(v, int):
                val.int_value = v
            else:
                val.double_value = v
        add = layer.features.add
        for i, t in zip(drawn, tags):
            f = add()
            if t:
                f.tags.extend(t)
            f.type = kinds[i]
            f.geometry.extend(commands[i])


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


class _Bool:
    """A bool property value in the values table: the library numbers bools apart (``True`` is not ``1`` there)."""

    __slots__ = ("value",)

    def __init__(self, value: bool):
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Bool) and other.value == self.value

    def __hash__(self) -> int:
        return hash((_Bool, self.value))


def _tags(props: pd.DataFrame) -> tuple[list[str], list[Any], list[list[int]]]:
    """The keys and values tables of a layer and each row's tags (key, value index pairs), as the library makes them
    feature by feature: keys and values numbered in order of first appearance over the rows, each row's
    properties in column order, missing ones left out, equal values (``1`` and ``1.0``, not ``True``) shared."""
    n, cols = len(props), [c for c in props.columns if isinstance(c, str)]
    if n == 0 or not cols:
        return [], [], [[] for _ in range(n)]
    grid = np.empty((n, len(cols)), dtype=object)
    present = np.empty((n, len(cols)), dtype=bool)
    for j, c in enumerate(cols):
        grid[:, j], present[:, j] = _plain_column(props[c])
    where = np.flatnonzero(present.ravel())  # row-major: the order the features are written in
    col_of = where % len(cols)
    seen = np.full(len(cols), present.size)
    np.minimum.at(seen, col_of, where)  # each key's first appearance
    order = [j for j in np.argsort(seen, kind="stable").tolist() if seen[j] < present.size]
    key_index = np.zeros(len(cols), dtype=np.int64)
    key_index[order] = np.arange(len(order))
    codes, uniques = pd.factorize(grid.ravel()[where], sort=False)
    values = [u.value if isinstance(u, _Bool) else u for u in uniques]
    pairs = np.empty(2 * len(where), dtype=np.int64)
    pairs[0::2], pairs[1::2] = key_index[col_of], codes
    ends = (2 * np.cumsum(present.sum(axis=1))).tolist()
    flat = pairs.tolist()
    return [cols[j] for j in order], values, [flat[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def _plain_column(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The values of ``column`` as a tile property holds them (:func:`json_column`: plain Python values; nested ones
    as their JSON text; bools marked) and where one is present."""
    ok = column.notna().to_numpy(dtype=bool)
    out = np.empty(len(column), dtype=object)
    if pd.api.types.is_integer_dtype(column.dtype):
        out[ok] = column[ok].astype(object).tolist()  # Python ints
        return out, ok
    values = column.astype(object).tolist()
    if set(map(type, itertools.compress(values, ok))) <= {str}:
        out[:] = values
        return out, ok
    plain = [_scalar(v) for v in json_column(column)]
    out[:] = [_Bool(v) if isinstance(v, bool) else v for v in plain]
    return out, ok & np.array([v is not None for v in plain], dtype=bool)


def decode(data: bytes) -> dict[str, dict[str, Any]]:
    """Decode a tile (y down, tile units) — for tests and debugging."""
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True}) if data else {}


def etag(data: bytes) -> str:
    """A strong entity tag for a tile body."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def _plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Properties of each row as :func:`gridmap.domain.values.json_value` values, missing ones left out; an
    MVT property holds one scalar, so nested values (lists, objects) go in as their JSON text."""
    return [{c: _scalar(v) for c, v in rec.items() if v is not None} for rec in json_records(frame)]


def _scalar(value: Any) -> Any:
    """A plain value as an MVT property holds it: one scalar, so a nested value (list, object) as its JSON text."""
    return value if not isinstance(value, (list, dict)) else json.dumps(value, ensure_ascii=False)
