"""Product review of the planner's journey (journey 3 and 4), in Chromium: a draft whose base plan was replaced
is compared with the plan in force and says so; the embed tokens page is reached by clicks and its revoke
button says what it does in English."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "services"))
from plan_world import COM, seed
from tests.browser.pagekit import sign_in

pytestmark = pytest.mark.browser

A, B = f"{COM}001", f"{COM}002"
PASSWORD = "planner-pass-2026!"


def test_a_stale_draft_is_compared_with_the_plan_in_force_and_warns(app_factory, sqlite_store, live_server, browser):
    from playwright.sync_api import expect

    from gridmap.services import plans as svc
    from gridmap.services.accounts import add_user

    seed(sqlite_store, ["AAB", "AAB", "AAB"], bounds=(1, 500))
    add_user(sqlite_store, username="planner1", role="planner", password=PASSWORD)
    w = svc.load_world(sqlite_store)
    old = svc.start_draft(sqlite_store, actor="planner1")["draft"]
    newer = svc.start_draft(sqlite_store, actor="planner1")["draft"]
    svc.move_buildings(sqlite_store, newer, ["r0c1", "r1c1"], B, actor="planner1", world=w)
    published = svc.publish(sqlite_store, newer, actor="planner1", world=w)["plan"]
    server = live_server(app_factory(sqlite_store))
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server.url, "planner1", PASSWORD)
    page.goto(f"{server.url}/planner")
    page.click(f'tr[data-plan="{old}"] a.edit')
    page.locator(f"#grid-{A}").wait_for()
    warning = page.locator("#stale-warning")
    expect(warning).to_be_visible()
    assert "plan-base" in warning.text_content() and published in warning.text_content()
    # 与发布方案对比: against the plan in force, so the two buildings the old draft would move back show
    page.click("#diff")
    expect(page.locator('#diff-summary dd[data-key="buildings"]')).to_have_text("2")
    assert page.locator("#diff-summary p.ok").count() == 0  # not "没有变动"
    assert page.locator("#planner").get_attribute("data-changed") == "2"
    # the publish review says it too, before anything is published
    page.fill("#effective", "2026-12-01")
    page.click("#publish")
    dialog = page.locator("#publish-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".stale-warning")).to_contain_text("已被替代")
    assert dialog.locator('dd[data-key="buildings"]').text_content() == "2"
    page.click("#cancel-publish")
    assert svc.published_plan_id(sqlite_store) == published
    assert not errors, errors
    page.close()


@pytest.mark.parametrize("size", [(390, 844), (1440, 900)])
def test_embed_tokens_reached_by_clicks_revoke_says_revoke(app_factory, sqlite_store, live_server, browser, size):
    from playwright.sync_api import expect

    from gridmap.services.accounts import add_user

    seed(sqlite_store, ["AAB", "AAB", "AAB"])
    add_user(sqlite_store, username="planner1", role="planner", password=PASSWORD)
    add_user(sqlite_store, username="viewer1", role="viewer", password=PASSWORD)
    server = live_server(app_factory(sqlite_store))
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    sign_in(page, server.url, "planner1", PASSWORD)
    # from the planner page's navigation
    page.goto(f"{server.url}/planner?lang=en")
    page.click("#embed-tokens-link")
    page.wait_for_url("**/embed/tokens*")
    # and from the top bar's menu (on a phone: the ☰ menu)
    page.goto(f"{server.url}/?lang=en")
    if size[0] < 600:
        page.click("label.nav-menu")
        page.click(".nav-drop a[href='/embed/tokens']")
    else:
        page.click(".topnav a[href='/embed/tokens']")
    page.wait_for_url("**/embed/tokens*")
    page.fill("#area", A)
    page.click("#issue-button")
    page.locator("#snippet-box").wait_for(state="visible")
    button = page.locator("#tokens button.revoke").first
    expect(button).to_have_text("Revoke")
    box = button.bounding_box()
    assert box is not None and box["height"] < 40, box  # one line, not "Und/o" cut in two
    # the state and the token number are not cut mid-word: their text lies on one line
    lines = page.evaluate(
        """() => ["td.state", "td:first-child"].map(sel => {
            const r = document.createRange(); r.selectNodeContents(document.querySelector("#tokens " + sel));
            return new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size; })"""
    )
    assert lines == [1, 1], lines
    page.screenshot(path=f"/tmp/planner5-tokens-{size[0]}.png", full_page=True)
    ctx.close()
    # a role that may not issue tokens gets no link
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    sign_in(page, server.url, "viewer1", PASSWORD)
    page.goto(f"{server.url}/")
    assert page.locator("a[href='/embed/tokens']").count() == 0
    ctx.close()


def test_english_editor_fits_names_locks_and_asks_for_the_reason_in_the_dialog(
    app_factory, sqlite_store, live_server, browser
):
    from playwright.sync_api import expect

    from gridmap.services import plans as svc
    from gridmap.services.accounts import add_user

    seed(sqlite_store, ["AAB", "AAB", "AAB"], bounds=(30, 500))
    add_user(sqlite_store, username="planner1", role="planner", password=PASSWORD)
    w = svc.load_world(sqlite_store)
    draft = svc.start_draft(sqlite_store, actor="planner1")["draft"]
    svc.move_buildings(sqlite_store, draft, ["r0c2", "r1c2", "r2c2"], A, actor="planner1", world=w)  # B empty
    svc.lock_grids(sqlite_store, draft, [A], locked=True, actor="planner1", world=w)
    server = live_server(app_factory(sqlite_store))
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server.url, "planner1", PASSWORD)
    page.goto(f"{server.url}/planner/drafts/{draft}?lang=en")
    checks_b = page.locator(f"#grid-{B} td.checks")
    expect(checks_b).to_contain_text("Empty grid")
    # the lock is said in words, not only by an emoji
    expect(page.locator(f"#grid-{A} .lock-mark")).to_have_text("🔒 locked")
    assert page.locator(f"#grid-{B} .lock-mark").count() == 0
    # the grid table is not cut off by the panel: the checks column ends inside it
    fit = page.evaluate(
        """(code) => { const panel = document.getElementById('panel').getBoundingClientRect();
        const cell = document.querySelector('#grid-' + code + ' td.checks').getBoundingClientRect();
        const t = document.getElementById('grids');
        return [cell.right <= panel.right + 0.5, t.getBoundingClientRect().right <= panel.right + 0.5]; }""",
        B,
    )
    assert fit == [True, True], fit
    page.screenshot(path="/tmp/planner5-editor-en-1440.png")
    # publishing with the empty grid: a hard failure; confirming without a reason says so in the dialog
    page.fill("#effective", "2026-12-01")
    page.click("#publish")
    dialog = page.locator("#publish-dialog")
    expect(dialog).to_be_visible()
    assert dialog.get_attribute("data-hard") == "1"
    expect(dialog.locator("section.hard")).to_contain_text("no buildings")
    page.click("#confirm-publish")
    message = dialog.locator("#publish-dialog-message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("reason")
    assert svc.published_plan_id(sqlite_store) == "plan-base"
    page.screenshot(path="/tmp/planner5-dialog-en-1440.png")
    assert not errors, errors
    page.close()


def test_publishing_says_it_takes_effect_now_and_a_later_date_cannot_be_chosen(
    app_factory, sqlite_store, live_server, browser, fixed_now
):
    """Publishing has no scheduling (docs/planning.md, "Effective date"): the form offers today at the latest
    in the service's zone and says publishing takes effect at once; the review dialog says it again."""
    from playwright.sync_api import expect

    from gridmap.services import plans as svc
    from gridmap.services.accounts import add_user

    fixed_now("2026-12-04T17:00:00Z")  # 2026-12-05 01:00 in Asia/Shanghai
    seed(sqlite_store, ["AAB", "AAB", "AAB"], bounds=(1, 500))
    add_user(sqlite_store, username="planner1", role="planner", password=PASSWORD)
    draft = svc.start_draft(sqlite_store, actor="planner1")["draft"]
    svc.move_buildings(sqlite_store, draft, ["r1c1"], B, actor="planner1", world=svc.load_world(sqlite_store))
    server = live_server(app_factory(sqlite_store))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, server.url, "planner1", PASSWORD)
    page.goto(f"{server.url}/planner/drafts/{draft}")
    page.locator("#grids tbody tr").first.wait_for()
    effective = page.locator("#effective")
    assert effective.get_attribute("max") == "2026-12-05" and effective.input_value() == "2026-12-05"
    expect(page.locator("#effective-hint")).to_contain_text("发布即刻生效")
    effective.fill("2026-12-06")
    page.click("#publish")  # the browser's own check stops a later date before anything is sent
    assert page.evaluate("() => document.getElementById('effective').validity.rangeOverflow")
    expect(page.locator("#publish-dialog")).not_to_be_visible()
    assert svc.published_plan_id(sqlite_store) == "plan-base"
    effective.fill("2026-12-05")
    page.click("#publish")
    expect(page.locator("#publish-dialog")).to_be_visible()
    expect(page.locator("#publish-dialog .takes-effect")).to_contain_text("确认发布后立即生效")
    page.screenshot(path="/tmp/planner5-publish-now-390.png")
    page.close()
