"""Values between frames and SQL: each column kind to plain Python and back, and the one clock.

Every DATETIME is UTC in the store (see :mod:`gridmap.store.base`): :class:`UTCDateTime` converts at the
database boundary (``timestamptz`` on PostgreSQL; ISO text holding the UTC wall time on SQLite), and frames
come back as ``datetime64[ns, UTC]``. A naive datetime given to the store means UTC.
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

from gridmap import clock
from gridmap.domain.schema import BOOL, DATE, DATETIME, FLOAT, INT, JSON, STR
from gridmap.store.base import BBox, SchemaError

UTC = clock.UTC
#: pandas dtype of a DATETIME column read from the store
DATETIME_DTYPE = "datetime64[ns, UTC]"


#: ``value`` as an aware UTC datetime; a naive value is taken to be UTC already (the one clock's rule)
to_utc = clock.utc


class UTCDateTime(sa.types.TypeDecorator):
    """A DATETIME column: binds any aware datetime (converted to UTC) or a naive one (meaning UTC),
    returns aware UTC datetimes. ``timestamptz`` on PostgreSQL, SQLite's DATETIME text elsewhere."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.DateTime())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else to_utc(value)


#: SQL type of each column kind
TYPES = {
    STR: sa.Text,
    INT: sa.BigInteger,
    FLOAT: sa.Float,
    BOOL: sa.Boolean,
    DATE: sa.Date,
    DATETIME: UTCDateTime,
    JSON: sa.JSON,
}


def check_bbox(bbox: BBox) -> BBox:
    try:
        minx, miny, maxx, maxy = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise SchemaError(f"bbox must be four numbers minx,miny,maxx,maxy, not {bbox!r}") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or minx > maxx or miny > maxy:
        raise SchemaError(f"bbox must be finite with minx<=maxx and miny<=maxy, not {bbox!r}")
    return minx, miny, maxx, maxy


def to_python(s: pd.Series, kind: str, layer: str, col: str, *, _probe: bool = False) -> pd.Series:
    """A Series of plain Python values (None for missing) fit for the column kind; datetimes aware UTC."""
    mask = (
        s.isna().to_numpy()
        if kind != JSON
        else np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in s])
    )
    vals: list[Any]
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
            d = pd.to_datetime(s, errors="raise", utc=True)  # naive means UTC; aware ones are converted
            vals = [None if m else v.to_pydatetime() for v, m in zip(d.tolist(), mask)]
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
            to_python(pd.Series([v]), kind, "", "", _probe=True)
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


def from_db(values: list[Any], kind: str) -> pd.Series:
    """A frame column of ``kind`` from values as the database returned them."""
    if kind == INT:
        return pd.Series(values, dtype="Int64")
    if kind == FLOAT:
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if kind == BOOL:
        return pd.Series(values, dtype="boolean")
    if kind == DATETIME:
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), utc=True), dtype=DATETIME_DTYPE)
    if kind == DATE:
        return pd.Series(
            [None if v is None else (v if isinstance(v, dt.date) else dt.date.fromisoformat(v)) for v in values],
            dtype=object,
        )
    return pd.Series(values, dtype=object)


def scalar_from_db(value: Any, kind: str) -> Any:
    """One value as the database returned it, as plain Python (what :meth:`Store.get` returns)."""
    if value is None:
        return None
    if kind == INT:
        return int(value)
    if kind == FLOAT:
        return None if math.isnan(float(value)) else float(value)
    if kind == BOOL:
        return bool(value)
    if kind == DATETIME:
        return to_utc(value)
    if kind == DATE:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return value


def equal(a: pd.Series, b: pd.Series, *, geometry: bool = False) -> np.ndarray:
    """Row-wise equality of two columns of plain values (None equals None)."""
    if geometry:
        av, bv = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
        out = np.zeros(len(av), dtype=bool)
        ga = np.array([isinstance(x, BaseGeometry) for x in av], dtype=bool)
        gb = np.array([isinstance(y, BaseGeometry) for y in bv], dtype=bool)
        both_none = ~ga & ~gb
        ok = ga & gb
        if ok.any():
            out[ok] = shapely.equals_exact(
                np.array(list(av[ok]), dtype=object), np.array(list(bv[ok]), dtype=object), tolerance=0
            )
        return out | both_none
    return np.array(
        [
            (x is None and y is None) or (x is not None and y is not None and x == y)
            for x, y in zip(a.tolist(), b.tolist())
        ],
        dtype=bool,
    )
