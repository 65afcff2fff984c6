"""Who may call a view: every view declares a rule with ``@allow(...)``; the app refuses views without one.

Roles, lowest to highest: public < viewer < department < grid_leader < community_official <
street_official < planner < admin. ``@allow(r1, r2…)`` lets through a user whose role ranks at least as
high as the lowest listed role; ``admin`` passes every rule; ``public`` is everyone, signed in or not.
Scope (which grids, communities, department) is checked by the services, given :func:`current_user`.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from flask import current_app, g, request, session

from gridmap.errors import Forbidden, Unauthorized

ROLES = ("public", "viewer", "department", "grid_leader", "community_official", "street_official",
         "planner", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}
#: endpoints that need no rule (Flask's own static files)
EXEMPT = frozenset({"static"})


@dataclass(frozen=True)
class User:
    id: str | None
    username: str
    role: str
    scope: Mapping[str, Any] = field(default_factory=dict)
    display_name: str | None = None

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
                raise Unauthorized("请先登录 / please sign in")
            if not user.at_least(lowest):
                raise Forbidden("无权访问 / your role may not do this")
            return view(*args, **kwargs)

        wrapper._gridmap_access = tuple(roles)  # type: ignore[attr-defined]
        wrapper._gridmap_lowest = lowest  # type: ignore[attr-defined]
        return wrapper

    return decorate


def rule_of(view: Callable) -> tuple[str, ...] | None:
    return getattr(view, "_gridmap_access", None)


def check_rules(app: Any) -> None:
    """Raise if any view of ``app`` lacks an access rule."""
    missing = sorted(ep for ep, fn in app.view_functions.items()
                     if ep not in EXEMPT and not ep.endswith(".static") and rule_of(fn) is None)
    if missing:
        raise RuntimeError(f"views without an access rule (@allow): {missing}")


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _load_user() -> User:
    from gridmap.web import get_store

    store = get_store()
    uid = session.get("uid")
    row = None
    if uid:
        row = store.get("users", uid)
    else:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            tokens = store.read("api_tokens", where={"token_hash": token_hash(auth[7:].strip())})
            if len(tokens):
                tok = tokens.iloc[0]
                import datetime as dt
                expired = tok["expires_at"] is not None and not _isnat(tok["expires_at"]) and \
                    tok["expires_at"] < dt.datetime.now()
                if not bool(tok["revoked"] or False) and not expired:
                    row = store.get("users", tok["user_id"])
            if row is None:
                raise Unauthorized("无效的访问令牌 / invalid or expired token")
    if row is None or row.get("active") is False:
        return ANONYMOUS
    return User(id=row["id"], username=row["username"], role=row["role"], scope=row.get("scope") or {},
                display_name=row.get("display_name"))


def _isnat(v: Any) -> bool:
    import pandas as pd
    return v is None or pd.isna(v)


def current_user() -> User:
    """The user of this request (anonymous ``public`` when nobody is signed in)."""
    if "gridmap_user" not in g:
        g.gridmap_user = _load_user()
    return g.gridmap_user
