"""Every request gets an id, a metrics sample and one access-log line.

* **Request id**: the proxy's ``X-Request-ID`` when the request came through a trusted proxy
  (:mod:`gridmap.web.proxy`) and the id is sane (1–128 of ``A–Z a–z 0–9 . _ : -``), else a new one. It is
  answered in ``X-Request-ID`` on every response, put on every log line of the request
  (:data:`gridmap.logs.request_id`) and in every JSON error (``error.request_id``, :mod:`gridmap.web.errors`).
* **Access log**: logger ``gridmap.access`` at INFO, one line per request: method, path, status, bytes,
  duration, user id, role and request id (as JSON fields under ``GRIDMAP_LOG_FORMAT=json``).
* **Metrics**: requests by route and status and their latency (:mod:`gridmap.web.metrics`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from gridmap import logs
from gridmap.web import metrics
from gridmap.web.access import current_user
from gridmap.web.proxy import TRUSTED

access_log = logging.getLogger("gridmap.access")

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def new_id() -> str:
    return uuid.uuid4().hex


def _incoming_id() -> str | None:
    given = request.headers.get(HEADER, "")
    if request.environ.get(TRUSTED) and _SANE.fullmatch(given):
        return given
    return None


def _start() -> None:
    g.request_started = time.perf_counter()
    g.request_id = _incoming_id() or new_id()
    g.request_id_token = logs.request_id.set(g.request_id)


def _finish(resp: Response) -> Response:
    rid = g.get("request_id") or new_id()
    resp.headers[HEADER] = rid
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
    metrics.observe(route=route, method=request.method, status=resp.status_code, seconds=seconds)
    size = resp.calculate_content_length() if not resp.is_streamed else None
    try:
        user = current_user()
        uid, role = user.id or "-", user.role
    except Exception:  # the store is down: the line is still written
        uid, role = "-", "?"
    fields = {
        "method": request.method,
        "path": request.path,
        "status": resp.status_code,
        "bytes": size,
        "duration_ms": round(seconds * 1000, 1),
        "user": uid,
        "role": role,
        "remote_addr": request.remote_addr,
    }
    access_log.info(
        "%s %s %s %sB %.1fms user=%s role=%s addr=%s",
        request.method,
        request.path,
        resp.status_code,
        "-" if size is None else size,
        seconds * 1000,
        uid,
        role,
        request.remote_addr,
        extra={logs.FIELDS: fields, "request_id": rid},
    )
    return resp


def _teardown(_exc: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            logs.request_id.reset(token)
        except ValueError:  # reset from another context (streamed responses): just clear it
            logs.request_id.set(None)


def init_app(app: Flask) -> None:
    """Install the hooks; call before the other ``after_request`` hooks so the access line is written last."""
    metrics.init_app(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.teardown_request(_teardown)
