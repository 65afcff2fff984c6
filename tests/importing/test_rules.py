"""Every validation rule: a small bad file, the exact report rows, and the store left as it was
(or holding only the valid rows with skip_invalid)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from gridmap.io.files import ReadError
from gridmap.services.importing import ImportRejected, import_file

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
sys.path.insert(0, str(DATA))
from make_files import C1, C2, world  # noqa: E402

BASE = ("districts", "streets", "communities", "estates", "buildings")


@pytest.fixture
def base(store):
    w = world()
    with store.transaction():
        for name in BASE:
            store.write(name, w[name])
    return store


def rows(report):
    return [(i.row, i.id, i.field, i.level, i.rule, i.problem) for i in report.issues]


def same(a: dict, b: dict, *, except_layer: str | None = None) -> None:
    for name in a:
        if name != except_layer:
            pd.testing.assert_frame_equal(a[name], b[name], check_dtype=False)


# layer, file, expected issues (row, id, field, level, rule, problem or regex), ids written with skip_invalid
CASES = [
    (
        "buildings",
        "buildings_invalid_geometry.geojson",
        [
            (
                1,
                "n1",
                "geometry",
                "warning",
                "invalid_geometry",
                re.compile(r"invalid geometry \(Self-intersection.*\), repaired with make_valid"),
            ),
            (
                3,
                "n3",
                "geometry",
                "error",
                "invalid_geometry",
                re.compile(r"invalid geometry \(Too few points.*\) with nothing left after repair"),
            ),
        ],
        {"n1", "n2"},
    ),
    (
        "buildings",
        "buildings_ids.csv",
        [
            (1, None, "id", "error", "empty_id", "empty id"),
            (3, "n1", "id", "error", "duplicate_id", "duplicate id 'n1' (first on row 2)"),
        ],
        {"n1", "n3"},
    ),
    (
        "buildings",
        "buildings_outside.geojson",
        [(1, "far", "geometry", "error", "outside_communities", "building lies outside every community (0% inside)")],
        {"ok"},
    ),
    (
        "buildings",
        "buildings_straddle.geojson",
        [
            (
                1,
                "mid",
                "geometry",
                "error",
                "straddles_communities",
                f"building straddles communities {C1} (60%) and {C2} (40%)",
            )
        ],
        {"edge", "ok"},
    ),
    (
        "buildings",
        "buildings_wrong_community.geojson",
        [
            (
                1,
                "wrong",
                "community_id",
                "error",
                "wrong_community",
                f"community_id {C1} but the building lies in {C2}",
            ),
            (2, "pt", "geometry", "error", "wrong_geometry_type", "Point where a polygon is expected"),
        ],
        {"ok"},
    ),
    (
        "estates",
        "estates_cross.geojson",
        [
            (
                1,
                "EX",
                "geometry",
                "error",
                "crosses_community_boundary",
                f"estate crosses the boundary of communities {C1} (56%) and {C2} (44%)",
            )
        ],
        {"EY"},
    ),
    (
        "communities",
        "communities_overlap.geojson",
        [
            (1, "370214001003", "geometry", "error", "overlapping_communities", f"overlaps community {C1} by 50 m²"),
            (1, "370214001003", "geometry", "error", "overlapping_communities", f"overlaps community {C2} by 950 m²"),
            (
                3,
                "370214001005",
                "geometry",
                "error",
                "overlapping_communities",
                "overlaps community 370214001004 by 1,100 m²",
            ),
        ],
        {"370214001004"},
    ),
    (
        "communities",
        "communities_sliver.geojson",
        [
            (1, "370214001006", "geometry", "error", "sliver", "sliver polygon part (25 m²)"),
            (2, "370214001007", "geometry", "error", "sliver", "sliver polygon part (2,000 m², thin)"),
        ],
        {"370214001008"},
    ),
    (
        "buildings",
        "buildings_households.csv",
        [
            (1, "h-missing", "households", "error", "missing_value", "missing household count"),
            (2, "h-negative", "households", "error", "negative_value", "negative households -3"),
            (3, "h-text", "households", "error", "bad_value", "'many' is not a number"),
        ],
        {"h-ok"},
    ),
    (
        "buildings",
        "buildings_parents.csv",
        [(1, "p-unknown", "estate_id", "error", "unknown_parent", "unknown estates id 'E99'")],
        {"p-ok"},
    ),
    (
        "buildings",
        "buildings_markup.csv",
        [  # names are text: markup is refused, "<" before a digit or a space is not markup
            (
                1,
                "m-meta",
                "name",
                "error",
                "markup_in_text",
                'name \'<meta http-equiv="refresh" content="0;url=//evil.example">\' holds HTML markup',
            ),
            (2, "m-entity", "name", "error", "markup_in_text", "name '3&#35;楼' holds HTML markup"),
        ],
        {"m-ok"},
    ),
]


def _match(got: list[tuple], expected: list[tuple]) -> None:
    assert len(got) == len(expected), got
    for g, e in zip(got, expected):
        assert g[:5] == e[:5], (g, e)
        assert e[5].fullmatch(g[5]) if isinstance(e[5], re.Pattern) else g[5] == e[5], (g[5], e[5])


@pytest.mark.parametrize("layer,name,expected,valid", CASES, ids=[c[1] for c in CASES])
def test_rule_rejects_all_then_skip_invalid_writes_only_valid(base, layer, name, expected, valid):
    before = base.snapshot()
    with pytest.raises(ImportRejected) as exc:
        import_file(base, layer, DATA / name, crs="EPSG:4326" if name.endswith(".csv") else None)
    _match(rows(exc.value.report), expected)
    same(before, base.snapshot())
    assert exc.value.report.written is None

    report = import_file(
        base, layer, DATA / name, crs="EPSG:4326" if name.endswith(".csv") else None, skip_invalid=True
    )
    _match(rows(report), expected)
    after = base.snapshot()
    same(before, after, except_layer=layer)
    new = set(after[layer]["id"]) - set(before[layer]["id"])
    assert new == valid
    assert report.written.inserted == len(valid)


def test_derived_and_repaired_values_are_stored(base):
    import_file(base, "buildings", DATA / "buildings_straddle.geojson", skip_invalid=True)
    assert base.get("buildings", "edge")["community_id"] == C2  # 2% in C1 is tolerated
    import_file(base, "buildings", DATA / "buildings_invalid_geometry.geojson", skip_invalid=True)
    g = base.get("buildings", "n1")["geometry"]
    assert g.is_valid and g.area > 0
    import_file(base, "estates", DATA / "estates_cross.geojson", skip_invalid=True)
    assert base.get("estates", "EY")["community_id"] == C2


def test_reimport_changes_nothing(base):
    first = import_file(base, "buildings", DATA / "buildings_outside.geojson", skip_invalid=True)
    snap = base.snapshot()
    again = import_file(base, "buildings", DATA / "buildings_outside.geojson", skip_invalid=True)
    same(snap, base.snapshot())
    assert (first.written.inserted, again.written.inserted, again.written.updated, again.written.unchanged) == (
        1,
        0,
        0,
        1,
    )


def test_file_without_crs_is_refused_unless_crs_given(base):
    before = base.snapshot()
    with pytest.raises(ReadError, match="no coordinate reference system. Pass --crs"):
        import_file(base, "households", DATA / "households_lonlat.csv")
    same(before, base.snapshot())
    report = import_file(base, "households", DATA / "households_lonlat.csv", crs="EPSG:4326")
    assert report.issues == [] and report.written.inserted == 2


def test_swapped_lat_lon_is_detected_and_repaired(base):
    plain = import_file(base, "households", DATA / "households_lonlat.csv", crs="EPSG:4326")
    snap = base.snapshot()
    swapped = import_file(base, "households", DATA / "households_swapped.csv", crs="EPSG:4326")
    assert plain.issues == []
    assert rows(swapped) == [
        (None, None, "geometry", "warning", "swapped_axes", "latitude and longitude are swapped in the file")
    ]
    assert swapped.written.unchanged == 2
    same(snap, base.snapshot())


def test_id_column(base, tmp_path):
    src = pd.read_csv(DATA / "buildings_parents.csv").rename(columns={"id": "编号"})
    src.to_csv(tmp_path / "b.csv", index=False)
    report = import_file(base, "buildings", tmp_path / "b.csv", crs="EPSG:4326", id_column="编号", skip_invalid=True)
    assert [i.id for i in report.errors] == ["p-unknown"]
    assert base.get("buildings", "p-ok")["estate_id"] == "E1"
