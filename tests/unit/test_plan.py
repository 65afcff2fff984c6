"""GridPlan is a value: changes return new plans that remember their parent and moves."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.domain.plan import Assignment, GridPlan, Move, PlanError


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


# ---------------------------------------------------------------------------------------------
# Assignment: a changed plan shares what did not change


def test_a_change_shares_the_unchanged_entries_and_leaves_the_old_plan_as_it_was(plan):
    new = plan.reassign([("b2", "g2")])
    assert isinstance(new.assignment, Assignment)
    assert dict(plan.assignment) == {"b1": "g1", "b2": "g1", "b3": "g2", "b4": "g3"}
    assert dict(new.assignment) == {"b1": "g1", "b2": "g2", "b3": "g2", "b4": "g3"}
    assert list(new.assignment) == list(plan.assignment)  # building order kept
    assert new.assignment.codes() == {"g1", "g2", "g3"}
    assert new.reassign([("b1", "g2")]).assignment.codes() == {"g2", "g3"}
    back = new.reassign([("b2", "g1")])
    assert back.assignment == plan.assignment and back.same_assignment(plan)
    assert new.assignment != plan.assignment and new.assignment == {"b1": "g1", "b2": "g2", "b3": "g2", "b4": "g3"}
    assert sorted(new.assignment.items()) == [("b1", "g1"), ("b2", "g2"), ("b3", "g2"), ("b4", "g3")]
    assert sorted(new.assignment.values()) == ["g1", "g2", "g2", "g3"]
    assert new.assignment.get("b9") is None and new.assignment.get("b2") == "g2" and "b9" not in new.assignment


def test_a_dropped_grid_must_be_empty_whatever_the_chain_of_changes_before(plan):
    emptied = plan.reassign([("b3", "g1")]).without_grids(["g2"])  # counts carried change by change
    assert "g2" not in emptied.grid_community
    with pytest.raises(PlanError, match="without a community"):
        GridPlan(plan.reassign([("b2", "g2")]).assignment, {"g1": "c1", "g3": "c2"})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 299), st.sampled_from(["g1", "g2", "g3", "g4"])), max_size=40),
        min_size=1,
        max_size=40,
    )
)
def test_a_chain_of_changes_reads_like_a_plain_dict(steps):
    """Hundreds of changes (past the point where the shared base is rebuilt) read exactly like a dict
    changed in place, and every plan of the chain still reads as it did when it was made."""
    model = {f"b{i}": f"g{i % 4 + 1}" for i in range(300)}
    plan = GridPlan(model, {f"g{k}": "c1" for k in range(1, 5)})
    seen = [(plan, dict(model))]
    everyone = [(i, f"g{(i + 1) % 4 + 1}") for i in range(300)]  # every building at once: the base is rebuilt
    for step in [*steps, everyone, *steps]:
        plan = plan.reassign([(f"b{i}", g) for i, g in step])
        for i, g in step:
            model[f"b{i}"] = g
        seen.append((plan, dict(model)))
    for p, expected in seen:
        assert dict(p.assignment) == expected and p.assignment == expected
        assert p.assignment.codes() == set(expected.values())
        assert {g: set(bs) for g, bs in p.grids.items() if bs} == {
            g: {b for b, x in expected.items() if x == g} for g in set(expected.values())
        }
