"""The SQLAlchemy-Core store shared by every SQL backend; backends override only the dialect hooks.

Hooks (after pygeoapi's ``provider/sql.py``): the geometry column type, how a geometry is encoded and
decoded, the bounding-box filter, bulk inserts, and how a transaction begins. The schema itself is
created and changed only by the Alembic revisions in ``migrations/``; value conversion (one clock: UTC)
lives in :mod:`gridmap.store.values`.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from geopandas.array import from_shapely

from gridmap.domain.schema import LAYERS, Layer
from gridmap.store import changes, tilecache
from gridmap.store import filters as cql
from gridmap.store.base import BBox, ConflictError, Range, SchemaError, Store, Where, WriteResult, _layer, _sort_keys
from gridmap.store.rows import PlainRowsMixin, plain_rows, upsert_small
from gridmap.store.values import TYPES, check_bbox, equal, from_db, scalar_from_db, to_python

_CHUNK = 5000  # keys per IN (...) clause


class SQLStore(PlainRowsMixin, tilecache.TileCacheMixin, changes.ChangeCountMixin, Store):
    """A store on any SQLAlchemy engine. Subclasses set the dialect hooks."""

    #: name → extra SQL columns that hold the geometry's bounding box (SQLite keeps them for R*Tree)
    bbox_columns: tuple[str, ...] = ()

    def __init__(self, url: str, *, engine: sa.Engine | None = None, read_engine: sa.Engine | None = None):
        self.url = url
        self.engine = engine or sa.create_engine(url)
        self.read_engine = read_engine or self.engine
        self.metadata = sa.MetaData()
        self.tables: dict[str, sa.Table] = {}
        for layer in LAYERS.values():
            self.tables[layer.name] = self._make_table(layer)
        self.sequences = sa.Table(
            "gridmap_sequences",
            self.metadata,
            sa.Column("name", sa.Text, primary_key=True),
            sa.Column("value", sa.BigInteger, nullable=False),
        )
        self.tile_table = tilecache.make_table(self.metadata)
        self.changes_table = changes.make_table(self.metadata)
        self._tx: contextvars.ContextVar[sa.Connection | None] = contextvars.ContextVar(
            f"gridmap_tx_{id(self)}", default=None
        )
        self._rx: contextvars.ContextVar[sa.Connection | None] = contextvars.ContextVar(
            f"gridmap_rx_{id(self)}", default=None
        )

    # -- dialect hooks ---------------------------------------------------------------------------
    def geometry_type(self, layer: Layer) -> sa.types.TypeEngine:
        return sa.LargeBinary()

    def encode_geometry(self, geoms: np.ndarray) -> list[Any]:
        return [None if g is None else bytes(g) for g in shapely.to_wkb(geoms, hex=False)]

    def decode_geometry(self, values: Sequence[Any]) -> np.ndarray:
        arr = np.array([None if v is None else bytes(v) for v in values], dtype=object)
        return shapely.from_wkb(arr)

    def geometry_select(self, table: sa.Table) -> sa.ColumnElement:
        return table.c.geometry

    def bbox_clause(self, table: sa.Table, bbox: BBox) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def insert_rows(self, conn: sa.Connection, spec: Layer, rows: pd.DataFrame) -> None:
        """Insert rows whose keys are new (a backend may bulk-load them, e.g. PostgreSQL COPY)."""
        conn.execute(self.tables[spec.name].insert(), self._db_records(spec, rows))

    def upsert_statement(self, table: sa.Table):  # pragma: no cover - per dialect
        raise NotImplementedError

    # -- schema ----------------------------------------------------------------------------------
    def _make_table(self, layer: Layer) -> sa.Table:
        cols = []
        for c in layer.columns:
            cols.append(
                sa.Column(
                    c.name,
                    TYPES[c.kind](),
                    primary_key=c.name in layer.key,
                    nullable=c.name not in layer.key,
                    index=c.index and c.name not in layer.key,
                )
            )
        if layer.geometry:
            cols.append(sa.Column("geometry", self.geometry_type(layer), nullable=True))
            for b in self.bbox_columns:
                cols.append(sa.Column(b, sa.Float, nullable=True))
        return sa.Table(layer.name, self.metadata, *cols)

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema in place to ``revision`` with the Alembic revisions in ``migrations/``.

        The tables built from :data:`LAYERS` above are the model; the revisions write every change out
        (``tests/store/test_migrations.py`` fails when the two disagree).
        """
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
        cfg.attributes["store"] = self
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def schema_revision(self) -> str | None:
        with self.read_engine.connect() as conn:
            try:
                return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            except sa.exc.DBAPIError:
                return None

    # -- transactions ----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._tx.get() is not None:  # nested: join the outer transaction
            yield
            return
        with self.engine.begin() as conn:
            token = self._tx.set(conn)
            try:
                yield
            finally:
                self._tx.reset(token)

    @contextmanager
    def _write_conn(self) -> Iterator[sa.Connection]:
        conn = self._tx.get()
        if conn is not None:
            yield conn
            return
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[None]:
        if self._tx.get() is not None or self._rx.get() is not None:  # nested: use the outer connection
            yield
            return
        with self.read_engine.connect() as conn:
            token = self._rx.set(conn)
            try:
                yield
            finally:
                self._rx.reset(token)

    @contextmanager
    def _read_conn(self) -> Iterator[sa.Connection]:
        conn = self._tx.get() or self._rx.get()
        if conn is not None:
            yield conn
            return
        with self.read_engine.connect() as conn:
            yield conn

    # -- writing ---------------------------------------------------------------------------------
    def write(self, layer: str, frame: pd.DataFrame, *, mode: str = "upsert") -> WriteResult:
        spec = _layer(layer)
        if mode not in ("upsert", "insert", "replace"):
            raise ValueError(f"mode must be upsert, insert or replace, not {mode!r}")
        small = plain_rows(spec, frame) if mode != "replace" else None
        if small is not None and mode == "upsert" and "geometry" in small[0]:
            small = None  # geometry equality is the frame path's
        if small is not None:  # a few rows: no per-column pandas work
            with self._write_conn() as conn:
                if mode == "insert":
                    return self._insert_small(conn, spec, small)
                inserted, updated, unchanged = upsert_small(self, conn, spec, small)
                return WriteResult(inserted=inserted, updated=updated, unchanged=unchanged)
        rows = self._prepare(spec, frame)
        with self._write_conn() as conn:
            if mode == "replace":
                conn.execute(self.tables[layer].delete())
            if rows.empty:
                return WriteResult()
            return self._write_rows(conn, spec, rows, mode)

    def _prepare(self, spec: Layer, frame: pd.DataFrame) -> pd.DataFrame:
        """Validate columns and convert values to plain Python objects (None for missing)."""
        frame = frame.reset_index(drop=True)
        known = set(spec.column_names) | ({"geometry"} if spec.geometry else set())
        unknown = [c for c in frame.columns if c not in known]
        if unknown:
            raise SchemaError(f"layer {spec.name!r} has no column(s) {unknown}; its columns are {sorted(known)}")
        missing = [k for k in spec.key if k not in frame.columns]
        if missing:
            raise SchemaError(f"layer {spec.name!r} needs key column(s) {missing}")
        out = {}
        for col in frame.columns:
            if col == "geometry":
                geoms = np.asarray(
                    frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else frame["geometry"], dtype=object
                )
                crs = getattr(frame, "crs", None)
                if crs is not None and not crs.equals("EPSG:4326") and crs.to_epsg() != 4326:
                    raise SchemaError(f"layer {spec.name!r}: geometry must be in EPSG:4326, not {crs}")
                out[col] = geoms
                continue
            out[col] = to_python(frame[col], spec.column(col).kind, spec.name, col)
        rows = pd.DataFrame(out, index=range(len(frame)))
        for k in spec.key:
            if rows[k].isna().any():
                raise SchemaError(
                    f"layer {spec.name!r}: empty key {k!r} in row "
                    f"{int(np.flatnonzero(rows[k].isna().to_numpy())[0]) + 1}"
                )
        dup = rows.duplicated(list(spec.key), keep="first")
        if dup.any():
            first = rows.loc[dup, list(spec.key)].iloc[0].tolist()
            raise ConflictError(f"layer {spec.name!r}: duplicate key {first} in the rows written")
        return rows

    def _db_records(self, spec: Layer, rows: pd.DataFrame) -> list[dict[str, Any]]:
        cols = {c: rows[c].tolist() for c in rows.columns if c != "geometry"}
        if "geometry" in rows:
            geoms = rows["geometry"].to_numpy(dtype=object)
            cols["geometry"] = self.encode_geometry(geoms)
            if self.bbox_columns:
                b = shapely.bounds(geoms)
                for i, name in enumerate(self.bbox_columns):
                    cols[name] = [None if math.isnan(v) else float(v) for v in b[:, i]]
        names = list(cols)
        return [dict(zip(names, vals)) for vals in zip(*cols.values())]

    def _write_rows(self, conn: sa.Connection, spec: Layer, rows: pd.DataFrame, mode: str) -> WriteResult:
        table = self.tables[spec.name]
        key = list(spec.key)
        # an insert only needs to know which keys exist; an upsert compares whole rows
        existing = self._fetch(conn, spec, rows[key], key if mode == "insert" else list(rows.columns))
        if mode == "insert" and len(existing):
            raise ConflictError(
                f"layer {spec.name!r}: {len(existing)} key(s) exist already, e.g. {existing[key].iloc[0].tolist()}"
            )
        if existing.empty:
            new, changed, unchanged = rows, rows.iloc[0:0], 0
        else:
            merged = rows.merge(existing, on=key, how="left", suffixes=("", "__old"), indicator=True)
            is_new = (merged["_merge"] == "left_only").to_numpy()
            same = np.ones(len(merged), dtype=bool)
            for col in rows.columns:
                if col in key:
                    continue
                same &= equal(merged[col], merged[col + "__old"], geometry=col == "geometry")
            new = rows[is_new]
            changed = rows[~is_new & ~same]
            unchanged = int((~is_new & same).sum())
        if len(new):
            self.insert_rows(conn, spec, new)
        if len(changed):
            recs = self._db_records(spec, changed)
            stmt = table.update().where(*[table.c[k] == sa.bindparam("_k_" + k) for k in key])
            stmt = stmt.values({c: sa.bindparam(c) for c in recs[0] if c not in key})
            for r in recs:
                for k in key:
                    r["_k_" + k] = r.pop(k)
            conn.execute(stmt, recs)
        return WriteResult(inserted=len(new), updated=len(changed), unchanged=unchanged)

    def _fetch(self, conn: sa.Connection, spec: Layer, keys: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        """Existing rows whose key is among ``keys`` (only ``columns``)."""
        table = self.tables[spec.name]
        frames = []
        select = self._select(table, columns)
        if len(spec.key) == 1:
            k = spec.key[0]
            values = keys[k].tolist()
            for i in range(0, len(values), _CHUNK):
                res = conn.execute(select.where(table.c[k].in_(values[i : i + _CHUNK])))
                frames.append(pd.DataFrame(res.fetchall(), columns=columns))
        else:
            # composite keys: filter on the first key column, then match exactly in pandas
            k0 = spec.key[0]
            values = sorted(set(keys[k0].tolist()))
            for i in range(0, len(values), _CHUNK):
                res = conn.execute(select.where(table.c[k0].in_(values[i : i + _CHUNK])))
                frames.append(pd.DataFrame(res.fetchall(), columns=columns))
        out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        if out.empty:  # nothing to convert (the common case of inserting new rows)
            return out
        if len(spec.key) > 1:
            out = out.merge(keys.drop_duplicates(), on=list(spec.key), how="inner")
        if "geometry" in out:
            out["geometry"] = self.decode_geometry(out["geometry"].tolist())
        for col in out.columns:
            if col != "geometry":
                out[col] = to_python(out[col], spec.column(col).kind, spec.name, col)
        return out

    def delete(self, layer: str, *, ids: Iterable[Any] | None = None, where: Where | None = None) -> int:
        spec = _layer(layer)
        table = self.tables[layer]
        n = 0
        with self._write_conn() as conn:
            if ids is None:
                return conn.execute(table.delete().where(*self._where(table, where))).rowcount
            ids = list(ids)
            for i in range(0, len(ids), _CHUNK):
                stmt = table.delete().where(self._key_in(spec, table, ids[i : i + _CHUNK]), *self._where(table, where))
                n += conn.execute(stmt).rowcount
        return n

    def next_id(self, sequence: str) -> int:
        stmt = self.upsert_statement(self.sequences).values(name=sequence, value=1)
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={"value": self.sequences.c.value + 1})
        stmt = stmt.returning(self.sequences.c.value)
        with self._write_conn() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- reading ---------------------------------------------------------------------------------
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
        spec = _layer(layer)
        table = self.tables[layer]
        all_cols = list(spec.column_names) + (["geometry"] if spec.geometry else [])
        cols = list(columns) if columns is not None else all_cols
        bad = [c for c in cols if c not in all_cols]
        if bad:
            raise SchemaError(f"layer {layer!r} has no column(s) {bad}")
        conds = self._where(table, where) + self._filter(spec, table, filter)
        if bbox is not None:
            if not spec.geometry:
                raise SchemaError(f"layer {layer!r} has no geometry to filter by bbox")
            conds.append(self.bbox_clause(table, check_bbox(bbox)))
        sort = _sort_keys(spec, order_by)
        order = [(table.c[c].desc() if desc else table.c[c].asc()).nulls_last() for c, desc in sort]
        chunks = None if ids is None else _chunks(list(ids))
        if chunks is not None and len(chunks) > 1:  # too many keys for one IN (...): sort and page here
            extra = [c for c, _ in sort if c not in cols]
            with self._read_conn() as conn:
                found = [
                    r
                    for chunk in chunks
                    for r in conn.execute(
                        self._select(table, cols + extra).where(self._key_in(spec, table, chunk), *conds)
                    )
                ]
            frame = self._frame(spec, found, cols + extra)
            frame = frame.sort_values(
                [c for c, _ in sort], ascending=[not d for _, d in sort], na_position="last", kind="stable"
            )
            stop = None if limit is None else int(offset or 0) + int(limit)
            return frame.iloc[int(offset or 0) : stop].drop(columns=extra).reset_index(drop=True)
        if chunks is not None:
            conds.append(self._key_in(spec, table, chunks[0]))
        stmt = self._select(table, cols).where(*conds).order_by(*order)
        if limit is not None:
            stmt = stmt.limit(int(limit))
        if offset:
            stmt = stmt.offset(int(offset))
        with self._read_conn() as conn:
            rows = conn.execute(stmt).fetchall()
        return self._frame(spec, rows, cols)

    def _select(self, table: sa.Table, cols: list[str]) -> sa.Select:
        return sa.select(
            *[self.geometry_select(table).label("geometry") if c == "geometry" else table.c[c] for c in cols]
        )

    def _frame(self, spec: Layer, rows: Sequence[Any], cols: list[str]) -> pd.DataFrame:
        data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
        out: dict[str, Any] = {}
        for c in cols:
            if c == "geometry":  # built in column order, CRS on the array: no reordering copy afterwards
                out[c] = from_shapely(self.decode_geometry(data[c]), crs="EPSG:4326")
            else:
                out[c] = from_db(data[c], spec.column(c).kind)
        if "geometry" in cols:
            return gpd.GeoDataFrame(out, index=range(len(rows)), geometry="geometry")
        return pd.DataFrame(out, index=range(len(rows)))

    def get(self, layer: str, key: Any) -> dict[str, Any] | None:
        spec = _layer(layer)
        table = self.tables[layer]
        cols = list(spec.column_names) + (["geometry"] if spec.geometry else [])
        values = tuple(key) if len(spec.key) > 1 and isinstance(key, (tuple, list)) else (key,)
        if len(values) != len(spec.key):
            raise SchemaError(f"layer {layer!r} has the key {spec.key}, not {key!r}")
        stmt = self._select(table, cols).where(*[table.c[k] == v for k, v in zip(spec.key, values)])
        with self._read_conn() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        return {
            c: (self.decode_geometry([v])[0] if c == "geometry" else scalar_from_db(v, spec.column(c).kind))
            for c, v in zip(cols, row)
        }

    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None, filter: Any = None) -> int:
        spec = _layer(layer)
        table = self.tables[layer]
        conds = self._where(table, where) + self._filter(spec, table, filter)
        if bbox is not None:
            if not spec.geometry:
                raise SchemaError(f"layer {layer!r} has no geometry to filter by bbox")
            conds.append(self.bbox_clause(table, check_bbox(bbox)))
        with self._read_conn() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*conds)).scalar_one())

    # -- helpers ---------------------------------------------------------------------------------
    def _where(self, table: sa.Table, where: Where | None) -> list[sa.ColumnElement[bool]]:
        conds: list[sa.ColumnElement[bool]] = []
        for col, value in (where or {}).items():
            if col not in table.c:
                raise SchemaError(f"layer {table.name!r} has no column {col!r} to filter on")
            c = table.c[col]
            if value is None:
                conds.append(c.is_(None))
            elif isinstance(value, Range):
                if value.lo is not None:
                    conds.append(c >= value.lo if value.lo_inclusive else c > value.lo)
                if value.hi is not None:
                    conds.append(c <= value.hi if value.hi_inclusive else c < value.hi)
            elif isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Index)):
                conds.append(c.in_(list(value)))
            else:
                conds.append(c == value)
        return conds

    def _filter(self, spec: Layer, table: sa.Table, node: Any) -> list[sa.ColumnElement[bool]]:
        """A CQL2 filter (pygeofilter AST) as one SQL condition (:mod:`gridmap.store.filters`)."""
        if node is None:
            return []
        columns: dict[str, Any] = {c: table.c[c] for c in spec.column_names}
        if spec.geometry:
            columns["geometry"] = table.c.geometry
        return [cql.to_sql(node, columns, lambda b: self.bbox_clause(table, check_bbox(b)))]

    def _key_in(self, spec: Layer, table: sa.Table, ids: list[Any]) -> sa.ColumnElement[bool]:
        if len(spec.key) == 1:
            return table.c[spec.key[0]].in_(ids)
        return sa.tuple_(*[table.c[k] for k in spec.key]).in_([tuple(i) for i in ids])

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def _chunks(ids: list[Any]) -> list[list[Any]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)] or [[]]
