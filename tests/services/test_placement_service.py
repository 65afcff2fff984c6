"""Placement through a real SQLite store: files in, one transaction, derived grids that follow the plan."""

from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import pandas as pd
import pytest

from gridmap.errors import InvalidInput
from gridmap.services import placement as svc
from tests.unit.placement_world import ASSIGNMENT, frames


def publish(store, plan_id: str, assignment: dict[str, str], *, supersede: str | None = None) -> None:
    f = frames()
    now = dt.datetime(2026, 1, 1) + dt.timedelta(days=int(plan_id[1:]))
    with store.transaction():
        if supersede:
            store.write("plans", pd.DataFrame([{"id": supersede, "status": "superseded", "created_at": now}]))
        store.write(
            "plans", pd.DataFrame([{"id": plan_id, "status": "published", "created_at": now, "published_at": now}])
        )
        store.write(
            "plan_assignments",
            pd.DataFrame({"plan_id": plan_id, "building_id": list(assignment), "grid_code": list(assignment.values())}),
        )
        store.write("plan_grids", gpd.GeoDataFrame(f["grids"].assign(plan_id=plan_id), crs=4326))


@pytest.fixture
def world_store(sqlite_store):
    f = frames()
    sqlite_store.write("communities", f["communities"])
    sqlite_store.write("buildings", f["buildings"])
    publish(sqlite_store, "P1", ASSIGNMENT)
    return sqlite_store


CSV = """id,lon,lat,room,estate_id,residents
h1,120.4011,36.3011,,,3
h2,,,2-1-301,E1,2
h3,120.4154,36.3051,,,1
h4,120.418,36.308,,,1
h5,121.0,37.0,,,1
h6,,,1-3-101,E1,1
h1,120.4013,36.3011,,,1
"""


def test_place_households_csv_writes_placed_and_reports_the_rest(world_store, tmp_path):
    path = tmp_path / "hh.csv"
    path.write_text(CSV, encoding="utf-8")
    before = world_store.count("households")
    res = svc.place_records(world_store, "households", svc.read_records(path))
    assert res.summary == {"exact": 0, "room": 1, "contained": 1, "nearest": 1, "area": 1, "rejected": 3, "total": 7}
    assert res.written == 4 and world_store.count("households") == before + 4
    h2 = world_store.get("households", "h2")
    assert (h2["building_id"], h2["unit"], h2["floor"], h2["placement"]) == ("B", 1, 3, "room")
    h3 = world_store.get("households", "h3")
    assert h3["placement"] == "nearest" and 17 < h3["placement_distance_m"] < 19
    h4 = world_store.get("households", "h4")
    assert (h4["building_id"], h4["community_id"], h4["placement"]) == (None, "C2", "area")
    assert world_store.get("households", "h1")["building_id"] == "A"  # the first copy wins
    rep = res.report.set_index("row")
    assert list(rep.index) == [3, 4, 5, 6, 7]
    assert "outside every community" in rep.loc[5, "reason"] and "no unit 3" in rep.loc[6, "reason"]
    assert "duplicate" in rep.loc[7, "reason"]
    assert "room" not in res.report  # no personal data in the report
    assert res.ignored_columns == []


def test_locate_derives_the_grid_from_the_current_plan(world_store):
    recs = svc.read_records(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": "s1",
                    "properties": {"name": "王", "role": "building_leader"},
                    "geometry": {"type": "Point", "coordinates": [120.4011, 36.3011]},
                },
                {
                    "type": "Feature",
                    "properties": {"id": "s2", "name": "李", "role": "volunteer"},
                    "geometry": {"type": "Point", "coordinates": [120.418, 36.308]},
                },
            ],
        }
    )
    svc.place_records(world_store, "stewards", recs)
    got = svc.locate(world_store, "stewards").set_index("id")
    assert got.loc["s1", "grid_code"] == "G1" and got.loc["s2", "grid_code"] == "G3"
    assert "grid_code" not in world_store.read("stewards").columns  # never stored
    publish(world_store, "P2", dict(ASSIGNMENT, A="G2"), supersede="P1")
    got = svc.locate(world_store, "stewards", ["s1"]).set_index("id")
    assert got.loc["s1", "grid_code"] == "G2" and got.loc["s1", "estate_id"] == "E1"


def test_bad_rows_leave_the_store_unchanged(world_store):
    before = world_store.snapshot(["stewards", "households"])
    no_role = pd.DataFrame(
        {"id": ["s1", "s2"], "name": ["王", "李"], "building_id": ["A", "B"], "role": ["grid_leader", None]}
    )
    with pytest.raises(InvalidInput, match="role"):
        svc.place_records(world_store, "stewards", no_role)
    bad_value = pd.DataFrame({"id": ["h1", "h2"], "building_id": ["A", "B"], "residents": ["2", "many"]})
    with pytest.raises(InvalidInput, match="residents"):
        svc.place_records(world_store, "households", bad_value)
    with pytest.raises(InvalidInput, match="cannot place"):
        svc.place_records(world_store, "buildings", no_role)
    after = world_store.snapshot(["stewards", "households"])
    for k in before:
        pd.testing.assert_frame_equal(before[k], after[k])


def test_records_without_ids_get_new_ones_and_dry_run_writes_nothing(world_store):
    recs = pd.DataFrame({"name": ["药店"], "building_id": ["K"]})
    dry = svc.place_records(world_store, "merchants", recs, dry_run=True)
    assert dry.written == 0 and world_store.count("merchants") == 0 and dry.summary["exact"] == 1
    res = svc.place_records(world_store, "merchants", recs)
    rows = world_store.read("merchants")
    assert res.written == 1 and rows["id"].iloc[0].startswith("M") and rows["community_id"].iloc[0] == "C2"


def test_chunked_progress_run_equals_one_call(world_store):
    recs = gpd.GeoDataFrame(
        {"id": [f"p{i}" for i in range(9)] + ["p0"]},
        geometry=gpd.points_from_xy(
            [120.4011, 120.4013, 120.4033, 120.4154, 120.418, 121.0, 120.4012, 120.4071, 120.4151, 120.4011],
            [36.3011] * 3 + [36.3051, 36.308, 37.0, 36.3011, 36.3071, 36.3051, 36.3011],
        ),
        crs=4326,
    )
    world = svc.load_world(world_store)
    one, s1 = svc.place_frame(recs, world)
    reported: list[tuple[int, int]] = []
    many, s2 = svc.place_frame(recs, world, chunk=3, progress=lambda done, total: reported.append((done, total)))
    assert s1 == s2 and s1["rejected"] == 2  # outside + the duplicate p0 in the last chunk
    assert reported == [(3, 10), (6, 10), (9, 10), (10, 10)]  # the callback hears of every chunk
    for col in ("building_id", "grid_code", "community_id", "placement", "reason"):
        assert one[col].astype(object).tolist() == many[col].astype(object).tolist()


def test_read_records_errors():
    with pytest.raises(InvalidInput, match="FeatureCollection"):
        svc.read_records({"type": "Point"})
    with pytest.raises(InvalidInput, match="longitude/latitude"):
        import io

        svc.read_records(io.BytesIO(b"id,lon,lat\nx,200,36\n"), filename="a.csv")
    with pytest.raises(InvalidInput, match="tolerance"):
        svc.parse_tolerance("far")
    with pytest.raises(InvalidInput):
        svc.geojson_body(b"{not json")
    assert json.dumps(svc.PlaceResult("households", {}, pd.DataFrame({"row": []})).to_json())


def test_complaints_remember_the_grid_they_were_filed_in(world_store):
    recs = svc.read_records(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {
                        "id": "c1",
                        "category": "parking",
                        "state": "submitted",
                        "created_at": "2026-03-01T09:00:00",
                    },
                    "geometry": {"type": "Point", "coordinates": [120.4011, 36.3011]},
                }
            ],
        }
    )
    svc.place_records(world_store, "complaints", recs)
    assert world_store.get("complaints", "c1")["filed_grid_code"] == "G1"
    publish(world_store, "P2", dict(ASSIGNMENT, A="G2"), supersede="P1")
    assert world_store.get("complaints", "c1")["filed_grid_code"] == "G1"  # kept
    assert svc.locate(world_store, "complaints", ["c1"])["grid_code"].iloc[0] == "G2"  # current grid derived
