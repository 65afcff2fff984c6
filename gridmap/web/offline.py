"""The grid leader's phone as an installable web app that keeps working offline (issue #19 part 4).

* ``/manifest.webmanifest`` — the web app manifest (name in the page's language, the app's own icon).
* ``/sw.js`` — the service worker, served from the site root so its scope covers every page. It keeps only
  responses the server marks with ``X-Gridmap-Offline: keep`` (pages and API reads answered to a grid leader,
  whose reads are limited to their own scope) and the app's own static files; network first, the kept copy
  when the network is off.
* ``/api/offline/scope`` — for a grid leader: the pages of their scope to keep after sign-in
  (:func:`gridmap.services.offline.leader_scope`) and a fresh CSRF token for sending queued moves.
* Sign-out answers with ``Clear-Site-Data: "cache", "storage"`` (and the page's script empties the caches and the
  queue before it signs out), so nothing of the leader's scope stays on the device.

The queue of moves made offline lives in the page (``static/offline/offline.js``): each move is kept in
IndexedDB with an idempotency key and the request version it was based on, shown as 待同步 and sent when the
network returns; a 409 is shown as a conflict with both states for the leader to retry or drop.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, send_from_directory, url_for
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel

from gridmap.services import offline as svc
from gridmap.web import openapi
from gridmap.web.access import allow, current_user
from gridmap.web.context import get_store, select_locale

bp = Blueprint("offline", __name__)

#: the response header that lets the service worker keep a response on the device
KEEP = "X-Gridmap-Offline"


@bp.get("/sw.js")
@allow("public")
def service_worker() -> Response:
    static = current_app.static_folder or ""
    resp = send_from_directory(static, "offline/sw.js", mimetype="text/javascript", max_age=0)
    resp.headers["Service-Worker-Allowed"] = "/"
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/manifest.webmanifest")
@allow("public")
def manifest() -> Response:
    en = select_locale() == "en"
    body = {
        "name": "Chengyang grid governance" if en else "城阳区网格化治理",
        "short_name": "Grid work" if en else "网格通",
        "description": "A grid leader's to-do list, grid and building cards, also offline"
        if en
        else "网格员的待办、网格和楼栋卡片，离线也能用",
        "lang": "en" if en else "zh-CN",
        "start_url": "/complaints",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b71c1c",
        "icons": [
            {"src": url_for("static", filename="img/favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    resp = jsonify(body)
    resp.mimetype = "application/manifest+json"
    return resp


@bp.get("/api/offline/scope")
@allow("grid_leader")
def scope() -> Response:
    out = svc.leader_scope(get_store(), current_user())
    out["static"] = _static_files()
    out["csrf"] = generate_csrf()
    return jsonify(out)


def _static_files() -> list[str]:
    """The app's own scripts and styles the kept pages load (the map's libraries are kept as they load)."""
    names = ("css/app.css", "complaints/complaints.css", "complaints/worklist.js", "offline/offline.js")
    return [url_for("static", filename=n) for n in names]


def offline_page() -> bool:
    """Whether this page registers the service worker: only for a signed-in grid leader."""
    return svc.offline_allowed(current_user())


@bp.app_context_processor
def _frame() -> dict[str, Any]:
    return {"offline_page": offline_page}


@bp.after_app_request
def _mark(resp: Response) -> Response:
    """Mark what a grid leader may keep on the device: successful GETs answered to them (their reads are
    limited to their scope by the privacy rules); sign-out clears the site's caches and storage."""
    if request.endpoint == "auth.logout":
        resp.headers["Clear-Site-Data"] = '"cache", "storage"'
        return resp
    if request.method == "GET" and resp.status_code == 200 and request.endpoint not in (None, "static"):
        user = g.get("gridmap_user")  # the views that answered loaded their user; nothing more is looked up
        if user is not None and svc.offline_allowed(user):
            resp.headers[KEEP] = "keep"
    return resp


class OfflineScope(BaseModel):
    """What a grid leader's phone keeps (empty lists for other roles)."""

    grids: list[str] = []
    requests: list[str] = []
    buildings: list[str] = []
    pages: list[str]
    static: list[str]
    csrf: str


openapi.describe(
    "/api/offline/scope",
    "get",
    openapi.op(
        "What a grid leader's phone keeps for offline work: the pages of their grids, open requests and buildings "
        "(empty for other roles), the app's static files and a fresh CSRF token for sending queued moves",
        role="grid_leader",
        tag="complaints",
        ok=OfflineScope,
        view=scope,
    ),
)
