"""The secret key (issue #16): `gridmap serve` refuses to start without one; `gridmap demo` and `gridmap init`
write one once into the instance file beside the store and every later start reads it, so embed tokens and
sessions survive a restart; a rotation keeps the old key verifying until its grace period ends."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
from click.testing import CliRunner

from gridmap import clock, config, instance
from gridmap.cli.main import main
from gridmap.services import accounts
from gridmap.store import open_store
from gridmap.web import create_app

STREET = "370214001"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A store in tmp_path chosen by GRIDMAP_DATABASE_URL, no GRIDMAP_SECRET_KEY."""
    monkeypatch.delenv("GRIDMAP_SECRET_KEY", raising=False)
    monkeypatch.delenv("GRIDMAP_INSTANCE_FILE", raising=False)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", f"sqlite:///{tmp_path / 'gridmap.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _embed_status(app, token: str) -> int:
    return app.test_client().get(f"/embed/streets/{STREET}", query_string={"token": token}).status_code


def test_serve_refuses_to_start_without_a_key(env):
    res = _run("serve", "--port", "1")
    assert res.exit_code == 1
    assert "no secret key" in res.stderr and "GRIDMAP_SECRET_KEY" in res.stderr and "gridmap init" in res.stderr
    assert not (env / "gridmap.instance.json").exists()


def test_init_writes_the_key_once_readable_only_by_its_owner(env):
    assert _run("init").exit_code == 0
    path = env / "gridmap.instance.json"
    first = json.loads(path.read_text())["secret_key"]
    assert len(first) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _run("init").exit_code == 0
    assert json.loads(path.read_text())["secret_key"] == first  # written once, never replaced


def test_the_demos_key_survives_a_restart(env):
    res = _run("demo", "--no-serve", "--no-accounts")
    assert res.exit_code == 0, res.output
    path = env / "gridmap.instance.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and f"written to {path}" in res.stderr

    before = create_app({"RATE_LIMIT_ENABLED": False})  # the server before the restart
    store = open_store(f"sqlite:///{env / 'gridmap.db'}")
    try:
        token = accounts.issue_embed(store, before.config["SECRET_KEY"], view="map", grids=[STREET])["token"]
    finally:
        store.close()
    with before.test_client() as c:
        with c.session_transaction() as sess:
            sess["lang"] = "en"
        cookie = c.get_cookie("session")
    assert _embed_status(before, token) == 200

    _run("demo", "--no-serve", "--no-accounts", "--keep")  # loading again keeps the key
    after = create_app({"RATE_LIMIT_ENABLED": False})  # a new process reads the same instance file
    assert after.config["SECRET_KEY"] == before.config["SECRET_KEY"]
    assert _embed_status(after, token) == 200
    with after.test_client() as c:
        c.set_cookie("session", cookie.value)
        with c.session_transaction() as sess:
            assert sess.get("lang") == "en"  # the session cookie signed before the restart still opens

    path.unlink()  # without the file, as before this issue: a random key, and the token dies
    assert _embed_status(create_app({"RATE_LIMIT_ENABLED": False}), token) == 403


def test_a_rotated_key_verifies_until_its_grace_period_ends(env, fixed_now):
    now = fixed_now("2026-03-02T08:00:00Z")
    assert _run("init").exit_code == 0
    _run("demo", "--no-serve", "--no-accounts", "--keep")
    old_app = create_app({"RATE_LIMIT_ENABLED": False})
    store = open_store(f"sqlite:///{env / 'gridmap.db'}")
    try:
        old = accounts.issue_embed(store, old_app.config["SECRET_KEY"], view="map", hours=24 * 60)["token"]
        res = _run("init", "--rotate", "--grace-days", "7")
        assert res.exit_code == 0 and "2026-03-09T08:00:00Z" in res.output
        app = create_app({"RATE_LIMIT_ENABLED": False})
        assert app.config["SECRET_KEY"] != old_app.config["SECRET_KEY"]
        new = accounts.issue_embed(store, app.config["SECRET_KEY"], view="map", hours=24 * 60)["token"]
    finally:
        store.close()
    assert _embed_status(app, old) == 200 and _embed_status(app, new) == 200
    fixed_now(now + dt.timedelta(days=7, seconds=1))  # the grace period is over: the old key no longer verifies
    assert _embed_status(app, old) == 403 and _embed_status(app, new) == 200
    assert _embed_status(old_app, new) == 403  # a server still on the old key does not trust the new one


def _status(app, rid: str, token: str) -> int:
    return app.test_client().get(f"/complaints/{rid}", query_string={"t": token}).status_code


def test_status_links_outlive_a_session_key_rotation_until_links_are_rotated(env, fixed_now):
    """A resident's link is signed with the instance's link key, which `--rotate` leaves alone; a file written
    before link keys existed keeps its links through its first rotation; `--rotate-links` ends them."""
    now = fixed_now("2026-03-02T08:00:00Z")
    _run("demo", "--no-serve", "--no-accounts")
    path = env / "gridmap.instance.json"
    legacy = json.loads(path.read_text())
    assert len(legacy.pop("link_key")) == 64  # a new file has its own link key …
    path.write_text(json.dumps(legacy))  # … this one is as written before link keys existed
    store = open_store(f"sqlite:///{env / 'gridmap.db'}")
    try:
        rid = str(store.read("complaints")["id"].iloc[0])
    finally:
        store.close()
    with create_app({"RATE_LIMIT_ENABLED": False}).test_request_context():
        from gridmap.web.context import status_url

        old_link = status_url(rid)
    token = old_link.split("t=", 1)[1]
    assert _status(create_app({"RATE_LIMIT_ENABLED": False}), rid, token) == 200

    assert _run("init", "--rotate", "--grace-days", "1").exit_code == 0
    data = json.loads(path.read_text())
    assert data["link_key"] == legacy["secret_key"] != data["secret_key"]  # the outgoing key now signs links
    fixed_now(now + dt.timedelta(days=400))  # long after the session key's grace period
    app = create_app({"RATE_LIMIT_ENABLED": False})
    assert _status(app, rid, token) == 200
    with app.test_request_context():
        from gridmap.web.context import status_url

        assert status_url(rid) == old_link  # and new receipts carry the same link

    assert _run("init", "--rotate", "--grace-days", "1").exit_code == 0  # a second rotation: links still open
    assert _status(create_app({"RATE_LIMIT_ENABLED": False}), rid, token) == 200

    res = _run("init", "--rotate-links")
    assert res.exit_code == 0 and "no longer open" in res.output
    app = create_app({"RATE_LIMIT_ENABLED": False})
    assert _status(app, rid, token) == 404  # the old link says nothing …
    with app.test_request_context():
        from gridmap.web.context import status_url

        fresh = status_url(rid)
    assert fresh != old_link and _status(app, rid, fresh.split("t=", 1)[1]) == 200  # … a new one opens


def test_keys_from_the_environment_win_and_fallbacks_come_from_there_too(env, monkeypatch):
    until = clock.iso(clock.now() + dt.timedelta(days=1))
    monkeypatch.setenv("GRIDMAP_SECRET_KEY", "new-key")
    monkeypatch.setenv("GRIDMAP_SECRET_KEY_FALLBACKS", json.dumps([{"key": "old-key", "until": until}]))
    ring = instance.keyring(config.load())
    assert ring is not None and ring.current == "new-key" and ring.verifying() == ["old-key", "new-key"]
    monkeypatch.setenv("GRIDMAP_SECRET_KEY_FALLBACKS", '[{"key": "old-key"}]')
    res = _run("settings", "--check")
    assert res.exit_code == 1 and "GRIDMAP_SECRET_KEY_FALLBACKS" in res.stderr
