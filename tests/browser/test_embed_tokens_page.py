"""The embed tokens page (journey 4), in Chromium: the form refuses a code that does not fit the chosen view
(a community code for a one-grid embed framed a 404), the expiry is listed in the service's zone, and the copy
button says when the browser refused the clipboard, leaving the snippet selected to copy by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "services"))
from plan_world import COM, seed
from tests.browser.pagekit import sign_in

pytestmark = pytest.mark.browser

A = f"{COM}001"
PASSWORD = "planner-pass-2026!"
REFUSE_CLIPBOARD = """Object.defineProperty(navigator, "clipboard", {value: {writeText: () =>
    Promise.reject(new DOMException("Write permission denied.", "NotAllowedError"))}});"""


@pytest.fixture
def server(app_factory, sqlite_store, live_server, fixed_now):
    from gridmap.services.accounts import add_user

    fixed_now("2026-12-04T16:36:00Z")
    seed(sqlite_store, ["AAB", "AAB", "AAB"])
    add_user(sqlite_store, username="planner1", role="planner", password=PASSWORD)
    return live_server(app_factory(sqlite_store))


def _issue(page, view: str, area: str) -> None:
    page.select_option("#view", view)
    page.fill("#area", area)
    page.click("#issue-button")


@pytest.mark.parametrize("size", [(390, 844), (1440, 900)])
def test_the_form_refuses_a_code_of_another_level_and_lists_expiry_in_the_zone(server, browser, size):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    sign_in(page, server.url, "planner1", PASSWORD)
    page.goto(f"{server.url}/embed/tokens")
    _issue(page, "grid", COM)  # 一个网格 with a 12-digit community code
    expect(page.locator("#message")).to_contain_text("区域编码")
    expect(page.locator("#message")).to_have_class("bad")
    assert "社区编码" in page.inner_text("#message") and "15 位网格编码" in page.inner_text("#message")
    assert page.locator("#snippet-box").is_hidden()
    assert page.locator("#tokens tbody tr").count() == 0  # nothing stored
    _issue(page, "grid", A)  # the grid's own code: issued, 30 days from 2026-12-04 16:36 UTC
    page.locator("#snippet-box").wait_for(state="visible")
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    # Asia/Shanghai (the test settings' GRIDMAP_TIMEZONE): 2027-01-04 00:36, not the UTC 2027-01-03 16:36
    expect(page.locator("#tokens tbody tr td").nth(5)).to_have_text("2027-01-04 00:36")
    assert "Asia/Shanghai" in page.inner_text("#tokens thead")
    # the snippet frames a page that answers (no 404 behind the iframe)
    src = page.locator("#snippet-box").get_attribute("data-src")
    assert src and page.request.get(src).status == 200
    page.screenshot(path=f"/tmp/planner5-embed-refused-{size[0]}.png", full_page=True)
    ctx.close()


def test_copy_says_when_the_clipboard_is_refused_and_selects_the_snippet(server, browser):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    ctx.add_init_script(REFUSE_CLIPBOARD)
    page = ctx.new_page()
    sign_in(page, server.url, "planner1", PASSWORD)
    page.goto(f"{server.url}/embed/tokens")
    _issue(page, "grid", A)
    page.locator("#snippet-box").wait_for(state="visible")
    page.click("#copy")
    expect(page.locator("#message")).to_contain_text("请手动复制")
    expect(page.locator("#message")).to_have_class("bad")
    assert "已复制" not in page.inner_text("#message")
    selected = page.evaluate(
        """() => { const t = document.getElementById("snippet");
                   const picked = t.value.slice(t.selectionStart, t.selectionEnd);
                   return [document.activeElement === t, picked === t.value]; }"""
    )
    assert selected == [True, True]
    ctx.close()


def test_copy_says_copied_when_the_clipboard_takes_it(server, browser):
    from playwright.sync_api import expect

    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = ctx.new_page()
    sign_in(page, server.url, "planner1", PASSWORD)
    page.goto(f"{server.url}/embed/tokens?lang=en")
    _issue(page, "grid", A)
    page.locator("#snippet-box").wait_for(state="visible")
    page.click("#copy")
    expect(page.locator("#message")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == page.input_value("#snippet")
    ctx.close()
