"""``POST /api/place/<kind>`` (a file upload or a GeoJSON body) and ``GET /api/coverage``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint, Response, jsonify
from pydantic import Field, PlainValidator, RootModel, WithJsonSchema

from gridmap.domain.coverage import LEVELS as COVERAGE_LEVELS
from gridmap.domain.coverage import TABLES as COVERAGE_TABLES
from gridmap.errors import InvalidInput
from gridmap.io.uploads import received
from gridmap.services import placement as svc
from gridmap.web.access import allow
from gridmap.web.context import get_store
from gridmap.web.limits import limit
from gridmap.web.openapi import OBJ, describe, op, param
from gridmap.web.schemas import Body, Flag, Query, body, given, query

bp = Blueprint("api_place", __name__)
#: files a placement upload may be (read by :func:`gridmap.services.placement.read_records`)
PLACE_UPLOADS = (".csv", ".txt", ".geojson", ".json", ".gpkg", ".zip")

#: metres, as :func:`gridmap.services.placement.parse_tolerance` reads them
Tolerance = Annotated[
    float,
    PlainValidator(given(svc.parse_tolerance)),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 10_000}),
]


class PlaceQuery(Query):
    tolerance: Tolerance = svc.DEFAULT_TOLERANCE_M
    dry_run: Flag = False


class Geometry(Body):
    type: Literal["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"]
    coordinates: list[Any]


class Feature(Body):
    """One record: its point (or shape) and its columns as ``properties``."""

    type: Literal["Feature"]
    id: str | int | None = None
    geometry: Geometry | None
    properties: dict[str, Any] | None = None
    bbox: list[float] | None = None


class FeatureCollection(Body):
    type: Literal["FeatureCollection"]
    features: list[Feature]
    name: str | None = None
    crs: dict[str, Any] | None = None
    bbox: list[float] | None = None


class PlaceBody(RootModel[Annotated[FeatureCollection | Feature, Field(discriminator="type")]]):
    """Records as GeoJSON: a FeatureCollection, or one Feature."""


@bp.post("/api/place/<kind>")
@allow("planner")
@limit("uploads")
@query(PlaceQuery)
@body(PlaceBody, upload="file")
def place(kind: str, query: PlaceQuery, body: PlaceBody | None, upload: Any):
    """Place households|stewards|complaints|merchants|facilities; ``?tolerance=30&dry_run=1``."""
    if upload is not None:
        with received(upload.stream, upload.filename, allowed=PLACE_UPLOADS) as path:
            records = svc.read_records(path)
    elif body is not None:  # (``@body`` gives one of the two)
        records = svc.read_records(body.root.model_dump(exclude_unset=True))
    else:
        raise InvalidInput("请上传文件或 GeoJSON / send a file or a GeoJSON FeatureCollection")
    result = svc.place_records(get_store(), kind, records, tolerance_m=query.tolerance, dry_run=query.dry_run)
    return jsonify(result.to_json())


class CoverageQuery(Query):
    format: Literal["json", "csv"] = "json"
    table: Literal[COVERAGE_TABLES] = Field("summary", description="with format=csv")  # type: ignore[valid-type]
    level: Literal[COVERAGE_LEVELS] = Field("community", description="of table=red_property")  # type: ignore[valid-type]


@bp.get("/api/coverage")
@allow("viewer")
@query(CoverageQuery)
def coverage(query: CoverageQuery):
    """Steward and red-property coverage as JSON, or one table as CSV (``?format=csv&table=grids``)."""
    rep = svc.coverage_report(get_store())
    if query.format == "csv":
        frame = rep.table(query.table, level=query.level)
        return Response(
            frame.to_csv(index=False),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=coverage-{query.table}.csv"},
        )
    return jsonify(rep.to_json())


describe(
    "/api/place/{kind}",
    "post",
    op(
        "Place records of a layer on buildings (GeoJSON body or a file in multipart field 'file')",
        role="planner",
        tag="placement",
        ok=OBJ,
        view=place,
        params=(param("kind", schema={"type": "string", "enum": list(svc.KINDS)}),),
    ),
)
describe(
    "/api/coverage",
    "get",
    op(
        "Steward and red-property coverage as JSON (?format=csv&table=…&level=… gives one table as CSV, "
        "see docs/placement.md)",
        role="viewer",
        tag="placement",
        view=coverage,
        responses={
            "200": {
                "description": "ok",
                "content": {"application/json": {"schema": OBJ}, "text/csv": {"schema": {"type": "string"}}},
            }
        },
    ),
)
