"""The rebalance's smaller rules, each stated on a hand-drawn world: what the checks report, how tied
buildings are read, how a grid is split, how far an excess travels, how an infeasible grid is explained,
and what bad input is refused with. (Written from the survivors of a mutation run, see docs/testing.md.)
"""

from __future__ import annotations

import pytest

from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance import (
    RebalanceError,
    check_grids,
    components,
    rebalance,
    split_off,
    together_groups,
)
from rebalance_worlds import lattice, plan_from_rows

COM = "370214001001"
A, B, C, D, E, F = (f"{COM}{k:03d}" for k in range(1, 7))


def moved(result):
    return sorted((m.building_id, m.from_grid, m.to_grid) for m in result.moves)


# ---------------------------------------------------------------------------------------------
# check_grids


def test_a_building_without_a_household_count_counts_as_empty_in_the_checks():
    plan = plan_from_rows(["AB"])
    checks = check_grids(plan, households={"r0c0": 12}, adjacency=lattice(1, 2), default_bounds=(0, 50))
    assert checks[A].households == 12
    assert checks[B].households == 0 and checks[B].buildings == 1


def test_check_grids_reads_each_communitys_own_bounds_and_fills_a_missing_side_from_the_default():
    other = "370214001002"
    plan = GridPlan(
        {"r0c0": A, "r0c1": B, "r0c2": f"{other}001"},
        {A: COM, B: COM, f"{other}001": other},
    )
    hh = {"r0c0": 30, "r0c1": 30, "r0c2": 30}
    adj = lattice(1, 3)
    own = check_grids(plan, households=hh, adjacency=adj, bounds={COM: (10, 20)}, default_bounds=(25, 40))
    assert (own[A].min, own[A].max, own[A].problems) == (10, 20, ("above_max",))
    assert (own[f"{other}001"].min, own[f"{other}001"].max, own[f"{other}001"].ok) == (25, 40, True)
    assert not own[A].within_bounds and own[f"{other}001"].within_bounds
    # a side left open (None) is taken from the default bounds
    no_min = check_grids(plan, households=hh, adjacency=adj, bounds={COM: (None, 35)}, default_bounds=(31, 40))
    assert (no_min[A].min, no_min[A].max, no_min[A].problems) == (31, 35, ("below_min",))
    no_max = check_grids(plan, households=hh, adjacency=adj, bounds={COM: (5, None)}, default_bounds=(25, 29))
    assert (no_max[A].min, no_max[A].max, no_max[A].problems) == (5, 29, ("above_max",))


def test_check_grids_names_an_empty_grid_and_an_over_full_one():
    plan = GridPlan({"r0c0": A, "r0c1": A}, {A: COM, B: COM})
    checks = check_grids(plan, households={"r0c0": 40, "r0c1": 20}, adjacency=lattice(1, 2), default_bounds=(10, 50))
    assert checks[A].problems == ("above_max",) and checks[A].households == 60 and checks[A].parts == 1
    assert checks[B].problems == ("empty", "below_min") and checks[B].buildings == 0 and checks[B].parts == 0
    assert (checks[A].code, checks[A].community) == (A, COM)


def test_check_grids_refuses_a_grid_that_is_not_in_the_plan():
    plan = plan_from_rows(["AB"])
    with pytest.raises(RebalanceError, match="not in this plan"):
        check_grids(plan, households={"r0c0": 1, "r0c1": 1}, adjacency=lattice(1, 2), codes=[A, "X"])


def test_components_counts_the_parts_of_a_subset_only():
    adj = lattice(1, 5)
    assert components([], adj) == 0
    assert components(["r0c0", "r0c1", "r0c2"], adj) == 1
    assert components(["r0c0", "r0c2", "r0c4"], adj) == 3
    assert components(["r0c0", "r0c1", "r0c3", "r0c4"], adj) == 2


# ---------------------------------------------------------------------------------------------
# together_groups


def test_together_groups_ignores_rows_without_both_buildings_and_unknown_buildings():
    rows = [
        {"role": "building_leader", "building_id": "b1", "serves": "b2"},
        {"role": "building_leader", "serves": "b3"},  # no home building
        {"role": "building_leader", "building_id": "b4"},  # serves nothing
        {"role": "building_leader", "building_id": "b5", "serves": "b5"},  # serves their own building
        {"role": "building_leader", "building_id": "b1", "serves": "b9"},  # b9 is not a known building
        {"role": "building_leader", "building_id": "b9", "serves": "b2"},  # nor here
        {"role": "grid_leader", "building_id": "b2", "serves": "b3"},
    ]
    known = ["b1", "b2", "b3", "b4", "b5"]
    assert together_groups(rows, buildings=known) == [frozenset({"b1", "b2"})]
    # without the list of buildings every well-formed pair counts
    assert together_groups(rows) == [frozenset({"b1", "b2"}), frozenset({"b1", "b9"}), frozenset({"b9", "b2"})]


# ---------------------------------------------------------------------------------------------
# split_off


def test_split_off_carves_about_half_from_the_far_end_of_the_grid():
    plan = plan_from_rows(["AAAAAA", "BBBBBB"])
    hh = {b: 10 for b in plan.assignment}
    adj = lattice(2, 6)
    # the far end of a breadth-first walk from the smallest id (r0c0) is r0c5: three buildings, 30 of 60
    assert split_off(plan, A, C, households=hh, adjacency=adj) == ["r0c3", "r0c4", "r0c5"]
    # B's far end from r1c0 is r1c5; the heavy end building alone is about half
    heavy = hh | {"r1c5": 50}
    assert split_off(plan, B, C, households=heavy, adjacency=adj) == ["r1c5"]
    part = split_off(plan, A, C, households=hh | {"r0c4": 25}, adjacency=adj)
    assert part == ["r0c4", "r0c5"] and components(part, adj) == 1


def test_split_off_stops_at_half_even_when_the_next_building_would_land_closer():
    plan = plan_from_rows(["AAAA"])
    adj = lattice(1, 4)
    # half is 20: r0c3 (10) + r0c2 (10) reach it exactly, r0c1 is not taken
    assert split_off(plan, A, B, households={"r0c0": 10, "r0c1": 0, "r0c2": 10, "r0c3": 10}, adjacency=adj) == [
        "r0c2",
        "r0c3",
    ]


# ---------------------------------------------------------------------------------------------
# rebalance: non-contiguous grids, chains, reports, input


def test_a_grid_already_in_two_parts_can_still_give_a_building_away():
    plan = plan_from_rows(["AABAA"])
    hh = {f"r0c{j}": 10 for j in range(5)}  # A = 40 in two parts, B = 10
    res = rebalance(plan, households=hh, adjacency=lattice(1, 5), default_bounds=(10, 30), allow_new_grids=False)
    assert res.infeasible == () and res.households_moved == 10 and len(res.moves) == 1
    assert res.moves[0].from_grid == A and res.moves[0].to_grid == B
    assert res.moves[0].building_id in {"r0c1", "r0c3"}
    assert components(res.plan.grids[A], lattice(1, 5)) == 2  # no more parts than before


def _six_grid_line():
    """Six grids of two buildings in a row; A is 4 over, B … E are full, only F has room."""
    plan = plan_from_rows(["AABBCCDDEEFF"])
    sizes = [16, 8] + [12, 8] * 4 + [5, 5]
    return plan, dict(zip([f"r0c{j}" for j in range(12)], sizes)), lattice(1, 12)


def test_an_excess_travels_along_at_most_max_chain_grids():
    plan, hh, adj = _six_grid_line()
    # A → B → C → D → E → F is five steps: beyond the default of four, and nothing else can help
    res = rebalance(plan, households=hh, adjacency=adj, default_bounds=(10, 20), allow_new_grids=False)
    assert res.moves == ()
    assert [(i.grid, i.households, i.reason) for i in res.infeasible] == [(A, 24, "no_contiguous_transfer")]
    longer = rebalance(plan, households=hh, adjacency=adj, default_bounds=(10, 20), allow_new_grids=False, max_chain=5)
    assert longer.infeasible == ()
    steps = zip([A, B, C, D, E], [B, C, D, E, F])
    assert moved(longer) == [(f"r0c{2 * k + 1}", g, h) for k, (g, h) in enumerate(steps)]
    assert longer.households_moved == 40


def test_a_chain_of_four_grids_is_within_the_default():
    plan = plan_from_rows(["AABBCCDDEE"])
    hh = dict(zip([f"r0c{j}" for j in range(10)], [16, 8] + [12, 8] * 3 + [5, 5]))
    res = rebalance(plan, households=hh, adjacency=lattice(1, 10), default_bounds=(10, 20), allow_new_grids=False)
    assert res.infeasible == () and res.households_moved == 32
    assert [m.building_id for m in sorted(res.moves, key=lambda m: m.building_id)] == ["r0c1", "r0c3", "r0c5", "r0c7"]
    short = rebalance(
        plan, households=hh, adjacency=lattice(1, 10), default_bounds=(10, 20), allow_new_grids=False, max_chain=3
    )
    assert short.moves == () and [i.grid for i in short.infeasible] == [A]


def test_each_infeasible_grid_is_reported_with_its_figures_and_the_reason():
    # 60 households in two grids of at most 30: exactly enough room, but no building can move to make it fit
    plan = plan_from_rows(["AAB"])
    hh = {"r0c0": 25, "r0c1": 10, "r0c2": 25}
    res = rebalance(plan, households=hh, adjacency=lattice(1, 3), default_bounds=(20, 30), allow_new_grids=False)
    assert res.moves == ()
    [report] = res.infeasible
    assert (report.grid, report.community, report.households, report.min, report.max, report.reason) == (
        A,
        COM,
        35,
        20,
        30,
        "no_contiguous_transfer",
    )
    # one household more than the grids can hold: the community needs another grid
    more = rebalance(
        plan, households=hh | {"r0c2": 26}, adjacency=lattice(1, 3), default_bounds=(20, 30), allow_new_grids=False
    )
    assert [(i.grid, i.reason) for i in more.infeasible] == [(A, "community_needs_more_grids")]
    # too few households for the grids it has
    fewer = rebalance(
        plan, households={"r0c0": 5, "r0c1": 5, "r0c2": 25}, adjacency=lattice(1, 3), default_bounds=(20, 30)
    )
    assert [(i.grid, i.reason) for i in fewer.infeasible] == [(A, "community_needs_fewer_grids")]


def test_equal_min_and_max_is_a_valid_bound():
    plan = plan_from_rows(["AB"])
    res = rebalance(plan, households={"r0c0": 20, "r0c1": 20}, adjacency=lattice(1, 2), default_bounds=(20, 20))
    assert res.moves == () and res.infeasible == ()
    with pytest.raises(RebalanceError, match=f"community {COM}: min 21 is above max 20"):
        rebalance(plan, households={"r0c0": 20, "r0c1": 20}, adjacency=lattice(1, 2), default_bounds=(21, 20))


def test_bad_counts_and_locks_are_refused_with_what_and_where():
    plan = plan_from_rows(["AB"])
    with pytest.raises(RebalanceError, match=r"negative household count for buildings \['r0c1'\]"):
        rebalance(plan, households={"r0c0": 1, "r0c1": -1}, adjacency=lattice(1, 2))
    with pytest.raises(RebalanceError, match=r"no household count for 1 buildings, e.g. \['r0c1'\]"):
        rebalance(plan, households={"r0c0": 1}, adjacency=lattice(1, 2))
    unknown = [f"X{k}" for k in range(7)]
    with pytest.raises(RebalanceError) as err:
        rebalance(plan, households={"r0c0": 1, "r0c1": 1}, adjacency=lattice(1, 2), locked=[A, *unknown])
    # the message names at most five of them, in order
    assert str(err.value) == "locked grids not in the plan: ['X0', 'X1', 'X2', 'X3', 'X4']"


def test_the_result_as_a_dict_lists_moves_new_grids_and_reports():
    plan = plan_from_rows(["AAB"])
    hh = {"r0c0": 40, "r0c1": 25, "r0c2": 30}
    res = rebalance(plan, households=hh, adjacency=lattice(1, 3), default_bounds=(20, 50))
    assert res.as_dict() == {
        "moves": [{"building_id": "r0c1", "from_grid": A, "to_grid": C}],
        "buildings_moved": 1,
        "households_moved": 25,
        "new_grids": {C: COM},
        "infeasible": [],
    }
    stuck = rebalance(plan, households=hh, adjacency=lattice(1, 3), default_bounds=(20, 50), allow_new_grids=False)
    assert stuck.as_dict()["infeasible"] == [
        {"grid": A, "community": COM, "households": 65, "min": 20, "max": 50, "reason": "no_contiguous_transfer"}
    ]
