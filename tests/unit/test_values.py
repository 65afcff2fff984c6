"""The one JSON value encoder (gridmap.domain.values) and the writers that use it: GeoJSON layers, OGC
features, MVT properties, plan files, plan diffs and reports encode a value the same way."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from gridmap.domain.diff import PlanDiff
from gridmap.domain.values import json_column, json_records, json_value
from gridmap.present import mvt
from gridmap.services.maps.layers import feature_texts
from gridmap.services.ogc import feature_dicts

T = dt.datetime(2026, 5, 1, 9, 30, 15)


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (float("nan"), None),
        (np.nan, None),
        (np.float32("nan"), None),
        (math.inf, None),
        (-np.inf, None),
        (pd.NA, None),
        (pd.NaT, None),
        (np.datetime64("NaT"), None),
        (True, True),
        (np.bool_(False), False),
        (np.int64(7), 7),
        (np.int8(-3), -3),
        (np.uint16(9), 9),
        (1.25, 1.25),
        (np.float32(0.5), 0.5),
        (np.float64(2.0), 2.0),
        (Decimal("12"), 12),
        (Decimal("1.5"), 1.5),
        (Decimal("NaN"), None),
        ("文本", "文本"),
        (np.str_("x"), "x"),
        (T, "2026-05-01T09:30:15"),
        (pd.Timestamp(T), "2026-05-01T09:30:15"),
        (np.datetime64("2026-05-01T09:30:15"), "2026-05-01T09:30:15"),
        (T.replace(tzinfo=dt.UTC), "2026-05-01T09:30:15+00:00"),
        (pd.Timestamp(T, tz="Asia/Shanghai"), "2026-05-01T09:30:15+08:00"),
        (dt.date(2026, 5, 1), "2026-05-01"),
        (dt.time(9, 30), "09:30:00"),
        (dt.timedelta(minutes=2), 120.0),
        (pd.Timedelta(seconds=3), 3.0),
        (Point(120.5, 36.25), {"type": "Point", "coordinates": (120.5, 36.25)}),
        (shapely.Polygon(), None),
        ({"a": np.int64(1), 2: [np.float64(0.5), None, np.nan]}, {"a": 1, "2": [0.5, None, None]}),
        ((np.int32(1), "b"), [1, "b"]),
        (np.array([1, 2]), [1, 2]),
        ({"b", "a"}, ["a", "b"]),
        (pd.Series([1.5, np.nan]), [1.5, None]),
    ],
)
def test_each_kind_of_value(value, expected):
    out = json_value(value)
    assert out == expected and type(out) is type(expected)
    json.dumps(out, allow_nan=False)  # strictly valid JSON


def test_rounding_and_fallback():
    assert json_value(1.23456789, digits=3) == 1.235 and json_value(np.float32(0.1), digits=6) == 0.1
    assert json_value(7, digits=2) == 7 and json_value(Decimal("2.345"), digits=2) == 2.35
    assert json_value({"x": [1.23456]}, digits=2) == {"x": [1.23]}

    class Thing:
        def __str__(self) -> str:
            return "thing"

    assert json_value(Thing()) == "thing"


def test_records_and_columns():
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "f": [0.123456789, np.nan],
            "t": pd.to_datetime([T, None]),
            "s": ["a", None],
            "b": [True, False],
        }
    )
    assert json_records(frame, digits=4) == [
        {"n": 1, "f": 0.1235, "t": "2026-05-01T09:30:15", "s": "a", "b": True},
        {"n": None, "f": None, "t": None, "s": None, "b": False},
    ]
    assert json_records(frame, columns=["s"]) == [{"s": "a"}, {"s": None}]
    for col in frame:
        assert json_column(frame[col], digits=4) == [r[col] for r in json_records(frame, digits=4)]
    assert json_records(pd.DataFrame(index=[0, 1])) == [{}, {}]


def test_every_writer_encodes_alike():
    values = {
        "count": np.int64(3),
        "share": np.float64(0.25),
        "missing": np.nan,
        "at": pd.Timestamp(T),
        "ok": np.bool_(True),
        "name": "网格",
    }
    expected = {k: json_value(v) for k, v in values.items()}
    frame = gpd.GeoDataFrame(
        {"id": ["g1"], **{k: [v] for k, v in values.items()}}, geometry=[box(120.40, 36.30, 120.41, 36.31)], crs=4326
    )
    # OGC API features
    assert feature_dicts(frame)[0]["properties"] == expected
    # GeoJSON layers (three decimals)
    layer = json.loads(feature_texts(frame, zoom=16)[0])["properties"]
    assert layer == {"id": "g1", **expected}
    # MVT properties: the same values, missing ones left out
    props = mvt._plain_records(frame.drop(columns="geometry"))[0]
    assert props == {"id": "g1", **{k: v for k, v in expected.items() if v is not None}}
    # plan diffs
    diff = PlanDiff(
        "a",
        "b",
        buildings=pd.DataFrame(),
        stewards=pd.DataFrame(),
        complaints=pd.DataFrame([values]),
        grids=pd.DataFrame(),
    )
    assert diff.as_dict()["complaints"] == [expected]
