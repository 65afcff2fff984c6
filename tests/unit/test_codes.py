"""Grid codes: 15 digits, west→east and north→south, kept when unchanged, never reused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridmap.domain.codes import (
    CodeError,
    assign_codes,
    community_of,
    district_of,
    geographic_order,
    is_code,
    level_of,
    street_of,
)

COM = "370214001007"


def test_reading_order_rows_north_to_south_then_west_to_east():
    #   c(0,10) a(10,10)          → 1: c  2: a
    #   d(0, 0) b(10, 0) e(20, 1) → 3: d  4: b  5: e
    xy = np.array([[10, 10], [10, 0], [0, 10], [0, 0], [20, 1]])
    assert geographic_order(xy, row_height=5).tolist() == [2, 0, 3, 1, 4]
    grids = [frozenset({n}) for n in "abcde"]
    codes = assign_codes(COM, grids, xy)
    assert codes == [f"{COM}002", f"{COM}004", f"{COM}001", f"{COM}003", f"{COM}005"]
    assert all(is_code(c, COM) for c in codes)


def test_unchanged_grids_keep_codes_and_new_ones_follow_the_highest_ever_issued():
    xy = np.array([[0, 0], [10, 0], [20, 0]])
    first = assign_codes(COM, [frozenset("a"), frozenset("b"), frozenset("c")], xy)
    previous = dict(zip([frozenset("a"), frozenset("b"), frozenset("c")], first))
    # b and c merge; 004 was issued to a draft once and is retired: the new grid gets 005
    issued = first + [f"{COM}004"]
    again = assign_codes(COM, [frozenset("a"), frozenset("bc")], xy[:2], previous=previous, issued=issued)
    assert again == [first[0], f"{COM}005"]


def test_bad_community_id_and_exhausted_sequence():
    with pytest.raises(CodeError, match="12 digits"):
        assign_codes("37021400107", [frozenset("a")], np.zeros((1, 2)))
    with pytest.raises(CodeError, match="999"):
        assign_codes(COM, [frozenset("a")], np.zeros((1, 2)), issued=[f"{COM}999"])


# -- the hierarchy written in the digits (the one owner: gridmap.domain.codes) -------------------------
def test_hierarchy_helpers():
    grid = "370214001005003"
    assert (district_of(grid), street_of(grid), community_of(grid)) == ("370214", "370214001", "370214001005")
    assert street_of("370214001005") == "370214001" and district_of("370214001") == "370214"
    assert community_of("370214001") is None and street_of("370214") is None  # too short for the level
    assert [level_of(c) for c in ("370214", "370214001", "370214001005", grid)] == [
        "district",
        "street",
        "community",
        "grid",
    ]
    assert level_of("37021400100") is None and level_of("G1") is None and level_of(None) is None
    for missing in (None, float("nan"), pd.NA, ""):
        assert community_of(missing) is None and street_of(missing) is None and level_of(missing) is None
    assert community_of(" 370214001005003 ") == "370214001005"  # surrounding blanks are not digits
