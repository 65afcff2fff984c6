"""The OpenAPI 3.0 description of gridmap's JSON API, served at ``/api/openapi.json``.

Every ``/api/…`` route must be described here (a test compares this document with ``app.url_map``),
and the schemathesis suite fuzzes every operation against it. To describe a new route, add an entry to
:data:`PATHS` with :func:`op` — path parameters in ``{braces}``, the success schema, the request body —
or call :func:`describe` from your own module at import time. The error shape is shared:
``{"error": {"status", "code", "message", "detail"?}}``.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

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
    "Error": obj(("error",), error=obj(("status", "code", "message"), status=INT, code=STR, message=STR,
                                       detail=ANY)),
    "Me": obj(("username", "role", "authenticated"), username=STR, role=STR, display_name=NSTR,
              authenticated=BOOL, scope={"type": "object", "additionalProperties": arr(STR)}),
    "ApiToken": obj(("id", "user_id"), id=STR, user_id=STR, name=NSTR, created_at=NDATETIME,
                    expires_at=NDATETIME, revoked={"type": "boolean", "nullable": True}),
    "EmbedToken": obj(("id", "view"), id=STR, created_by=NSTR, view=STR,
                      scope={"type": "object", "nullable": True}, layers={"type": "array", "nullable": True},
                      created_at=NDATETIME, expires_at=NDATETIME,
                      revoked={"type": "boolean", "nullable": True}),
    "AuditEntry": obj(("id", "at", "action"), id=STR, at=STR, actor=NSTR, action=STR, target=NSTR,
                      detail={"nullable": True}),
}


def param(name: str, where: str = "query", schema: Mapping[str, Any] = STR, *, required: bool = False,
          description: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": dict(schema),
            "description": description}


def op(summary: str, *, role: str, ok: Any = None, status: int = 200, params: tuple = (),
       body: Mapping[str, Any] | None = None, tag: str = "api", content_type: str = "application/json",
       description: str = "") -> dict[str, Any]:
    """One operation: ``role`` is the lowest role let through (``x-gridmap-role``); every error status
    answers with the shared ``Error`` schema (the ``default`` response)."""
    responses: dict[str, Any] = {}
    if status == 204:
        responses["204"] = {"description": "done"}
    else:
        responses[str(status)] = {"description": "ok",
                                  "content": {content_type: {"schema": ok if ok is not None else {}}}}
    responses["default"] = {"description": "error", "content": {"application/json": {"schema": ref("Error")}}}
    out: dict[str, Any] = {"summary": summary, "tags": [tag], "x-gridmap-role": role,
                           "parameters": list(params), "responses": responses}
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
        "get": op("My API tokens (never their secrets)", role="viewer", tag="accounts",
                  ok=obj(("tokens",), tokens=arr(ref("ApiToken")))),
        "post": op("Issue an API token for myself; the secret is shown once", role="viewer", tag="accounts",
                   status=201, ok=obj(("id", "token"), id=STR, token=STR, note=STR),
                   body=obj(name={"type": "string", "maxLength": 100, "nullable": True},
                            days={"type": "integer", "minimum": 1, "maximum": 366, "nullable": True},
                            additional=False)),
    },
    "/api/tokens/{token_id}": {
        "delete": op("Revoke one of my API tokens (admin: anyone's)", role="viewer", tag="accounts",
                     status=204, params=(TOKEN_ID,)),
    },
    "/api/embed-tokens": {
        "get": op("Embed tokens issued so far", role="planner", tag="embeds",
                  ok=obj(("embeds",), embeds=arr(ref("EmbedToken")))),
        "post": op("Issue a signed embed token for a view, grids and layers", role="planner", tag="embeds",
                   status=201,
                   ok=obj(("id", "token", "view", "expires_at"), id=STR, token=STR, view=STR,
                          grids=arr(STR), layers=arr(STR), expires_at=STR),
                   body=obj(view={"type": "string", "enum": ["map", "grid", "stats"]},
                            grids=arr({"type": "string", "pattern": "^[0-9]{6}([0-9]{3}){0,3}$"}, maxItems=500),
                            layers=arr({"type": "string", "maxLength": 40}, maxItems=50),
                            hours={"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 8784},
                            additional=False)),
    },
    "/api/embed-tokens/{token_id}": {
        "delete": op("Revoke an embed token", role="planner", tag="embeds", status=204, params=(TOKEN_ID,)),
    },
    "/api/audit": {
        "get": op("The audit log, newest first", role="admin", tag="accounts",
                  params=(param("actor"), param("action"), param("target"),
                          param("limit", schema={"type": "integer", "minimum": 1, "maximum": 1000}),
                          param("offset", schema={"type": "integer", "minimum": 0})),
                  ok=obj(("entries",), entries=arr(ref("AuditEntry")))),
    },
}


def describe(path: str, method: str, operation: Mapping[str, Any], *,
             schemas: Mapping[str, Any] | None = None) -> None:
    """Add one operation (made with :func:`op`) and any component ``schemas`` it refers to."""
    PATHS.setdefault(path, {})[method.lower()] = dict(operation)
    SCHEMAS.update(schemas or {})


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "gridmap API", "version": __version__,
                 "description": "网格化治理 API. Errors share one shape (schema Error). Sign in with a "
                                "bearer token (`gridmap users token`) or the session cookie of /login."},
        "servers": [{"url": "/"}],
        "paths": copy.deepcopy(PATHS),
        "components": {
            "schemas": copy.deepcopy(SCHEMAS),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
        "security": [{"bearer": []}, {"session": []}],
    }


@bp.get("/api/openapi.json")
@allow("public")
def openapi_json():
    return jsonify(document())
