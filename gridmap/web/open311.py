"""Open311 GeoReport v2 under ``/open311/v2/``: discovery, services, service definitions, requests (GET with
the spec's filters, POST) and one request; every path in ``.json`` and ``.xml``.

Our states map to ``open``/``closed`` by their type; ``status_notes`` carries the latest reply staff gave the
resident (答复, phone and ID numbers masked; empty when none; never an internal note),
``agency_responsible`` the routed department and grid, ``expected_datetime`` the SLA due time. Times are
W3C with the offset of the service's zone (``GRIDMAP_TIMEZONE``: +08:00 in Asia/Shanghai); ``start_date`` and
``end_date`` without an offset are times in that zone. Anyone may file and follow a request by
id; personal fields (description, address id) are shown only to staff whose area holds the request (a
planner sees the description with phone and ID numbers masked), coordinates to other staff are rounded to
about 100 m, and the public gets no location and no grid at all (docs/security.md, "Small counts"). Every
response that carries them is written to the audit log (``complaints.read``, issue #7), as the other APIs do.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request, url_for

from gridmap import clock
from gridmap.domain import complaints as C
from gridmap.domain import privacy
from gridmap.errors import Forbidden, InvalidInput, NotFoundError
from gridmap.services import complaints as svc
from gridmap.services.accounts import user_for_token
from gridmap.services.complaints.records import _isna
from gridmap.store import Range, audit
from gridmap.web.access import User, allow, current_user
from gridmap.web.complaint_models import Open311Query, Open311RequestIn, Open311RequestsQuery, w3c_time
from gridmap.web.context import get_store, zone
from gridmap.web.limits import limit
from gridmap.web.openapi import OBJ, arr, describe, obj, op, param
from gridmap.web.schemas import body, query

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

FORMATS = ("json", "xml")
MAX_DAYS = 90


# -- plumbing -----------------------------------------------------------------------------------------------
def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFoundError(f"format .{fmt} is not offered; use .json or .xml")
    return fmt


def _respond(data: Any, fmt: str, root: str, item: str | None = None, status: int = 200) -> Response:
    if fmt == "json":
        resp = jsonify(data)
        resp.status_code = status
        return resp
    return Response(_xml(data, root, item), status=status, mimetype="text/xml")


def _xml(data: Any, root: str, item: str | None) -> bytes:
    top = ET.Element(root)
    if isinstance(data, list):
        for row in data:
            _fill(ET.SubElement(top, item or "item"), row)
    else:
        _fill(top, data)
    return ET.tostring(top, encoding="utf-8", xml_declaration=True)


def _fill(node: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if isinstance(v, list) and k in _LIST_ITEMS:
                child = ET.SubElement(node, k)
                for x in v:
                    _fill(ET.SubElement(child, _LIST_ITEMS[k]), x)
            else:
                _fill(ET.SubElement(node, k), v)
    elif value is None:
        node.text = ""
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    else:
        node.text = str(value)


_LIST_ITEMS = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute", "values": "value"}


def _settings() -> Mapping[str, Any]:
    return current_app.config["GRIDMAP_SETTINGS"]


def _w3c(v: Any) -> str | None:
    """A time (naive means UTC) as W3C text on the service's clocks: ``2026-12-04T06:04:55+08:00``."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return clock.local(pd.Timestamp(v), zone()).replace(microsecond=0).isoformat()


def _parse_w3c(raw: str | None) -> dt.datetime | None:
    """A W3C time from a query (aware UTC); without an offset it is a time in the service's zone."""
    if not raw:
        return None
    t = w3c_time(raw)
    return clock.utc(t if t.tzinfo else clock.at_local(t.date(), t.time(), zone()))


# -- discovery and services -------------------------------------------------------------------------------
@bp.get("/discovery.<fmt>")
@allow("public")
@query(Open311Query)
def discovery(fmt: str, query: Open311Query):
    fmt = _fmt(fmt)
    base = url_for("open311.services", fmt="json", _external=True).rsplit("/", 1)[0] + "/"
    data = {
        "changeset": "2025-01-01T00:00:00+08:00",
        "contact": "网格化治理平台 gridmap",
        "key_service": "API keys: ask the district administrator (gridmap users token)",
        "endpoints": [
            {
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": base,
                "changeset": "2025-01-01T00:00:00+08:00",
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }
    return _respond(data, fmt, "discovery")


def _service(cat: dict[str, Any]) -> dict[str, Any]:
    depts = "、".join(d["zh"] for d in cat["departments"])
    return {
        "service_code": cat["code"],
        "service_name": cat["zh"],
        "description": f"{cat['en']}; 承办 {depts}; 时限 {cat['sla_days']} 个工作日",
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(cat["keywords"]),
        "group": cat["group"],
    }


@bp.get("/services.<fmt>")
@allow("public")
@query(Open311Query)
def services(fmt: str, query: Open311Query):
    fmt = _fmt(fmt)
    return _respond([_service(c) for c in svc.categories_catalogue(_settings())], fmt, "services", "service")


@bp.get("/services/<code>.<fmt>")
@allow("public")
@query(Open311Query)
def service_definition(code: str, fmt: str, query: Open311Query):
    fmt = _fmt(fmt)
    if code not in C.CATEGORIES:
        raise NotFoundError(f"service_code {code!r} does not exist; see services.{fmt}")
    return _respond({"service_code": code, "attributes": []}, fmt, "service_definition")


# -- requests ---------------------------------------------------------------------------------------------
def _caller(*keys: str | None) -> User:
    """The signed-in user, or the owner of ``api_key`` (the first of ``keys`` given: a gridmap API token,
    checked like a bearer token: unknown, revoked, expired or of a disabled user → 403), or anonymous."""
    user = current_user()
    key = next((k for k in keys if k), None)
    if user.authenticated or not key:
        return user
    row = user_for_token(get_store(), key)
    if row is None:
        raise Forbidden("api_key is not valid / API 密钥无效")
    return User(id=row["id"], username=row["username"], role=row["role"], scope=row.get("scope") or {}, via="token")


def _as_request(
    view: Mapping[str, Any], user: User, grid: str | None = None, replies: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One request in GeoReport v2 shape for ``user``.

    Staff whose area holds it: description (planners: masked) and address id, exact location, the grid in
    ``agency_responsible``. Other staff: no personal field, no building, location rounded to ~100 m. The
    public (and viewers): no location and no area at all — only the department — since listing single
    requests with any area attached would publish that area's exact small counts (docs/security.md,
    "Small counts").
    """
    cat = C.CATEGORIES.get(view["category"])
    state = C.STATES[view["state"]]
    staff = user.role not in privacy.AGGREGATE_ONLY
    full = staff and svc.in_scope(user, view, grid)
    description = view.get("description") if full else None
    if full and user.role == "planner":  # planners see personal fields masked (gridmap.domain.privacy)
        description = privacy.mask_value("description", description)
    dept = C.DEPARTMENTS.get(view.get("department") or "")
    grid_part = f"网格 {view['filed_grid_code']}" if staff and view.get("filed_grid_code") else None
    agency = " / ".join(x for x in ((dept.zh if dept else None), grid_part) if x)
    lat, lon = view.get("lat"), view.get("lon")
    if not staff:
        lat = lon = None
    elif not full and lat is not None and lon is not None:
        lat, lon = round(float(lat), 3), round(float(lon), 3)
    # status_notes: the latest reply to the resident (答复), phone and ID numbers masked; empty when none yet
    notes = privacy.redact_text((replies or {}).get(str(view["id"]))) or ""
    return {
        "service_request_id": view["id"],
        "status": state.type,
        "status_notes": notes,
        "service_name": cat.zh if cat else view["category"],
        "service_code": view["category"],
        "description": description,
        "agency_responsible": agency or None,
        "service_notice": _notice(view["category"]),
        "requested_datetime": _w3c(view.get("created_at")),
        "updated_datetime": _w3c(view.get("updated_at")),
        "expected_datetime": _w3c(view.get("due_at")),
        "address": None,
        "address_id": view.get("building_id") if full else None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": None,
    }


def _notice(code: str) -> str | None:
    try:
        days = svc.policy_from(_settings()).sla_for(code)
    except Exception:
        return None
    return f"{days} 个工作日内办理 / handled within {days} working days"


def _replies(ids: list[str]) -> dict[str, str]:
    """Each request's latest reply to the resident (:func:`gridmap.domain.complaints.latest_reply`), by id."""
    if not ids:
        return {}
    ev = get_store().read("complaint_events", where={"complaint_id": ids}, columns=["complaint_id", "seq", "reply"])
    ev = ev[ev["reply"].notna()]
    out: dict[str, str] = {}
    for cid, rows in ev.groupby("complaint_id"):
        last = C.latest_reply(rows.to_dict("records"))
        if last:
            out[str(cid)] = last["reply"]
    return out


def _views(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [svc.staff_view({k: (None if _isna(v) else v) for k, v in r.items()}) for r in frame.to_dict("records")]


def _split(raw: str | None) -> list[str]:
    return [x.strip() for x in (raw or "").split(",") if x.strip()]


@bp.get("/requests.<fmt>")
@allow("public")
@query(Open311RequestsQuery)
def requests_index(fmt: str, query: Open311RequestsQuery):
    fmt = _fmt(fmt)
    user = _caller(query.api_key)
    store = get_store()
    ids = _split(query.service_request_id)
    if ids:
        frame = store.read("complaints", ids=ids)
    else:
        where: dict[str, Any] = {}
        codes = _split(query.service_code)
        if codes:
            where["category"] = codes
        statuses = _split(query.status)
        if statuses:
            where["state"] = [s for s, st in C.STATES.items() if st.type in statuses]
        end = _parse_w3c(query.end_date)
        start = _parse_w3c(query.start_date)
        if start is None:
            if end is None:
                end = clock.now()
            start = end - dt.timedelta(days=MAX_DAYS)
        elif end is None:
            end = start + dt.timedelta(days=MAX_DAYS)
        if end < start:
            raise InvalidInput("end_date is before start_date")
        if end - start > dt.timedelta(days=MAX_DAYS):
            raise InvalidInput(f"a search may span at most {MAX_DAYS} days")
        where["created_at"] = Range(start, end, hi_inclusive=True)
        frame = store.read("complaints", where=where, order_by=["-created_at"], limit=1000)
    views = _views(frame)
    replies = _replies([str(v["id"]) for v in views])
    data = [_as_request(v, user, replies=replies) for v in views]
    _audit_read(user, "open311:requests", data)
    return _respond(data, fmt, "service_requests", "request")


@bp.get("/requests/<rid>.<fmt>")
@allow("public")
@query(Open311Query)
def requests_show(rid: str, fmt: str, query: Open311Query):
    fmt = _fmt(fmt)
    user = _caller(query.api_key)
    frame = get_store().read("complaints", ids=[rid])
    if not len(frame):
        raise NotFoundError(f"service_request_id {rid!r} does not exist")
    data = [_as_request(v, user, replies=_replies([rid])) for v in _views(frame)]
    _audit_read(user, f"complaint:{rid}", data)
    return _respond(data, fmt, "service_requests", "request")


#: Open311 fields that carry a request's personal data (shown only to staff whose area holds it)
PERSONAL_FIELDS = ("description", "address_id")


def _audit_read(user: User, target: str, data: list[dict[str, Any]]) -> None:
    """Write ``complaints.read`` to the audit log when any personal field left in ``data``."""
    rows = [r for r in data if any(r.get(f) is not None for f in PERSONAL_FIELDS)]
    if rows:
        shown = sorted({f for r in rows for f in PERSONAL_FIELDS if r.get(f) is not None})
        audit.record(
            get_store(),
            user,
            "complaints.read",
            target,
            {
                "rows": len(rows),
                "fields": shown,
                "ids": [r["service_request_id"] for r in rows][:50],
                "via": "open311",
                "ip": request.remote_addr,
            },
        )


@bp.post("/requests.<fmt>")
@allow("public")
@limit("intake")
@query(Open311Query)
@body(Open311RequestIn, form="api")
def requests_create(fmt: str, query: Open311Query, body: Open311RequestIn):
    fmt = _fmt(fmt)
    user = _caller(body.api_key, query.api_key)
    if body.address_string and not (body.lat is not None or body.address_id):
        raise InvalidInput("address_string alone cannot be placed: give lat and long, or address_id (a building id)")
    data = {
        "category": body.service_code,
        "description": body.description,
        "lon": body.long,
        "lat": body.lat,
        "building_id": body.address_id,
        "contact_name": body.contact_name,
        "contact_phone": body.phone,
        "channel": "open311",
    }
    if not data["category"]:
        raise InvalidInput("service_code is required")
    if data["category"] not in C.CATEGORIES:
        raise NotFoundError(f"service_code {data['category']!r} does not exist")
    out = svc.submit(get_store(), data, user=user, settings=_settings(), channel="open311")
    answer = [{"service_request_id": out["id"], "service_notice": _notice(out["category"]), "account_id": None}]
    return _respond(answer, fmt, "service_requests", "request", status=201)


# -- the OpenAPI description (gridmap.web.openapi) ---------------------------------------------------------
FMT = param("fmt", schema={"type": "string", "enum": list(FORMATS)}, description="json or xml")
_TEXT = {"type": ["string", "null"]}
_REQUEST = obj(
    ("service_request_id", "status", "service_code"),
    service_request_id={"type": "string"},
    status={"type": "string", "enum": ["open", "closed"]},
    status_notes=_TEXT,
    service_name=_TEXT,
    service_code={"type": "string"},
    description=_TEXT,
    agency_responsible=_TEXT,
    service_notice=_TEXT,
    requested_datetime=_TEXT,
    updated_datetime=_TEXT,
    expected_datetime=_TEXT,
    address=_TEXT,
    address_id=_TEXT,
    zipcode=_TEXT,
    lat={"type": ["number", "null"]},
    long={"type": ["number", "null"]},
    media_url=_TEXT,
)
#: GeoReport v2's error list (``[{"code", "description"}]``; XML for ``.xml``), not the API's Error
GEOREPORT_ERRORS = {
    "description": "error (GeoReport v2 error list)",
    "content": {
        "application/json": {"schema": arr(obj(("code", "description"), code={"type": "integer"}, description=_TEXT))},
        "text/xml": {"schema": {"type": "string"}},
    },
}


def _answer(ok: Any, status: int = 200) -> dict[str, Any]:
    return {
        str(status): {
            "description": "ok (.json: JSON, .xml: XML)",
            "content": {"application/json": {"schema": ok}, "text/xml": {"schema": {"type": "string"}}},
        }
    }


_SERVICE = obj(("service_code", "service_name"), service_code={"type": "string"}, service_name={"type": "string"})
_O311: dict[str, Any] = dict(role="public", tag="open311", errors=GEOREPORT_ERRORS)
for _path, _method, _op in (
    (
        "/open311/v2/discovery.{fmt}",
        "get",
        op("GeoReport v2 discovery", view=discovery, params=(FMT,), responses=_answer(OBJ), **_O311),
    ),
    (
        "/open311/v2/services.{fmt}",
        "get",
        op(
            "The services (complaint categories)",
            view=services,
            params=(FMT,),
            responses=_answer(arr(_SERVICE)),
            **_O311,
        ),
    ),
    (
        "/open311/v2/services/{code}.{fmt}",
        "get",
        op(
            "A service's definition (no attributes)",
            view=service_definition,
            params=(param("code"), FMT),
            responses=_answer(
                obj(("service_code", "attributes"), service_code={"type": "string"}, attributes=arr(OBJ))
            ),
            **_O311,
        ),
    ),
    (
        "/open311/v2/requests.{fmt}",
        "get",
        op(
            "Requests by ids, or by service, status and a window of at most 90 days (personal fields and location by "
            "role and area)",
            view=requests_index,
            params=(FMT,),
            responses=_answer(arr(_REQUEST)),
            **_O311,
        ),
    ),
    (
        "/open311/v2/requests/{rid}.{fmt}",
        "get",
        op(
            "One request",
            view=requests_show,
            params=(param("rid", schema={"type": "string", "maxLength": 64}), FMT),
            responses=_answer(arr(_REQUEST)),
            **_O311,
        ),
    ),
    (
        "/open311/v2/requests.{fmt}",
        "post",
        op(
            "File a request (a form; anyone may)",
            view=requests_create,
            params=(FMT,),
            responses=_answer(arr(obj(("service_request_id",), service_request_id={"type": "string"})), 201),
            **_O311,
        ),
    ),
):
    describe(_path, _method, _op)
