"""gridmap.domain.disclosure: the interval differencing attack is sound and finds what the old rule left open;
protect() withholds just enough for it to find nothing."""

from __future__ import annotations

import itertools
import random

from gridmap.domain import disclosure as D
from gridmap.domain.privacy import suppress_small


def naive(values, keys):
    return {k: suppress_small(values[k]) for k in keys}


def test_total_minus_visible_parts_gives_the_suppressed_part_back():
    values = {"c": 9, "g1": 5, "g2": 3, "g3": 1, "g4": 0}
    sums = [("c", ("g1", "g2", "g3", "g4"))]
    assert D.recovered(naive(values, values), sums) == {}  # two suppressed parts: 3 + 1 = 4 could be 2 + 2
    values = {"c": 8, "g1": 5, "g2": 3, "g3": 0}
    sums = [("c", ("g1", "g2", "g3"))]
    assert D.recovered(naive(values, values), sums) == {"g2": 3}
    out = D.protect(values, sums, list(values))
    assert D.recovered(out, sums) == {} and out["g2"] == "<5" and out["c"] == 8
    assert sum(v is None for v in out.values()) == 1  # one complementary cell, not more


def test_a_remainder_nobody_sees_is_protected_too():
    values = {"c": 7, "g1": 5, "rest": 2}
    sums = [("c", ("g1", "rest"))]
    assert D.recovered(naive(values, ["c", "g1"]), sums) == {"rest": 2}
    out = D.protect(values, sums, ["c", "g1"])
    assert D.recovered(out, sums) == {} and set(out) == {"c", "g1"}


def test_chains_across_levels_and_fixed_cells():
    # street 20 = community a (12) + community b (8); a = grids 9 + 3; b = grids 8 + 0; the street is fixed
    values = {"s": 20, "a": 12, "b": 8, "a1": 9, "a2": 3, "b1": 8, "b2": 0}
    sums = [("s", ("a", "b")), ("a", ("a1", "a2")), ("b", ("b1", "b2"))]
    out = D.protect(values, sums, list(values), fixed={"s"})
    assert out["s"] == 20 and D.recovered(out, sums) == {}


def test_fixed_cells_are_never_withheld_and_exempt_cells_not_protected():
    values = {"d": 8, "s1": 5, "s2": 3}
    sums = [("d", ("s1", "s2"))]
    out = D.protect(values, sums, list(values), fixed={"d"})
    assert out == {"d": 8, "s1": None, "s2": "<5"} and D.recovered(out, sums) == {}
    assert D.protect(values, sums, list(values), exempt=lambda k: k == "s2") == naive(values, values)


def test_the_attack_is_sound_and_protect_always_settles_on_random_tables():
    rng = random.Random(7)
    for _ in range(60):
        grids = {f"g{i}": rng.choice([0, 0, 1, 2, 3, 5, 6, 9]) for i in range(rng.randint(2, 7))}
        coms = {"c1": [k for k in grids if int(k[1:]) % 2 == 0], "c2": [k for k in grids if int(k[1:]) % 2]}
        values = dict(grids)
        sums = []
        for c, kids in coms.items():
            values[c] = sum(grids[k] for k in kids) + (rest := rng.choice([0, 0, 1]))
            values[f"r{c}"] = rest
            sums.append((c, (*kids, f"r{c}")))
        values["s"] = values["c1"] + values["c2"]
        sums.append(("s", ("c1", "c2")))
        shown = [k for k in values if not k.startswith("r")]
        for published in (naive(values, shown), D.protect(values, sums, shown)):
            for k, (lo, hi) in D.ranges(published, sums).items():
                assert lo <= values[k] <= hi  # sound: the truth is always inside
        assert D.recovered(D.protect(values, sums, shown), sums) == {}


def test_published_markers():
    assert D.hidden(None) and D.hidden("<5") and not D.hidden(0) and not D.hidden(7)
    assert list(itertools.islice(D.ranges({"a": "<5"}, []).items(), 1)) == [("a", (1.0, 4.0))]
