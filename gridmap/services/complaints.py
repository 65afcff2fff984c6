"""Complaint use cases shared by the web views, Open311 and the CLI: submit, route, move, evaluate,
escalate, list and read. Each takes a store; every write of a use case sits in one transaction.

``user`` is anything with ``id``, ``role`` and ``scope`` (:class:`gridmap.web.access.User` fits). Scope keys
follow :mod:`gridmap.domain.privacy`: ``grids``, ``communities``, ``streets``, ``departments`` (department codes
such as ``urban_management`` or their Chinese names such as ``城管``).
"""
from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache
from typing import Any, Iterable, Mapping

import pandas as pd
from shapely.geometry import Point

from gridmap.domain import complaints as C
from gridmap.domain import privacy
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFoundError
from gridmap.store.base import ConflictError, Store
from gridmap.domain.workdays import CalendarError, WorkCalendar, china_calendar

__all__ = ["policy_from", "submit", "transition", "escalate_overdue", "get_complaint", "list_complaints",
           "events_of", "duplicates_near", "route_preview", "published_plan_id", "public_view",
           "staff_view", "categories_catalogue", "street_of", "work_list"]

#: roles that act as ``staff`` in the transitions table; ``department`` acts as ``department``
STAFF_ROLES = ("grid_leader", "community_official", "street_official", "planner", "admin")
PERSONAL = ("description", "contact_name", "contact_phone")


# -- settings → policy ------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _calendar(holidays: tuple[str, ...], workdays: tuple[str, ...]) -> WorkCalendar:
    return china_calendar(range(2015, 2036), holidays=holidays, workdays=workdays)


def policy_from(settings: Mapping[str, Any]) -> C.Policy:
    """The complaint :class:`~gridmap.domain.complaints.Policy` from the ``COMPLAINT_*`` settings."""
    try:
        cal = _calendar(tuple(map(str, settings.get("COMPLAINT_HOLIDAYS") or ())),
                        tuple(map(str, settings.get("COMPLAINT_WORKDAYS") or ())))
        policy = C.Policy(calendar=cal,
                          reopen_days=int(settings.get("COMPLAINT_REOPEN_DAYS", 15)),
                          escalation_step_days=int(settings.get("COMPLAINT_ESCALATION_DAYS", 3)),
                          boundary_m=float(settings.get("COMPLAINT_BOUNDARY_M", 30.0)),
                          nearest_m=float(settings.get("COMPLAINT_NEAREST_M", 60.0)),
                          satisfied_min=int(settings.get("COMPLAINT_SATISFIED_MIN", 4)))
        return C.with_sla(policy, dict(settings.get("COMPLAINT_SLA_DAYS") or {}))
    except (CalendarError, C.ComplaintError, TypeError, ValueError) as exc:
        raise InvalidInput(f"complaint settings are not valid: {exc}") from None


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or dt.datetime.now()).replace(microsecond=0)


# -- the published plan and what sits near a point ----------------------------------------------------
def published_plan_id(store: Store) -> str | None:
    """Id of the published plan (the newest if several, which should not happen)."""
    plans = store.read("plans", where={"status": "published"}, columns=["id", "published_at"])
    if not len(plans):
        return None
    return str(plans.sort_values("published_at", na_position="first").iloc[-1]["id"])


def _bbox_around(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    dlat = metres / 111_000.0
    dlon = metres / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def _context(store: Store, lon: float, lat: float, policy: C.Policy) -> dict[str, Any]:
    # Only what can matter, through the spatial index: a building within ``nearest_m`` and a grid within
    # ``boundary_m`` must overlap these boxes (a few metres spare for the degree approximation).
    buildings = store.read("buildings", bbox=_bbox_around(lon, lat, policy.nearest_m + 5.0),
                           columns=["id", "estate_id", "community_id", "geometry"])
    plan_id = published_plan_id(store)
    assignment: dict[str, str] = {}
    grids = None
    if plan_id is not None:
        grids = store.read("plan_grids", bbox=_bbox_around(lon, lat, policy.boundary_m + 5.0),
                           where={"plan_id": plan_id}, columns=["code", "community_id", "geometry"])
        if len(buildings):
            a = store.read("plan_assignments", where={"plan_id": plan_id,
                                                      "building_id": buildings["id"].tolist()})
            assignment = dict(zip(a["building_id"].astype(str), a["grid_code"].astype(str)))
    serves = list(assignment.values()) + (grids["code"].astype(str).tolist() if grids is not None else []) + \
        buildings["estate_id"].dropna().astype(str).tolist() + buildings["id"].astype(str).tolist()
    stewards = store.read("stewards", where={"role": ["grid_leader", "property_steward"],
                                             "serves": sorted(set(serves))},
                          columns=["id", "role", "serves"]) if serves else None
    return {"buildings": buildings, "assignment": assignment, "grids": grids, "stewards": stewards}


def route_at(store: Store, lon: float, lat: float, *, category: str, policy: C.Policy) -> C.Route:
    """Route a request at ``(lon, lat)`` with the published plan."""
    try:
        return C.route(lon, lat, category=category, policy=policy, **_context(store, lon, lat, policy))
    except C.ComplaintError as exc:
        raise InvalidInput(str(exc)) from None


def route_preview(store: Store, *, lon: Any, lat: Any, category: str, settings: Mapping[str, Any]) -> dict:
    """What the intake form shows before submitting: grid, department, confirmation, duplicates."""
    lon, lat = _coords(lon, lat)
    policy = policy_from(settings)
    r = route_at(store, lon, lat, category=category, policy=policy)
    return {"grid_code": r.grid_code, "community_id": r.community_id, "building_id": r.building_id,
            "department": r.department, "departments": list(r.departments),
            "needs_confirmation": r.needs_confirmation, "reasons": list(r.reasons),
            "agency_responsible": r.agency(), "placement": r.placement,
            "duplicates": duplicates_near(store, lon=lon, lat=lat, category=category, settings=settings)}


def duplicates_near(store: Store, *, lon: Any, lat: Any, category: str, settings: Mapping[str, Any],
                    exclude: str | None = None) -> list[dict[str, Any]]:
    """Open requests of ``category`` within its duplicate radius: offered for linking."""
    lon, lat = _coords(lon, lat)
    policy = policy_from(settings)
    try:
        radius = policy.category(category).duplicate_radius_m
    except C.ComplaintError as exc:
        raise InvalidInput(str(exc)) from None
    if radius <= 0:
        return []
    open_states = [s for s, st in C.STATES.items() if st.type == "open"]
    cand = store.read("complaints", bbox=_bbox_around(lon, lat, radius + 10),
                      where={"category": category, "state": open_states},
                      columns=["id", "category", "state", "created_at", "geometry"])
    found = C.find_duplicates(lon, lat, category=category, candidates=cand, policy=policy, exclude=exclude)
    created = dict(zip(cand["id"].astype(str), cand["created_at"])) if len(cand) else {}
    states = dict(zip(cand["id"].astype(str), cand["state"])) if len(cand) else {}
    return [{"id": i, "distance_m": d, "state": states[i], "created_at": _iso(created[i])} for i, d in found]


def _coords(lon: Any, lat: Any) -> tuple[float, float]:
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise InvalidInput(f"lon/lat must be numbers, got lon={lon!r}, lat={lat!r}") from None
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise InvalidInput(f"lon={lon}, lat={lat} is not a location in EPSG:4326 degrees")
    return x, y


# -- submitting ---------------------------------------------------------------------------------------
def _locate(store: Store, data: Mapping[str, Any]) -> tuple[float, float]:
    if data.get("lon") not in (None, "") or data.get("lat") not in (None, ""):
        return _coords(data.get("lon"), data.get("lat"))
    building = data.get("building_id")
    if building:
        row = store.get("buildings", str(building))
        if row is None:
            raise InvalidInput(f"building {building!r} does not exist")
        p = row["geometry"].representative_point()
        return p.x, p.y
    raise InvalidInput("say where: lon and lat (click the map) or building_id")


def submit(store: Store, data: Mapping[str, Any], *, user: Any, settings: Mapping[str, Any],
           channel: str = "api", now: dt.datetime | None = None) -> dict[str, Any]:
    """Collect a request: validate, route, store it with its first event (one transaction).

    ``data``: ``category``, ``description``, ``lon``/``lat`` or ``building_id``, optional
    ``contact_name``, ``contact_phone``, ``duplicate_of`` (the resident links to an open request), and for
    staff entering on a resident's behalf ``channel`` ``visit`` or ``phone``.

    Returns the stored record (staff view) with ``route`` reasons and nearby ``duplicates``.
    """
    now = _now(now)
    policy = policy_from(settings)
    channel = str(data.get("channel") or channel)
    if channel in ("visit", "phone") and getattr(user, "role", "public") not in STAFF_ROLES:
        raise Forbidden("只有网格员和工作人员可以代录诉求 / only grid leaders and officials enter "
                        "requests on a resident's behalf (visit, phone)")
    category = str(data.get("category") or "").strip()
    if not category:
        raise InvalidInput("category is required; see /api/complaints/categories")
    lon, lat = _locate(store, data)
    route = route_at(store, lon, lat, category=category, policy=policy)
    dup_of = data.get("duplicate_of") or None
    actor = _actor(user)
    try:  # validate before taking a number, so a refused request uses none
        rec, event = C.new_complaint(id="", category=category, description=str(data.get("description") or ""),
                                     at=now, channel=channel, lon=lon, lat=lat, actor=actor, policy=policy,
                                     route=route, contact_name=_opt(data.get("contact_name")),
                                     contact_phone=_opt(data.get("contact_phone")))
    except C.ComplaintError as exc:
        raise InvalidInput(str(exc)) from None
    if dup_of is not None:
        other = store.get("complaints", str(dup_of))
        if other is None or not C.is_open(other["state"]):
            raise InvalidInput(f"duplicate_of {dup_of!r} is not an open request")
    rec["duplicate_of"] = str(dup_of) if dup_of else None
    # The number is taken on its own (atomic, unique under concurrent writers), not inside the transaction:
    # there it would hold the sequence row's lock until commit and queue every other submission behind it.
    cid = f"{now:%Y}{store.next_id('complaint'):06d}"
    rec["id"] = event["complaint_id"] = cid
    frames = _frames(rec, [event])
    with store.transaction():  # the request and its first event, both or neither
        _store_frames(store, frames, mode="insert")
    out = staff_view(rec)
    out["route"] = {"reasons": list(route.reasons), "grid_leader_id": route.grid_leader_id,
                    "property_steward_id": route.property_steward_id,
                    "departments": list(route.departments), "agency_responsible": route.agency()}
    out["duplicates"] = duplicates_near(store, lon=lon, lat=lat, category=category, settings=settings,
                                        exclude=cid)
    return out


def _opt(v: Any) -> str | None:
    text = str(v).strip() if v is not None else ""
    return text or None


def _actor(user: Any) -> str:
    uid = getattr(user, "id", None)
    return str(uid) if uid else "public"


def _frames(rec: Mapping[str, Any], events: list[Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The ``complaints`` row and its ``complaint_events`` rows as frames (built before any transaction)."""
    row = {k: v for k, v in rec.items() if k not in ("lon", "lat", "geometry")}
    geom = rec.get("geometry")
    if geom is None and rec.get("lon") is not None:
        geom = Point(float(rec["lon"]), float(rec["lat"]))
    row["geometry"] = geom  # EPSG:4326; a plain one-row frame is cheaper than a GeoDataFrame
    return pd.DataFrame([row]), (pd.DataFrame(list(events)) if events else None)


def _store_frames(store: Store, frames: tuple[pd.DataFrame, pd.DataFrame | None], *, mode: str) -> None:
    store.write("complaints", frames[0], mode=mode)
    if frames[1] is not None:
        store.write("complaint_events", frames[1], mode="insert")


def _write(store: Store, rec: Mapping[str, Any], events: list[Mapping[str, Any]], *, mode: str) -> None:
    _store_frames(store, _frames(rec, events), mode=mode)


# -- who may act ---------------------------------------------------------------------------------------
def street_of(community_id: Any) -> str | None:
    text = str(community_id) if community_id else ""
    return text[:9] if len(text) >= 9 else None


def _scope(user: Any, key: str) -> set[str]:
    scope = getattr(user, "scope", None) or {}
    value = scope.get(key)
    if value is None and key == "departments":
        value = scope.get("department")
    if value is None:
        return set()
    return {value} if isinstance(value, str) else {str(v) for v in value}


def _current_grid(store: Store, rec: Mapping[str, Any]) -> str | None:
    plan = published_plan_id(store)
    if plan and rec.get("building_id"):
        a = store.read("plan_assignments", where={"plan_id": plan, "building_id": rec["building_id"]})
        if len(a):
            return str(a.iloc[0]["grid_code"])
    return rec.get("filed_grid_code")


def in_scope(user: Any, rec: Mapping[str, Any], grid: str | None = None) -> bool:
    """Whether ``user``'s area holds the request (admin and planner: everywhere)."""
    role = getattr(user, "role", "public")
    if role in ("admin", "planner"):
        return True
    if role == "street_official":
        return street_of(rec.get("community_id") or (grid or "")[:12]) in _scope(user, "streets")
    if role == "community_official":
        com = rec.get("community_id") or ((grid or "")[:12] or None)
        return com in _scope(user, "communities")
    if role == "grid_leader":
        return bool({grid, rec.get("filed_grid_code")} & _scope(user, "grids"))
    if role == "department":  # codes on both sides (scopes may name a department in Chinese)
        return privacy.in_scope(user, privacy.Where(department=rec.get("department")))
    return False


def _actor_kind(user: Any) -> str:
    role = getattr(user, "role", "public")
    if role in STAFF_ROLES:
        return "staff"
    if role == "department":
        return "department"
    raise Forbidden("只有网格员、部门和工作人员可以办理诉求 / only grid leaders, departments and officials "
                    "act on requests")


# -- moving a request ---------------------------------------------------------------------------------
def _load(store: Store, cid: str) -> dict[str, Any]:
    row = store.get("complaints", str(cid))
    if row is None:
        raise NotFoundError(f"诉求 {cid} 不存在 / request {cid} does not exist")
    return row


def _next_seq(store: Store, cid: str) -> int:
    ev = store.read("complaint_events", where={"complaint_id": str(cid)}, columns=["seq"])
    return int(ev["seq"].max()) + 1 if len(ev) else 1


def transition(store: Store, cid: str, target: str, *, user: Any, settings: Mapping[str, Any],
               note: str | None = None, changes: Mapping[str, Any] | None = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """Move request ``cid`` to ``target`` as ``user`` (one transaction); returns the new record and the
    events written. ``evaluated`` takes ``rating`` and ``resolved`` in ``changes``; an unsatisfied
    resident reopens the request (two events)."""
    now = _now(now)
    policy = policy_from(settings)
    by = _actor_kind(user)
    changes = dict(changes or {})
    with store.transaction():
        rec = _load(store, cid)
        if not in_scope(user, rec, _current_grid(store, rec)):
            raise Forbidden(f"诉求 {cid} 不在您的范围内 / request {cid} is outside your area")
        seq = _next_seq(store, cid)
        actor = _actor(user)
        try:
            if target == "evaluated":
                rating, resolved = changes.pop("rating", None), _bool(changes.pop("resolved", None))
                if changes:
                    raise C.ComplaintError(f"evaluation takes rating and resolved only, not {sorted(changes)}")
                new, events = C.evaluate(rec, rating=rating, resolved=resolved, actor=actor, at=now, seq=seq,
                                         policy=policy, note=note)
            elif target == "reopened":
                new, ev = C.reopen(rec, actor=actor, at=now, seq=seq, policy=policy, note=note)
                events = [ev]
            else:
                if target == "reassigned" and changes.get("department") and "due_at" not in changes:
                    changes["due_at"] = policy.calendar.due(now, policy.sla_for(rec["category"]))
                new, ev = C.apply(rec, target, actor=actor, by=by, at=now, seq=seq, note=note, changes=changes)
                events = [ev]
        except C.IllegalTransition as exc:
            raise Conflict(str(exc)) from None
        except C.ComplaintError as exc:
            raise InvalidInput(str(exc)) from None
        try:
            _write(store, new, events, mode="upsert")
        except ConflictError:  # another move of the same request won the race for this event number
            raise Conflict(f"request {cid} was changed by someone else at the same moment; "
                           f"reload it and try again") from None
    return {"complaint": staff_view(new), "events": [_event_json(e) for e in events]}


def _bool(v: Any) -> Any:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "1", "yes", "是"):
            return True
        if low in ("false", "0", "no", "否"):
            return False
    return v


def escalate_overdue(store: Store, *, settings: Mapping[str, Any], now: dt.datetime | None = None) -> dict:
    """Automatic 督办 for every overdue open request (grid leader → community → street), one transaction.

    Returns ``{"checked": n, "escalated": [ids], "events": k}``.
    """
    now = _now(now)
    policy = policy_from(settings)
    open_states = [s for s, st in C.STATES.items() if st.type == "open"]
    escalated: list[str] = []
    n_events = 0
    with store.transaction():
        recs = store.read("complaints", where={"state": open_states})
        recs = recs[pd.to_datetime(recs["due_at"]) < pd.Timestamp(now)] if len(recs) else recs
        for _, row in recs.iterrows():
            rec = {k: (None if _isna(v) else v) for k, v in row.items()}
            steps = C.escalate(rec, now, seq=_next_seq(store, rec["id"]), policy=policy)
            if steps:
                _write(store, steps[-1][0], [ev for _, ev in steps], mode="upsert")
                escalated.append(str(rec["id"]))
                n_events += len(steps)
    return {"checked": int(len(recs)), "escalated": escalated, "events": n_events}


def _isna(v: Any) -> bool:
    try:
        return v is None or (not isinstance(v, (str, bytes)) and bool(pd.isna(v)))
    except (TypeError, ValueError):
        return False


# -- reading ---------------------------------------------------------------------------------------------
def get_complaint(store: Store, cid: str, *, user: Any) -> dict[str, Any]:
    """One request with its events, for staff whose area holds it (others get it without personal fields)."""
    rec = _load(store, cid)
    grid = _current_grid(store, rec)
    if getattr(user, "role", "public") in ("public", "viewer"):
        raise Forbidden("请先登录 / individual requests are for staff; the public sees aggregates (/kpi)")
    view = staff_view(rec, grid=grid) if in_scope(user, rec, grid) else _strip(staff_view(rec, grid=grid))
    view["events"] = events_of(store, cid)
    return view


def events_of(store: Store, cid: str) -> list[dict[str, Any]]:
    ev = store.read("complaint_events", where={"complaint_id": str(cid)}, order_by=["seq"])
    return [_event_json({k: (None if _isna(v) else v) for k, v in r.items()}) for r in ev.to_dict("records")]


def list_complaints(store: Store, *, user: Any, filters: Mapping[str, Any] | None = None,
                    limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Requests in the user's area, newest first. ``filters``: ``state``, ``category``, ``department``,
    ``grid`` (filed grid), ``community_id``, ``overdue`` (true)."""
    filters = dict(filters or {})
    where: dict[str, Any] = {}
    for key, col in (("state", "state"), ("category", "category"), ("department", "department"),
                     ("grid", "filed_grid_code"), ("community_id", "community_id")):
        if filters.get(key):
            where[col] = str(filters[key]).split(",")
    role = getattr(user, "role", "public")
    if role == "grid_leader":
        where["filed_grid_code"] = sorted(set(where.get("filed_grid_code", _scope(user, "grids")))
                                          & _scope(user, "grids"))
    elif role == "department":
        codes = set(privacy.department_codes(_scope(user, "departments")))
        where["department"] = sorted(set(where.get("department", codes)) & codes)
    elif role == "community_official":
        where["community_id"] = sorted(set(where.get("community_id", _scope(user, "communities")))
                                       & _scope(user, "communities"))
    rows = store.read("complaints", where=where, order_by=["created_at"])
    if role == "street_official":
        rows = rows[rows["community_id"].map(street_of).isin(_scope(user, "streets"))]
    if str(filters.get("overdue", "")).lower() in ("1", "true", "yes"):
        now = pd.Timestamp(dt.datetime.now())
        rows = rows[rows["state"].map(C.is_open) & (pd.to_datetime(rows["due_at"]) < now)]
    rows = rows.iloc[::-1]
    total = len(rows)
    page = rows.iloc[offset:offset + limit]
    items = [staff_view({k: (None if _isna(v) else v) for k, v in r.items()}) for r in page.to_dict("records")]
    return {"total": total, "limit": limit, "offset": offset, "items": items}


#: moves the work list offers as a button (reassigning and marking a duplicate need more than a note)
_LIST_MOVES = ("dispatched", "responding", "returned", "resolved", "supervised", "evaluated", "reopened",
               "rejected")


def open_states() -> list[dict[str, str]]:
    """The open states (code, 中文, English), for filters."""
    return [{"code": k, "zh": st.zh, "en": st.en} for k, st in C.STATES.items() if st.type == "open"]


def work_list(store: Store, *, user: Any, filters: Mapping[str, Any] | None = None,
              limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """:func:`list_complaints` for the staff work list page: each item with ``moves``, the states this user
    may move it to from the page (state code, 中文, English), and ``overdue``."""
    out = list_complaints(store, user=user, filters=filters, limit=limit, offset=offset)
    by = _actor_kind(user)
    now = pd.Timestamp(dt.datetime.now())
    for item in out["items"]:
        item["moves"] = [{"to": t, "zh": C.STATES[t].zh, "en": C.STATES[t].en}
                         for t in C.allowed_targets(item["state"], by=by) if t in _LIST_MOVES]
        due = item.get("due_at")
        item["overdue"] = bool(C.is_open(item["state"]) and due and pd.Timestamp(due) < now)
    return out


# -- shapes ------------------------------------------------------------------------------------------------
def _iso(v: Any) -> str | None:
    if v is None or _isna(v):
        return None
    return pd.Timestamp(v).isoformat()


def _event_json(e: Mapping[str, Any]) -> dict[str, Any]:
    return {"seq": int(e["seq"]), "from_state": e.get("from_state"), "to_state": e["to_state"],
            "actor": e.get("actor"), "at": _iso(e.get("at")), "note": e.get("note")}


def staff_view(rec: Mapping[str, Any], *, grid: str | None = None) -> dict[str, Any]:
    """A request as JSON for staff (personal fields in clear)."""
    geom = rec.get("geometry")
    lon = rec.get("lon") if rec.get("lon") is not None else (geom.x if geom is not None else None)
    lat = rec.get("lat") if rec.get("lat") is not None else (geom.y if geom is not None else None)
    state = C.STATES[rec["state"]]
    cat = C.CATEGORIES.get(rec["category"])
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if k in ("geometry", "lon", "lat"):
            continue
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            v = _iso(v)
        elif v is not None and _isna(v):
            v = None
        elif hasattr(v, "item"):
            v = v.item()
        out[k] = v
    out.update(lon=lon, lat=lat, grid_code=grid or rec.get("filed_grid_code"), status=state.type,
               state_zh=state.zh, state_en=state.en, category_zh=cat.zh if cat else None,
               category_en=cat.en if cat else None)
    return out


def _strip(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in PERSONAL}


def public_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """What anyone may see of one request: no personal fields, location rounded to ~100 m."""
    out = _strip(dict(view))
    for k in ("assignee", "contact_name", "contact_phone", "building_id"):
        out.pop(k, None)
    for k in ("lon", "lat"):
        if out.get(k) is not None:
            out[k] = round(float(out[k]), 3)
    return out


def map_extent(store: Store, community: str | None) -> tuple[list[dict[str, str]], str | None, Any]:
    """Communities to zoom the intake map to, the chosen one (if it exists) and its lon/lat bbox."""
    com = store.read("communities", columns=["id", "name", "geometry"], order_by=["id"])
    options = [{"id": str(i), "name": str(n)} for i, n in zip(com["id"], com["name"])]
    if not community or community not in set(com["id"].astype(str)):
        return options, None, None
    geom = com.loc[com["id"].astype(str) == community, "geometry"].iloc[0]
    return options, community, tuple(float(v) for v in geom.bounds)


def categories_catalogue(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Categories with their departments and time limits (working days), for forms and Open311."""
    policy = policy_from(settings)
    return [{"code": c.code, "zh": c.zh, "en": c.en, "group": c.group, "sla_kind": c.sla_kind,
             "sla_days": policy.sla_for(c.code), "duplicate_radius_m": c.duplicate_radius_m,
             "dispute": c.dispute, "keywords": list(c.keywords),
             "departments": [{"code": d, "zh": C.DEPARTMENTS[d].zh, "en": C.DEPARTMENTS[d].en}
                             for d in c.departments]}
            for c in policy.categories.values()]


def iter_ids(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values if v not in (None, "")]


# -- KPIs ---------------------------------------------------------------------------------------------------
def units_of(store: Store) -> Any:
    """:class:`gridmap.domain.kpi.Units` of the store: buildings, the published plan, communities → streets."""
    from gridmap.domain import kpi

    b = store.read("buildings", columns=["id", "community_id", "households"])
    plan = published_plan_id(store)
    a = store.read("plan_assignments", where={"plan_id": plan}) if plan else pd.DataFrame(
        columns=["building_id", "grid_code"])
    g = store.read("plan_grids", where={"plan_id": plan}, columns=["code", "community_id"]) if plan else \
        pd.DataFrame(columns=["code", "community_id"])
    com = store.read("communities", columns=["id", "street_id"])
    return kpi.Units(building_grid=dict(zip(a["building_id"].astype(str), a["grid_code"].astype(str))),
                     grid_community=dict(zip(g["code"].astype(str), g["community_id"].astype(str))),
                     community_street=dict(zip(com["id"].astype(str), com["street_id"].astype(str))),
                     building_households=dict(zip(b["id"].astype(str), b["households"].fillna(0).astype(int))),
                     building_community=dict(zip(b["id"].astype(str), b["community_id"].astype(str))))


_KPI_COLS = ["id", "category", "state", "building_id", "community_id", "filed_grid_code", "created_at",
             "due_at", "closed_at", "rating", "resolved"]


def kpi_report(store: Store, *, settings: Mapping[str, Any], year: int | None = None,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """Every KPI table for ``year`` (default: the latest year with requests) as JSON-ready data."""
    from gridmap.domain import kpi

    now = _now(now)
    policy = policy_from(settings)
    units = units_of(store)
    raw = store.read("complaints", columns=_KPI_COLS)
    events = store.read("complaint_events", columns=["complaint_id", "seq", "to_state", "at"])
    lab = kpi.label_units(raw, units)
    if year is None:  # the latest complete year with requests (targets are for whole years)
        years = sorted(int(y) for y in lab["year"].dropna().unique())
        complete = [y for y in years if y < now.year]
        year = complete[-1] if complete else (years[-1] if years else now.year)
    kw = dict(calendar=policy.calendar, satisfied_min=policy.satisfied_min,
              response_days=int(settings.get("COMPLAINT_RESPONSE_DAYS", 1)))
    levels = {}
    for level in kpi.LEVELS:
        rates = kpi.complaint_rates(lab, units, level=level, year=year)
        three = kpi.three_rates(lab, events, year=year, level=level, **kw)
        disp = kpi.dispute_rates(lab, year=year, level=level)
        over = kpi.overdue_counts(lab[lab["year"] == year], now=now, level=level)
        table = rates.join(three.drop(columns=["requests"]), how="left") \
            .join(disp[["disputes", "resolved", "rate", "rate_prev", "change"]]
                  .rename(columns={"resolved": "disputes_resolved", "rate": "dispute_rate",
                                   "rate_prev": "dispute_rate_prev", "change": "dispute_change"}), how="left") \
            .join(over, how="left")
        levels[level] = _records(table, level)
    estates = store.read("estates", columns=["id", "community_id", "property_company_id"])
    companies = store.read("property_companies", columns=["id", "has_party_org"])
    coverage = {lvl: _records(kpi.red_property_coverage(estates, companies, units.community_street,
                                                        level=lvl, year=year), lvl)
                for lvl in ("district", "street", "community")} if len(estates) else {}
    trend = kpi.yearly_trend(lab, units)
    return {"year": year, "generated_at": now.isoformat(),
            "summary": kpi.summary(lab, events, units, year=year, now=now, **kw),
            "targets": {"complaint_change": kpi.RATE_TARGET, "dispute_change": kpi.DISPUTE_TARGET,
                        "coverage": {str(k): v for k, v in kpi.COVERAGE_TARGETS.items()}},
            "levels": levels, "coverage": coverage,
            "trend": trend.to_dict("records"),
            "years": sorted(int(y) for y in lab["year"].dropna().unique())}


def _records(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    out = []
    for idx, row in frame.iterrows():
        rec: dict[str, Any] = {key: str(idx)}
        for k, v in row.items():
            if v is None or _isna(v):
                rec[k] = None
            elif isinstance(v, (bool,)) or type(v).__name__ == "bool_":
                rec[k] = bool(v)
            elif isinstance(v, float) or type(v).__name__.startswith("float"):
                rec[k] = round(float(v), 6)
            elif hasattr(v, "item"):
                rec[k] = v.item()
            else:
                rec[k] = v
        out.append(rec)
    return out
