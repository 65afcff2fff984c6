"""The one storage interface every backend implements, and its errors.

Backends are chosen by the URL scheme of ``GRIDMAP_DATABASE_URL`` (see :func:`gridmap.store.open_store`).
The contract suite in ``tests/store/`` runs unchanged against every backend.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from gridmap.errors import Conflict, GridmapError, InvalidInput, NotFoundError, Unavailable

BBox = tuple[float, float, float, float]  # minx, miny, maxx, maxy in EPSG:4326
#: ``where`` filters: column -> value (equality), list/tuple/set (IN), or None (IS NULL)
Where = Mapping[str, Any]


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

    @abstractmethod
    def migrate(self) -> None:
        """Create or upgrade the schema to the newest revision (Alembic)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Group writes: ``with store.transaction(): store.write(...); store.delete(...)``."""

    @abstractmethod
    def write(self, layer: str, frame: pd.DataFrame, *, mode: str = "upsert") -> WriteResult:
        """Write rows of ``layer``.

        ``mode``: ``"upsert"`` (insert new keys, update changed rows, leave equal rows alone),
        ``"insert"`` (a key that exists raises :class:`ConflictError`), ``"replace"`` (delete every row
        of the layer first).
        """

    @abstractmethod
    def read(self, layer: str, *, ids: Iterable[Any] | None = None, bbox: BBox | None = None,
             where: Where | None = None, columns: Sequence[str] | None = None,
             order_by: Sequence[str] | None = None, limit: int | None = None,
             offset: int | None = None) -> pd.DataFrame:
        """Rows of ``layer`` filtered by key (``ids``), bounding-box intersection and ``where``."""

    @abstractmethod
    def get(self, layer: str, key: Any) -> dict[str, Any] | None:
        """One row as a dict (geometry as a shapely object), or None."""

    @abstractmethod
    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None) -> int:
        ...

    @abstractmethod
    def delete(self, layer: str, *, ids: Iterable[Any] | None = None,
               where: Where | None = None) -> int:
        """Delete matching rows (both None: every row). Returns the number deleted."""

    @abstractmethod
    def next_id(self, sequence: str) -> int:
        """Next integer of a named sequence, unique even under concurrent writers."""

    @abstractmethod
    def close(self) -> None:
        ...

    # -- conveniences shared by every backend -------------------------------------------------
    def snapshot(self, layers: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
        """Every row of every (or the named) layer, sorted by key: for "store unchanged" checks."""
        from gridmap.domain.schema import LAYERS

        out = {}
        for name in layers or LAYERS:
            frame = self.read(name)
            key = list(LAYERS[name].key)
            frame = frame.sort_values(key).reset_index(drop=True) if len(frame) else frame
            if "geometry" in frame:
                frame = pd.DataFrame(frame).assign(geometry=frame.geometry.to_wkb())
            out[name] = frame
        return out

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
