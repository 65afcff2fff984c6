"""The authorisation matrix: every route of the app × every role, requested for real.

The routes come from ``app.url_map`` and the expected outcome from each view's declared ``@allow`` rule,
so a route added by anyone is covered the moment it is registered (and one without a rule stops the app).
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from gridmap.services import accounts
from gridmap.web.access import RANK, ROLES, access_denied, embed_view_of, lowest_role, rule_of

SCOPES = {
    "grid_leader": {"grids": ["370214001001001"]},
    "community_official": {"communities": ["370214001001"]},
    "street_official": {"streets": ["370214001"]},
    "department": {"departments": ["城管"]},
}
PLACEHOLDER = {"int": "1", "float": "1.0", "uuid": "00000000-0000-0000-0000-000000000000"}


def routes(app):
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def url_for_rule(rule) -> str:
    url = rule.rule
    for m in re.finditer(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule):
        converter = m.group(1) or "default"
        url = url.replace(m.group(0), PLACEHOLDER.get(converter, "x"), 1)
    return url


@contextmanager
def denials(app):
    seen = []

    def record(sender, **kw):
        seen.append(kw)

    with access_denied.connected_to(record, app):
        yield seen


def expected_denial(role: str, lowest: str) -> int | None:
    """401/403 when the declared rule refuses ``role``, else None."""
    if role == "admin" or RANK[role] >= RANK[lowest]:
        return None
    return 401 if role == "public" else 403


def test_every_view_has_a_rule_and_every_route_is_in_the_matrix(app):
    assert routes(app), "the app has no routes?"
    for rule, _ in routes(app):
        assert rule_of(app.view_functions[rule.endpoint]) is not None, rule.endpoint


@pytest.mark.parametrize("role", ROLES)
def test_matrix(app, login, arm_csrf, role):
    from gridmap.services.accounts import issue_embed
    from gridmap.web import get_store

    client = app.test_client()
    user = login(client, role, SCOPES.get(role)) if role != "public" else None
    failures = []
    for rule, method in routes(app):
        # a fresh signed-in session each time (a route may be /logout)
        with client.session_transaction() as sess:
            sess.clear()
            if user:  # a fresh sign-in: the account's current session version (a /logout above bumps it)
                sess["uid"] = user["id"]
                with app.app_context():
                    sess["sv"] = accounts.session_version(get_store().get("users", user["id"]))
        arm_csrf(client)
        view = app.view_functions[rule.endpoint]
        lowest = lowest_role(view)
        url = url_for_rule(rule)
        query = {}
        embed_view = embed_view_of(view)
        if embed_view:
            with app.app_context():
                query["token"] = issue_embed(get_store(), app.config["SECRET_KEY"], view=embed_view)["token"]
        kwargs = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        with denials(app) as seen:
            resp = client.open(url, method=method, query_string=query, **kwargs)
        want = expected_denial(role, lowest)
        where = f"{method} {rule.rule} as {role} (rule {rule_of(view)})"
        if want is not None:
            if resp.status_code != want or not seen:
                failures.append(f"{where}: expected {want} from the access rule, got {resp.status_code}")
        else:
            if seen:
                failures.append(f"{where}: refused by the access layer ({resp.status_code})")
            elif resp.status_code >= 500 and not (rule.rule == "/readyz" and resp.status_code == 503):
                # /readyz answers 503 by design while the store is not ready (here: no published plan)
                failures.append(f"{where}: server error {resp.status_code}")
        if resp.status_code >= 400 and resp.mimetype == "application/json":
            body = resp.get_json()
            if not (isinstance(body, dict) and "error" in body and body["error"].get("status") == resp.status_code):
                if not rule.rule.startswith("/open311"):
                    failures.append(f"{where}: error body is not the shared shape: {body}")
    assert not failures, "\n".join(failures)


def test_a_route_added_without_a_rule_fails(monkeypatch, sqlite_store, app_factory):
    import sys
    import types

    from flask import Blueprint

    from gridmap.web import BLUEPRINTS

    bp = Blueprint("sneaky", __name__)
    bp.add_url_rule("/api/sneaky", "sneaky", lambda: {"secret": 1})
    mod = types.ModuleType("sneaky_mod")
    mod.bp = bp
    monkeypatch.setitem(sys.modules, "sneaky_mod", mod)
    monkeypatch.setattr("gridmap.web.BLUEPRINTS", BLUEPRINTS + ["sneaky_mod:bp"])
    with pytest.raises(RuntimeError, match="sneaky.sneaky"):
        app_factory(sqlite_store)
