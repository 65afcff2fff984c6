"""Service-level views: health and version (used by load balancers and tests)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from gridmap import __version__
from gridmap.web.access import allow
from gridmap.web.context import get_store

bp = Blueprint("core", __name__)


@bp.get("/healthz")
@allow("public")
def healthz():
    store = get_store()
    return jsonify({"status": "ok", "version": __version__, "buildings": store.count("buildings")})
