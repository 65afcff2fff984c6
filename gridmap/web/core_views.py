"""Service-level views for operators: liveness, readiness and Prometheus metrics.

* ``/healthz``: the process answers (no store work), for a load balancer's liveness probe;
* ``/readyz``: the store is reachable, its schema at the newest revision and a plan is published
  (:func:`gridmap.services.health.readiness`); 503 with the failing checks otherwise;
* ``/metrics``: Prometheus text format (:mod:`gridmap.web.metrics`), readable from ``METRICS_ADDRESSES`` or by
  a signed-in user of at least ``METRICS_ROLE``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from gridmap import __version__
from gridmap.services.health import readiness
from gridmap.web import metrics
from gridmap.web.access import allow
from gridmap.web.context import get_store
from gridmap.web.errors import error_body

bp = Blueprint("core", __name__)


@bp.get("/healthz")
@allow("public")
def healthz():
    return jsonify({"status": "ok", "version": __version__})


@bp.get("/readyz")
@allow("public")
def readyz():
    state = readiness(get_store())
    body = {"status": "ready" if state["ready"] else "not_ready", **state}
    if not state["ready"]:  # a 503 carries the one error shape too, naming the checks that failed
        failed = "; ".join(f"{name}: {why}" for name, why in state["checks"].items() if why != "ok")
        body |= error_body(503, f"not ready — {failed}", "not_ready", detail=state["checks"])
    resp = jsonify(body)
    resp.status_code = 200 if state["ready"] else 503
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/metrics")
@allow("public")
def prometheus_metrics():
    metrics.require_reader()
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
