"""The vector-tile cache: tiles kept in the store, filled on demand, forgotten exactly where the data under them change.

A tile of layer ``buildings`` shows the buildings whose bounding box meets the tile's buffered bounds (with their
grid code in the published plan); a tile of ``grids`` the published plan's grid polygons the same way. So a
cached tile goes stale only when a row it shows changes, and only tiles whose buffered bounds meet the old or
the new bounding box of a changed row are dropped:

* importing buildings (:func:`before_write`, called by :func:`gridmap.services.importing.import_frame` inside
  its transaction): the new rows and the rows whose tile properties or geometry change, and the buildings an
  import with ``--merge-overlapping`` deletes (:func:`before_delete`);
* publishing or rolling back a plan (:func:`plan_changed`, called by
  :mod:`gridmap.services.plans.publishing`): the buildings whose grid changes and the grids that differ
  between the old and the new plan (code, community, households, buildings or polygon);
* placement writes households, stewards, complaints, merchants and facilities: no tile shows them, so it drops
  nothing (:func:`before_write` knows which layers a tile is drawn from);
* loading a whole world (demo, ``gridmap synth``): :func:`clear`.

Every drop runs in the caller's transaction, so a change that rolls back leaves the cache as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import geopandas as gpd
import mercantile
import numpy as np
import pandas as pd
import shapely

from gridmap import jobs
from gridmap.domain.tiles import tile_bbox
from gridmap.jobs import Progress
from gridmap.store import Store
from gridmap.store.values import equal

Key = tuple[str, int, int, int]
#: store layer → (tile layer, the columns a tile of it shows besides the key and the geometry)
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "buildings": ("buildings", ("name", "estate_id", "community_id", "households")),
    "plan_grids": ("grids", ("community_id", "households", "buildings")),
}
_GRID_COLUMNS = ["code", "community_id", "households", "buildings", "geometry"]


def cached(store: Store, name: str, z: int, x: int, y: int, render: Callable[[], bytes]) -> bytes:
    """The tile from the cache, or ``render()`` kept in the cache when it shows something. An empty tile is not
    kept on demand (one index query draws it again, and the empty tiles anyone may ask for are countless);
    :func:`seed` keeps them over the area it is given."""
    data = store.cached_tile(name, z, x, y)
    if data is None:
        data = render()
        if data:
            store.cache_tile(name, z, x, y, data)
    return data


def touched(store: Store, name: str, bounds: Sequence[tuple[float, float, float, float]]) -> list[Key]:
    """Cached tiles of tile layer ``name`` whose buffered bounds meet any of ``bounds`` (CRS84 boxes)."""
    boxes = [b for b in bounds if b is not None and all(np.isfinite(b))]
    if not boxes:
        return []
    keys = store.cached_tile_keys(name)
    if not keys:
        return []
    tree = shapely.STRtree(shapely.box(*np.asarray(boxes, dtype=float).T))
    tiles = shapely.box(*np.asarray([tile_bbox(z, x, y) for _, z, x, y in keys], dtype=float).T)
    hit = np.unique(tree.query(tiles, predicate="intersects")[0])
    return [keys[i] for i in hit]


def forget(store: Store, name: str, bounds: Sequence[tuple[float, float, float, float]]) -> list[Key]:
    """Drop the cached tiles of ``name`` under ``bounds``; returns their keys."""
    keys = touched(store, name, bounds)
    if keys:
        store.drop_cached_tiles(keys)
    return keys


def clear(store: Store) -> int:
    """Drop every cached tile (a whole world was loaded)."""
    return store.drop_cached_tiles(None)


def before_write(store: Store, layer: str, frame: pd.DataFrame) -> list[Key]:
    """Drop the tiles under the rows of ``frame`` about to be upserted into ``layer`` that change what a tile
    shows (new rows; changed geometry or shown columns). Layers no tile shows drop nothing."""
    if layer not in SOURCES or frame is None or len(frame) == 0 or not store.cached_tile_keys(SOURCES[layer][0]):
        return []
    name, shown = SOURCES[layer]
    key = "id" if layer == "buildings" else "code"
    cols = [c for c in shown if c in frame.columns] + (["geometry"] if "geometry" in frame.columns else [])
    new = pd.DataFrame(frame).reset_index(drop=True)
    old = pd.DataFrame(store.read(layer, ids=new[key].tolist(), columns=[key, *shown, "geometry"]))
    old = old.rename(columns={c: c + "__old" for c in old.columns if c != key})
    merged = new[[key, *cols]].merge(old, on=key, how="left", indicator=True)
    changed = (merged["_merge"] == "left_only").to_numpy().copy()
    for c in cols:
        changed |= ~equal(_plain(merged[c]), _plain(merged[c + "__old"]), geometry=c == "geometry")
    bounds = _bounds(merged.loc[changed, "geometry__old"])
    if "geometry" in cols:
        bounds += _bounds(merged.loc[changed, "geometry"])
    return forget(store, name, bounds)


def before_delete(store: Store, layer: str, ids: Sequence[str]) -> list[Key]:
    """Drop the tiles under the rows ``ids`` of ``layer`` about to be deleted (e.g. footprints merged away)."""
    if layer not in SOURCES or not ids or not store.cached_tile_keys(SOURCES[layer][0]):
        return []
    gone = store.read(layer, ids=list(ids), columns=["geometry"])
    return forget(store, SOURCES[layer][0], _bounds(gone.geometry))


def plan_changed(store: Store, previous: str | None, current: str) -> list[Key]:
    """Drop the tiles a publication changes: buildings that change grid, grids that differ (old and new)."""
    dropped: list[Key] = []
    if store.cached_tile_keys("buildings"):
        before = _assignment(store, previous)
        after = _assignment(store, current)
        ids = sorted(b for b in set(before) | set(after) if before.get(b) != after.get(b))
        geoms = store.read("buildings", ids=ids, columns=["id", "geometry"]) if ids else None
        dropped += forget(store, "buildings", _bounds(geoms.geometry) if geoms is not None else [])
    if store.cached_tile_keys("grids"):
        old = _grids(store, previous)
        new = _grids(store, current)
        both = old.merge(new, on="code", how="outer", suffixes=("__old", ""), indicator=True)
        differs = (both["_merge"] != "both").to_numpy().copy()
        for c in _GRID_COLUMNS[1:]:
            differs |= ~equal(_plain(both[c]), _plain(both[c + "__old"]), geometry=c == "geometry")
        dropped += forget(
            store, "grids", _bounds(both.loc[differs, "geometry"]) + _bounds(both.loc[differs, "geometry__old"])
        )
    return dropped


def tiles_covering(bounds: tuple[float, float, float, float], zooms: Iterable[int]) -> list[tuple[int, int, int]]:
    """``(z, x, y)`` of the WebMercatorQuad tiles covering ``bounds`` (CRS84) at each zoom."""
    west, south, east, north = bounds
    return sorted({(t.z, t.x, t.y) for t in mercantile.tiles(west, south, east, north, list(zooms))})


def seed(
    store: Store,
    zooms: Iterable[int],
    bounds: tuple[float, float, float, float],
    render: Callable[[str, int, int, int], bytes],
    names: Sequence[str],
    *,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill the cache for tile layers ``names`` over ``bounds`` at ``zooms``: ``{"tiles", "rendered", "cached"}``
    (already cached tiles are left as they are). ``progress(done, total)`` hears each tile (:mod:`gridmap.jobs`)."""
    todo = [(name, *t) for t in tiles_covering(bounds, zooms) for name in names]
    rendered = 0
    for done, (name, z, x, y) in enumerate(todo, start=1):
        if store.cached_tile(name, z, x, y) is None:
            store.cache_tile(name, z, x, y, render(name, z, x, y))
            rendered += 1
        jobs.report(progress, done, len(todo))
    return {"tiles": len(todo), "rendered": rendered, "cached": len(todo) - rendered}


# -- helpers -----------------------------------------------------------------------------------------
def _plain(col: pd.Series) -> pd.Series:
    """Plain values with None for every missing one (NaN, NA, NaT), as :func:`equal` compares them."""
    return pd.Series(
        [None if v is None or (not isinstance(v, shapely.Geometry) and pd.isna(v)) else v for v in col],
        index=col.index,
        dtype=object,
    )


def _bounds(geoms: Any) -> list[tuple[float, float, float, float]]:
    if geoms is None or len(geoms) == 0:
        return []
    arr = np.asarray(list(geoms), dtype=object)
    ok = np.asarray([isinstance(g, shapely.Geometry) and not shapely.is_empty(g) for g in arr])
    if not ok.any():
        return []
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in shapely.bounds(arr[ok])]


def _assignment(store: Store, plan: str | None) -> dict[str, Any]:
    if plan is None:
        return {}
    rows = store.read("plan_assignments", where={"plan_id": plan}, columns=["building_id", "grid_code"])
    return dict(zip(rows["building_id"], rows["grid_code"]))


def _grids(store: Store, plan: str | None) -> pd.DataFrame:
    if plan is None:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in _GRID_COLUMNS})
    frame = store.read("plan_grids", where={"plan_id": plan}, columns=_GRID_COLUMNS)
    return pd.DataFrame(gpd.GeoDataFrame(frame)).astype({"geometry": object})
