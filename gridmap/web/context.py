"""What the running app gives every view: its store, the request's language, the household bounds and the
service's time zone (times are aware UTC inside; a view converts them with :func:`zone` where people read
or type them).

Kept apart from the app factory (:mod:`gridmap.web`) so that views, access rules and the factory can all
import it without importing one another.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from flask import Flask, current_app, request, url_for

from gridmap import clock
from gridmap.services.complaints.follow import follow_token
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


def zone() -> dt.tzinfo:
    """The service's time zone (setting ``TIMEZONE``, resolved by the app factory)."""
    return current_app.config["GRIDMAP_ZONE"]


def local_date(value: Any) -> str:
    """The date of a time (aware, or ISO text with an offset; naive means UTC) in the service's zone, as
    ``YYYY-MM-DD`` — the Jinja filter ``local_date`` for dates shown to people; ``""`` for none."""
    return _local(value, "%Y-%m-%d")


def local_time(value: Any) -> str:
    """:func:`local_date` with the time of day: ``YYYY-MM-DD HH:MM`` (the Jinja filter ``local_time``)."""
    return _local(value, "%Y-%m-%d %H:%M")


def _local(value: Any, fmt: str) -> str:
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return clock.local(pd.Timestamp(value), zone()).strftime(fmt)


def verifying_keys() -> list[str]:
    """Keys that verify signed tokens now: old keys in their grace period, then the current one
    (:class:`gridmap.instance.KeyRing`)."""
    ring = current_app.config.get("GRIDMAP_KEYRING")
    return ring.verifying() if ring is not None else [current_app.config["SECRET_KEY"]]


def link_keys() -> list[str]:
    """Keys that open a resident's status link now: the instance's link key first (it signs them), then the
    session keys (:meth:`gridmap.instance.KeyRing.link_verifying`)."""
    ring = current_app.config.get("GRIDMAP_KEYRING")
    return ring.link_verifying() if ring is not None else [current_app.config["SECRET_KEY"]]


def status_url(cid: str, **args: Any) -> str:
    """The resident's link to request ``cid``'s status page (signed with the link key)."""
    return url_for("follow.show", rid=cid, t=follow_token(link_keys()[0], cid), **args)
