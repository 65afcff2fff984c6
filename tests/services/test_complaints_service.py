"""The complaint use cases on every store backend (SQLite and PostGIS): submit, move, evaluate, escalate,
KPIs, and concurrent submissions each stored exactly once."""

from __future__ import annotations

import datetime as dt
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web"))
from complaints_world import G1, build, lonlat
from gridmap import config
from gridmap.errors import Conflict, InvalidInput
from gridmap.services import complaints as svc
from gridmap.web.access import User

PUB = User(None, "anon", "public")
GL = User("gl1", "gl1", "grid_leader", {"grids": [G1]})
DEPT = User("d1", "d1", "department", {"departments": ["urban_management"]})
T0 = dt.datetime(2025, 3, 3, 9)


def _submit(store, now=T0, **kw):
    lon, lat = lonlat(20, 20)
    data = {"category": "parking", "description": "占道停车", "lon": lon, "lat": lat} | kw
    return svc.submit(store, data, user=PUB, settings=config.load(), now=now)


def test_loop_on_every_backend(store):
    build(store)
    s = config.load()
    cid = _submit(store)["id"]
    for who, to, hours in [(GL, "dispatched", 1), (DEPT, "responding", 2), (DEPT, "resolved", 30)]:
        svc.transition(store, cid, to, user=who, settings=s, now=T0 + dt.timedelta(hours=hours))
    with pytest.raises(Conflict, match="cannot go from resolved"):
        svc.transition(store, cid, "dispatched", user=GL, settings=s, now=T0 + dt.timedelta(hours=40))
    out = svc.transition(
        store,
        cid,
        "evaluated",
        user=GL,
        settings=s,
        changes={"rating": 5, "resolved": True},
        now=T0 + dt.timedelta(days=2),
    )
    assert out["complaint"]["state"] == "evaluated"
    assert [e["to_state"] for e in svc.events_of(store, cid)] == [
        "collected",
        "dispatched",
        "responding",
        "resolved",
        "evaluated",
    ]
    late = _submit(store, category="consultation")["id"]
    res = svc.escalate_overdue(store, settings=s, now=T0 + dt.timedelta(days=30))
    assert res["escalated"] == [late] and store.get("complaints", late)["escalation"] == 2
    rep = svc.kpi_report(store, settings=s, year=2025, now=T0 + dt.timedelta(days=30))
    assert rep["summary"]["complaints"] == 2 and rep["summary"]["satisfaction_rate"] == 1.0
    before = store.snapshot(["complaints", "complaint_events"])
    with pytest.raises(InvalidInput):
        _submit(store, description="")
    after = store.snapshot(["complaints", "complaint_events"])
    assert all(after[k].equals(before[k]) for k in before)


def test_concurrent_submissions_on_every_backend(store):
    build(store)
    n = 24  # the live-server test fires 60 over HTTP; this one checks each backend's transactions
    gate = threading.Barrier(n)

    def one(i):
        gate.wait()
        return _submit(store, description=f"并发 {i}")["id"]

    with ThreadPoolExecutor(max_workers=n) as pool:
        ids = list(pool.map(one, range(n)))
    assert len(set(ids)) == n
    rows = store.read("complaints", columns=["id", "description"])
    assert sorted(rows["id"]) == sorted(ids) and sorted(rows["description"]) == sorted(f"并发 {i}" for i in range(n))
    assert store.count("complaint_events") == n
