"""A request as the services see it: the complaint :class:`~gridmap.domain.complaints.Policy` from the
settings, the rows written for a request and its events, and the JSON shapes staff and the public get.

``user`` is anything with ``id``, ``role`` and ``scope`` (:class:`gridmap.web.access.User` fits).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import pandas as pd
from shapely.geometry import Point

from gridmap import clock, config
from gridmap.domain import complaints as C
from gridmap.domain.workdays import CalendarError, WorkCalendar, china_calendar
from gridmap.errors import InvalidInput
from gridmap.store.base import Store

#: roles that act as ``staff`` in the transitions table; ``department`` acts as ``department``
STAFF_ROLES = ("grid_leader", "community_official", "street_official", "planner", "admin")
PERSONAL = ("description", "contact_name", "contact_phone")


# -- settings → policy ------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _calendar(holidays: tuple[str, ...], workdays: tuple[str, ...], zone: str) -> WorkCalendar:
    return china_calendar(range(2015, 2036), holidays=holidays, workdays=workdays, zone=clock.zone(zone))


def policy_from(settings: Mapping[str, Any]) -> C.Policy:
    """The complaint :class:`~gridmap.domain.complaints.Policy` from the ``COMPLAINT_*`` settings, its
    working days counted in the service's zone (``TIMEZONE``)."""
    try:
        cal = _calendar(
            tuple(map(str, settings.get("COMPLAINT_HOLIDAYS") or ())),
            tuple(map(str, settings.get("COMPLAINT_WORKDAYS") or ())),
            str(settings.get("TIMEZONE") or config.setting("TIMEZONE").default),
        )
        policy = C.Policy(
            calendar=cal,
            reopen_days=int(settings.get("COMPLAINT_REOPEN_DAYS", 15)),
            escalation_step_days=int(settings.get("COMPLAINT_ESCALATION_DAYS", 3)),
            boundary_m=float(settings.get("COMPLAINT_BOUNDARY_M", 30.0)),
            nearest_m=float(settings.get("COMPLAINT_NEAREST_M", 60.0)),
            satisfied_min=int(settings.get("COMPLAINT_SATISFIED_MIN", 4)),
        )
        return C.with_sla(policy, dict(settings.get("COMPLAINT_SLA_DAYS") or {}))
    except (CalendarError, C.ComplaintError, TypeError, ValueError) as exc:
        raise InvalidInput(f"complaint settings are not valid: {exc}") from None


def _now(now: dt.datetime | None) -> dt.datetime:
    """``now`` as aware UTC to the second (naive means UTC), or the clock's time (:func:`gridmap.clock.now`)."""
    return clock.utc(now).replace(microsecond=0) if now is not None else clock.now()


def _actor(user: Any) -> str:
    uid = getattr(user, "id", None)
    return str(uid) if uid else "public"


def _rows(rec: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``complaints`` row (geometry a point in EPSG:4326) and its ``complaint_events`` rows, as dicts."""
    row = {k: v for k, v in rec.items() if k not in ("lon", "lat", "geometry")}
    geom = rec.get("geometry")
    if geom is None and rec.get("lon") is not None:
        geom = Point(float(rec["lon"]), float(rec["lat"]))
    row["geometry"] = geom
    return row, [dict(e) for e in events]


def _frames(rec: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The ``complaints`` row and its ``complaint_events`` rows as frames (built before any transaction)."""
    row, evs = _rows(rec, events)  # a plain one-row frame is cheaper than a GeoDataFrame
    return pd.DataFrame([row]), (pd.DataFrame(evs) if evs else None)


def _store_frames(store: Store, frames: tuple[pd.DataFrame, pd.DataFrame | None], *, mode: str) -> None:
    store.write("complaints", frames[0], mode=mode)
    if frames[1] is not None:
        store.write("complaint_events", frames[1], mode="insert")


def _write(store: Store, rec: Mapping[str, Any], events: Sequence[Mapping[str, Any]], *, mode: str) -> None:
    _store_frames(store, _frames(rec, events), mode=mode)


def _isna(v: Any) -> bool:
    try:
        return v is None or (not isinstance(v, (str, bytes)) and bool(pd.isna(v)))
    except (TypeError, ValueError):
        return False


# -- shapes ------------------------------------------------------------------------------------------------
def _iso(v: Any) -> str | None:
    if type(v) is dt.datetime:  # a plain row's value: the text pandas would give, without a Timestamp
        return v.isoformat()
    if v is None or _isna(v):
        return None
    return pd.Timestamp(v).isoformat()


def _event_json(e: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "seq": int(e["seq"]),
        "from_state": e.get("from_state"),
        "to_state": e["to_state"],
        "actor": e.get("actor"),
        "at": _iso(e.get("at")),
        "note": e.get("note"),
        "reply": e.get("reply"),
    }


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
    out.update(
        lon=lon,
        lat=lat,
        grid_code=grid or rec.get("filed_grid_code"),
        status=state.type,
        state_zh=state.zh,
        state_en=state.en,
        category_zh=cat.zh if cat else None,
        category_en=cat.en if cat else None,
    )
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


def categories_catalogue(settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Categories with their departments and time limits (working days), for forms and Open311."""
    policy = policy_from(settings)
    return [
        {
            "code": c.code,
            "zh": c.zh,
            "en": c.en,
            "group": c.group,
            "sla_kind": c.sla_kind,
            "sla_days": policy.sla_for(c.code),
            "duplicate_radius_m": c.duplicate_radius_m,
            "dispute": c.dispute,
            "keywords": list(c.keywords),
            "departments": [{"code": d, "zh": C.DEPARTMENTS[d].zh, "en": C.DEPARTMENTS[d].en} for d in c.departments],
        }
        for c in policy.categories.values()
    ]
