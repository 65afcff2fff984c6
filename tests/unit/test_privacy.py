"""Masking, scope and aggregate rules of gridmap.domain.privacy on hand-drawn records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gridmap.domain import privacy
from gridmap.domain.privacy import FULL, MASKED, NONE, Where

G1, G2 = "370214001001001", "370214001001002"  # two grids of community 370214001001
G3 = "370214002003001"  # a grid in another street
C1, S1 = "370214001001", "370214001"


@dataclass(frozen=True)
class V:
    role: str
    scope: dict[str, Any] = field(default_factory=dict)


HOUSEHOLDS = [
    {
        "id": "h1",
        "grid_code": G1,
        "community_id": C1,
        "head_name": "张三",
        "phone": "13812345678",
        "room": "3-2-501",
        "tags": "elderly_alone",
        "residents": 1,
    },
    {
        "id": "h2",
        "grid_code": G2,
        "community_id": C1,
        "head_name": "欧阳娜娜",
        "phone": "13900001111",
        "room": "5-1-1202",
        "tags": "",
        "residents": 3,
    },
    {
        "id": "h3",
        "grid_code": G3,
        "community_id": "370214002003",
        "head_name": "李四",
        "phone": None,
        "room": "1-1-101",
        "tags": "disabled,low_income",
        "residents": 2,
    },
]


def test_masks():
    assert privacy.mask_name("张三") == "张*"
    assert privacy.mask_name("欧阳娜娜") == "欧***"
    assert privacy.mask_name("王") == "王*"
    assert privacy.mask_phone("13812345678") == "138****5678"
    assert privacy.mask_phone("138-1234-5678") == "138****5678"
    assert privacy.mask_phone("0532-8765432") == "053****5432"
    assert privacy.mask_phone("12345") == "***45"
    assert privacy.mask_room("3-2-501") == "3-2-***"
    assert privacy.mask_room("1202") == "****"
    assert privacy.mask_name(None) is None and privacy.mask_phone(float("nan")) is None


def test_redact_text_masks_numbers_inside_free_text():
    text = "楼上漏水，请联系13812345678或0532-87654321，身份证370214199001011234"
    out = privacy.redact_text(text)
    assert "13812345678" not in out and "138****5678" in out
    assert "87654321" not in out and "370214199001011234" not in out
    assert out.startswith("楼上漏水")


def test_where_derives_community_and_street_from_grid_code():
    w = Where.of({"grid_code": G1})
    assert (w.grid, w.community, w.street) == (G1, C1, S1)
    assert Where.of({"community_id": C1}).street == S1
    assert Where.of({"filed_grid_code": G3}).community == "370214002003"


@pytest.mark.parametrize(
    "viewer, where, level, sensitive",
    [
        (V("admin"), Where(grid=G3), FULL, True),
        (V("planner"), Where(grid=G3), MASKED, True),
        (V("grid_leader", {"grids": [G1]}), Where.of({"grid_code": G1}), FULL, True),
        (V("grid_leader", {"grids": [G1]}), Where.of({"grid_code": G2}), MASKED, False),
        (V("community_official", {"communities": [C1]}), Where.of({"grid_code": G2}), FULL, True),
        (V("community_official", {"communities": [C1]}), Where.of({"grid_code": G3}), MASKED, False),
        (V("street_official", {"streets": [S1]}), Where.of({"grid_code": G2}), FULL, True),
        (V("street_official", {"streets": [S1]}), Where.of({"grid_code": G3}), MASKED, False),
        (V("department", {"departments": ["城管"]}), Where(department="城管", grid=G1), FULL, False),
        (V("department", {"department": "城管"}), Where(department="公安", grid=G1), MASKED, False),
        (V("viewer"), Where(grid=G1), NONE, False),
        (V("public"), Where(grid=G1), NONE, False),
    ],
)
def test_levels(viewer, where, level, sensitive):
    assert privacy.access_level(viewer, where) == level
    assert privacy.sees_sensitive(viewer, where) is sensitive


def test_grid_leader_lists_only_own_grid_and_sees_its_tags():
    rows = privacy.redact_records(HOUSEHOLDS, "households", V("grid_leader", {"grids": [G1]}))
    assert [r["id"] for r in rows] == ["h1"]
    assert rows[0]["head_name"] == "张三" and rows[0]["tags"] == "elderly_alone"


def test_planner_sees_masked_names_and_tags():
    rows = privacy.redact_records(HOUSEHOLDS, "households", V("planner"))
    assert [r["head_name"] for r in rows] == ["张*", "欧***", "李*"]
    assert rows[0]["phone"] == "138****5678" and rows[0]["room"] == "3-2-***"
    assert rows[2]["tags"] == "disabled,low_income"


def test_viewer_and_public_get_no_household_rows_and_embeds_no_personal_field():
    for role in ("viewer", "public"):
        assert privacy.redact_records(HOUSEHOLDS, "households", V(role)) == []
        # non-people layers keep rows but lose personal fields
        stewards = [{"id": "s1", "name": "王五", "phone": "13700000000", "role": "grid_leader", "grid_code": G1}]
        out = privacy.redact_records(stewards, "stewards", V(role))
        assert out == [{"id": "s1", "role": "grid_leader", "grid_code": G1}]
        assert privacy.personal_fields_in(out) == []


def test_complaint_contact_for_department():
    c = {
        "id": "c1",
        "department": "城管",
        "contact_name": "赵六",
        "contact_phone": "13512345678",
        "description": "噪音 13512345678",
        "category": "noise",
    }
    own = privacy.redact_record(c, "complaints", V("department", {"departments": ["城管"]}))
    other = privacy.redact_record(c, "complaints", V("department", {"departments": ["公安"]}))
    public = privacy.redact_record(c, "complaints", V("public"))
    assert own["contact_phone"] == "13512345678"
    assert other["contact_phone"] == "135****5678" and other["contact_name"] == "赵*"
    assert other["description"] == "噪音 135****5678"
    assert set(public) == {"id", "department", "category"}


def test_redact_frame_keeps_geometry_and_crs_and_drops_columns():
    gdf = gpd.GeoDataFrame(HOUSEHOLDS, geometry=[Point(120.4, 36.3)] * 3, crs="EPSG:4326")
    out = privacy.redact_frame(gdf, "households", V("community_official", {"communities": [C1]}))
    assert list(out["id"]) == ["h1", "h2"] and out.crs == gdf.crs
    assert list(out["head_name"]) == ["张三", "欧阳娜娜"]
    out = privacy.redact_frame(gdf.assign(grid_code=G1), "households", V("planner"))
    assert list(out["phone"])[:2] == ["138****5678", "139****1111"]
    stewards = gpd.GeoDataFrame(
        [{"id": "s", "name": "王五", "phone": "1", "role": "volunteer"}], geometry=[Point(120.4, 36.3)], crs="EPSG:4326"
    )
    assert list(privacy.redact_frame(stewards, "stewards", V("viewer")).columns) == ["id", "role", "geometry"]
    assert gdf.loc[0, "head_name"] == "张三"  # input untouched


def test_suppress_and_aggregate_recount():
    assert [privacy.suppress_small(n) for n in (0, 1, 4, 5, 17, None, 3.0, "<5")] == [
        0,
        "<5",
        "<5",
        5,
        17,
        None,
        "<5",
        "<5",
    ]
    assert privacy.suppress_small(9, threshold=10) == "<10"
    recs = [{"grid_code": G1, "residents": 2, "tags": "elderly_alone"} for _ in range(6)] + [
        {"grid_code": G2, "residents": 1, "tags": "disabled,elderly_alone"} for _ in range(3)
    ]
    agg = privacy.aggregate(recs, by="grid_code", sum_fields=["residents"], tag_field="tags")
    assert agg[G1] == {"count": 6, "residents": 12, "tags": {"elderly_alone": 6}}
    assert agg[G2] == {"count": "<5", "residents": "<5", "tags": {"disabled": "<5", "elderly_alone": "<5"}}
    # brute-force recount of the unsuppressed totals
    assert sum(r["residents"] for r in recs if r["grid_code"] == G1) == agg[G1]["residents"]


def test_suppress_counts_withholds_rates_that_give_a_count_back():
    row = {
        "grid": G1,
        "households": 400,
        "complaints": 3,
        "per_1000": 7.5,
        "complaints_prev": 12,
        "per_1000_prev": 30.0,
        "change": -0.75,
        "open": 0,
    }
    derived = {
        "per_1000": ("complaints",),
        "per_1000_prev": ("complaints_prev",),
        "change": ("complaints", "complaints_prev"),
    }
    out = privacy.suppress_counts(row, ["complaints", "complaints_prev", "open"], derived=derived)
    assert out == {
        "grid": G1,
        "households": 400,
        "complaints": "<5",
        "per_1000": None,
        "complaints_prev": 12,
        "per_1000_prev": 30.0,
        "change": None,
        "open": 0,
    }
    assert row["complaints"] == 3  # input untouched
    # already suppressed counts still withhold their rates
    assert privacy.suppress_counts(out | {"per_1000": 1.0}, ["complaints"], derived=derived)["per_1000"] is None


def test_personal_fields_in_finds_nested_fields_and_bare_phone_numbers():
    assert privacy.personal_fields_in({"a": [{"head_name": "x"}]}) == ["$.a[0].head_name"]
    assert privacy.personal_fields_in({"note": "call 13812345678"}) == ["$.note=<phone number>"]
    assert privacy.personal_fields_in({"features": [{"properties": {"count": "<5"}}]}) == []
