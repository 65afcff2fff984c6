"""Service-level views: health and version (used by load balancers and tests)."""
from __future__ import annotations

from flask import Blueprint, jsonify

from gridmap import __version__
from gridmap.web.access import allow

bp = Blueprint("core", __name__)


@bp.get("/healthz")
@allow("public")
def healthz():
    from gridmap.web import get_store

    store = get_store()
    return jsonify({"status": "ok", "version": __version__, "buildings": store.count("buildings")})
