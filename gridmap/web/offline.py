"""The grid leader's phone as an installable web app that keeps working offline (issue #19 part 4).

* ``/manifest.webmanifest`` — the web app manifest (name in the page's language, the app's own icon).
* ``/sw.js`` — the service worker, served from the site root so its scope covers every page. It keeps only
  responses the server marks with ``X-Gridmap-Offline: keep`` (pages and API reads answered to a grid leader,
  whose reads are limited to their own scope) and the app's own static files; network first, the kept copy
  when the network is off.
* ``/api/offline/scope`` — for a grid leader: the pages of their scope to keep after sign-in
  (:func:`gridmap.services.offline.leader_scope`), every script, style sheet and image those pages load, the data
  their grid maps ask for (layers, vector tiles, the grids' figures) and a fresh CSRF token for sending queued moves.
* Sign-out answers with ``Clear-Site-Data: "cache", "storage"`` (and the page's script empties the caches and the
  queue before it signs out), so nothing of the leader's scope stays on the device.

The queue of moves made offline lives in the page (``static/offline/offline.js``): each move is kept in
IndexedDB with an idempotency key and the request version it was based on, shown as 待同步 and sent when the
network returns; a 409 is shown as a conflict with both states for the leader to retry or drop.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, jsonify, request, send_from_directory, url_for
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel

from gridmap.present.layers import LAYERS as API_LAYERS
from gridmap.services import offline as svc
from gridmap.services.tilecache import tiles_covering
from gridmap.web import openapi
from gridmap.web.access import allow, current_user
from gridmap.web.assets import css_images
from gridmap.web.context import get_store, select_locale
from gridmap.web.pages import GRID_LAYERS, grid_map_assets, vector_tiles

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
    out["data"] = _map_data(out["grids"], out.pop("bbox"))
    out["csrf"] = generate_csrf()
    return jsonify(out)


#: the app's own files the kept pages' templates name (base.html, the work list, a request, a building card)
PAGE_FILES = (
    "css/app.css",
    "img/favicon.svg",
    "offline/offline.js",
    "complaints/complaints.css",
    "complaints/worklist.js",
)


def _static_files() -> list[str]:
    """Every script, style sheet and image the kept pages load, by the URLs the pages write: the templates'
    own files and the grid page's map (Leaflet, its plugins, gridmap.js — taken from the map's elements), with
    the images their style sheets refer to."""
    urls = [url_for("static", filename=n) for n in PAGE_FILES]
    urls += [u for u in grid_map_assets() if u not in urls]
    for sheet in list(urls):
        urls += [u for u in css_images(sheet) if u not in urls]
    return urls


#: the zoom whose layer answers are kept for the grid pages' maps, and the zooms whose vector tiles are
DATA_ZOOM, TILE_ZOOMS = 17, range(13, 20)
#: at most this many vector tiles are kept (the deepest zooms go first)
MAX_TILES = 600


def _map_data(grids: list[str], bbox: list[float] | None) -> list[str]:
    """What the maps of the leader's grid pages ask the server for, over their grids and around them: the grids'
    figures, each layer of the map at :data:`DATA_ZOOM` (offline, the service worker answers a layer's request
    from this copy whatever its box) and the vector tiles of the buildings at :data:`TILE_ZOOMS`."""
    out = [f"/api/grids/{quote(g)}/stats" for g in grids]
    if not bbox:
        return out
    minx, miny, maxx, maxy = bbox
    pad = max(maxx - minx, maxy - miny)  # a phone's view is taller or wider than the grid
    box = (minx - pad, miny - pad, maxx + pad, maxy + pad)
    text = ",".join(f"{v:.5f}" for v in box)
    for layer in GRID_LAYERS:
        if API_LAYERS[layer].min_zoom > DATA_ZOOM:
            continue
        if layer == "buildings":  # a grid page asks for its own grid's buildings only
            out += [f"/api/layers/buildings?bbox={text}&zoom={DATA_ZOOM}&grid={quote(g)}" for g in grids]
        else:
            out.append(f"/api/layers/{layer}?bbox={text}&zoom={DATA_ZOOM}")
    template = vector_tiles().get("buildings")
    if template:
        zooms = list(TILE_ZOOMS)
        tiles = tiles_covering(box, zooms)
        while len(tiles) > MAX_TILES and len(zooms) > 1:
            zooms.pop()
            tiles = tiles_covering(box, zooms)
        out += [template.format(z=z, x=x, y=y) for z, x, y in tiles]
    return out


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
    #: the map data of the grid pages: the grids' figures, layer answers, vector tiles
    data: list[str] = []
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
