"""The one mapping from errors to HTTP answers; never a stack trace.

* a :class:`~gridmap.errors.GridmapError` answers its own ``status``/``code``/``message`` (so a store
  ``ConflictError`` is a 409, a ``StoreUnavailable`` a 503, a domain ``InvalidInput`` a 400);
* a werkzeug ``HTTPException`` (no route, wrong method, body too large, CSRF …) answers its status, with its
  headers (``Allow`` on a 405, ``Retry-After`` …);
* anything else is a bug: logged with its traceback, answered ``500 internal_error`` without details.

The body: under :data:`JSON_PREFIXES` the JSON shape ``{"error": {"status", "code", "message", "request_id"}}``; under
``/open311/`` the GeoReport v2 error list (``[{"code", "description"}]``, XML for ``….xml`` paths) that
Open311 clients parse; elsewhere the HTML error page, or the JSON shape for a client that asks only for JSON.
Views raise; they do not build error responses.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from jinja2 import TemplateNotFound
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WSGIResponse

from gridmap import logs
from gridmap.errors import GridmapError
from gridmap.web.access import embed_view_of

log = logging.getLogger(__name__)

#: path prefixes answered with the JSON error shape
JSON_PREFIXES = ("/api/", "/ogc", "/tiles/")
#: path prefix answered with GeoReport v2 error lists
OPEN311_PREFIX = "/open311/"

#: machine codes of the HTTP statuses werkzeug raises
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
#: messages for werkzeug statuses whose own description is long-winded English
_MESSAGES = {404: "页面不存在 / not found", 405: "不支持的请求方式 / method not allowed"}
INTERNAL = "服务器内部错误 / internal error, it has been logged"


@dataclass(frozen=True)
class Answer:
    status: int
    code: str
    message: str
    detail: Any = None
    headers: tuple[tuple[str, str], ...] = ()


def answer_for(err: BaseException) -> Answer:
    """What to answer for ``err``: the single place that turns an exception into a status."""
    if isinstance(err, GridmapError):
        return Answer(err.status, err.code, err.message, err.detail)
    if isinstance(err, HTTPException):
        status = err.code or 500
        headers = tuple((k, v) for k, v in err.get_headers() if k.lower() != "content-type")
        message = _MESSAGES.get(status) or err.description or err.name
        return Answer(status, _CODES.get(status, "error"), message, headers=headers)
    return Answer(500, "internal_error", INTERNAL)


def error_body(status: int, message: str, code: str | None = None, detail: object | None = None) -> dict:
    """The one JSON error shape; ``request_id`` is the id answered in ``X-Request-ID`` (and in the log)."""
    body: dict[str, Any] = {"status": status, "code": code or _CODES.get(status, "error"), "message": message}
    if detail is not None:
        body["detail"] = detail
    rid = logs.current_request_id()
    if rid:
        body["request_id"] = rid
    return {"error": body}


def api_error(status: int, message: str, code: str | None = None, detail: object | None = None) -> Response:
    resp = jsonify(error_body(status, message, code, detail))
    resp.status_code = status
    return resp


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def _georeport(a: Answer) -> Response:
    errors = [{"code": a.status, "description": a.message}]
    if request.path.endswith(".xml"):
        top = ET.Element("errors")
        node = ET.SubElement(top, "error")
        ET.SubElement(node, "code").text = str(a.status)
        ET.SubElement(node, "description").text = a.message
        return Response(ET.tostring(top, encoding="utf-8", xml_declaration=True), status=a.status, mimetype="text/xml")
    resp = jsonify(errors)
    resp.status_code = a.status
    return resp


def _page(a: Answer) -> Response:
    try:
        html = render_template("error.html", status=a.status, message=a.message)
    except TemplateNotFound:
        html = f"<!doctype html><title>{a.status}</title><h1>{a.status}</h1><p>{escape(a.message)}</p>"
    return Response(html, status=a.status, mimetype="text/html")


def _embedded() -> bool:
    """The request is for an embed page (``@embed``): its errors are bare and told to the host page."""
    view = current_app.view_functions.get(request.endpoint or "") if request.endpoint else None
    return view is not None and embed_view_of(view) is not None


def _embed_page(a: Answer) -> Response:
    """A refused embed: the message alone (no top bar, no sign-in link) and, posted to the host page,
    ``{type: "gridmap:error", code, message}``."""
    try:
        html = render_template("maps/embed_error.html", status=a.status, code=a.code, message=a.message)
    except TemplateNotFound:
        return _page(a)
    return Response(html, status=a.status, mimetype="text/html")


def respond(a: Answer) -> Response:
    """The response for answer ``a`` in the shape the request's path calls for."""
    if request.path.startswith(OPEN311_PREFIX):
        resp = _georeport(a)
    elif wants_json():
        resp = api_error(a.status, a.message, a.code, a.detail)
    elif _embedded():
        resp = _embed_page(a)
    else:
        resp = _page(a)
    for key, value in a.headers:
        resp.headers[key] = value
    return resp


def handle(err: Exception) -> WSGIResponse:
    if isinstance(err, HTTPException) and isinstance(err.response, WSGIResponse):  # abort(response): an answer
        return err.response
    a = answer_for(err)
    if not isinstance(err, (GridmapError, HTTPException)):
        log.exception("unhandled error on %s %s", request.method, request.path)
    elif a.status >= 500:
        log.error("%s on %s %s: %s", a.code, request.method, request.path, a.message)
    return respond(a)


def init_app(app: Flask) -> None:
    app.register_error_handler(Exception, handle)
