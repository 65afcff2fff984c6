"""In a real Chromium: script payloads typed by users are shown as text and never run."""
from __future__ import annotations

import pytest

from gridmap.services import accounts
from gridmap.web import get_store

pytestmark = pytest.mark.browser

#: each payload sets window.__xss when it runs; the page must show it as text instead
PAYLOADS = [
    "<script>window.__xss=1</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "\"><svg onload=\"window.__xss=3\">",
    "${window.__xss=4}`;window.__xss=5;`",
    "</script><script>window.__xss=6</script>",
    "javascript:window.__xss=7",
]


def no_xss(page) -> None:
    assert page.evaluate("window.__xss === undefined"), f"a payload ran: {page.evaluate('window.__xss')}"


def test_login_form_echo_is_text(app, browser, live_server):
    with app.app_context():
        accounts.add_user(get_store(), username="li", role="planner", password="correct horse battery")
    server = live_server(app)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for payload in PAYLOADS:
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", payload)
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert page.input_value("input[name=username]") == payload
        assert "用户名或密码错误" in page.inner_text("body")
        no_xss(page)
    # and the real sign-in works through the same form (CSRF token included)
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.evaluate("fetch('/api/me').then(r => r.json()).then(j => j.username)") == "li"
    page.close()
