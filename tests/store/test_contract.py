"""The store contract: every backend must pass these unchanged (the ``store`` fixture runs each backend)."""

from __future__ import annotations

import datetime as dt
import random
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from gridmap.store import MVT, ConflictError, Range, SchemaError, StoreError, open_store

UTC = dt.UTC
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def streets(n: int = 3, *, name: str = "S") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": [f"370214{i:03d}" for i in range(1, n + 1)],
            "name": [f"{name}{i}" for i in range(1, n + 1)],
            "district_id": ["370214"] * n,
        },
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)],
        crs="EPSG:4326",
    )


def test_migrate_is_idempotent(store):
    store.migrate()
    store.migrate()
    from pathlib import Path

    from alembic.script import ScriptDirectory

    import gridmap.store

    scripts = Path(gridmap.store.__file__).resolve().parent / "migrations"
    assert store.schema_revision() == ScriptDirectory(str(scripts)).get_current_head()
    assert store.count("streets") == 0


def test_roundtrip_every_column_kind(store):
    when = dt.datetime(2026, 3, 4, 9, 30, 15)
    complaints = gpd.GeoDataFrame(
        {
            "id": ["c1", "c2"],
            "category": ["parking", "sanitation"],
            "description": ["车位不够 <b>", None],
            "state": ["collected", "resolved"],
            "created_at": [when, when + dt.timedelta(days=1)],
            "rating": [5, None],
            "resolved": [True, None],
            "placement_distance_m": [12.5, None],
        },
        geometry=[shapely.Point(120.4, 36.3), None],
        crs="EPSG:4326",
    )
    store.write("complaints", complaints)
    back = store.read(
        "complaints",
        columns=["id", "description", "created_at", "rating", "resolved", "placement_distance_m", "geometry"],
    )
    assert back["id"].tolist() == ["c1", "c2"]
    assert back["description"].tolist() == ["车位不够 <b>", None]
    assert back["created_at"].tolist() == [
        pd.Timestamp(when, tz="UTC"),  # naive values mean UTC
        pd.Timestamp(when + dt.timedelta(days=1), tz="UTC"),
    ]
    assert back["rating"].tolist()[0] == 5 and pd.isna(back["rating"].tolist()[1])
    assert back["resolved"].tolist()[0] is True or back["resolved"].tolist()[0] == True  # noqa: E712
    assert back["placement_distance_m"].iloc[0] == 12.5
    assert back.geometry.iloc[0].equals(shapely.Point(120.4, 36.3))
    assert back.geometry.iloc[1] is None
    assert back.crs.to_epsg() == 4326
    plans = pd.DataFrame(
        {
            "id": ["p1"],
            "status": ["draft"],
            "created_at": [when],
            "effective_date": [dt.date(2026, 5, 1)],
            "params": [{"min": 300, "max": [1, 2]}],
        }
    )
    store.write("plans", plans)
    row = store.get("plans", "p1")
    assert row["params"] == {"min": 300, "max": [1, 2]}
    assert row["effective_date"] == dt.date(2026, 5, 1)


def test_upsert_counts_and_leaves_equal_rows_alone(store):
    assert store.write("streets", streets()).inserted == 3
    again = store.write("streets", streets())
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    changed = streets()
    changed.loc[1, "name"] = "改名"
    changed.loc[2, "geometry"] = shapely.box(10, 10, 11, 11)
    res = store.write("streets", changed)
    assert (res.inserted, res.updated, res.unchanged) == (0, 2, 1)
    assert store.get("streets", "370214002")["name"] == "改名"


def test_partial_columns_update_only_those(store):
    store.write("streets", streets())
    store.write("streets", pd.DataFrame({"id": ["370214001"], "name": ["新名"]}))
    row = store.get("streets", "370214001")
    assert row["name"] == "新名" and row["district_id"] == "370214"
    assert row["geometry"].equals(shapely.box(0, 0, 1, 1))


def test_insert_mode_refuses_existing_keys_and_writes_nothing(store):
    store.write("streets", streets(2))
    before = store.snapshot(["streets"])
    with pytest.raises(ConflictError, match="exist"):
        store.write("streets", streets(3), mode="insert")
    pd.testing.assert_frame_equal(store.snapshot(["streets"])["streets"], before["streets"])


def test_replace_mode(store):
    store.write("streets", streets(3))
    store.write("streets", streets(1, name="R"), mode="replace")
    assert store.read("streets")["name"].tolist() == ["R1"]


def test_bad_frames_are_refused_with_the_reason(store):
    with pytest.raises(SchemaError, match="unknown layer 'nope'"):
        store.write("nope", pd.DataFrame({"id": ["x"]}))
    with pytest.raises(SchemaError, match="no column"):
        store.write("streets", pd.DataFrame({"id": ["x"], "colour": ["red"]}))
    with pytest.raises(SchemaError, match="key"):
        store.write("streets", pd.DataFrame({"name": ["x"]}))
    with pytest.raises(SchemaError, match="'many'"):
        store.write("buildings", pd.DataFrame({"id": ["b"], "community_id": ["c"], "households": ["many"]}))
    with pytest.raises(ConflictError, match="duplicate key"):
        store.write("streets", pd.concat([streets(1), streets(1)]))
    with pytest.raises(SchemaError, match="EPSG:4326"):
        store.write("streets", streets().to_crs(3857))
    assert store.count("streets") == 0


def test_transaction_rolls_back_everything(store):
    store.write("streets", streets(2))
    before = store.snapshot()
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.write("streets", streets(3, name="T"))
            store.delete("streets", ids=["370214001"])
            assert store.count("streets") == 2  # reads inside see the transaction
            raise RuntimeError("boom")
    after = store.snapshot()
    for name in before:
        pd.testing.assert_frame_equal(after[name], before[name], check_dtype=False)


def test_bbox_filter_matches_brute_force(store):
    rng = random.Random(7)
    boxes = []
    for _ in range(300):
        x, y = rng.uniform(120, 121), rng.uniform(36, 37)
        boxes.append(shapely.box(x, y, x + rng.uniform(0.001, 0.05), y + rng.uniform(0.001, 0.05)))
    frame = gpd.GeoDataFrame(
        {"id": [f"b{i:04d}" for i in range(300)], "community_id": ["c"] * 300, "households": [10] * 300},
        geometry=boxes,
        crs="EPSG:4326",
    )
    store.write("buildings", frame)
    for _ in range(10):
        x, y = rng.uniform(120, 121), rng.uniform(36, 37)
        q = (x, y, x + 0.2, y + 0.15)
        expected = sorted(
            f
            for f, g in zip(frame["id"], boxes)
            if g.intersects(shapely.box(*q)) or shapely.box(*q).intersects(shapely.box(*g.bounds))
        )
        got = store.read("buildings", bbox=q, columns=["id"])["id"].tolist()
        assert sorted(got) == expected
        assert store.count("buildings", bbox=q) == len(expected)
    with pytest.raises(SchemaError, match="bbox"):
        store.read("buildings", bbox=(1, 2, 0, 3))


def test_where_ids_order_limit_offset(store):
    store.write("streets", streets(5))
    store.write("streets", pd.DataFrame({"id": ["370214005"], "district_id": [None]}))
    assert store.read("streets", where={"district_id": None})["id"].tolist() == ["370214005"]
    got = store.read("streets", where={"id": ["370214001", "370214003"]})["id"].tolist()
    assert got == ["370214001", "370214003"]
    assert store.read("streets", ids=["370214004", "missing"])["id"].tolist() == ["370214004"]
    page = store.read("streets", order_by=["id"], limit=2, offset=1)["id"].tolist()
    assert page == ["370214002", "370214003"]
    assert store.count("streets", where={"district_id": "370214"}) == 4
    assert store.get("streets", "missing") is None


def test_delete(store):
    store.write("streets", streets(5))
    assert store.delete("streets", ids=["370214001", "370214002"]) == 2
    assert store.delete("streets", where={"name": "S3"}) == 1
    assert store.count("streets") == 2
    assert store.delete("streets") == 2
    assert store.count("streets") == 0


def test_composite_keys(store):
    rows = pd.DataFrame(
        {"plan_id": ["p1", "p1", "p2"], "building_id": ["b1", "b2", "b1"], "grid_code": ["g1", "g1", "g2"]}
    )
    assert store.write("plan_assignments", rows).inserted == 3
    rows.loc[1, "grid_code"] = "g9"
    res = store.write("plan_assignments", rows)
    assert (res.updated, res.unchanged) == (1, 2)
    assert store.get("plan_assignments", ("p1", "b2"))["grid_code"] == "g9"
    assert store.read("plan_assignments", ids=[("p2", "b1")])["grid_code"].tolist() == ["g2"]
    assert store.delete("plan_assignments", where={"plan_id": "p1"}) == 2


def test_large_write_and_id_filter(store):
    n = 12_000
    frame = gpd.GeoDataFrame(
        {"id": [f"h{i:06d}" for i in range(n)], "building_id": ["b1"] * n, "residents": np.arange(n) % 5},
        geometry=shapely.points(np.full(n, 120.3), np.linspace(36.1, 36.4, n)),
        crs=4326,
    )
    assert store.write("households", frame).inserted == n
    assert store.write("households", frame).unchanged == n
    some = [f"h{i:06d}" for i in range(0, n, 7)]
    assert len(store.read("households", ids=some, columns=["id"])) == len(some)


def test_next_id_is_unique_under_concurrency(store):
    got: list[int] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            v = store.next_id("complaint")
            with lock:
                got.append(v)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 51))
    assert store.next_id("other") == 1


def test_concurrent_transactions_each_stored_once(store):
    errors: list[Exception] = []

    def submit(i: int):
        try:
            with store.transaction():
                n = store.next_id("c")
                store.write(
                    "complaints",
                    pd.DataFrame(
                        {
                            "id": [f"C{n}"],
                            "category": ["other"],
                            "state": ["collected"],
                            "created_at": [dt.datetime(2026, 1, 1)],
                            "description": [f"req {i}"],
                        }
                    ),
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = store.read("complaints", columns=["description"])["description"].tolist()
    assert sorted(got) == sorted(f"req {i}" for i in range(20))


# -- one clock: UTC ---------------------------------------------------------------------------------
def _same_store_elsewhere(store):
    """Another connection to the same store; on PostgreSQL its sessions run in UTC+8, so a value that
    depended on the session's time zone would come back moved."""
    url = store.url
    if url.startswith("postgresql"):
        url = (
            sa.engine.make_url(url)
            .update_query_dict({"options": "-c timezone=Asia/Shanghai"})
            .render_as_string(hide_password=False)
        )
    return open_store(url, migrate=False)


def test_datetimes_are_stored_and_read_as_utc(store):
    instant = dt.datetime(2026, 3, 4, 1, 30, 15, tzinfo=UTC)
    rows = pd.DataFrame(
        {
            "id": ["naive", "shanghai", "new_york", "none"],
            "action": "x.y",
            "at": [
                instant.replace(tzinfo=None),  # naive: means UTC
                instant.astimezone(SHANGHAI),  # 09:30 +08:00
                instant.astimezone(dt.timezone(dt.timedelta(hours=-5))),
                None,
            ],
        },
        dtype=object,
    )
    store.write("audit_log", rows.iloc[:3])
    store.write(
        "complaints",
        pd.DataFrame(
            {"id": ["c1"], "category": ["x"], "state": ["collected"], "created_at": [instant], "due_at": [None]}
        ),
    )
    back = store.read("audit_log", columns=["id", "at"])
    assert str(back["at"].dtype) == "datetime64[ns, UTC]"
    assert back["at"].tolist() == [pd.Timestamp(instant)] * 3
    got = store.get("audit_log", "shanghai")["at"]
    assert isinstance(got, dt.datetime) and got.utcoffset() == dt.timedelta(0) and got == instant
    assert store.get("complaints", "c1")["due_at"] is None
    assert str(store.read("complaints", columns=["due_at"])["due_at"].dtype) == "datetime64[ns, UTC]"
    assert str(store.read("audit_log", where={"id": "missing"})["at"].dtype) == "datetime64[ns, UTC]"
    # the same instants written in another zone are equal rows, not changes
    again = store.write("audit_log", rows.iloc[:3].assign(at=[instant.astimezone(SHANGHAI)] * 3))
    assert (again.updated, again.unchanged) == (0, 3)
    # filters compare instants, whatever zone the value is given in
    assert store.count("audit_log", where={"at": instant.astimezone(SHANGHAI)}) == 3
    assert store.count("audit_log", where={"at": instant.replace(tzinfo=None)}) == 3
    other = _same_store_elsewhere(store)
    try:
        assert other.read("audit_log", columns=["at"])["at"].tolist() == [pd.Timestamp(instant)] * 3
        other.write("audit_log", pd.DataFrame({"id": ["other"], "action": "x.y", "at": [instant.replace(tzinfo=None)]}))
        assert other.count("audit_log", where={"at": Range.at_least(instant)}) == 4
    finally:
        other.close()
    assert store.get("audit_log", "other")["at"] == instant


# -- filters, order, paging, get ----------------------------------------------------------------------
def _events(n: int = 6) -> pd.DataFrame:
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    return pd.DataFrame(
        {
            "id": [f"e{i}" for i in range(n)],
            "action": "login.failed",
            "actor": [None if i % 3 == 0 else f"u{i % 2}" for i in range(n)],
            "target": "ip:1.2.3.4",
            "at": [t0 + dt.timedelta(minutes=10 * i) for i in range(n)],
        }
    )


def test_range_filters(store):
    store.write("audit_log", _events())
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    ids = lambda **w: store.read("audit_log", where=w, columns=["id"])["id"].tolist()  # noqa: E731
    assert ids(at=Range(t0 + dt.timedelta(minutes=10), t0 + dt.timedelta(minutes=30))) == ["e1", "e2"]
    assert ids(
        at=Range(t0 + dt.timedelta(minutes=10), t0 + dt.timedelta(minutes=30), lo_inclusive=False, hi_inclusive=True)
    ) == ["e2", "e3"]
    assert ids(at=Range.at_least(t0 + dt.timedelta(minutes=40))) == ["e4", "e5"]
    assert ids(at=Range.above(t0 + dt.timedelta(minutes=40))) == ["e5"]
    assert ids(at=Range.below(t0 + dt.timedelta(minutes=10))) == ["e0"]
    assert ids(at=Range.at_most(t0 + dt.timedelta(minutes=10))) == ["e0", "e1"]
    # bounds in another zone are the same instants; ranges combine with equality filters
    assert ids(at=Range.at_least((t0 + dt.timedelta(minutes=30)).astimezone(SHANGHAI)), actor="u1") == ["e5"]
    assert store.count("audit_log", where={"at": Range.at_least(t0 + dt.timedelta(minutes=20))}) == 4
    # text and numbers; NULLs are in no range
    assert ids(actor=Range("u0", "u1")) == ["e2", "e4"]
    store.write(
        "buildings", pd.DataFrame({"id": ["b1", "b2", "b3"], "community_id": "c", "households": [10, None, 30]})
    )
    assert store.read("buildings", where={"households": Range(10, 30, hi_inclusive=True)}, columns=["id"])[
        "id"
    ].tolist() == ["b1", "b3"]
    assert store.delete("audit_log", where={"at": Range.below(t0 + dt.timedelta(minutes=20))}) == 2
    assert store.count("audit_log") == 4
    with pytest.raises(ValueError, match="bound"):
        Range()


def test_order_descending_nulls_last_limit_offset(store):
    store.write("audit_log", _events())
    page = lambda **kw: store.read("audit_log", columns=["id"], **kw)["id"].tolist()  # noqa: E731
    assert page(order_by=["-at"]) == ["e5", "e4", "e3", "e2", "e1", "e0"]
    assert page(order_by=["-at"], limit=2) == ["e5", "e4"]
    assert page(order_by=["-at"], limit=2, offset=2) == ["e3", "e2"]
    assert page(order_by=["-at"], offset=5) == ["e0"]
    assert page(order_by="-at", limit=1) == ["e5"]
    # actor: e0, e3 are NULL; they come last whichever way the column is sorted
    assert page(order_by=["actor", "-at"]) == ["e4", "e2", "e5", "e1", "e3", "e0"]
    assert page(order_by=["-actor", "at"]) == ["e1", "e5", "e2", "e4", "e0", "e3"]
    assert page(where={"actor": "u0"}, order_by=["-at"], limit=5) == ["e4", "e2"]
    assert page(ids=["e1", "e4", "e5"], order_by=["-at"], limit=2) == ["e5", "e4"]
    with pytest.raises(SchemaError, match="ordered by"):
        page(order_by=["-colour"])


def test_order_and_paging_hold_for_reads_of_many_ids(store):
    n = 12_000
    store.write(
        "households",
        pd.DataFrame(
            {"id": [f"h{i:05d}" for i in range(n)], "residents": [None if i % 10 == 0 else i % 7 for i in range(n)]}
        ),
    )
    ids = [f"h{i:05d}" for i in range(0, n, 2)] + ["missing"]
    for kw in (
        {"order_by": ["-residents", "id"], "limit": 50, "offset": 2990},
        {"order_by": ["residents", "-id"], "offset": 5990},
        {},
    ):
        got = store.read("households", ids=ids, columns=["id", "residents"], **kw)
        want = store.read("households", where={"id": ids}, columns=["id", "residents"], **kw)
        pd.testing.assert_frame_equal(got, want)
    assert len(store.read("households", ids=ids, columns=["id"])) == n // 2


def test_get_returns_one_row_of_plain_values(store):
    store.write(
        "buildings",
        gpd.GeoDataFrame(
            {"id": ["b1"], "community_id": ["c"], "households": [12], "residents": [None], "name": ["3"]},
            geometry=[shapely.box(120, 36, 120.001, 36.001)],
            crs="EPSG:4326",
        ),
    )
    row = store.get("buildings", "b1")
    assert row == {
        "id": "b1",
        "name": "3",
        "estate_id": None,
        "community_id": "c",
        "households": 12,
        "residents": None,
        "floors": None,
        "units": None,
        "aliases": None,  # revision 0004: ids of footprints merged into the building
        "geometry": row["geometry"],
    }
    assert type(row["households"]) is int
    assert row["geometry"].equals(shapely.box(120, 36, 120.001, 36.001))
    store.write(
        "complaints",
        pd.DataFrame(
            {
                "id": ["c1"],
                "category": ["x"],
                "state": ["s"],
                "created_at": [dt.datetime(2026, 1, 1)],
                "resolved": [False],
                "placement_distance_m": [float("nan")],
            }
        ),
    )
    c = store.get("complaints", "c1")
    assert c["resolved"] is False and c["placement_distance_m"] is None and c["geometry"] is None
    store.write("plan_assignments", pd.DataFrame({"plan_id": ["p1"], "building_id": ["b1"], "grid_code": ["g"]}))
    assert store.get("plan_assignments", ("p1", "b1")) == {"plan_id": "p1", "building_id": "b1", "grid_code": "g"}
    assert store.get("plan_assignments", ("p1", "b2")) is None
    with pytest.raises(SchemaError, match="key"):
        store.get("plan_assignments", "p1")


def test_capabilities_are_declared_and_kept(store):
    assert isinstance(store.capabilities, frozenset)
    store.write(
        "buildings",
        gpd.GeoDataFrame(
            {"id": ["b1"], "community_id": ["c"], "households": [3]},
            geometry=[shapely.box(120.0, 36.0, 120.001, 36.001)],
            crs=4326,
        ),
    )
    if MVT in store.capabilities:
        tile = store.mvt("buildings", 16, 54613, 25734, columns=["id"])
        assert isinstance(tile, bytes) and b"b1" in tile
    else:
        with pytest.raises(StoreError, match="mvt"):
            store.mvt("buildings", 16, 54613, 25734, columns=["id"])
