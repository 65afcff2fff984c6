"""The app's own static files are fingerprinted: every /static/ URL a page writes carries ``?v=`` and the file's
digest, such a URL may be kept for a year, and anything else (no ``v``, an old page's ``v``) revalidates."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maps_world
from maps_world import A

STATIC = Path(__file__).resolve().parents[2] / "gridmap" / "static"


@pytest.fixture
def c(app_factory, sqlite_store):
    maps_world.build(sqlite_store)
    return app_factory(sqlite_store).test_client()


def _static_urls(html: str) -> set[str]:
    return set(re.findall(r"""/static/[^"'\s<>)]+""", html))


@pytest.mark.parametrize("path", ["/", f"/grids/{A}", "/complaints/new", "/kpi", "/?lang=en"])
def test_every_static_url_a_page_writes_is_the_files_digest_and_kept_for_a_year(c, path):
    urls = _static_urls(c.get(path).get_data(as_text=True))
    assert urls, path
    for url in urls:
        name, _, query = url[len("/static/") :].partition("?")
        digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
        assert query == f"v={digest}", (path, url)
        r = c.get(url)
        assert r.status_code == 200 and r.data == (STATIC / name).read_bytes(), url
        cc = r.headers["Cache-Control"]
        assert "max-age=31536000" in cc and "immutable" in cc and "public" in cc and "no-cache" not in cc, (url, cc)


def test_a_static_url_without_the_current_digest_revalidates(c):
    for url in ("/static/js/gridmap.js", "/static/js/gridmap.js?v=0123456789ab", "/static/js/gridmap.js?v="):
        r = c.get(url)
        assert r.status_code == 200 and r.data == (STATIC / "js/gridmap.js").read_bytes(), url
        cc = r.headers["Cache-Control"]
        assert "no-cache" in cc and "max-age=31536000" not in cc and "immutable" not in cc, (url, cc)
        assert r.headers.get("ETag"), url  # so the revalidation is a 304
    etag = c.get("/static/js/gridmap.js").headers["ETag"]
    assert c.get("/static/js/gridmap.js", headers={"If-None-Match": etag}).status_code == 304


def test_the_grid_leaders_offline_list_names_the_same_urls_as_the_pages(app_factory, sqlite_store):
    """The service worker keeps what the scope list names; a page asks for the fingerprinted URL, so the list must
    name that one too, or the phone offline would miss its own scripts."""
    from gridmap.services.accounts import add_user

    maps_world.build(sqlite_store)
    add_user(sqlite_store, username="leader", role="grid_leader", password="offline-密码-2468", scope={"grids": [A]})
    c = app_factory(sqlite_store).test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = c.post("/login", data={"username": "leader", "password": "offline-密码-2468", "csrf_token": token})
    assert signed_in.status_code in (302, 303)
    listed = set(c.get("/api/offline/scope").get_json()["static"])
    written = _static_urls(c.get("/complaints").get_data(as_text=True)) | _static_urls(
        c.get(f"/grids/{A}").get_data(as_text=True)
    )
    assert written and listed, (written, listed)
    assert all("?v=" in u for u in listed if u.startswith("/static/")), listed  # (/vendor/ URLs carry a version)
    assert written & listed  # the same fingerprinted URLs, not the bare paths


def test_a_changed_file_gets_a_new_url(tmp_path, monkeypatch):
    from gridmap.web import assets

    (tmp_path / "js").mkdir()
    f = tmp_path / "js" / "x.js"
    f.write_text("var a = 1;\n")
    monkeypatch.setattr(assets, "resource_path", lambda name, package=False: tmp_path)
    first = assets.static_url("js/x.js")
    assert first == f"/static/js/x.js?v={hashlib.sha256(f.read_bytes()).hexdigest()[:12]}"
    f.write_text("var a = 22;\n")  # another size: a new digest even within the same mtime tick
    second = assets.static_url("js/x.js")
    assert second != first and second.endswith(hashlib.sha256(f.read_bytes()).hexdigest()[:12])
    assert assets.static_url("js/missing.js") == "/static/js/missing.js"
    assert assets.static_version("../../etc/passwd") is None  # nothing outside the static folder is read
