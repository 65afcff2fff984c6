"""``POST /api/place/<kind>`` (a file upload or a GeoJSON body) and ``GET /api/coverage``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gridmap.io.uploads import received
from gridmap.services import placement as svc
from gridmap.web.access import allow
from gridmap.web.context import get_store
from gridmap.web.limits import limit

bp = Blueprint("api_place", __name__)
#: files a placement upload may be (read by :func:`gridmap.services.placement.read_records`)
PLACE_UPLOADS = (".csv", ".txt", ".geojson", ".json", ".gpkg", ".zip")


@bp.post("/api/place/<kind>")
@allow("planner")
@limit("uploads")
def place(kind: str):
    """Place households|stewards|complaints|merchants|facilities; ``?tolerance=30&dry_run=1``."""
    tolerance = svc.parse_tolerance(request.args.get("tolerance", svc.DEFAULT_TOLERANCE_M))
    upload = request.files.get("file")
    if upload is not None:
        with received(upload.stream, upload.filename, allowed=PLACE_UPLOADS) as path:
            records = svc.read_records(path)
    else:
        records = svc.read_records(svc.geojson_body(request.get_data()))
    dry = request.args.get("dry_run", "").lower() in ("1", "true", "yes")
    result = svc.place_records(get_store(), kind, records, tolerance_m=tolerance, dry_run=dry)
    return jsonify(result.to_json())


@bp.get("/api/coverage")
@allow("viewer")
def coverage():
    """Steward and red-property coverage as JSON, or one table as CSV (``?format=csv&table=grids``)."""
    rep = svc.coverage_report(get_store())
    if request.args.get("format") == "csv":
        table = request.args.get("table", "summary")
        frame = rep.table(table, level=request.args.get("level", "community"))
        return Response(
            frame.to_csv(index=False),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=coverage-{table}.csv"},
        )
    return jsonify(rep.to_json())
