"""Who may call a view: every view declares a rule with ``@allow(...)``; the app refuses views without one.

Roles, lowest to highest: public < viewer < department < grid_leader < community_official <
street_official < planner < admin. ``@allow(r1, r2…)`` lets through a user whose role ranks at least as
high as the lowest listed role; ``admin`` passes every rule; ``public`` is everyone, signed in or not.

Who the user is: ``Authorization: Bearer <token>`` when the header is present (the session cookie is then
ignored, and no CSRF token is needed), else the signed session cookie set by ``/login`` (ignored on the
CSRF-exempt machine APIs, see :mod:`gridmap.web.security`).

Scope (which grids, communities, department) is checked with :func:`require_scope` or by services given
:func:`current_user`; personal fields leave the app only through :func:`serve_personal`, which masks
them for the user (:mod:`gridmap.domain.privacy`) and writes the read to the audit log.

Embed pages add ``@embed("map")`` under ``@allow("public")``: with the ``EMBED_REQUIRE_TOKEN`` setting on
they need ``?token=<signed embed token>`` for that view, and only they may be framed by the hosts in
``EMBED_FRAME_ANCESTORS``. The claims are in :func:`embed_claims`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from blinker import Namespace
from flask import current_app, g, request, session

from gridmap.domain import privacy
from gridmap.domain.credentials import EmbedClaims, InvalidToken, token_hash  # noqa: F401 (token_hash re-exported)
from gridmap.errors import Forbidden, Unauthorized
from gridmap.services.accounts import _row, check_embed, session_version, user_for_token
from gridmap.store import audit
from gridmap.web.context import get_store, verifying_keys

ROLES = ("public", "viewer", "department", "grid_leader", "community_official", "street_official", "planner", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}
#: endpoints that need no rule (Flask's own static files)
EXEMPT = frozenset({"static"})
#: machine APIs (Open311) where the session cookie is ignored and no CSRF token is asked for
#: (:mod:`gridmap.web.security`)
CSRF_EXEMPT_PREFIXES = ("/open311/",)

_signals = Namespace()
#: sent with ``endpoint``, ``role`` and ``required`` whenever a rule refuses a request (tests listen)
access_denied = _signals.signal("gridmap-access-denied")


@dataclass(frozen=True)
class User:
    id: str | None
    username: str
    role: str
    scope: Mapping[str, Any] = field(default_factory=dict)
    display_name: str | None = None
    #: "session", "token" or None (anonymous)
    via: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.id is not None

    def at_least(self, role: str) -> bool:
        return self.role == "admin" or RANK[self.role] >= RANK[role]


ANONYMOUS = User(id=None, username="anonymous", role="public")


def allow(*roles: str) -> Callable:
    """Declare who may call the decorated view (see the module docstring)."""
    if not roles:
        raise ValueError("allow() needs at least one role")
    unknown = [r for r in roles if r not in RANK]
    if unknown:
        raise ValueError(f"unknown role(s) {unknown}; roles are {ROLES}")
    lowest = min(roles, key=RANK.__getitem__)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if lowest != "public" and not user.authenticated:
                refuse_anonymous(lowest)
            if not user.at_least(lowest):
                _denied(user, lowest)
                raise Forbidden("无权访问 / your role may not do this")
            return view(*args, **kwargs)

        wrapper._gridmap_access = tuple(roles)  # type: ignore[attr-defined]
        wrapper._gridmap_lowest = lowest  # type: ignore[attr-defined]
        return wrapper

    return decorate


def refuse_anonymous(required: str) -> None:
    """Refuse a caller who is not signed in (401), telling the ``access_denied`` listeners."""
    _denied(current_user(), required)
    raise Unauthorized("请先登录 / please sign in")


def _denied(user: User, required: str) -> None:
    # the app itself, not the proxy (Flask's documented way to send a signal); the stubs type the proxy as Flask
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    access_denied.send(app, endpoint=request.endpoint, role=user.role, required=required)


def rule_of(view: Callable) -> tuple[str, ...] | None:
    return getattr(view, "_gridmap_access", None)


def lowest_role(view: Callable) -> str | None:
    """The lowest role a view lets through (``None`` when it has no rule)."""
    return getattr(view, "_gridmap_lowest", None)


def check_rules(app: Any) -> None:
    """Raise if any view of ``app`` lacks an access rule."""
    missing = sorted(
        ep
        for ep, fn in app.view_functions.items()
        if ep not in EXEMPT and not ep.endswith(".static") and rule_of(fn) is None
    )
    if missing:
        raise RuntimeError(f"views without an access rule (@allow): {missing}")


# -- who is asking --------------------------------------------------------------------------------------
def bearer_secret() -> str | None:
    """The secret of an ``Authorization: Bearer`` header, or None."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def _user_from_row(row: Mapping[str, Any], via: str) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        scope=row.get("scope") or {},
        display_name=row.get("display_name"),
        via=via,
    )


def _load_user() -> User:
    store = get_store()
    secret = bearer_secret()
    if secret is not None:
        row = user_for_token(store, secret)
        if row is None:
            raise Unauthorized("无效的访问令牌 / invalid, revoked or expired token")
        return _user_from_row(row, "token")
    uid = session.get("uid")
    if not uid or request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return ANONYMOUS
    row = _row(store.get("users", uid))
    if (
        row is None
        or row.get("active") is False
        or row.get("role") not in RANK
        or session.get("sv", 0) != session_version(row)
    ):  # signed out, new password, new rights, disabled
        session.clear()
        return ANONYMOUS
    return _user_from_row(row, "session")


def current_user() -> User:
    """The user of this request (anonymous ``public`` when nobody is signed in)."""
    if "gridmap_user" not in g:
        g.gridmap_user = _load_user()
    return g.gridmap_user


# -- scope and personal data --------------------------------------------------------------------------
def require_scope(record: Mapping[str, Any]) -> None:
    """Raise :class:`Forbidden` unless the current user's scope holds ``record`` (its grid, community,
    street or department; admin and planner hold everything)."""
    user = current_user()
    if not privacy.in_scope(user, privacy.Where.of(record)):
        raise Forbidden("超出您的管辖范围 / this is outside your area")


def serve_personal(
    layer: str, records: Iterable[Mapping[str, Any]], *, target: str, drop_unlisted: bool = True
) -> list[dict[str, Any]]:
    """Records of ``layer`` as the current user may see them, the read written to the audit log.

    Rows of people outside the user's scope are dropped, personal fields are shown, masked or removed
    (:func:`gridmap.domain.privacy.redact_records`). An audit entry (``<layer>.read``) is written whenever any
    personal field leaves unmasked or masked.
    """
    user = current_user()
    out = privacy.redact_records(list(records), layer, user, drop_unlisted=drop_unlisted)
    personal, sensitive = privacy.personal_columns(layer)
    shown = sorted({c for r in out for c in (*personal, *sensitive) if r.get(c) is not None})
    if shown:
        audit.record(
            get_store(), user, f"{layer}.read", target, {"rows": len(out), "fields": shown, "ip": request.remote_addr}
        )
    return out


# -- embeds ------------------------------------------------------------------------------------------
def embed(view_name: str) -> Callable:
    """Mark an embed page for ``view_name`` (put it *under* ``@allow("public")``).

    When ``EMBED_REQUIRE_TOKEN`` is on, the request needs ``?token=`` — a signed, unexpired, unrevoked
    embed token for this view — or is refused with 403 ``invalid_token``. The page may then be framed
    by ``EMBED_FRAME_ANCESTORS`` (every other page sends ``frame-ancestors 'none'``).
    """

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.embed_claims = _check_embed(view_name)
            return view(*args, **kwargs)

        wrapper._gridmap_embed = view_name  # type: ignore[attr-defined]
        return wrapper

    return decorate


def embed_view_of(view: Callable) -> str | None:
    """The embed view name of a view function, or None for ordinary pages."""
    current: Callable | None = view
    while current is not None:
        name = getattr(current, "_gridmap_embed", None)
        if name:
            return name
        current = getattr(current, "__wrapped__", None)
    return None


def _check_embed(view_name: str) -> EmbedClaims | None:
    token = request.args.get("token", "")
    if not token and not current_app.config.get("EMBED_REQUIRE_TOKEN", True):
        return None
    if not token:
        raise InvalidToken("需要嵌入令牌 / this embed needs ?token=… issued by a planner")
    return check_embed(get_store(), verifying_keys(), token, view=view_name)


def embed_claims() -> EmbedClaims | None:
    """Claims of this request's embed token (None when tokens are not required and none was given)."""
    return g.get("embed_claims")
