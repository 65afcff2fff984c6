"""The complaint loop as data: categories, departments, states, allowed transitions, SLA clocks, escalation.

民意收集—响应处理—跟踪督促—评估评价. A complaint is a plain dict with the columns of the ``complaints``
layer; every change goes through :func:`apply`, which checks the transitions table and returns the new
record and the event row (``complaint_events``) that records who, when and why. Routing (location →
building → grid → grid leader; category → department) and duplicate search are at the end (geometry,
measured in a projected CRS). Pure: no Flask, no store, no files.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import shapely

from gridmap.domain.workdays import WorkCalendar
from gridmap.errors import InvalidInput

__all__ = [
    "Department", "Category", "State", "Transition", "Policy", "Route", "ComplaintError",
    "IllegalTransition", "DEPARTMENTS", "CATEGORIES", "STATES", "TRANSITIONS", "SLA_DAYS", "CHANNELS",
    "new_complaint", "apply", "evaluate", "escalate", "escalation_level_due", "allowed_targets",
    "is_open", "is_overdue", "route", "find_duplicates", "metric_crs", "reopen", "with_sla",
]


class ComplaintError(InvalidInput):
    """Input a complaint cannot take (unknown category, empty description, rating out of range …)."""


class IllegalTransition(ComplaintError):
    """A state change the transitions table does not allow."""


# --------------------------------------------------------------------------------------------------
# Data: departments, categories, states, transitions
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Department:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Category:
    """A kind of request. ``departments``: who can act, first = lead. ``sla_kind`` picks the time limit
    from :data:`SLA_DAYS`; ``duplicate_radius_m``: open requests of this category closer than this are
    offered for linking; ``dispute``: counts for the dispute-resolution (mediation) rate."""

    code: str
    zh: str
    en: str
    departments: tuple[str, ...]
    sla_kind: str
    duplicate_radius_m: float = 50.0
    dispute: bool = False
    group: str = ""
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class State:
    label: str
    type: str  # "open" | "closed"
    zh: str
    en: str


@dataclass(frozen=True)
class Transition:
    """``by``: kinds of actor that may make it — ``staff`` (grid leader and officials, who may also do
    what a department does), ``department`` (the handling unit), ``system`` (timed escalation)."""

    source: str
    target: str
    by: frozenset[str]
    zh: str
    en: str


def _freeze(items: Iterable[Any], key: str) -> Mapping[str, Any]:
    return MappingProxyType({getattr(i, key): i for i in items})


DEPARTMENTS: Mapping[str, Department] = _freeze([
    Department("police", "公安", "public security (police)"),
    Department("urban_management", "城管", "urban management"),
    Department("civil_affairs", "民政", "civil affairs"),
    Department("judicial_mediation", "司法调解", "judicial mediation"),
    Department("market_supervision", "市场监管", "market supervision"),
    Department("property_company", "物业公司", "property company"),
], "code")

#: default time limits in working days (12345 hotline practice): settable through :class:`Policy`
SLA_DAYS: Mapping[str, int] = MappingProxyType({"consultation": 2, "help": 10, "suggestion": 10,
                                                "complaint": 15})

CATEGORIES: Mapping[str, Category] = _freeze([
    Category("parking", "停车管理", "parking", ("urban_management", "police", "property_company"),
             "complaint", 80, group="traffic", keywords=("停车", "车位", "parking")),
    Category("medical", "医疗服务", "medical services", ("civil_affairs", "market_supervision"),
             "help", 150, group="services", keywords=("诊所", "医疗", "clinic")),
    Category("after_school", "课后托管", "after-school care", ("civil_affairs", "market_supervision"),
             "help", 150, group="services", keywords=("托管", "学生", "after-school")),
    Category("fitness", "健身休闲", "fitness and recreation", ("urban_management", "civil_affairs"),
             "suggestion", 100, group="services", keywords=("健身", "广场", "fitness")),
    Category("property_service", "物业服务", "property service", ("property_company",
                                                                  "market_supervision"),
             "complaint", 30, group="property", keywords=("物业", "电梯", "lift")),
    Category("property_dispute", "物业纠纷", "property dispute", ("judicial_mediation",
                                                                  "property_company"),
             "complaint", 30, dispute=True, group="property", keywords=("物业费", "纠纷")),
    Category("neighbour_dispute", "邻里纠纷", "neighbour dispute", ("judicial_mediation", "police"),
             "complaint", 20, dispute=True, group="disputes", keywords=("邻里", "噪音", "dispute")),
    Category("sanitation", "环境卫生", "sanitation", ("urban_management", "property_company"),
             "complaint", 50, group="environment", keywords=("垃圾", "卫生", "rubbish")),
    Category("safety", "安全隐患", "safety hazard", ("police", "urban_management"),
             "complaint", 50, group="safety", keywords=("安全", "消防", "safety")),
    Category("consultation", "政策咨询", "policy consultation", ("civil_affairs",),
             "consultation", 0, group="consultation", keywords=("咨询", "政策")),
    Category("other", "其他", "other", ("civil_affairs",), "help", 30, group="other"),
], "code")

_OPEN, _CLOSED = "open", "closed"
STATES: Mapping[str, State] = _freeze([
    State("collected", _OPEN, "已受理", "collected"),
    State("dispatched", _OPEN, "已派单", "dispatched"),
    State("responding", _OPEN, "处理中", "responding"),
    State("returned", _OPEN, "已退回", "returned"),
    State("reassigned", _OPEN, "已改派", "reassigned"),
    State("supervised", _OPEN, "督办中", "supervised"),
    State("reopened", _OPEN, "已重办", "reopened"),
    State("resolved", _CLOSED, "已办结", "resolved"),
    State("evaluated", _CLOSED, "已评价", "evaluated"),
    State("rejected", _CLOSED, "不予受理", "rejected"),
    State("duplicate", _CLOSED, "重复件", "duplicate"),
], "label")

_S, _D, _Y = "staff", "department", "system"


def _t(source: str, target: str, by: Iterable[str], zh: str, en: str) -> Transition:
    return Transition(source, target, frozenset(by), zh, en)


TRANSITIONS: tuple[Transition, ...] = (
    _t("collected", "dispatched", {_S}, "派单", "dispatch"),
    _t("collected", "responding", {_S}, "就地办理", "handle on the spot"),
    _t("collected", "rejected", {_S}, "不予受理", "reject"),
    _t("collected", "duplicate", {_S}, "合并重复件", "mark duplicate"),
    _t("collected", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("dispatched", "responding", {_D}, "签收响应", "respond"),
    _t("dispatched", "returned", {_D}, "退回", "return"),
    _t("dispatched", "duplicate", {_S}, "合并重复件", "mark duplicate"),
    _t("dispatched", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("returned", "reassigned", {_S}, "改派", "reassign"),
    _t("returned", "rejected", {_S}, "不予受理", "reject"),
    _t("returned", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("reassigned", "responding", {_D}, "签收响应", "respond"),
    _t("reassigned", "returned", {_D}, "退回", "return"),
    _t("reassigned", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("responding", "resolved", {_D}, "办结", "resolve"),
    _t("responding", "returned", {_D}, "退回", "return"),
    _t("responding", "supervised", {_S, _Y}, "督办", "supervise"),
    _t("supervised", "supervised", {_S, _Y}, "升级督办", "escalate"),
    _t("supervised", "dispatched", {_S}, "派单", "dispatch"),
    _t("supervised", "responding", {_D}, "签收响应", "respond"),
    _t("supervised", "resolved", {_D}, "办结", "resolve"),
    _t("resolved", "evaluated", {_S}, "回访评价", "evaluate"),
    _t("resolved", "reopened", {_S}, "重新办理", "reopen"),
    _t("evaluated", "reopened", {_S}, "重新办理", "reopen"),
    _t("reopened", "responding", {_D}, "签收响应", "respond"),
    _t("reopened", "resolved", {_D}, "办结", "resolve"),
    _t("reopened", "supervised", {_S, _Y}, "督办", "supervise"),
)
_BY_PAIR: Mapping[tuple[str, str], Transition] = MappingProxyType(
    {(t.source, t.target): t for t in TRANSITIONS})

CHANNELS = ("map", "visit", "phone", "api", "open311", "import")
#: escalation levels of 督办: who chases an overdue request
ESCALATION_LEVELS = ("grid_leader", "community", "street")
MAX_DESCRIPTION = 4000


@dataclass(frozen=True)
class Policy:
    """The settable rules of the loop (filled from settings by the service layer).

    Parameters
    ----------
    calendar
        Working days (:func:`gridmap.domain.workdays.china_calendar`).
    sla_days
        Working days allowed per SLA kind.
    reopen_days
        Calendar days after resolution within which an unsatisfied resident reopens the request.
    escalation_step_days
        Working days overdue after which 督办 moves from the community up to the street.
    boundary_m
        A request closer than this to another grid is marked ``needs_confirmation``.
    nearest_m
        A point outside every building is matched to the nearest building within this distance.
    satisfied_min
        Ratings at or above count as satisfied; below, the resident is unsatisfied.
    """

    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    sla_days: Mapping[str, int] = field(default_factory=lambda: SLA_DAYS)
    reopen_days: int = 15
    escalation_step_days: int = 3
    boundary_m: float = 30.0
    nearest_m: float = 60.0
    satisfied_min: int = 4
    categories: Mapping[str, Category] = field(default_factory=lambda: CATEGORIES)

    def category(self, code: str) -> Category:
        try:
            return self.categories[code]
        except KeyError:
            raise ComplaintError(f"unknown category {code!r}; categories are "
                                 f"{', '.join(self.categories)}") from None

    def sla_for(self, category: str) -> int:
        kind = self.category(category).sla_kind
        try:
            return int(self.sla_days[kind])
        except KeyError:
            raise ComplaintError(f"no time limit set for SLA kind {kind!r}") from None


# --------------------------------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------------------------------
def is_open(state: str) -> bool:
    """True for states of type ``open``."""
    return _state(state).type == _OPEN


def _state(label: str) -> State:
    try:
        return STATES[label]
    except KeyError:
        raise ComplaintError(f"unknown state {label!r}; states are {', '.join(STATES)}") from None


def allowed_targets(state: str, *, by: str | None = None) -> list[str]:
    """States reachable from ``state`` (by an actor kind, if given; staff may do department steps)."""
    _state(state)
    kinds = _kinds(by) if by else None
    return [t.target for t in TRANSITIONS
            if t.source == state and (kinds is None or t.by & kinds)]


def _kinds(by: str) -> frozenset[str]:
    if by not in (_S, _D, _Y):
        raise ComplaintError(f"unknown actor kind {by!r}; use staff, department or system")
    return frozenset({_S, _D}) if by == _S else frozenset({by})


def new_complaint(*, id: str, category: str, description: str, at: dt.datetime, channel: str,
                  lon: float, lat: float, actor: str, policy: Policy, route: "Route | None" = None,
                  contact_name: str | None = None, contact_phone: str | None = None
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A freshly collected complaint and its first event, validated.

    Returns
    -------
    (record, event)
        ``record`` has the ``complaints`` columns plus ``lon``/``lat``; ``event`` is ``complaint_events``
        row seq 1 (``None`` → ``collected``).
    """
    cat = policy.category(category)
    text = (description or "").strip()
    if not text:
        raise ComplaintError("description is empty: say what the problem is")
    if len(text) > MAX_DESCRIPTION:
        raise ComplaintError(f"description is {len(text)} characters; at most {MAX_DESCRIPTION}")
    if channel not in CHANNELS:
        raise ComplaintError(f"unknown channel {channel!r}; channels are {', '.join(CHANNELS)}")
    _check_point(lon, lat)
    route = route or Route()
    record: dict[str, Any] = {
        "id": id, "category": cat.code, "description": text, "state": "collected", "channel": channel,
        "building_id": route.building_id, "community_id": route.community_id,
        "filed_grid_code": route.grid_code, "department": route.department or cat.departments[0],
        "assignee": route.grid_leader_id, "created_at": at, "updated_at": at,
        "due_at": policy.calendar.due(at, policy.sla_for(cat.code)), "closed_at": None,
        "contact_name": contact_name or None, "contact_phone": contact_phone or None,
        "rating": None, "resolved": None, "needs_confirmation": bool(route.needs_confirmation),
        "duplicate_of": None, "escalation": 0, "placement": route.placement,
        "placement_distance_m": route.placement_distance_m, "lon": float(lon), "lat": float(lat),
    }
    event = {"complaint_id": id, "seq": 1, "from_state": None, "to_state": "collected", "actor": actor,
             "at": at, "note": f"channel={channel}"}
    return record, event


def _check_point(lon: float, lat: float) -> None:
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ComplaintError(f"location ({lon!r}, {lat!r}) is not a pair of numbers") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ComplaintError(f"location lon={lon}, lat={lat} is outside the earth (EPSG:4326 degrees)")


def apply(record: Mapping[str, Any], target: str, *, actor: str, by: str, at: dt.datetime, seq: int,
          note: str | None = None, changes: Mapping[str, Any] | None = None
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
            f"{', '.join(allowed_targets(source)) or 'nothing (final state)'}")
    if not t.by & _kinds(by):
        raise IllegalTransition(
            f"complaint {record.get('id')}: {t.en} ({source} → {target}) is done by "
            f"{' or '.join(sorted(t.by))}, not by {by}")
    changes = dict(changes or {})
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
    event = {"complaint_id": record["id"], "seq": int(seq), "from_state": source, "to_state": target,
             "actor": actor, "at": at, "note": note}
    return new, event


_CHANGEABLE = ("department", "assignee", "duplicate_of", "rating", "resolved", "due_at",
               "needs_confirmation", "building_id", "community_id", "filed_grid_code")


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


def _guard_supervised(record: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    if record["state"] == "supervised" and int(record.get("escalation") or 0) >= len(ESCALATION_LEVELS) - 1:
        raise IllegalTransition(f"complaint {record.get('id')} is already supervised by the street, "
                                f"the highest level")


_GUARDS = {"duplicate": _guard_duplicate, "reassigned": _guard_reassigned,
           "supervised": _guard_supervised}


def evaluate(record: Mapping[str, Any], *, rating: int, resolved: bool, actor: str, at: dt.datetime,
             seq: int, policy: Policy, note: str | None = None
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Record the resident's verdict (回访评价): rating 1–5 and resolved yes/no.

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
    new, ev = apply(record, "evaluated", actor=actor, by=_S, at=at, seq=seq, note=note,
                    changes={"rating": rating, "resolved": resolved})
    events = [ev]
    if (not resolved or rating < policy.satisfied_min) and _within_reopen(record, at, policy):
        new, ev2 = apply(new, "reopened", actor=actor, by=_S, at=at, seq=seq + 1,
                         note=f"resident unsatisfied (rating {rating}, resolved={resolved})",
                         changes={"due_at": policy.calendar.due(at, policy.sla_for(record["category"]))})
        events.append(ev2)
    return new, events


def _within_reopen(record: Mapping[str, Any], at: dt.datetime, policy: Policy) -> bool:
    closed = record.get("closed_at")
    if closed is None or _isnull(closed):
        return True
    return at - closed <= dt.timedelta(days=policy.reopen_days)


def _isnull(v: Any) -> bool:
    try:
        return v is None or bool(v != v)  # NaN / NaT
    except (TypeError, ValueError):
        return False


def reopen(record: Mapping[str, Any], *, actor: str, at: dt.datetime, seq: int, policy: Policy,
           note: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Reopen a resolved or evaluated request at the resident's word, within ``policy.reopen_days``."""
    if not _within_reopen(record, at, policy):
        raise IllegalTransition(f"complaint {record.get('id')} was closed on {record['closed_at']:%Y-%m-%d}; "
                                f"it can be reopened only within {policy.reopen_days} days — file a new "
                                f"request instead")
    return apply(record, "reopened", actor=actor, by=_S, at=at, seq=seq, note=note,
                 changes={"due_at": policy.calendar.due(at, policy.sla_for(record["category"]))})


def is_overdue(record: Mapping[str, Any], now: dt.datetime) -> bool:
    """Open and past its time limit."""
    due = record.get("due_at")
    return is_open(record["state"]) and due is not None and not _isnull(due) and now > due


def escalation_level_due(record: Mapping[str, Any], now: dt.datetime, policy: Policy) -> int:
    """Which 督办 level an open request should be at now: 0 in time, 1 community, 2 street.

    Level 1 when past ``due_at``; level 2 when more than ``policy.escalation_step_days`` working days
    past it.
    """
    if not is_overdue(record, now):
        return 0
    late = policy.calendar.working_days_between(record["due_at"], now)
    return 2 if late > policy.escalation_step_days else 1


def escalate(record: Mapping[str, Any], now: dt.datetime, *, seq: int, policy: Policy,
             actor: str = "system") -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Automatic 督办: the moves that bring an overdue request up to the level it is due (maybe none).

    Returns a list of ``(record, event)`` pairs, in order; the last record is the current one.
    """
    target = escalation_level_due(record, now, policy)
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    current = dict(record)
    while target > int(current.get("escalation") or 0) and \
            "supervised" in allowed_targets(current["state"], by=_Y):
        level = int(current.get("escalation") or 0) + 1
        current, ev = apply(current, "supervised", actor=actor, by=_Y, at=now, seq=seq + len(out),
                            note=f"overdue since {record['due_at']:%Y-%m-%d}: supervised by "
                                 f"{ESCALATION_LEVELS[level]}")
        out.append((current, ev))
    return out


# --------------------------------------------------------------------------------------------------
# Routing and duplicates (geometry; measured in a projected CRS)
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """Where a request goes. ``needs_confirmation``: near another grid or not on a building."""

    building_id: str | None = None
    estate_id: str | None = None
    community_id: str | None = None
    grid_code: str | None = None
    grid_leader_id: str | None = None
    property_steward_id: str | None = None
    department: str | None = None
    departments: tuple[str, ...] = ()
    needs_confirmation: bool = True
    placement: str = "rejected"
    placement_distance_m: float | None = None
    reasons: tuple[str, ...] = ()

    def agency(self, *, lang: str = "zh") -> str:
        """Open311 ``agency_responsible``: the lead department and the grid."""
        dept = DEPARTMENTS.get(self.department or "")
        name = (dept.zh if lang == "zh" else dept.en) if dept else ""
        grid = f"网格 {self.grid_code}" if lang == "zh" else f"grid {self.grid_code}"
        return " / ".join(x for x in (name, grid if self.grid_code else "") if x)


def metric_crs(lon: float) -> str:
    """A projected CRS to measure in near longitude ``lon``: EPSG:4549 (CGCS2000 3° GK, CM 120°E)
    between 118.5° and 121.5° E, else the WGS84 UTM zone."""
    if 118.5 <= lon <= 121.5:
        return "EPSG:4549"
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{32600 + zone}"


def route(lon: float, lat: float, *, category: str, buildings: Any, assignment: Mapping[str, str],
          grids: Any, policy: Policy, stewards: Any = None) -> Route:
    """Route a request at ``(lon, lat)``.

    Parameters
    ----------
    buildings
        GeoDataFrame (EPSG:4326) with ``id``, ``estate_id``, ``community_id``, polygons near the point.
    assignment
        building id → grid code of the published plan.
    grids
        GeoDataFrame of the published plan's grid polygons (``code``, ``community_id``).
    stewards
        Optional frame with ``id``, ``role``, ``serves``: the grid leader serves the grid code, the
        property steward serves the estate id (or the building id).

    Returns
    -------
    Route
        Building by containment, else the nearest within ``policy.nearest_m`` (``nearest``), else only the
        grid containing the point (``area``); ``needs_confirmation`` when not on a building, or within
        ``policy.boundary_m`` of another grid, or when the building's grid is not the grid drawn there.
    """
    cat = policy.category(category)
    _check_point(lon, lat)
    crs = metric_crs(float(lon))
    pt = _project_point(float(lon), float(lat), crs)
    reasons: list[str] = []
    b_row, placement, dist = _match_building(pt, buildings, crs, policy.nearest_m)
    grid_code = community = estate = building_id = None
    if b_row is not None:
        building_id, estate = str(b_row["id"]), _str_or_none(b_row.get("estate_id"))
        community = _str_or_none(b_row.get("community_id"))
        grid_code = assignment.get(building_id)
        if grid_code is None:
            reasons.append("building is in no grid of the published plan")
    else:
        reasons.append("no building at this location")
    if grids is not None and len(grids):
        d = shapely.distance(_project(grids.geometry, crs), pt)
        codes = grids["code"].astype(str).to_numpy()
        inside = np.flatnonzero(d <= 1e-6)
        drawn = str(codes[inside[0]]) if len(inside) else None
        if grid_code is None and drawn is not None:
            grid_code, placement = drawn, ("area" if b_row is None else placement)
            community = community or _str_or_none(grids.iloc[int(inside[0])].get("community_id"))
        elif drawn is not None and drawn != grid_code:
            reasons.append(f"drawn inside grid {drawn}, building belongs to {grid_code}")
        others = d[codes != str(grid_code)]
        if len(others) and float(others.min()) < policy.boundary_m:
            reasons.append(f"{float(others.min()):.0f} m from another grid "
                           f"(confirmation below {policy.boundary_m:.0f} m)")
    leader = steward = None
    if stewards is not None and len(stewards):
        leader = _steward(stewards, "grid_leader", [grid_code])
        steward = _steward(stewards, "property_steward", [estate, building_id])
    return Route(building_id=building_id, estate_id=estate, community_id=community, grid_code=grid_code,
                 grid_leader_id=leader, property_steward_id=steward, department=cat.departments[0],
                 departments=cat.departments, needs_confirmation=bool(reasons) or grid_code is None,
                 placement=placement if grid_code or b_row is not None else "rejected",
                 placement_distance_m=dist, reasons=tuple(reasons))


def _str_or_none(v: Any) -> str | None:
    return None if v is None or _isnull(v) else str(v)


def _match_building(pt: Any, buildings: Any, crs: str, nearest_m: float
                    ) -> tuple[Mapping[str, Any] | None, str, float | None]:
    if buildings is None or not len(buildings):
        return None, "rejected", None
    d = shapely.distance(_project(buildings.geometry, crs), pt)
    i = int(np.argmin(d))
    dist = float(d[i])
    if dist <= 1e-6:
        return buildings.iloc[i], "contained", 0.0
    if dist <= nearest_m:
        return buildings.iloc[i], "nearest", round(dist, 1)
    return None, "rejected", None


@lru_cache(maxsize=16)
def _transformer(crs: str) -> Any:
    from pyproj import Transformer  # pyproj ≥ 3.1: one Transformer may serve every thread

    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def _project(geoms: Any, crs: str) -> Any:
    """Geometries in EPSG:4326 → ``crs`` (the same pyproj transformation ``GeoSeries.to_crs`` makes,
    without building a frame: routing and duplicate search run on every submission)."""
    src = getattr(geoms, "crs", None)
    if src is not None and src.to_epsg() != 4326:  # a frame in another CRS: let geopandas do it
        return np.asarray(geoms.to_crs(crs).values, dtype=object)
    tr = _transformer(crs)

    def xy(c: Any) -> Any:
        x, y = tr.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(getattr(geoms, "values", geoms), dtype=object), xy)


def _project_point(lon: float, lat: float, crs: str) -> Any:
    x, y = _transformer(crs).transform(lon, lat)
    return shapely.Point(x, y)


def _steward(stewards: Any, role: str, serves: Sequence[str | None]) -> str | None:
    wanted = [s for s in serves if s]
    if not wanted:
        return None
    rows = stewards[(stewards["role"] == role) & stewards["serves"].astype(str).isin(wanted)]
    return str(sorted(rows["id"].astype(str))[0]) if len(rows) else None


def find_duplicates(lon: float, lat: float, *, category: str, candidates: Any, policy: Policy,
                    exclude: str | None = None) -> list[tuple[str, float]]:
    """Open requests of the same category within the category's duplicate radius, nearest first.

    ``candidates``: GeoDataFrame (EPSG:4326) with ``id``, ``category``, ``state`` and point geometry.
    Returns ``[(id, distance_m), …]``.
    """
    cat = policy.category(category)
    _check_point(lon, lat)
    if candidates is None or not len(candidates) or cat.duplicate_radius_m <= 0:
        return []
    c = candidates[(candidates["category"] == cat.code)
                   & candidates["state"].map(lambda s: STATES[s].type == _OPEN if s in STATES else False)
                   & candidates.geometry.notna()]
    if exclude is not None:
        c = c[c["id"].astype(str) != str(exclude)]
    if not len(c):
        return []
    crs = metric_crs(float(lon))
    pt = _project_point(float(lon), float(lat), crs)
    d = shapely.distance(_project(c.geometry, crs), pt)
    near = sorted((round(float(dist), 1), str(i)) for i, dist in zip(c["id"], d)
                  if dist <= cat.duplicate_radius_m)
    return [(i, dist) for dist, i in near]


def with_sla(policy: Policy, overrides: Mapping[str, int] | None) -> Policy:
    """``policy`` with some SLA kinds' working days replaced (settings ``COMPLAINT_SLA_DAYS``)."""
    if not overrides:
        return policy
    bad = {k: v for k, v in overrides.items() if not isinstance(v, int) or v < 0}
    if bad:
        raise ComplaintError(f"SLA days must be whole numbers ≥ 0: {bad}")
    return replace(policy, sla_days=MappingProxyType({**policy.sla_days, **overrides}))
