"""The complaint lifecycle table, evaluation, escalation, routing at a grid boundary and duplicates."""

from __future__ import annotations

import datetime as dt
import itertools

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gridmap.domain import complaints as C
from gridmap.domain.complaints import ComplaintError, IllegalTransition, Policy
from gridmap.domain.workdays import WorkCalendar, china_calendar

T0 = dt.datetime(2025, 3, 3, 9, 0)  # Monday
POLICY = Policy(calendar=WorkCalendar())


def _record(state: str = "collected", **kw) -> dict:
    rec, _ = C.new_complaint(
        id="c1",
        category="parking",
        description="车位被占",
        at=T0,
        channel="map",
        lon=120.4,
        lat=36.3,
        actor="resident",
        policy=POLICY,
    )
    rec.update(state=state, **kw)
    return rec


# -- the table ----------------------------------------------------------------------------------
def test_states_have_types_and_names():
    assert {s.type for s in C.STATES.values()} == {"open", "closed"}
    assert all(s.zh and s.en for s in C.STATES.values())
    for t in C.TRANSITIONS:
        assert t.source in C.STATES and t.target in C.STATES and t.by


def _changes_for(target: str) -> dict:
    return {"duplicate": {"duplicate_of": "c0"}, "reassigned": {"department": "police"}}.get(target, {})


@pytest.mark.parametrize("t", C.TRANSITIONS, ids=lambda t: f"{t.source}->{t.target}")
def test_every_allowed_transition(t):
    was_closed = C.STATES[t.source].type == "closed"
    rec = _record(t.source, escalation=0, closed_at=T0 if was_closed else None)
    by = sorted(t.by)[0]
    at = T0 + dt.timedelta(days=1)
    new, ev = C.apply(rec, t.target, actor="u1", by=by, at=at, seq=7, note="n", changes=_changes_for(t.target))
    assert new["state"] == t.target and rec["state"] == t.source  # input untouched
    assert ev == {
        "complaint_id": "c1",
        "seq": 7,
        "from_state": t.source,
        "to_state": t.target,
        "actor": "u1",
        "at": at,
        "note": "n",
    }
    closed = C.STATES[t.target].type == "closed"
    assert (new["closed_at"] is not None) == closed
    if closed:  # closing stamps the time once; closed → closed keeps the first
        assert new["closed_at"] == (T0 if was_closed else at)
    if t.target == "supervised":
        assert new["escalation"] == 1


ALLOWED = {(t.source, t.target) for t in C.TRANSITIONS}
REFUSED = [p for p in itertools.product(C.STATES, C.STATES) if p not in ALLOWED]


@pytest.mark.parametrize("pair", REFUSED, ids=lambda p: f"{p[0]}->{p[1]}")
def test_every_refused_transition(pair):
    source, target = pair
    rec = _record(source)
    with pytest.raises(IllegalTransition, match=f"cannot go from {source}"):
        C.apply(rec, target, actor="u1", by="staff", at=T0, seq=2, changes=_changes_for(target))


def test_actor_kind_is_checked():
    with pytest.raises(IllegalTransition, match="done by staff"):
        C.apply(_record("collected"), "dispatched", actor="d", by="department", at=T0, seq=2)
    # staff may do a department's step (grid leader handles it)
    new, _ = C.apply(_record("dispatched"), "responding", actor="g", by="staff", at=T0, seq=2)
    assert new["state"] == "responding"
    with pytest.raises(IllegalTransition):
        C.apply(_record("responding"), "resolved", actor="sys", by="system", at=T0, seq=2)


def test_guards_and_bad_input():
    with pytest.raises(ComplaintError, match="duplicate_of"):
        C.apply(_record(), "duplicate", actor="u", by="staff", at=T0, seq=2)
    with pytest.raises(ComplaintError, match="unknown department"):
        C.apply(_record("returned"), "reassigned", actor="u", by="staff", at=T0, seq=2, changes={"department": "fire"})
    with pytest.raises(ComplaintError, match="cannot be changed"):
        C.apply(_record(), "dispatched", actor="u", by="staff", at=T0, seq=2, changes={"state": "x"})
    with pytest.raises(ComplaintError, match="unknown state"):
        C.apply(_record(), "flying", actor="u", by="staff", at=T0, seq=2)
    with pytest.raises(ComplaintError, match="unknown category"):
        C.new_complaint(
            id="x", category="ufo", description="d", at=T0, channel="map", lon=1, lat=1, actor="a", policy=POLICY
        )
    with pytest.raises(ComplaintError, match="empty"):
        C.new_complaint(
            id="x", category="other", description="  ", at=T0, channel="map", lon=1, lat=1, actor="a", policy=POLICY
        )
    with pytest.raises(ComplaintError, match="outside the earth"):
        C.new_complaint(
            id="x", category="other", description="d", at=T0, channel="map", lon=200, lat=1, actor="a", policy=POLICY
        )


# -- SLA ----------------------------------------------------------------------------------------
def test_sla_kinds_and_override():
    fri = dt.datetime(2025, 3, 7, 10)
    for cat, due in [
        ("consultation", dt.date(2025, 3, 11)),
        ("medical", dt.date(2025, 3, 21)),
        ("parking", dt.date(2025, 3, 28)),
    ]:
        rec, ev = C.new_complaint(
            id="x", category=cat, description="d", at=fri, channel="phone", lon=120, lat=36, actor="a", policy=POLICY
        )
        assert rec["due_at"].date() == due, cat
        assert ev["seq"] == 1 and ev["to_state"] == "collected" and ev["from_state"] is None
    p = C.with_sla(POLICY, {"consultation": 1})
    rec, _ = C.new_complaint(
        id="x", category="consultation", description="d", at=fri, channel="phone", lon=120, lat=36, actor="a", policy=p
    )
    assert rec["due_at"].date() == dt.date(2025, 3, 10)


def test_sla_across_spring_festival():
    p = Policy(calendar=china_calendar([2024]))
    rec, _ = C.new_complaint(
        id="x",
        category="consultation",
        description="d",
        at=dt.datetime(2024, 2, 8, 15),
        channel="phone",
        lon=120,
        lat=36,
        actor="a",
        policy=p,
    )
    # Fri 9 Feb worked, 10–17 off, Sun 18 worked (make-up day)
    assert rec["due_at"] == dt.datetime(2024, 2, 18, 23, 59, 59)


# -- evaluation and reopening -------------------------------------------------------------------
def _resolved(at=T0):
    rec = _record("responding")
    new, _ = C.apply(rec, "resolved", actor="dept", by="department", at=at, seq=4)
    return new


def test_satisfied_evaluation_closes():
    rec = _resolved()
    new, events = C.evaluate(
        rec, rating=5, resolved=True, actor="gl", at=T0 + dt.timedelta(days=1), seq=5, policy=POLICY
    )
    assert new["state"] == "evaluated" and new["rating"] == 5 and new["resolved"] is True
    assert [e["to_state"] for e in events] == ["evaluated"]
    assert new["closed_at"] == T0  # still closed when resolved


def test_unsatisfied_evaluation_reopens_within_window():
    rec = _resolved()
    new, events = C.evaluate(
        rec, rating=2, resolved=True, actor="gl", at=T0 + dt.timedelta(days=2), seq=5, policy=POLICY
    )
    assert [e["to_state"] for e in events] == ["evaluated", "reopened"]
    assert [e["seq"] for e in events] == [5, 6]
    assert new["state"] == "reopened" and new["closed_at"] is None and new["rating"] == 2
    new2, events2 = C.evaluate(
        rec, rating=5, resolved=False, actor="gl", at=T0 + dt.timedelta(days=3), seq=5, policy=POLICY
    )
    assert new2["state"] == "reopened"


def test_unsatisfied_after_window_stays_evaluated_and_reopen_refused():
    rec = _resolved()
    late = T0 + dt.timedelta(days=POLICY.reopen_days + 1)
    new, events = C.evaluate(rec, rating=1, resolved=False, actor="gl", at=late, seq=5, policy=POLICY)
    assert new["state"] == "evaluated" and len(events) == 1
    with pytest.raises(IllegalTransition, match="within 15 days"):
        C.reopen(new, actor="gl", at=late, seq=6, policy=POLICY)
    ok, ev = C.reopen(new, actor="gl", at=T0 + dt.timedelta(days=3), seq=6, policy=POLICY)
    assert ok["state"] == "reopened" and ev["from_state"] == "evaluated"


@pytest.mark.parametrize("rating", [0, 6, "x", None])
def test_rating_out_of_range(rating):
    with pytest.raises(ComplaintError, match="rating"):
        C.evaluate(_resolved(), rating=rating, resolved=True, actor="a", at=T0, seq=5, policy=POLICY)


def test_evaluate_only_after_resolution():
    with pytest.raises(IllegalTransition):
        C.evaluate(_record("responding"), rating=5, resolved=True, actor="a", at=T0, seq=3, policy=POLICY)


# -- escalation ---------------------------------------------------------------------------------
def test_escalation_grid_leader_community_street():
    rec = _record("responding")  # filed Mon 3 Mar 2025, parking: 15 working days → Mon 24 Mar
    assert rec["due_at"] == dt.datetime(2025, 3, 24, 23, 59, 59)
    assert C.escalate(rec, dt.datetime(2025, 3, 24, 12), seq=3, policy=POLICY) == []
    steps = C.escalate(rec, dt.datetime(2025, 3, 25, 9), seq=3, policy=POLICY)
    assert [(r["state"], r["escalation"], e["seq"]) for r, e in steps] == [("supervised", 1, 3)]
    assert "community" in steps[0][1]["note"]
    cur = steps[-1][0]
    # 3 working days late: still community; 4: street
    assert C.escalate(cur, dt.datetime(2025, 3, 27, 12), seq=4, policy=POLICY) == []
    steps2 = C.escalate(cur, dt.datetime(2025, 3, 28, 12), seq=4, policy=POLICY)
    assert [(r["escalation"], e["from_state"]) for r, e in steps2] == [(2, "supervised")]
    assert "street" in steps2[0][1]["note"]
    assert C.escalate(steps2[-1][0], dt.datetime(2025, 5, 1), seq=5, policy=POLICY) == []
    with pytest.raises(IllegalTransition, match="highest"):
        C.apply(steps2[-1][0], "supervised", actor="s", by="staff", at=T0, seq=5)


def test_escalation_jumps_two_levels_when_long_overdue_and_skips_closed():
    rec = _record("dispatched")
    steps = C.escalate(rec, dt.datetime(2025, 4, 30), seq=2, policy=POLICY)
    assert [r["escalation"] for r, _ in steps] == [1, 2] and [e["seq"] for _, e in steps] == [2, 3]
    assert C.escalate(_record("resolved"), dt.datetime(2025, 4, 30), seq=2, policy=POLICY) == []
    assert C.escalate(_record("duplicate"), dt.datetime(2025, 4, 30), seq=2, policy=POLICY) == []
    # a request nobody dispatched, or one a department sent back, is chased too
    for state in ("collected", "returned"):
        steps = C.escalate(_record(state), dt.datetime(2025, 4, 30), seq=2, policy=POLICY)
        assert [e["from_state"] for _, e in steps] == [state, "supervised"]


# -- routing ------------------------------------------------------------------------------------
CRS = "EPSG:4549"
X0, Y0 = 500000.0, 4017000.0  # around 120°E, 36.3°N


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs("EPSG:4326")


@pytest.fixture(scope="module")
def world():
    # grid G1 x∈[0,100], G2 x∈[100,200]; b1 well inside G1, b2 5 m from G2, b3 inside G2
    grids = _gdf(
        {"code": ["G1", "G2"], "community_id": ["C", "C"]},
        [box(X0, Y0, X0 + 100, Y0 + 100), box(X0 + 100, Y0, X0 + 200, Y0 + 100)],
    )
    buildings = _gdf(
        {"id": ["b1", "b2", "b3"], "estate_id": ["e1", "e1", "e2"], "community_id": ["C", "C", "C"]},
        [
            box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30),
            box(X0 + 75, Y0 + 10, X0 + 95, Y0 + 30),
            box(X0 + 150, Y0 + 10, X0 + 170, Y0 + 30),
        ],
    )
    stewards = gpd.GeoDataFrame(
        {
            "id": ["s1", "s2", "s3"],
            "role": ["grid_leader", "grid_leader", "property_steward"],
            "serves": ["G1", "G2", "e1"],
        }
    )
    return dict(buildings=buildings, grids=grids, stewards=stewards, assignment={"b1": "G1", "b2": "G1", "b3": "G2"})


def _lonlat(x, y):
    p = gpd.GeoSeries([Point(X0 + x, Y0 + y)], crs=CRS).to_crs("EPSG:4326").iloc[0]
    return p.x, p.y


def test_route_inside_a_grid(world):
    r = C.route(*_lonlat(20, 20), category="parking", policy=POLICY, **world)
    assert (r.building_id, r.grid_code, r.grid_leader_id, r.property_steward_id) == ("b1", "G1", "s1", "s3")
    assert r.department == "urban_management" and r.placement == "contained"
    assert not r.needs_confirmation and r.reasons == ()
    assert r.agency() == "城管 / 网格 G1"


def test_route_near_grid_boundary_needs_confirmation(world):
    r = C.route(*_lonlat(90, 20), category="neighbour_dispute", policy=POLICY, **world)
    assert (r.building_id, r.grid_code, r.department) == ("b2", "G1", "judicial_mediation")
    assert r.needs_confirmation and "from another grid" in r.reasons[0]
    # with a smaller boundary distance the same point is routed without confirmation
    r2 = C.route(*_lonlat(90, 20), category="parking", policy=Policy(calendar=WorkCalendar(), boundary_m=5), **world)
    assert not r2.needs_confirmation


def test_route_nearest_building_and_area_only(world):
    r = C.route(*_lonlat(40, 20), category="parking", policy=POLICY, **world)  # 10 m east of b1
    assert r.building_id == "b1" and r.placement == "nearest" and r.placement_distance_m == pytest.approx(10, abs=0.1)
    r2 = C.route(*_lonlat(50, 90), category="parking", policy=Policy(nearest_m=5), **world)
    assert r2.building_id is None and r2.grid_code == "G1" and r2.placement == "area"
    assert r2.needs_confirmation and r2.grid_leader_id == "s1"
    far = C.route(*_lonlat(1000, 1000), category="parking", policy=POLICY, **world)
    assert far.grid_code is None and far.placement == "rejected" and far.needs_confirmation


# -- duplicates ---------------------------------------------------------------------------------
def test_duplicates_same_category_open_within_radius():
    pts = {"a": (0, 0), "b": (60, 0), "c": (100, 0), "d": (10, 0), "e": (5, 0)}
    cand = _gdf(
        {
            "id": list(pts),
            "category": ["parking", "parking", "parking", "sanitation", "parking"],
            "state": ["dispatched", "collected", "responding", "collected", "resolved"],
        },
        [Point(X0 + x, Y0 + y) for x, y in pts.values()],
    )
    found = C.find_duplicates(*_lonlat(0, 0), category="parking", candidates=cand, policy=POLICY)
    # parking radius 80 m: a (0 m) and b (60 m); c is 100 m away, d another category, e closed
    assert [i for i, _ in found] == ["a", "b"] and found[1][1] == pytest.approx(60, abs=0.1)
    assert (
        C.find_duplicates(*_lonlat(0, 0), category="parking", candidates=cand, policy=POLICY, exclude="a")[0][0] == "b"
    )
    assert C.find_duplicates(*_lonlat(0, 0), category="consultation", candidates=cand, policy=POLICY) == []
