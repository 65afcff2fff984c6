from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.domain.diff import diff_plans
from gridmap.domain.plan import GridPlan
from rebalance_worlds import plan_from_rows

COM = "370214001001"
A, B, C = (f"{COM}{k:03d}" for k in (1, 2, 3))


def test_hand_drawn_diff():
    old = plan_from_rows(["AAB", "AAB"])
    new = old.reassign({"r0c1": B})
    hh = {b: 10 for b in old.assignment} | {"r0c1": 7}
    stewards = [
        {"id": "s1", "building_id": "r0c1", "role": "building_leader"},
        {"id": "s2", "building_id": "r0c0", "role": "grid_leader"},
    ]
    complaints = [{"id": "c1", "building_id": "r0c1"}, {"id": "c2", "building_id": "r1c2"}]
    d = diff_plans(old, new, households=hh, stewards=stewards, complaints=complaints)
    assert d.summary() == {
        "buildings": 1,
        "households": 7,
        "stewards": 1,
        "open_complaints": 1,
        "grids_added": 0,
        "grids_removed": 0,
        "grids_changed": 2,
    }
    assert d.buildings.to_dict("records") == [{"building_id": "r0c1", "from_grid": A, "to_grid": B, "households": 7}]
    grids = d.grids.set_index("code")
    assert grids.loc[A, "households_before"] == 37 and grids.loc[A, "households_after"] == 30
    assert grids.loc[B, "open_complaints_before"] == 1 and grids.loc[B, "open_complaints_after"] == 2
    json.dumps(d.as_dict())  # JSON-ready


@st.composite
def plan_pairs(draw):
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    buildings = [f"r{i}c{j}" for i in range(rows) for j in range(cols)]
    codes = [f"{COM}{k:03d}" for k in range(1, 5)]

    def plan(subset_codes):
        present = draw(st.lists(st.sampled_from(buildings), unique=True, min_size=1))
        return GridPlan({b: draw(st.sampled_from(subset_codes)) for b in present}, {c: COM for c in subset_codes})

    old = plan(codes[:3])
    new = plan(codes[1:])
    hh = {b: draw(st.integers(0, 50)) for b in buildings}
    stew = [
        {
            "id": f"s{k}",
            "building_id": draw(st.sampled_from(buildings)),
            "role": draw(st.sampled_from(["grid_leader", "volunteer"])),
        }
        for k in range(draw(st.integers(0, 6)))
    ]
    comp = [{"id": f"c{k}", "building_id": draw(st.sampled_from(buildings))} for k in range(draw(st.integers(0, 6)))]
    return old, new, hh, stew, comp


@settings(max_examples=120, deadline=None)
@given(plan_pairs())
def test_diff_matches_a_brute_force_comparison(pair):
    old, new, hh, stew, comp = pair
    d = diff_plans(old, new, households=hh, stewards=stew, complaints=comp)
    # brute force, one object at a time
    everything = sorted(set(old.assignment) | set(new.assignment))
    moved = [
        (b, old.assignment.get(b), new.assignment.get(b), hh[b])
        for b in everything
        if old.assignment.get(b) != new.assignment.get(b)
    ]
    got = [(r["building_id"], r["from_grid"], r["to_grid"], r["households"]) for r in d.buildings.to_dict("records")]
    assert got == moved
    assert d.households_moved == sum(m[3] for m in moved)
    assert sorted(d.stewards["id"]) == sorted(
        s["id"] for s in stew if old.assignment.get(s["building_id"]) != new.assignment.get(s["building_id"])
    )
    assert sorted(d.complaints["id"]) == sorted(
        c["id"] for c in comp if old.assignment.get(c["building_id"]) != new.assignment.get(c["building_id"])
    )
    grids = {r["code"]: r for r in d.grids.to_dict("records")}
    assert set(grids) == set(old.grid_community) | set(new.grid_community)
    for code, row in grids.items():
        for side, plan in (("before", old), ("after", new)):
            members = [b for b, g in plan.assignment.items() if g == code]
            assert row[f"buildings_{side}"] == len(members)
            assert row[f"households_{side}"] == sum(hh[b] for b in members)
            assert row[f"stewards_{side}"] == sum(1 for s in stew if s["building_id"] in members)
            assert row[f"open_complaints_{side}"] == sum(1 for c in comp if c["building_id"] in members)
        expected = (
            "added"
            if code not in old.grid_community
            else "removed"
            if code not in new.grid_community
            else "changed"
            if old.grids[code] != new.grids[code]
            else "unchanged"
        )
        assert row["status"] == expected
    json.dumps(d.as_dict())
