"""The Flask app factory: settings, the store, Babel, blueprints and error handlers; nothing at import time.

``get_store`` and ``select_locale`` belong to :mod:`gridmap.web.context` and are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib import import_module
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import Babel

from gridmap import clock, config, instance
from gridmap.errors import ConfigError
from gridmap.resources import resource_path
from gridmap.store import Store
from gridmap.web import errors, limits, observe, security
from gridmap.web.access import check_rules
from gridmap.web.context import LOCALES, get_store, local_date, local_time, select_locale
from gridmap.web.proxy import TrustedProxies

__all__ = ["BLUEPRINTS", "LOCALES", "create_app", "get_store", "select_locale"]

log = logging.getLogger(__name__)

#: blueprints to register, as "module:attribute"
BLUEPRINTS: list[str] = [
    "gridmap.web.core_views:bp",
    "gridmap.web.complaints:bp",
    "gridmap.web.follow:bp",
    "gridmap.web.open311:bp",
    "gridmap.web.kpi:bp",
    "gridmap.web.planner:bp",
    "gridmap.web.auth:bp",
    "gridmap.web.openapi:bp",
    "gridmap.web.ogc:bp",
    "gridmap.web.ogc_tiles:bp",
    "gridmap.web.tiles:bp",
    "gridmap.web.assets:bp",
    "gridmap.web.pages:bp",
    "gridmap.web.api:bp",
    "gridmap.web.embed:bp",
    "gridmap.web.api_place:bp",
    "gridmap.web.offline:bp",
]


def create_app(test_config: Mapping[str, Any] | None = None, *, store: Store | None = None) -> Flask:
    """Build the app. Settings: defaults → GRIDMAP_* environment → ``test_config``."""
    app = Flask(
        "gridmap",
        template_folder=str(resource_path("templates")),
        static_folder=str(resource_path("static", package=True)),
        static_url_path="/static",
    )
    try:
        settings = config.load(test_config)
    except config.SettingError as exc:
        raise ConfigError(str(exc)) from None
    for line in config.unknown():
        log.warning(line)
    app.config.update(settings)
    app.config["GRIDMAP_SETTINGS"] = settings
    app.config["GRIDMAP_ZONE"] = _zone(settings)
    app.config["GRIDMAP_KEYRING"] = _keyring(settings)
    app.config["SECRET_KEY"] = app.config["GRIDMAP_KEYRING"].current
    app.config["MAX_CONTENT_LENGTH"] = settings["MAX_CONTENT_LENGTH"]
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    if isinstance(app.json, DefaultJSONProvider):  # Chinese text as itself in JSON, not \u escapes
        app.json.ensure_ascii = False
    if store is not None:
        app.extensions["gridmap_store"] = store

    app.wsgi_app = TrustedProxies(app.wsgi_app, settings.get("TRUSTED_PROXIES"))  # type: ignore[method-assign]
    observe.init_app(app)
    _init_babel(app)
    app.jinja_env.filters.update(local_date=local_date, local_time=local_time)
    errors.init_app(app)
    security.init_app(app)
    for target in BLUEPRINTS:
        module, attr = target.split(":")
        app.register_blueprint(getattr(import_module(module), attr))
    check_rules(app)
    limits.init_app(app)
    return app


def _keyring(settings: Mapping[str, Any]) -> instance.KeyRing:
    """``SECRET_KEY`` or the instance file's key; a random one (sessions end with the process) when neither
    is there — ``gridmap serve`` refuses to start that way, tests and ``--debug`` may."""
    ring = instance.keyring(settings)
    if ring is None:
        log.warning("no GRIDMAP_SECRET_KEY and no instance file: a random key signs sessions until this process ends")
        ring = instance.random_keyring()
    return ring


def _zone(settings: Mapping[str, Any]) -> Any:
    """The service's time zone from ``TIMEZONE``; the app refuses to start with an unknown one."""
    try:
        return clock.zone(settings["TIMEZONE"])
    except ValueError as exc:
        raise ConfigError(f"GRIDMAP_TIMEZONE: {exc}") from None


def _init_babel(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(resource_path("translations", package=True)))
    Babel(app, locale_selector=select_locale)

    @app.after_request
    def _remember_lang(resp):
        lang = request.args.get("lang")
        if lang in LOCALES:
            resp.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return resp
