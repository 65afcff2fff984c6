"""The store's change counters (``layer_changes``, revision 0008): the database counts every insert, update and
delete of the requests and their events — from any connection — so a cache built from the whole layer (the
public counts) learns that it changed without reading it. Once per backend."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from gridmap.store import open_store
from gridmap.store.base import SchemaError

WHEN = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def _complaint(cid: str, state: str = "collected"):
    import geopandas as gpd

    return gpd.GeoDataFrame(
        [{"id": cid, "category": "噪音", "state": state, "created_at": WHEN}],
        geometry=[shapely.Point(120.4, 36.3)],
        crs=4326,
    )


def _event(cid: str, seq: int):
    return pd.DataFrame([{"complaint_id": cid, "seq": seq, "to_state": "dispatched", "at": WHEN}])


def test_every_change_of_the_requests_and_their_events_moves_its_counter(store):
    seen = {layer: store.changes(layer) for layer in ("complaints", "complaint_events")}

    def moved(layer: str) -> bool:
        now = store.changes(layer)
        out, seen[layer] = now != seen[layer], now
        return out

    store.write("complaints", _complaint("c1"))
    assert moved("complaints") and not moved("complaint_events")
    store.write("complaints", _complaint("c1", "dispatched"))  # an update
    assert moved("complaints")
    store.write("complaint_events", _event("c1", 1))
    assert moved("complaint_events") and not moved("complaints")
    store.delete("complaint_events", where={"complaint_id": "c1"})
    assert moved("complaint_events")
    store.delete("complaints", ids=["c1"])
    assert moved("complaints")
    store.write("streets", pd.DataFrame([{"id": "370214001", "name": "街道"}]))  # not counted: nothing moves
    assert not moved("complaints") and not moved("complaint_events")


def test_a_change_that_rolls_back_leaves_the_counter_and_other_connections_see_changes(store, tmp_path):
    before = store.changes("complaints")
    with pytest.raises(RuntimeError), store.transaction():
        store.write("complaints", _complaint("c2"))
        raise RuntimeError("undo")
    assert store.changes("complaints") == before
    other = open_store(store.url)  # another process's store on the same database
    try:
        other.write("complaints", _complaint("c3"))
        assert store.changes("complaints") != before
    finally:
        other.close()


def test_a_raw_sql_update_is_counted_too(store):
    store.write("complaints", _complaint("c4"))
    before = store.changes("complaints")
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE complaints SET state = 'dispatched' WHERE id = 'c4'"))
    assert store.changes("complaints") != before


def test_layers_without_a_counter_are_refused_by_name(store):
    with pytest.raises(SchemaError, match="buildings.*complaints, complaint_events"):
        store.changes("buildings")
