"""Running in production (issue #16): request ids in responses, logs and errors; trusted proxies; health,
readiness and Prometheus metrics."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import request
from prometheus_client.parser import text_string_to_metric_families

from gridmap import jobs, logs
from gridmap.domain.complaints.catalogue import STATES
from gridmap.web.access import allow

PROXY, CLIENT, OTHER = "10.0.0.2", "203.0.113.7", "198.51.100.9"


@pytest.fixture
def log_lines():
    """``log_lines(fmt)``: configure gridmap's logging as ``gridmap serve`` does, into a buffer; returns a
    function giving the lines written so far."""
    handlers = []

    def start(fmt: str):
        buf = io.StringIO()
        handlers.append(logs.configure(level="INFO", fmt=fmt, stream=buf))
        return lambda: [line for line in buf.getvalue().splitlines() if line.strip()]

    yield start
    for h in handlers:
        logging.getLogger().removeHandler(h)
    logging.getLogger().setLevel(logging.WARNING)


def test_text_log_lines_carry_the_request_id_the_response_carries(client, log_lines):
    lines = log_lines("text")
    r = client.get("/api/layers")
    rid = r.headers["X-Request-ID"]
    assert r.status_code == 200 and len(rid) == 32
    access = [line for line in lines() if "gridmap.access" in line]
    assert len(access) == 1, lines()
    line = access[0]
    assert f"[{rid}]" in line and "GET /api/layers 200" in line and "role=public" in line and "user=-" in line
    assert "ms" in line and "B " in line


def test_json_log_lines_and_json_errors_carry_the_same_request_id(client, login, log_lines):
    lines = log_lines("json")
    user = login(client, "planner")
    r = client.get("/api/planner/drafts/no-such-draft")
    rid = r.headers["X-Request-ID"]
    assert r.status_code == 404 and r.get_json()["error"]["request_id"] == rid
    records = [json.loads(line) for line in lines()]
    access = [rec for rec in records if rec["logger"] == "gridmap.access"]
    assert len(access) == 1
    a = access[0]
    assert a["request_id"] == rid and a["status"] == 404 and a["method"] == "GET"
    assert a["path"] == "/api/planner/drafts/no-such-draft" and a["user"] == user["id"] and a["role"] == "planner"
    assert isinstance(a["bytes"], int) and a["bytes"] > 0 and a["duration_ms"] >= 0


def test_a_crash_is_logged_with_its_traceback_and_answered_without_one(app, log_lines):
    lines = log_lines("json")

    @app.get("/api/boom")
    @allow("public")
    def boom():  # a bug: an exception no one expected
        raise RuntimeError("secret internals")

    r = app.test_client().get("/api/boom")
    body = r.get_json()
    assert r.status_code == 500 and "secret internals" not in r.get_data(as_text=True)
    assert body["error"]["request_id"] == r.headers["X-Request-ID"]
    errors = [json.loads(line) for line in lines() if '"ERROR"' in line]
    assert errors and errors[0]["request_id"] == r.headers["X-Request-ID"]
    assert "RuntimeError: secret internals" in errors[0]["traceback"]


def test_every_response_has_a_request_id_and_each_is_new(client):
    ids = {client.get(path).headers["X-Request-ID"] for path in ("/healthz", "/no-such-page", "/api/layers")}
    assert len(ids) == 3


def test_a_request_id_is_taken_only_from_a_trusted_proxy(app_factory, sqlite_store):
    behind = app_factory(sqlite_store, TRUSTED_PROXIES=PROXY).test_client()
    r = behind.get("/healthz", headers={"X-Request-ID": "nginx-abc.123"}, environ_base={"REMOTE_ADDR": PROXY})
    assert r.headers["X-Request-ID"] == "nginx-abc.123"
    # the same header straight from a client is ignored, and so is an insane id from the proxy
    r = behind.get("/healthz", headers={"X-Request-ID": "nginx-abc.123"}, environ_base={"REMOTE_ADDR": CLIENT})
    assert r.headers["X-Request-ID"] != "nginx-abc.123"
    r = behind.get("/healthz", headers={"X-Request-ID": "<script>x</script>"}, environ_base={"REMOTE_ADDR": PROXY})
    assert "<" not in r.headers["X-Request-ID"]
    direct = app_factory(sqlite_store).test_client()
    assert direct.get("/healthz", headers={"X-Request-ID": "x1"}).headers["X-Request-ID"] != "x1"


def _whoami(client, **kw):
    app = client.application
    if "whoami" not in app.view_functions:

        @app.get("/whoami")
        @allow("public")
        def whoami():
            return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return client.get("/whoami", **kw)


FORWARDED = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "grid.example.gov.cn"}


@pytest.mark.parametrize("trusted", ["1", PROXY, "10.0.0.0/24"])
def test_proxy_headers_are_honoured_from_a_trusted_hop(app_factory, sqlite_store, trusted):
    c = app_factory(sqlite_store, TRUSTED_PROXIES=trusted).test_client()
    r = _whoami(c, headers=FORWARDED, environ_base={"REMOTE_ADDR": PROXY})
    assert r.get_json() == {"addr": CLIENT, "scheme": "https", "host": "grid.example.gov.cn"}
    # over https through the proxy: HSTS, and COOKIE_SECURE=auto cookies are Secure
    r = c.get("/login", headers=FORWARDED, environ_base={"REMOTE_ADDR": PROXY})
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")
    assert all("Secure" in v for v in r.headers.getlist("Set-Cookie")), r.headers.getlist("Set-Cookie")


def test_proxy_headers_are_ignored_from_an_untrusted_hop(app_factory, sqlite_store):
    for settings, remote in ((dict(), PROXY), (dict(TRUSTED_PROXIES=PROXY), OTHER)):
        c = app_factory(sqlite_store, **settings).test_client()
        r = _whoami(c, headers=FORWARDED, environ_base={"REMOTE_ADDR": remote})
        assert r.get_json() == {"addr": remote, "scheme": "http", "host": "localhost"}
        r = c.get("/login", headers=FORWARDED, environ_base={"REMOTE_ADDR": remote})
        assert "Strict-Transport-Security" not in r.headers
        assert not any("Secure" in v for v in r.headers.getlist("Set-Cookie"))


def test_a_client_cannot_pose_as_a_second_proxy(app_factory, sqlite_store):
    c = app_factory(sqlite_store, TRUSTED_PROXIES=PROXY).test_client()
    # the client wrote its own X-Forwarded-For: nginx appends the real address; only that one is believed
    r = _whoami(c, headers={"X-Forwarded-For": f"1.2.3.4, {CLIENT}"}, environ_base={"REMOTE_ADDR": PROXY})
    assert r.get_json()["addr"] == CLIENT


def test_the_sign_in_throttle_counts_real_clients_behind_the_proxy(app_factory, sqlite_store):
    app = app_factory(
        sqlite_store, TRUSTED_PROXIES="1", LOGIN_MAX_FAILURES_PER_IP=3, LOGIN_MAX_FAILURES=100, WTF_CSRF_ENABLED=False
    )
    c = app.test_client()

    def attempt(addr: str):
        return c.post(
            "/login",
            data={"username": "nobody", "password": "wrong-password-1"},
            headers={"X-Forwarded-For": addr},
            environ_base={"REMOTE_ADDR": PROXY},
        )

    first = attempt(CLIENT)
    for _ in range(3):
        attempt(CLIENT)
    refused = attempt(CLIENT)
    assert refused.status_code == 429, refused.status_code
    other = attempt(OTHER)  # another resident behind the same proxy is not locked out
    assert other.status_code == first.status_code != 429


def test_healthz_does_no_store_work(app_factory):
    class NoStore:
        def __getattr__(self, name):
            raise AssertionError(f"/healthz touched the store ({name})")

    r = app_factory(NoStore()).test_client().get("/healthz")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_readyz_needs_a_published_plan_and_the_newest_schema(client, demo_app_client):
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["checks"]["store"] == "ok" and body["checks"]["schema"] == "ok"
    assert body["checks"]["published_plan"].startswith("no published plan")
    r = demo_app_client.get("/readyz")
    assert r.status_code == 200 and r.get_json()["status"] == "ready"


@pytest.fixture
def demo_app_client(app_factory, demo_store):
    return app_factory(demo_store).test_client()


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_parse_with_prometheus_client(demo_app_client):
    c = demo_app_client
    c.get("/api/layers")
    c.get("/api/layers")
    c.get("/no-such-page")
    r = c.get("/metrics")  # from 127.0.0.1, the test client's address: allowed by default
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    fam = _families(r.get_data(as_text=True))
    reqs = {(s.labels["route"], s.labels["status"]): s.value for s in fam["gridmap_http_requests"].samples}
    assert reqs[("/api/layers", "200")] == 2 and reqs[("(unmatched)", "404")] == 1
    counts = [s for s in fam["gridmap_http_request_duration_seconds"].samples if s.name.endswith("_count")]
    assert any(s.labels["route"] == "/api/layers" and s.value == 2 for s in counts)
    open_by_state = {s.labels["state"]: s.value for s in fam["gridmap_complaints_open"].samples}
    open_states = [k for k, v in STATES.items() if v.type == "open"]
    assert set(open_by_state) == set(open_states)
    store = c.application.extensions["gridmap_store"]
    assert sum(open_by_state.values()) == store.count("complaints", where={"state": open_states}) > 0
    assert "gridmap_complaints_overdue" in fam and "gridmap_job_duration_seconds" in fam


def test_job_durations_reach_the_metrics(demo_app_client):
    with jobs.timed("import"):
        pass
    fam = _families(demo_app_client.get("/metrics").get_data(as_text=True))
    counts = {
        (s.labels["job"], s.labels["outcome"]): s.value
        for s in fam["gridmap_job_duration_seconds"].samples
        if s.name.endswith("_count")
    }
    assert counts[("import", "ok")] >= 1


def test_metrics_are_refused_to_other_addresses_and_roles(app_factory, sqlite_store, login, arm_csrf):
    app = app_factory(sqlite_store, METRICS_ADDRESSES="10.9.0.0/16", METRICS_ROLE="planner")
    c = app.test_client()
    assert c.get("/metrics").status_code == 403  # 127.0.0.1 is not in the list any more
    assert c.get("/metrics", environ_base={"REMOTE_ADDR": "10.9.3.4"}).status_code == 200
    login(c, "viewer")
    assert c.get("/metrics").status_code == 403
    login(c, "planner")
    assert c.get("/metrics").status_code == 200
