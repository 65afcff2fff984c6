"""Sign-in pages and the account API: login/logout, who am I, API tokens, embed tokens, the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session

from gridmap import clock
from gridmap.domain import credentials as auth
from gridmap.domain.values import json_value
from gridmap.errors import GridmapError, InvalidInput
from gridmap.services import accounts
from gridmap.store import audit
from gridmap.web.access import allow, current_user
from gridmap.web.context import get_store
from gridmap.web.limits import address_key, limit
from gridmap.web.pages import home_of

bp = Blueprint("auth", __name__)


def _store():
    return get_store()


def _policy() -> auth.LoginPolicy:
    cfg = current_app.config
    seconds = dt.timedelta(seconds=int(cfg.get("LOGIN_LOCKOUT_SECONDS", 900)))
    return auth.LoginPolicy(
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
            if not request.args.get("next"):  # 我的待办 for the roles that have a work list
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


@bp.post("/api/tokens")
@allow("viewer")
@limit("tokens")
def create_token():
    body = _json_body()
    days = body.get("days", 90)
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366):
        raise InvalidInput("days 需为 1–366 的整数 / days must be an integer from 1 to 366")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 100):
        raise InvalidInput("name 需为不超过 100 字的文本 / name must be text up to 100 characters")
    user = current_user()
    token_id, secret = accounts.issue_api_token(_store(), user.username, name=name, days=days, actor=user.username)
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
    return jsonify({"embeds": _jsonable(accounts.list_embeds(_store()))})


@bp.post("/api/embed-tokens")
@allow("planner")
@limit("tokens")
def create_embed_token():
    body = _json_body()
    view = body.get("view", "map")
    grids, layers = body.get("grids", []), body.get("layers", [])
    hours = body.get("hours", 24 * 30)
    if (
        not isinstance(view, str)
        or not _str_list(grids)
        or not _str_list(layers)
        or not isinstance(hours, (int, float))
        or isinstance(hours, bool)
    ):
        raise InvalidInput(
            "view 为文本, grids/layers 为文本数组, hours 为数字 / view is text, grids and "
            "layers are arrays of text, hours is a number"
        )
    out = accounts.issue_embed(
        _store(),
        current_app.config["SECRET_KEY"],
        view=view,
        grids=grids,
        layers=layers,
        hours=hours,
        actor=current_user().username,
        origin=body.get("origin") if isinstance(body.get("origin"), str) else None,
    )
    return jsonify(out), 201


@bp.delete("/api/embed-tokens/<token_id>")
@allow("planner")
def revoke_embed_token(token_id: str):
    accounts.revoke_embed(_store(), token_id, actor=current_user().username)
    return "", 204


@bp.get("/api/audit")
@allow("admin")
def audit_log():
    try:
        limit = min(max(int(request.args.get("limit", 100)), 1), 1000)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        raise InvalidInput("limit/offset 需为整数 / limit and offset must be integers") from None
    frame = audit.entries(
        _store(),
        actor=request.args.get("actor"),
        action=request.args.get("action"),
        target=request.args.get("target"),
        limit=limit,
        offset=offset,
    )
    return jsonify({"entries": _jsonable(accounts._row(r) for r in frame.to_dict("records"))})


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if request.content_length and body is None:
        raise InvalidInput("请求体需为 JSON 对象 / the body must be a JSON object")
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidInput("请求体需为 JSON 对象 / the body must be a JSON object")
    return body


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) <= 500 and all(isinstance(v, str) for v in value)


def _jsonable(rows) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        out.append({k: clock.iso(v) if isinstance(v, dt.datetime) else json_value(v) for k, v in r.items()})
    return out
