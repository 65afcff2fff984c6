from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance import RebalanceError, check_grids, components, fresh_code, rebalance, together_groups
from rebalance_worlds import lattice, plan_from_rows

COM = "370214001001"
A, B, C = (f"{COM}{k:03d}" for k in (1, 2, 3))


def moved(result):
    return sorted((m.building_id, m.from_grid, m.to_grid) for m in result.moves)


def test_one_small_building_is_the_minimal_move():
    plan = plan_from_rows(["AAB", "AAB", "AAB"])
    hh = {b: 10 for b in plan.assignment}
    hh["r1c1"] = 5  # A = 55 > 50: shed at least 5
    res = rebalance(plan, households=hh, adjacency=lattice(3, 3), default_bounds=(30, 50))
    assert moved(res) == [("r1c1", A, B)]
    assert res.households_moved == 5
    assert res.infeasible == ()
    assert res.plan.parent is plan


def test_building_leader_keeps_home_and_served_building_together():
    plan = plan_from_rows(["AAB", "AAB", "AAB"])
    hh = {b: 10 for b in plan.assignment}
    hh["r1c1"] = 5
    groups = together_groups(
        [
            {"role": "building_leader", "building_id": "r1c0", "serves": "r1c1"},
            {"role": "volunteer", "building_id": "r0c0", "serves": "r0c1"},
        ]
    )
    assert groups == [frozenset({"r1c0", "r1c1"})]
    res = rebalance(plan, households=hh, adjacency=lattice(3, 3), default_bounds=(30, 50), together=groups)
    assert res.plan.grid_of("r1c0") == res.plan.grid_of("r1c1") == A
    assert len(res.moves) == 1 and res.households_moved == 10
    assert res.moves[0].building_id in {"r0c1", "r2c1"}


def test_excess_is_pushed_along_a_chain_when_the_neighbour_is_full():
    plan = plan_from_rows(["AABBCC"])
    hh = dict(zip([f"r0c{j}" for j in range(6)], [16, 8, 12, 8, 5, 5]))
    res = rebalance(plan, households=hh, adjacency=lattice(1, 6), default_bounds=(10, 20))
    # A must give r0c1 (its only boundary building), then B must give r0c3: 16 households, the minimum
    assert moved(res) == [("r0c1", A, B), ("r0c3", B, C)]
    assert res.households_moved == 16 and res.infeasible == ()


def test_locked_grids_never_change_and_the_rest_is_reported():
    plan = plan_from_rows(["AABBCC"])
    hh = dict(zip([f"r0c{j}" for j in range(6)], [16, 8, 12, 8, 5, 5]))
    res = rebalance(plan, households=hh, adjacency=lattice(1, 6), default_bounds=(10, 20), locked=[C])
    assert res.plan.grids[C] == plan.grids[C]
    assert res.moves == ()
    assert [(i.grid, i.reason) for i in res.infeasible] == [(A, "community_needs_more_grids")]


def test_under_full_grid_pulls_from_a_neighbour():
    plan = plan_from_rows(["ABBB"])
    hh = {"r0c0": 5, "r0c1": 10, "r0c2": 10, "r0c3": 10}
    res = rebalance(plan, households=hh, adjacency=lattice(1, 4), default_bounds=(10, 30))
    assert moved(res) == [("r0c1", B, A)]
    assert res.households_moved == 10


def test_a_community_that_outgrew_its_grids_gets_one_new_grid_with_a_fresh_code():
    plan = plan_from_rows(["AAAA", "AAAA"])
    hh = {b: 10 for b in plan.assignment}  # 80 households, one grid of at most 50
    issued = [A, f"{COM}002"]  # 002 was issued once and retired: never reused
    res = rebalance(plan, households=hh, adjacency=lattice(2, 4), default_bounds=(30, 50), issued_codes=issued)
    assert dict(res.new_grids) == {f"{COM}003": COM}
    checks = check_grids(res.plan, households=hh, adjacency=lattice(2, 4), default_bounds=(30, 50))
    assert all(c.ok for c in checks.values()), checks
    assert res.infeasible == ()
    assert A in res.plan.grid_community  # the old code is kept


def test_a_single_building_above_max_is_reported():
    plan = plan_from_rows(["AB"])
    res = rebalance(
        plan,
        households={"r0c0": 60, "r0c1": 40},
        adjacency=lattice(1, 2),
        default_bounds=(30, 50),
        allow_new_grids=False,
    )
    assert [(i.grid, i.reason, i.households) for i in res.infeasible] == [(A, "building_above_max", 60)]


def test_plan_within_bounds_is_left_alone():
    plan = plan_from_rows(["AAB", "AAB"])
    hh = {b: 10 for b in plan.assignment}
    res = rebalance(plan, households=hh, adjacency=lattice(2, 3), default_bounds=(20, 40))
    assert res.moves == () and res.plan.same_assignment(plan)


def test_bad_input_is_refused_with_the_reason():
    plan = plan_from_rows(["AB"])
    with pytest.raises(RebalanceError, match="no household count"):
        rebalance(plan, households={"r0c0": 1}, adjacency=lattice(1, 2))
    with pytest.raises(RebalanceError, match="locked grids not in the plan"):
        rebalance(plan, households={"r0c0": 1, "r0c1": 1}, adjacency=lattice(1, 2), locked=["X"])


def test_fresh_code_skips_every_issued_code():
    assert fresh_code(COM, [f"{COM}001", f"{COM}007", "370214001002001"]) == f"{COM}008"
    assert fresh_code(COM, []) == f"{COM}001"


def test_check_grids_reports_bounds_contiguity_and_coverage():
    plan = plan_from_rows(["ABA"])
    checks = check_grids(
        plan,
        households={"r0c0": 10, "r0c1": 10, "r0c2": 10},
        adjacency=lattice(1, 3),
        default_bounds=(15, 30),
        covered=[A],
    )
    assert checks[A].parts == 2 and checks[A].problems == ("not_contiguous",)
    assert checks[B].problems == ("below_min", "no_grid_leader")
    only = check_grids(plan, households={"r0c0": 10, "r0c1": 10, "r0c2": 10}, adjacency=lattice(1, 3), codes=[B])
    assert list(only) == [B]


# ---------------------------------------------------------------------------------------------
# properties on random lattice worlds


@st.composite
def worlds(draw):
    rows, cols = draw(st.integers(2, 5)), draw(st.integers(2, 6))
    # vertical strips of columns are grids (contiguous by construction); rows split in two communities
    split_row = draw(st.integers(0, rows - 1))
    cuts = sorted(draw(st.sets(st.integers(1, cols - 1), max_size=cols - 1)))
    bounds_ = [0, *cuts, cols]
    assignment, grid_community = {}, {}
    for i in range(rows):
        com = "370214001001" if i <= split_row else "370214001002"
        for j in range(cols):
            k = next(n for n in range(len(bounds_) - 1) if bounds_[n] <= j < bounds_[n + 1])
            code = f"{com}{k + 1:03d}"
            assignment[f"r{i}c{j}"] = code
            grid_community[code] = com
    plan = GridPlan(assignment, grid_community)
    hh = {b: draw(st.integers(0, 30)) for b in assignment}
    lo = draw(st.integers(10, 40))
    hi = lo + draw(st.integers(10, 60))
    locked = draw(st.sets(st.sampled_from(sorted(grid_community)), max_size=2))
    buildings = sorted(assignment)
    leaders = draw(st.lists(st.tuples(st.sampled_from(buildings), st.sampled_from(buildings)), max_size=3))
    return plan, hh, lattice(rows, cols), (lo, hi), locked, leaders


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_rebalanced_plan_keeps_every_invariant(world):
    plan, hh, adj, bounds, locked, leaders = world
    stewards = [{"role": "building_leader", "building_id": a, "serves": b} for a, b in leaders]
    groups = together_groups(stewards)
    res = rebalance(plan, households=hh, adjacency=adj, default_bounds=bounds, locked=locked, together=groups)
    new = res.plan
    # whole buildings, every building exactly once, codes kept, new codes fresh and in one community
    assert set(new.assignment) == set(plan.assignment)
    assert set(plan.grid_community) <= set(new.grid_community)
    assert set(res.new_grids) == set(new.grid_community) - set(plan.grid_community)
    for b, code in new.assignment.items():
        assert new.grid_community[code] == plan.grid_community[plan.assignment[b]]
    # locked grids untouched
    for code in locked:
        assert new.grids[code] == plan.grids[code]
    # tied buildings that shared a grid still do
    for g in groups:
        a, b = sorted(g)
        if plan.assignment[a] == plan.assignment[b]:
            assert new.assignment[a] == new.assignment[b]
    # contiguity never gets worse; lattice strips start contiguous
    for code in new.grid_community:
        if new.grids[code]:
            assert components(new.grids[code], adj) == 1
    # the moves recorded are exactly the buildings whose grid changed; households recounted
    changed = {b for b in plan.assignment if plan.assignment[b] != new.assignment[b]}
    assert {m.building_id for m in res.moves} == changed
    assert res.households_moved == sum(hh[b] for b in changed)
    # every grid is within bounds or reported, and every report is true
    lo, hi = bounds
    reported = {i.grid for i in res.infeasible}
    for code, members in new.grids.items():
        total = sum(hh[b] for b in members)
        assert (lo <= total <= hi) == (code not in reported), (code, total)
    # a plan already within bounds is left alone
    if all(lo <= sum(hh[b] for b in m) <= hi for m in plan.grids.values()):
        assert res.moves == ()


def _brute_minimum(plan, hh, adj, bounds):
    """Smallest households moved over every assignment of a tiny world that is within bounds and
    contiguous, keeping the number of grids (brute force)."""
    import itertools

    codes = plan.codes
    buildings = sorted(plan.assignment)
    lo, hi = bounds
    best = None
    for combo in itertools.product(codes, repeat=len(buildings)):
        groups = {c: [b for b, g in zip(buildings, combo) if g == c] for c in codes}
        if any(not m for m in groups.values()):
            continue
        if not all(lo <= sum(hh[b] for b in m) <= hi and components(m, adj) == 1 for m in groups.values()):
            continue
        cost = sum(hh[b] for b, g in zip(buildings, combo) if plan.assignment[b] != g)
        best = cost if best is None else min(best, cost)
    return best


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=6, max_size=6), st.integers(0, 2))
def test_tiny_worlds_are_solved_close_to_the_brute_force_minimum(sizes, cut):
    """On a 2×3 world with two grids: when balanced, never fewer households moved than the brute-force
    minimum and at most two buildings' worth more."""
    picture = [["AAB", "ABB", "AAB"][cut]] * 2
    plan = plan_from_rows(picture)
    buildings = sorted(plan.assignment)
    hh = dict(zip(buildings, sizes))
    adj = lattice(2, 3)
    bounds = (sum(sizes) // 2 - 4, sum(sizes) // 2 + 4)
    res = rebalance(plan, households=hh, adjacency=adj, default_bounds=bounds, allow_new_grids=False)
    best = _brute_minimum(plan, hh, adj, bounds)
    if best is None:
        return
    if not res.infeasible:
        # never below the true minimum (checks the brute force and the accounting), rarely much above
        assert best <= res.households_moved <= best + 2 * max(sizes)


def test_tiny_worlds_that_can_be_balanced_nearly_always_are():
    """Over 300 seeded random 2×3 worlds: at least 97% of the balanceable ones get balanced (the rest
    need a rotation of three buildings the local search does not try); at least 90% with exactly the
    minimal households moved, and in total within 2% of the minimum."""
    import random

    rng = random.Random(1)
    feasible = solved = exact = total_best = total_moved = 0
    for _ in range(300):
        plan = plan_from_rows([["AAB", "ABB", "AAB"][rng.randrange(3)]] * 2)
        buildings = sorted(plan.assignment)
        sizes = [rng.randint(1, 12) for _ in buildings]
        hh, adj = dict(zip(buildings, sizes)), lattice(2, 3)
        bounds = (sum(sizes) // 2 - 4, sum(sizes) // 2 + 4)
        best = _brute_minimum(plan, hh, adj, bounds)
        if best is None:
            continue
        feasible += 1
        res = rebalance(plan, households=hh, adjacency=adj, default_bounds=bounds, allow_new_grids=False)
        if not res.infeasible:
            solved += 1
            exact += res.households_moved == best
            total_best += best
            total_moved += res.households_moved
    assert feasible > 250 and solved >= 0.97 * feasible, (feasible, solved)
    assert exact >= 0.9 * solved and total_moved <= 1.02 * total_best, (exact, total_moved, total_best)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 2)), max_size=12), st.integers(0, 12))
def test_members_of_replays_moves_like_a_full_regrouping(moves, cached_at):
    from gridmap.domain.rebalance import members_of

    plan = plan_from_rows(["AAB", "ACB", "CCB"])
    buildings = sorted(plan.assignment)
    chain = [plan]
    for k, (b, g) in enumerate(moves):
        if k == cached_at:
            _ = chain[-1].grids  # an ancestor whose grids are cached
        chain.append(chain[-1].reassign([(buildings[b], plan.codes[g])]))
    last = chain[-1]
    assert members_of(last, last.codes) == dict(GridPlan(last.assignment, last.grid_community).grids)


def test_a_grid_no_move_can_fix_gets_split_when_the_community_can_afford_a_grid():
    plan = plan_from_rows(["AAB"])
    hh = {"r0c0": 40, "r0c1": 25, "r0c2": 30}  # 95 ≤ 2 × 50, yet neither A building fits in B
    res = rebalance(plan, households=hh, adjacency=lattice(1, 3), default_bounds=(20, 50))
    assert list(res.new_grids) == [C] and res.infeasible == ()
    assert res.plan.grids[B] == plan.grids[B]
    assert len(res.moves) == 1 and res.moves[0].to_grid == C
    small = rebalance(plan, households=hh | {"r0c1": 15}, adjacency=lattice(1, 3), default_bounds=(20, 50))
    assert small.new_grids == {} and small.moves[0].building_id == "r0c1"  # a move suffices: no new grid
