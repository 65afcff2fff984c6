"""``POST /api/place/<kind>`` (a file upload or a GeoJSON body) and ``GET /api/coverage``."""
from __future__ import annotations

import io

from flask import Blueprint, Response, jsonify, request

from gridmap.services import placement as svc
from gridmap.web import get_store
from gridmap.web.access import allow

bp = Blueprint("api_place", __name__)


@bp.post("/api/place/<kind>")
@allow("planner")
def place(kind: str):
    """Place households|stewards|complaints|merchants|facilities; ``?tolerance=30&dry_run=1``."""
    tolerance = svc.parse_tolerance(request.args.get("tolerance", svc.DEFAULT_TOLERANCE_M))
    upload = request.files.get("file")
    if upload is not None:
        records = svc.read_records(io.BytesIO(upload.read()), filename=upload.filename or "")
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
        return Response(frame.to_csv(index=False), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=coverage-{table}.csv"})
    return jsonify(rep.to_json())
