"""The partition's rules, each stated on a small graph drawn by hand (or drawn by Hypothesis), through the
public API of :mod:`gridmap.domain.partition`: the grid count from the bounds, the input checks, METIS's
first split, whole grids (dense labels, one piece each, whole estates and tied pairs), bounds where they can
be met, barrier blocks, islands, determinism by seed, and a whole world of several communities.

These hold for any correct implementation (they were written against the mutants that survived the unit
tests: see docs/testing.md, "Mutation testing"); graphs are built directly, without tessellation, to keep
them fast.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridmap.domain.partition import (
    BARRIER,
    SOFT,
    WALL,
    CommunityGraph,
    PartitionError,
    edge_kinds,
    grid_count,
    metis_partition,
    partition_community,
    partition_world,
)
from gridmap.errors import InvalidInput

FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- graphs drawn by hand ------------------------------------------------------------------------------------


def lattice_edges(rows: int, cols: int) -> list[tuple[int, int]]:
    """Rook neighbours of a rows x cols lattice, building ``r * cols + c``: row by row, then column by column."""
    across = [(r * cols + c, r * cols + c + 1) for r in range(rows) for c in range(cols - 1)]
    down = [(r * cols + c, (r + 1) * cols + c) for r in range(rows - 1) for c in range(cols)]
    return across + down


def lattice(
    households,
    *,
    barrier_below: set[int] = frozenset(),
    walls_below: set[int] = frozenset(),
    group=None,
    tied=None,
) -> CommunityGraph:
    """A lattice of buildings 10 m apart sharing 10 m borders; ``households`` rows x cols. Edges between row r
    and r + 1 are barriers for r in ``barrier_below`` and walls for r in ``walls_below``."""
    h = np.asarray(households, dtype=np.int64)
    rows, cols = h.shape
    edges = lattice_edges(rows, cols)
    kind = []
    for a, b in edges:
        below = a // cols if b // cols != a // cols else None
        kind.append(BARRIER if below in barrier_below else WALL if below in walls_below else SOFT)
    xy = np.array([(10.0 * (v % cols), -10.0 * (v // cols)) for v in range(rows * cols)])
    return CommunityGraph.build(
        h.ravel(),
        edges,
        length=np.full(len(edges), 10.0),
        kind=kind,
        group=None if group is None else np.asarray(group).ravel(),
        xy=xy,
        tied=tied,
    )


def row(households, **kw) -> CommunityGraph:
    return lattice([households], **kw)


def pieces(labels: np.ndarray, edges: np.ndarray, g: int) -> int:
    """How many connected pieces grid ``g`` is in (through the given edges)."""
    members = set(np.flatnonzero(labels == g).tolist())
    nb: dict[int, list[int]] = {v: [] for v in members}
    for a, b in edges.tolist():
        if a in members and b in members:
            nb[a].append(b)
            nb[b].append(a)
    count, seen = 0, set()
    for v in members:
        if v in seen:
            continue
        count += 1
        stack = [v]
        seen.add(v)
        while stack:
            for u in nb[stack.pop()]:
                if u not in seen:
                    seen.add(u)
                    stack.append(u)
    return count


def check_whole(res, graph: CommunityGraph) -> np.ndarray:
    """The invariants of every partition: dense labels 0..k-1, every grid one piece (islands through the
    building they were joined to), the mean and the sizes. Returns the sizes."""
    h = graph.households
    labels = res.labels
    assert labels.shape == (len(h),)
    assert np.issubdtype(labels.dtype, np.integer)
    assert res.k == (int(labels.max()) + 1 if len(h) else 0)
    assert sorted(set(labels.tolist())) == list(range(res.k))
    sizes = res.sizes(h)
    assert sizes.tolist() == np.bincount(labels, weights=h, minlength=res.k).astype(int).tolist()
    assert int(sizes.sum()) == int(h.sum())
    if res.k:
        assert res.mean == pytest.approx(h.sum() / res.k)
    joins = [(isl[0], to) for isl, to in res.islands]
    edges = np.array(graph.edges.tolist() + joins, dtype=np.int64).reshape(-1, 2)
    for g in range(res.k):
        assert pieces(labels, edges, g) == 1, f"grid {g} is in pieces: {labels.tolist()}"
    return sizes


def groups(labels) -> list[list[int]]:
    """The partition as sorted lists of buildings, sorted (equal up to renaming the grids)."""
    out: dict[int, list[int]] = {}
    for v, g in enumerate(np.asarray(labels).tolist()):
        out.setdefault(g, []).append(v)
    return sorted(out.values())


# -- the grid count ------------------------------------------------------------------------------------------


@given(st.integers(0, 6000), st.integers(1, 700), st.integers(0, 700))
@settings(max_examples=300, deadline=None)
def test_grid_count_is_the_fitting_count_nearest_the_midpoint(total, lo, width):
    hi = lo + width
    k = grid_count(total, min_households=lo, max_households=hi)
    if total <= hi:
        assert k == 1
        return
    fitting = [c for c in range(1, total // lo + 2) if c * lo <= total <= c * hi]
    if fitting:  # a count that fits, nearest total / midpoint
        assert k in fitting
        target = total / ((lo + hi) / 2)
        assert abs(k - target) <= min(abs(c - target) for c in fitting) + 1e-9
    else:  # no count fits: the fewest grids none of which is above the maximum
        assert k == math.ceil(total / hi)


def test_grid_count_drawn_examples():
    assert grid_count(0, min_households=300, max_households=500) == 1
    assert grid_count(500, min_households=300, max_households=500) == 1
    assert grid_count(501, min_households=300, max_households=500) == 2
    assert grid_count(1200, min_households=300, max_households=500) == 3
    assert grid_count(1000, min_households=300, max_households=300) == 4  # 3 x 300 is short, 4 x 250 too small
    assert grid_count(10, min_households=1, max_households=1) == 10
    assert grid_count(np.int64(1500), min_households=np.int64(300), max_households=np.int64(500)) == 4


@pytest.mark.parametrize(
    ("lo", "hi", "message"),
    [
        (0, 10, "1 <= min <= max"),
        (-5, 10, "1 <= min <= max"),
        (11, 10, "1 <= min <= max"),
        (1.5, 10, "integers"),
        (1, "10", "integers"),
        (None, 10, "integers"),
    ],
)
def test_bad_bounds_are_refused_everywhere(lo, hi, message):
    with pytest.raises(PartitionError, match=message):
        grid_count(100, min_households=lo, max_households=hi)
    with pytest.raises(PartitionError, match=message):
        partition_community(row([50, 50]), min_households=lo, max_households=hi)
    assert issubclass(PartitionError, InvalidInput)  # the web and the CLI map it as bad input


def test_bounds_of_one_household_and_equal_bounds_are_allowed():
    assert grid_count(7, min_households=1, max_households=1) == 7
    res = partition_community(row([1] * 4), min_households=1, max_households=1)
    assert groups(res.labels) == [[0], [1], [2], [3]]
    res = partition_community(row([2, 2, 2, 2]), min_households=4, max_households=4)
    assert groups(res.labels) == [[0, 1], [2, 3]]


# -- the graph -----------------------------------------------------------------------------------------------


def test_graph_build_orders_pairs_drops_self_loops_and_fills_defaults():
    g = CommunityGraph.build([5, 6, 7], [(1, 0), (2, 2), (1, 2)])
    assert g.households.tolist() == [5, 6, 7]
    assert np.issubdtype(CommunityGraph.build(np.array([5.0, 6.0]), [(0, 1)]).households.dtype, np.integer)
    assert g.edges.tolist() == [[0, 1], [1, 2]]
    assert g.length.tolist() == [1.0, 1.0]
    assert g.kind.tolist() == [SOFT, SOFT]
    assert g.group.tolist() == [-1, -1, -1]
    assert g.xy.shape == (3, 2) and not g.xy.any()
    assert g.tied.shape == (0, 2)


def test_graph_build_keeps_what_is_given_aligned_with_the_kept_edges():
    g = CommunityGraph.build(
        np.array([1, 2, 3]),
        np.array([[2, 1], [0, 0], [0, 2]]),
        length=[4.5, 9.0, 2.5],
        kind=[WALL, SOFT, BARRIER],
        group=[3, -1, 3],
        xy=[[0, 0], [1, 0], [2, 5]],
        tied=[(2, 0)],
    )
    assert g.edges.tolist() == [[1, 2], [0, 2]]
    assert g.length.tolist() == [4.5, 2.5]
    assert g.kind.tolist() == [WALL, BARRIER]
    assert g.group.tolist() == [3, -1, 3]
    assert g.xy.tolist() == [[0.0, 0.0], [1.0, 0.0], [2.0, 5.0]]
    assert g.tied.tolist() == [[2, 0]]


@pytest.mark.parametrize(
    ("households", "edges", "tied", "message"),
    [
        ([1, 2], [(0, 2)], None, r"edge refers to a building outside 0\.\.1"),
        ([1, 2], [(-1, 1)], None, r"edge refers to a building outside 0\.\.1"),
        ([1, -2, 3], [(0, 1)], None, "building 1 has negative households"),
        ([0, 5, -2], [(0, 1)], None, "building 2 has negative households"),
        ([1, 2], [(0, 1)], [(0, 5)], r"tied pair refers to a building outside 0\.\.1"),
        ([1, 2], [(0, 1)], [(-1, 0)], r"tied pair refers to a building outside 0\.\.1"),
    ],
)
def test_graph_build_refuses_what_cannot_be_a_community(households, edges, tied, message):
    with pytest.raises(PartitionError, match=message):
        CommunityGraph.build(households, edges, tied=tied)


# -- METIS's first split -------------------------------------------------------------------------------------


def test_metis_trivial_counts():
    pairs = np.array(lattice_edges(1, 5))
    w = np.ones(5, dtype=np.int64)
    assert metis_partition(5, pairs, w, None, 1).tolist() == [0] * 5
    assert metis_partition(5, pairs, w, None, 0).tolist() == [0] * 5
    assert metis_partition(1, np.zeros((0, 2), dtype=np.int64), w[:1], None, 3).tolist() == [0]
    assert metis_partition(5, pairs, w, None, 5).tolist() == [0, 1, 2, 3, 4]
    assert metis_partition(5, pairs, w, None, 9).tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_metis_gives_k_balanced_contiguous_parts(seed):
    pairs = np.array(lattice_edges(10, 10))
    w = np.ones(100, dtype=np.int64)
    for k in (2, 3, 4):
        part = metis_partition(100, pairs, w, np.ones(len(pairs)), k, seed=seed)
        assert sorted(set(part.tolist())) == list(range(k))
        sizes = np.bincount(part, minlength=k)
        assert sizes.max() <= 1.1 * 100 / k + 1, sizes.tolist()
        for g in range(k):
            assert pieces(part, pairs, g) == 1


def test_metis_weighs_vertices_and_edges():
    # a heavy end: one node of weight 4 balances the other four
    pairs = np.array(lattice_edges(1, 5))
    part = metis_partition(5, pairs, np.array([4, 1, 1, 1, 1]), None, 2)
    assert groups(part) == [[0], [1, 2, 3, 4]]
    # a 4 x 4 lattice cut in two: edges across the middle column border are light, the rest heavy
    pairs = np.array(lattice_edges(4, 4))
    ew = np.array([1 if (a % 4, b % 4) == (1, 2) else 50 for a, b in pairs.tolist()])
    part = metis_partition(16, pairs, np.ones(16, dtype=np.int64), ew, 2)
    assert groups(part) == [[0, 1, 4, 5, 8, 9, 12, 13], [2, 3, 6, 7, 10, 11, 14, 15]]
    # the same lattice with light edges across the middle row border
    ew = np.array([1 if (a // 4, b // 4) == (1, 2) else 50 for a, b in pairs.tolist()])
    part = metis_partition(16, pairs, np.ones(16, dtype=np.int64), ew, 2)
    assert groups(part) == [list(range(8)), list(range(8, 16))]


def test_metis_same_seed_same_split_and_the_seed_matters():
    pairs = np.array(lattice_edges(10, 10))
    w = np.ones(100, dtype=np.int64)
    runs = {s: metis_partition(100, pairs, w, None, 4, seed=s).tolist() for s in range(6)}
    assert all(metis_partition(100, pairs, w, None, 4, seed=s).tolist() == p for s, p in runs.items())
    assert len({tuple(p) for p in runs.values()}) > 1  # further seeds are how the search restarts


# -- one community -------------------------------------------------------------------------------------------


def test_empty_community_has_no_grid():
    res = partition_community(CommunityGraph.build([], []), min_households=300, max_households=500)
    assert res.labels.tolist() == [] and res.k == 0 and res.mean == 0.0
    assert res.too_big == [] and res.islands == [] and not res.count_infeasible


@pytest.mark.parametrize(
    ("households", "infeasible"),
    [([100, 150], True), ([150, 150], False), ([250, 250], False), ([300], False), ([200], True)],
)
def test_community_up_to_the_maximum_is_one_grid(households, infeasible):
    res = partition_community(row(households), min_households=300, max_households=500)
    check_whole(res, row(households))
    assert res.k == 1 and res.labels.tolist() == [0] * len(households)
    assert res.mean == float(sum(households))
    assert res.count_infeasible is infeasible
    assert res.too_big == []


def test_one_building_above_the_maximum_is_one_grid_reported_with_its_excess():
    res = partition_community(row([620]), min_households=300, max_households=500)
    assert res.labels.tolist() == [0] and res.k == 1
    assert res.too_big == [(0, 620, 120)]
    assert res.count_infeasible


def test_every_building_above_the_maximum_is_reported_whichever_way_the_community_is_split():
    hh = [[100, 620, 100, 100], [100, 100, 510, 100]]
    for graph in (lattice(hh), lattice(hh, barrier_below={0})):
        res = partition_community(graph, min_households=300, max_households=500)
        check_whole(res, graph)
        assert res.too_big == [(1, 620, 120), (6, 510, 10)]


def test_grids_are_balanced_round_the_mean():
    # twelve buildings of 100, bounds [300, 500]: three grids of exactly 400
    g = row([100] * 12)
    res = partition_community(g, min_households=300, max_households=500)
    assert check_whole(res, g).tolist() == [400, 400, 400]
    assert groups(res.labels) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert res.mean == 400.0 and not res.count_infeasible


def test_one_more_grid_when_it_lets_every_grid_fit():
    # four slabs of 300: the midpoint 400 says 3 grids, which cannot fit (one would hold 600); 4 can
    g = row([300] * 4)
    res = partition_community(g, min_households=300, max_households=500)
    assert groups(res.labels) == [[0], [1], [2], [3]]


@pytest.mark.parametrize(
    ("households", "lo", "hi", "k"),
    [
        ([[100, 10, 110, 20, 10]], 30, 140, 3),
        ([[50, 50, 30, 60, 60, 100, 100]], 30, 120, 6),
        ([[50, 100, 60, 10, 60, 30], [90, 50, 90, 30, 100, 20]], 30, 130, 9),
        ([[80, 110, 100, 30, 20, 80], [30, 90, 70, 110, 110, 100]], 50, 130, 10),
    ],
)
def test_the_count_from_the_bounds_even_where_metis_leaves_a_part_empty(households, lo, hi, k):
    # METIS, asked for k parts of these uneven buildings, leaves one empty: the heaviest grid is split again
    # so the count asked for is restored (splitting another grid, or none, ends with fewer grids)
    g = lattice(households)
    assert grid_count(int(np.sum(households)), min_households=lo, max_households=hi) == k
    res = partition_community(g, min_households=lo, max_households=hi)
    sizes = check_whole(res, g)
    assert res.k == k
    assert ((sizes >= lo) & (sizes <= hi)).all(), sizes.tolist()


# a defect the mutation run found: with fewer buildings than the grid count, every count tried was clipped to the
# number of buildings and then skipped as outside [ceil(H/max), floor(H/min)], so partition_community failed
@pytest.mark.parametrize("households", [[600, 600], [600, 600, 600], [520, 520, 520]])
def test_a_community_of_towers_each_above_the_maximum_is_a_grid_per_tower(households):
    g = row(households)
    res = partition_community(g, min_households=300, max_households=500)
    assert groups(res.labels) == [[v] for v in range(len(households))]
    assert res.too_big == [(v, h, h - 500) for v, h in enumerate(households)]


def test_the_best_plan_when_no_count_fits_has_the_fewest_grids_out_of_bounds():
    # 550 households, bounds [300, 500]: two grids of 275 are both too small, one grid of 550 only too big
    for hh in ([275, 275], [110] * 5, [100] * 5 + [50]):
        g = row(hh)
        res = partition_community(g, min_households=300, max_households=500)
        sizes = check_whole(res, g)
        assert int(((sizes < 300) | (sizes > 500)).sum()) <= 1, sizes.tolist()
        assert res.count_infeasible


def test_bounds_are_met_exactly_at_both_ends():
    # grids of exactly the minimum and exactly the maximum are in bounds
    g = row([1] * 9)
    res = partition_community(g, min_households=3, max_households=3, coarsen=0)
    assert check_whole(res, g).tolist() == [3, 3, 3]
    g = row([100] * 10)
    res = partition_community(g, min_households=500, max_households=500)
    assert check_whole(res, g).tolist() == [500, 500]


def test_coarsening_never_makes_the_bounds_unreachable_building_by_building():
    # nine 1-household buildings, bounds [3, 3]: only building by building (no clusters of 2) gives 3 x 3
    g = row([1] * 9)
    for coarsen in (0.0, 0.05, 1.0):
        res = partition_community(g, min_households=3, max_households=3, coarsen=coarsen)
        assert groups(res.labels) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]], coarsen


def test_small_buildings_are_partitioned_within_bounds_with_default_coarsening():
    # 10 x 10 buildings of 1..3 households, bounds [40, 70]: clustered into nodes of up to 2 (5% of the
    # minimum) before the split, every grid within bounds all the same
    hh = np.random.default_rng(5).integers(1, 4, size=(10, 10))
    g = lattice(hh)
    for seed in range(3):
        res = partition_community(g, min_households=40, max_households=70, seed=seed)
        sizes = check_whole(res, g)
        assert ((sizes >= 40) & (sizes <= 70)).all(), sizes.tolist()


def test_an_estate_that_fits_stays_whole_and_one_too_big_is_split():
    # six buildings of 100 in a row, bounds [200, 400]: balanced is 3 + 3, but estate 1..3 (300) must stay whole
    group = [-1, 7, 7, 7, -1, -1]
    g = row([100] * 6, group=group)
    res = partition_community(g, min_households=200, max_households=400)
    labels = res.labels
    assert labels[1] == labels[2] == labels[3]
    assert groups(labels) == [[0, 1, 2, 3], [4, 5]]
    # an estate of exactly the maximum (400) fits
    g = row([100] * 8, group=[7, 7, 7, 7, -1, -1, -1, -1])
    res = partition_community(g, min_households=200, max_households=400)
    assert len(set(res.labels[:4].tolist())) == 1
    sizes = check_whole(res, g)
    assert ((sizes >= 200) & (sizes <= 400)).all(), sizes.tolist()
    # an estate above the maximum cannot stay whole: it is split like any buildings
    g = row([100] * 8, group=[7] * 8)
    res = partition_community(g, min_households=300, max_households=500)
    assert check_whole(res, g).tolist() == [400, 400]


def test_tied_buildings_are_never_separated():
    # six buildings of 100, bounds [250, 350]: 3 + 3 would cut between 2 and 3, which are one building
    g = row([100] * 6, tied=[(2, 3)])
    res = partition_community(g, min_households=250, max_households=350)
    check_whole(res, g)
    assert res.labels[2] == res.labels[3]
    # ties hold across a wall and in a community cut by a barrier too
    g = lattice([[100] * 4, [100] * 4], barrier_below={0}, tied=[(1, 5)])
    res = partition_community(g, min_households=300, max_households=500)
    assert res.labels[1] == res.labels[5]


def test_walls_are_where_boundaries_go():
    # two rows of 8 x 100 behind a wall, bounds [300, 500]: four grids of 400, each half a row (cutting the
    # cheap wall) rather than 2 x 2 blocks (cutting soft borders only)
    g = lattice(np.full((2, 8), 100), walls_below={0})
    res = partition_community(g, min_households=300, max_households=500)
    assert check_whole(res, g).tolist() == [400] * 4
    assert all(len({v // 8 for v in grid}) == 1 for grid in groups(res.labels)), groups(res.labels)


def test_barrier_beats_compactness():
    # 2 x 4 buildings of 100, a barrier between the rows: each row is a grid; without it, left and right halves
    g = lattice(np.full((2, 4), 100), barrier_below={0})
    res = partition_community(g, min_households=300, max_households=500)
    assert groups(res.labels) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert res.mean == 400.0 and res.k == 2
    g = lattice(np.full((2, 4), 100))
    res = partition_community(g, min_households=300, max_households=500)
    assert groups(res.labels) == [[0, 1, 4, 5], [2, 3, 6, 7]]


def test_each_barrier_block_is_split_on_its_own_and_numbered_block_after_block():
    # three rows of 6 x 100 between two barriers: every row is two grids of 300, none crossing a barrier
    g = lattice(np.full((3, 6), 100), barrier_below={0, 1})
    res = partition_community(g, min_households=250, max_households=350)
    sizes = check_whole(res, g)
    assert res.k == 6 and sizes.tolist() == [300] * 6
    for grid in groups(res.labels):
        assert len({v // 6 for v in grid}) == 1
    assert res.mean == 300.0 and not res.count_infeasible
    # grids of the first block come first
    assert sorted(set(res.labels[:6].tolist())) == [0, 1]


def test_a_small_block_is_joined_by_the_longer_barrier():
    # three blocks in a row: A = 0..3 (400) | B = 4 (100, too small alone) | C = 5..8 (400); B's barrier with C
    # is 30 m long, with A 5 m
    edges = [(0, 1), (1, 2), (2, 3), (5, 6), (6, 7), (7, 8), (3, 4), (4, 5)]
    length = [10.0] * 6 + [5.0, 30.0]
    kind = [SOFT] * 6 + [BARRIER, BARRIER]
    g = CommunityGraph.build([100] * 4 + [100] + [100] * 4, edges, length=length, kind=kind)
    res = partition_community(g, min_households=300, max_households=500)
    check_whole(res, g)
    assert res.labels[4] == res.labels[5] != res.labels[3]
    assert groups(res.labels) == [[0, 1, 2, 3], [4, 5, 6, 7, 8]]
    # the longer barrier on A's side: B goes with A
    g = CommunityGraph.build([100] * 9, edges, length=[10.0] * 6 + [30.0, 5.0], kind=kind)
    res = partition_community(g, min_households=300, max_households=500)
    assert groups(res.labels) == [[0, 1, 2, 3, 4], [5, 6, 7, 8]]


def test_blocks_that_cannot_fit_alone_are_joined_until_they_do():
    # a chain of five blocks of 100 (each below the minimum 300) behind barriers: joined into fitting grids
    edges = [(i, i + 1) for i in range(4)]
    g = CommunityGraph.build([100] * 5, edges, length=[10.0] * 4, kind=[BARRIER] * 4)
    res = partition_community(g, min_households=200, max_households=300)
    sizes = check_whole(res, g)
    assert ((sizes >= 200) & (sizes <= 300)).all(), sizes.tolist()
    assert not res.count_infeasible


def test_a_block_of_one_building_above_the_maximum_is_its_own_grid_and_reported():
    # building 0 (620) behind a barrier from a row of four buildings of 100: two grids, the first too big
    g = CommunityGraph.build([620, 100, 100, 100, 100], [(0, 1), (1, 2), (2, 3), (3, 4)], kind=[BARRIER] + [SOFT] * 3)
    res = partition_community(g, min_households=300, max_households=500)
    assert groups(res.labels) == [[0], [1, 2, 3, 4]]
    assert res.too_big == [(0, 620, 120)]
    assert res.count_infeasible  # no count of grids puts that block within the bounds
    assert res.mean == 510.0


def test_islands_are_joined_nearest_first_and_reported():
    # a row of three and two detached buildings: one 5 m right of the row's end, one far to the left
    g = CommunityGraph.build(
        [100, 100, 100, 100, 100],
        [(0, 1), (1, 2)],
        xy=np.array([[0, 0], [10, 0], [20, 0], [25, 0], [-60, 0]]),
    )
    res = partition_community(g, min_households=200, max_households=300)
    assert res.islands == [([3], 2), ([4], 0)]
    sizes = check_whole(res, g)
    assert ((sizes >= 200) & (sizes <= 300)).all()
    # an island of two buildings joined through its member nearest the rest
    xy = np.array([[0, 0], [10, 0], [20, 0], [90, 0], [40, 0]])
    g = CommunityGraph.build([100] * 5, [(0, 1), (1, 2), (3, 4)], xy=xy)
    res = partition_community(g, min_households=200, max_households=300)
    assert res.islands == [([3, 4], 2)]
    check_whole(res, g)


def test_same_seed_same_partition_and_labels_independent_of_earlier_calls():
    rng = np.random.default_rng(11)
    hh = rng.integers(5, 60, size=(9, 9))
    g = lattice(hh, walls_below={4})
    first = partition_community(g, min_households=150, max_households=260, seed=3)
    partition_community(g, min_households=150, max_households=260, seed=4)
    again = partition_community(g, min_households=150, max_households=260, seed=3)
    assert first.labels.tolist() == again.labels.tolist()
    check_whole(first, g)


# -- all inputs ----------------------------------------------------------------------------------------------


@st.composite
def communities(draw):
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    lo = draw(st.integers(40, 200))
    hi = lo + draw(st.integers(60, 200))
    cap = max(1, (hi - lo) // 4)
    hh = np.array([[draw(st.integers(0, cap)) for _ in range(cols)] for _ in range(rows)])
    barrier = {draw(st.integers(0, rows - 2))} if rows > 1 and draw(st.booleans()) else set()
    walls = {draw(st.integers(0, rows - 2))} if rows > 1 and draw(st.booleans()) else set()
    return hh, barrier, walls - barrier, lo, hi


@FEW
@given(communities(), st.integers(0, 3))
def test_every_partition_is_whole_within_bounds_where_they_surely_fit_and_reproducible(case, seed):
    hh, barrier, walls, lo, hi = case
    g = lattice(hh, barrier_below=barrier, walls_below=walls)
    res = partition_community(g, min_households=lo, max_households=hi, seed=seed)
    sizes = check_whole(res, g)
    total, cap = int(hh.sum()), int(hh.max())
    assert res.too_big == []
    if not barrier:
        k = grid_count(total, min_households=lo, max_households=hi)
        fits = total >= lo and math.ceil(total / hi) <= total // lo
        assert res.count_infeasible is (not fits if g.households.size > 1 or total <= hi else True)
        if total < lo:
            assert res.k == 1
        elif k * (lo + cap) <= total <= k * (hi - cap):  # room for a whole building either side of each grid
            assert ((sizes >= lo) & (sizes <= hi)).all(), (sizes.tolist(), lo, hi)
    again = partition_community(g, min_households=lo, max_households=hi, seed=seed)
    assert again.labels.tolist() == res.labels.tolist()


def test_the_local_search_leaves_no_single_move_that_would_clearly_even_out_two_grids():
    # the local search pulls grids towards the mean: with compactness 0 and no clustering, no boundary
    # building can move to a neighbouring grid, both grids staying within bounds and one piece, and bring
    # the two sizes clearly nearer the mean (by more than 0.02 in squared deviation relative to the mean)
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(150):
        rows, cols = int(rng.integers(2, 7)), int(rng.integers(2, 7))
        lo = int(rng.integers(40, 200))
        hi = lo + int(rng.integers(60, 200))
        g = lattice(rng.integers(0, max(1, (hi - lo) // 4) + 1, (rows, cols)))
        res = partition_community(g, min_households=lo, max_households=hi, compactness=0.0, coarsen=0.0)
        s = res.sizes(g.households).astype(float)
        if res.k < 2 or not ((s >= lo) & (s <= hi)).all():
            continue
        checked += 1
        m, lab = s.sum() / res.k, res.labels
        for x, y in g.edges.tolist():
            for v, u in ((x, y), (y, x)):
                a, b = lab[v], lab[u]
                na, nb = s[a] - g.households[v], s[b] + g.households[v]
                if a == b or not (lo <= na <= hi and lo <= nb <= hi):
                    continue
                moved = lab.copy()
                moved[v] = b
                if not (moved == a).any() or pieces(moved, g.edges, a) != 1:
                    continue
                gain = ((na - m) ** 2 + (nb - m) ** 2 - (s[a] - m) ** 2 - (s[b] - m) ** 2) / m**2
                assert gain > -0.02, (lab.tolist(), v, b, gain)
    assert checked > 40


# -- a world of communities ----------------------------------------------------------------------------------


def world(specs, *, estates=None, households=None):
    """Buildings as 6 m squares on a 10 m lattice, one row per community: ``specs`` = [(community, n)]; the
    adjacency joins row neighbours (10 m borders). Returns (buildings, adj, kind)."""
    recs, adj = [], []
    pos = 0
    for r, (com, n) in enumerate(specs):
        for c in range(n):
            recs.append(
                {
                    "id": f"{com}-{c}",
                    "community_id": com,
                    "households": 100 if households is None else households[pos],
                    "estate_id": None if estates is None else estates[pos],
                    "geometry": shapely.box(c * 10 + 2, -r * 10 - 8, c * 10 + 8, -r * 10 - 2),
                }
            )
            if c:
                adj.append((pos - 1, pos, 10.0))
            pos += 1
    b = gpd.GeoDataFrame(recs, geometry="geometry", crs="EPSG:4549")
    a = pd.DataFrame(adj, columns=["i", "j", "length"])
    return b, a, np.zeros(len(a), dtype=np.int8)


def test_world_partitions_every_community_with_its_own_bounds():
    # communities listed out of order; ids sorted are B < C
    b, adj, kind = world([("C", 6), ("B", 8)])
    res = partition_world(b, adj, kind, bounds={"B": (300, 500)}, default_bounds=(250, 350))
    assert set(res.communities) == {"B", "C"}
    assert res.building_ids["C"] == [f"C-{c}" for c in range(6)]
    assert res.building_ids["B"] == [f"B-{c}" for c in range(8)]
    assert res.communities["B"].k == 2 and res.communities["C"].k == 2
    assert set(res.grid_of) == set(b["id"])
    for com, ids in res.building_ids.items():
        labels = res.communities[com].labels.tolist()
        assert [res.grid_of[i] for i in ids] == [(com, g) for g in labels]
    c_sizes = res.communities["C"].sizes(np.full(6, 100)).tolist()
    assert c_sizes == [300, 300]
    assert groups(res.communities["B"].labels) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_world_of_three_communities_keeps_each_apart():
    b, adj, kind = world([("A", 3), ("B", 6), ("C", 9)])
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(250, 350))
    assert [res.communities[c].k for c in "ABC"] == [1, 2, 3]
    assert {res.grid_of[f"C-{c}"] for c in range(9)} == {("C", 0), ("C", 1), ("C", 2)}
    assert len(res.grid_of) == 18


def test_world_keeps_each_communitys_buildings_in_the_order_given():
    # two communities of 20 buildings given interleaved: building_ids (and the labels aligned with them)
    # list each community's buildings in input order
    b, adj, kind = world([("A", 20), ("B", 20)])
    b = b.iloc[np.r_[0:20, 20:40].reshape(2, 20).T.ravel()].reset_index(drop=True)  # A-0, B-0, A-1, B-1, ...
    pos = {bid: p for p, bid in enumerate(b["id"])}
    adj = pd.DataFrame(
        {
            "i": [min(pos[f"{c}-{x}"], pos[f"{c}-{x + 1}"]) for c in "AB" for x in range(19)],
            "j": [max(pos[f"{c}-{x}"], pos[f"{c}-{x + 1}"]) for c in "AB" for x in range(19)],
            "length": 10.0,
        }
    )
    res = partition_world(b, adj, np.zeros(len(adj), dtype=np.int8), bounds={}, default_bounds=(250, 350))
    assert res.building_ids["A"] == [f"A-{x}" for x in range(20)]
    assert res.building_ids["B"] == [f"B-{x}" for x in range(20)]
    for com in "AB":  # each grid a run of neighbours along the row, in the order of building_ids
        for grid in groups(res.communities[com].labels):
            assert grid == list(range(grid[0], grid[-1] + 1)), groups(res.communities[com].labels)
        assert [res.grid_of[bid] for bid in res.building_ids[com]] == [
            (com, g) for g in res.communities[com].labels.tolist()
        ]


def test_world_only_the_communities_asked_for():
    b, adj, kind = world([("A", 4), ("B", 6)])
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(250, 350), communities=["B"])
    assert set(res.communities) == {"B"}
    assert set(res.grid_of) == {f"B-{c}" for c in range(6)}


def test_world_missing_households_count_as_none_and_estates_are_optional():
    hh = [100, None, 100, 100, 100, 100, 100]
    b, adj, kind = world([("A", 7)], households=hh)
    b["households"] = pd.array(hh, dtype="Int64")
    no_estate = b.drop(columns=["estate_id"])
    res = partition_world(no_estate, adj, kind, bounds={}, default_bounds=(250, 350))
    assert res.communities["A"].sizes(np.array([100, 0, 100, 100, 100, 100, 100])).sum() == 600
    assert res.communities["A"].k == 2


def test_world_estates_stay_whole():
    est = [None, "X", "X", "X", None, None]
    b, adj, kind = world([("A", 6)], estates=est)
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(200, 400))
    labels = res.communities["A"].labels
    assert labels[1] == labels[2] == labels[3]
    assert groups(labels) == [[0, 1, 2, 3], [4, 5]]
    # estates given as NaN are no estate: the balanced split 3 + 3 is free
    b["estate_id"] = [np.nan] * 6
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(200, 400))
    assert groups(res.communities["A"].labels) == [[0, 1, 2], [3, 4, 5]]


def test_world_overlapping_footprints_are_one_node_unless_told_not_to():
    b, adj, kind = world([("A", 6)])
    # building 3 drawn over building 2 (one physical building in two records)
    geoms = b.geometry.values.copy()
    geoms[3] = shapely.box(22.5, -8, 28.5, -2)
    b = b.set_geometry(gpd.GeoSeries(geoms, crs=b.crs))
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(250, 350))
    labels = res.communities["A"].labels
    assert labels[2] == labels[3]
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(250, 350), tie_overlapping=None)
    assert groups(res.communities["A"].labels) == [[0, 1, 2], [3, 4, 5]]


def test_world_overlaps_across_communities_do_not_tie():
    b, adj, kind = world([("A", 6), ("B", 6)])
    geoms = b.geometry.values.copy()
    geoms[8] = shapely.box(22, -8, 28, -2)  # B-2 drawn on top of A-2
    b = b.set_geometry(gpd.GeoSeries(geoms, crs=b.crs))
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(250, 350))
    assert groups(res.communities["A"].labels) == [[0, 1, 2], [3, 4, 5]]
    assert groups(res.communities["B"].labels) == [[0, 1, 2], [3, 4, 5]]


def test_world_island_joined_to_the_nearest_building_by_position():
    # community A: a row of four and one building with no neighbour lying just right of the row's end;
    # community B first so A's buildings do not start at row 0
    b, adj, kind = world([("B", 3), ("A", 4), ("A2", 1)])
    b.loc[b["id"] == "A2-0", "community_id"] = "A"
    b.loc[b["id"] == "A2-0", "geometry"] = shapely.box(42, -18, 48, -12)
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(150, 300))
    cp = res.communities["A"]
    ids = res.building_ids["A"]
    island = ids.index("A2-0")
    assert cp.islands == [([island], ids.index("A-3"))]
    assert cp.labels[island] == cp.labels[ids.index("A-3")]
    assert groups(cp.labels) == [[0, 1], [2, 3, 4]] or groups(cp.labels) == [[0, 1, 2], [3, 4]]
    del cp


def test_world_empty():
    b = gpd.GeoDataFrame({"id": [], "community_id": [], "households": []}, geometry=gpd.GeoSeries([], crs="EPSG:4549"))
    res = partition_world(b, pd.DataFrame({"i": [], "j": [], "length": []}), np.zeros(0, dtype=np.int8), bounds={})
    assert res.grid_of == {} and res.communities == {}


def test_edge_kinds_from_estates_and_barrier_lines():
    b, adj, _ = world([("A", 4)], estates=["X", "X", None, np.nan])
    kinds = edge_kinds(b, None, adj)
    assert kinds.tolist() == [SOFT, WALL, SOFT]  # X|X, X|none, none|NaN
    road = gpd.GeoDataFrame({"id": ["r"]}, geometry=[shapely.LineString([(30, 5), (30, -20)])], crs=b.crs)
    kinds = edge_kinds(b, None, adj, road)
    assert kinds.tolist() == [SOFT, WALL, BARRIER]
    assert edge_kinds(b, None, adj.iloc[:0]).tolist() == []
    assert edge_kinds(b.drop(columns=["estate_id"]), None, adj).tolist() == [SOFT] * 3
