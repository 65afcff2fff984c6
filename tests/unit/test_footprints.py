"""Overlapping footprints: which pairs overlap, and merging them into one building without double counting."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from gridmap.domain.footprints import groups, merge_overlapping, overlap_pairs


def test_pairs_are_those_overlapping_more_than_the_share_of_the_smaller():
    big = shapely.box(0, 0, 20, 10)  # 200 m²
    geoms = [
        big,
        shapely.box(0, 0, 5, 10),  # 50 m² wholly inside big: 100% of the smaller
        shapely.box(18, 0, 28, 10),  # 20 m² of 100: 20% of the smaller — not a pair
        shapely.box(100, 0, 110, 10),  # far away
        shapely.box(28, 0, 38, 10),  # touches the third along an edge: 0 m²
    ]
    p = overlap_pairs(geoms)
    assert p[["i", "j"]].values.tolist() == [[0, 1]]
    assert p["share"].iat[0] == pytest.approx(1.0) and p["share_i"].iat[0] == pytest.approx(0.25)
    assert overlap_pairs(geoms, min_share=0.1)[["i", "j"]].values.tolist() == [[0, 1], [0, 2]]
    assert groups(5, [[0, 1], [1, 3]]).tolist() == [0, 0, 1, 0, 2]


def test_a_tower_on_its_podium_counts_each_square_metre_once_at_the_tallest_part():
    podium = shapely.box(0, 0, 30, 30)  # 900 m², 2 floors → 20 households at 90 m²
    tower = shapely.box(10, 10, 20, 20)  # 100 m² inside, 18 floors → 20 households
    frame = pd.DataFrame(
        {"id": ["podium", "tower"], "households": [20, 20], "floors": [2, 18], "geometry": [podium, tower]}
    )
    res = merge_overlapping(frame)
    (row,) = res.frame.to_dict("records")
    # tower's 100 m² at 18 floors + podium's other 800 m² at 2 floors = 1,800 + 1,600 m² → 37.8 households
    assert row["id"] == "podium" and row["floors"] == 18
    assert row["households"] == round(20 + 20 * 800 / 900)
    assert row["geometry"].equals(podium)
    assert res.aliases.values.tolist() == [["tower", "podium"]] and res.merged == [("podium", ["tower"])]


def test_a_repeated_footprint_counts_once_and_chains_merge_to_the_largest():
    a = shapely.box(0, 0, 10, 10)
    frame = pd.DataFrame(
        {
            "id": ["a", "a-copy", "b", "c"],
            "households": [10, 10, 4, 7],
            "geometry": [a, a, shapely.box(4, 0, 15, 10), shapely.box(50, 50, 60, 60)],
        }
    )
    res = merge_overlapping(frame)
    out = res.frame.set_index("id")
    assert sorted(out.index) == ["b", "c"]  # b (110 m²) is the largest of a, a-copy, b
    assert out.loc["c", "households"] == 7
    # a's 100 m² once at 0.1/m² (a-copy adds nothing), b's 50 m² outside a at 4/110 per m²
    assert out.loc["b", "households"] == round(10 + 4 * 50 / 110)
    assert dict(res.aliases.values.tolist()) == {"a": "b", "a-copy": "b"}
    assert out.loc["b", "geometry"].area == pytest.approx(150)
