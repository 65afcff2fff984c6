"""Credentials as pure functions: argon2 passwords, API token secrets, login lockout, signed embed tokens.

Nothing here touches the store or the web: :mod:`gridmap.services.accounts` keeps the rows,
:mod:`gridmap.web.auth` serves the pages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeSerializer

from gridmap import clock
from gridmap.domain.complaints.catalogue import DEPARTMENTS
from gridmap.domain.privacy import department_code
from gridmap.errors import Forbidden, InvalidInput

#: roles an account may have (``public`` is nobody signed in)
ACCOUNT_ROLES = ("admin", "planner", "street_official", "community_official", "grid_leader", "department", "viewer")
#: which scope key each scoped role needs
SCOPE_KEYS = {
    "street_official": "streets",
    "community_official": "communities",
    "grid_leader": "grids",
    "department": "departments",
}
MIN_PASSWORD = 10
TOKEN_PREFIX = "gm_"

_hasher = PasswordHasher()


class BadPassword(InvalidInput):
    """A password that does not meet the policy."""


class InvalidToken(Forbidden):
    """An embed token that is malformed, tampered with, expired or revoked."""

    status, code = 403, "invalid_token"


# -- passwords -----------------------------------------------------------------------------------
def check_password_policy(password: str, *, username: str = "") -> None:
    """Raise :class:`BadPassword` unless ``password`` has ≥ 10 characters and is not the username."""
    if len(password) < MIN_PASSWORD:
        raise BadPassword(f"密码至少 {MIN_PASSWORD} 个字符 / the password needs at least {MIN_PASSWORD} characters")
    if username and password.strip().lower() == username.strip().lower():
        raise BadPassword("密码不能与用户名相同 / the password must differ from the user name")


def hash_password(password: str, *, username: str = "") -> str:
    """An argon2id hash of ``password`` (after :func:`check_password_policy`)."""
    check_password_policy(password, username=username)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; a missing or broken hash never matches.

    With no hash a dummy verification still runs, so timing does not tell which user names exist.
    """
    if not stored_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password + "x")
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


_DUMMY_HASH = _hasher.hash("gridmap-dummy-password")


# -- scopes --------------------------------------------------------------------------------------
def normalise_scope(role: str, scope: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """Validate ``scope`` for ``role``: scoped roles need their key with ≥ 1 id of the right shape.

    Grid codes have 15 digits, community ids 12 and street ids 9; departments are stored as the codes
    requests are routed to (``城管`` → ``urban_management``; see :func:`gridmap.domain.privacy.department_code`).
    """
    if role not in ACCOUNT_ROLES:
        raise InvalidInput(f"未知角色 {role!r} / unknown role; roles: {', '.join(ACCOUNT_ROLES)}")
    out: dict[str, list[str]] = {}
    for key, value in (scope or {}).items():
        key = "departments" if key == "department" else key
        if key not in _ID_DIGITS and key != "departments":
            raise InvalidInput(f"未知范围 {key!r} / unknown scope key; use grids, communities, streets, departments")
        values = [value] if isinstance(value, str) else list(value)
        values = [str(v).strip() for v in values if str(v).strip()]
        digits = _ID_DIGITS.get(key)
        bad = [v for v in values if digits and not (v.isdigit() and len(v) == digits)]
        if bad:
            raise InvalidInput(f"{key} 需为 {digits} 位数字 / {key} must be {digits}-digit codes: {bad}")
        if key == "departments":
            values = _department_codes(values)
        out[key] = sorted(set(values))
    need = SCOPE_KEYS.get(role)
    if need and not out.get(need):
        raise InvalidInput(f"角色 {role} 需要范围 {need} / role {role} needs a scope of {need}")
    return out


_ID_DIGITS = {"grids": 15, "communities": 12, "streets": 9}


def _department_codes(values: Iterable[str]) -> list[str]:
    codes = [(v, department_code(v)) for v in values]
    unknown = [v for v, c in codes if c is None]
    if unknown:
        known = ", ".join(f"{c} ({d.zh})" for c, d in DEPARTMENTS.items())
        raise InvalidInput(f"未知部门 {unknown} / unknown department(s); departments: {known}")
    return [c for _, c in codes if c is not None]


def parse_scope_args(items: Iterable[str]) -> dict[str, list[str]]:
    """``["grids=370214001001001,370214001001002", "departments=城管"]`` → a scope mapping."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"范围写作 key=v1,v2 / write a scope as key=v1,v2, got {item!r}")
        out.setdefault(key.strip(), []).extend(v for v in value.split(",") if v.strip())
    return out


# -- API tokens -----------------------------------------------------------------------------------
def new_api_token() -> tuple[str, str]:
    """A fresh ``(token_id, secret)``; the client sends ``Authorization: Bearer <secret>``.

    The secret carries 256 random bits, so an unsalted SHA-256 of it (:func:`token_hash`) is what the
    store keeps; argon2 would only slow every API call down without adding safety.
    """
    return "tok-" + secrets.token_hex(6), TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# -- login throttling ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoginPolicy:
    """Lock an account after ``max_failures`` wrong passwords in a row for ``lockout``; refuse an
    address after ``max_failures_per_ip`` failures within ``ip_window``."""

    max_failures: int = 5
    lockout: dt.timedelta = dt.timedelta(minutes=15)
    max_failures_per_ip: int = 20
    ip_window: dt.timedelta = dt.timedelta(minutes=15)

    def after_failure(self, failed_logins: int, now: dt.datetime) -> tuple[int, dt.datetime | None]:
        """New ``(failed_logins, locked_until)`` after one more wrong password."""
        n = failed_logins + 1
        return n, (now + self.lockout if n >= self.max_failures else None)

    @staticmethod
    def is_locked(locked_until: dt.datetime | None, now: dt.datetime) -> bool:
        return locked_until is not None and locked_until > now

    def ip_blocked(self, failure_times: Iterable[dt.datetime], now: dt.datetime) -> bool:
        recent = sum(1 for t in failure_times if now - t < self.ip_window)
        return recent >= self.max_failures_per_ip


# -- embed tokens -------------------------------------------------------------------------------------
EMBED_VIEWS = ("map", "grid", "stats")
#: the longest an embed token may live: 366 days
EMBED_MAX_HOURS = 24 * 366
EMBED_SALT = "gridmap-embed-v1"


@dataclass(frozen=True)
class EmbedClaims:
    """What an embed token lets a page show: one view, some grids (empty = all) and some layers."""

    id: str
    view: str
    expires_at: dt.datetime
    grids: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: the site allowed to frame this embed (scheme://host[:port]); "" = only GRIDMAP_EMBED_FRAME_ANCESTORS
    origin: str = ""

    def allows_grid(self, code: str) -> bool:
        return not self.grids or any(code.startswith(g) for g in self.grids)

    def allows_layer(self, name: str) -> bool:
        return not self.layers or name in self.layers


def sign_embed(claims: EmbedClaims, secret_key: str) -> str:
    """The URL-safe signed token for ``claims`` (HMAC-SHA512 via itsdangerous)."""
    payload = {
        "i": claims.id,
        "v": claims.view,
        "g": list(claims.grids),
        "l": list(claims.layers),
        "e": int(clock.utc(claims.expires_at).timestamp()),
    }
    if claims.origin:
        payload["o"] = claims.origin
    return _embed_serializer(secret_key).dumps(payload)


def read_embed(
    token: str, secret_key: str | Sequence[str], *, now: dt.datetime, view: str | None = None
) -> EmbedClaims:
    """Check signature, expiry (against ``now``; naive means UTC) and (optionally) view; return the claims
    (``expires_at`` aware UTC) or raise :class:`InvalidToken`.

    Revocation is checked by the caller against the ``embed_tokens`` layer.
    """
    if not token or len(token) > 4096:
        raise InvalidToken("缺少嵌入令牌 / an embed token is required")
    try:
        data = _embed_serializer(secret_key).loads(token)
        claims = EmbedClaims(
            id=str(data["i"]),
            view=str(data["v"]),
            expires_at=dt.datetime.fromtimestamp(int(data["e"]), clock.UTC),
            grids=tuple(map(str, data.get("g") or ())),
            layers=tuple(map(str, data.get("l") or ())),
            origin=str(data.get("o") or ""),
        )
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError):
        raise InvalidToken("嵌入令牌无效 / the embed token is invalid") from None
    if claims.expires_at <= clock.utc(now):
        raise InvalidToken("嵌入令牌已过期 / the embed token has expired")
    if view is not None and claims.view != view:
        raise InvalidToken(f"嵌入令牌不适用于此视图 / the embed token is for view {claims.view!r}")
    return claims


def _embed_serializer(secret_key: str | Sequence[str]) -> URLSafeSerializer:
    """Signs with ``secret_key`` (the last of a list); verifies with any of them (key rotation)."""
    keys = [secret_key] if isinstance(secret_key, str) else list(secret_key)
    return URLSafeSerializer(keys, salt=EMBED_SALT, signer_kwargs={"digest_method": hashlib.sha512})


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
