"""Vector tiles (MVT) at ``/tiles/{layer}/{z}/{x}/{y}.pbf`` for ``buildings`` and ``grids`` (public).

Responses carry a strong ETag (a hash of the tile) and ``Cache-Control: public, max-age=TILE_MAX_AGE``;
a client revalidating with ``If-None-Match`` gets ``304 Not Modified``. An empty tile is a 200 with no body.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.wrappers import Response as BaseResponse

from gridmap.present import mvt
from gridmap.services import tiles as svc
from gridmap.web.access import allow
from gridmap.web.context import get_store

bp = Blueprint("tiles", __name__, url_prefix="/tiles")

MEDIA = "application/vnd.mapbox-vector-tile"


@bp.get("/<layer>/<int:z>/<int:x>/<int:y>.pbf")
@allow("public")
def tile(layer: str, z: int, x: int, y: int):
    return tile_response(svc.tile(get_store(), layer, z, x, y, cache_max_zoom=cache_max_zoom()))


def cache_max_zoom() -> int:
    """The deepest zoom the tile cache keeps (setting ``TILE_CACHE_MAX_ZOOM``)."""
    return int(current_app.config.get("TILE_CACHE_MAX_ZOOM", svc.CACHE_MAX_ZOOM))


def tile_response(data: bytes) -> BaseResponse:
    """A tile with its strong ETag and ``Cache-Control: public, max-age=TILE_MAX_AGE``, 304 when revalidated."""
    resp = Response(data, mimetype=MEDIA)
    resp.set_etag(mvt.etag(data))
    resp.cache_control.public = True
    resp.cache_control.max_age = int(current_app.config.get("TILE_MAX_AGE", 60))
    return resp.make_conditional(request)
