"""What the running app gives every view: its store, the request's language and the household bounds.

Kept apart from the app factory (:mod:`gridmap.web`) so that views, access rules and the factory can all
import it without importing one another.
"""
from __future__ import annotations

from flask import Flask, current_app, request

from gridmap.store import Store, open_store

LOCALES = ("zh_CN", "en")


def get_store(app: Flask | None = None) -> Store:
    """The app's store, opened (and migrated) on first use."""
    app = app or current_app
    store = app.extensions.get("gridmap_store")
    if store is None:
        store = app.extensions["gridmap_store"] = open_store(app.config["DATABASE_URL"])
    return store


def select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in LOCALES:
        return lang
    if lang == "zh":
        return "zh_CN"
    return current_app.config.get("DEFAULT_LOCALE", "zh_CN")


def bounds_setting() -> tuple[int, int]:
    """The app's default (min, max) households per grid."""
    cfg = current_app.config
    return int(cfg.get("MIN_HOUSEHOLDS", 300)), int(cfg.get("MAX_HOUSEHOLDS", 500))
