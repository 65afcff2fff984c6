"""The complaint rules at their edges, each pinned by a test that a one-token change would break: the default
department of a request with no route, the description and contact limits, actor kinds, coordinates at
±180/±90, an SLA of 0 days, the community inherited from the grid drawn under an off-building point, the
tie-break between several stewards, routing away from 120°E, and every row of the transitions table by actor."""

from __future__ import annotations

import dataclasses
import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from gridmap.domain import complaints as C
from gridmap.domain.complaints import ComplaintError, Policy
from gridmap.domain.complaints.catalogue import CATEGORIES, MAX_DESCRIPTION
from gridmap.domain.workdays import WorkCalendar

T0 = dt.datetime(2025, 3, 3, 9, 0)  # Monday
POLICY = Policy(calendar=WorkCalendar())


def _new(**kw):
    args = dict(
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
    args.update(kw)
    return C.new_complaint(**args)


def test_a_request_without_a_route_goes_to_the_categorys_lead_department():
    for code, cat in C.CATEGORIES.items():
        rec, ev = _new(category=code)
        assert rec["department"] == cat.departments[0], code
        assert rec["assignee"] is None and rec["filed_grid_code"] is None and rec["needs_confirmation"] is True
        assert rec["placement"] == "rejected" and ev["seq"] == 1 and ev["from_state"] is None
    # a route's department wins over the category's
    rec, _ = _new(route=C.Route(department="police", grid_code="G1", needs_confirmation=False))
    assert rec["department"] == "police" and rec["filed_grid_code"] == "G1" and rec["needs_confirmation"] is False


def test_description_limit_is_exact():
    rec, _ = _new(description="灯" * MAX_DESCRIPTION)
    assert len(rec["description"]) == MAX_DESCRIPTION == 4000
    with pytest.raises(ComplaintError, match="description"):
        _new(description="灯" * (MAX_DESCRIPTION + 1))
    with pytest.raises(ComplaintError, match="empty"):
        _new(description="   ")


def test_contact_fields_are_checked_and_blank_ones_stored_as_none():
    rec, _ = _new(contact_name="  ", contact_phone="")
    assert rec["contact_name"] is None and rec["contact_phone"] is None
    rec, _ = _new(contact_name="张三", contact_phone="13812345678")
    assert (rec["contact_name"], rec["contact_phone"]) == ("张三", "13812345678")
    with pytest.raises(ComplaintError):
        _new(contact_phone="12")
    with pytest.raises(ComplaintError):
        _new(contact_name="张" * (C.MAX_NAME + 1))
    with pytest.raises(ComplaintError, match="channel"):
        _new(channel="carrier pigeon")


@pytest.mark.parametrize("lon, lat", [(180.0, 90.0), (-180.0, -90.0), (0.0, 0.0)])
def test_coordinates_on_the_edges_of_the_globe_are_accepted(lon, lat):
    rec, _ = _new(lon=lon, lat=lat)
    assert (rec["lon"], rec["lat"]) == (lon, lat)


@pytest.mark.parametrize("lon, lat", [(180.0001, 0.0), (-180.0001, 0.0), (0.0, 90.0001), (0.0, -90.0001)])
def test_coordinates_past_the_edges_are_refused(lon, lat):
    with pytest.raises(ComplaintError, match="location"):
        _new(lon=lon, lat=lat)


def test_unknown_actor_kinds_are_refused_not_ignored():
    with pytest.raises(ComplaintError, match="unknown actor kind 'robot'"):
        C.allowed_targets("collected", by="robot")
    assert C.allowed_targets("collected", by="system") == [
        t.target for t in C.TRANSITIONS if t.source == "collected" and "system" in t.by
    ]
    # staff may also do department steps; a department may not do staff-only ones
    staff = set(C.allowed_targets("collected", by="staff"))
    dept = set(C.allowed_targets("collected", by="department"))
    assert dept <= staff
    with pytest.raises(ComplaintError, match="state"):
        C.allowed_targets("no-such-state")


@pytest.mark.parametrize("t", C.TRANSITIONS, ids=lambda t: f"{t.source}->{t.target}")
def test_each_row_of_the_table_is_allowed_exactly_to_its_actor_kinds(t):
    for kind in ("staff", "department", "system"):
        kinds = {"staff", "department"} if kind == "staff" else {kind}
        assert (t.target in C.allowed_targets(t.source, by=kind)) == bool(t.by & kinds), kind


def test_an_sla_of_zero_days_is_due_at_the_end_of_the_filing_day():
    policy = C.with_sla(POLICY, {kind: 0 for kind in set(C.SLA_DAYS)})
    rec, _ = _new(policy=policy)
    assert rec["due_at"] == dt.datetime(2025, 3, 3, 23, 59, 59)
    assert not C.is_overdue(rec, dt.datetime(2025, 3, 3, 23, 59, 59))
    assert C.is_overdue(rec, dt.datetime(2025, 3, 4, 0, 0, 0))
    with pytest.raises(ComplaintError, match="≥ 0"):
        C.with_sla(POLICY, {"standard": -1})
    with pytest.raises(ComplaintError, match="whole numbers"):
        C.with_sla(POLICY, {"standard": 1.5})
    assert C.with_sla(POLICY, None) is POLICY and C.with_sla(POLICY, {}) is POLICY


def _world(crs: str, x0: float, y0: float):
    def gdf(rows, geoms):
        return gpd.GeoDataFrame(rows, geometry=geoms, crs=crs).to_crs("EPSG:4326")

    grids = gdf({"code": ["G1"], "community_id": ["C9"]}, [box(x0, y0, x0 + 100, y0 + 100)])
    buildings = gdf(
        {"id": ["b2", "b1"], "estate_id": ["e1", "e1"], "community_id": ["C1", "C1"]},
        [box(x0 + 10, y0 + 10, x0 + 30, y0 + 30), box(x0 + 10, y0 + 10, x0 + 30, y0 + 30)],
    )
    stewards = gpd.GeoDataFrame(
        {
            "id": ["s9", "s3", "p7", "p2"],
            "role": ["grid_leader", "grid_leader", "property_steward", "property_steward"],
            "serves": ["G1", "G1", "e1", "b1"],
        }
    )

    def lonlat(x, y):
        p = gpd.GeoSeries([Point(x0 + x, y0 + y)], crs=crs).to_crs("EPSG:4326").iloc[0]
        return p.x, p.y

    return dict(buildings=buildings, grids=grids, stewards=stewards, assignment={"b1": "G1", "b2": "G1"}), lonlat


@pytest.mark.parametrize(
    "crs, x0, y0",
    [("EPSG:4549", 500000.0, 4017000.0), ("EPSG:32650", 400000.0, 3400000.0), ("EPSG:32647", 600000.0, 1500000.0)],
    ids=["120E", "114E-30N", "100E-13N"],
)
def test_routing_ties_and_inheritance_hold_away_from_120E(crs, x0, y0):
    world, lonlat = _world(crs, x0, y0)
    # two identical footprints: the lowest id wins; several stewards serve it: the lowest id wins
    r = C.route(*lonlat(20, 20), category="parking", policy=POLICY, **world)
    assert (r.building_id, r.grid_code, r.community_id) == ("b1", "G1", "C1")
    assert r.grid_leader_id == "s3" and r.property_steward_id == "p2"
    # 10 m east of the footprints: matched at ≈10 m in every zone
    r = C.route(*lonlat(40, 20), category="parking", policy=POLICY, **world)
    assert r.building_id == "b1" and r.placement == "nearest"
    assert r.placement_distance_m == pytest.approx(10.0, abs=0.15)
    # off every building (nearest_m 5): the grid drawn there, and the community inherited from that grid
    r = C.route(*lonlat(80, 80), category="parking", policy=Policy(nearest_m=5), **world)
    assert (r.building_id, r.grid_code, r.community_id, r.placement) == (None, "G1", "C9", "area")
    assert r.needs_confirmation and r.reasons == ("no building at this location",)


def test_a_building_in_no_grid_is_still_a_contained_placement_and_empty_footprints_never_match():
    world, lonlat = _world("EPSG:4549", 500000.0, 4017000.0)
    lone = dict(world, assignment={}, grids=world["grids"].iloc[0:0])
    r = C.route(*lonlat(20, 20), category="parking", policy=POLICY, **lone)
    assert (r.building_id, r.grid_code, r.placement, r.placement_distance_m) == ("b1", None, "contained", 0.0)
    assert r.reasons == ("building is in no grid of the published plan",) and r.needs_confirmation
    # an empty footprint (and a missing one) with a lower id than the real building is never matched
    buildings = world["buildings"].copy()
    extra = gpd.GeoDataFrame(
        {"id": ["a0", "a1"], "estate_id": ["e1", "e1"], "community_id": ["C1", "C1"]},
        geometry=[Polygon(), None],
        crs="EPSG:4326",
    )
    both = gpd.GeoDataFrame(pd.concat([extra, buildings], ignore_index=True), crs="EPSG:4326")
    r = C.route(*lonlat(20, 20), category="parking", policy=POLICY, **dict(world, buildings=both))
    assert r.building_id == "b1" and r.placement == "contained"


def test_frames_in_a_projected_crs_route_and_find_duplicates_as_in_lonlat():
    """Buildings, grids and candidate requests may come as frames in any CRS: routing reads them in lon/lat."""
    world, lonlat = _world("EPSG:4549", 500000.0, 4017000.0)
    projected = dict(world, buildings=world["buildings"].to_crs("EPSG:4549"), grids=world["grids"].to_crs("EPSG:4549"))
    for x, y in ((20, 20), (40, 20), (80, 80)):
        a = C.route(*lonlat(x, y), category="parking", policy=Policy(nearest_m=30), **world)
        b = C.route(*lonlat(x, y), category="parking", policy=Policy(nearest_m=30), **projected)
        assert (b.building_id, b.grid_code, b.community_id, b.placement) == (
            a.building_id,
            a.grid_code,
            a.community_id,
            a.placement,
        )
        assert (b.placement_distance_m is None) == (a.placement_distance_m is None)
    cand = gpd.GeoDataFrame(
        {"id": ["a"], "category": ["parking"], "state": ["dispatched"]}, geometry=[Point(*lonlat(30, 20))], crs=4326
    ).to_crs("EPSG:4549")
    found = C.find_duplicates(*lonlat(20, 20), category="parking", candidates=cand, policy=POLICY)
    assert [i for i, _ in found] == ["a"] and found[0][1] == pytest.approx(10.0, abs=0.15)


def test_duplicates_are_off_at_a_radius_of_zero_and_unknown_states_are_not_open():
    _, lonlat = _world("EPSG:4549", 500000.0, 4017000.0)
    here = lonlat(20, 20)
    cand = [
        {"id": "a", "category": "parking", "state": "dispatched", "geometry": Point(*here)},
        {"id": "z", "category": "parking", "state": "no-such-state", "geometry": Point(*here)},
    ]
    assert C.find_duplicates(*here, category="parking", candidates=cand, policy=POLICY) == [("a", 0.0)]
    off = Policy(categories={**CATEGORIES, "parking": dataclasses.replace(CATEGORIES["parking"], duplicate_radius_m=0)})
    assert C.find_duplicates(*here, category="parking", candidates=cand, policy=off) == []
