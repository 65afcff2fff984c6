"""The OpenAPI 3.0 description of gridmap's JSON API, served at ``/api/openapi.json``.

Every ``/api/…`` route must be described here (a test compares this document with ``app.url_map``),
and the schemathesis suite fuzzes every operation against it. To describe a new route, add an entry to
:data:`PATHS` with :func:`op` — path parameters in ``{braces}``, the success schema, the request body —
or call :func:`describe` from your own module at import time. The error shape is shared:
``{"error": {"status", "code", "message", "detail"?}}``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, jsonify

from gridmap import __version__
from gridmap.web.access import allow

bp = Blueprint("openapi", __name__)

STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
NSTR = {"type": "string", "nullable": True}
NDATETIME = {"type": "string", "format": "date-time", "nullable": True}
ANY: dict[str, Any] = {}


def obj(required: tuple[str, ...] = (), additional: Any = True, **props: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    if additional is not True:
        out["additionalProperties"] = additional
    return out


def arr(items: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
    return {"type": "array", "items": dict(items), **kw}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": obj(("error",), error=obj(("status", "code", "message"), status=INT, code=STR, message=STR, detail=ANY)),
    "Me": obj(
        ("username", "role", "authenticated"),
        username=STR,
        role=STR,
        display_name=NSTR,
        authenticated=BOOL,
        scope={"type": "object", "additionalProperties": arr(STR)},
    ),
    "ApiToken": obj(
        ("id", "user_id"),
        id=STR,
        user_id=STR,
        name=NSTR,
        created_at=NDATETIME,
        expires_at=NDATETIME,
        revoked={"type": "boolean", "nullable": True},
    ),
    "EmbedToken": obj(
        ("id", "view"),
        id=STR,
        created_by=NSTR,
        view=STR,
        scope={"type": "object", "nullable": True},
        layers={"type": "array", "nullable": True},
        created_at=NDATETIME,
        expires_at=NDATETIME,
        revoked={"type": "boolean", "nullable": True},
    ),
    "AuditEntry": obj(
        ("id", "at", "action"),
        id=STR,
        at={"type": "string", "format": "date-time"},
        actor=NSTR,
        action=STR,
        target=NSTR,
        detail={"nullable": True},
    ),
}


def param(
    name: str, where: str = "query", schema: Mapping[str, Any] = STR, *, required: bool = False, description: str = ""
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": dict(schema),
        "description": description,
    }


def op(
    summary: str,
    *,
    role: str,
    ok: Any = None,
    status: int = 200,
    params: tuple = (),
    body: Mapping[str, Any] | None = None,
    tag: str = "api",
    content_type: str = "application/json",
    description: str = "",
) -> dict[str, Any]:
    """One operation: ``role`` is the lowest role let through (``x-gridmap-role``); every error status
    answers with the shared ``Error`` schema (the ``default`` response)."""
    responses: dict[str, Any] = {}
    if status == 204:
        responses["204"] = {"description": "done"}
    else:
        responses[str(status)] = {
            "description": "ok",
            "content": {content_type: {"schema": ok if ok is not None else {}}},
        }
    responses["default"] = {"description": "error", "content": {"application/json": {"schema": ref("Error")}}}
    out: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "x-gridmap-role": role,
        "parameters": list(params),
        "responses": responses,
    }
    if description:
        out["description"] = description
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": dict(body)}}}
    if role == "public":
        out["security"] = [{}, {"bearer": []}, {"session": []}]
    return out


TOKEN_ID = param("token_id", "path", {"type": "string", "maxLength": 64})

PATHS: dict[str, dict[str, Any]] = {
    "/api/openapi.json": {"get": op("This document", role="public", tag="meta", ok={"type": "object"})},
    "/api/me": {"get": op("Who am I (role and scope)", role="public", tag="accounts", ok=ref("Me"))},
    "/api/tokens": {
        "get": op(
            "My API tokens (never their secrets)",
            role="viewer",
            tag="accounts",
            ok=obj(("tokens",), tokens=arr(ref("ApiToken"))),
        ),
        "post": op(
            "Issue an API token for myself; the secret is shown once",
            role="viewer",
            tag="accounts",
            status=201,
            ok=obj(("id", "token"), id=STR, token=STR, note=STR),
            body=obj(
                name={"type": "string", "maxLength": 100, "nullable": True},
                days={"type": "integer", "minimum": 1, "maximum": 366, "nullable": True},
                additional=False,
            ),
        ),
    },
    "/api/tokens/{token_id}": {
        "delete": op(
            "Revoke one of my API tokens (admin: anyone's)",
            role="viewer",
            tag="accounts",
            status=204,
            params=(TOKEN_ID,),
        ),
    },
    "/api/embed-tokens": {
        "get": op(
            "Embed tokens issued so far",
            role="planner",
            tag="embeds",
            ok=obj(("embeds",), embeds=arr(ref("EmbedToken"))),
        ),
        "post": op(
            "Issue a signed embed token for a view, grids and layers",
            role="planner",
            tag="embeds",
            status=201,
            ok=obj(
                ("id", "token", "view", "expires_at"),
                id=STR,
                token=STR,
                view=STR,
                grids=arr(STR),
                layers=arr(STR),
                origin=STR,
                expires_at={"type": "string", "format": "date-time"},
            ),
            body=obj(
                view={"type": "string", "enum": ["map", "grid", "stats"]},
                origin={"type": "string", "maxLength": 200},
                grids=arr({"type": "string", "pattern": "^[0-9]{6}([0-9]{3}){0,3}$"}, maxItems=500),
                layers=arr({"type": "string", "maxLength": 40}, maxItems=50),
                hours={"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 8784},
                additional=False,
            ),
        ),
    },
    "/api/embed-tokens/{token_id}": {
        "delete": op("Revoke an embed token", role="planner", tag="embeds", status=204, params=(TOKEN_ID,)),
    },
    "/api/audit": {
        "get": op(
            "The audit log, newest first",
            role="admin",
            tag="accounts",
            params=(
                param("actor"),
                param("action"),
                param("target"),
                param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                param("offset", schema={"type": "integer", "minimum": 0}),
            ),
            ok=obj(("entries",), entries=arr(ref("AuditEntry"))),
        ),
    },
}


# -- the planner (gridmap.web.planner, issue #8) ------------------------------------------------------
DRAFT = param("draft", "path", {"type": "string", "maxLength": 64})
IDS = arr({"type": "string", "maxLength": 64}, maxItems=5000)
OBJ = {"type": "object"}
_P: dict[str, Any] = dict(role="planner", tag="planner", ok=OBJ)

PATHS.update(
    {
        "/api/planner/plans": {"get": op("Plans and the published one", **_P)},
        "/api/planner/drafts": {
            "post": op(
                "Start a draft from a plan (default: the published one)",
                status=201,
                body=obj(base=NSTR, note=NSTR),
                **_P,
            )
        },
        "/api/planner/drafts/{draft}": {
            "get": op(
                "A draft's grids, figures and history",
                params=(DRAFT, param("community", schema={"type": "string", "maxLength": 12})),
                **_P,
            )
        },
        "/api/planner/drafts/{draft}/move": {
            "post": op(
                "Move buildings to a grid",
                params=(DRAFT,),
                body=obj(("buildings", "to_grid"), buildings=IDS, to_grid=STR),
                **_P,
            )
        },
        "/api/planner/drafts/{draft}/merge": {
            "post": op("Merge grids", params=(DRAFT,), body=obj(("grids",), grids=IDS), **_P)
        },
        "/api/planner/drafts/{draft}/split": {
            "post": op(
                "Split a grid (optionally: these buildings leave it)",
                params=(DRAFT,),
                body=obj(("grid",), grid=STR, buildings=IDS),
                **_P,
            )
        },
        "/api/planner/drafts/{draft}/lock": {
            "post": op(
                "Lock or unlock grids against rebalancing",
                params=(DRAFT,),
                body=obj(("grids",), grids=IDS, locked=BOOL),
                **_P,
            )
        },
        "/api/planner/drafts/{draft}/undo": {"post": op("Undo the last change", params=(DRAFT,), **_P)},
        "/api/planner/drafts/{draft}/redo": {"post": op("Redo", params=(DRAFT,), **_P)},
        "/api/planner/drafts/{draft}/rebalance": {
            "post": op(
                "Minimal-change rebalance of one community of the draft (or all)",
                params=(DRAFT,),
                body=obj(allow_new_grids=BOOL, community={"type": "string", "maxLength": 12}),
                **_P,
            )
        },
        "/api/planner/drafts/{draft}/review": {
            "get": op("What publishing would bring into force", params=(DRAFT,), **_P)
        },
        "/api/planner/drafts/{draft}/publish": {
            "post": op(
                "Publish the draft",
                params=(DRAFT,),
                body=obj(
                    effective_date={"type": "string", "format": "date", "nullable": True},
                    override_reason={"type": "string", "maxLength": 500},
                ),
                **_P,
            )
        },
        "/api/planner/rollback": {
            "post": op(
                "Publish an earlier plan again",
                body=obj(("plan",), plan=STR, effective_date={"type": "string", "format": "date", "nullable": True}),
                **_P,
            )
        },
        "/api/planner/diff": {
            "get": op(
                "What changed between two plans",
                params=(param("old", required=True), param("new", required=True)),
                **_P,
            )
        },
        "/api/planner/plans/{plan_id}/export": {
            "get": {
                **op(
                    "Download a plan (gpkg, geojson, zipped shp, csv)",
                    role="planner",
                    tag="planner",
                    params=(
                        param("plan_id", "path", {"type": "string", "maxLength": 64}),
                        param("format", schema={"type": "string", "enum": ["gpkg", "geojson", "shp", "csv"]}),
                    ),
                ),
                "responses": {
                    "200": {
                        "description": "the file",
                        "content": {
                            "application/geopackage+sqlite3": {"schema": {"type": "string", "format": "binary"}},
                            "application/geo+json": {"schema": {"type": "string", "format": "binary"}},
                            "application/zip": {"schema": {"type": "string", "format": "binary"}},
                            "text/csv": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    "default": {"description": "error", "content": {"application/json": {"schema": ref("Error")}}},
                },
            }
        },
        "/api/planner/import": {
            "post": {
                **op("Import a plan file as a new draft", status=201, **_P),
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {"schema": obj(("file",), file={"type": "string", "format": "binary"})}
                    },
                },
            }
        },
    }
)


# -- complaints and KPI (gridmap.web.complaints, gridmap.web.kpi, issue #6) --------------------------------
CID = param("cid", "path", {"type": "string", "maxLength": 40})
LONLAT = (
    param("lon", schema=NUM, required=True),
    param("lat", schema=NUM, required=True),
    param("category", schema={"type": "string", "maxLength": 40}, required=True),
)
COMPLAINT_IN = obj(
    ("category",),
    category={"type": "string", "maxLength": 40},
    description={"type": "string", "maxLength": 2000},
    lon={"type": "number", "minimum": -180, "maximum": 180},
    lat={"type": "number", "minimum": -90, "maximum": 90},
    building_id={"type": "string", "maxLength": 64},
    contact_name={"type": "string", "maxLength": 50},
    contact_phone={"type": "string", "maxLength": 30},
    duplicate_of={"type": "string", "maxLength": 40, "nullable": True},
    channel={"type": "string", "enum": ["api", "map", "visit", "phone"]},
)
_C: dict[str, Any] = dict(tag="complaints", ok=OBJ)

PATHS.update(
    {
        "/api/complaints/categories": {
            "get": op("Complaint categories, departments, time limits", role="public", tag="complaints", ok=arr(OBJ))
        },
        "/api/complaints/route": {
            "get": op("Which grid and department a request here would go to", role="public", params=LONLAT, **_C)
        },
        "/api/complaints/duplicates": {
            "get": op(
                "Open requests of the category nearby (ids and distances)",
                role="public",
                tag="complaints",
                params=LONLAT,
                ok=arr(OBJ),
            )
        },
        "/api/complaints": {
            "post": op(
                "File a request (public: the answer carries no personal fields)",
                role="public",
                status=201,
                body=COMPLAINT_IN,
                **_C,
            ),
            "get": op(
                "Requests in my area, newest first (personal fields masked by role and scope)",
                role="department",
                params=(
                    param("state"),
                    param("category"),
                    param("department"),
                    param("grid"),
                    param("community_id"),
                    param("overdue", schema={"type": "string", "enum": ["true", "false"]}),
                    param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                    param("offset", schema={"type": "integer", "minimum": 0}),
                ),
                tag="complaints",
                ok=obj(("items",), total=INT, limit=INT, offset=INT, items=arr(OBJ)),
            ),
        },
        "/api/complaints/{cid}": {
            "get": op("One request with its events (read is audited)", role="department", params=(CID,), **_C)
        },
        "/api/complaints/{cid}/events": {
            "get": op("A request's transitions", role="department", params=(CID,), tag="complaints", ok=arr(OBJ))
        },
        "/api/complaints/{cid}/transitions": {
            "post": op(
                "Move a request to another state",
                role="department",
                params=(CID,),
                body=obj(("to",), to={"type": "string", "maxLength": 40}, note={"type": "string", "maxLength": 2000}),
                **_C,
            )
        },
        "/api/complaints/escalate": {
            "post": op("Escalate every overdue open request (督办)", role="street_official", **_C)
        },
        "/api/kpi": {
            "get": op(
                "Response, resolution and satisfaction rates per grid, community, street "
                '(counts 1-4 shown as "<5" to public and viewer callers)',
                role="public",
                params=(param("year", schema={"type": "integer", "minimum": 1990, "maximum": 2100}),),
                **_C,
            )
        },
        "/api/kpi.csv": {
            "get": op(
                "The KPI table as CSV",
                role="public",
                tag="complaints",
                content_type="text/csv",
                ok={"type": "string"},
                params=(
                    param("year", schema={"type": "integer", "minimum": 1990, "maximum": 2100}),
                    param("level", schema={"type": "string", "enum": ["grid", "community", "street"]}),
                ),
            )
        },
    }
)


# -- placement and coverage (gridmap.web.api_place, issue #4) ----------------------------------------------
PATHS.update(
    {
        "/api/place/{kind}": {
            "post": op(
                "Place records of a layer on buildings (GeoJSON FeatureCollection body or multipart file)",
                role="planner",
                tag="placement",
                ok=OBJ,
                params=(
                    param(
                        "kind",
                        "path",
                        {"type": "string", "enum": ["households", "stewards", "complaints", "merchants", "facilities"]},
                    ),
                    param("tolerance", schema={"type": "number", "minimum": 0, "maximum": 10000}),
                    param("dry_run", schema={"type": "string", "enum": ["0", "1", "true", "false"]}),
                ),
                body=obj(
                    ("type", "features"), type={"type": "string", "enum": ["FeatureCollection"]}, features=arr(OBJ)
                ),
            )
        },
        "/api/coverage": {
            "get": op(
                "Steward and red-property coverage as JSON (?format=csv&table=…&level=… "
                "gives one table as CSV, see docs/placement.md)",
                role="viewer",
                tag="placement",
                ok=OBJ,
            )
        },
    }
)


def describe(path: str, method: str, operation: Mapping[str, Any], *, schemas: Mapping[str, Any] | None = None) -> None:
    """Add one operation (made with :func:`op`) and any component ``schemas`` it refers to."""
    PATHS.setdefault(path, {})[method.lower()] = dict(operation)
    SCHEMAS.update(schemas or {})


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridmap API",
            "version": __version__,
            "description": "网格化治理 API. Errors share one shape (schema Error). Sign in with a "
            "bearer token (`gridmap users token`) or the session cookie of /login.",
        },
        "servers": [{"url": "/"}],
        "paths": copy.deepcopy(PATHS),
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }


@bp.get("/api/openapi.json")
@allow("public")
def openapi_json():
    return jsonify(document())
