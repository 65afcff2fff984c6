"""The maps' JSON API: every layer as GeoJSON by bounding box and zoom, a grid's figures, search.

``GET /api/layers/<layer>?bbox=minx,miny,maxx,maxy&zoom=z[&shift=gcj02][&state=all]`` → FeatureCollection
with ``total`` (features in the box), ``truncated``, ``hidden: "zoom"`` below the layer's ``min_zoom``.
``GET /api/layers`` lists the layers; ``GET /api/grids/<code>/stats``; ``GET /api/search?q=…``.
No personal field is ever returned (see :mod:`gridmap.services.maps.layers`).
"""

from __future__ import annotations

import gzip
from typing import Annotated, Literal

from flask import Blueprint, Response, jsonify, request
from pydantic import Field, PlainValidator, WithJsonSchema

from gridmap import clock
from gridmap.domain import privacy
from gridmap.present.layers import LAYERS
from gridmap.services.complaints import public
from gridmap.services.maps import grid as map_grid
from gridmap.services.maps import layers as map_layers
from gridmap.services.maps import search as map_search
from gridmap.web.access import allow, current_user
from gridmap.web.context import bounds_setting, get_store
from gridmap.web.openapi import describe, obj, op, param
from gridmap.web.schemas import LAT_TEXT, LON_TEXT, Query, given, query

bp = Blueprint("maps_api", __name__, url_prefix="/api")

#: four decimal numbers within ±180/±90; parse_bbox also wants them in order (minx <= maxx, miny <= maxy)
BBOX_PATTERN = rf"^{LON_TEXT},{LAT_TEXT},{LON_TEXT},{LAT_TEXT}$"


def _store():
    return get_store()


def _bounds() -> tuple[int, int]:
    return bounds_setting()


@bp.get("/layers")
@allow("public")
def layers():
    """The map layers, their source layer, properties and the zoom they are drawn from."""
    return jsonify(
        {
            "layers": [
                {
                    "name": s.name,
                    "source": s.source,
                    "min_zoom": s.min_zoom,
                    "properties": list(s.columns) + (["grid_code"] if s.with_grid else []),
                    "url": f"/api/layers/{s.name}",
                }
                for s in LAYERS.values()
            ]
        }
    )


#: ``bbox`` and ``zoom`` as :mod:`gridmap.services.maps.layers` reads them
BBox = Annotated[
    tuple[float, float, float, float],
    PlainValidator(given(map_layers.parse_bbox, pattern=BBOX_PATTERN, shape="four decimal numbers")),
    WithJsonSchema({"type": "string", "pattern": BBOX_PATTERN}),
]
Zoom = Annotated[
    int, PlainValidator(given(map_layers.parse_zoom)), WithJsonSchema({"type": "integer", "minimum": 0, "maximum": 22})
]


class LayerQuery(Query):
    """The viewport of a layer request."""

    bbox: BBox | None = Field(None, description="minx,miny,maxx,maxy in EPSG:4326 (minx <= maxx, miny <= maxy)")
    zoom: Zoom = 18
    shift: Literal["gcj02"] | None = None
    state: Literal["open", "all"] = "open"
    grid: str | None = Field(
        None, pattern=r"^[0-9]{1,15}$", description="buildings only: the buildings of this grid of the published plan"
    )
    area: str | None = Field(
        None,
        pattern=r"^([0-9]{9}|[0-9]{12}|[0-9]{15})$",
        description="only the features inside this street, community or grid (community and street embeds)",
    )


@bp.get("/layers/<layer>")
@allow("public")
@query(LayerQuery)
def layer(layer: str, query: LayerQuery):
    """One layer inside ``bbox`` as GeoJSON, simplified for ``zoom``."""
    text = map_layers.layer_geojson(
        _store(),
        layer,
        bbox=query.bbox,
        zoom=query.zoom,
        shift=query.shift,
        open_only=query.state == "open",
        bounds=_bounds(),
        now=clock.now(),
        grid=query.grid,
        area=query.area,
        points=privacy.sees_exact_counts(current_user()),
    )
    return compressed(Response(text, mimetype="application/geo+json"))


def compressed(resp: Response, *, minimum: int = 1400) -> Response:
    """gzip ``resp`` when the client accepts it and the body is worth it (GeoJSON shrinks 5–10×)."""
    if (
        "gzip" not in request.headers.get("Accept-Encoding", "")
        or resp.content_length is None
        or resp.content_length < minimum
    ):
        return resp
    resp.set_data(gzip.compress(resp.get_data(), compresslevel=5))
    resp.headers["Content-Encoding"] = "gzip"
    resp.headers["Vary"] = "Accept-Encoding"
    return resp


@bp.get("/grids/<code>/stats")
@allow("public")
def grid_stats(code: str):
    """Figures of one grid of the published plan (small request counts suppressed for the public)."""
    return jsonify(visible_stats(map_grid.grid_stats(_store(), code, bounds=_bounds(), now=clock.now())))


#: a grid's counts of residents' requests: 1–4 shown as "<5" to public, viewer and embed callers (issue #7)
STATS_COUNTS = tuple(public.STATS)
#: figures that describe those few requests, withheld with them
STATS_DERIVED = public.STATS_DERIVED


def visible_stats(stats: dict) -> dict:
    """``stats`` as the current user may see them: exact for roles that may see personal data, the public
    table's figures (:func:`gridmap.services.complaints.public.public_stats`) for everyone else."""
    if privacy.sees_exact_counts(current_user()):
        return stats
    return public.public_stats(stats, public.public_table(_store()))


class SearchQuery(Query):
    q: str = Field("", max_length=100)


@bp.get("/search")
@allow("public")
@query(SearchQuery)
def search(query: SearchQuery):
    """Grids by code, estates by name, buildings as "estate number" or by id."""
    return jsonify({"results": map_search.search(_store(), query.q)})


def _describe() -> None:
    """Describe these routes in the OpenAPI document (``/api/openapi.json``)."""
    layer_names = list(LAYERS)
    fc = obj(
        ("type", "features"),
        type={"type": "string", "enum": ["FeatureCollection"]},
        features={"type": "array", "items": {"type": "object"}},
    )
    describe(
        "/api/layers",
        "get",
        op(
            "The map layers, their properties and the zoom they are drawn from",
            role="public",
            tag="maps",
            ok=obj(("layers",)),
            view=layers,
        ),
    )
    describe(
        "/api/layers/{layer}",
        "get",
        op(
            "One layer inside bbox as GeoJSON, simplified for zoom (no personal fields)",
            role="public",
            tag="maps",
            content_type="application/geo+json",
            ok=fc,
            view=layer,
            params=(param("layer", schema={"type": "string", "enum": layer_names}),),
        ),
    )
    describe(
        "/api/grids/{code}/stats",
        "get",
        op(
            "A grid's figures: households against its bounds, buildings, stewards by role, complaints",
            role="public",
            tag="maps",
            ok=obj(("code", "households")),
            view=grid_stats,
            params=(param("code", schema={"type": "string", "maxLength": 15}),),
        ),
    )
    describe(
        "/api/search",
        "get",
        op(
            "Grids by code, estates by name, buildings as 'estate number' or by id",
            role="public",
            tag="maps",
            ok=obj(("results",)),
            view=search,
        ),
    )


_describe()
