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
from gridmap.domain.privacy import sees_exact_counts
from gridmap.errors import InvalidInput
from gridmap.services import ogc as svc
from gridmap.web.access import allow, current_user
from gridmap.web.context import get_store
from gridmap.web.security import in_ui_language

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
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
        "collections": [_collection_body(c, bounds) for c in svc.COLLECTIONS.values()],
    }
    return _respond(body, "ogc/collections.html")


@bp.get("/collections/<collection_id>")
@allow("public")
def collection(collection_id: str):
    body = _collection_body(svc.collection(collection_id), svc.extent(_store()))
    return _respond(body, "ogc/collection.html")


@bp.get("/collections/<collection_id>/items")
@allow("public")
def items(collection_id: str):
    bbox = svc.parse_bbox(request.args.get("bbox"))
    limit, offset = svc.parse_paging(request.args.get("limit"), request.args.get("offset"))
    page = svc.items(_store(), collection_id, bbox=bbox, limit=limit, offset=offset, exact=_exact())
    body = {
        "type": "FeatureCollection",
        "features": svc.feature_dicts(page.features),
        "numberMatched": page.number_matched,
        "numberReturned": page.number_returned,
        "timeStamp": _now(),
        "links": _page_links(collection_id, page),
    }
    return _respond(
        body,
        "ogc/items.html",
        GEOJSON,
        collection=svc.collection(collection_id),
        title=collection_title(svc.collection(collection_id)),
    )


@bp.get("/collections/<collection_id>/items/<feature_id>")
@allow("public")
def feature(collection_id: str, feature_id: str):
    body = svc.feature_dicts(svc.item(_store(), collection_id, feature_id, exact=_exact()))[0]
    body["links"] = _self_links("ogc.feature", GEOJSON, collection_id=collection_id, feature_id=feature_id) + [
        _link("ogc.collection", "collection", JSON, collection_id=collection_id)
    ]
    return _respond(
        body,
        "ogc/item.html",
        GEOJSON,
        collection=svc.collection(collection_id),
        title=collection_title(svc.collection(collection_id)),
    )


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
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": _self_links("ogc.collection", JSON, collection_id=cid)
        + [
            _link("ogc.items", "items", GEOJSON, collection_title(coll), collection_id=cid),
            _link("ogc.items", "items", HTML, collection_title(coll), collection_id=cid, f="html"),
        ],
    }
    if bounds is not None:
        body["extent"] = {"spatial": {"bbox": [list(bounds)], "crs": CRS84}}
    return body


def collection_title(coll: svc.Collection) -> str:
    """The collection's title in the UI language (Chinese first, English with ``?lang=en``)."""
    locale = get_locale()
    return coll.title_en if locale is not None and locale.language == "en" else coll.title


def _page_links(collection_id: str, page: svc.Page) -> list[dict[str, Any]]:
    args = {k: v for k, v in request.args.items() if k in ("bbox",)}
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
    }

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
            "properties": {name: svc.json_schema(kind) for name, kind in c.schema()},
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
            "/collections/{collectionId}/items": op(
                "features", ["collectionId", "bbox", "limit", "offset", "f"], GEOJSON
            ),
            "/collections/{collectionId}/items/{featureId}": op(
                "one feature", ["collectionId", "featureId", "f"], GEOJSON
            ),
        },
        "components": {"parameters": p, "schemas": schemas},
    }


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
