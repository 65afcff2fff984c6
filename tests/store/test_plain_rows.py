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


# -- plain-row reads (Store.rows): what read() returns, as the plain values get() gives -----------------------
def _as_get(store, layer: str, frame: pd.DataFrame) -> list[dict]:
    """Each row of ``frame`` as store.get returns that row (only the frame's columns)."""
    key = LAYERS[layer].key[0]
    return [{c: store.get(layer, k)[c] for c in frame.columns} for k in frame[key]]


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        gx, gy = x.pop("geometry", None), y.pop("geometry", None)
        assert (gx is None and gy is None) or shapely.equals_exact(gx, gy, tolerance=0)
        assert x == y


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "frames"])
def test_rows_are_what_read_returns_as_get_gives_them(store, monkeypatch, plain):
    store.write("complaints", pd.concat([_complaint(f"c{i}") for i in range(5)], ignore_index=True))
    store.write("complaints", _complaint("far").assign(geometry=[shapely.Point(100.0, 20.0)], rating=None))
    store.write("complaints", _complaint("nowhere").assign(geometry=[None], state="resolved"))
    store.write("plans", pd.concat([_plan("p1"), _plan("p2").assign(params=None)], ignore_index=True))
    if not plain:  # the frame path answers (and must give the same)
        monkeypatch.setattr(rows, "SMALL_ROWS", 0)
    queries = [
        ("complaints", {}),
        ("complaints", {"bbox": (120.3, 36.2, 120.5, 36.4), "columns": ["id", "created_at", "geometry"]}),
        ("complaints", {"where": {"state": ["collected"], "rating": 4}, "order_by": ["-id"], "limit": 2}),
        ("complaints", {"ids": ["c3", "far", "none"], "columns": ["id", "rating", "resolved", "due_at"]}),
        ("plans", {"columns": ["id", "params", "effective_date", "created_at"]}),
    ]
    for layer, kw in queries:
        got = store.rows(layer, **kw)
        assert got == [] or all(type(r) is dict for r in got)
        _same(got, _as_get(store, layer, store.read(layer, **kw)))
    assert [r["id"] for r in store.rows("complaints", where={"state": "resolved"})] == ["nowhere"]
    assert store.rows("complaints", where={"state": "none such"}) == []
    with pytest.raises(SchemaError, match="no column"):
        store.rows("complaints", columns=["id", "colour"])
    with pytest.raises(SchemaError, match="no geometry"):
        store.rows("plans", bbox=(0, 0, 1, 1))


def test_write_rows_stores_what_write_stores_and_refuses_as_it_does(store, monkeypatch):
    row = _complaint("x").iloc[0].to_dict()
    assert store.write_rows("complaints", [dict(row, id="new")]).inserted == 1
    store.write("complaints", _complaint("old"), mode="insert")
    new, old = store.get("complaints", "new"), store.get("complaints", "old")
    new.pop("id"), old.pop("id")
    _same([new], [old])
    with pytest.raises(ConflictError, match="exist"):
        store.write_rows("complaints", [dict(row, id="new")])
    with pytest.raises(SchemaError, match="rating"):  # the frame path words the refusal
        store.write_rows("complaints", [dict(row, id="bad", rating="four")])
    with pytest.raises(SchemaError, match="colour"):
        store.write_rows("complaints", [dict(row, id="bad", colour="red")])
    assert store.get("complaints", "bad") is None


def test_reading_groups_reads_and_leaves_writes_alone(store):
    store.write("plans", _plan("p1"))
    with store.reading():
        first = store.rows("plans", columns=["id"])
        store.write_rows("plans", [{"id": "p2", "status": "draft"}])  # a write commits on its own
        assert store.get("plans", "p1")["status"] == "draft"
    assert first == [{"id": "p1"}]
    assert [r["id"] for r in store.rows("plans", columns=["id"])] == ["p1", "p2"]
