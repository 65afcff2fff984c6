"""The OpenAPI 3.1 description of gridmap's JSON API, served at ``/api/openapi.json``.

Every ``/api/…`` route is described (a test compares this document with ``app.url_map``) and the schemathesis
suite fuzzes every operation against it. A module describes its own routes with :func:`describe` and
:func:`op` after the views: the summary, the lowest role, the path parameters and the success answer. What an
operation *takes* is not written here: ``op(view=…)`` reads the view's ``@query``/``@body`` models
(:mod:`gridmap.web.schemas`) and generates the parameters and the request body from them (pydantic's JSON
Schema, its ``$defs`` moved to ``components/schemas``). Answers are pydantic models too where they have a
fixed shape (``ok=Model``); every error answers with the shared ``Error`` schema
``{"error": {"status", "code", "message", "detail"?}}``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Literal

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict

from gridmap import __version__
from gridmap.web.access import allow
from gridmap.web.schemas import Request, request_of

bp = Blueprint("openapi", __name__)

OPENAPI = "3.1.0"
OBJ: dict[str, Any] = {"type": "object"}
PATHS: dict[str, dict[str, Any]] = {}
SCHEMAS: dict[str, Any] = {}


class ErrorBody(BaseModel):
    model_config = ConfigDict(title="ErrorBody")
    status: int
    code: str
    message: str
    #: for invalid input: ``[{"field", "problem"}, …]``
    detail: Any = None


class Error(BaseModel):
    """The one error shape of the API (:mod:`gridmap.web.errors`)."""

    error: ErrorBody


def obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    """An answer's JSON Schema by hand, where a model would add nothing (other members are allowed)."""
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out


def arr(items: Mapping[str, Any], **kw: Any) -> dict[str, Any]:
    return {"type": "array", "items": dict(items), **kw}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _add_schema(name: str, schema: Mapping[str, Any]) -> None:
    if SCHEMAS.get(name, schema) != schema:
        raise ValueError(f"two different schemas are named {name!r}: rename one of the models")
    SCHEMAS[name] = dict(schema)


def component(model: type[BaseModel], *, mode: Literal["validation", "serialization"] = "validation") -> dict[str, Any]:
    """``model`` as a component schema (with the models it uses); returns the ``$ref`` to it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
    for name, sub in schema.pop("$defs", {}).items():
        _add_schema(name, sub)
    _add_schema(model.__name__, schema)
    return ref(model.__name__)


def schema_of(value: Any, *, mode: Literal["validation", "serialization"] = "serialization") -> dict[str, Any]:
    """A schema given as a pydantic model (made a component) or as a JSON Schema dict (copied)."""
    if isinstance(value, type) and issubclass(value, BaseModel):
        return component(value, mode=mode)
    return dict(value) if value is not None else {}


def param(
    name: str,
    where: str = "path",
    schema: Mapping[str, Any] | None = None,
    *,
    required: bool = False,
    description: str = "",
) -> dict[str, Any]:
    """A path parameter (query parameters come from the view's ``@query`` model)."""
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": dict(schema or {"type": "string"}),
        "description": description,
    }


def _query_schema(prop: Mapping[str, Any]) -> dict[str, Any]:
    """A model field's schema as a query parameter's: an absent parameter is the field's None."""
    out = {k: v for k, v in prop.items() if k not in ("title", "default", "description")}
    if "anyOf" in out:
        options = [o for o in out["anyOf"] if o != {"type": "null"}]
        if len(options) == 1:
            out = {**{k: v for k, v in out.items() if k != "anyOf"}, **options[0]}
        else:
            out["anyOf"] = options
    default = prop.get("default")
    if default is not None and default in out.get("enum", (default,)):  # a Flag's False is not its "0"
        out["default"] = default
    return out


def query_parameters(req: Request) -> list[dict[str, Any]]:
    if req.query is None:
        return []
    schema = req.query.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        _add_schema(name, sub)
    required = set(schema.get("required", ()))
    return [
        param(name, "query", _query_schema(prop), required=name in required, description=prop.get("description", ""))
        for name, prop in schema["properties"].items()
    ]


def request_body(req: Request) -> dict[str, Any] | None:
    content: dict[str, Any] = {}
    if req.body is not None:  # (a page's form posting the same fields is not part of the API: see schemas.body)
        content["application/json"] = {"schema": component(req.body)}
        if req.form == "api":
            content["application/x-www-form-urlencoded"] = {"schema": component(req.body)}
    if req.upload is not None:
        content["multipart/form-data"] = {
            "schema": {
                "type": "object",
                "required": [req.upload],
                "additionalProperties": False,
                "properties": {req.upload: {"type": "string", "format": "binary"}},
            }
        }
    if not content:
        return None
    # a body model whose fields are all optional may be left out
    required = req.body is None or any(f.is_required() for f in req.body.model_fields.values())
    return {"required": required, "content": content}


def op(
    summary: str,
    *,
    role: str,
    ok: Any = None,
    status: int = 200,
    params: tuple = (),
    view: Callable | None = None,
    tag: str = "api",
    content_type: str = "application/json",
    description: str = "",
    responses: Mapping[str, Any] | None = None,
    errors: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation: ``role`` is the lowest role let through (``x-gridmap-role``); ``params`` the path
    parameters; ``view`` the view function, whose ``@query``/``@body`` models give the query parameters and
    the request body; ``ok`` the success answer (a model or a schema; ``responses`` replaces it for an
    answer with several media types). Every error status answers with the shared ``Error`` schema, or
    ``errors`` (a response object) where a standard has its own (Open311)."""
    if responses is not None:
        out_responses = dict(responses)
    elif status == 204:
        out_responses = {"204": {"description": "done"}}
    else:
        out_responses = {str(status): {"description": "ok", "content": {content_type: {"schema": schema_of(ok)}}}}
    out_responses["default"] = (
        dict(errors)
        if errors is not None
        else {"description": "error", "content": {"application/json": {"schema": component(Error)}}}
    )
    req = request_of(view) if view is not None else Request()
    out: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "x-gridmap-role": role,
        "parameters": [*params, *query_parameters(req)],
        "responses": out_responses,
    }
    if description:
        out["description"] = description
    body = request_body(req)
    if body is not None:
        out["requestBody"] = body
    if role == "public":
        out["security"] = [{}, {"bearer": []}, {"session": []}]
    return out


def describe(path: str, method: str, operation: Mapping[str, Any]) -> None:
    """Add one operation (made with :func:`op`) to the document."""
    PATHS.setdefault(path, {})[method.lower()] = dict(operation)


def document() -> dict[str, Any]:
    """The whole OpenAPI document (a fresh copy)."""
    return {
        "openapi": OPENAPI,
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


describe("/api/openapi.json", "get", op("This document", role="public", tag="meta", ok=OBJ, view=openapi_json))
