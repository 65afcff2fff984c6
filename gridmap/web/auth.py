"""Sign-in pages and the account API: login/logout, who am I, API tokens, embed tokens, the audit log."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from pydantic import AfterValidator, BaseModel, Field

from gridmap import clock
from gridmap.domain import codes, credentials
from gridmap.domain.values import json_value
from gridmap.errors import GridmapError, InvalidInput
from gridmap.services import accounts
from gridmap.store import audit
from gridmap.web.access import allow, current_user
from gridmap.web.context import get_store, local_time
from gridmap.web.limits import address_key, limit
from gridmap.web.openapi import describe, op, param
from gridmap.web.pages import home_of
from gridmap.web.schemas import Body, Query, body, query

bp = Blueprint("auth", __name__)


def _store():
    return get_store()


def _policy() -> credentials.LoginPolicy:
    cfg = current_app.config
    seconds = dt.timedelta(seconds=int(cfg.get("LOGIN_LOCKOUT_SECONDS", 900)))
    return credentials.LoginPolicy(
        max_failures=int(cfg.get("LOGIN_MAX_FAILURES", 5)),
        lockout=seconds,
        max_failures_per_ip=int(cfg.get("LOGIN_MAX_FAILURES_PER_IP", 20)),
        ip_window=seconds,
    )


def _safe_next(target: str | None) -> str:
    """Where to go after sign-in: only a path of this site.

    ``/x`` yes; ``//evil``, ``https://evil``, ``/\\evil`` no (→ ``/``). A control character or a space
    anywhere (``/%09/evil`` becomes ``//evil`` once a browser strips the tab; ``/%0d/x`` would split the
    Location header) is refused with 400.
    """
    if not target:
        return "/"
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        raise InvalidInput("next: control characters and spaces are not allowed in the return address")
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target or parts.scheme or parts.netloc:
        return "/"
    return target


@bp.route("/login", methods=["GET", "POST"])
@allow("public")
@limit("signin", key=address_key, methods=("POST",))
def login_page():
    error, status = None, 200
    username = ""
    target = _safe_next(request.args.get("next"))
    if request.method == "POST":
        username = request.form.get("username", "")[:64]
        try:
            user = accounts.login(
                _store(),
                username,
                request.form.get("password", "")[:1024],
                ip=request.remote_addr or "?",
                policy=_policy(),
            )
        except GridmapError as exc:
            error, status = exc.message, exc.status
        else:
            session.clear()  # a fresh session: no fixation
            session["uid"] = user["id"]
            session["sv"] = accounts.session_version(user)
            session.permanent = True
            asked = request.args.get("next") or ""
            if not asked or (target == asked and urlsplit(asked).path == "/"):
                # no next, or just the overview (what the top bar's 登录 sends): 我的待办 for the roles with one
                target = home_of(str(user.get("role", "")))
            return redirect(target)
    return render_template("auth/login.html", error=error, username=username, next=request.args.get("next", "")), status


@bp.post("/logout")
@allow("public")
def logout():
    user = current_user()
    if user.authenticated and user.via == "session" and user.id:
        accounts.end_sessions(_store(), user.id)
    session.clear()
    return redirect("/")


# -- the API ---------------------------------------------------------------------------------------------
@bp.get("/api/me")
@allow("public")
def me():
    u = current_user()
    return jsonify(
        {
            "username": u.username,
            "role": u.role,
            "scope": dict(u.scope),
            "display_name": u.display_name,
            "authenticated": u.authenticated,
        }
    )


@bp.get("/api/tokens")
@allow("viewer")
def list_tokens():
    return jsonify({"tokens": _jsonable(accounts.list_api_tokens(_store(), user_id=current_user().id))})


class TokenIn(Body):
    """A new API token: its name and how many days it lives (``null``: until revoked)."""

    name: str | None = Field(None, max_length=100)
    days: int | None = Field(90, ge=1, le=366)


@bp.post("/api/tokens")
@allow("viewer")
@limit("tokens")
@body(TokenIn)
def create_token(body: TokenIn):
    user = current_user()
    token_id, secret = accounts.issue_api_token(
        _store(), user.username, name=body.name, days=body.days, actor=user.username
    )
    return jsonify({"id": token_id, "token": secret, "note": "只显示一次 / shown once: store it now"}), 201


@bp.delete("/api/tokens/<token_id>")
@allow("viewer")
def revoke_token(token_id: str):
    user = current_user()
    owner = None if user.role == "admin" else user.id
    accounts.revoke_api_token(_store(), token_id, actor=user.username, user_id=owner)
    return "", 204


@bp.get("/api/embed-tokens")
@allow("planner")
def list_embed_tokens():
    embeds = [{**e, "expires_local": local_time(e.get("expires_at"))} for e in accounts.list_embeds(_store())]
    return jsonify({"embeds": _jsonable(embeds)})


#: area codes of an embed (:func:`gridmap.domain.codes.area_codes` owns the rule)
AreaCodes = Annotated[
    list[Annotated[str, Field(json_schema_extra={"pattern": codes.AREA_CODE_RE.pattern})]],
    Field(max_length=500),
    AfterValidator(codes.area_codes),
]

#: the host site an embed may be framed by: ``https://host[:port]`` (no path; none: "")
ORIGIN_PATTERN = r"^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?)?$"


def _origin(value: str) -> str:
    """The origin as :func:`gridmap.services.accounts.embed_origin` keeps it, once it has the documented shape
    (matched as JSON Schema does: a search, so one trailing newline is let through and then stripped)."""
    if not re.search(ORIGIN_PATTERN, value):
        raise InvalidInput(
            f"允许嵌入的网站应写成 https://主机[:端口] / origin {value!r} must look like https://host[:port], "
            "without a path"
        )
    return accounts.embed_origin(value)


Origin = Annotated[str, Field(max_length=200, json_schema_extra={"pattern": ORIGIN_PATTERN}), AfterValidator(_origin)]


class EmbedIn(Body):
    """A signed embed token: the view, the areas it may show (none: all), its layers and lifetime."""

    view: Literal[credentials.EMBED_VIEWS] = "map"  # type: ignore[valid-type]
    grids: AreaCodes = []
    layers: list[Annotated[str, Field(max_length=40)]] = Field([], max_length=50)
    hours: float = Field(24 * 30, gt=0, le=credentials.EMBED_MAX_HOURS)
    #: the host site that may frame it, https://host[:port] (:func:`gridmap.services.accounts.embed_origin`)
    origin: Origin | None = None
    #: the embed page the token is for; then every area must be a code of that level (a grid page: a grid code)
    page: Literal["grid", "community", "street"] | None = None


@bp.post("/api/embed-tokens")
@allow("planner")
@limit("tokens")
@body(EmbedIn)
def create_embed_token(body: EmbedIn):
    out = accounts.issue_embed(
        _store(),
        current_app.config["SECRET_KEY"],
        view=body.view,
        grids=body.grids,
        layers=body.layers,
        hours=body.hours,
        actor=current_user().username,
        origin=body.origin,
        page=body.page,
    )
    return jsonify(out), 201


@bp.delete("/api/embed-tokens/<token_id>")
@allow("planner")
def revoke_embed_token(token_id: str):
    accounts.revoke_embed(_store(), token_id, actor=current_user().username)
    return "", 204


class AuditQuery(Query):
    """Filters (exact) and paging of the audit log."""

    actor: str | None = Field(None, max_length=200)
    action: str | None = Field(None, max_length=200)
    target: str | None = Field(None, max_length=200)
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10**9)


@bp.get("/api/audit")
@allow("admin")
@query(AuditQuery)
def audit_log(query: AuditQuery):
    frame = audit.entries(
        _store(), actor=query.actor, action=query.action, target=query.target, limit=query.limit, offset=query.offset
    )
    return jsonify({"entries": _jsonable(accounts._row(r) for r in frame.to_dict("records"))})


def _jsonable(rows) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        out.append({k: clock.iso(v) if isinstance(v, dt.datetime) else json_value(v) for k, v in r.items()})
    return out


# -- the OpenAPI description -------------------------------------------------------------------------------
class Me(BaseModel):
    username: str
    role: str
    display_name: str | None = None
    authenticated: bool
    scope: dict[str, list[str]] = {}


class ApiToken(BaseModel):
    id: str
    user_id: str
    name: str | None = None
    created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    #: ``expires_at`` in the service's zone (``GRIDMAP_TIMEZONE``), ``YYYY-MM-DD HH:MM``, as the pages show times
    expires_local: str | None = None
    revoked: bool | None = None
    origin: str | None = None


class TokenIssued(BaseModel):
    id: str
    token: str
    note: str


class EmbedToken(BaseModel):
    id: str
    view: str
    created_by: str | None = None
    scope: dict[str, Any] | None = None
    layers: list[Any] | None = None
    created_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    revoked: bool | None = None


class EmbedIssued(BaseModel):
    id: str
    token: str
    view: str
    grids: list[str]
    layers: list[str]
    origin: str | None = None
    expires_at: dt.datetime


class AuditEntry(BaseModel):
    id: str
    at: dt.datetime
    action: str
    actor: str | None = None
    target: str | None = None
    detail: Any = None


class Tokens(BaseModel):
    tokens: list[ApiToken]


class Embeds(BaseModel):
    embeds: list[EmbedToken]


class AuditEntries(BaseModel):
    entries: list[AuditEntry]


TOKEN_ID = param("token_id", schema={"type": "string", "maxLength": 64})

for _path, _method, _op in (
    ("/api/me", "get", op("Who am I (role and scope)", role="public", tag="accounts", ok=Me, view=me)),
    (
        "/api/tokens",
        "get",
        op("My API tokens (never their secrets)", role="viewer", tag="accounts", ok=Tokens, view=list_tokens),
    ),
    (
        "/api/tokens",
        "post",
        op(
            "Issue an API token for myself; the secret is shown once",
            role="viewer",
            tag="accounts",
            status=201,
            ok=TokenIssued,
            view=create_token,
        ),
    ),
    (
        "/api/tokens/{token_id}",
        "delete",
        op(
            "Revoke one of my API tokens (admin: anyone's)",
            role="viewer",
            tag="accounts",
            status=204,
            params=(TOKEN_ID,),
            view=revoke_token,
        ),
    ),
    (
        "/api/embed-tokens",
        "get",
        op("Embed tokens issued so far", role="planner", tag="embeds", ok=Embeds, view=list_embed_tokens),
    ),
    (
        "/api/embed-tokens",
        "post",
        op(
            "Issue a signed embed token for a view, areas and layers",
            role="planner",
            tag="embeds",
            status=201,
            ok=EmbedIssued,
            view=create_embed_token,
        ),
    ),
    (
        "/api/embed-tokens/{token_id}",
        "delete",
        op(
            "Revoke an embed token",
            role="planner",
            tag="embeds",
            status=204,
            params=(TOKEN_ID,),
            view=revoke_embed_token,
        ),
    ),
    (
        "/api/audit",
        "get",
        op("The audit log, newest first", role="admin", tag="accounts", ok=AuditEntries, view=audit_log),
    ),
):
    describe(_path, _method, _op)
