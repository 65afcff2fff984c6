"""The complaint loop 民意收集—响应处理—跟踪督促—评估评价 as state changes.

A complaint is a plain dict with the columns of the ``complaints`` layer; every change goes through
:func:`apply`, which checks the transitions table (:data:`~.catalogue.TRANSITIONS`) and returns the new
record and the event row (``complaint_events``) that records who, when and why. Pure: no Flask, no store,
no files.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

from gridmap.domain.complaints.catalogue import (
    _BY_PAIR,
    _CLOSED,
    _D,
    _OPEN,
    _R,
    _S,
    _Y,
    CHANNELS,
    DEPARTMENTS,
    ESCALATION_LEVELS,
    MAX_DESCRIPTION,
    STATES,
    TRANSITIONS,
    ComplaintError,
    IllegalTransition,
    _isnull,
    _state,
)
from gridmap.domain.complaints.routing import Route, _check_point
from gridmap.domain.complaints.sla import Policy, _within_reopen, escalation_level_due


def allowed_targets(state: str, *, by: str | None = None) -> list[str]:
    """States reachable from ``state`` (by an actor kind, if given; staff may do department steps)."""
    _state(state)
    kinds = _kinds(by) if by else None
    return [t.target for t in TRANSITIONS if t.source == state and (kinds is None or t.by & kinds)]


def _kinds(by: str) -> frozenset[str]:
    if by not in (_S, _D, _Y, _R):
        raise ComplaintError(f"unknown actor kind {by!r}; use staff, department, system or resident")
    return frozenset({_S, _D}) if by == _S else frozenset({by})


def new_complaint(
    *,
    id: str,
    category: str,
    description: str,
    at: dt.datetime,
    channel: str,
    lon: float,
    lat: float,
    actor: str,
    policy: Policy,
    route: Route | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A freshly collected complaint and its first event, validated.

    Returns
    -------
    (record, event)
        ``record`` has the ``complaints`` columns plus ``lon``/``lat``; ``event`` is ``complaint_events``
        row seq 1 (``None`` → ``collected``).
    """
    cat = policy.category(category)
    text = check_text("description", description, MAX_DESCRIPTION)
    if not text:
        raise ComplaintError("description is empty: say what the problem is")
    contact_name, contact_phone = check_name(contact_name), check_phone(contact_phone)
    if channel not in CHANNELS:
        raise ComplaintError(f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}")
    _check_point(lon, lat)
    route = route or Route()
    record: dict[str, Any] = {
        "id": id,
        "category": cat.code,
        "description": text,
        "state": "collected",
        "channel": channel,
        "building_id": route.building_id,
        "community_id": route.community_id,
        "filed_grid_code": route.grid_code,
        "department": route.department or cat.departments[0],
        "assignee": route.grid_leader_id,
        "created_at": at,
        "updated_at": at,
        "due_at": policy.calendar.due(at, policy.sla_for(cat.code)),
        "closed_at": None,
        "contact_name": contact_name or None,
        "contact_phone": contact_phone or None,
        "rating": None,
        "resolved": None,
        "needs_confirmation": bool(route.needs_confirmation),
        "duplicate_of": None,
        "escalation": 0,
        "placement": route.placement,
        "placement_distance_m": route.placement_distance_m,
        "lon": float(lon),
        "lat": float(lat),
    }
    event = {
        "complaint_id": id,
        "seq": 1,
        "from_state": None,
        "to_state": "collected",
        "actor": actor,
        "at": at,
        "note": f"channel={channel}",
    }
    return record, event


def apply(
    record: Mapping[str, Any],
    target: str,
    *,
    actor: str,
    by: str,
    at: dt.datetime,
    seq: int,
    note: str | None = None,
    changes: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move ``record`` to state ``target``; returns ``(new_record, event)`` and never changes ``record``.

    Parameters
    ----------
    by
        Kind of actor: ``staff``, ``department`` or ``system``.
    seq
        Sequence number of the event (1 + the complaint's last event).
    changes
        Columns set together with the move (``department``/``assignee`` when reassigning,
        ``duplicate_of`` when marking a duplicate, ``rating``/``resolved`` when evaluating).

    Raises
    ------
    IllegalTransition
        The pair (state, target) is not in :data:`TRANSITIONS`, or ``by`` may not make it.
    """
    source = record["state"]
    _state(source), _state(target)
    t = _BY_PAIR.get((source, target))
    if t is None:
        raise IllegalTransition(
            f"complaint {record.get('id')}: cannot go from {source} ({STATES[source].zh}) to {target} "
            f"({STATES[target].zh}); from {source} it may go to: "
            f"{', '.join(allowed_targets(source)) or 'nothing (final state)'}"
        )
    if not t.by & _kinds(by):
        raise IllegalTransition(
            f"complaint {record.get('id')}: {t.en} ({source} → {target}) is done by "
            f"{' or '.join(sorted(t.by))}, not by {by}"
        )
    changes = dict(changes or {})
    check_text("note", note, MAX_NOTE)
    unknown = set(changes) - set(_CHANGEABLE)
    if unknown:
        raise ComplaintError(f"these fields cannot be changed by a transition: {sorted(unknown)}")
    _GUARDS.get(target, _no_guard)(record, changes)
    new = dict(record)
    new.update(changes)
    new["state"], new["updated_at"] = target, at
    if STATES[target].type == _CLOSED and STATES[source].type == _OPEN:
        new["closed_at"] = at
    elif STATES[target].type == _OPEN:
        new["closed_at"] = None
    if target == "supervised":
        new["escalation"] = min(int(record.get("escalation") or 0) + 1, len(ESCALATION_LEVELS) - 1)
    event = {
        "complaint_id": record["id"],
        "seq": int(seq),
        "from_state": source,
        "to_state": target,
        "actor": actor,
        "at": at,
        "note": note,
    }
    return new, event


#: columns a move may set (the rules' own changes included: ``due_at`` on reopening); where a request is
#: (building, community, grid) is never changed by a move
_CHANGEABLE = ("department", "assignee", "duplicate_of", "rating", "resolved", "due_at")


def _no_guard(record: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    return None


def _guard_duplicate(record: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    other = changes.get("duplicate_of") or record.get("duplicate_of")
    if not other or _isnull(other):
        raise ComplaintError("marking a duplicate needs duplicate_of: the id of the original request")
    if other == record.get("id"):
        raise ComplaintError("a request cannot be a duplicate of itself")


def _guard_reassigned(record: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    dept = changes.get("department")
    if dept is not None and dept not in DEPARTMENTS:
        raise ComplaintError(f"unknown department {dept!r}; departments are {', '.join(DEPARTMENTS)}")


def _at_highest_level(record: Mapping[str, Any]) -> bool:
    """督办 has reached the street, the highest level: no further 督办."""
    level = record.get("escalation")
    return record["state"] == "supervised" and not _isnull(level) and int(level or 0) >= len(ESCALATION_LEVELS) - 1


def _guard_supervised(record: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    if _at_highest_level(record):
        cid = record.get("id")
        raise IllegalTransition(
            f"诉求 {cid} 已由街道督办（最高一级），不能再升级督办 / complaint {cid} is already "
            "supervised by the street, the highest level"
        )


def possible_targets(record: Mapping[str, Any], *, by: str | None = None) -> list[str]:
    """What ``record`` may move to now: :func:`allowed_targets` less what :func:`apply` refuses it (督办 past 街道)."""
    top = _at_highest_level(record)
    return [t for t in allowed_targets(record["state"], by=by) if not (top and t == "supervised")]


_GUARDS = {"duplicate": _guard_duplicate, "reassigned": _guard_reassigned, "supervised": _guard_supervised}


def unsatisfied(rating: int, resolved: bool, policy: Policy) -> str | None:
    """Why a verdict counts as unsatisfied (the reopen rule): ``"unresolved"``, ``"rating"`` (below
    ``policy.satisfied_min``), or ``None`` when the resident is satisfied."""
    return "unresolved" if not resolved else "rating" if rating < policy.satisfied_min else None


def evaluate(
    record: Mapping[str, Any],
    *,
    rating: int,
    resolved: bool,
    actor: str,
    at: dt.datetime,
    seq: int,
    policy: Policy,
    note: str | None = None,
    by: str = _S,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Record the resident's verdict (回访评价): rating 1–5 and resolved yes/no, taken by staff (``by`` =
    ``staff``, a call-back) or given by the resident on their own status page (``by`` = ``resident``).

    An unsatisfied resident (not resolved, or a rating below ``policy.satisfied_min``) within
    ``policy.reopen_days`` of the resolution reopens the request: two events, evaluated → reopened.
    """
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise ComplaintError(f"rating {rating!r} is not a whole number from 1 to 5") from None
    if not 1 <= rating <= 5:
        raise ComplaintError(f"rating {rating} is out of range: give 1 (worst) to 5 (best)")
    if not isinstance(resolved, bool):
        raise ComplaintError(f"resolved must be true or false, got {resolved!r}")
    new, ev = apply(
        record,
        "evaluated",
        actor=actor,
        by=by,
        at=at,
        seq=seq,
        note=note,
        changes={"rating": rating, "resolved": resolved},
    )
    events = [ev]
    if unsatisfied(rating, resolved, policy) and _within_reopen(record, at, policy):
        new, ev2 = apply(
            new,
            "reopened",
            actor=actor,
            by=by,
            at=at,
            seq=seq + 1,
            note=f"resident unsatisfied (rating {rating}, resolved={resolved})",
            changes={"due_at": policy.calendar.due(at, policy.sla_for(record["category"]))},
        )
        events.append(ev2)
    return new, events


def reopen(
    record: Mapping[str, Any], *, actor: str, at: dt.datetime, seq: int, policy: Policy, note: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reopen a resolved or evaluated request at the resident's word, within ``policy.reopen_days``."""
    if not _within_reopen(record, at, policy):
        raise IllegalTransition(
            f"complaint {record.get('id')} was closed on "
            f"{policy.calendar.day_of(record['closed_at']):%Y-%m-%d}; "
            f"it can be reopened only within {policy.reopen_days} days — file a new "
            f"request instead"
        )
    return apply(
        record,
        "reopened",
        actor=actor,
        by=_S,
        at=at,
        seq=seq,
        note=note,
        changes={"due_at": policy.calendar.due(at, policy.sla_for(record["category"]))},
    )


def escalate(
    record: Mapping[str, Any], now: dt.datetime, *, seq: int, policy: Policy, actor: str = "system"
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Automatic 督办: the moves that bring an overdue request up to the level it is due (maybe none).

    Returns a list of ``(record, event)`` pairs, in order; the last record is the current one.
    """
    target = escalation_level_due(record, now, policy)
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    current = dict(record)
    while target > int(current.get("escalation") or 0) and "supervised" in allowed_targets(current["state"], by=_Y):
        level = int(current.get("escalation") or 0) + 1
        current, ev = apply(
            current,
            "supervised",
            actor=actor,
            by=_Y,
            at=now,
            seq=seq + len(out),
            note=f"overdue since {policy.calendar.day_of(record['due_at']):%Y-%m-%d}: supervised by "
            f"{ESCALATION_LEVELS[level]}",
        )
        out.append((current, ev))
    return out


# -- what a person may send ---------------------------------------------------------------------------
#: longest note or reason on a move, contact name, id (building, request, assignee), category code
MAX_NOTE, MAX_NAME, MAX_ID, MAX_CODE = 1000, 50, 64, 40
#: the longest phone number written with separators and an extension
MAX_PHONE = 30
#: a Chinese mobile (13812345678) or a landline with its area code (0532-88886666, 053288886666), optionally
#: followed by an extension (-123, 转123, ext 123, #123)
PHONE = re.compile(r"(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}(?:\s*(?:-|转|ext\.?\s*|x|#)\s*\d{1,6})?)", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: what each move may carry besides ``to`` (the fields of a request that move may change): a note and a reply
#: to the resident (:mod:`.replies`) on every move, an assignee on dispatch and reassignment, the new department
#: on reassignment (改派, done by staff), the resident's rating and verdict on evaluation, a reason on rejection,
#: the original on marking a duplicate. Nothing else — where a request is, its time limit (:func:`set_due`) and
#: its contact data are not changed by a move.
MOVE_FIELDS: Mapping[str, frozenset[str]] = {
    target: frozenset({"note", "reply"}) | extra
    for target, extra in {
        "dispatched": frozenset({"assignee"}),
        "responding": frozenset(),
        "returned": frozenset(),
        "reassigned": frozenset({"department", "assignee"}),
        "supervised": frozenset(),
        "resolved": frozenset(),
        "evaluated": frozenset({"rating", "resolved"}),
        "reopened": frozenset(),
        "rejected": frozenset({"reason"}),
        "duplicate": frozenset({"duplicate_of"}),
    }.items()
}


def check_text(field: str, value: Any, limit: int) -> str | None:
    """``value`` as stripped text of at most ``limit`` characters without control characters (None when
    empty); :class:`ComplaintError` naming ``field`` otherwise."""
    if value is None:
        return None
    if (
        not isinstance(value, (str, int, float))
        or isinstance(value, bool)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise ComplaintError(f"{field} must be text, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > limit:
        raise ComplaintError(f"{field} is {len(text)} characters; at most {limit}")
    if _CONTROL.search(text):
        raise ComplaintError(f"{field} contains control characters")
    return text or None


def check_name(name: Any) -> str | None:
    """A contact name: at most :data:`MAX_NAME` characters (None when empty)."""
    return check_text("contact_name", name, MAX_NAME)


def check_phone(phone: Any) -> str | None:
    """A contact phone number: a mobile ``1[3-9]`` + 9 digits or a landline ``0`` + area code + 7–8 digits
    with an optional extension (spaces between digit groups allowed and dropped); None when empty."""
    text = check_text("contact_phone", phone, MAX_PHONE)
    if text is None:
        return None
    compact = re.sub(r"(?<=\d)[\s]+(?=\d)", "", text)
    if not PHONE.fullmatch(compact):
        raise ComplaintError(
            "contact_phone is not a phone number: a mobile such as 13812345678 or a landline "
            "with its area code such as 0532-88886666 (extension -123 allowed)"
        )
    return compact


def validate_intake(data: Mapping[str, Any]) -> dict[str, Any]:
    """The one check of what a resident (or staff for them) sends to file a request — the intake form, the
    JSON API and Open311 all go through it. Returns the cleaned fields (``category``, ``description``,
    ``contact_name``, ``contact_phone``, ``building_id``, ``duplicate_of``, ``channel``; ``lon``/``lat`` are
    checked by routing). Lengths: category ≤ 40, description ≤ :data:`MAX_DESCRIPTION`, name ≤ 50, phone as
    :func:`check_phone`, ids ≤ 64."""
    category = check_text("category", data.get("category"), MAX_CODE)
    if not category:
        raise ComplaintError("category is required; see /api/complaints/categories")
    return {
        "category": category,
        "description": check_text("description", data.get("description"), MAX_DESCRIPTION),
        "contact_name": check_name(data.get("contact_name")),
        "contact_phone": check_phone(data.get("contact_phone")),
        "building_id": check_text("building_id", data.get("building_id"), MAX_ID),
        "duplicate_of": check_text("duplicate_of", data.get("duplicate_of"), MAX_ID),
        "channel": check_text("channel", data.get("channel"), MAX_CODE),
    }


def move_fields(target: str, fields: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """What a person sent with a move to ``target``, checked against :data:`MOVE_FIELDS`.

    Returns ``(note, changes)``: the event's note (a rejection's ``reason`` leads it) and the columns to
    set. Any other field is refused (:class:`ComplaintError` naming every one), so a move cannot change a
    request's time limit, place, rating or department behind the transitions table's back.
    """
    _state(target)
    allowed = MOVE_FIELDS.get(target, frozenset({"note", "reply"}))
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ComplaintError(
            f"a move to {target} cannot carry {', '.join(unknown)}; it takes {', '.join(sorted(allowed))}"
        )
    note = check_text("note", fields.get("note"), MAX_NOTE)
    reason = check_text("reason", fields.get("reason"), MAX_NOTE)
    if reason:
        note = check_text("reason and note", f"{reason} — {note}" if note else reason, MAX_NOTE)
    changes: dict[str, Any] = {}
    for key in ("assignee", "duplicate_of"):
        if key in fields:
            changes[key] = check_text(key, fields[key], MAX_ID)
    if "department" in fields:
        dept = check_text("department", fields["department"], MAX_CODE)
        if dept not in DEPARTMENTS:
            raise ComplaintError(f"unknown department {dept!r}; departments are {', '.join(DEPARTMENTS)}")
        changes["department"] = dept
    for key in ("rating", "resolved"):
        if key in fields:
            changes[key] = fields[key]
    return note, changes


def set_due(
    record: Mapping[str, Any], due_at: dt.datetime, *, actor: str, at: dt.datetime, seq: int, note: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change an open request's time limit (延期/调整时限): the request keeps its state; the event (from and to
    the same state) records the old and new limit and the reason."""
    state = record["state"]
    if _state(state).type != _OPEN:
        raise IllegalTransition(
            f"complaint {record.get('id')} is {state}: only an open request's time limit can change"
        )
    if not isinstance(due_at, dt.datetime):
        raise ComplaintError(f"due_at must be a date and time, got {due_at!r}")
    if due_at <= at:
        raise ComplaintError(f"due_at {due_at.isoformat(timespec='minutes')} is not in the future")
    reason = check_text("note", note, MAX_NOTE)
    old = record.get("due_at")
    old_text = old.isoformat(timespec="minutes") if isinstance(old, dt.datetime) and not _isnull(old) else "—"
    text = f"due_at {old_text} → {due_at.isoformat(timespec='minutes')}" + (f": {reason}" if reason else "")
    new = dict(record)
    new["due_at"], new["updated_at"] = due_at, at
    return new, same_state_event(record, seq=seq, actor=actor, at=at, note=text)


def same_state_event(record: Mapping[str, Any], *, seq: int, actor: str, at: dt.datetime, **fields: Any) -> dict:
    """An event that keeps the request's state (from and to its current one) with ``fields`` (note, reply)."""
    state = record["state"]
    return {"complaint_id": record["id"], "seq": int(seq), "from_state": state, "to_state": state, "actor": actor,
            "at": at, **fields}  # fmt: skip
