"""The privacy rules one record and one viewer at a time: ``redact_record`` is safe on its own (no tags for a
viewer outside scope, whatever the level), department codes vs names in scopes, the masking formats of
every kind (mobile, landline, short numbers, ID cards, rooms, names) and, for all inputs (Hypothesis), that a
mask never shows more digits than its rule allows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from gridmap.domain import privacy as P

GRID = "370214001005003"
OTHER_GRID = "370214001005004"
COMMUNITY, STREET = GRID[:12], GRID[:9]


@dataclass(frozen=True)
class V:
    role: str
    scope: dict[str, Any] = field(default_factory=dict)


HOUSEHOLD = {
    "id": "h1",
    "grid_code": GRID,
    "head_name": "张三",
    "phone": "13812345678",
    "room": "3-2-501",
    "tags": "低保,独居老人",
    "households": 1,
}


def test_redact_record_alone_never_leaks_tags_outside_scope():
    leader_elsewhere = V("grid_leader", {"grids": [OTHER_GRID]})
    out = P.redact_record(HOUSEHOLD, "households", leader_elsewhere)
    assert "tags" not in out
    assert out["head_name"] == "张*" and out["phone"] == "138****5678" and out["room"] == "3-2-***"
    # a department in scope of nothing about households, an official of another community: masked, no tags
    for viewer in (
        V("department", {"departments": ["urban_management"]}),
        V("community_official", {"communities": ["370214001006"]}),
        V("street_official", {"streets": ["370214002"]}),
    ):
        out = P.redact_record(HOUSEHOLD, "households", viewer)
        assert "tags" not in out, viewer
        assert out["head_name"] == "张*", viewer
    # viewer and public: no personal field, no tag
    for role in ("viewer", "public"):
        out = P.redact_record(HOUSEHOLD, "households", V(role))
        assert not {"head_name", "phone", "room", "tags"} & set(out), role
        assert out["households"] == 1 and out["id"] == "h1"


def test_redact_record_shows_tags_to_the_grid_and_the_roles_above_it():
    for viewer in (
        V("grid_leader", {"grids": [GRID]}),
        V("community_official", {"communities": [COMMUNITY]}),
        V("street_official", {"streets": [STREET]}),
        V("admin"),
    ):
        out = P.redact_record(HOUSEHOLD, "households", viewer)
        assert out["tags"] == "低保,独居老人", viewer
        assert out["head_name"] == "张三" and out["phone"] == "13812345678", viewer
    # the planner sees tags (plans weigh special groups) but masked names
    out = P.redact_record(HOUSEHOLD, "households", V("planner"))
    assert out["tags"] == "低保,独居老人" and out["head_name"] == "张*"
    # a department sees no tags even where a request of its own sits
    assert not P.sees_sensitive(V("department", {"departments": ["urban_management"]}), P.Where(department="城管"))


def test_the_where_given_wins_over_the_records_own_columns():
    leader = V("grid_leader", {"grids": [GRID]})
    out = P.redact_record(HOUSEHOLD, "households", leader, where=P.Where(grid=OTHER_GRID))
    assert "tags" not in out and out["phone"] == "138****5678"


@pytest.mark.parametrize(
    "scope_name, request_department",
    [
        ("urban_management", "城管"),
        ("城管", "urban_management"),
        ("urban management", "urban_management"),
        ("Urban_Management", "城管"),
    ],
)
def test_department_scope_compares_codes_whichever_way_either_side_names_them(scope_name, request_department):
    dept = V("department", {"departments": [scope_name]})
    where = P.Where(department=request_department)
    assert P.in_scope(dept, where)
    assert P.access_level(dept, where) == P.FULL
    assert P.note_level(dept, where) == P.MASKED
    # one department string is a scope too
    assert P.in_scope(V("department", {"department": scope_name}), where)


def test_a_department_outside_the_request_and_unknown_names():
    where = P.Where(department="城管")
    water = V("department", {"departments": ["water"]})
    assert not P.in_scope(water, where)
    assert P.access_level(water, where) == P.MASKED and P.note_level(water, where) == P.NONE
    assert not P.in_scope(V("department", {"departments": ["城管局长"]}), where)  # not a department name
    assert not P.in_scope(V("department", {"departments": ["urban_management"]}), P.Where(department=None))
    assert P.department_code("  城管 ") == "urban_management" and P.department_code("nobody") is None
    assert P.department_codes(["城管", "nobody", "urban_management"]) == frozenset({"urban_management"})


def test_roles_without_a_scope_see_nothing_of_an_area():
    where = P.Where(grid=GRID, community=COMMUNITY, street=STREET)
    assert not P.in_scope(V("grid_leader"), where)
    assert not P.in_scope(V("grid_leader", {"grids": [GRID]}), P.Where(community=COMMUNITY))  # no grid known
    assert not P.in_scope(V("community_official", {"communities": [COMMUNITY]}), P.Where(grid=None))
    assert not P.in_scope(V("robot", {"grids": [GRID]}), where)  # an unknown role is outside every scope
    assert P.access_level(V("robot", {"grids": [GRID]}), where) == P.MASKED
    assert not P.may_list(V("robot"), where) and not P.sees_sensitive(V("robot"), where)


@pytest.mark.parametrize(
    "phone, masked",
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("0532-88886666", "053*****6666"),  # landline with area code: 12 digits, first 3 and last 4
        ("88886666", "888*6666"),
        ("1234567", "*****67"),  # under 8 digits: the last 2 only
        ("12", "**"),  # 2 digits: nothing in clear
        ("7", "*"),
        ("无", "*"),
    ],
)
def test_phone_masks(phone, masked):
    assert P.mask_phone(phone) == masked


def test_numbers_in_free_text():
    text = "张三 13812345678，身份证 370214199001011234，座机 0532-88886666 或 021 12345678"
    out = P.redact_text(text)
    assert "138****5678" in out and "12345678" not in out.replace("138****5678", "")
    assert "370214********1234" in out and "19900101" not in out
    assert "0532-******66" in out and "88886666" not in out
    assert P.redact_text("房号 3-2-501") == "房号 3-2-501"  # a room is not a number to mask
    assert P.redact_text("  ") is None and P.redact_text(None) is None
    # an ID number with a final X, and a mobile written with spaces
    assert P.redact_text("37021419900101123X") == "370214********123X"
    assert P.redact_text("138 1234 5678") == "138****5678"


def test_name_and_room_masks():
    assert P.mask_name("张三") == "张*" and P.mask_name("欧阳娜娜") == "欧***" and P.mask_name("李") == "李*"
    assert P.mask_name(" ") is None
    assert P.mask_room("3-2-501") == "3-2-***" and P.mask_room("501") == "***" and P.mask_room(None) is None
    assert P.mask_value("contact_phone", "13812345678") == "138****5678"
    assert P.mask_value("unknown_column", "王五") == "王*"  # unlisted columns are masked as names


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789- ", min_size=1, max_size=24))
def test_a_masked_phone_shows_at_most_seven_digits_and_short_ones_two(phone):
    digits = re.sub(r"\D", "", phone)
    masked = P.mask_phone(phone)
    if not phone.strip():
        assert masked is None
        return
    shown = re.sub(r"\D", "", masked)
    if len(digits) >= 8:
        assert shown == digits[:3] + digits[-4:]
    elif len(digits) > 2:
        assert shown == digits[-2:]
    else:
        assert shown == ""


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="报修楼道灯坏了请联系 ，。", max_size=12),
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.text(alphabet="报修楼道灯坏了请联系 ，。", max_size=12),
)
def test_a_mobile_inside_text_never_shows_its_middle_four(before, second, rest, after):
    mobile = "1" + second + rest
    out = P.redact_text(before + mobile + after)
    assert mobile not in (out or "")
    assert mobile[:3] + "****" + mobile[-4:] in out


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=10).filter(lambda s: s.strip()))
def test_a_masked_name_shows_only_its_first_character(name):
    masked = P.mask_name(name)
    stripped = name.strip()
    assert masked[0] == stripped[0] and set(masked[1:]) == {"*"} and len(masked) == max(2, len(stripped))


EVENTS = [
    {"seq": 1, "to_state": "collected", "note": "channel=map"},
    {"seq": 2, "to_state": "accepted", "note": "已联系 13812345678，身份证 370214199001011234"},
    {"seq": 3, "to_state": "dispatched"},  # no note at all
]
AT = P.Where(grid=GRID, community=COMMUNITY, street=STREET, department="urban_management")


def test_event_notes_by_note_level():
    # admin and the area's own staff: in clear, and the events are copies
    for viewer in (V("admin"), V("grid_leader", {"grids": [GRID]}), V("street_official", {"streets": [STREET]})):
        out = P.redact_events(EVENTS, viewer, AT)
        assert out == EVENTS and out[0] is not EVENTS[0], viewer
    # planner and the department handling it: numbers masked, the rest kept
    for viewer in (V("planner"), V("department", {"departments": ["城管"]})):
        out = P.redact_events(EVENTS, viewer, AT)
        assert out[1]["note"] == "已联系 138****5678，身份证 370214********1234", viewer
        assert out[0]["note"] == "channel=map" and out[2].get("note") is None
        assert [e["seq"] for e in out] == [1, 2, 3]
    # staff outside the request's scope, viewers, the public: no notes at all, the steps kept
    for viewer in (V("grid_leader", {"grids": [OTHER_GRID]}), V("department", {"departments": ["water"]}), V("viewer")):
        out = P.redact_events(EVENTS, viewer, AT)
        assert all("note" not in e for e in out), viewer
        assert [e["to_state"] for e in out] == ["collected", "accepted", "dispatched"]
    assert EVENTS[1]["note"].startswith("已联系 1381234")  # the input is untouched


def test_admin_and_planner_are_in_every_scope_and_list_every_row():
    for role in ("admin", "planner"):
        assert P.in_scope(V(role), P.Where()) and P.in_scope(V(role), AT)
        assert P.may_list(V(role), P.Where())
    assert P.sees_exact_counts(V("grid_leader")) and P.sees_exact_counts(V("planner"))
    assert not P.sees_exact_counts(V("viewer")) and not P.sees_exact_counts(V("public"))


def test_where_reads_the_records_own_street_first():
    where = P.Where.of({"street_id": "370214009", "community_id": COMMUNITY})
    assert (where.street, where.community, where.grid) == ("370214009", COMMUNITY, None)
    assert P.Where.of({"filed_grid_code": GRID}).street == STREET


def test_redact_record_handles_missing_columns_one_by_one():
    # head_name absent: the phone after it is still masked; tags absent: nothing to remove, no error
    out = P.redact_record({"grid_code": GRID, "phone": "13812345678"}, "households", V("planner"))
    assert out == {"grid_code": GRID, "phone": "138****5678"}
    out = P.redact_record(
        {"grid_code": GRID, "head_name": "张三"}, "households", V("grid_leader", {"grids": [OTHER_GRID]})
    )
    assert out == {"grid_code": GRID, "head_name": "张*"}


def test_landline_keeps_exactly_its_area_code_and_last_two_digits():
    assert P.redact_text("座机 0532-88886666") == "座机 0532-******66"
    assert P.redact_text("021 1234567") == "021-*****67"


def test_redact_frame_for_plain_frames_and_when_every_row_is_dropped():
    rows = [dict(HOUSEHOLD, id=f"h{i}", geometry=Point(120.4, 36.3)) for i in range(3)]
    plain = pd.DataFrame(rows)
    out = P.redact_frame(plain, "households", V("planner"))
    assert type(out) is pd.DataFrame and list(out["head_name"]) == ["张*"] * 3
    # a viewer may list no household: no rows, and the columns that are not personal stay
    geo = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    out = P.redact_frame(geo, "households", V("viewer"))
    assert len(out) == 0 and {"id", "households", "geometry"} <= set(out.columns)
    assert not {"head_name", "phone", "tags"} & set(out.columns)
    # drop_unlisted=False keeps the rows for a viewer, without any personal field
    out = P.redact_frame(geo, "households", V("viewer"), drop_unlisted=False)
    assert len(out) == 3 and out.crs == geo.crs and not {"head_name", "phone", "tags"} & set(out.columns)


def test_aggregate_skips_rows_without_a_key_and_missing_sums():
    rows = [
        {"grid": None, "people": 9},
        {"grid": "A", "people": 4, "tags": "低保"},
        {"grid": "A", "people": float("nan"), "tags": "低保,独居老人"},
        {"grid": "B", "people": None},
    ]
    out = P.aggregate(rows, by="grid", sum_fields=["people"], tag_field="tags", threshold=3)
    assert out == {
        "A": {"count": "<3", "people": 4, "tags": {"低保": "<3", "独居老人": "<3"}},
        "B": {"count": "<3", "people": 0, "tags": {}},
    }


def test_personal_fields_in_ignores_empty_values():
    assert P.personal_fields_in({"phone": "", "head_name": None}) == []
    assert P.personal_fields_in({"rows": [{"phone": "1"}]}) == ["$.rows[0].phone"]


def test_redact_frame_keeps_a_geometry_column_of_any_name_and_its_crs():
    rows = [dict(HOUSEHOLD, id="h1", geom=Point(120.4, 36.3))]
    geo = gpd.GeoDataFrame(rows, geometry="geom", crs="EPSG:4490")
    out = P.redact_frame(geo, "households", V("planner"))
    assert isinstance(out, gpd.GeoDataFrame) and out.active_geometry_name == "geom" and out.crs == geo.crs
    assert out.geometry.iloc[0].equals(Point(120.4, 36.3)) and out["head_name"].iloc[0] == "张*"
