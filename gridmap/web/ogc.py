"""OGC API – Features (Part 1: Core) under ``/ogc``: GeoJSON for QGIS/GDAL, HTML for people, OpenAPI 3.0.

Format: ``?f=json|html``, else the ``Accept`` header (JSON unless the client prefers HTML). Coordinates are
CRS84 (longitude, latitude). Everything here is public: the collections publish no personal columns and
complaints only as counts per grid (:mod:`gridmap.services.ogc`), with counts from 1 to 4 shown as ``"<5"``
unless the caller may see personal data.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from gridmap import clock
from gridmap.domain import crs as crsmod
from gridmap.domain.privacy import sees_exact_counts
from gridmap.errors import InvalidInput
from gridmap.services import ogc as svc
from gridmap.services import ogc_query as query
from gridmap.services.tiles import TILE_LAYERS
from gridmap.web.access import allow, current_user
from gridmap.web.context import get_store
from gridmap.web.security import in_ui_language

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CRS84 = crsmod.CRS84
_F3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
_TILES = "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    # Part 2: CRS by reference
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3: queryables, filter, CQL2 (what tests/web/test_ogc_filter.py exercises on both backends)
    _F3 + "queryables",
    _F3 + "queryables-query-parameters",
    _F3 + "filter",
    _F3 + "features-filter",
    _CQL2 + "cql2-text",
    _CQL2 + "cql2-json",
    _CQL2 + "basic-cql2",
    _CQL2 + "advanced-comparison-operators",
    _CQL2 + "basic-spatial-functions",
    _CQL2 + "basic-spatial-functions-plus",
    _CQL2 + "spatial-functions",
    # sortby (the Records sorting class, as pygeoapi declares it)
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    # OGC API – Tiles for the vector tiles (gridmap.web.ogc_tiles)
    _TILES + "core",
    _TILES + "tileset",
    _TILES + "tilesets-list",
    _TILES + "geodata-tilesets",
    _TILES + "dataset-tilesets",
    _TILES + "mvt",
    _TILES + "oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
)
#: query parameters of /items besides the queryables themselves
ITEM_PARAMS = ("bbox", "bbox-crs", "crs", "filter", "filter-lang", "filter-crs", "sortby")
JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


# -- views -------------------------------------------------------------------------------------------
@bp.get("", strict_slashes=False)
@allow("public")
def landing():
    body = {
        "title": f"gridmap {_('网格化治理')} OGC API",
        "description": _("网格化治理的公开地图数据（OGC API – Features）"),
        "links": _self_links("ogc.landing", JSON)
        + [
            _link("ogc.openapi", "service-desc", OPENAPI, "OpenAPI 3.0"),
            _link("ogc.openapi", "service-doc", HTML, "API (HTML)", f="html"),
            _link("ogc.conformance", "conformance", JSON, _("符合的标准")),
            _link("ogc.collections", "data", JSON, _("数据集合")),
            _link("ogc_tiles.tile_matrix_sets", "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes", JSON),
            _link("ogc_tiles.dataset_tilesets", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", JSON),
        ],
    }
    return _respond(body, "ogc/landing.html")


@bp.get("/conformance")
@allow("public")
def conformance():
    return _respond({"conformsTo": list(CONFORMANCE)}, "ogc/conformance.html")


@bp.get("/collections")
@allow("public")
def collections():
    bounds = svc.extent(_store())
    body = {
        "links": _self_links("ogc.collections", JSON),
        "crs": crsmod.offered(bounds),
        "collections": [_collection_body(c, bounds) for c in svc.COLLECTIONS.values()],
    }
    return _respond(body, "ogc/collections.html")


@bp.get("/collections/<collection_id>")
@allow("public")
def collection(collection_id: str):
    body = _collection_body(svc.collection(collection_id), svc.extent(_store()))
    return _respond(body, "ogc/collection.html")


@bp.get("/collections/<collection_id>/queryables")
@allow("public")
def queryables(collection_id: str):
    coll = svc.collection(collection_id)
    url = url_for("ogc.queryables", collection_id=collection_id, _external=True)
    resp = jsonify(query.queryables(coll, url, collection_title(coll)))  # JSON Schema only, also for browsers
    resp.headers["Content-Type"] = "application/schema+json"
    return resp


@bp.get("/collections/<collection_id>/items")
@allow("public")
def items(collection_id: str):
    coll = svc.collection(collection_id)
    args = request.args
    offered = crsmod.offered(svc.extent(_store()))
    out_crs = crsmod.parse(args.get("crs"), what="crs", allowed=offered)
    bbox = svc.parse_bbox(args.get("bbox"))
    if bbox is not None and args.get("bbox-crs"):
        bbox = crsmod.bbox_to_crs84(bbox, crsmod.parse(args.get("bbox-crs"), what="bbox-crs", allowed=offered))
    limit, offset = svc.parse_paging(args.get("limit"), args.get("offset"))
    page = svc.items(
        _store(),
        collection_id,
        bbox=bbox,
        limit=limit,
        offset=offset,
        exact=_exact(),
        filter=query.parse_filter(args.get("filter"), args.get("filter-lang"), args.get("filter-crs"), coll),
        properties=query.property_filter(dict(args), coll),
        order_by=query.parse_sortby(args.get("sortby"), coll),
        crs=out_crs,
    )
    body = {
        "type": "FeatureCollection",
        "features": svc.feature_dicts(page.features),
        "numberMatched": page.number_matched,
        "numberReturned": page.number_returned,
        "timeStamp": _now(),
        "links": _page_links(collection_id, page),
    }
    resp = _respond(
        body,
        "ogc/items.html",
        GEOJSON,
        collection=svc.collection(collection_id),
        title=collection_title(svc.collection(collection_id)),
    )
    resp.headers["Content-Crs"] = f"<{out_crs}>"
    return resp


@bp.get("/collections/<collection_id>/items/<feature_id>")
@allow("public")
def feature(collection_id: str, feature_id: str):
    out_crs = crsmod.parse(request.args.get("crs"), what="crs", allowed=crsmod.offered(svc.extent(_store())))
    frame = svc.item(_store(), collection_id, feature_id, exact=_exact(), crs=out_crs)
    body = svc.feature_dicts(frame)[0]
    body["links"] = _self_links("ogc.feature", GEOJSON, collection_id=collection_id, feature_id=feature_id) + [
        _link("ogc.collection", "collection", JSON, collection_id=collection_id)
    ]
    resp = _respond(
        body,
        "ogc/item.html",
        GEOJSON,
        collection=svc.collection(collection_id),
        title=collection_title(svc.collection(collection_id)),
    )
    resp.headers["Content-Crs"] = f"<{out_crs}>"
    return resp


@bp.get("/api")
@allow("public")
def openapi():
    return _respond(openapi_document(), "ogc/api.html", OPENAPI)


# -- documents ---------------------------------------------------------------------------------------
def _collection_body(coll: svc.Collection, bounds: Any) -> dict[str, Any]:
    cid = coll.id
    body: dict[str, Any] = {
        "id": cid,
        "title": collection_title(coll),
        "description": in_ui_language(coll.description),
        "itemType": "feature",
        "crs": crsmod.offered(bounds),
        "storageCrs": CRS84,
        "links": _self_links("ogc.collection", JSON, collection_id=cid)
        + [
            _link("ogc.items", "items", GEOJSON, collection_title(coll), collection_id=cid),
            _link("ogc.items", "items", HTML, collection_title(coll), collection_id=cid, f="html"),
            _schema_link(cid),
        ]
        + tile_links(cid),
    }
    if bounds is not None:
        body["extent"] = {"spatial": {"bbox": [list(bounds)], "crs": CRS84}}
    return body


def collection_title(coll: svc.Collection) -> str:
    """The collection's title in the UI language (Chinese first, English with ``?lang=en``)."""
    locale = get_locale()
    return coll.title_en if locale is not None and locale.language == "en" else coll.title


def _schema_link(cid: str) -> dict[str, Any]:
    href = url_for("ogc.queryables", collection_id=cid, _external=True)
    return {"href": href, "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json"}


def tile_links(cid: str) -> list[dict[str, Any]]:
    """Links to a collection's vector tilesets (only collections drawn as tiles have them)."""
    if cid not in TILE_LAYERS:
        return []
    rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    return [_link("ogc_tiles.collection_tilesets", rel, JSON, collection_id=cid)]


def _page_links(collection_id: str, page: svc.Page) -> list[dict[str, Any]]:
    coll = svc.collection(collection_id)
    keep = set(ITEM_PARAMS) | set(query.queryable_names(coll))
    args = {k: v for k, v in request.args.items() if k in keep}
    links = _self_links("ogc.items", GEOJSON, collection_id=collection_id, limit=page.limit, offset=page.offset, **args)
    links.append(_link("ogc.collection", "collection", JSON, collection_id=collection_id))
    if page.has_next:
        links.append(
            _link(
                "ogc.items",
                "next",
                GEOJSON,
                _("下一页"),
                collection_id=collection_id,
                limit=page.limit,
                offset=page.offset + page.limit,
                **args,
            )
        )
    if page.offset > 0:
        links.append(
            _link(
                "ogc.items",
                "prev",
                GEOJSON,
                _("上一页"),
                collection_id=collection_id,
                limit=page.limit,
                offset=max(page.offset - page.limit, 0),
                **args,
            )
        )
    return links


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 description of ``/ogc`` (collections, parameters, response types)."""
    ids = list(svc.COLLECTIONS)
    p = {
        "bbox": {
            "name": "bbox",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": "minx,miny,maxx,maxy in CRS84",
            "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        },
        "limit": {
            "name": "limit",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": svc.MAX_LIMIT, "default": svc.DEFAULT_LIMIT},
        },
        "offset": {
            "name": "offset",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "f": {"name": "f", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json", "html"]}},
        "collectionId": {
            "name": "collectionId",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": ids},
        },
        "featureId": {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
        "crs": {
            "name": "crs",
            "in": "query",
            "required": False,
            "description": "CRS of the geometries returned (axis order as the CRS defines)",
            "schema": {"type": "string", "format": "uri", "enum": crsmod.offered(svc.extent(_store()))},
        },
        "bbox-crs": {
            "name": "bbox-crs",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "uri", "enum": crsmod.offered(svc.extent(_store()))},
        },
        "filter": {
            "name": "filter",
            "in": "query",
            "required": False,
            "description": "CQL2 filter on the collection's queryables",
            "schema": {"type": "string"},
        },
        "filter-lang": {
            "name": "filter-lang",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": list(query.FILTER_LANGS), "default": "cql2-text"},
        },
        "filter-crs": {
            "name": "filter-crs",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "uri", "default": CRS84},
        },
        "sortby": {
            "name": "sortby",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": False,
            "description": "queryables to sort by, comma separated; a leading - sorts descending",
            "schema": {"type": "array", "items": {"type": "string"}},
        },
    }
    item_params = ["bbox", "bbox-crs", "crs", "filter", "filter-lang", "filter-crs", "sortby", "limit", "offset", "f"]

    def op(summary: str, params: list[str], media: str) -> dict[str, Any]:
        return {
            "get": {
                "summary": summary,
                "parameters": [{"$ref": f"#/components/parameters/{n}"} for n in params],
                "responses": {
                    "200": {"description": summary, "content": {media: {}, HTML: {}}},
                    "400": {"description": "invalid parameter"},
                    "404": {"description": "not found"},
                },
            }
        }

    schemas = {}
    for c in svc.COLLECTIONS.values():
        schemas[c.id] = {
            "type": "object",
            "title": c.title,
            "properties": {name: query.json_schema(kind) for name, kind in c.schema()},
        }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gridmap OGC API – Features",
            "version": "1.0.0",
            "description": "Public map layers of gridmap (CRS84); complaints only as counts per grid.",
            "license": {"name": "MIT"},
        },
        "servers": [{"url": url_for("ogc.landing", _external=True).rstrip("/")}],
        "paths": {
            "/": op("landing page", ["f"], JSON),
            "/conformance": op("conformance classes", ["f"], JSON),
            "/api": op("this document", ["f"], OPENAPI),
            "/collections": op("collections", ["f"], JSON),
            "/collections/{collectionId}": op("one collection", ["collectionId", "f"], JSON),
            "/collections/{collectionId}/items": op("features", ["collectionId", *item_params], GEOJSON),
            "/collections/{collectionId}/items/{featureId}": op(
                "one feature", ["collectionId", "featureId", "crs", "f"], GEOJSON
            ),
            "/collections/{collectionId}/queryables": op(
                "queryables (JSON Schema)", ["collectionId"], "application/schema+json"
            ),
            **{
                f"/collections/{c.id}/items": _collection_items_op(c, op, item_params) for c in svc.COLLECTIONS.values()
            },
        },
        "components": {"parameters": p, "schemas": schemas},
    }


def _collection_items_op(coll: svc.Collection, op: Any, params: list[str]) -> dict[str, Any]:
    """A collection's items with its queryables as query parameters (equality; Part 3 queryables-query-parameters)."""
    doc = op(f"{coll.id} features", params, GEOJSON)
    kinds = dict(coll.schema())
    for name in query.queryable_names(coll):
        schema = query.json_schema(kinds.get(name, "str"))
        doc["get"]["parameters"].append({"name": name, "in": "query", "required": False, "schema": schema})
    return doc


# -- helpers -----------------------------------------------------------------------------------------
def _store():
    return get_store()


def _exact() -> bool:
    """Exact small counts only for callers who may see personal data (a bearer token of such a user);
    everyone else gets 1–4 as "<5" (issue #7)."""
    return sees_exact_counts(current_user())


def _now() -> str:
    return clock.iso(clock.now())


def _format() -> str:
    f = request.args.get("f")
    if f in ("json", "html"):
        return f
    if f is not None:
        raise InvalidInput(f"f 只能是 json 或 html / f must be json or html, not {f!r}")
    best = request.accept_mimetypes.best_match([JSON, GEOJSON, HTML, OPENAPI], default=JSON)
    return "html" if best == HTML else "json"


def _link(endpoint: str, rel: str, media: str, title: str | None = None, **args: Any) -> dict[str, Any]:
    args["f"] = "html" if media == HTML else "json"
    link = {"href": url_for(endpoint, _external=True, **args), "rel": rel, "type": media}
    if title:
        link["title"] = title
    return link


def _self_links(endpoint: str, media: str, **args: Any) -> list[dict[str, Any]]:
    html = _format() == "html"
    return [
        _link(endpoint, "self" if not html else "alternate", media, **args),
        _link(endpoint, "alternate" if not html else "self", HTML, **args),
    ]


def _respond(body: dict[str, Any], template: str, media: str = JSON, **context: Any) -> Response:
    if _format() == "html":
        return Response(render_template(template, body=body, **context), mimetype=HTML)
    resp = jsonify(body)
    resp.headers["Content-Type"] = media
    return resp
