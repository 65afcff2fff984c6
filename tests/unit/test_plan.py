"""GridPlan is a value: changes return new plans that remember their parent and moves."""

from __future__ import annotations

import pytest

from gridmap.domain.plan import GridPlan, Move, PlanError


@pytest.fixture
def plan() -> GridPlan:
    return GridPlan({"b1": "g1", "b2": "g1", "b3": "g2", "b4": "g3"}, {"g1": "c1", "g2": "c1", "g3": "c2"})


def test_views(plan):
    assert plan.grids == {"g1": frozenset({"b1", "b2"}), "g2": frozenset({"b3"}), "g3": frozenset({"b4"})}
    assert plan.grid_of("b3") == "g2"
    assert plan.grids_in("c1") == ["g1", "g2"]
    with pytest.raises(PlanError, match="b9"):
        plan.grid_of("b9")


def test_immutable(plan):
    with pytest.raises(TypeError):
        plan.assignment["b1"] = "g2"  # type: ignore[index]
    with pytest.raises(AttributeError):
        plan.id = "x"  # type: ignore[misc]


def test_reassign_returns_new_plan_with_parent_and_moves(plan):
    new = plan.reassign([("b2", "g2"), ("b1", "g1")])
    assert plan.grid_of("b2") == "g1" and new.grid_of("b2") == "g2"
    assert new.parent is plan and new.moves == (Move("b2", "g1", "g2"),)
    assert new.history() == [new, plan]
    assert not new.same_assignment(plan)
    assert new.reassign({"b2": "g1"}).same_assignment(plan)


def test_refused_changes(plan):
    with pytest.raises(PlanError, match="two communities"):
        plan.reassign([("b1", "g3")])
    with pytest.raises(PlanError, match="does not exist"):
        plan.reassign([("b1", "g9")])
    with pytest.raises(PlanError, match="not in this plan"):
        plan.reassign([("b9", "g1")])
    with pytest.raises(PlanError, match="without a community"):
        GridPlan({"b1": "gx"}, {})


def test_new_and_dropped_grids(plan):
    split = plan.reassign([("b2", "g4")], new_grids={"g4": "c1"})
    assert split.grids["g4"] == frozenset({"b2"})
    merged = split.reassign([("b2", "g1")]).without_grids(["g4"])
    assert "g4" not in merged.grid_community
    with pytest.raises(PlanError, match="still hold"):
        plan.without_grids(["g1"])
