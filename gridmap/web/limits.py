"""Rate limits (Flask-Limiter) on the routes a flood can hurt: intake, sign-in, token issue, uploads.

A signed-in caller is counted per account (a call centre behind one address is not throttled as one person),
everyone else per client address (the proxy's client when ``TRUSTED_PROXIES`` is set). Counters live in memory
by default, in Redis (or any storage ``limits`` knows) when ``RATE_LIMIT_STORAGE`` names it, e.g.
``redis://localhost:6379/0``. A refused call is a 429 in the error shape with ``Retry-After``
(:mod:`gridmap.web.errors`). Limits are ``limits`` strings (``"20 per minute;200 per day"``), one setting per group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from flask import Flask, current_app, request
from flask.typing import RouteCallable
from flask_limiter import Limiter

from gridmap.web.access import current_user

#: route group → the setting that holds its limits
GROUPS = {
    "intake": "RATE_LIMIT_INTAKE",
    "signin": "RATE_LIMIT_SIGNIN",
    "tokens": "RATE_LIMIT_TOKENS",
    "uploads": "RATE_LIMIT_UPLOADS",
}


def client_key() -> str:
    """Who is counted: the account when signed in, else the client's address."""
    user = current_user()
    if user.authenticated and user.id is not None:
        return f"user:{user.id}"
    return f"addr:{request.remote_addr or '?'}"


def address_key() -> str:
    """Sign-in is counted per address whoever claims to sign in."""
    return f"addr:{request.remote_addr or '?'}"


def limit(group: str, *, key: Callable[[], str] = client_key, methods: tuple[str, ...] = ()) -> Callable:
    """Mark a view with the limits of ``group``; :func:`init_app` applies them with the app's own limiter."""
    if group not in GROUPS:
        raise ValueError(f"unknown rate-limit group {group!r}; groups are {', '.join(GROUPS)}")

    def mark(view: Callable) -> Callable:
        view._gridmap_limit = (group, key, methods)  # type: ignore[attr-defined]
        return view

    return mark


def _limit_value(setting: str) -> Callable[[], str]:
    """The limit of a setting, read per request (tests change the settings of a running app)."""
    return lambda: str(current_app.config.get(setting) or "")


def _unlimited(setting: str) -> Callable[[], bool]:
    """True while a setting is empty: that limit is off."""
    return lambda: not current_app.config.get(setting)


def init_app(app: Flask) -> Limiter:
    """One limiter per app (its own counters), applied to every view marked with :func:`limit`.

    Call after the blueprints are registered.
    """
    enabled = bool(app.config.get("RATE_LIMIT_ENABLED", True))
    app.config["RATELIMIT_ENABLED"] = enabled
    lim = Limiter(
        key_func=client_key,
        app=app,
        storage_uri=app.config.get("RATE_LIMIT_STORAGE") or "memory://",
        headers_enabled=True,
        strategy="moving-window",
        key_prefix="gridmap",
    )
    app.extensions["gridmap_limiter"] = lim
    for endpoint, view in list(app.view_functions.items()):
        mark = getattr(view, "_gridmap_limit", None)
        if mark is None:
            continue
        group, key, methods = mark
        setting = GROUPS[group]
        limited = lim.shared_limit(
            _limit_value(setting),
            key_func=key,
            scope=group,
            methods=list(methods) or None,
            exempt_when=_unlimited(setting),
        )(view)
        # the decorator keeps the view's own signature; mypy cannot carry it through RouteCallable's union
        app.view_functions[endpoint] = cast(RouteCallable, limited)
    return lim
