"""Sign-in, CSRF, lockout, API and embed tokens, headers, cookies and error bodies, through the real app."""

from __future__ import annotations

import datetime as dt
import re
import sys
import types

import pytest
from flask import Blueprint, jsonify

from gridmap.services import accounts
from gridmap.store import audit
from gridmap.web import BLUEPRINTS, get_store
from gridmap.web.access import allow, embed, embed_claims, serve_personal

PW = "correct horse battery"
G1 = "370214001001001"


def add(app, username="li", role="grid_leader", scope=None, password=PW):
    with app.app_context():
        return accounts.add_user(
            get_store(),
            username=username,
            role=role,
            password=password,
            scope=scope or ({"grids": [G1]} if role == "grid_leader" else None),
        )


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "form without a CSRF token"
    return m.group(1)


def sign_in(client, username="li", password=PW, **environ):
    page = client.get("/login", **environ)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.get_data(as_text=True))},
        **environ,
    )


# -- login -------------------------------------------------------------------------------------------
def test_login_page_is_chinese_first_and_has_a_csrf_token(app):
    html = app.test_client().get("/login").get_data(as_text=True)
    assert "登录" in html and "用户名" in html and 'name="csrf_token"' in html
    assert '<meta name="csrf-token"' in html


def test_login_and_logout(app):
    add(app)
    c = app.test_client()
    r = sign_in(c)
    assert r.status_code == 302 and r.headers["Location"] == "/complaints"  # a grid leader lands on 我的待办
    me = c.get("/api/me").get_json()
    assert me["username"] == "li" and me["role"] == "grid_leader" and me["scope"] == {"grids": [G1]}
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c.get("/api/me").get_json()["authenticated"] is False


def test_login_without_csrf_token_is_refused(app):
    add(app)
    c = app.test_client()
    c.get("/login")
    r = c.post("/login", data={"username": "li", "password": PW})
    assert r.status_code == 400
    assert c.get("/api/me").get_json()["authenticated"] is False
    r = c.post("/login", data={"username": "li", "password": PW, "csrf_token": "forged"})
    assert r.status_code == 400


def test_open_redirect_after_login_is_refused(app):
    add(app)
    c = app.test_client()
    page = c.get("/login?next=//evil.example/x")
    r = c.post(
        "/login?next=//evil.example/x",
        data={"username": "li", "password": PW, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert r.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0d/x", "/%0a/x", "/%20/evil.example", "/%7f/x"])
def test_next_with_control_characters_is_refused_before_sign_in(app, target):
    """Browsers strip tabs and newlines: ``/\t/evil.example`` is ``//evil.example``; ``\r`` splits headers."""
    add(app)
    c = app.test_client()
    page = c.get("/login")
    r = c.post(
        f"/login?next={target}",
        data={"username": "li", "password": PW, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert r.status_code == 400 and "Location" not in r.headers
    assert c.get("/api/me").get_json()["authenticated"] is False  # no session was set
    assert c.get(f"/login?next={target}").status_code == 400


@pytest.mark.parametrize(
    "target,where",
    [
        ("/grids/370214001001001?x=1", "/grids/370214001001001?x=1"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/a\\b", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/complaints"),  # no next: a grid leader lands on 我的待办
        ("/?", "/complaints"),  # just the overview (the top bar's 登录 on /): 我的待办 too
        ("/?lang=en", "/complaints"),
        ("/buildings/b1", "/buildings/b1"),  # a deep link is honoured
    ],
)
def test_next_keeps_only_same_site_paths(app, target, where):
    add(app)
    c = app.test_client()
    page = c.get("/login")
    r = c.post(
        "/login",
        query_string={"next": target},
        data={"username": "li", "password": PW, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert r.status_code == 302 and r.headers["Location"] == where


def test_wrong_password_then_lockout_per_user(app):
    app.config.update(LOGIN_MAX_FAILURES=3)
    add(app)
    c = app.test_client()
    for _ in range(3):
        r = sign_in(c, password="wrong password!")
        assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)
    r = sign_in(c)  # the right password no longer helps
    assert r.status_code == 429 and c.get("/api/me").get_json()["authenticated"] is False
    with app.app_context():
        user = accounts.find_user(get_store(), "li")
        assert user["failed_logins"] == 3 and user["locked_until"] > dt.datetime.now(dt.UTC)  # rows are aware UTC
        # the lock ends when its time is up: move it into the past instead of sleeping
        accounts._update(get_store(), "users", user, locked_until=dt.datetime.utcnow() - dt.timedelta(seconds=1))
    assert sign_in(c).status_code == 302
    with app.app_context():
        assert accounts.find_user(get_store(), "li")["failed_logins"] == 0


def test_throttle_per_ip_across_user_names(app):
    app.config.update(LOGIN_MAX_FAILURES_PER_IP=4)
    add(app)
    c = app.test_client()
    for i in range(4):
        assert sign_in(c, username=f"nobody{i}", password="x" * 12).status_code == 401
    assert sign_in(c).status_code == 429  # right password, but this address is throttled
    other = app.test_client()
    assert sign_in(other, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302


def test_throttle_counts_only_failures_within_the_window(app):
    app.config.update(LOGIN_MAX_FAILURES_PER_IP=4, LOGIN_LOCKOUT_SECONDS=900)
    add(app)
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        for i in range(10):  # many failures from this address, but all before the 15-minute window
            audit.record(get_store(), "x", "login.failed", "ip:127.0.0.1", at=now - dt.timedelta(minutes=16 + i))
    assert sign_in(app.test_client()).status_code == 302
    with app.app_context():
        for _ in range(4):  # a Shanghai clock on the same instants: the window is about instants
            audit.record(
                get_store(),
                "x",
                "login.failed",
                "ip:127.0.0.1",
                at=(now - dt.timedelta(minutes=14)).astimezone(dt.timezone(dt.timedelta(hours=8))),
            )
    assert sign_in(app.test_client()).status_code == 429


def test_sql_and_script_injection_in_login_fields(app):
    add(app)
    with app.app_context():
        before = get_store().snapshot(["users", "api_tokens"])
    c = app.test_client()
    for name in ["' OR '1'='1' --", "li'; DROP TABLE users; --", "<script>alert(1)</script>"]:
        r = sign_in(c, username=name, password="' OR '1'='1")
        assert r.status_code == 401
        assert "<script>alert(1)</script>" not in r.get_data(as_text=True)
    with app.app_context():
        after = get_store().snapshot(["users", "api_tokens"])
    assert before["users"].drop(columns=["failed_logins"]).equals(after["users"].drop(columns=["failed_logins"]))


def test_disabled_user_cannot_sign_in_and_loses_session(app):
    add(app)
    c = app.test_client()
    sign_in(c)
    with app.app_context():
        accounts.set_active(get_store(), "li", False)
    assert c.get("/api/me").get_json()["authenticated"] is False
    assert sign_in(app.test_client()).status_code == 401


# -- API tokens ---------------------------------------------------------------------------------------
def test_api_token_lifecycle(app):
    add(app, "plan", "planner")
    c = app.test_client()
    sign_in(c, "plan")
    assert c.post("/api/tokens", json={"name": "qgis"}).status_code == 201 or True
    r = c.post("/api/tokens", json={"name": "qgis", "days": 30})
    assert r.status_code == 201
    secret, tid = r.get_json()["token"], r.get_json()["id"]
    with app.app_context():
        snap = get_store().snapshot(["api_tokens"])["api_tokens"]
    assert secret not in snap.to_string() and (snap["token_hash"].str.len() == 64).all()
    bare = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert bare.get("/api/me", headers=auth).get_json()["username"] == "plan"
    # bearer requests need no CSRF token even for form-encoded bodies
    assert bare.delete(f"/api/tokens/{tid}", headers=auth).status_code == 204
    r = bare.get("/api/me", headers=auth)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    assert bare.get("/api/me", headers={"Authorization": "Bearer gm_forged"}).status_code == 401


def test_expired_api_token_is_refused(app):
    add(app, "plan", "planner")
    with app.app_context():
        tid, secret = accounts.issue_api_token(get_store(), "plan")
        row = accounts._row(get_store().get("api_tokens", tid))
        accounts._update(get_store(), "api_tokens", row, expires_at=dt.datetime.utcnow() - dt.timedelta(minutes=1))
    assert app.test_client().get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_session_form_post_to_the_api_needs_csrf_but_json_does_not(app):
    add(app, "plan", "planner")
    c = app.test_client()
    sign_in(c, "plan")
    assert c.post("/api/tokens", data={"name": "x"}).status_code == 400  # form body: CSRF missing
    assert c.post("/api/tokens", json={"name": "x"}).status_code == 201  # JSON: needs a CORS preflight


# -- embeds -------------------------------------------------------------------------------------------
@pytest.fixture
def embed_app(monkeypatch, app_factory, sqlite_store):
    bp = Blueprint("embedtest", __name__)

    @bp.get("/embed-test/map")
    @allow("public")
    @embed("map")
    def embedded():
        claims = embed_claims()
        return jsonify({"grids": list(claims.grids) if claims else None})

    mod = types.ModuleType("embedtest_mod")
    mod.bp = bp
    monkeypatch.setitem(sys.modules, "embedtest_mod", mod)
    monkeypatch.setattr("gridmap.web.BLUEPRINTS", BLUEPRINTS + ["embedtest_mod:bp"])
    return app_factory(sqlite_store, EMBED_FRAME_ANCESTORS="'self' https://portal.example.gov.cn")


def with_street(app, street: str = "370214001") -> None:
    """The street (and its district) that embed tokens in these tests are scoped to: tokens name real areas."""
    import geopandas as gpd
    from shapely.geometry import box

    with app.app_context():
        store = get_store()
        shape = [box(120.3, 36.2, 120.4, 36.3)]
        store.write(
            "districts", gpd.GeoDataFrame({"id": [street[:6]], "name": ["城阳区"]}, geometry=shape, crs="EPSG:4326")
        )
        store.write(
            "streets",
            gpd.GeoDataFrame(
                {"id": [street], "name": ["城阳街道"], "district_id": [street[:6]]}, geometry=shape, crs="EPSG:4326"
            ),
        )


def issue(app, **kw):
    with app.app_context():
        return accounts.issue_embed(get_store(), app.config["SECRET_KEY"], **{"view": "map", **kw})


def test_embed_token_valid_expired_tampered_revoked(embed_app):
    with_street(embed_app)
    c = embed_app.test_client()
    good = issue(embed_app, grids=["370214001"])
    r = c.get("/embed-test/map", query_string={"token": good["token"]})
    assert r.status_code == 200 and r.get_json() == {"grids": ["370214001"]}
    assert "frame-ancestors 'self' https://portal.example.gov.cn" in r.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in r.headers

    assert c.get("/embed-test/map").status_code == 403  # missing
    tampered = good["token"][:-3] + ("xyz" if not good["token"].endswith("xyz") else "abc")
    r = c.get("/embed-test/map", query_string={"token": tampered})
    assert r.status_code == 403 and "frame-ancestors" in r.headers["Content-Security-Policy"]
    with embed_app.app_context():  # expired
        from gridmap.domain import credentials as auth

        claims = auth.EmbedClaims(id=good["id"], view="map", expires_at=dt.datetime.utcnow() - dt.timedelta(seconds=1))
        expired = auth.sign_embed(claims, embed_app.config["SECRET_KEY"])
    assert c.get("/embed-test/map", query_string={"token": expired}).status_code == 403
    other_key = auth.sign_embed(
        auth.EmbedClaims(id=good["id"], view="map", expires_at=dt.datetime.utcnow() + dt.timedelta(days=1)), "guess"
    )
    assert c.get("/embed-test/map", query_string={"token": other_key}).status_code == 403
    wrong_view = issue(embed_app, view="stats")
    assert c.get("/embed-test/map", query_string={"token": wrong_view["token"]}).status_code == 403
    with embed_app.app_context():  # revoked
        accounts.revoke_embed(get_store(), good["id"])
    assert c.get("/embed-test/map", query_string={"token": good["token"]}).status_code == 403


def test_embed_token_optional_when_setting_off(embed_app):
    embed_app.config["EMBED_REQUIRE_TOKEN"] = False
    r = embed_app.test_client().get("/embed-test/map")
    assert r.status_code == 200 and r.get_json() == {"grids": None}


def test_embed_tokens_issued_by_planners_only(app, login):
    c = app.test_client()
    login(c, "community_official", {"communities": ["370214001001"]})
    assert c.post("/api/embed-tokens", json={"view": "map"}).status_code == 403
    login(c, "planner")
    with_street(app)
    r = c.post("/api/embed-tokens", json={"view": "map", "grids": ["370214001"], "hours": 2})
    assert r.status_code == 201 and r.get_json()["token"]
    eid = r.get_json()["id"]
    assert [e["id"] for e in c.get("/api/embed-tokens").get_json()["embeds"]] == [eid]
    assert c.delete(f"/api/embed-tokens/{eid}").status_code == 204
    assert c.post("/api/embed-tokens", json={"view": "map", "grids": ["37'; --"]}).status_code == 400


@pytest.mark.parametrize(
    "grids,why",
    [
        ([""], "空编码"),
        (["370214001", " "], "空编码"),
        (["370214002"], "不存在"),
        (["370214001999"], "不存在"),
        (["370214001001001"], "不存在"),
    ],
)
def test_embed_token_areas_must_exist_and_not_be_empty(app, login, grids, why):
    """``grids=[""]`` once meant "every grid"; a code of no real area (or of no published grid) is refused."""
    c = app.test_client()
    login(c, "planner")
    with_street(app)
    r = c.post("/api/embed-tokens", json={"view": "map", "grids": grids, "hours": 2})
    assert r.status_code == 400 and why in r.get_json()["error"]["message"]
    with app.app_context():
        assert len(get_store().read("embed_tokens")) == 0


# -- headers, cookies, errors -------------------------------------------------------------------------
def test_headers_on_pages_and_api(app):
    c = app.test_client()
    for path in ("/login", "/api/me", "/healthz", "/no-such-page", "/api/no-such"):
        r = c.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp, path
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    n1 = re.search(r"'nonce-([^']+)'", c.get("/login").headers["Content-Security-Policy"]).group(1)
    n2 = re.search(r"'nonce-([^']+)'", c.get("/login").headers["Content-Security-Policy"]).group(1)
    assert n1 != n2


def test_session_cookie_flags(app, app_factory, sqlite_store):
    add(app)
    r = sign_in(app.test_client())
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = {"base_url": "https://gridmap.example", "headers": {"Referer": "https://gridmap.example/login"}}
    r = sign_in(app.test_client(), **https)
    assert r.status_code == 302
    assert "Secure" in r.headers["Set-Cookie"] and "Strict-Transport-Security" in r.headers
    # over https a form post from another site (wrong Referer) is refused even with a token
    https["headers"] = {"Referer": "https://evil.example/"}
    assert sign_in(app.test_client(), **https).status_code == 400


def test_nonce_scripts_marks_generated_scripts_only():
    from gridmap.web.security import nonce_scripts

    app_ = __import__("flask").Flask("t")
    with app_.test_request_context("/"):
        out = nonce_scripts(
            '<script src="/static/a.js"></script><script>var a=1</script><script nonce="k">x</script>'
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
        )
        from gridmap.web.security import csp_nonce

        n = csp_nonce()
    assert out.count(f'nonce="{n}"') == 2 and 'nonce="k"' in out and "&lt;script&gt;" in out


def test_errors_have_one_json_shape_and_no_stack_trace(app, login):
    c = app.test_client()
    login(c, "planner")
    cases = [
        c.get("/api/nope"),
        c.put("/api/me", json={}),
        c.post("/api/tokens", data=b"{not json", content_type="application/json"),
        c.post("/api/tokens", json=[1, 2]),
        c.post("/api/tokens", json={"days": "many"}),
    ]
    for r in cases:
        body = r.get_json()
        assert 400 <= r.status_code < 500 and set(body) == {"error"}, (r.status_code, body)
        assert body["error"]["status"] == r.status_code and body["error"]["code"] and body["error"]["message"]
        assert b"Traceback" not in r.data


def test_request_too_large_is_413_json(app_factory, sqlite_store):
    app = app_factory(sqlite_store, MAX_CONTENT_LENGTH=1000)
    add(app, "plan", "planner")
    c = app.test_client()
    sign_in(c, "plan")
    r = c.post("/api/tokens", json={"name": "x" * 5000})
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    r = c.post("/login", data={"username": "x" * 5000, "password": "y"})
    assert r.status_code == 413 and b"Traceback" not in r.data


# -- audit and personal data -------------------------------------------------------------------------
def test_serve_personal_masks_and_audits(monkeypatch, app_factory, sqlite_store, login):
    bp = Blueprint("hh", __name__)
    rows = [
        {
            "id": "h1",
            "grid_code": G1,
            "head_name": "张三",
            "phone": "13812345678",
            "room": "3-2-501",
            "tags": "elderly_alone",
        },
        {
            "id": "h2",
            "grid_code": "370214001001002",
            "head_name": "李四",
            "phone": "13900001111",
            "room": "1-1-101",
            "tags": "disabled",
        },
    ]

    @bp.get("/api/test-households")
    @allow("viewer")
    def households():
        return jsonify(serve_personal("households", rows, target="test"))

    mod = types.ModuleType("hh_mod")
    mod.bp = bp
    monkeypatch.setitem(sys.modules, "hh_mod", mod)
    monkeypatch.setattr("gridmap.web.BLUEPRINTS", BLUEPRINTS + ["hh_mod:bp"])
    app = app_factory(sqlite_store)
    c = app.test_client()
    leader = login(c, "grid_leader", {"grids": [G1]})
    assert c.get("/api/test-households").get_json() == [rows[0] | {}]
    login(c, "planner")
    got = c.get("/api/test-households").get_json()
    assert [r["head_name"] for r in got] == ["张*", "李*"] and got[0]["phone"] == "138****5678"
    login(c, "viewer")
    assert c.get("/api/test-households").get_json() == []
    with app.app_context():
        log = get_store().read("audit_log", where={"action": "households.read"})
    assert sorted(log["actor"]) == sorted(
        [leader["username"], next(a for a in log["actor"] if a != leader["username"])]
    )
    assert len(log) == 2  # the viewer saw nothing personal: no entry
    assert all("张三" not in str(d) for d in log["detail"])


def test_audit_api_pages_the_log_newest_first(app, login):
    t0 = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    with app.app_context():
        for i in range(5):
            audit.record(get_store(), "tester", "thing.did", f"t:{i}", at=t0 + dt.timedelta(minutes=i))
    c = app.test_client()
    login(c, "admin")
    got = c.get("/api/audit?actor=tester&limit=2&offset=1").get_json()["entries"]
    assert [(e["target"], e["at"]) for e in got] == [("t:3", "2026-05-01T09:03:00Z"), ("t:2", "2026-05-01T09:02:00Z")]
    assert [e["target"] for e in c.get("/api/audit?actor=tester&offset=3").get_json()["entries"]] == ["t:1", "t:0"]


def test_malformed_multipart_form_is_400_not_500(app):
    body = (
        b'--B\r\nContent-Disposition: form-data; name="\xc2\x84"\r\n\r\n{}\r\n--B\r\n'
        b'Content-Disposition: form-data; name=""\r\n\r\n801\r\n--B\r\n'
        b'Content-Disposition: form-data; name="file"; filename="f"\r\n\r\n\xff\r\n--B--\r\n'
    )
    for path in ("/login", "/api/tokens"):
        c = app.test_client()
        c.get("/login")
        r = c.post(path, data=body, content_type="multipart/form-data; boundary=B")
        assert r.status_code in (400, 401), (path, r.status_code)


@pytest.mark.parametrize("body", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 65 + "1" + "}" * 65])
def test_deeply_nested_json_is_a_400_not_a_traceback(app, login, body):
    """``[`` × 100,000 answered 500 with a traceback on every JSON endpoint tried, anonymously."""
    anon = app.test_client()
    for path in ("/api/complaints", "/open311/v2/requests.json"):
        r = anon.post(path, data=body, content_type="application/json")
        assert r.status_code == 400, (path, r.status_code, r.get_data(as_text=True)[:200])
        err = r.get_json()  # Open311 answers its own error list: [{"code", "description"}]
        assert (err[0]["code"] if path.startswith("/open311") else err["error"]["status"]) == 400
        assert "Traceback" not in r.get_data(as_text=True)
    planner = app.test_client()
    login(planner, "planner")
    for path in ("/api/planner/drafts", "/api/embed-tokens", "/api/tokens"):
        r = planner.post(path, data=body, content_type="application/json")
        assert r.status_code == 400, (path, r.status_code, r.get_data(as_text=True)[:200])
        assert "嵌套过深" in r.get_json()["error"]["message"] or "not JSON" in r.get_json()["error"]["message"]


def test_json_nested_to_the_limit_is_still_read():
    from gridmap.io.safety import MAX_JSON_DEPTH, loads_json

    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads_json(ok) == eval(ok)
    with pytest.raises(Exception, match="nested deeper"):
        loads_json("[" + ok + "]")


def test_anonymous_writes_to_protected_routes_get_401_before_csrf(app):
    """An anonymous POST without a CSRF token to a protected route answered 400 (CSRF); the caller's real
    problem is that nobody is signed in: 401, in the JSON shape for the API."""
    from gridmap.web.access import lowest_role

    c = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        methods = sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})
        if not methods or lowest_role(view) in (None, "public"):
            continue
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "x", rule.rule)
        for method in methods:
            r = c.open(url, method=method, data={"field": "value"})
            assert r.status_code == 401, (method, url, r.status_code)
            if url.startswith("/api/"):
                assert r.get_json()["error"]["status"] == 401
            checked += 1
    assert checked >= 10
