"""The request generator: every history is a legal walk through the transitions table, nothing happens
after ``now``, volumes follow households and fall faster in red-property estates."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pytest
from shapely.geometry import box

from gridmap.domain import complaints as C
from gridmap.domain.workdays import WorkCalendar
from gridmap.synth.complaints import SynthSpec, generate

NOW = dt.datetime(2026, 6, 15, 12)
POLICY = C.Policy(calendar=WorkCalendar())


@pytest.fixture(scope="module")
def synth():
    # 40 buildings of 500 households: half in a red-property estate
    geoms = [box(120.0 + i * 0.001, 36.3, 120.0005 + i * 0.001, 36.3005) for i in range(40)]
    b = gpd.GeoDataFrame(
        {
            "id": [f"b{i}" for i in range(40)],
            "estate_id": ["red" if i < 20 else "plain" for i in range(40)],
            "community_id": "370214001001",
            "households": 500,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    assignment = {f"b{i}": f"G{i // 10}" for i in range(40)}
    return generate(
        b,
        policy=POLICY,
        now=NOW,
        assignment=assignment,
        grid_leaders={"G0": "s0"},
        red_estates={"red"},
        seed=3,
        spec=SynthSpec(per_1000=60),
    )


def test_histories_are_legal_walks(synth):
    comp, ev = synth
    assert len(comp) > 1000 and comp["id"].is_unique and comp.crs.to_epsg() == 4326
    allowed = {(t.source, t.target) for t in C.TRANSITIONS}
    e = ev.sort_values(["complaint_id", "seq"]).reset_index(drop=True)
    first = e.groupby("complaint_id").head(1)
    assert (first["seq"] == 1).all() and first["from_state"].isna().all() and (first["to_state"] == "collected").all()
    same = e["complaint_id"].eq(e["complaint_id"].shift())
    rest = e[same]
    assert ((rest["seq"] - e["seq"].shift()[same]) == 1).all()
    assert (rest["from_state"] == e["to_state"].shift()[same]).all()  # each move starts where the last ended
    assert set(zip(rest["from_state"], rest["to_state"])) <= allowed
    assert ((rest["at"] - e["at"].shift()[same]) >= dt.timedelta(0)).all()
    last = ev.sort_values("seq").groupby("complaint_id")["to_state"].last()
    assert (comp.set_index("id")["state"] == last.reindex(comp["id"]).to_numpy()).all()
    assert ev["at"].max() < NOW and comp["created_at"].max() < NOW
    closed = comp["state"].map(lambda s: C.STATES[s].type == "closed")
    assert comp.loc[closed, "closed_at"].notna().all() and comp.loc[~closed, "closed_at"].isna().all()


def test_trends_and_routing(synth):
    comp, ev = synth
    year = comp["created_at"].dt.year
    red = comp["building_id"].isin([f"b{i}" for i in range(20)])
    r24, r25 = ((year == 2024) & red).sum(), ((year == 2025) & red).sum()
    p24, p25 = ((year == 2024) & ~red).sum(), ((year == 2025) & ~red).sum()
    assert r25 / r24 < 0.75 and 0.7 < p25 / p24 < 0.95  # red estates fall faster (0.62 vs 0.82 expected)
    assert (comp.loc[comp["building_id"] == "b0", "filed_grid_code"] == "G0").all()
    assert (comp.loc[comp["building_id"] == "b0", "assignee"] == "s0").all()
    assert set(comp["channel"]) <= set(C.CHANNELS)
    assert (comp["state"] == "supervised").sum() + (ev["to_state"] == "supervised").sum() > 0
    dup = comp[comp["state"] == "duplicate"]
    assert dup["duplicate_of"].isin(comp["id"]).all() and len(dup)
    open_now = comp["state"].map(C.is_open)
    assert open_now.sum() > 0  # the most recent requests are still being handled
