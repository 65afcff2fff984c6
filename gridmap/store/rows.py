"""The store's fast path for a few new rows (a complaint, its first event, an audit entry): values checked
and converted cell by cell in plain Python, no per-column pandas Series, the same rules as
:func:`gridmap.store.values.to_python`. Anything it does not recognise returns ``None`` and the caller takes
the frame path, which also words the errors.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from gridmap.domain.schema import BOOL, DATE, DATETIME, FLOAT, INT, JSON, STR, Layer
from gridmap.store.values import UTC, _bool, scalar_from_db

#: frames up to this many rows take the fast path
SMALL_ROWS = 20

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
    cols = list(frame.columns)
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
    for values in frame.to_numpy(dtype=object).tolist():
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
