"""One point → building matcher (gridmap.domain.placement.match_points): placement and complaint routing
find the same building for a point, break ties the same way (lowest id), each with its own tolerance."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gridmap.domain import complaints as C
from gridmap.domain.complaints import Policy
from gridmap.domain.placement import PlacementWorld, place
from gridmap.domain.workdays import WorkCalendar
from gridmap.services.complaints import policy_from

CRS = "EPSG:4549"
X0, Y0 = 500000.0, 4017000.0  # around 120°E, 36.3°N


def _frame(rows, geoms):
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs(4326)


def _lonlat(x, y):
    p = gpd.GeoSeries([Point(X0 + x, Y0 + y)], crs=CRS).to_crs(4326).iloc[0]
    return p.x, p.y


# "b9" comes first in the frame: a matcher that takes the first candidate would pick it
BUILDINGS = _frame(
    {"id": ["b9", "b2", "b5"], "estate_id": ["e1", "e1", "e2"], "community_id": ["C"] * 3},
    [
        box(X0 + 30, Y0, X0 + 50, Y0 + 20),  # b9: 10 m east of the gap's middle
        box(X0, Y0, X0 + 10, Y0 + 20),  # b2: 10 m west of it
        box(X0 + 50, Y0, X0 + 70, Y0 + 20),
    ],
)  # b5: shares b9's east edge
COMMUNITIES = _frame({"id": ["C"]}, [box(X0 - 100, Y0 - 100, X0 + 200, Y0 + 200)])
GRIDS = _frame({"code": ["G1"], "community_id": ["C"]}, [box(X0 - 100, Y0 - 100, X0 + 200, Y0 + 200)])
ASSIGNMENT = {"b9": "G1", "b2": "G1", "b5": "G1"}


def _placed(x, y, tolerance_m):
    rec = gpd.GeoDataFrame({"id": ["r1"]}, geometry=[Point(*_lonlat(x, y))], crs=4326)
    row = place(rec, PlacementWorld(BUILDINGS, COMMUNITIES), tolerance_m=tolerance_m).frame.iloc[0]
    building = None if row["building_id"] is None or row["building_id"] != row["building_id"] else row["building_id"]
    return building, row["placement"], row["placement_distance_m"]


def _routed(x, y, policy):
    r = C.route(
        *_lonlat(x, y), category="parking", policy=policy, buildings=BUILDINGS, grids=GRIDS, assignment=ASSIGNMENT
    )
    return r.building_id, r.placement, r.placement_distance_m


@pytest.mark.parametrize(
    "x, y, building, outcome",
    [
        (20, 10, "b2", "nearest"),  # 10 m from b2 and from b9: the lower id
        (50, 10, "b5", "contained"),  # on the edge b9 and b5 share: the lower id
        (5, 10, "b2", "contained"),
        (40, 25, "b9", "nearest"),  # 5 m north of b9
    ],
)
def test_ties_break_the_same_way_in_placement_and_routing(x, y, building, outcome):
    got, how, dist = _placed(x, y, 60.0)
    assert (got, how) == (building, outcome)
    r_got, r_how, r_dist = _routed(x, y, Policy(calendar=WorkCalendar(), nearest_m=60.0))
    assert (r_got, r_how) == (building, outcome)
    assert r_dist == pytest.approx(dist, abs=0.05)


def test_each_caller_keeps_its_own_tolerance():
    # 30 m north of b2's top edge: within placement's 50 m, outside a routing tolerance of 25 m
    assert _placed(5, 50, 50.0)[:2] == ("b2", "nearest")
    assert _placed(5, 50, 25.0)[:2] == (None, "area")
    short = policy_from({"COMPLAINT_NEAREST_M": 25})
    assert short.nearest_m == 25.0
    assert _routed(5, 50, short)[0] is None
    long_ = policy_from({"COMPLAINT_NEAREST_M": 50})
    assert _routed(5, 50, long_)[:2] == ("b2", "nearest")
    assert _routed(5, 50, long_)[2] == pytest.approx(30.0, abs=0.1)
