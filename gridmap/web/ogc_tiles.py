"""OGC API – Tiles under ``/ogc`` for the vector tiles: the WebMercatorQuad tile matrix set, a tileset per tiled
collection (``buildings``, ``grids``) and a dataset tileset with both layers in one tile, so GDAL's OGCAPI driver
and QGIS discover the tiles that ``/tiles/…`` serves. Tiles come from the tile cache
(:mod:`gridmap.services.tilecache`). No tile carries a complaint count (``complaint_counts`` has no tileset), so
the small-count rule has nothing to withhold here. Everything is public, JSON only.
"""

from __future__ import annotations

from typing import Any

import mercantile
from flask import Blueprint, jsonify, url_for

from gridmap.domain import crs as crsmod
from gridmap.domain.tiles import simplify_tolerance_m
from gridmap.errors import NotFoundError
from gridmap.services import ogc as ogc_svc
from gridmap.services import tiles as svc
from gridmap.web.access import allow
from gridmap.web.context import get_store
from gridmap.web.tiles import cache_max_zoom, tile_response

bp = Blueprint("ogc_tiles", __name__, url_prefix="/ogc")

TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
#: the tile matrices listed in a tileset's limits (``/tiles/…`` serves up to zoom 24)
MIN_ZOOM, MAX_ZOOM = 0, 18
_ORIGIN = 20037508.3427892
_REL = "http://www.opengis.net/def/rel/ogc/1.0/"


@bp.get("/tileMatrixSets")
@allow("public")
def tile_matrix_sets():
    return jsonify(
        {
            "tileMatrixSets": [
                {
                    "id": TMS_ID,
                    "title": "Google Maps Compatible for the World",
                    "uri": TMS_URI,
                    "links": [_link("ogc_tiles.tile_matrix_set", "self", JSON, tms=TMS_ID)],
                }
            ]
        }
    )


@bp.get("/tileMatrixSets/<tms>")
@allow("public")
def tile_matrix_set(tms: str):
    _check_tms(tms)
    matrices = []
    for z in range(0, 25):
        cell = 2 * _ORIGIN / 256 / (1 << z)
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": cell / 0.00028,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-_ORIGIN, _ORIGIN],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": 1 << z,
                "matrixHeight": 1 << z,
            }
        )
    return jsonify(
        {
            "id": TMS_ID,
            "title": "Google Maps Compatible for the World",
            "uri": TMS_URI,
            "crs": crsmod.epsg_uri(crsmod.WEB_MERCATOR),
            "orderedAxes": ["X", "Y"],
            "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
            "tileMatrices": matrices,
        }
    )


@bp.get("/tiles")
@allow("public")
def dataset_tilesets():
    return jsonify({"links": [_link("ogc_tiles.dataset_tilesets", "self", JSON)], "tilesets": [_summary(None)]})


@bp.get("/tiles/<tms>")
@allow("public")
def dataset_tileset(tms: str):
    _check_tms(tms)
    return jsonify(_tileset(None))


@bp.get("/tiles/<tms>/<int:tile_matrix>/<int:tile_row>/<int:tile_col>")
@allow("public")
def dataset_tile(tms: str, tile_matrix: int, tile_row: int, tile_col: int):
    _check_tms(tms)
    return tile_response(
        svc.dataset_tile(get_store(), tile_matrix, tile_col, tile_row, cache_max_zoom=cache_max_zoom())
    )


@bp.get("/collections/<collection_id>/tiles")
@allow("public")
def collection_tilesets(collection_id: str):
    _tiled(collection_id)
    body = {
        "links": [_link("ogc_tiles.collection_tilesets", "self", JSON, collection_id=collection_id)],
        "tilesets": [_summary(collection_id)],
    }
    return jsonify(body)


@bp.get("/collections/<collection_id>/tiles/<tms>")
@allow("public")
def collection_tileset(collection_id: str, tms: str):
    _tiled(collection_id)
    _check_tms(tms)
    return jsonify(_tileset(collection_id))


@bp.get("/collections/<collection_id>/tiles/<tms>/<int:tile_matrix>/<int:tile_row>/<int:tile_col>")
@allow("public")
def collection_tile(collection_id: str, tms: str, tile_matrix: int, tile_row: int, tile_col: int):
    _tiled(collection_id)
    _check_tms(tms)
    return tile_response(
        svc.tile(get_store(), collection_id, tile_matrix, tile_col, tile_row, cache_max_zoom=cache_max_zoom())
    )


# -- documents ---------------------------------------------------------------------------------------
def _summary(cid: str | None) -> dict[str, Any]:
    own = ("ogc_tiles.collection_tileset", {"collection_id": cid}) if cid else ("ogc_tiles.dataset_tileset", {})
    return {
        "title": f"{cid or 'gridmap'} ({TMS_ID})",
        "dataType": "vector",
        "crs": crsmod.epsg_uri(crsmod.WEB_MERCATOR),
        "tileMatrixSetURI": TMS_URI,
        "links": [
            _link(own[0], "self", JSON, tms=TMS_ID, **own[1]),
            _link("ogc_tiles.tile_matrix_set", _REL + "tiling-scheme", JSON, tms=TMS_ID),
        ],
    }


def _tileset(cid: str | None) -> dict[str, Any]:
    names = [cid] if cid else list(svc.TILE_LAYERS)
    bounds = ogc_svc.extent(get_store()) or (-180.0, -85.0511287798066, 180.0, 85.0511287798066)
    body = _summary(cid)
    body["tileMatrixSetLimits"] = [_limits(z, bounds) for z in range(MIN_ZOOM, MAX_ZOOM + 1)]
    body["boundingBox"] = _mercator_box(bounds)
    body["layers"] = [_layer(name, bounds) for name in names]
    if cid:
        tile = ("ogc_tiles.collection_tile", {"collection_id": cid})
    else:
        tile = ("ogc_tiles.dataset_tile", {})
    template = url_for(tile[0], tms=TMS_ID, tile_matrix=0, tile_row=0, tile_col=0, _external=True, **tile[1])
    template = template.rsplit("/0/0/0", 1)[0] + "/{tileMatrix}/{tileRow}/{tileCol}"
    body["links"].append({"href": template, "rel": "item", "type": MVT, "templated": True, "title": "MVT"})
    return body


def _layer(name: str, bounds: tuple[float, ...]) -> dict[str, Any]:
    spec = svc.TILE_LAYERS[name]
    props = {
        c: {"type": "string" if c in ("id", "name", "code", "estate_id", "community_id") else "integer"}
        for c in spec.columns
    }
    if spec.with_grid_code:
        props["grid_code"] = {"type": "string"}
    return {
        "id": name,
        "title": name,
        "dataType": "vector",
        "geometryDimension": 2,
        "minTileMatrix": str(MIN_ZOOM),
        "maxTileMatrix": str(MAX_ZOOM),
        "boundingBox": _mercator_box(bounds),
        "propertiesSchema": {"type": "object", "properties": props},
        "links": [_link("ogc.collection", "http://www.opengis.net/def/rel/ogc/1.0/geodata", JSON, collection_id=name)],
        "description": f"simplified to {simplify_tolerance_m(MAX_ZOOM):.2f} m at zoom {MAX_ZOOM}",
    }


def _mercator_box(bounds: tuple[float, ...]) -> dict[str, Any]:
    """The data's bounds in the tile matrix set's CRS (EPSG:3857), as GDAL's OGCAPI driver reads them."""
    west, south, east, north = bounds
    x0, y0 = mercantile.xy(west, max(south, -85.0511287798066))
    x1, y1 = mercantile.xy(east, min(north, 85.0511287798066))
    return {"lowerLeft": [x0, y0], "upperRight": [x1, y1], "crs": crsmod.epsg_uri(crsmod.WEB_MERCATOR)}


def _limits(z: int, bounds: tuple[float, ...]) -> dict[str, Any]:
    west, south, east, north = bounds
    ul = mercantile.tile(west, north, z)
    lr = mercantile.tile(min(east, 180.0 - 1e-9), max(south, -85.0511287798066 + 1e-9), z)
    return {"tileMatrix": str(z), "minTileRow": ul.y, "maxTileRow": lr.y, "minTileCol": ul.x, "maxTileCol": lr.x}


def _check_tms(tms: str) -> None:
    if tms != TMS_ID:
        raise NotFoundError(f"没有瓦片矩阵集 {tms!r} / no tile matrix set {tms!r}; tile matrix sets: {TMS_ID}")


def _tiled(cid: str) -> None:
    ogc_svc.collection(cid)  # 404 for unknown collections
    if cid not in svc.TILE_LAYERS:
        raise NotFoundError(f"集合 {cid} 没有瓦片 / collection {cid} has no tiles; tiled: {', '.join(svc.TILE_LAYERS)}")


def _link(endpoint: str, rel: str, media: str, title: str | None = None, **args: Any) -> dict[str, Any]:
    link = {"href": url_for(endpoint, _external=True, **args), "rel": rel, "type": media}
    if title:
        link["title"] = title
    return link
