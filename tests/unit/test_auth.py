"""Passwords, scopes, lockout policy and embed token signing in gridmap.domain.credentials."""

from __future__ import annotations

import datetime as dt

import pytest

from gridmap.domain import credentials as auth
from gridmap.errors import InvalidInput

NOW = dt.datetime(2026, 5, 1, 9, 0, 0, tzinfo=dt.UTC)  # times are aware UTC inside


def test_password_hash_is_argon2_and_verifies():
    h = auth.hash_password("correct horse battery")
    assert h.startswith("$argon2id$") and "correct" not in h
    assert auth.verify_password(h, "correct horse battery")
    assert not auth.verify_password(h, "correct horse batterY")
    assert not auth.verify_password(None, "anything at all")
    assert not auth.verify_password("not-a-hash", "anything at all")


def test_password_policy():
    with pytest.raises(auth.BadPassword):
        auth.hash_password("short")
    with pytest.raises(auth.BadPassword):
        auth.hash_password("leader0001", username="Leader0001")


def test_scopes_are_validated_per_role():
    assert auth.normalise_scope("grid_leader", {"grids": ["370214001001002", "370214001001001"]}) == {
        "grids": ["370214001001001", "370214001001002"]
    }
    # departments are stored as the codes requests are routed to, whichever name was given
    assert auth.normalise_scope("department", {"department": "城管"}) == {"departments": ["urban_management"]}
    assert auth.normalise_scope("department", {"departments": ["police", "Civil Affairs", "公安"]}) == {
        "departments": ["civil_affairs", "police"]
    }
    with pytest.raises(InvalidInput, match="urban_management"):
        auth.normalise_scope("department", {"departments": ["城市管理局"]})
    assert auth.normalise_scope("planner", None) == {}
    for role, scope in [
        ("grid_leader", {}),
        ("grid_leader", {"grids": ["12"]}),
        ("community_official", {"grids": ["370214001001001"]}),
        ("root", {}),
        ("viewer", {"colour": ["x"]}),
    ]:
        with pytest.raises(InvalidInput):
            auth.normalise_scope(role, scope)
    assert auth.parse_scope_args(["grids=370214001001001,370214001001002"]) == {
        "grids": ["370214001001001", "370214001001002"]
    }


def test_api_token_secret_only_hashed():
    tid, secret = auth.new_api_token()
    assert secret.startswith("gm_") and len(secret) > 40 and tid.startswith("tok-")
    assert auth.token_hash(secret) != secret and len(auth.token_hash(secret)) == 64
    assert auth.new_api_token()[1] != secret


def test_lockout_policy():
    p = auth.LoginPolicy(
        max_failures=3, lockout=dt.timedelta(minutes=10), max_failures_per_ip=4, ip_window=dt.timedelta(minutes=5)
    )
    assert p.after_failure(0, NOW) == (1, None)
    assert p.after_failure(2, NOW) == (3, NOW + dt.timedelta(minutes=10))
    assert p.is_locked(NOW + dt.timedelta(minutes=1), NOW)
    assert not p.is_locked(NOW - dt.timedelta(seconds=1), NOW) and not p.is_locked(None, NOW)
    old = [NOW - dt.timedelta(minutes=6)] * 10
    assert not p.ip_blocked(old + [NOW] * 3, NOW)
    assert p.ip_blocked(old + [NOW] * 4, NOW)


def claims(**kw):
    base = dict(
        id="emb-1", view="map", expires_at=NOW + dt.timedelta(hours=1), grids=("370214001001",), layers=("grids",)
    )
    base.update(kw)
    return auth.EmbedClaims(**base)


def test_embed_round_trip_and_scope():
    token = auth.sign_embed(claims(), "k1")
    c = auth.read_embed(token, "k1", now=NOW, view="map")
    assert (c.id, c.view, c.grids, c.layers) == ("emb-1", "map", ("370214001001",), ("grids",))
    assert c.expires_at == NOW + dt.timedelta(hours=1)
    assert c.allows_grid("370214001001003") and not c.allows_grid("370214002001001")
    assert c.allows_layer("grids") and not c.allows_layer("households")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # tampered signature
        lambda t: "x" + t[1:],  # tampered payload
        lambda t: "",
        lambda t: "not.a.token",
    ],
)
def test_embed_tampered_refused(mutate):
    with pytest.raises(auth.InvalidToken):
        auth.read_embed(mutate(auth.sign_embed(claims(), "k1")), "k1", now=NOW)


def test_embed_expired_wrong_key_wrong_view_refused():
    token = auth.sign_embed(claims(), "k1")
    with pytest.raises(auth.InvalidToken, match="expired"):
        auth.read_embed(token, "k1", now=NOW + dt.timedelta(hours=1))
    with pytest.raises(auth.InvalidToken):
        auth.read_embed(token, "k2", now=NOW)
    with pytest.raises(auth.InvalidToken):
        auth.read_embed(token, "k1", now=NOW, view="stats")
