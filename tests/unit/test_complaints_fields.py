"""What a request and a move may carry, field by field: ``validate_intake``, ``move_fields``, ``set_due``,
``check_text``/``check_phone``, the record and event ``new_complaint`` writes, and the new time limit of a
reopened request — each error naming its field."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from gridmap.domain import complaints as C
from gridmap.domain.complaints import ComplaintError, IllegalTransition, Policy
from gridmap.domain.complaints.catalogue import MAX_DESCRIPTION, _isnull
from gridmap.domain.complaints.workflow import MAX_CODE
from gridmap.domain.workdays import WorkCalendar

T0 = dt.datetime(2025, 3, 3, 9, 0)  # Monday
POLICY = Policy(calendar=WorkCalendar())
INTAKE = {
    "category": "parking",
    "description": " 车位被占 ",
    "contact_name": "张三",
    "contact_phone": "138 1234 5678",
    "building_id": "b1",
    "duplicate_of": "c0",
    "channel": "map",
}


def _record(state: str = "collected", **kw) -> dict:
    rec, _ = C.new_complaint(
        id="c1",
        category="parking",
        description="车位被占",
        at=T0,
        channel="map",
        lon=120.4,
        lat=36.3,
        actor="resident",
        policy=POLICY,
    )
    rec.update(state=state, **kw)
    return rec


def test_validate_intake_cleans_every_field():
    assert C.validate_intake(INTAKE) == {
        "category": "parking",
        "description": "车位被占",
        "contact_name": "张三",
        "contact_phone": "13812345678",
        "building_id": "b1",
        "duplicate_of": "c0",
        "channel": "map",
    }
    only = C.validate_intake({"category": "parking"})
    assert only == dict.fromkeys(INTAKE, None) | {"category": "parking"}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("category", None, "category is required; see /api/complaints/categories"),
        ("category", "  ", "category is required"),
        ("category", "x" * (MAX_CODE + 1), f"category is {MAX_CODE + 1} characters; at most {MAX_CODE}"),
        ("description", "灯" * (MAX_DESCRIPTION + 1), f"description is {MAX_DESCRIPTION + 1} characters"),
        ("contact_name", "张" * (C.MAX_NAME + 1), f"contact_name is {C.MAX_NAME + 1} characters"),
        ("contact_phone", "12345", "contact_phone is not a phone number: a mobile such as 13812345678"),
        ("building_id", "b" * (C.MAX_ID + 1), f"building_id is {C.MAX_ID + 1} characters; at most {C.MAX_ID}"),
        ("duplicate_of", "c" * (C.MAX_ID + 1), f"duplicate_of is {C.MAX_ID + 1} characters"),
        ("channel", "c" * (MAX_CODE + 1), f"channel is {MAX_CODE + 1} characters"),
        ("building_id", ["b1"], "building_id must be text, got list"),
        ("description", "灯\x00", "description contains control characters"),
    ],
)
def test_validate_intake_names_the_field_at_fault(field, value, message):
    with pytest.raises(ComplaintError) as err:
        C.validate_intake(INTAKE | {field: value})
    assert str(err.value).startswith(message)


def test_check_text_takes_text_and_numbers_but_not_other_types():
    assert C.check_text("f", 12, 5) == "12" and C.check_text("f", 1.5, 5) == "1.5" and C.check_text("f", "", 5) is None
    for bad, kind in ((True, "bool"), (float("nan"), "float"), (float("inf"), "float"), ({"a": 1}, "dict")):
        with pytest.raises(ComplaintError, match=f"^f must be text, got {kind}$"):
            C.check_text("f", bad, 5)
    assert C.check_text("f", "12345", 5) == "12345"
    with pytest.raises(ComplaintError, match="^f is 6 characters; at most 5$"):
        C.check_text("f", "123456", 5)


@pytest.mark.parametrize(
    "phone, stored",
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("0532-88886666", "0532-88886666"),
        ("0532 8888 6666", "053288886666"),
        ("0532-88886666-123", "0532-88886666-123"),
        ("", None),
    ],
)
def test_phones_kept_in_one_form(phone, stored):
    assert C.check_phone(phone) == stored


def test_a_phone_with_letters_between_digits_is_refused():
    for bad in ("138 1234 567a", "12812345678", "138123456789", "phone"):
        with pytest.raises(ComplaintError, match="^contact_phone is not a phone number"):
            C.check_phone(bad)
    with pytest.raises(ComplaintError, match="^contact_phone is"):
        C.check_phone("1" * (C.MAX_PHONE + 1))


def test_new_complaint_writes_the_record_and_its_first_event():
    rec, ev = C.new_complaint(
        id="c9",
        category="parking",
        description="车位被占",
        at=T0,
        channel="phone",
        lon=120.4,
        lat=36.3,
        actor="u7",
        policy=POLICY,
    )
    assert ev == {
        "complaint_id": "c9",
        "seq": 1,
        "from_state": None,
        "to_state": "collected",
        "actor": "u7",
        "at": T0,
        "note": "channel=phone",
    }
    assert rec["created_at"] == rec["updated_at"] == T0 and rec["closed_at"] is None
    assert rec["escalation"] == 0 and rec["rating"] is None and rec["resolved"] is None
    assert rec["duplicate_of"] is None and rec["state"] == "collected" and rec["channel"] == "phone"
    assert rec["due_at"] == POLICY.calendar.due(T0, POLICY.sla_for("parking"))


def test_moves_carry_only_their_fields():
    assert C.move_fields("dispatched", {"note": " 派给王五 ", "assignee": "u5"}) == ("派给王五", {"assignee": "u5"})
    assert C.move_fields("duplicate", {"duplicate_of": "c0"}) == (None, {"duplicate_of": "c0"})
    assert C.move_fields("reassigned", {"department": "police", "assignee": "u2"}) == (
        None,
        {"department": "police", "assignee": "u2"},
    )
    assert C.move_fields("evaluated", {"rating": 4, "resolved": True}) == (None, {"rating": 4, "resolved": True})
    assert C.move_fields("rejected", {"reason": "不属实"}) == ("不属实", {})
    assert C.move_fields("rejected", {"reason": "不属实", "note": "已核实"}) == ("不属实 — 已核实", {})
    assert C.move_fields("responding", {"note": "收到"}) == ("收到", {})
    assert C.move_fields("collected", {"note": "补录"}) == ("补录", {})  # a target not listed takes a note only
    assert C.move_fields("dispatched", {"assignee": ""}) == (None, {"assignee": None})


def test_a_move_refuses_every_field_it_may_not_carry_by_name():
    with pytest.raises(ComplaintError) as err:
        C.move_fields("supervised", {"due_at": "2099-01-01", "rating": 99, "department": "bogus", "note": "x"})
    assert str(err.value) == "a move to supervised cannot carry department, due_at, rating; it takes note, reply"
    with pytest.raises(ComplaintError, match="^a move to responding cannot carry assignee; it takes note, reply$"):
        C.move_fields("responding", {"assignee": "u1"})
    with pytest.raises(ComplaintError, match="^a move to collected cannot carry assignee; it takes note, reply$"):
        C.move_fields("collected", {"assignee": "u1"})
    with pytest.raises(ComplaintError, match="^unknown department 'bogus'; departments are "):
        C.move_fields("reassigned", {"department": "bogus"})
    with pytest.raises(ComplaintError, match="^department is"):
        C.move_fields("reassigned", {"department": "x" * (MAX_CODE + 1)})
    with pytest.raises(ComplaintError, match="^assignee is"):
        C.move_fields("dispatched", {"assignee": "u" * (C.MAX_ID + 1)})
    with pytest.raises(ComplaintError, match="^note is"):
        C.move_fields("responding", {"note": "n" * (C.MAX_NOTE + 1)})
    with pytest.raises(ComplaintError, match="^reason and note is"):
        C.move_fields("rejected", {"reason": "r" * C.MAX_NOTE, "note": "n"})
    with pytest.raises(ComplaintError, match="state"):
        C.move_fields("nowhere", {})


def test_set_due_changes_only_the_limit_and_records_old_and_new():
    rec = _record("dispatched")
    new_due = dt.datetime(2025, 3, 20, 18, 0)
    at = T0 + dt.timedelta(hours=2)
    new, ev = C.set_due(rec, new_due, actor="u1", at=at, seq=5, note="等待配件")
    assert new["due_at"] == new_due and new["updated_at"] == at and new["state"] == "dispatched"
    assert {k: v for k, v in new.items() if k not in ("due_at", "updated_at")} == {
        k: v for k, v in rec.items() if k not in ("due_at", "updated_at")
    }
    assert ev == {
        "complaint_id": "c1",
        "seq": 5,
        "from_state": "dispatched",
        "to_state": "dispatched",
        "actor": "u1",
        "at": at,
        "note": f"due_at {rec['due_at'].isoformat(timespec='minutes')} → 2025-03-20T18:00: 等待配件",
    }
    _, ev = C.set_due(rec | {"due_at": None}, new_due, actor="u1", at=at, seq=6)
    assert ev["note"] == "due_at — → 2025-03-20T18:00"


def test_set_due_refusals():
    with pytest.raises(IllegalTransition, match="^complaint c1 is rejected: only an open request's time limit"):
        C.set_due(_record("rejected"), dt.datetime(2025, 4, 1), actor="u", at=T0, seq=2)
    with pytest.raises(ComplaintError, match="^due_at must be a date and time"):
        C.set_due(_record(), "2025-04-01", actor="u", at=T0, seq=2)
    with pytest.raises(ComplaintError, match="^due_at 2025-03-03T09:00 is not in the future"):
        C.set_due(_record(), T0, actor="u", at=T0, seq=2)
    with pytest.raises(ComplaintError, match="^note is"):
        C.set_due(_record(), dt.datetime(2025, 4, 1), actor="u", at=T0, seq=2, note="n" * (C.MAX_NOTE + 1))


def test_an_unsatisfied_resident_reopens_with_a_fresh_time_limit():
    resolved_at = dt.datetime(2025, 3, 5, 10, 0)
    rec = _record("resolved", closed_at=resolved_at)
    at = dt.datetime(2025, 3, 7, 16, 0)  # Friday
    new, events = C.evaluate(rec, rating=2, resolved=True, actor="resident", at=at, seq=8, policy=POLICY)
    assert [e["to_state"] for e in events] == ["evaluated", "reopened"]
    assert [e["at"] for e in events] == [at, at] and [e["actor"] for e in events] == ["resident", "resident"]
    assert events[1]["note"] == "resident unsatisfied (rating 2, resolved=True)"
    assert new["due_at"] == POLICY.calendar.due(at, POLICY.sla_for("parking")) > at
    assert new["rating"] == 2 and new["resolved"] is True and new["state"] == "reopened"
    again, ev = C.reopen(rec, actor="u3", at=at, seq=9, policy=POLICY)
    assert ev["actor"] == "u3" and again["due_at"] == new["due_at"]


def test_escalation_stops_at_the_street():
    new, _ = C.apply(_record("supervised", escalation=1), "supervised", actor="u", by="staff", at=T0, seq=3)
    assert new["escalation"] == 2
    # a request already at the street level and moved on, then supervised again, stays at the street level
    new, _ = C.apply(_record("dispatched", escalation=2), "supervised", actor="u", by="staff", at=T0, seq=3)
    assert new["escalation"] == 2
    both = "^诉求 c1 已由街道督办（最高一级），不能再升级督办 / complaint c1 is already supervised by the street"
    with pytest.raises(IllegalTransition, match=both):  # in both languages, as the service's other refusals
        C.apply(_record("supervised", escalation=2), "supervised", actor="u", by="staff", at=T0, seq=3)


def test_a_request_is_no_duplicate_of_itself():
    with pytest.raises(ComplaintError, match="^a request cannot be a duplicate of itself$"):
        C.apply(_record(), "duplicate", actor="u", by="staff", at=T0, seq=2, changes={"duplicate_of": "c1"})
    new, _ = C.apply(_record(), "duplicate", actor="u", by="staff", at=T0, seq=2, changes={"duplicate_of": "c0"})
    assert new["duplicate_of"] == "c0"


def test_refusals_of_the_table_say_where_the_request_may_go_and_who_may_move_it():
    with pytest.raises(IllegalTransition) as err:
        C.apply(_record("collected"), "evaluated", actor="u", by="staff", at=T0, seq=2)
    allowed = ", ".join(C.allowed_targets("collected"))
    assert str(err.value).endswith(f"from collected it may go to: {allowed}")
    final = next(s for s in C.STATES if not C.allowed_targets(s))
    with pytest.raises(IllegalTransition, match="nothing \\(final state\\)$"):
        C.apply(_record(final), "collected", actor="u", by="staff", at=T0, seq=2)
    dept_only = next(t for t in C.TRANSITIONS if t.by == frozenset({"staff"}) or "department" not in t.by)
    with pytest.raises(IllegalTransition) as err:
        C.apply(_record(dept_only.source), dept_only.target, actor="u", by="department", at=T0, seq=2)
    assert str(err.value).endswith(f"{' or '.join(sorted(dept_only.by))}, not by department")


def test_unknown_category_lists_the_categories():
    with pytest.raises(ComplaintError) as err:
        POLICY.category("ufo")
    assert str(err.value) == f"unknown category 'ufo'; categories are {', '.join(C.CATEGORIES)}"


def test_escalation_events_are_stamped_now():
    now = dt.datetime(2025, 3, 31, 9, 0)
    moves = C.escalate(_record("dispatched"), now, seq=4, policy=POLICY)
    assert moves and all(ev["at"] == now and ev["actor"] == "system" for _, ev in moves)
    assert [ev["seq"] for _, ev in moves] == list(range(4, 4 + len(moves)))


def test_a_missing_closing_time_counts_as_within_the_reopen_window():
    for missing in (None, pd.NaT, float("nan")):
        rec = _record("resolved", closed_at=missing)
        new, events = C.evaluate(rec, rating=1, resolved=False, actor="r", at=T0, seq=3, policy=POLICY)
        assert new["state"] == "reopened" and len(events) == 2, missing


def test_agency_names_the_department_and_the_grid_when_known():
    assert C.Route(department="urban_management", grid_code="G1").agency() == "城管 / 网格 G1"
    assert C.Route(department="urban_management", grid_code="G1").agency(lang="en").endswith(" / grid G1")
    assert C.Route(grid_code="G1").agency() == "网格 G1"
    assert C.Route(department="nowhere").agency() == "" and C.Route().agency() == ""


def test_a_move_by_the_wrong_kind_names_every_kind_that_may_make_it():
    t = next(t for t in C.TRANSITIONS if len(t.by) >= 2 and "department" not in t.by)
    with pytest.raises(IllegalTransition) as err:
        C.apply(_record(t.source), t.target, actor="u", by="department", at=T0, seq=2)
    assert str(err.value).endswith(f"{' or '.join(sorted(t.by))}, not by department")
    with pytest.raises(ComplaintError, match=f"^note is {C.MAX_NOTE + 1} characters; at most {C.MAX_NOTE}$"):
        C.apply(_record(), "dispatched", actor="u", by="staff", at=T0, seq=2, note="n" * (C.MAX_NOTE + 1))


def test_missing_values_are_scalars_only():
    for missing in (None, float("nan"), pd.NaT, pd.NA):
        assert _isnull(missing) is True, missing
    for value in (0, "", dt.datetime(2025, 1, 1), [None, None], pd.Series([None, 1])):
        assert _isnull(value) is False, value
