"""Grid codes at their edges and for all inputs: the reading order (Hypothesis), the default row height,
sequence 999 itself, empty input, repeated building sets, ``is_code`` on bad codes and wrong communities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.domain.codes import (
    LEVELS,
    CodeError,
    area_codes,
    assign_codes,
    community_of,
    district_of,
    geographic_order,
    is_code,
    level_of,
    sequence,
    short_code,
    street_of,
)
from gridmap.errors import InvalidInput

COM = "370214001007"


def reading_order(xy: np.ndarray, row_height: float) -> list[int]:
    """The rule written out: walk points north→south; a point more than half a row below the first point
    of the current row opens a new row; inside a row west→east (ties keep the input order)."""
    by_y = sorted(range(len(xy)), key=lambda i: -xy[i][1])
    rows: list[list[int]] = []
    top = None
    for i in by_y:
        if top is None or top - xy[i][1] > row_height / 2:
            rows.append([])
            top = xy[i][1]
        rows[-1].append(i)
    return [i for row in rows for i in sorted(row, key=lambda i: (xy[i][0], i))]


coords = st.integers(min_value=-50, max_value=50).map(float)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(coords, coords), min_size=1, max_size=12), st.sampled_from([1.0, 4.0, 10.0, 25.0]))
def test_reading_order_is_the_walk_for_any_points(points, row_height):
    xy = np.array(points, dtype=float)
    order = geographic_order(xy, row_height=row_height).tolist()
    # the same rows; within a row, equal x keep input order only up to numpy's lexsort, which is stable
    assert order == reading_order(xy, row_height)


def test_default_row_height_is_the_typical_spacing():
    # 4 points on a 100 m × 100 m square: spacing sqrt(100*100/4) = 50 m, half a row = 25 m.
    # Points 20 m and 22 m below the row's top stay in its row (west→east); one 100 m below starts the next.
    xy = np.array([[0.0, 100.0], [100.0, 80.0], [50.0, 78.0], [0.0, 0.0]])
    assert geographic_order(xy).tolist() == [0, 2, 1, 3]
    # a point 30 m below the top starts a new row under the default
    assert geographic_order(np.array([[0.0, 100.0], [100.0, 80.0], [50.0, 70.0], [0.0, 0.0]])).tolist() == [0, 1, 2, 3]
    # the same points with an explicit row height of 2 m: every point is its own row
    assert geographic_order(xy, row_height=2).tolist() == [0, 1, 2, 3]
    # the first point (x == y) is the northernmost; a tie in y is west→east
    assert geographic_order(np.array([[5.0, 5.0], [1.0, 5.0], [3.0, 0.0]])).tolist() == [1, 0, 2]


def test_no_points_and_no_grids():
    empty = geographic_order(np.zeros((0, 2)))
    assert empty.tolist() == [] and empty.dtype.kind == "i"  # positions: usable as an index even when empty
    assert np.zeros((0, 2))[empty].shape == (0, 2)
    assert assign_codes(COM, [], np.zeros((0, 2))) == []


def test_sequence_999_is_issued_and_then_the_community_is_full():
    xy = np.zeros((1, 2))
    assert assign_codes(COM, [frozenset("a")], xy, issued=[f"{COM}998"]) == [f"{COM}999"]
    with pytest.raises(CodeError, match="all 999"):
        assign_codes(COM, [frozenset("a"), frozenset("b")], np.zeros((2, 2)), issued=[f"{COM}998"])
    assert assign_codes(COM, [frozenset("a"), frozenset("b")], np.zeros((2, 2)), issued=[f"{COM}997"]) == [
        f"{COM}998",
        f"{COM}999",
    ]
    assert sequence(f"{COM}999") == 999 and sequence(f"{COM}001") == 1


def test_codes_of_other_communities_are_ignored():
    xy = np.zeros((1, 2))
    other = "370214001008"
    # another community's codes neither raise the next number nor are kept for a grid of this one
    codes = assign_codes(COM, [frozenset("a")], xy, previous={frozenset("a"): f"{other}004"}, issued=[f"{other}900"])
    assert codes == [f"{COM}001"]


def test_two_grids_with_the_same_previous_building_set_are_refused():
    xy = np.zeros((2, 2))
    previous = {frozenset("ab"): f"{COM}003"}
    with pytest.raises(CodeError, match="same building set"):
        assign_codes(COM, [frozenset("ab"), frozenset("ab")], xy, previous=previous)


def test_is_code_refuses_bad_codes_and_the_wrong_community():
    assert is_code(f"{COM}001") and is_code(f"{COM}001", COM)
    assert not is_code(f"{COM}001", "370214001008")
    for bad in (
        f"{COM}01",
        f"{COM}0011",
        f"{COM}00a",
        f" {COM}001",
        "",
        f"{COM}001\n",
        "３７０２１４００１００７００１",
    ):
        assert not is_code(bad), bad
    assert community_of(f"{COM}001") == COM
    assert level_of("３７０２１４") is None and level_of("370214") == "district"  # full-width digits are no code
    assert list(LEVELS.values()) == [6, 9, 12, 15]


@pytest.mark.parametrize(
    "bad", ["37021400100", "3702140010077", "37021400100a", "", "370214001007\n", "３７０２１４００１００７"]
)
def test_community_ids_that_are_not_12_digits(bad):
    with pytest.raises(CodeError, match="12 digits"):
        assign_codes(bad, [frozenset("a")], np.zeros((1, 2)))


def default_row_height(xy: np.ndarray) -> float:
    """The documented default: sqrt(bbox area / n), each side counted as at least 1 m (and never 0)."""
    w, h = (float(np.ptp(xy[:, k])) for k in (0, 1))
    return max(float(np.sqrt(max(w, 1.0) * max(h, 1.0) / len(xy))), 1e-9)


small = st.integers(min_value=0, max_value=40).map(lambda v: v / 10)  # 0 … 4 m in 10 cm steps


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(small, small), min_size=2, max_size=8))
def test_the_default_row_height_is_the_typical_spacing_for_any_small_set(points):
    xy = np.array(points, dtype=float)
    assert geographic_order(xy).tolist() == reading_order(xy, default_row_height(xy))


def test_each_level_of_a_code_is_its_own_prefix():
    assert district_of("370214") == "370214" and street_of("370214001") == "370214001"
    assert community_of("370214001005") == "370214001005"
    for missing in (float("nan"), pd.NA, pd.NaT, "nan", "<NA>"):
        assert district_of(missing) is None and level_of(missing) is None
    assert community_of(370214001005.0) == "370214001005"  # a code read as a number by a spreadsheet


def test_area_codes_are_distinct_sorted_and_never_blank():
    assert area_codes([f"{COM}002", "370214", f"{COM}002", "370214001"]) == ("370214", "370214001", f"{COM}002")
    assert area_codes([]) == ()
    with pytest.raises(InvalidInput, match="an empty code would cover every grid"):
        area_codes([f"{COM}001", " "])
    with pytest.raises(InvalidInput, match=r"grids must be 6/9/12/15-digit codes: \['37021', 'G1'\]"):
        area_codes(["37021", f"{COM}001", "G1"])
    for bad in (f"{COM}001\n", "３７０２１４", "3702140", f"{COM}0011"):
        with pytest.raises(InvalidInput):
            area_codes([bad])


def test_short_code_is_the_sequence_of_a_grid_code_only():
    assert short_code(f"{COM}005") == "005" and short_code(f" {COM}120 ") == "120"
    assert short_code(COM) == COM and short_code("370214") == "370214"  # not a grid code: as given
    assert short_code(None) == ""
