"""Sessions carry a version: a cookie copied before sign-out, a new password, a role or scope change or
disabling stops working at once (it kept working for 12 hours)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.services import accounts
from gridmap.web import get_store
from tests.web.test_security import PW, add, csrf_from, sign_in


def _me(client) -> dict:
    return client.get("/api/me").get_json()


def _copy_cookie(src, dst) -> None:
    """A second client holding the very same session cookie (what an attacker copied)."""
    cookie = src.get_cookie("session")
    assert cookie is not None
    dst.set_cookie("session", cookie.value)


@pytest.fixture
def signed_in(app):
    add(app)
    victim, thief = app.test_client(), app.test_client()
    assert sign_in(victim).status_code == 302
    _copy_cookie(victim, thief)
    assert _me(thief)["username"] == "li"  # the copy works, as any cookie does
    return victim, thief


def test_sign_out_ends_copied_cookies(signed_in):
    victim, thief = signed_in
    token = csrf_from(victim.get("/login").get_data(as_text=True))
    assert victim.post("/logout", data={"csrf_token": token}).status_code == 302
    assert _me(thief)["authenticated"] is False
    assert _me(victim)["authenticated"] is False


@pytest.mark.parametrize("change", ["passwd", "role", "scope", "disable"])
def test_account_changes_end_open_sessions(app, signed_in, change):
    victim, thief = signed_in
    with app.app_context():
        store = get_store()
        if change == "passwd":
            accounts.set_password(store, "li", "another long password")
        elif change == "role":
            accounts.set_role(store, "li", role="viewer")
        elif change == "scope":
            accounts.set_role(store, "li", scope={"grids": ["370214001001002"]})
        else:
            accounts.set_active(store, "li", False)
    assert _me(thief)["authenticated"] is False and _me(victim)["authenticated"] is False
    if change != "disable":  # signing in again works, with the new rights
        fresh = app.test_client()
        assert sign_in(fresh, password="another long password" if change == "passwd" else PW).status_code == 302
        me = _me(fresh)
        assert me["authenticated"] and me["role"] == ("viewer" if change == "role" else "grid_leader")


def test_an_unrelated_account_change_keeps_other_sessions(app, signed_in):
    victim, thief = signed_in
    add(app, username="wang")
    with app.app_context():
        accounts.set_password(get_store(), "wang", "another long password")
    assert _me(victim)["username"] == "li"


def test_users_role_command_changes_rights_and_ends_sessions(app, signed_in, monkeypatch):
    victim, _ = signed_in
    with app.app_context():
        url = get_store().url
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    res = CliRunner().invoke(
        main, ["users", "role", "li", "--role", "community_official", "--scope", "communities=370214001001"]
    )
    assert res.exit_code == 0, res.output
    assert "community_official" in res.output
    assert _me(victim)["authenticated"] is False
    bad = CliRunner().invoke(main, ["users", "role", "li"])
    assert bad.exit_code == 2
