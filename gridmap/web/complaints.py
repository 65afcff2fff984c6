"""Complaint intake form and JSON API (``/complaints/new``, ``/api/complaints`` …); views call the service."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from gridmap.domain import privacy
from gridmap.domain.complaints import DEPARTMENTS, STATES
from gridmap.errors import InvalidInput
from gridmap.services import complaints as svc
from gridmap.services.maps import grid as map_grid
from gridmap.store import audit
from gridmap.web.access import allow, current_user
from gridmap.web.assets import basemap_layers, basemap_shift
from gridmap.web.complaint_models import (
    ComplaintDueIn,
    ComplaintIn,
    ComplaintMoveIn,
    ComplaintReplyIn,
    ListQuery,
    WhereQuery,
)
from gridmap.web.context import get_store, select_locale, status_url
from gridmap.web.limits import limit
from gridmap.web.openapi import OBJ, arr, describe, op, param
from gridmap.web.pages import _padded, map_parts
from gridmap.web.schemas import body, query

bp = Blueprint("complaints", __name__)


def _settings() -> dict[str, Any]:
    return current_app.config["GRIDMAP_SETTINGS"]


def _int_arg(name: str, default: int, *, lo: int = 0, hi: int = 1000) -> int:
    raw = request.args.get(name)
    try:
        value = default if raw in (None, "") else int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def layout() -> Any:
    """The maps engineer's ``base.html`` when present, else the complaints pages' own small layout."""
    return current_app.jinja_env.select_template(["base.html", "complaints/_layout.html"])


@bp.get("/complaints/new")
@allow("public")
def intake_form():
    """The intake form beside a map (the app's Leaflet map, served locally): click or locate to place."""
    user = current_user()
    store = get_store()
    communities, community, bbox = svc.map_extent(store, request.args.get("community"))
    extent = _padded(bbox) if bbox else map_grid.extent(store)
    m = map_parts(  # a resident's map: estates and buildings by name, no grid load colours
        layers=("streets", "communities", "estates", "buildings"),
        bounds=extent,
        controls={"search": True, "locate": True, "linkGrids": False, "resident": True},
        link_grids=False,
    )
    shift = basemap_shift(current_app.config) if basemap_layers(current_app.config) else None
    en = select_locale() == "en"
    categories = svc.categories_catalogue(_settings())
    return render_template(
        "complaints/new.html",
        layout=layout(),
        user=user,
        en=en,
        categories=categories,
        communities=communities,
        community=community,
        staff=user.role in svc.STAFF_ROLES,
        map=m,
        shift=shift or "",
        empty=extent is None,
        departments={k: (d.en if en else d.zh) for k, d in DEPARTMENTS.items()},
        # a nearby request offered for linking is named by number, category and state (no personal field)
        names={
            "categories": {c["code"]: c["en"] if en else c["zh"] for c in categories},
            "states": {k: st.en if en else st.zh for k, st in STATES.items()},
        },
    )


@bp.get("/complaints")
@allow("department", "grid_leader")
def work_list():
    """The staff work list: requests in the caller's area, newest first, each with the moves it allows."""
    filters = {k: request.args[k] for k in ("state", "category", "overdue") if request.args.get(k)}
    limit, offset = _int_arg("limit", 30, lo=1, hi=200), _int_arg("offset", 0, hi=10**9)
    # 我的待办: open requests by default, earliest time limit (so overdue) first; state=all shows closed too
    out = svc.work_list(
        get_store(), user=current_user(), filters=filters, limit=limit, offset=offset, number=building_number
    )
    out["items"] = [_personal(item, None) for item in out["items"]]
    _audit_read("complaints:list", out["items"])
    return render_template(
        "complaints/list.html",
        layout=layout(),
        page=out,
        filters=filters,
        en=select_locale() == "en",
        open_states=svc.open_states(),
    )


def building_number(n: str) -> str:
    """A building's number as its card writes it, in the page's language (2号楼, Building 2)."""
    return _("%(n)s号楼", n=n)


@bp.get("/api/complaints/categories")
@allow("public")
def categories():
    return jsonify(svc.categories_catalogue(_settings()))


@bp.get("/api/complaints/route")
@allow("public")
@query(WhereQuery)
def route_preview(query: WhereQuery):
    return jsonify(
        svc.route_preview(get_store(), lon=query.lon, lat=query.lat, category=query.category, settings=_settings())
    )


@bp.get("/api/complaints/duplicates")
@allow("public")
@query(WhereQuery)
def duplicates(query: WhereQuery):
    return jsonify(
        svc.duplicates_near(get_store(), lon=query.lon, lat=query.lat, category=query.category, settings=_settings())
    )


@bp.post("/api/complaints")
@allow("public")
@limit("intake")
@body(ComplaintIn, form=True)
def create(body: ComplaintIn):
    user = current_user()
    out = svc.submit(get_store(), body.model_dump(exclude_none=True), user=user, settings=_settings(), channel="api")
    view = (
        out
        if user.role in svc.STAFF_ROLES
        else svc.public_view(out) | {"duplicates": out["duplicates"], "due_at": out["due_at"]}
    )
    view["status_url"] = status_url(out["id"])  # the resident's own page
    return jsonify(view), 201


@bp.get("/api/complaints")
@allow("department", "grid_leader")
@query(ListQuery)
def index(query: ListQuery):
    filters = query.model_dump(exclude_none=True, exclude={"limit", "offset"})
    out = svc.list_complaints(get_store(), user=current_user(), filters=filters, limit=query.limit, offset=query.offset)
    out["items"] = [_personal(item, None) for item in out["items"]]
    _audit_read("complaints:list", out["items"])
    return jsonify(out)


def _personal(rec: dict[str, Any], target: str | None) -> dict[str, Any]:
    """Mask personal fields the way :mod:`gridmap.domain.privacy` says for this user (security, issue #7);
    with a ``target`` the read is written to the audit log."""
    out = privacy.redact_record(rec, "complaints", current_user())
    if target:
        _audit_read(target, [out])
    return out


#: what a read may carry of a resident: the request's personal fields and the notes on its events
READ_FIELDS = (*svc.PERSONAL, "note")


def _audit_read(target: str, items: list[dict[str, Any]]) -> None:
    """``complaints.read`` in the audit log when any personal field (event notes included) left in ``items``:
    who, what, which fields and how many rows — never the values."""
    shown = sorted(
        {k for r in items for k in svc.PERSONAL if r.get(k) is not None}
        | ({"note"} if any(e.get("note") for r in items for e in r.get("events") or ()) else set())
    )
    if shown:
        audit.record(
            get_store(),
            current_user(),
            "complaints.read",
            target,
            {"rows": len(items), "fields": shown, "ip": request.remote_addr},
        )


@bp.get("/api/complaints/<cid>")
@allow("department", "grid_leader")
def show(cid: str):
    view = svc.get_complaint(get_store(), cid, user=current_user())  # shaped for this user by the service
    _audit_read(f"complaint:{cid}", [view])
    return jsonify(view)


@bp.get("/api/complaints/<cid>/events")
@allow("department", "grid_leader")
def events(cid: str):
    out = svc.complaint_events(get_store(), cid, user=current_user())
    _audit_read(f"complaint:{cid}", [{"events": out}])
    return jsonify(out)


@bp.post("/api/complaints/<cid>/transitions")
@allow("department", "grid_leader")
@body(ComplaintMoveIn)
def move(cid: str, body: ComplaintMoveIn):
    move: Any = body.root  # one of the moves (a model per target state)
    changes = move.model_dump(exclude_unset=True)
    target = changes.pop("to")
    out = svc.transition(
        get_store(),
        cid,
        target,
        user=current_user(),
        settings=_settings(),
        changes=changes,
        # preconditions as headers (the offline queue sends both): the version the move was based on (the
        # request's "version"), and a key so a move sent twice is applied once
        if_version=request.headers.get("If-Match") or None,
        key=request.headers.get("Idempotency-Key") or None,
    )
    return jsonify(out)


@bp.post("/api/complaints/<cid>/replies")
@allow("department", "grid_leader")
@body(ComplaintReplyIn)
def reply(cid: str, body: ComplaintReplyIn):
    """Answer the resident without moving the request (回复): ``{"reply": "words the resident reads"}``; an
    ``If-Match`` header (the request's version) as on a move."""
    out = svc.reply(
        get_store(), cid, body.reply, user=current_user(), if_version=request.headers.get("If-Match") or None
    )
    return jsonify(out), 201


@bp.post("/api/complaints/<cid>/due")
@allow("community_official")
@body(ComplaintDueIn)
def change_due(cid: str, body: ComplaintDueIn):
    """Change an open request's time limit (延期): ``{"due_at": "2025-06-30T18:00:00", "note": "why"}``."""
    return jsonify(
        svc.set_due(get_store(), cid, body.due_at, user=current_user(), settings=_settings(), note=body.note)
    )


@bp.post("/api/complaints/escalate")
@allow("street_official")
def escalate():
    return jsonify(svc.escalate_overdue(get_store(), settings=_settings()))


# -- the OpenAPI description -------------------------------------------------------------------------------
CID = param("cid", schema={"type": "string", "maxLength": 40})
_C: dict[str, Any] = dict(tag="complaints", ok=OBJ)

for _path, _method, _op in (
    (
        "/api/complaints/categories",
        "get",
        op(
            "Complaint categories, departments, time limits",
            role="public",
            tag="complaints",
            ok=arr(OBJ),
            view=categories,
        ),
    ),
    (
        "/api/complaints/route",
        "get",
        op("Which grid and department a request here would go to", role="public", view=route_preview, **_C),
    ),
    (
        "/api/complaints/duplicates",
        "get",
        op(
            "Open requests of the category nearby (ids and distances)",
            role="public",
            tag="complaints",
            ok=arr(OBJ),
            view=duplicates,
        ),
    ),
    (
        "/api/complaints",
        "post",
        op(
            "File a request (public: the answer carries no personal fields)",
            role="public",
            status=201,
            view=create,
            **_C,
        ),
    ),
    (
        "/api/complaints",
        "get",
        op(
            "Requests in my area, newest first (personal fields masked by role and scope)",
            role="department",
            tag="complaints",
            view=index,
            ok={
                "type": "object",
                "required": ["items"],
                "properties": {
                    "total": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "offset": {"type": "integer"},
                    "items": arr(OBJ),
                },
            },
        ),
    ),
    (
        "/api/complaints/{cid}",
        "get",
        op("One request with its events (read is audited)", role="department", params=(CID,), view=show, **_C),
    ),
    (
        "/api/complaints/{cid}/events",
        "get",
        op("A request's transitions", role="department", params=(CID,), tag="complaints", ok=arr(OBJ), view=events),
    ),
    (
        "/api/complaints/{cid}/transitions",
        "post",
        op(
            "Move a request to another state (with only what that move may carry)",
            role="department",
            params=(CID,),
            view=move,
            **_C,
        ),
    ),
    (
        "/api/complaints/{cid}/replies",
        "post",
        op(
            "Reply to the resident without moving the request (回复; the resident's status page and Open311 "
            "status_notes show it)",
            role="department",
            params=(CID,),
            status=201,
            view=reply,
            **_C,
        ),
    ),
    (
        "/api/complaints/{cid}/due",
        "post",
        op(
            "Change an open request's time limit (community and street officials of its area; an event and an audit "
            "entry record it)",
            role="community_official",
            params=(CID,),
            view=change_due,
            **_C,
        ),
    ),
    (
        "/api/complaints/escalate",
        "post",
        op("Escalate every overdue open request (督办)", role="street_official", view=escalate, **_C),
    ),
):
    describe(_path, _method, _op)
