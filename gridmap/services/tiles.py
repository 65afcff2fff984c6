"""Vector tiles of buildings and grids: ``ST_AsMVT`` when the store is PostGIS, :mod:`gridmap.present.mvt` otherwise.

Both paths publish the same properties (no personal columns: none of these layers has any) and
use the same extent, buffer and per-zoom simplification.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gridmap.errors import InvalidInput, NotFoundError
from gridmap.jobs import Progress
from gridmap.present import mvt
from gridmap.services import tilecache
from gridmap.services.maps.common import assignment
from gridmap.services.plans.stored import published_plan_id
from gridmap.store import MVT, Store


@dataclass(frozen=True)
class TileLayer:
    name: str
    layer: str
    columns: tuple[str, ...]
    #: rows of the published plan only
    per_plan: bool = False
    #: add each building's grid code in the published plan
    with_grid_code: bool = False


TILE_LAYERS: dict[str, TileLayer] = {
    t.name: t
    for t in (
        TileLayer(
            "buildings", "buildings", ("id", "name", "estate_id", "community_id", "households"), with_grid_code=True
        ),
        TileLayer("grids", "plan_grids", ("code", "community_id", "households", "buildings"), per_plan=True),
    )
}


#: the deepest zoom whose tiles the cache keeps by default (setting ``TILE_CACHE_MAX_ZOOM``)
CACHE_MAX_ZOOM = 18


def tile(store: Store, layer: str, z: int, x: int, y: int, *, cache_max_zoom: int = CACHE_MAX_ZOOM) -> bytes:
    """The MVT tile ``z/x/y`` of tile layer ``layer`` (``buildings`` or ``grids``); ``b""`` when empty.

    Served from the tile cache (:mod:`gridmap.services.tilecache`), drawn and kept there on a miss when it shows
    something and ``z <= cache_max_zoom``. Deeper tiles (a few buildings each, cheap to draw) and empty ones are
    drawn per request, so the tiles anyone may ask for cannot fill the store: what the cache holds is bounded by
    the data, not by the requests (``gridmap tiles seed`` keeps an operator's chosen area whole, empty tiles too).
    """
    _tile_layer(layer)
    try:
        mvt.check_tile(z, x, y)
    except mvt.TileError as exc:
        raise NotFoundError(str(exc)) from None
    if z > cache_max_zoom:
        return render(store, layer, z, x, y)
    return tilecache.cached(store, layer, z, x, y, lambda: render(store, layer, z, x, y))


def dataset_tile(store: Store, z: int, x: int, y: int, *, cache_max_zoom: int = CACHE_MAX_ZOOM) -> bytes:
    """One tile with every tile layer (a Tile message's layers are a repeated field: the layers' encodings
    concatenated are one valid tile)."""
    return b"".join(tile(store, name, z, x, y, cache_max_zoom=cache_max_zoom) for name in TILE_LAYERS)


def render(store: Store, layer: str, z: int, x: int, y: int) -> bytes:
    """Draw the tile without the cache (the database draws it when it can)."""
    with _collector_paused():
        return _render(store, layer, z, x, y)


class _Pause:
    """The collector's pause across threads: tiles being drawn now, whether the collector ran before the first
    of them, and since when it has been held off (monotonic seconds). Changed under ``lock`` only."""

    lock = threading.Lock()
    drawing = 0
    was_enabled = True
    since = 0.0


#: the longest the collector stays off while tiles keep overlapping (a busy server may never reach zero)
GC_PAUSE_LIMIT_S = 2.0


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a tile is drawn. A dense tile allocates thousands of small
    lists and dicts that live until the tile is written; that churn starts full collections, each walking every
    object the server keeps (the plan's assignment, the public counts …): 130–170 ms each, one every few dense
    tiles, 40 % of their time. Drawing makes no garbage cycles; the collector runs again once no tile is being
    drawn (counted across threads; left off if it was off), or once it has been off for ``GC_PAUSE_LIMIT_S``
    while tiles kept overlapping, so that a server never busy-free does not go without it."""
    with _Pause.lock:
        if _Pause.drawing == 0:
            _Pause.was_enabled, _Pause.since = gc.isenabled(), time.monotonic()
            gc.disable()
        _Pause.drawing += 1
    try:
        yield
    finally:
        with _Pause.lock:
            _Pause.drawing -= 1
            if _Pause.was_enabled and (_Pause.drawing == 0 or time.monotonic() - _Pause.since > GC_PAUSE_LIMIT_S):
                gc.enable()


def _render(store: Store, layer: str, z: int, x: int, y: int) -> bytes:
    spec = _tile_layer(layer)
    plan = published_plan_id(store)
    if spec.per_plan and plan is None:
        return b""
    where = {"plan_id": plan} if spec.per_plan else None
    lookup = None
    if spec.with_grid_code and plan is not None:
        lookup = {"grid_code": ("plan_assignments", "building_id", "grid_code", {"plan_id": plan})}
    if MVT in store.capabilities:  # the database draws the tile (PostGIS)
        return store.mvt(spec.layer, z, x, y, columns=list(spec.columns), name=spec.name, where=where, lookup=lookup)
    frame = store.read(spec.layer, bbox=mvt.tile_bbox(z, x, y), where=where, columns=[*spec.columns, "geometry"])
    if lookup and len(frame):
        frame = frame.assign(grid_code=_grid_codes(store, plan, frame["id"].tolist()))
    return mvt.encode({spec.name: frame}, z, x, y)


def _tile_layer(name: str) -> TileLayer:
    try:
        return TILE_LAYERS[name]
    except KeyError:
        raise NotFoundError(
            f"没有瓦片图层 {name!r} / no tile layer {name!r}; layers: {', '.join(TILE_LAYERS)}"
        ) from None


def _grid_codes(store: Store, plan: Any, building_ids: list[str]) -> list[Any]:
    """Each building's grid code in ``plan`` (the published plan's assignment, kept per plan by the maps)."""
    grid_of = assignment(store, plan)
    return [grid_of.get(str(b)) for b in building_ids]


def seed(
    store: Store,
    zooms: Iterable[int],
    *,
    bounds: tuple[float, float, float, float] | None = None,
    progress: Progress | None = None,
    cache_max_zoom: int = CACHE_MAX_ZOOM,
) -> dict[str, int]:
    """Pre-fill the tile cache with every tile layer at ``zooms`` over ``bounds`` (default: the buildings'
    extent); see :func:`gridmap.services.tilecache.seed`. Nothing to draw (no buildings): no tiles. A zoom
    deeper than ``cache_max_zoom`` is refused: its tiles are drawn per request, never served from the cache."""
    zooms = list(zooms)
    deep = [z for z in zooms if z > cache_max_zoom]
    if deep:
        raise InvalidInput(
            f"缩放级别 {deep[0]} 超过瓦片缓存的最深级别 {cache_max_zoom}（GRIDMAP_TILE_CACHE_MAX_ZOOM），"
            "这些瓦片按请求绘制 / "
            f"zoom {deep[0]} is deeper than the tile cache keeps (GRIDMAP_TILE_CACHE_MAX_ZOOM = {cache_max_zoom}): "
            "its tiles are drawn per request, so seeding them would only fill the store"
        )
    if bounds is None:
        frame = store.read("buildings", columns=["geometry"])
        if not len(frame) or frame.geometry.isna().all():
            return {"tiles": 0, "rendered": 0, "cached": 0}
        bounds = tuple(float(v) for v in frame.total_bounds)  # type: ignore[assignment]
    assert bounds is not None
    return tilecache.seed(
        store, zooms, bounds, lambda n, z, x, y: render(store, n, z, x, y), list(TILE_LAYERS), progress=progress
    )
