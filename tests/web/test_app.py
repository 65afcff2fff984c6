"""The app factory, access rules and the one JSON error shape."""

from __future__ import annotations

import pytest
from flask import Blueprint

from gridmap.web import BLUEPRINTS, create_app
from gridmap.web.access import allow


def test_health_and_settings_from_test_config(app, client):
    assert app.config["MIN_HOUSEHOLDS"] == 300
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_settings_from_environment(monkeypatch, sqlite_store):
    monkeypatch.setenv("GRIDMAP_MAX_HOUSEHOLDS", "450")
    app = create_app({"TESTING": True}, store=sqlite_store)
    assert app.config["MAX_HOUSEHOLDS"] == 450


def test_a_view_without_access_rule_stops_the_app(monkeypatch, sqlite_store):
    bp = Blueprint("rogue", __name__)
    bp.add_url_rule("/rogue", "rogue", lambda: "hi")
    import sys
    import types

    mod = types.ModuleType("rogue_mod")
    mod.bp = bp
    monkeypatch.setitem(sys.modules, "rogue_mod", mod)
    monkeypatch.setattr("gridmap.web.BLUEPRINTS", BLUEPRINTS + ["rogue_mod:bp"])
    with pytest.raises(RuntimeError, match="rogue.rogue"):
        create_app({"TESTING": True}, store=sqlite_store)


def test_unknown_api_route_has_the_json_error_shape(client):
    r = client.get("/api/no-such-thing")
    assert r.status_code == 404
    body = r.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == 404 and body["error"]["code"] == "not_found"


def test_roles_rank_and_401_403(monkeypatch, sqlite_store, login):
    bp = Blueprint("ranked", __name__)

    @bp.get("/api/planner-only")
    @allow("planner")
    def planner_only():
        return {"ok": True}

    import sys
    import types

    mod = types.ModuleType("ranked_mod")
    mod.bp = bp
    monkeypatch.setitem(sys.modules, "ranked_mod", mod)
    monkeypatch.setattr("gridmap.web.BLUEPRINTS", BLUEPRINTS + ["ranked_mod:bp"])
    app = create_app({"TESTING": True, "SECRET_KEY": "x"}, store=sqlite_store)
    c = app.test_client()
    assert c.get("/api/planner-only").status_code == 401
    login(c, "grid_leader")
    r = c.get("/api/planner-only")
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    login(c, "admin")
    assert c.get("/api/planner-only").get_json() == {"ok": True}


def test_a_crash_never_shows_a_stack_trace(monkeypatch, sqlite_store):
    bp = Blueprint("crash", __name__)

    @bp.get("/api/crash")
    @allow("public")
    def crash():
        raise ZeroDivisionError("secret internals")

    import sys
    import types

    mod = types.ModuleType("crash_mod")
    mod.bp = bp
    monkeypatch.setitem(sys.modules, "crash_mod", mod)
    monkeypatch.setattr("gridmap.web.BLUEPRINTS", BLUEPRINTS + ["crash_mod:bp"])
    app = create_app({"SECRET_KEY": "x"}, store=sqlite_store)
    r = app.test_client().get("/api/crash")
    assert r.status_code == 500
    assert b"secret internals" not in r.data and b"Traceback" not in r.data
    assert r.get_json()["error"]["code"] == "internal_error"
