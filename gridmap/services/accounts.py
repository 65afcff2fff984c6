"""Accounts, API tokens, sign-in with lockout, and embed tokens: the use cases behind ``gridmap users``
and :mod:`gridmap.web.auth`. Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, overload
from urllib.parse import urlsplit

import pandas as pd

from gridmap import clock
from gridmap.domain import codes
from gridmap.domain import credentials as auth
from gridmap.domain.codes import area_codes
from gridmap.domain.schema import LAYERS
from gridmap.errors import Conflict, InvalidInput, NotFoundError, TooManyRequests, Unauthorized
from gridmap.store import Range, audit
from gridmap.store.plans import published_plan_id

_now = clock.now


def _clean(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, dt.datetime):  # aware UTC, as plain datetimes (naive means UTC)
        return clock.utc(value)
    return value


@overload
def _row(record: Mapping[str, Any]) -> dict[str, Any]: ...
@overload
def _row(record: Mapping[str, Any] | None) -> dict[str, Any] | None: ...
def _row(record: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if record is None else {k: _clean(v) for k, v in record.items()}


def public_user(row: Mapping[str, Any]) -> dict[str, Any]:
    """A user row without its password hash or lockout counters."""
    return {
        k: _clean(row.get(k))
        for k in ("id", "username", "display_name", "role", "scope", "active", "created_at", "locked_until")
    }


# -- users ------------------------------------------------------------------------------------------
def find_user(store: Any, username: str) -> dict[str, Any] | None:
    rows = store.read("users", where={"username": username})
    return _row(rows.iloc[0].to_dict()) if len(rows) else None


def get_user(store: Any, username: str) -> dict[str, Any]:
    row = find_user(store, username)
    if row is None:
        raise NotFoundError(f"没有用户 {username!r} / no user called {username!r}")
    return row


def add_user(
    store: Any,
    *,
    username: str,
    role: str,
    password: str | None = None,
    scope: Mapping[str, Any] | None = None,
    display_name: str | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Create an account; ``password`` None leaves it able to use only API tokens."""
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInput("用户名需为 1–64 个非空白字符 / user names are 1–64 characters without spaces")
    scope = auth.normalise_scope(role, scope)
    pw_hash = auth.hash_password(password, username=username) if password else None
    with store.transaction():
        if find_user(store, username) is not None:
            raise Conflict(f"用户 {username!r} 已存在 / user {username!r} exists")
        row = {
            "id": f"u-{store.next_id('users')}",
            "username": username,
            "display_name": display_name,
            "password_hash": pw_hash,
            "role": role,
            "scope": scope,
            "active": True,
            "failed_logins": 0,
            "locked_until": None,
            "created_at": _now(),
        }
        store.write("users", pd.DataFrame([row]), mode="insert")
        audit.record(store, actor, "user.add", f"user:{username}", {"role": role, "scope": scope})
    return public_user(row)


def list_users(store: Any) -> list[dict[str, Any]]:
    frame = store.read("users", order_by=["username"])
    return [public_user(_row(r)) for r in frame.to_dict("records")]


def session_version(user: Mapping[str, Any]) -> int:
    """The version a session cookie of ``user`` must carry (0 until the first bump)."""
    v = user.get("session_version")
    return 0 if v is None or v != v else int(v)


def set_password(store: Any, username: str, password: str, *, actor: str = "cli") -> None:
    user = get_user(store, username)
    pw_hash = auth.hash_password(password, username=username)
    with store.transaction():
        _update(
            store,
            "users",
            user,
            password_hash=pw_hash,
            failed_logins=0,
            locked_until=None,
            session_version=session_version(user) + 1,
        )
        audit.record(store, actor, "user.passwd", f"user:{username}")


def set_role(
    store: Any, username: str, *, role: str | None = None, scope: Mapping[str, Any] | None = None, actor: str = "cli"
) -> dict[str, Any]:
    """Change an account's role and/or scope; its open sessions end (they carried the old rights)."""
    user = get_user(store, username)
    role = role or user["role"]
    scope = auth.normalise_scope(role, scope if scope is not None else user.get("scope"))
    with store.transaction():
        _update(store, "users", user, role=role, scope=scope, session_version=session_version(user) + 1)
        audit.record(store, actor, "user.role", f"user:{username}", {"role": role, "scope": scope})
    return public_user({**user, "role": role, "scope": scope})


def end_sessions(store: Any, user_id: str, *, actor: str | None = None) -> None:
    """Sign-out: every session cookie of the account stops working (copies of it included)."""
    row = _row(store.get("users", user_id))
    if row is None:
        return
    with store.transaction():
        _update(store, "users", row, session_version=session_version(row) + 1)
        audit.record(store, actor or row["username"], "logout", f"user:{row['username']}")


def set_active(store: Any, username: str, active: bool, *, actor: str = "cli") -> None:
    """Disable (or enable) an account; disabling also revokes its API tokens."""
    user = get_user(store, username)
    with store.transaction():
        _update(
            store,
            "users",
            user,
            active=active,
            failed_logins=0,
            locked_until=None,
            session_version=session_version(user) + (0 if active else 1),
        )
        if not active:
            toks = store.read("api_tokens", where={"user_id": user["id"]})
            if len(toks):
                store.write("api_tokens", toks.assign(revoked=True))
        audit.record(store, actor, "user.enable" if active else "user.disable", f"user:{username}")


def _update(store: Any, layer: str, row: Mapping[str, Any], **changes: Any) -> None:
    cols = LAYERS[layer].column_names
    new = {c: row.get(c) for c in cols}
    new.update(changes)
    store.write(layer, pd.DataFrame([new]))


# -- API tokens -----------------------------------------------------------------------------------
def issue_api_token(
    store: Any, username: str, *, name: str | None = None, days: int | None = 90, actor: str = "cli"
) -> tuple[str, str]:
    """A new bearer token for ``username``: returns ``(token_id, secret)``; only the hash is stored."""
    user = get_user(store, username)
    if not user.get("active", True):
        raise InvalidInput(f"用户 {username!r} 已停用 / user {username!r} is disabled")
    token_id, secret = auth.new_api_token()
    row = {
        "id": token_id,
        "user_id": user["id"],
        "token_hash": auth.token_hash(secret),
        "name": name,
        "created_at": _now(),
        "expires_at": _now() + dt.timedelta(days=days) if days else None,
        "revoked": False,
    }
    with store.transaction():
        store.write("api_tokens", pd.DataFrame([row]), mode="insert")
        audit.record(store, actor, "token.issue", f"token:{token_id}", {"user": username, "days": days})
    return token_id, secret


def list_api_tokens(store: Any, *, user_id: str | None = None) -> list[dict[str, Any]]:
    frame = store.read("api_tokens", where={"user_id": user_id} if user_id else None)
    return [
        {k: _clean(r[k]) for k in ("id", "user_id", "name", "created_at", "expires_at", "revoked")}
        for r in frame.to_dict("records")
    ]


def revoke_api_token(store: Any, token_id: str, *, actor: str = "cli", user_id: str | None = None) -> None:
    tok = _row(store.get("api_tokens", token_id))
    if tok is None or (user_id is not None and tok["user_id"] != user_id):
        raise NotFoundError(f"没有令牌 {token_id!r} / no token {token_id!r}")
    with store.transaction():
        _update(store, "api_tokens", tok, revoked=True)
        audit.record(store, actor, "token.revoke", f"token:{token_id}")


def user_for_token(store: Any, secret: str) -> dict[str, Any] | None:
    """The active user a bearer secret belongs to, or None (unknown, revoked, expired)."""
    if not secret or len(secret) > 200:
        return None
    rows = store.read("api_tokens", where={"token_hash": auth.token_hash(secret)})
    if not len(rows):
        return None
    tok = _row(rows.iloc[0].to_dict())
    if tok.get("revoked") or (tok.get("expires_at") and tok["expires_at"] <= _now()):
        return None
    user = _row(store.get("users", tok["user_id"]))
    return user if user and user.get("active") is not False else None


# -- sign-in ----------------------------------------------------------------------------------------
def login(
    store: Any, username: str, password: str, *, ip: str = "?", policy: auth.LoginPolicy = auth.LoginPolicy()
) -> dict[str, Any]:
    """Check a password with per-user lockout and per-address throttling; return the user row.

    Raises :class:`~gridmap.errors.TooManyRequests` while the address or the account is locked,
    :class:`~gridmap.errors.Unauthorized` for a wrong name or password (the same message for both).
    Failures are counted in ``users.failed_logins`` and as ``login.failed`` audit entries per address.
    """
    now = _now()
    # only the window's failures, and no more of them than it takes to block
    failures = store.read(
        "audit_log",
        where={"action": "login.failed", "target": f"ip:{ip}", "at": Range.above(now - policy.ip_window)},
        columns=["at"],
        order_by=["-at"],
        limit=policy.max_failures_per_ip,
    )
    if policy.ip_blocked([_clean(t) for t in failures["at"]], now):
        raise TooManyRequests("尝试次数过多，请稍后再试 / too many failed sign-ins from this address; try again later")
    user = find_user(store, (username or "").strip()[:64])
    if user and policy.is_locked(user.get("locked_until"), now):
        raise TooManyRequests(
            "账户已临时锁定，请稍后再试 / this account is locked for a while after repeated wrong passwords"
        )
    ok = auth.verify_password(user.get("password_hash") if user else None, password or "")
    if not ok or not user or user.get("active") is False:
        with store.transaction():
            detail = {"username": (username or "")[:64]}
            if user:
                n, until = policy.after_failure(int(user.get("failed_logins") or 0), now)
                _update(store, "users", user, failed_logins=n, locked_until=until)
                if until:
                    audit.record(store, "system", "user.locked", f"user:{user['username']}", {"until": str(until)})
            audit.record(store, username or "anonymous", "login.failed", f"ip:{ip}", detail)
        raise Unauthorized("用户名或密码错误 / wrong user name or password")
    with store.transaction():
        changes: dict[str, Any] = {"failed_logins": 0, "locked_until": None}
        if auth.needs_rehash(user["password_hash"]):
            changes["password_hash"] = auth._hasher.hash(password)
        _update(store, "users", user, **changes)
        audit.record(store, user["username"], "login.ok", f"ip:{ip}")
    return user


# -- embed tokens -----------------------------------------------------------------------------------
def issue_embed(
    store: Any,
    secret_key: str,
    *,
    view: str,
    grids: Iterable[str] = (),
    layers: Iterable[str] = (),
    hours: float = 24 * 30,
    actor: str = "cli",
    origin: str | None = None,
    page: str | None = None,
) -> dict[str, Any]:
    """A signed embed token for ``view`` limited to ``grids`` (code prefixes; empty = all) and ``layers``;
    ``origin`` (``https://dash.example.gov.cn``) is the host site allowed to frame it and to receive its
    messages, beside the ``GRIDMAP_EMBED_FRAME_ANCESTORS`` setting. ``page`` (``grid``, ``community`` or
    ``street``) is the embed page the token is for (``/embed/grids/<code>`` …): then the areas must be codes of
    that level, so a snippet never frames a page that answers 404.

    Returns ``{"id", "token", "view", "grids", "layers", "origin", "expires_at"}``; the row in
    ``embed_tokens`` is what revocation flips.
    """
    origin = embed_origin(origin)
    if view not in auth.EMBED_VIEWS:
        raise InvalidInput(f"未知视图 {view!r} / unknown view; views: {', '.join(auth.EMBED_VIEWS)}")
    grids = area_codes(grids)
    _check_page(page, view, grids)
    missing = [g for g in grids if not _area_exists(store, g)]
    if missing:
        raise InvalidInput(f"网格范围不存在 / no such district, street, community or published grid: {missing}")
    layers = tuple(sorted({str(x).strip() for x in layers if str(x).strip()}))
    if not (0 < float(hours) <= auth.EMBED_MAX_HOURS):
        raise InvalidInput("有效期需在 0 与 366 天之间 / hours must be between 0 and 366 days")
    expires = (_now() + dt.timedelta(hours=float(hours))).replace(microsecond=0)
    claims = auth.EmbedClaims(
        id=f"emb-{secrets.token_hex(6)}", view=view, expires_at=expires, grids=grids, layers=layers, origin=origin
    )
    row = {
        "id": claims.id,
        "created_by": actor,
        "view": view,
        "scope": {"grids": list(grids)},
        "layers": list(layers),
        "created_at": _now(),
        "expires_at": expires,
        "revoked": False,
        "origin": origin or None,
    }
    with store.transaction():
        store.write("embed_tokens", pd.DataFrame([row]), mode="insert")
        audit.record(store, actor, "embed.issue", f"embed:{claims.id}", {"view": view, "grids": list(grids)})
    return {
        "id": claims.id,
        "token": auth.sign_embed(claims, secret_key),
        "view": view,
        "grids": list(grids),
        "layers": list(layers),
        "origin": origin,
        "expires_at": clock.iso(expires),
    }


def embed_origin(origin: str | None) -> str:
    """``origin`` as ``scheme://host[:port]`` (http or https, no path), "" when not given."""
    text = (origin or "").strip().rstrip("/")
    if not text:
        return ""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise InvalidInput(
            f"允许嵌入的网站应写成 https://主机[:端口] / origin {text!r} must look like "
            "https://host[:port], without a path"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


#: code length → the layer whose ids are codes of that level (15 digits: a grid of the published plan)
_AREA_LAYERS = {6: "districts", 9: "streets", 12: "communities"}


#: the embed pages a token can be issued for: the token view they take and their names (zh, en)
EMBED_PAGES = {
    "grid": ("grid", "网格", "grid"),
    "community": ("map", "社区", "community"),
    "street": ("map", "街道", "street"),
}
_LEVEL_NAMES = {
    "district": ("区", "district"),
    "street": ("街道", "street"),
    "community": ("社区", "community"),
    "grid": ("网格", "grid"),
}


def _check_page(page: str | None, view: str, grids: tuple[str, ...]) -> None:
    """:class:`InvalidInput` unless every area code is of the level of the embed ``page`` (and ``view`` fits it)."""
    if page is None:
        return
    if page not in EMBED_PAGES:
        raise InvalidInput(f"未知嵌入页面 {page!r} / page: unknown {page!r}; pages: {', '.join(EMBED_PAGES)}")
    want_view, zh, en = EMBED_PAGES[page]
    if view != want_view:
        raise InvalidInput(f"{zh}嵌入页面需要视图 {want_view} / page {page!r} needs view {want_view!r}, not {view!r}")
    digits = codes.LEVELS[page]
    if not grids:
        raise InvalidInput(f"请填写区域编码：{digits} 位{zh}编码 / area: give the {digits}-digit {en} code")
    for code in grids:
        level = codes.level_of(code)
        if level != page:
            lzh, len_ = _LEVEL_NAMES.get(level or "", ("未知", "unknown"))
            raise InvalidInput(
                f"区域编码 {code} 是{lzh}编码，“一个{zh}”视图需要 {digits} 位{zh}编码 / area {code} is a {len_} code; "
                f"a one-{en} embed needs a {digits}-digit {en} code"
            )


def _area_exists(store: Any, code: str) -> bool:
    if len(code) == 15:
        plan = published_plan_id(store)
        return plan is not None and store.count("plan_grids", where={"plan_id": plan, "code": code}) > 0
    return store.count(_AREA_LAYERS[len(code)], where={"id": code}) > 0


def check_embed(
    store: Any, secret_key: str | Sequence[str], token: str, *, view: str | None = None
) -> auth.EmbedClaims:
    """Claims of a valid embed token.

    Raises :class:`~gridmap.domain.credentials.InvalidToken` if tampered, expired or revoked. ``secret_key`` may be
    a list of keys (old keys in their grace period, the current one last).
    """
    claims = auth.read_embed(token, secret_key, now=_now(), view=view)
    row = _row(store.get("embed_tokens", claims.id))
    if row is None or row.get("revoked"):
        raise auth.InvalidToken("嵌入令牌已撤销 / the embed token has been revoked")
    return claims


def revoke_embed(store: Any, token_id: str, *, actor: str = "cli") -> None:
    row = _row(store.get("embed_tokens", token_id))
    if row is None:
        raise NotFoundError(f"没有嵌入令牌 {token_id!r} / no embed token {token_id!r}")
    with store.transaction():
        _update(store, "embed_tokens", row, revoked=True)
        audit.record(store, actor, "embed.revoke", f"embed:{token_id}")


def list_embeds(store: Any) -> list[dict[str, Any]]:
    frame = store.read("embed_tokens", order_by=["created_at"])
    return [
        {
            k: _clean(r[k])
            for k in ("id", "created_by", "view", "scope", "layers", "origin", "created_at", "expires_at", "revoked")
            if k in r
        }
        for r in frame.to_dict("records")
    ]
