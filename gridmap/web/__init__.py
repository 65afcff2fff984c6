"""The Flask app factory: settings, the store, Babel, blueprints and error handlers; nothing at import time."""
from __future__ import annotations

import secrets
from importlib import import_module
from typing import Any, Mapping

from flask import Flask, current_app, request

from gridmap import config
from gridmap.resources import resource_path
from gridmap.store import Store, open_store

#: blueprints to register, as "module:attribute"
BLUEPRINTS: list[str] = [
    "gridmap.web.core_views:bp",
    "gridmap.web.complaints:bp",
    "gridmap.web.open311:bp",
    "gridmap.web.kpi:bp",
    "gridmap.web.planner:bp",
    "gridmap.web.auth:bp",
    "gridmap.web.openapi:bp",
    "gridmap.web.ogc:bp",
    "gridmap.web.tiles:bp",
    "gridmap.web.assets:bp",
    "gridmap.web.pages:bp",
    "gridmap.web.api:bp",
    "gridmap.web.embed:bp",
    "gridmap.web.api_place:bp",
]


def create_app(test_config: Mapping[str, Any] | None = None, *, store: Store | None = None) -> Flask:
    """Build the app. Settings: defaults → GRIDMAP_* environment → ``test_config``."""
    app = Flask("gridmap", template_folder=str(resource_path("templates")),
                static_folder=str(resource_path("static", package=True)), static_url_path="/static")
    settings = config.load(test_config)
    app.config.update(settings)
    app.config["GRIDMAP_SETTINGS"] = settings
    app.config["SECRET_KEY"] = settings.get("SECRET_KEY") or secrets.token_hex(32)
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_CONTENT_LENGTH"]
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.json.ensure_ascii = False
    if store is not None:
        app.extensions["gridmap_store"] = store

    _init_babel(app)
    from gridmap.web import errors
    errors.init_app(app)
    from gridmap.web import security
    security.init_app(app)
    for target in BLUEPRINTS:
        module, attr = target.split(":")
        app.register_blueprint(getattr(import_module(module), attr))
    from gridmap.web.access import check_rules
    check_rules(app)
    from gridmap.web import limits
    limits.init_app(app)
    return app


def get_store(app: Flask | None = None) -> Store:
    """The app's store, opened (and migrated) on first use."""
    app = app or current_app
    store = app.extensions.get("gridmap_store")
    if store is None:
        store = app.extensions["gridmap_store"] = open_store(app.config["DATABASE_URL"])
    return store


LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in LOCALES:
        return lang
    if lang == "zh":
        return "zh_CN"
    return current_app.config.get("DEFAULT_LOCALE", "zh_CN")


def _init_babel(app: Flask) -> None:
    from flask_babel import Babel

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(resource_path("translations", package=True)))
    Babel(app, locale_selector=select_locale)

    @app.after_request
    def _remember_lang(resp):
        lang = request.args.get("lang")
        if lang in LOCALES:
            resp.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return resp
