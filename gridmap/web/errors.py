"""One error shape for the API and a page in the UI's language for the rest; never a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from jinja2 import TemplateNotFound
from werkzeug.exceptions import HTTPException

from gridmap.errors import GridmapError
from gridmap.store.base import NotFound, SchemaError, StoreError

log = logging.getLogger(__name__)

#: path prefixes answered with the JSON error shape
JSON_PREFIXES = ("/api/", "/ogc", "/tiles/")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
          422: "invalid_input", 429: "too_many_requests", 500: "internal_error"}


def error_body(status: int, message: str, code: str | None = None, detail: object | None = None) -> dict:
    body = {"status": status, "code": code or _CODES.get(status, "error"), "message": message}
    if detail is not None:
        body["detail"] = detail
    return {"error": body}


def api_error(status: int, message: str, code: str | None = None, detail: object | None = None):
    resp = jsonify(error_body(status, message, code, detail))
    resp.status_code = status
    return resp


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def _page(status: int, message: str):
    try:
        return render_template("error.html", status=status, message=message), status
    except TemplateNotFound:
        from markupsafe import escape
        return f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>", status


def respond(status: int, message: str, code: str | None = None, detail: object | None = None):
    if wants_json():
        return api_error(status, message, code, detail)
    return _page(status, message)


def init_app(app: Flask) -> None:
    @app.errorhandler(GridmapError)
    def _gridmap_error(err: GridmapError):
        return respond(err.status, err.message, err.code, err.detail)

    @app.errorhandler(NotFound)
    def _not_found(err: NotFound):
        return respond(404, str(err), "not_found")

    @app.errorhandler(SchemaError)
    def _schema_error(err: SchemaError):
        return respond(400, str(err), "invalid_input")

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        status = err.code or 500
        message = {404: "页面不存在 / not found"}.get(status, err.description or err.name)
        resp = respond(status, message)
        if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            resp = resp if not isinstance(resp, tuple) else resp
        return resp

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        if isinstance(err, HTTPException):
            return _http_error(err)
        log.exception("unhandled error on %s %s", request.method, request.path)
        status = 503 if isinstance(err, StoreError) else 500
        return respond(status, "服务器内部错误 / internal error, it has been logged")
