"""Steps the browser tests share: sign in through the login form, tap a Leaflet map at a lon/lat."""

from __future__ import annotations

from typing import Any


def sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in through ``/login`` like a user (the form sends its CSRF token)."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit], form input[type=submit]")


def tap_map(page: Any, lon: float, lat: float, *, container: str = "#gm-intake-map .folium-map") -> None:
    """Click the page's map (``window.gridmap.map``) at ``lon``/``lat``, once the map exists."""
    for _ in range(100):  # no wait_for_function: the pages' CSP forbids eval
        if page.evaluate("() => !!(window.gridmap && window.gridmap.map)"):
            break
        page.wait_for_timeout(100)
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridmap.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator(container).bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
