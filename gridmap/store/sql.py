"""The SQLAlchemy-Core store shared by every SQL backend; backends override only the dialect hooks.

Hooks (after pygeoapi's ``provider/sql.py``): the geometry column type, how a geometry is encoded and
decoded, the bounding-box filter, extra DDL after the tables exist, and how a transaction begins.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import geopandas as gpd
from geopandas.array import from_shapely
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa

from gridmap.domain.schema import BOOL, DATE, DATETIME, FLOAT, INT, JSON, LAYERS, STR, Layer
from gridmap.store.base import (BBox, ConflictError, SchemaError, Store, StoreError, Where,
                                WriteResult)

_CHUNK = 5000  # keys per IN (...) clause

_TYPES = {STR: sa.Text, INT: sa.BigInteger, FLOAT: sa.Float, BOOL: sa.Boolean, DATE: sa.Date,
          DATETIME: sa.DateTime, JSON: sa.JSON}


def _layer(name: str) -> Layer:
    try:
        return LAYERS[name]
    except KeyError:
        raise SchemaError(f"unknown layer {name!r}; known layers: {', '.join(LAYERS)}") from None


class SQLStore(Store):
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
        self.sequences = sa.Table("gridmap_sequences", self.metadata,
                                  sa.Column("name", sa.Text, primary_key=True),
                                  sa.Column("value", sa.BigInteger, nullable=False))
        self._tx: contextvars.ContextVar[sa.Connection | None] = contextvars.ContextVar(
            f"gridmap_tx_{id(self)}", default=None)

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

    def after_create(self, conn: sa.Connection) -> None:
        """Extra DDL (spatial indexes, triggers)."""

    def insert_rows(self, conn: sa.Connection, spec: Layer, rows: pd.DataFrame) -> None:
        """Insert rows whose keys are new (a backend may bulk-load them, e.g. PostgreSQL COPY)."""
        conn.execute(self.tables[spec.name].insert(), self._db_records(spec, rows))

    def upsert_statement(self, table: sa.Table):  # pragma: no cover - per dialect
        raise NotImplementedError

    # -- schema ----------------------------------------------------------------------------------
    def _make_table(self, layer: Layer) -> sa.Table:
        cols = []
        for c in layer.columns:
            cols.append(sa.Column(c.name, _TYPES[c.kind](), primary_key=c.name in layer.key,
                                  nullable=c.name not in layer.key, index=c.index and c.name not in layer.key))
        if layer.geometry:
            cols.append(sa.Column("geometry", self.geometry_type(layer), nullable=True))
            for b in self.bbox_columns:
                cols.append(sa.Column(b, sa.Float, nullable=True))
        return sa.Table(layer.name, self.metadata, *cols)

    def create_schema(self, conn: sa.Connection) -> None:
        """Create every table (used by the first Alembic revision)."""
        self.metadata.create_all(conn)
        self.after_create(conn)

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
        cfg.attributes["store"] = self
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

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
    def _read_conn(self) -> Iterator[sa.Connection]:
        conn = self._tx.get()
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
            raise SchemaError(f"layer {spec.name!r} has no column(s) {unknown}; "
                              f"its columns are {sorted(known)}")
        missing = [k for k in spec.key if k not in frame.columns]
        if missing:
            raise SchemaError(f"layer {spec.name!r} needs key column(s) {missing}")
        out = {}
        for col in frame.columns:
            if col == "geometry":
                geoms = np.asarray(frame.geometry.values if isinstance(frame, gpd.GeoDataFrame)
                                   else frame["geometry"], dtype=object)
                crs = getattr(frame, "crs", None)
                if crs is not None and not crs.equals("EPSG:4326") and crs.to_epsg() != 4326:
                    raise SchemaError(f"layer {spec.name!r}: geometry must be in EPSG:4326, not {crs}")
                out[col] = geoms
                continue
            out[col] = _to_python(frame[col], spec.column(col).kind, spec.name, col)
        rows = pd.DataFrame(out, index=range(len(frame)))
        for k in spec.key:
            if rows[k].isna().any():
                raise SchemaError(f"layer {spec.name!r}: empty key {k!r} in row "
                                  f"{int(np.flatnonzero(rows[k].isna().to_numpy())[0]) + 1}")
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
            raise ConflictError(f"layer {spec.name!r}: {len(existing)} key(s) exist already, e.g. "
                                f"{existing[key].iloc[0].tolist()}")
        if existing.empty:
            new, changed, unchanged = rows, rows.iloc[0:0], 0
        else:
            merged = rows.merge(existing, on=key, how="left", suffixes=("", "__old"), indicator=True)
            is_new = (merged["_merge"] == "left_only").to_numpy()
            same = np.ones(len(merged), dtype=bool)
            for col in rows.columns:
                if col in key:
                    continue
                same &= _equal(merged[col], merged[col + "__old"], geometry=col == "geometry")
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
        sel_cols = [self.geometry_select(table).label("geometry") if c == "geometry" else table.c[c]
                    for c in columns]
        if len(spec.key) == 1:
            k = spec.key[0]
            values = keys[k].tolist()
            for i in range(0, len(values), _CHUNK):
                res = conn.execute(sa.select(*sel_cols).where(table.c[k].in_(values[i:i + _CHUNK])))
                frames.append(pd.DataFrame(res.fetchall(), columns=columns))
        else:
            # composite keys: filter on the first key column, then match exactly in pandas
            k0 = spec.key[0]
            values = sorted(set(keys[k0].tolist()))
            for i in range(0, len(values), _CHUNK):
                res = conn.execute(sa.select(*sel_cols).where(table.c[k0].in_(values[i:i + _CHUNK])))
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
                out[col] = _to_python(out[col], spec.column(col).kind, spec.name, col)
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
                stmt = table.delete().where(self._key_in(spec, table, ids[i:i + _CHUNK]),
                                            *self._where(table, where))
                n += conn.execute(stmt).rowcount
        return n

    def next_id(self, sequence: str) -> int:
        stmt = self.upsert_statement(self.sequences).values(name=sequence, value=1)
        stmt = stmt.on_conflict_do_update(index_elements=["name"],
                                          set_={"value": self.sequences.c.value + 1})
        stmt = stmt.returning(self.sequences.c.value)
        with self._write_conn() as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- reading ---------------------------------------------------------------------------------
    def read(self, layer: str, *, ids: Iterable[Any] | None = None, bbox: BBox | None = None,
             where: Where | None = None, columns: Sequence[str] | None = None,
             order_by: Sequence[str] | None = None, limit: int | None = None,
             offset: int | None = None) -> pd.DataFrame:
        spec = _layer(layer)
        table = self.tables[layer]
        all_cols = list(spec.column_names) + (["geometry"] if spec.geometry else [])
        cols = list(columns) if columns is not None else all_cols
        bad = [c for c in cols if c not in all_cols]
        if bad:
            raise SchemaError(f"layer {layer!r} has no column(s) {bad}")
        sel = [self.geometry_select(table).label("geometry") if c == "geometry" else table.c[c]
               for c in cols]
        conds = self._where(table, where)
        if bbox is not None:
            if not spec.geometry:
                raise SchemaError(f"layer {layer!r} has no geometry to filter by bbox")
            conds.append(self.bbox_clause(table, _check_bbox(bbox)))
        order = [table.c[c] for c in (order_by or spec.key)]
        rows: list[Any] = []
        with self._read_conn() as conn:
            if ids is not None:
                ids = list(ids)
                for i in range(0, len(ids), _CHUNK):
                    stmt = sa.select(*sel).where(self._key_in(spec, table, ids[i:i + _CHUNK]), *conds)
                    rows.extend(conn.execute(stmt.order_by(*order)).fetchall())
            else:
                stmt = sa.select(*sel).where(*conds).order_by(*order)
                if limit is not None:
                    stmt = stmt.limit(int(limit))
                if offset:
                    stmt = stmt.offset(int(offset))
                rows = conn.execute(stmt).fetchall()
        return self._frame(spec, rows, cols)

    def _frame(self, spec: Layer, rows: list[Any], cols: list[str]) -> pd.DataFrame:
        data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
        out: dict[str, Any] = {}
        for c in cols:
            if c == "geometry":  # built in column order, CRS on the array: no reordering copy afterwards
                out[c] = from_shapely(self.decode_geometry(data[c]), crs="EPSG:4326")
            else:
                out[c] = _from_db(data[c], spec.column(c).kind)
        if "geometry" in cols:
            return gpd.GeoDataFrame(out, index=range(len(rows)), geometry="geometry")
        return pd.DataFrame(out, index=range(len(rows)))

    def get(self, layer: str, key: Any) -> dict[str, Any] | None:
        frame = self.read(layer, ids=[key])
        if frame.empty:
            return None
        row = frame.iloc[0].to_dict()
        return {k: (None if _isna(v) else v) for k, v in row.items()}

    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None) -> int:
        spec = _layer(layer)
        table = self.tables[layer]
        conds = self._where(table, where)
        if bbox is not None:
            if not spec.geometry:
                raise SchemaError(f"layer {layer!r} has no geometry to filter by bbox")
            conds.append(self.bbox_clause(table, _check_bbox(bbox)))
        with self._read_conn() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*conds)).scalar_one())

    # -- helpers ---------------------------------------------------------------------------------
    def _where(self, table: sa.Table, where: Where | None) -> list[sa.ColumnElement[bool]]:
        conds = []
        for col, value in (where or {}).items():
            if col not in table.c:
                raise SchemaError(f"layer {table.name!r} has no column {col!r} to filter on")
            c = table.c[col]
            if value is None:
                conds.append(c.is_(None))
            elif isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Index)):
                conds.append(c.in_(list(value)))
            else:
                conds.append(c == value)
        return conds

    def _key_in(self, spec: Layer, table: sa.Table, ids: list[Any]) -> sa.ColumnElement[bool]:
        if len(spec.key) == 1:
            return table.c[spec.key[0]].in_(ids)
        return sa.tuple_(*[table.c[k] for k in spec.key]).in_([tuple(i) for i in ids])

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


# -- value conversion -------------------------------------------------------------------------------
def _isna(v: Any) -> bool:
    try:
        return v is None or (not isinstance(v, (list, dict, str, bytes)) and bool(pd.isna(v)))
    except (TypeError, ValueError):
        return False


def _check_bbox(bbox: BBox) -> BBox:
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise SchemaError(f"bbox must be four numbers minx,miny,maxx,maxy, not {bbox!r}") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or minx > maxx or miny > maxy:
        raise SchemaError(f"bbox must be finite with minx<=maxx and miny<=maxy, not {bbox!r}")
    return minx, miny, maxx, maxy


def _to_python(s: pd.Series, kind: str, layer: str, col: str, *, _probe: bool = False) -> pd.Series:
    """A Series of plain Python values (None for missing) fit for the column kind."""
    mask = s.isna().to_numpy() if kind != JSON else np.array([v is None or (isinstance(v, float) and
                                                                            math.isnan(v)) for v in s])
    try:
        if kind == STR:
            vals = [None if m else (v if isinstance(v, str) else _str(v)) for v, m in zip(s.tolist(), mask)]
        elif kind == INT:
            num = pd.to_numeric(s, errors="raise")
            if (num.dropna() % 1 != 0).any():
                raise ValueError("not a whole number")
            vals = [None if m else int(v) for v, m in zip(num.tolist(), mask)]
        elif kind == FLOAT:
            num = pd.to_numeric(s, errors="raise")
            vals = [None if m else float(v) for v, m in zip(num.tolist(), mask)]
        elif kind == BOOL:
            vals = [None if m else _bool(v) for v, m in zip(s.tolist(), mask)]
        elif kind == DATE:
            d = pd.to_datetime(s, errors="raise")
            vals = [None if m else v.date() for v, m in zip(d.tolist(), mask)]
        elif kind == DATETIME:
            d = pd.to_datetime(s, errors="raise")
            if getattr(d.dt, "tz", None) is not None:
                d = d.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
            vals = [None if m else v.to_pydatetime().replace(microsecond=v.microsecond) for v, m in
                    zip(d.tolist(), mask)]
        elif kind == JSON:
            vals = [None if m else (json.loads(v) if isinstance(v, str) else v) for v, m in zip(s.tolist(), mask)]
        else:  # pragma: no cover
            raise ValueError(f"unknown kind {kind}")
    except (ValueError, TypeError) as exc:
        if _probe:
            raise
        bad = _first_bad(s, kind)
        raise SchemaError(f"layer {layer!r}, column {col!r}: {bad!r} is not a valid {kind} ({exc})") from None
    return pd.Series(vals, index=s.index, dtype=object)


def _first_bad(s: pd.Series, kind: str) -> Any:
    for v in s.tolist():
        try:
            _to_python(pd.Series([v]), kind, "", "", _probe=True)
        except (ValueError, TypeError):
            return v
    return None


def _str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _bool(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "1", "yes", "y", "是", "t"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("false", "0", "no", "n", "否", "f"):
        return False
    raise ValueError("not a boolean")


def _from_db(values: list[Any], kind: str) -> pd.Series:
    if kind == INT:
        return pd.Series(values, dtype="Int64")
    if kind == FLOAT:
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if kind == BOOL:
        return pd.Series(values, dtype="boolean")
    if kind == DATETIME:
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[ns]")
    if kind == DATE:
        return pd.Series([None if v is None else (v if isinstance(v, dt.date) else dt.date.fromisoformat(v))
                          for v in values], dtype=object)
    return pd.Series(values, dtype=object)


def _equal(a: pd.Series, b: pd.Series, *, geometry: bool = False) -> np.ndarray:
    if geometry:
        from shapely.geometry.base import BaseGeometry

        av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
        out = np.zeros(len(av), dtype=bool)
        ga = np.array([isinstance(x, BaseGeometry) for x in av], dtype=bool)
        gb = np.array([isinstance(y, BaseGeometry) for y in bv], dtype=bool)
        both_none = ~ga & ~gb
        ok = ga & gb
        if ok.any():
            out[ok] = shapely.equals_exact(np.array(list(av[ok]), dtype=object),
                                           np.array(list(bv[ok]), dtype=object), tolerance=0)
        return out | both_none
    return np.array([(x is None and y is None) or (x is not None and y is not None and x == y)
                     for x, y in zip(a.tolist(), b.tolist())], dtype=bool)
