"""The one storage interface every backend implements, and its errors.

Backends are chosen by the URL scheme of ``GRIDMAP_DATABASE_URL`` (see :func:`gridmap.store.open_store`).
The contract suite in ``tests/store/`` runs unchanged against every backend.

Time: every DATETIME column holds UTC on every backend. Reads return timezone-aware UTC values (frame
columns of dtype ``datetime64[ns, UTC]``, :meth:`Store.get` values as aware ``datetime``). Writes and
filters accept aware values in any zone (converted to UTC) and naive values, which **mean UTC** (they are
stored as given, never shifted by the server's or the service's zone).

Filters (``where``): column -> value, each condition ANDed:

* a scalar: equality (``{"state": "open"}``);
* a list, tuple, set, array or Index: membership (``{"id": ["a", "b"]}``);
* ``None``: IS NULL;
* a :class:`Range`: an interval, ``lo <= value < hi`` by default (``{"at": Range(since, until)}``;
  ``Range.at_least(v)``, ``Range.above(v)``, ``Range.below(v)``, ``Range.at_most(v)`` for one end).
  NULLs never fall in a range.

Order (``order_by``): column names, ascending; a leading ``-`` sorts that column descending
(``["-at", "id"]``). NULLs come last in either direction. Without ``order_by`` rows come in key order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gridmap.domain.schema import LAYERS, Layer
from gridmap.domain.tiles import BUFFER, EXTENT
from gridmap.errors import Conflict, GridmapError, InvalidInput, NotFoundError, Unavailable

BBox = tuple[float, float, float, float]  # minx, miny, maxx, maxy in EPSG:4326
#: ``where`` filters: column -> value (equality), list/tuple/set (IN), None (IS NULL) or :class:`Range`
Where = Mapping[str, Any]
#: a lookup for :meth:`Store.mvt`: property → (layer, column matching the key, column to show, where)
Lookup = Mapping[str, tuple[str, str, str, Where]]

#: capability: :meth:`Store.mvt` draws vector tiles in the database
MVT = "mvt"
#: capability: :meth:`Store.containing` and :meth:`Store.nearest` answer point questions in the database
SPATIAL_QUERIES = "spatial_queries"


@dataclass(frozen=True)
class Range:
    """A ``where`` interval: ``lo <= value < hi`` (half-open by default); a ``None`` end is unbounded.

    ``lo_inclusive``/``hi_inclusive`` choose whether each end belongs to the interval.
    """

    lo: Any = None
    hi: Any = None
    lo_inclusive: bool = True
    hi_inclusive: bool = False

    def __post_init__(self) -> None:
        if self.lo is None and self.hi is None:
            raise ValueError("a Range needs a lower or an upper bound (use None in `where` for IS NULL)")

    @classmethod
    def at_least(cls, value: Any) -> Range:
        """``value <= x``"""
        return cls(lo=value)

    @classmethod
    def above(cls, value: Any) -> Range:
        """``value < x``"""
        return cls(lo=value, lo_inclusive=False)

    @classmethod
    def below(cls, value: Any) -> Range:
        """``x < value``"""
        return cls(hi=value)

    @classmethod
    def at_most(cls, value: Any) -> Range:
        """``x <= value``"""
        return cls(hi=value, hi_inclusive=True)


class StoreError(GridmapError):
    """Base of every storage error; ``str(err)`` is safe to show a user. Each kind below is also the
    :mod:`gridmap.errors` kind it is (first base), so the web and the CLI map it like any other."""

    status, code = 500, "store_error"


class NotFound(NotFoundError, StoreError):
    pass


class SchemaError(InvalidInput, StoreError):
    """A frame does not fit its layer: unknown layer, missing key column, wrong type."""


class ConflictError(Conflict, StoreError):
    """A write would break a uniqueness rule."""


class StoreUnavailable(Unavailable, StoreError):
    """The database cannot be opened or reached (server down, bad path, bad credentials)."""


def _layer(name: str) -> Layer:
    try:
        return LAYERS[name]
    except KeyError:
        raise SchemaError(f"unknown layer {name!r}; known layers: {', '.join(LAYERS)}") from None


def _sort_keys(spec: Layer, order_by: Sequence[str] | None) -> list[tuple[str, bool]]:
    """``order_by`` names as ``(column, descending)``; a leading ``-`` means descending."""
    if isinstance(order_by, str):
        order_by = [order_by]
    out = [(name[1:], True) if name.startswith("-") else (name, False) for name in (order_by or spec.key)]
    bad = [c for c, _ in out if c not in spec.column_names]
    if bad:
        raise SchemaError(f"layer {spec.name!r} cannot be ordered by {bad}; its columns are {list(spec.column_names)}")
    return out


@dataclass(frozen=True)
class WriteResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.updated


class Store(ABC):
    """Storage of gridmap's layers (:data:`gridmap.domain.schema.LAYERS`).

    Frames going in and out use the layer's column names; layers with geometry travel as
    ``GeoDataFrame`` in EPSG:4326 with a ``geometry`` column, the others as ``DataFrame``.
    Writes outside :meth:`transaction` are atomic per call; inside one, all calls on the same
    thread share one transaction that commits at the end of the block or rolls back on error.
    """

    url: str
    #: what this backend can do beyond the interface below (:data:`MVT`, :data:`SPATIAL_QUERIES`);
    #: callers test ``MVT in store.capabilities`` before calling :meth:`mvt`
    capabilities: frozenset[str] = frozenset()

    @abstractmethod
    def migrate(self, revision: str = "head") -> None:
        """Create or upgrade the schema in place to ``revision`` (Alembic; default the newest)."""

    @abstractmethod
    def schema_revision(self) -> str | None:
        """The schema revision the store is at (None before the first migration)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: ``with store.transaction(): store.write(...); store.delete(...)``."""

    def reading(self) -> AbstractContextManager[None]:
        """Group reads on one connection: ``with store.reading(): store.rows(...); store.get(...)`` (a
        handful of small reads pay for one connection, not one each; writes are not affected)."""
        return nullcontext()

    @abstractmethod
    def write(self, layer: str, frame: pd.DataFrame, *, mode: str = "upsert") -> WriteResult:
        """Write rows of ``layer``.

        ``mode``: ``"upsert"`` (insert new keys, update changed rows, leave equal rows alone),
        ``"insert"`` (a key that exists raises :class:`ConflictError`), ``"replace"`` (delete every row
        of the layer first).
        """

    @abstractmethod
    def read(
        self,
        layer: str,
        *,
        ids: Iterable[Any] | None = None,
        bbox: BBox | None = None,
        where: Where | None = None,
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int | None = None,
        filter: Any = None,
    ) -> pd.DataFrame:
        """Rows of ``layer`` filtered by key (``ids``), bounding-box intersection and ``where`` (see the
        module doc for filters and ``order_by``), then ``offset`` rows skipped and at most ``limit`` kept.

        ``filter``: a CQL2 expression (a :mod:`pygeofilter` AST over the layer's columns, geometry literals in
        CRS84), ANDed with the rest and evaluated by the database (:mod:`gridmap.store.filters`)."""

    @abstractmethod
    def rows(
        self,
        layer: str,
        *,
        ids: Iterable[Any] | None = None,
        bbox: BBox | None = None,
        where: Where | None = None,
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The rows :meth:`read` returns with the same arguments, as dicts of the plain values :meth:`get`
        gives (missing values None, datetimes aware UTC, geometry shapely): for a handful of rows on a hot path,
        where a frame is overkill (:mod:`gridmap.store.rows`)."""

    @abstractmethod
    def write_rows(self, layer: str, records: Sequence[Mapping[str, Any]], *, mode: str = "insert") -> WriteResult:
        """:meth:`write` for rows a caller built as dicts (the same columns in each): a few new rows are
        checked cell by cell with no frame in between; anything else takes :meth:`write` with a frame of them."""

    @abstractmethod
    def get(self, layer: str, key: Any) -> dict[str, Any] | None:
        """One row by key (a tuple for composite keys) as a dict of plain values, or None.

        Missing values are None, datetimes aware UTC, dates ``datetime.date``, geometry a shapely object.
        """

    @abstractmethod
    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None, filter: Any = None) -> int:
        """How many rows :meth:`read` would return with the same filters."""

    @abstractmethod
    def delete(self, layer: str, *, ids: Iterable[Any] | None = None, where: Where | None = None) -> int:
        """Delete matching rows (both None: every row). Returns the number deleted."""

    @abstractmethod
    def next_id(self, sequence: str) -> int:
        """Next integer of a named sequence, unique even under concurrent writers."""

    @abstractmethod
    def close(self) -> None: ...

    # -- capabilities (only backends that declare them implement these) -------------------------
    def mvt(
        self,
        layer: str,
        z: int,
        x: int,
        y: int,
        *,
        columns: Sequence[str],
        name: str | None = None,
        where: Where | None = None,
        lookup: Lookup | None = None,
        extent: int = EXTENT,
        buffer: int = BUFFER,
    ) -> bytes:
        """One vector tile drawn by the database (capability :data:`MVT`)."""
        raise StoreError(f"{type(self).__name__} cannot draw vector tiles (capability {MVT!r})")

    def containing(self, layer: str, points: Sequence[Any], *, where: Where | None = None) -> list[Any]:
        """Key of a ``layer`` row covering each point (capability :data:`SPATIAL_QUERIES`)."""
        raise StoreError(f"{type(self).__name__} answers no spatial queries (capability {SPATIAL_QUERIES!r})")

    def nearest(
        self, layer: str, points: Sequence[Any], *, max_distance_m: float, where: Where | None = None
    ) -> tuple[list[Any], list[float | None]]:
        """Key of and distance to the nearest ``layer`` row (capability :data:`SPATIAL_QUERIES`)."""
        raise StoreError(f"{type(self).__name__} answers no spatial queries (capability {SPATIAL_QUERIES!r})")

    # -- the tile cache: encoded vector tiles kept in the store (:mod:`gridmap.services.tilecache`) -----
    @abstractmethod
    def cached_tile(self, name: str, z: int, x: int, y: int) -> bytes | None:
        """The cached tile ``name`` z/x/y (``b""`` for a cached empty tile) or None when not cached."""

    @abstractmethod
    def cache_tile(self, name: str, z: int, x: int, y: int, data: bytes) -> None:
        """Keep (or replace) a tile in the cache."""

    @abstractmethod
    def cached_tile_keys(self, name: str | None = None) -> list[tuple[str, int, int, int]]:
        """``(name, z, x, y)`` of every cached tile (of tile layer ``name``)."""

    @abstractmethod
    def drop_cached_tiles(self, keys: Iterable[tuple[str, int, int, int]] | None = None) -> int:
        """Forget the cached tiles ``keys`` (None: every one); returns how many were dropped."""

    # -- change counters (:mod:`gridmap.store.changes`) -------------------------------------------
    def changes(self, layer: str) -> int:
        """How many row changes (inserts, updates, deletes) layer ``layer`` has seen, counted by the database
        for the layers in :data:`gridmap.store.changes.COUNTED`: equal numbers mean the layer is unchanged."""
        raise StoreError(f"{type(self).__name__} counts no changes")

    # -- conveniences shared by every backend -------------------------------------------------
    def snapshot(self, layers: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
        """Every row of every (or the named) layer, sorted by key: for "store unchanged" checks."""
        out = {}
        for name in layers or LAYERS:
            frame = self.read(name)
            key = list(LAYERS[name].key)
            frame = frame.sort_values(key).reset_index(drop=True) if len(frame) else frame
            if "geometry" in frame:
                frame = pd.DataFrame(frame).assign(geometry=frame.geometry.to_wkb())
            out[name] = frame
        return out

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
