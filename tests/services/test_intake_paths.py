"""Intake on the plain-row path (issue #18 part 4) stores and answers exactly what the frame path did: the
same submissions through both, on every backend, leave the same complaints, events and audit entries and
return the same records (route, duplicates, SLA, masking input); the published plan's grids, kept per
published version, follow a publication in this process and in another one."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import COM_A, COM_B, G1, G2, G3, _g, _rect, build, lonlat
from gridmap import config
from gridmap.domain.geometry import transformer
from gridmap.domain.plan import GridPlan
from gridmap.services import complaints as svc
from gridmap.services.plans import stored
from gridmap.store import open_store, rows
from gridmap.store.plans import published_plan_id, set_published
from gridmap.web.access import User

PUB = User(None, "anon", "public")
GL = User("gl1", "gl1", "grid_leader", {"grids": [G1]})
T0 = dt.datetime(2025, 3, 3, 9)

#: (metric x, y, category, who, extra fields): on a building, near another grid, beside a building, only in a
#: grid's area, outside every grid, a duplicate linked, a staff visit with contact details, no duplicate radius
CASES = [
    (20, 20, "parking", PUB, {}),
    (85, 20, "parking", PUB, {}),
    (40, 20, "sanitation", PUB, {}),
    (120, 95, "fitness", PUB, {}),
    (350, 50, "other", PUB, {}),
    (22, 21, "parking", PUB, {"duplicate_of": 0}),
    (160, 20, "property_service", GL, {"channel": "visit", "contact_name": "张三", "contact_phone": "13800138000"}),
    (250, 20, "consultation", PUB, {"description": "问一下"}),
    (20, 22, "parking", PUB, {}),
]


def _run(store, *, old: bool, monkeypatch) -> list[dict]:
    if old:
        monkeypatch.setattr(rows, "SMALL_ROWS", 0)  # every read and write through frames, as before
    out: list[dict] = []
    try:
        for i, (x, y, category, who, extra) in enumerate(CASES):
            if old:
                stored.forget_published()  # nothing kept between submissions either
            lon, lat = lonlat(x, y)
            data = {"category": category, "description": "占道停车", "lon": lon, "lat": lat} | extra
            if "duplicate_of" in extra:
                data["duplicate_of"] = out[extra["duplicate_of"]]["id"]
            now = T0 + dt.timedelta(minutes=i)
            out.append(svc.submit(store, data, user=who, settings=config.load(), now=now))
    finally:
        monkeypatch.undo()
    return out


def _stored(store) -> dict[str, pd.DataFrame]:
    snap = store.snapshot(["complaints", "complaint_events", "audit_log"])
    audit = snap["audit_log"].drop(columns=["id", "at"])  # a random id and the wall clock
    snap["audit_log"] = audit.sort_values("target").reset_index(drop=True)
    return snap


def _clear(store) -> None:
    with store.transaction():
        for layer in ("complaints", "complaint_events", "audit_log"):
            store.delete(layer)
    with store.engine.begin() as conn:  # number the requests from the start again
        conn.execute(store.sequences.delete())


def test_plain_path_stores_and_returns_what_the_frame_path_did(store, monkeypatch):
    build(store)
    old = _run(store, old=True, monkeypatch=monkeypatch)
    old_rows = _stored(store)
    _clear(store)
    new = _run(store, old=False, monkeypatch=monkeypatch)
    assert new == old
    for layer, frame in _stored(store).items():
        pd.testing.assert_frame_equal(frame, old_rows[layer], obj=layer)
    # and the cases are what they say: routing, confirmation, placement, duplicates, stewards, masking input
    assert [r["grid_code"] for r in new] == [G1, G1, G1, G2, None, G1, G2, G3, G1]
    assert [r["route"]["reasons"] != [] for r in new][:2] == [False, True]
    assert new[0]["route"]["grid_leader_id"] == "s1" and new[0]["route"]["property_steward_id"] == "s4"
    assert [d["id"] for d in new[8]["duplicates"]] == [new[0]["id"], new[5]["id"], new[1]["id"]]  # parking: 80 m
    assert new[5]["duplicate_of"] == new[0]["id"] and new[6]["contact_phone"] == "13800138000"


def test_the_published_grids_follow_a_publication_here_and_in_another_process(store):
    build(store)
    lon, lat = lonlat(20, 20)
    s = config.load()
    assert svc.route_preview(store, lon=lon, lat=lat, category="parking", settings=s)["grid_code"] == G1
    other = open_store(store.url)  # another process's store: nobody tells it about the publication
    try:
        assert svc.route_preview(other, lon=lon, lat=lat, category="parking", settings=s)["grid_code"] == G1
        # plan2: community A in one grid …009 (a new code), B as before
        new = "370214001001009"
        assign = {"b1": new, "b2": new, "b3": new, "b4": G3, "b5": G3, "b6": G3}
        with store.transaction():
            store.write("plans", pd.DataFrame([{"id": "plan2", "status": "draft", "created_at": T0}]))
            store.write(
                "plan_assignments",
                pd.DataFrame({"plan_id": "plan2", "building_id": list(assign), "grid_code": list(assign.values())}),
            )
            store.write(
                "plan_grids",
                _g(
                    {"plan_id": ["plan2"] * 2, "code": [new, G3], "community_id": [COM_A, COM_B]},
                    [
                        _rect(0, 200),
                        _rect(200, 300),
                    ],
                ),
            )
            set_published(
                store,
                "plan2",
                GridPlan(assign, {new: COM_A, G3: COM_B}, id="plan2"),
                effective_date=dt.date(2025, 3, 1),
                published_at=T0,
            )
        assert published_plan_id(store) == "plan2"
        for s_ in (store, other):
            r = svc.route_preview(s_, lon=lon, lat=lat, category="parking", settings=s)
            assert r["grid_code"] == new and r["reasons"] == []  # b2's grid boundary is gone
        assert stored.published_grids(other).near(shapely.box(*shapely.Point(lon, lat).buffer(1e-3).bounds).bounds)
    finally:
        other.close()


@pytest.mark.parametrize("target", ["EPSG:4549", "EPSG:32651", "EPSG:3857"])
def test_routing_transformations_are_the_chosen_pipeline_in_every_thread(target):
    """Each server thread remakes a pyproj transformer from its recipe: kept as the PROJ pipeline the database
    chose (no database query per thread), it gives the very numbers the CRS-made one gives, in any thread."""
    t = transformer("EPSG:4326", target)
    assert t.source_crs is None  # made from the pipeline, not from the CRSs
    rng = np.random.default_rng(0)
    x, y = rng.uniform(119.5, 120.5, 200), rng.uniform(35.5, 36.5, 200)
    want = Transformer.from_crs("EPSG:4326", target, always_xy=True).transform(x, y)
    got: list = []
    th = threading.Thread(target=lambda: got.append(t.transform(x, y)))
    th.start()
    th.join()
    assert np.array_equal(got[0][0], want[0]) and np.array_equal(got[0][1], want[1])
