"""A few new rows take the store's plain-row insert path (gridmap/store/rows.py): what it stores is what the
frame path stores, value for value, on every backend; a clash or a bad value is refused as before."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import shapely

from gridmap.domain.schema import LAYERS
from gridmap.store import ConflictError, SchemaError, rows

WHEN = dt.datetime(2026, 3, 4, 9, 30, 15)
EAST8 = dt.timezone(dt.timedelta(hours=8))


def _complaint(cid: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": cid,
                "category": "parking",
                "description": "车位不够 <b>",
                "state": "collected",
                "created_at": WHEN,  # naive: UTC
                "due_at": dt.datetime(2026, 3, 5, 17, 0, tzinfo=EAST8),  # aware: converted to UTC
                "rating": 4,
                "resolved": None,
                "placement_distance_m": 12.5,
                "geometry": shapely.Point(120.4, 36.3),
            }
        ]
    )


def _plan(pid: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "id": pid,
                "status": "draft",
                "created_at": WHEN,
                "effective_date": dt.date(2026, 5, 1),
                "params": '{"a": [1, 2]}',
            }
        ]
    )


def _both_paths(store, monkeypatch, layer, make):
    """Write ``make('new')`` on the plain-row path and ``make('old')`` on the frame path; both rows back."""
    assert rows.plain_rows(LAYERS[layer], make("x")) is not None  # the fast path takes it
    store.write(layer, make("new"), mode="insert")
    monkeypatch.setattr(rows, "SMALL_ROWS", 0)
    store.write(layer, make("old"), mode="insert")
    monkeypatch.undo()
    return store.get(layer, "new"), store.get(layer, "old")


@pytest.mark.parametrize(("layer", "make"), [("complaints", _complaint), ("plans", _plan)])
def test_plain_rows_store_what_frames_store(store, monkeypatch, layer, make):
    new, old = _both_paths(store, monkeypatch, layer, make)
    geom_new, geom_old = new.pop("geometry", None), old.pop("geometry", None)
    assert (geom_new is None and geom_old is None) or geom_new.equals(geom_old)
    new.pop("id"), old.pop("id")
    assert new == old
    if layer == "complaints":
        assert new["due_at"] == dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)
        assert new["created_at"] == WHEN.replace(tzinfo=dt.UTC)
    else:
        assert new["params"] == {"a": [1, 2]} and new["effective_date"] == dt.date(2026, 5, 1)


def test_plain_rows_refuse_an_existing_key_and_write_nothing(store):
    store.write("complaints", _complaint("c1"), mode="insert")
    before = store.snapshot(["complaints"])["complaints"]
    with pytest.raises(ConflictError, match="exist"):
        store.write("complaints", _complaint("c1"), mode="insert")
    pd.testing.assert_frame_equal(store.snapshot(["complaints"])["complaints"], before)


def test_a_bad_value_takes_the_frame_path_and_is_refused_with_the_reason(store):
    bad = _complaint("c2").assign(rating="four")
    with pytest.raises(SchemaError, match="rating"):
        store.write("complaints", bad, mode="insert")
    assert store.get("complaints", "c2") is None


def test_plain_upserts_count_and_store_as_the_frame_path_does(store, monkeypatch):
    def plans(note: str) -> pd.DataFrame:
        return pd.concat([_plan("p1"), _plan("p2")], ignore_index=True).assign(note=[note, "same"])

    results = {}
    for path in ("plain", "frames"):
        if path == "frames":
            monkeypatch.setattr(rows, "SMALL_ROWS", 0)
            store.delete("plans")
        first = store.write("plans", plans("a"))
        again = store.write("plans", plans("a"))
        changed = store.write("plans", plans("b"))
        results[path] = (
            [(r.inserted, r.updated, r.unchanged) for r in (first, again, changed)],
            store.get("plans", "p1"),
            store.get("plans", "p2"),
        )
    assert results["plain"] == results["frames"]
    assert results["plain"][0] == [(2, 0, 0), (0, 0, 2), (0, 1, 1)]
    assert results["plain"][1]["note"] == "b" and results["plain"][1]["params"] == {"a": [1, 2]}
