"""The rebalance's smaller rules, each stated on a hand-drawn world: what the checks report, how tied
buildings are read, how a grid is split, how far an excess travels, how an infeasible grid is explained,
and what bad input is refused with. (Written from the survivors of a mutation run, see docs/testing.md.)
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance import (
    RebalanceError,
    check_grids,
    components,
    overlapping_groups,
    rebalance,
    split_off,
    tie_groups,
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


def test_overlapping_groups_ties_footprints_over_half_the_smaller_within_one_community_and_chains_them():
    ids = ["a", "b", "c", "d", "e", "f", "g"]
    coms = [COM, COM, COM, COM, COM, "370214001002", COM]
    geoms = [
        box(0, 0, 10, 10),  # a
        box(2, 2, 8, 8),  # b: wholly under a
        box(7, 0, 12, 10),  # c: 60% of it under a (more than half of the smaller): tied, so a–b–c is one group
        box(30, 0, 40, 10),  # d
        box(35, 0, 45, 10),  # e: half of each under the other, not more: not tied
        box(31, 1, 39, 9),  # f: under d, but in another community: not tied
        None,  # g: no footprint
    ]
    assert overlapping_groups(ids, coms, np.array(geoms, dtype=object)) == [frozenset({"a", "b", "c"})]
    assert overlapping_groups(ids, coms, np.array(geoms, dtype=object), share=0.4) == [
        frozenset({"a", "b", "c"}),
        frozenset({"d", "e"}),
    ]


def test_tie_groups_joins_groups_that_share_a_building():
    leaders = [frozenset({"x", "a"}), frozenset({"p", "q"})]
    overlaps = [frozenset({"a", "b"}), frozenset({"c", "d"})]
    assert tie_groups(leaders, overlaps) == [
        frozenset({"a", "b", "x"}),
        frozenset({"c", "d"}),
        frozenset({"p", "q"}),
    ]
    assert tie_groups([]) == [] and tie_groups([frozenset({"a"})]) == []


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


def test_split_off_stops_as_soon_as_it_reaches_half():
    plan = plan_from_rows(["AAAA"])
    adj = lattice(1, 4)
    # half of 20 is 10: r0c3 (5) + r0c2 (5) reach it exactly; the empty r0c1 next to them is not taken
    hh = {"r0c0": 10, "r0c1": 0, "r0c2": 5, "r0c3": 5}
    assert split_off(plan, A, B, households=hh, adjacency=adj) == ["r0c2", "r0c3"]


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


# ---------------------------------------------------------------------------------------------
# rebalance: the moves it tries (transfers, pulls along a chain, swaps, splits)


def test_a_grid_within_bounds_never_gives_so_much_that_it_falls_below_min():
    plan = plan_from_rows(["ABB"])
    hh = {"r0c0": 5, "r0c1": 12, "r0c2": 3}  # B = 15 could give A its 12, but would be left with 3
    res = rebalance(plan, households=hh, adjacency=lattice(1, 3), default_bounds=(10, 30))
    assert res.moves == ()
    assert [(i.grid, i.households, i.reason) for i in res.infeasible] == [(A, 5, "no_contiguous_transfer")]


def test_an_under_full_grid_pulls_along_a_chain_when_its_neighbour_is_at_min():
    plan = plan_from_rows(["AABBCC"])
    hh = dict(zip([f"r0c{j}" for j in range(6)], [2, 3, 5, 5, 10, 10]))  # A = 5, B = 10 (at min), C = 20
    res = rebalance(plan, households=hh, adjacency=lattice(1, 6), default_bounds=(10, 20))
    assert moved(res) == [("r0c2", B, A), ("r0c4", C, B)]
    assert res.households_moved == 15 and res.infeasible == ()


def test_an_over_full_grid_whose_boundary_buildings_are_too_big_swaps_with_its_neighbour():
    #   A A B      A = 10 + 15 + 12 = 37 (7 over); B = 5 + 5 + 10 = 20 has room for 10,
    #   A B B      but A's boundary buildings hold 15 and 12: A gives 12 and takes 5 back
    # (taking a building from B first does not help: B keeps its minimum and has nothing to ask back)
    plan = plan_from_rows(["AAB", "ABB"])
    hh = {"r0c0": 10, "r0c1": 15, "r1c0": 12, "r0c2": 5, "r1c1": 5, "r1c2": 10}
    res = rebalance(plan, households=hh, adjacency=lattice(2, 3), default_bounds=(15, 30), allow_new_grids=False)
    assert res.infeasible == ()
    assert moved(res) == [("r0c2", B, A), ("r1c0", A, B)]
    assert res.households_moved == 17


def test_when_one_new_grid_is_all_the_community_can_afford_the_fullest_grid_is_split():
    # A (40) and B (42) are both over 30; C (5, on its own) is under. 87 households are enough for four
    # grids of at least 20, not for five: only one new grid, carved out of B, the fuller one
    plan = plan_from_rows(["AAAACBBBBB"])
    adj = lattice(1, 10)
    adj["r0c3"].discard("r0c4")
    adj["r0c5"].discard("r0c4")
    adj["r0c4"] = set()
    hh = dict(zip([f"r0c{j}" for j in range(10)], [10, 10, 10, 10, 5, 10, 10, 2, 10, 10]))
    res = rebalance(plan, households=hh, adjacency=adj, default_bounds=(20, 30))
    assert dict(res.new_grids) == {D: COM}
    assert sorted(res.plan.grids[D]) == ["r0c7", "r0c8", "r0c9"]
    assert res.plan.grids[A] == plan.grids[A]
    assert [(i.grid, i.households) for i in res.infeasible] == [(A, 40), (C, 5)]


@st.composite
def grown_worlds(draw):
    """Up to 4 × 6 lattices cut into 2–5 contiguous grids of any shape (grown from random seeds)."""
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(2, 6))
    adj = lattice(rows, cols)
    cells = sorted(adj)
    k = draw(st.integers(2, min(5, len(cells))))
    rnd = draw(st.randoms(use_true_random=False))
    owner = {s: i for i, s in enumerate(rnd.sample(cells, k))}
    while len(owner) < len(cells):
        c = rnd.choice(sorted(owner))
        free = sorted(v for v in adj[c] if v not in owner)
        if free:
            owner[rnd.choice(free)] = owner[c]
    plan = GridPlan({b: f"{COM}{owner[b] + 1:03d}" for b in cells}, {f"{COM}{i + 1:03d}": COM for i in range(k)})
    hh = {b: draw(st.sampled_from([0, 1, 2, 3, 5, 8, 10, 12, 15, 20])) for b in cells}
    lo = draw(st.integers(5, 25))
    return plan, hh, adj, (lo, lo + draw(st.integers(0, 25))), draw(st.booleans())


@settings(max_examples=120, deadline=None, derandomize=True)
@given(grown_worlds())
def test_a_grid_within_bounds_stays_within_bounds_and_in_one_piece(world):
    """Fixing one grid never breaks another: every grid that starts within bounds ends within them, every
    grid stays in one piece, and no more grids end outside bounds than started there."""
    plan, hh, adj, (lo, hi), new_grids = world
    res = rebalance(plan, households=hh, adjacency=adj, default_bounds=(lo, hi), allow_new_grids=new_grids)

    def fine(members):
        return lo <= sum(hh[b] for b in members) <= hi

    for code, members in plan.grids.items():
        if fine(members):
            assert fine(res.plan.grids[code]), code
    for code, members in res.plan.grids.items():
        assert components(members, adj) == 1, code
    assert len(res.infeasible) <= sum(not fine(m) for m in plan.grids.values())


def _comb(row1: list[int], excess: int):
    """Grid A = two rows (10 households a building above, ``row1`` below), grid B = one row of 1s under it;
    A is ``excess`` over its max and every building of its lower row touches B."""
    cols = len(row1)
    plan = plan_from_rows(["A" * cols, "A" * cols, "B" * cols])
    hh = {f"r0c{j}": 10 for j in range(cols)} | {f"r1c{j}": n for j, n in enumerate(row1)}
    hh |= {f"r2c{j}": 1 for j in range(cols)}
    return plan, hh, lattice(3, cols), (cols, 10 * cols + sum(row1) - excess)


def test_an_excess_is_shed_in_the_two_largest_boundary_buildings_that_cover_it():
    plan, hh, adj, bounds = _comb([1, 1, 1, 5, 1, 5], 10)
    res = rebalance(plan, households=hh, adjacency=adj, default_bounds=bounds, allow_new_grids=False)
    assert moved(res) == [("r1c3", A, B), ("r1c5", A, B)]
    assert res.households_moved == 10 and res.infeasible == ()


@pytest.mark.parametrize(
    ("row1", "excess"),
    [([2, 1, 1, 1, 1, 3, 1, 3, 3], 15), ([1, 1, 3, 1, 3, 2, 1, 3, 2, 1], 18)],
)
def test_an_excess_spread_over_many_small_buildings_is_shed_exactly(row1, excess):
    """Eight or ten small buildings must go: the search goes deep enough to move exactly the excess."""
    plan, hh, adj, bounds = _comb(row1, excess)
    res = rebalance(plan, households=hh, adjacency=adj, default_bounds=bounds, allow_new_grids=False)
    assert res.infeasible == () and res.households_moved == excess
    assert {m.to_grid for m in res.moves} == {B} and all(m.building_id.startswith("r1") for m in res.moves)


def test_check_grids_flags_a_grid_holding_part_of_a_tied_group():
    from gridmap.domain.plan import GridPlan
    from gridmap.domain.rebalance import check_grids

    plan = GridPlan({"a": "G1", "b": "G1", "c": "G2", "d": "G2"}, {"G1": "C", "G2": "C"})
    adjacency = {"a": {"b"}, "b": {"a", "c"}, "c": {"b", "d"}, "d": {"c"}}
    common = dict(households=dict.fromkeys("abcd", 10), adjacency=adjacency, default_bounds=(10, 40))
    group = frozenset({"b", "c"})
    split = check_grids(plan, partners={"b": group, "c": group}, **common)
    assert "tie_split" in split["G1"].problems and "tie_split" in split["G2"].problems
    whole = frozenset({"a", "b"})
    kept = check_grids(plan, partners={"a": whole, "b": whole}, **common)
    assert all("tie_split" not in c.problems for c in kept.values())
    assert all("tie_split" not in c.problems for c in check_grids(plan, **common).values())


def test_check_grids_counts_only_partners_the_plan_holds_in_the_same_community():
    from gridmap.domain.plan import GridPlan
    from gridmap.domain.rebalance import check_grids, plan_partners

    plan = GridPlan({"a": "G1", "b": "G1", "c": "H1"}, {"G1": "C", "H1": "D"})
    group = frozenset({"a", "c", "elsewhere"})  # c in another community, "elsewhere" not in the plan
    partners = {"a": group, "c": group}
    assert plan_partners(plan, partners, "a") == [] and plan_partners(plan, partners, "b") == []
    checks = check_grids(
        plan, households=dict.fromkeys("abc", 10), adjacency={"a": {"b"}, "b": {"a"}}, partners=partners
    )
    assert all("tie_split" not in c.problems for c in checks.values())


@pytest.mark.parametrize("order", [("a", "b", "c"), ("a", "c", "b"), ("b", "a", "c"), ("c", "b", "a")])
def test_a_split_group_stays_one_unit_per_grid_whatever_its_order(order):
    """A tied group of three already split (a and c in one grid, b in the other): a and c are one unit whatever
    order the group is iterated in (a frozenset's order follows the string hash, which changes per process)."""
    from gridmap.domain.plan import GridPlan
    from gridmap.domain.rebalance.moves import _Community

    plan = GridPlan({"a": "G1", "b": "G2", "c": "G1", "d": "G1"}, {"G1": "C", "G2": "C"})

    class Ordered(frozenset):
        def __iter__(self):
            return iter(order)

    com = _Community("C", plan, ["G1", "G2"], dict.fromkeys("abcd", 10), {}, [Ordered(order)], 10, 40, locked=set())
    assert com.unit_of["a"] == com.unit_of["c"] != com.unit_of["b"]
    assert com.unit_of["d"] != com.unit_of["a"]
