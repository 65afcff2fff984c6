"""Partition on tiny hand-drawn worlds whose best answer is known (the answer is drawn in the test)."""

from __future__ import annotations

import numpy as np
import pytest

from gridmap.domain.partition import CommunityGraph, PartitionError, grid_count, partition_community
from grids_worlds import drawn, lattice, partition, same_partition, show


def test_row_of_six_splits_in_two_halves():
    world = lattice([[100] * 6])
    got, *_ = partition(world, lo=250, hi=350)
    want = drawn(["AAABBB"])
    assert same_partition(got, want), show(got, 1, 6)


def test_barrier_beats_compactness():
    # 2 rows x 4 columns of 100 households; a road runs between the rows. Without it the compact
    # answer is left/right halves; with it, each row is one grid.
    hh = [[100] * 4, [100] * 4]
    road = [((0, 1), (4, 1))]
    got, *_ = partition(lattice(hh, barriers=road), lo=300, hi=500)
    assert same_partition(got, drawn(["AAAA", "BBBB"])), show(got, 2, 4)
    got, *_ = partition(lattice(hh), lo=300, hi=500)
    assert same_partition(got, drawn(["AABB", "AABB"])), show(got, 2, 4)


def test_estate_that_fits_stays_whole():
    # six buildings of 100, bounds 200..400: the balanced answer AAABBB would cut estate X
    hh = [[100] * 6]
    got, *_ = partition(lattice(hh), lo=200, hi=400)
    assert same_partition(got, drawn(["AAABBB"])), show(got, 1, 6)
    got, *_ = partition(lattice(hh, estates=[".XXX.."]), lo=200, hi=400)
    assert same_partition(got, drawn(["AAAABB"])), show(got, 1, 6)


def test_one_more_grid_when_it_lets_every_grid_fit():
    # four slabs of 300: midpoint 400 says 3 grids, which cannot fit (one would hold 600); 4 can
    got, res, *_ = partition(lattice([[300] * 4]), lo=300, hi=500)
    assert same_partition(got, drawn(["ABCD"])), show(got, 1, 4)


def test_small_community_is_one_grid():
    got, res, *_ = partition(lattice([[50, 50], [50, 50]]), lo=300, hi=500)
    assert set(got.values()) == {0}
    assert res.communities["370214001001"].k == 1


def test_building_above_max_is_reported_with_the_excess():
    _, res, *_ = partition(lattice([[620, 100, 100, 100]]), lo=300, hi=500)
    cp = res.communities["370214001001"]
    assert cp.too_big == [(0, 620, 120)]


def test_detached_building_is_joined_and_reported():
    # two blocks in an L-shaped community touch nothing between them except through the gap row;
    # build the graph by hand: building 3 has no neighbour at all
    g = CommunityGraph.build([100, 100, 100, 100], [(0, 1), (1, 2)], xy=np.array([[0, 0], [10, 0], [20, 0], [31, 0]]))
    res = partition_community(g, min_households=100, max_households=250)
    assert res.islands == [([3], 2)]
    assert res.labels[3] == res.labels[2]


def test_same_seed_same_answer():
    rng = np.random.default_rng(3)
    hh = rng.integers(5, 60, size=(8, 8)).tolist()
    a, *_ = partition(lattice(hh), seed=7)
    b, *_ = partition(lattice(hh), seed=7)
    assert a == b


def test_grid_count_follows_the_bounds():
    assert grid_count(250, min_households=300, max_households=500) == 1
    assert grid_count(4000, min_households=300, max_households=500) == 10
    assert grid_count(550, min_households=300, max_households=500) == 2  # infeasible: 2 x 275


def test_bad_bounds_are_refused():
    with pytest.raises(PartitionError, match="min <= max"):
        grid_count(100, min_households=500, max_households=300)
