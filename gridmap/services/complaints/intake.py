"""Taking a request in: route a location with the published plan (grid, grid leader, department), offer
open requests nearby as duplicates, and submit (validate, route, store it with its first event).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from gridmap import clock
from gridmap.domain import complaints as C
from gridmap.domain.geometry import lonlat
from gridmap.errors import Forbidden, InvalidInput
from gridmap.services.complaints.records import (
    STAFF_ROLES,
    _actor,
    _iso,
    _now,
    _rows,
    policy_from,
    staff_view,
)
from gridmap.services.plans.stored import published_grids
from gridmap.store import audit
from gridmap.store.base import Store


def _bbox_around(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    dlat = metres / 111_000.0
    dlon = metres / (111_000.0 * max(math.cos(math.radians(lat)), 0.01))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def _context(store: Store, lon: float, lat: float, policy: C.Policy) -> dict[str, Any]:
    # Only what can matter, as plain rows through the spatial index (on one connection): a building within
    # ``nearest_m`` and a grid within ``boundary_m`` must overlap these boxes (a few metres spare for the
    # degree approximation).
    with store.reading():
        return _read_context(store, lon, lat, policy)


def _read_context(store: Store, lon: float, lat: float, policy: C.Policy) -> dict[str, Any]:
    buildings = store.rows(
        "buildings",
        bbox=_bbox_around(lon, lat, policy.nearest_m + 5.0),
        columns=["id", "estate_id", "community_id", "geometry"],
    )
    published = published_grids(store)  # the published plan's grids, kept per published version
    assignment: dict[str, str] = {}
    grids = None
    if published is not None:
        grids = published.near(_bbox_around(lon, lat, policy.boundary_m + 5.0))
        if buildings:
            a = store.rows(
                "plan_assignments",
                where={"plan_id": published.plan_id, "building_id": [b["id"] for b in buildings]},
                columns=["building_id", "grid_code"],
            )
            assignment = {str(r["building_id"]): str(r["grid_code"]) for r in a}
    serves = (
        list(assignment.values())
        + [str(g["code"]) for g in grids or ()]
        + [str(b["estate_id"]) for b in buildings if b["estate_id"] is not None]
        + [str(b["id"]) for b in buildings]
    )
    stewards = (
        store.rows(
            "stewards",
            where={"role": ["grid_leader", "property_steward"], "serves": sorted(set(serves))},
            columns=["id", "role", "serves"],
        )
        if serves
        else None
    )
    return {"buildings": buildings, "assignment": assignment, "grids": grids, "stewards": stewards}


def route_at(store: Store, lon: float, lat: float, *, category: str, policy: C.Policy) -> C.Route:
    """Route a request at ``(lon, lat)`` with the published plan."""
    try:
        return C.route(lon, lat, category=category, policy=policy, **_context(store, lon, lat, policy))
    except C.ComplaintError as exc:
        raise InvalidInput(str(exc)) from None


def route_preview(store: Store, *, lon: Any, lat: Any, category: str, settings: Mapping[str, Any]) -> dict:
    """What the intake form shows before submitting: grid, department, confirmation, duplicates."""
    lon, lat = lonlat(lon, lat)
    policy = policy_from(settings)
    r = route_at(store, lon, lat, category=category, policy=policy)
    return {
        "grid_code": r.grid_code,
        "community_id": r.community_id,
        "building_id": r.building_id,
        "department": r.department,
        "departments": list(r.departments),
        "needs_confirmation": r.needs_confirmation,
        "reasons": list(r.reasons),
        "agency_responsible": r.agency(),
        "placement": r.placement,
        "duplicates": duplicates_near(store, lon=lon, lat=lat, category=category, settings=settings),
    }


def duplicates_near(
    store: Store, *, lon: Any, lat: Any, category: str, settings: Mapping[str, Any], exclude: str | None = None
) -> list[dict[str, Any]]:
    """Open requests of ``category`` within its duplicate radius: offered for linking."""
    lon, lat = lonlat(lon, lat)
    policy = policy_from(settings)
    try:
        radius = policy.category(category).duplicate_radius_m
    except C.ComplaintError as exc:
        raise InvalidInput(str(exc)) from None
    if radius <= 0:
        return []
    open_states = [s for s, st in C.STATES.items() if st.type == "open"]
    cand = store.rows(
        "complaints",
        bbox=_bbox_around(lon, lat, radius + 10),
        where={"category": category, "state": open_states},
        columns=["id", "category", "state", "created_at", "geometry"],
    )
    found = C.find_duplicates(lon, lat, category=category, candidates=cand, policy=policy, exclude=exclude)
    by_id = {str(r["id"]): r for r in cand}
    return [
        {"id": i, "distance_m": d, "state": by_id[i]["state"], "created_at": _iso(by_id[i]["created_at"])}
        for i, d in found
    ]


# -- submitting ---------------------------------------------------------------------------------------
def _locate(store: Store, data: Mapping[str, Any], building: str | None) -> tuple[float, float]:
    if data.get("lon") not in (None, "") or data.get("lat") not in (None, ""):
        return lonlat(data.get("lon"), data.get("lat"))
    if building:
        row = store.get("buildings", building)
        if row is None:
            raise InvalidInput(f"building {building!r} does not exist")
        p = row["geometry"].representative_point()
        return p.x, p.y
    raise InvalidInput("say where: lon and lat (click the map) or building_id")


def submit(
    store: Store,
    data: Mapping[str, Any],
    *,
    user: Any,
    settings: Mapping[str, Any],
    channel: str = "api",
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Collect a request: validate, route, store it with its first event (one transaction).

    ``data``: ``category``, ``description``, ``lon``/``lat`` or ``building_id``, optional
    ``contact_name``, ``contact_phone``, ``duplicate_of`` (the resident links to an open request), and for
    staff entering on a resident's behalf ``channel`` ``visit`` or ``phone``. Every field is checked by
    :func:`gridmap.domain.complaints.validate_intake` (the one intake check of the form, the JSON API and
    Open311: lengths, phone format). The new request is written to the audit log (``complaint.create``).

    Returns the stored record (staff view) with ``route`` reasons and nearby ``duplicates``.
    """
    now = _now(now)
    policy = policy_from(settings)
    fields = C.validate_intake(data)
    channel = fields["channel"] or channel
    if channel in ("visit", "phone") and getattr(user, "role", "public") not in STAFF_ROLES:
        raise Forbidden(
            "只有网格员和工作人员可以代录诉求 / only grid leaders and officials enter "
            "requests on a resident's behalf (visit, phone)"
        )
    category = fields["category"]
    lon, lat = _locate(store, data, fields["building_id"])
    route = route_at(store, lon, lat, category=category, policy=policy)
    dup_of = fields["duplicate_of"]
    actor = _actor(user)
    # validate before taking a number, so a refused request uses none (ComplaintError is a 400)
    rec, event = C.new_complaint(
        id="",
        category=category,
        description=fields["description"] or "",
        at=now,
        channel=channel,
        lon=lon,
        lat=lat,
        actor=actor,
        policy=policy,
        route=route,
        contact_name=fields["contact_name"],
        contact_phone=fields["contact_phone"],
    )
    if dup_of is not None:
        other = store.get("complaints", dup_of)
        if other is None or not C.is_open(other["state"]):
            raise InvalidInput(f"duplicate_of {dup_of!r} is not an open request")
    rec["duplicate_of"] = dup_of
    # The number is taken on its own (atomic, unique under concurrent writers), not inside the transaction:
    # there it would hold the sequence row's lock until commit and queue every other submission behind it.
    cid = f"{clock.local(now, policy.zone):%Y}{store.next_id('complaint'):06d}"  # the year where it was filed
    rec["id"] = event["complaint_id"] = cid
    row, events = _rows(rec, [event])
    with store.transaction():  # the request, its first event and the audit entry, all or none
        store.write_rows("complaints", [row])
        store.write_rows("complaint_events", events)
        audit.record(
            store,
            user if getattr(user, "username", None) else None,
            "complaint.create",
            f"complaint:{cid}",
            {
                "channel": channel,
                "category": category,
                "actor": actor,
                "fields": sorted(k for k in ("description", "contact_name", "contact_phone") if rec.get(k)),
            },
        )
    out = staff_view(rec)
    out["route"] = {
        "reasons": list(route.reasons),
        "grid_leader_id": route.grid_leader_id,
        "property_steward_id": route.property_steward_id,
        "departments": list(route.departments),
        "agency_responsible": route.agency(),
    }
    out["duplicates"] = duplicates_near(store, lon=lon, lat=lat, category=category, settings=settings, exclude=cid)
    return out


def map_extent(store: Store, community: str | None) -> tuple[list[dict[str, str]], str | None, Any]:
    """Communities to zoom the intake map to, the chosen one (if it exists) and its lon/lat bbox."""
    com = store.read("communities", columns=["id", "name", "geometry"], order_by=["id"])
    options = [{"id": str(i), "name": str(n)} for i, n in zip(com["id"], com["name"])]
    if not community or community not in set(com["id"].astype(str)):
        return options, None, None
    geom = com.loc[com["id"].astype(str) == community, "geometry"].iloc[0]
    return options, community, tuple(float(v) for v in geom.bounds)
