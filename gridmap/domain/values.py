"""One JSON value encoder: what a value read from a frame, the store or a rule becomes in JSON.

Every JSON the project writes — GeoJSON layers, OGC features, MVT properties, plan files, plan diffs, API
rows, reports — passes its values through :func:`json_value` (or :func:`json_records` for a frame), so a
number, a missing value or a date looks the same wherever it leaves:

* ``None``, ``NaN``, ``±inf``, ``pd.NA``, ``NaT`` → ``null``
* numpy/pandas booleans, integers and floats → ``bool``, ``int``, ``float`` (rounded to ``digits`` when
  given); ``Decimal`` → ``int`` when whole, else ``float``
* ``datetime``/``pd.Timestamp``/``np.datetime64``, ``date``, ``time`` → ISO 8601 text (``isoformat``: the
  value's own time zone, if any, is kept — which zone to show is :mod:`gridmap.clock`'s business);
  ``timedelta`` → seconds
* shapely geometries → GeoJSON geometry objects (``null`` when empty)
* mappings → objects with text keys; lists, tuples, sets and arrays → arrays, their values encoded alike
  (sets sorted)
* text stays text; anything else becomes its ``str``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import shapely.geometry
from shapely.geometry.base import BaseGeometry


def json_value(value: Any, *, digits: int | None = None) -> Any:
    """``value`` as a plain JSON-ready Python value (see the module's table); floats rounded to
    ``digits`` decimal places when given."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating, Decimal)):
        return _number(value, digits)
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dt.timedelta, np.timedelta64)):
        return None if pd.isna(value) else pd.Timedelta(value).total_seconds()
    if isinstance(value, BaseGeometry):
        return None if value.is_empty else shapely.geometry.mapping(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v, digits=digits) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [json_value(v, digits=digits) for v in sorted(value, key=str)]
    if isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        return [json_value(v, digits=digits) for v in value]
    return str(value)


def _number(value: Any, digits: int | None) -> int | float | None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        if value == value.to_integral_value():
            return int(value)
    number = float(value)
    if not math.isfinite(number):
        return None
    return round(number, digits) if digits is not None else number


def json_records(
    frame: pd.DataFrame, *, digits: int | None = None, columns: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The rows of ``frame`` (its ``columns``, default all) as objects of :func:`json_value` values."""
    cols = list(frame.columns if columns is None else columns)
    values = [frame[c].astype(object).tolist() for c in cols]
    return (
        [{c: json_value(v, digits=digits) for c, v in zip(cols, row)} for row in zip(*values)]
        if cols
        else [{} for _ in range(len(frame))]
    )


def json_column(column: pd.Series, *, digits: int | None = None) -> list[Any]:
    """:func:`json_value` of each value of ``column``; plain text, integer and boolean columns in one step."""
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_integer_dtype(column.dtype):
        return column.astype(object).where(column.notna(), None).tolist()
    values = column.astype(object).tolist()
    if pd.api.types.is_object_dtype(column.dtype) and all(type(v) is str for v in values):
        return values
    return [json_value(v, digits=digits) for v in values]
