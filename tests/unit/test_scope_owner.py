"""One scope rule: gridmap.domain.privacy.in_scope decides whether a viewer's area holds a record; the
complaint workflow (and through it Open311) and the web's require_scope ask it rather than deciding again."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest

from gridmap.domain import privacy
from gridmap.services.complaints import in_scope as request_in_scope

G1, G2 = "370214001001001", "370214001001002"  # two grids of community 370214001001
G3 = "370214002003001"  # a grid in another street
C1, S1 = "370214001001", "370214001"


@dataclass(frozen=True)
class V:
    role: str
    scope: dict[str, Any] = field(default_factory=dict)


VIEWERS = [
    V("admin"),
    V("planner"),
    V("viewer"),
    V("public"),
    V("grid_leader", {"grids": [G1]}),
    V("grid_leader", {"grids": G2}),
    V("community_official", {"communities": [C1]}),
    V("street_official", {"streets": [S1]}),
    V("street_official", {"streets": ["370214002"]}),
    V("department", {"departments": ["城管"]}),
    V("department", {"department": "urban_management"}),
    V("department", {"departments": ["公安"]}),
]
REQUESTS = [
    {"filed_grid_code": G1, "community_id": C1, "department": "urban_management"},
    {"filed_grid_code": G3, "community_id": "370214002003", "department": "police"},
    {"filed_grid_code": None, "community_id": None, "department": None},
    {"filed_grid_code": G2, "community_id": None, "department": "城管"},
]


@pytest.mark.parametrize("viewer, rec, grid", list(itertools.product(VIEWERS, REQUESTS, [None, G1, G2, G3])))
def test_a_request_is_in_scope_where_privacy_says_it_is(viewer, rec, grid):
    at_current = privacy.in_scope(viewer, privacy.Where.of({**rec, "grid_code": grid}))
    at_filed = privacy.in_scope(viewer, privacy.Where.of(rec))
    assert request_in_scope(viewer, rec, grid) is (at_current or at_filed)


def test_the_rule_itself():
    rec = {"filed_grid_code": G1, "community_id": C1, "department": "urban_management"}
    # a grid leader keeps a request filed in their grid after its building moved to another grid …
    assert request_in_scope(V("grid_leader", {"grids": [G1]}), rec, G2)
    # … and the leader of the new grid holds it too; a third grid's leader does not
    assert request_in_scope(V("grid_leader", {"grids": [G2]}), rec, G2)
    assert not request_in_scope(V("grid_leader", {"grids": [G3]}), rec, G2)
    # officials by the community and street the codes are in (a grid code alone is enough)
    bare = {"filed_grid_code": G3}
    assert request_in_scope(V("street_official", {"streets": ["370214002"]}), bare)
    assert request_in_scope(V("community_official", {"communities": ["370214002003"]}), bare)
    assert not request_in_scope(V("street_official", {"streets": [S1]}), bare)
    # departments by code, whichever way the scope or the record names them
    assert request_in_scope(V("department", {"departments": ["城管"]}), rec)
    assert request_in_scope(V("department", {"departments": ["urban management"]}), {"department": "城管"})
    assert not request_in_scope(V("department", {"departments": ["公安"]}), rec)
    assert not request_in_scope(V("viewer"), rec) and not request_in_scope(V("public"), rec)
