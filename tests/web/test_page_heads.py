"""Every page's <head>: one " · gridmap" at the end of the title, one viewport meta and it lets people zoom
(the map pages used to carry folium's second viewport with ``user-scalable=no, maximum-scale=1.0``)."""

from __future__ import annotations

import re

import pytest

from complaints_world import G1, build, lonlat


@pytest.fixture
def world(sqlite_store):
    build(sqlite_store)
    return sqlite_store


def _heads(page: str) -> tuple[str, list[str]]:
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title, page[:300]
    return title.group(1).strip(), re.findall(r"<meta[^>]*name=[\"']viewport[\"'][^>]*>", page, re.I)


def test_titles_carry_the_suffix_once_and_pages_can_be_zoomed(app_factory, world, login, arm_csrf):
    app = app_factory(world)
    public = app.test_client()
    arm_csrf(public)
    lon, lat = lonlat(20, 20)
    filed = public.post(
        "/api/complaints", json={"category": "sanitation", "description": "垃圾没人清", "lon": lon, "lat": lat}
    ).get_json()
    staff = app.test_client()
    login(staff, "admin")
    pages = [
        (public, "/complaints/new"),
        (public, "/complaints/new?lang=en"),
        (public, "/complaints/track"),
        (public, filed["status_url"]),
        (public, "/login"),
        (public, "/kpi"),
        (staff, "/"),
        (staff, f"/grids/{G1}"),
        (staff, "/complaints"),
        (staff, f"/complaints/{filed['id']}"),
        (staff, "/buildings/b1"),
        (public, "/no-such-page"),
    ]
    seen = 0
    for client, url in pages:
        r = client.get(url)
        if r.status_code == 302:  # a page that wants a sign-in first
            continue
        page = r.get_data(as_text=True)
        title, viewports = _heads(page)
        where = f"{url}: {title!r}"
        assert title.endswith(" · gridmap") and title.count("gridmap") == 1, where
        assert len(viewports) == 1, (url, viewports)
        assert "user-scalable=no" not in viewports[0] and "maximum-scale" not in viewports[0], (url, viewports)
        seen += 1
    assert seen >= len(pages) - 1, "pages were skipped"


def test_the_intake_map_head_has_no_viewport_of_its_own(app_factory, world):
    """The map's pieces (folium's head) go into pages that have their viewport: the head adds none."""
    page = app_factory(world).test_client().get("/complaints/new").get_data(as_text=True)
    head = page.split("</head>")[0]
    assert head.count('name="viewport"') == 1 and "user-scalable" not in head
    assert "leaflet" in head  # the map's scripts are still in the head
