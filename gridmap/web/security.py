"""Response hardening for every page and API: CSP with a per-request nonce, framing rules, cookies, CSRF.

* **CSP** on every response. Scripts run only from ``/static`` or when they carry this request's nonce:
  templates write ``<script nonce="{{ csp_nonce() }}">``; HTML made by folium goes through
  :func:`nonce_scripts` (or the Jinja filter ``|nonced``) *before* it is put in the page. Inline
  ``on…=`` handlers and ``javascript:`` URLs never run.
* **Framing**: ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` everywhere except views marked
  ``@embed(...)`` (:mod:`gridmap.web.access`), which allow ``EMBED_FRAME_ANCESTORS``.
* **Cookies**: HttpOnly, SameSite=Lax, ``Secure`` when ``COOKIE_SECURE`` is ``always`` or it is ``auto``
  and the request came over https.
* **CSRF** (Flask-WTF): every POST/PUT/PATCH/DELETE needs the token — form field ``csrf_token``
  (``{{ csrf_token() }}`` in a hidden input) or header ``X-CSRFToken`` (read it from
  ``<meta name="csrf-token">``) — except requests authenticated by ``Authorization: Bearer``, the
  machine APIs in :data:`CSRF_EXEMPT_PREFIXES` (Open311), where the session is ignored, and JSON bodies
  (``Content-Type: application/json``) under ``/api/``: no CORS is served, so another site cannot send
  one without a preflight that fails. API views therefore never use ``get_json(force=True)``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError, CSRFProtect
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup

from gridmap.io.safety import loads_json
from gridmap.web.access import (
    CSRF_EXEMPT_PREFIXES,
    bearer_secret,
    current_user,
    embed_claims,
    embed_view_of,
    lowest_role,
    refuse_anonymous,
)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

csrf = CSRFProtect()


def csp_nonce() -> str:
    """This request's CSP nonce (made on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


_SCRIPT_TAG = re.compile(r"<script\b(?![^>]*\bnonce=)", re.I)


def nonce_scripts(html: str) -> Markup:
    """Add this request's nonce to every ``<script`` tag of trusted, generated HTML (folium's output).

    Only for HTML the app generated with user text already escaped (see
    :func:`gridmap.io.safety.html_text`) — never for HTML that came from a user.
    """
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', str(html)))


def content_security_policy(*, nonce: str, frame_ancestors: str, extra_sources: str = "") -> str:
    extra = f" {extra_sources.strip()}" if extra_sources.strip() else ""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # Leaflet and folium position and size elements with style attributes
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{extra}",
            f"connect-src 'self'{extra}",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _is_embed() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return view is not None and embed_view_of(view) is not None


def _set_headers(resp):
    cfg = current_app.config
    embed = _is_embed()
    ancestors = (cfg.get("EMBED_FRAME_ANCESTORS") or "'self'") if embed else "'none'"
    if embed and resp.status_code >= 400:
        # a refused embed is a bare message with no data and no action (templates/maps/embed_error.html): any
        # host may frame it, so the host's page shows why instead of the browser's "refused to connect"
        ancestors = "*"
    else:
        claims = embed_claims() if embed else None
        if claims is not None and claims.origin:
            ancestors = f"{ancestors} {claims.origin}"  # the host site named when the token was issued
    resp.headers["Content-Security-Policy"] = content_security_policy(
        nonce=csp_nonce(), frame_ancestors=ancestors, extra_sources=cfg.get("CSP_EXTRA_SOURCES") or ""
    )
    if not embed:
        resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    resp.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    resp.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), payment=()")
    if _secure_cookies():
        resp.headers["Strict-Transport-Security"] = "max-age=31536000"
        _mark_cookies_secure(resp)
    if request.endpoint and request.path.startswith(("/api/", "/login", "/account")):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def _secure_cookies() -> bool:
    mode = str(current_app.config.get("COOKIE_SECURE", "auto")).lower()
    return mode == "always" or (mode == "auto" and request.is_secure)


def _mark_cookies_secure(resp) -> None:
    cookies = resp.headers.getlist("Set-Cookie")
    if not cookies:
        return
    resp.headers.remove("Set-Cookie")
    for c in cookies:
        resp.headers.add("Set-Cookie", c if re.search(r";\s*Secure\b", c, re.I) else c + "; Secure")


class _SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session whose ``Secure`` flag follows ``COOKIE_SECURE`` per request."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return _secure_cookies() if has_request_context() else super().get_cookie_secure(app)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Sign with the current key; verify with it and the old keys whose grace period runs (rotation)."""
        ring = app.config.get("GRIDMAP_KEYRING")
        if ring is None:
            return super().get_signing_serializer(app)
        return URLSafeTimedSerializer(
            ring.verifying(),
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )


def _csrf_check() -> None:
    if request.method not in UNSAFE:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    lowest = lowest_role(view) if view is not None else None
    if lowest not in (None, "public") and not current_user().authenticated:
        refuse_anonymous(lowest)  # 401 before CSRF: the caller must sign in first
    if bearer_secret() is not None or request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    if request.path.startswith("/api/") and (
        request.mimetype == "application/json" or request.method in ("PUT", "PATCH", "DELETE")
    ):
        return  # cross-site pages can send neither without a CORS preflight, which is never granted
    if current_app.config.get("WTF_CSRF_ENABLED", True) is False:
        return
    if any(not isinstance(key, str) for key in request.form):  # Flask-WTF would crash on a nameless field
        raise CSRFError("表单格式错误 / malformed form data")
    csrf.protect()


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with request bodies parsed by :func:`gridmap.io.safety.loads_json` (depth-limited):
    ``[`` × 100,000 is a 400 in the JSON error shape, not a 500 with a recursion traceback."""

    ensure_ascii = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_json(s, **kwargs)


def init_app(app: Flask) -> None:
    """Install CSRF, headers, cookie settings and the bounded JSON parser on ``app`` (called by the app factory)."""
    app.json = BoundedJSONProvider(app)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked in _csrf_check, bearer-aware
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 8 * 3600)
    app.config.setdefault("WTF_CSRF_SSL_STRICT", True)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=12)
    if str(app.config.get("COOKIE_SECURE", "auto")).lower() == "always":
        app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    app.before_request(_csrf_check)
    app.after_request(_set_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["nonced"] = nonce_scripts
    app.jinja_env.filters["in_ui_language"] = in_ui_language


_CJK = re.compile(r"[\u3400-\u9fff]")


def in_ui_language(message: object) -> str:
    """A bilingual message ``"中文 / English"`` (the convention of gridmap's errors) in the page's
    language: the English half for ``en``, the Chinese half otherwise; other text is returned as it is."""
    text = str(message)
    zh, sep, en = text.partition("/ ")
    if not sep or not _CJK.search(zh) or not en.strip():
        return text
    locale = get_locale() if has_request_context() else None
    return en.strip() if locale is not None and locale.language == "en" else zh.strip()
