"""The store's plain-row paths, for a handful of rows where a frame is overkill (a complaint's intake):

* writes: a few new rows (a complaint, its first event, an audit entry) checked and converted cell by cell
  in plain Python, no per-column pandas Series, the same rules as :func:`gridmap.store.values.to_python`.
  Anything it does not recognise returns ``None`` and the caller takes the frame path, which also words the
  errors;
* reads (:meth:`gridmap.store.base.Store.rows`): the rows :meth:`~gridmap.store.base.Store.read` would
  return, as dicts of the plain values :meth:`~gridmap.store.base.Store.get` gives, straight from the
  database cursor.

``SMALL_ROWS = 0`` switches both off (every read and write through frames: the benchmarks' old path).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from gridmap.domain.schema import BOOL, DATE, DATETIME, FLOAT, INT, JSON, STR, Layer
from gridmap.store.base import BBox, ConflictError, SchemaError, Where, WriteResult, _layer, _sort_keys
from gridmap.store.values import UTC, _bool, check_bbox, scalar_from_db

#: frames up to this many rows take the fast path
SMALL_ROWS = 20
#: reads by more keys than this take the frame path (which pages them through several ``IN`` clauses)
PLAIN_KEYS = 1000

_SKIP = object()  # a value the fast path leaves to the frame path


def _value(v: Any, kind: str) -> Any:
    """``v`` as the plain Python value :func:`~gridmap.store.values.to_python` gives, or ``_SKIP``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):  # a numpy scalar left in an object column
        v = v.item()
    if kind == STR:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return _SKIP
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() else str(v)
        return _SKIP
    if kind == INT:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return _SKIP
        if isinstance(v, float) and not v.is_integer():
            return _SKIP
        return int(v)
    if kind == FLOAT:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return _SKIP
        return float(v)
    if kind == BOOL:
        if isinstance(v, (bool, int, str)):
            try:
                return _bool(v)
            except ValueError:
                return _SKIP
        return _SKIP
    if v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if kind == DATETIME:
        if type(v) is dt.datetime:
            return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        return _SKIP
    if kind == DATE:
        if type(v) is dt.date:
            return v
        if type(v) is dt.datetime:
            return v.date()
        return _SKIP
    if kind == JSON:
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                return _SKIP
        if isinstance(v, (dict, list, int, float, bool)):
            return v
        return _SKIP
    return _SKIP


def plain_rows(spec: Layer, frame: pd.DataFrame) -> list[dict[str, Any]] | None:
    """The rows of a small plain ``frame`` as dicts of store values, or ``None`` for the frame path (a
    GeoDataFrame, an unknown column, a missing or repeated key, a value it does not handle)."""
    if len(frame) > SMALL_ROWS or hasattr(frame, "crs"):
        return None
    return checked_rows(spec, list(frame.columns), frame.to_numpy(dtype=object).tolist())


def plain_dicts(spec: Layer, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]] | None:
    """:func:`plain_rows` for rows a service built as dicts (no frame in between): ``None`` for the frame
    path (too many rows, rows with different columns, anything :func:`plain_rows` refuses)."""
    if not records or len(records) > SMALL_ROWS:
        return None
    cols = list(records[0])
    if any(list(r) != cols for r in records[1:]):
        return None
    return checked_rows(spec, cols, [list(r.values()) for r in records])


def checked_rows(spec: Layer, cols: list[str], table: list[list[Any]]) -> list[dict[str, Any]] | None:
    """Rows of values under ``cols`` as dicts of store values, or ``None`` for the frame path."""
    kinds: dict[str, str] = {}
    for c in cols:
        if c == "geometry":
            if not spec.geometry:
                return None
            continue
        try:
            kinds[c] = spec.column(c).kind
        except Exception:
            return None
    if any(k not in kinds for k in spec.key):
        return None
    out = []
    for values in table:
        row: dict[str, Any] = {}
        for c, v in zip(cols, values):
            if c == "geometry":
                if v is not None and not isinstance(v, BaseGeometry):
                    return None
                row[c] = v
                continue
            x = _value(v, kinds[c])
            if x is _SKIP:
                return None
            row[c] = x
        if any(row[k] is None for k in spec.key):
            return None
        out.append(row)
    keys = [tuple(r[k] for k in spec.key) for r in out]
    if len(set(keys)) != len(keys):
        return None
    return out


def db_records(store: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` as the database takes them: geometry encoded by the backend, bbox columns filled."""
    if not rows or "geometry" not in rows[0]:
        return rows
    geoms = np.array([r["geometry"] for r in rows], dtype=object)
    enc = store.encode_geometry(geoms)
    bounds = shapely.bounds(geoms) if store.bbox_columns else None
    out = []
    for i, r in enumerate(rows):
        d = dict(r)
        d["geometry"] = enc[i]
        if bounds is not None:
            for j, name in enumerate(store.bbox_columns):
                b = bounds[i, j]
                d[name] = None if math.isnan(b) else float(b)
        out.append(d)
    return out


def upsert_small(store: Any, conn: Any, spec: Layer, rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    """Insert the new rows, update the changed ones, leave equal ones alone (as the frame path does, for a
    few rows without geometry): (inserted, updated, unchanged)."""
    table = store.tables[spec.name]
    cols = list(rows[0])
    key = list(spec.key)
    kinds = {c: spec.column(c).kind for c in cols}
    found = conn.execute(
        sa.select(*[table.c[c] for c in cols]).where(
            store._key_in(spec, table, [tuple(r[k] for k in key) if len(key) > 1 else r[key[0]] for r in rows])
        )
    ).fetchall()
    old = {}
    for rec in found:
        vals = {c: scalar_from_db(v, kinds[c]) for c, v in zip(cols, rec)}
        vals = {c: json.loads(v) if kinds[c] == JSON and isinstance(v, str) else v for c, v in vals.items()}
        old[tuple(vals[k] for k in key)] = vals
    new, changed, same = [], [], 0
    for r in rows:
        was = old.get(tuple(r[k] for k in key))
        if was is None:
            new.append(r)
        elif all(r[c] == was[c] for c in cols):
            same += 1
        else:
            changed.append(r)
    if new:
        conn.execute(table.insert(), new)
    if changed:
        stmt = table.update().where(*[table.c[k] == sa.bindparam("_k_" + k) for k in key])
        stmt = stmt.values({c: sa.bindparam(c) for c in cols if c not in key})
        conn.execute(
            stmt, [{**{c: v for c, v in r.items() if c not in key}, **{"_k_" + k: r[k] for k in key}} for r in changed]
        )
    return len(new), len(changed), same


# -- reads ----------------------------------------------------------------------------------------------
def read_rows(
    store: Any,
    spec: Layer,
    *,
    ids: Iterable[Any] | None = None,
    bbox: Any = None,
    where: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    sort: Sequence[tuple[str, bool]] = (),
    limit: int | None = None,
) -> list[dict[str, Any]] | None:
    """What ``store.read`` returns with the same arguments (``sort``: ``(column, descending)`` pairs), as
    plain dicts (missing values None, datetimes aware UTC, geometry shapely) built from the cursor's rows;
    ``None`` when the frame path must answer (plain rows switched off)."""
    if not SMALL_ROWS:
        return None
    keys = None if ids is None else list(ids)
    table = store.tables[spec.name]
    all_cols = list(spec.column_names) + (["geometry"] if spec.geometry else [])
    cols = list(columns) if columns is not None else all_cols
    bad = [c for c in cols if c not in all_cols]
    if bad:
        raise SchemaError(f"layer {spec.name!r} has no column(s) {bad}")
    conds = store._where(table, where)
    if bbox is not None:
        if not spec.geometry:
            raise SchemaError(f"layer {spec.name!r} has no geometry to filter by bbox")
        conds.append(store.bbox_clause(table, check_bbox(bbox)))
    if keys is not None:
        conds.append(store._key_in(spec, table, keys))
    order = [(table.c[c].desc() if d else table.c[c].asc()).nulls_last() for c, d in sort]
    stmt = store._select(table, cols).where(*conds).order_by(*order)
    if limit is not None:
        stmt = stmt.limit(int(limit))
    with store._read_conn() as conn:
        found = conn.execute(stmt).fetchall()
    # text, JSON and DATETIME values come as get() gives them (UTCDateTime makes them aware UTC already)
    convert = [c for c in cols if c != "geometry" and spec.column(c).kind not in (STR, JSON, DATETIME)]
    kinds = {c: spec.column(c).kind for c in convert}
    geo = cols.index("geometry") if "geometry" in cols else -1
    geoms = store.decode_geometry([r[geo] for r in found]) if geo >= 0 else None
    out = []
    for i, r in enumerate(found):
        d = dict(zip(cols, r))
        for c in convert:
            d[c] = scalar_from_db(d[c], kinds[c])
        if geoms is not None:
            d["geometry"] = geoms[i]
        out.append(d)
    return out


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame read from the store as the dicts :func:`read_rows` gives (the frame path's answer)."""
    out = []
    for rec in frame.to_dict("records"):
        d = {}
        for c, v in rec.items():
            if isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            elif v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
                v = None
            elif isinstance(v, np.generic):
                v = v.item()
            d[c] = v
        out.append(d)
    return out


class PlainRowsMixin:
    """:class:`~gridmap.store.base.Store`'s plain-row methods (:meth:`rows`, :meth:`write_rows`) for SQL stores."""

    tables: dict[str, sa.Table]

    def _read_conn(self) -> Any: ...  # provided by SQLStore

    def _write_conn(self) -> Any: ...  # provided by SQLStore

    read: Any  # SQLStore's read and write (the frame path)
    write: Any

    def _key_in(self, spec: Layer, table: sa.Table, ids: list[Any]) -> Any: ...  # provided by SQLStore

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
        spec = _layer(layer)
        keys = None if ids is None else list(ids)
        args: dict[str, Any] = {"ids": keys, "bbox": bbox, "where": where, "columns": columns, "limit": limit}
        found = None
        if keys is None or len(keys) <= PLAIN_KEYS:
            found = read_rows(self, spec, sort=_sort_keys(spec, order_by), **args)
        return found if found is not None else frame_records(self.read(layer, order_by=order_by, **args))

    def write_rows(self, layer: str, records: Sequence[Mapping[str, Any]], *, mode: str = "insert") -> WriteResult:
        spec = _layer(layer)
        small = plain_dicts(spec, records) if mode == "insert" else None
        if small is None:
            return self.write(layer, pd.DataFrame(list(records)), mode=mode)
        with self._write_conn() as conn:
            return self._insert_small(conn, spec, small)

    def _insert_small(self, conn: sa.Connection, spec: Layer, rows: list[dict[str, Any]]) -> WriteResult:
        table = self.tables[spec.name]
        keys = [tuple(r[k] for k in spec.key) for r in rows]
        found = conn.execute(
            sa.select(*[table.c[k] for k in spec.key]).where(self._key_in(spec, table, [list(k) for k in keys]))
            if len(spec.key) > 1
            else sa.select(table.c[spec.key[0]]).where(table.c[spec.key[0]].in_([k[0] for k in keys]))
        ).fetchall()
        if found:
            raise ConflictError(f"layer {spec.name!r}: {len(found)} key(s) exist already, e.g. {list(found[0])}")
        conn.execute(table.insert(), db_records(self, rows))
        return WriteResult(inserted=len(rows))
