"""Complaint counts per grid / community below the points zoom ("<5" suppression), the per-plan grids
cache, and the overview's vector-tile buildings, through the Flask test client on the hand-drawn world."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maps_world
from maps_world import A, B, C

COM1, COM2 = A[:12], C[:12]


@pytest.fixture
def world(sqlite_store):
    return maps_world.build(sqlite_store)


@pytest.fixture
def c(app_factory, sqlite_store, world):
    return app_factory(sqlite_store, EMBED_REQUIRE_TOKEN=False).test_client()


def geo(c, url):
    r = c.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)
    return json.loads(r.get_data(as_text=True))


def add_complaints(store, world, building: str, n: int, *, overdue: int) -> None:
    """``n`` more open complaints in ``building``, the first ``overdue`` of them past their due time."""
    now = world["now"]
    b = world["world"]["buildings"].set_index("id").loc[building]
    frame = gpd.GeoDataFrame(
        {
            "id": [f"x{building}_{i}" for i in range(n)],
            "category": ["噪音"] * n,
            "state": ["collected"] * n,
            "channel": ["map"] * n,
            "building_id": [building] * n,
            "community_id": [b["community_id"]] * n,
            "filed_grid_code": [None] * n,
            "created_at": [now - dt.timedelta(days=4)] * n,
            "due_at": [now - dt.timedelta(days=1) if i < overdue else now + dt.timedelta(days=2) for i in range(n)],
        },
        geometry=[shapely.point_on_surface(b["geometry"])] * n,
        crs=4326,
    )
    with store.transaction():
        store.write("complaints", frame)


def brute_counts(store, level: str) -> dict[str, tuple[int, int]]:
    """Recount open complaints (and overdue ones) per grid or community straight from the tables."""
    from gridmap.services.maps.common import open_states

    rows = store.read("complaints")
    rows = rows[rows["state"].isin(open_states())]
    assign = store.read("plan_assignments", where={"plan_id": "p1"})
    grid_of = dict(zip(assign["building_id"], assign["grid_code"]))
    out: dict[str, list[int]] = {}
    now = pd.Timestamp(dt.datetime.utcnow())
    for r in rows.itertuples():
        g = grid_of[r.building_id]
        key = g if level == "grid" else g[:12]
        hit = out.setdefault(key, [0, 0])
        hit[0] += 1
        hit[1] += int(pd.Timestamp(r.due_at).tz_localize(None) < now)
    return {k: (n, o) for k, (n, o) in out.items()}


def shown(n: int):
    return n if n == 0 or n >= 5 else "<5"


# -- counts ------------------------------------------------------------------------------------------------
def test_below_the_points_zoom_complaints_are_counts_per_grid_with_small_counts_suppressed(c):
    fc = geo(c, "/api/layers/complaints?zoom=13")
    assert fc["aggregate"] == "grid" and fc["point_zoom"] == 15 and fc["suppressed_below"] == 5
    got = {f["properties"]["id"]: f["properties"] for f in fc["features"]}
    # A: c1 (overdue) and c2 open; B none (no bubble); C: c4 — every count is below 5
    assert set(got) == {A, C}
    assert all(p["count"] == "<5" and p["level"] == "grid" for p in got.values())
    assert (got[A]["overdue"], got[C]["overdue"]) == ("<5", 0)  # 1 overdue in A, none in C
    assert all(f["geometry"]["type"] == "Point" for f in fc["features"])
    # nothing of a single complaint leaks into the counts
    assert not {"category", "state", "days_waiting", "building_id"} & {k for p in got.values() for k in p}


def test_counts_of_five_and_more_are_exact_and_match_a_brute_force_recount(c, sqlite_store, world):
    add_complaints(sqlite_store, world, "b0_2", 6, overdue=4)  # grid C: 1 + 6 = 7 open, 4 overdue
    add_complaints(sqlite_store, world, "b0_1", 5, overdue=0)  # grid B: 5 open, none overdue
    for zoom, level in ((13, "grid"), (10, "community")):
        fc = geo(c, f"/api/layers/complaints?zoom={zoom}")
        assert fc["aggregate"] == level
        got = {f["properties"]["id"]: (f["properties"]["count"], f["properties"]["overdue"]) for f in fc["features"]}
        brute = brute_counts(sqlite_store, level)
        want = {k: (shown(n), shown(o)) for k, (n, o) in brute.items()}
        if level == "community":  # complementary suppression: COM1 has 8 requests in all states (state=all) and
            want[COM1] = (None, want[COM1][1])  # 7 open: showing both would tell its 1 closed request
        assert got == want
    assert brute_counts(sqlite_store, "grid") == {A: (2, 1), B: (5, 0), C: (7, 4)}
    grid = {
        f["properties"]["id"]: f["properties"]["count"] for f in geo(c, "/api/layers/complaints?zoom=13")["features"]
    }
    assert grid == {A: "<5", B: 5, C: 7}
    com = {f["properties"]["id"]: f["properties"] for f in geo(c, "/api/layers/complaints?zoom=10")["features"]}
    assert (com[COM1]["count"], com[COM2]["count"]) == (None, 7)  # A 2 + B 5 withheld (above); C 7
    assert geo(c, "/api/layers/complaints?zoom=10&state=all")["features"]
    assert com[COM1]["name"] and com[COM1]["level"] == "community"


def test_count_bubbles_are_filtered_by_bbox_and_lie_inside_their_area(c, sqlite_store, world):
    grids = world["grids"].set_index("code")
    box = ",".join(str(v) for v in grids.loc[A, "geometry"].bounds)
    fc = geo(c, f"/api/layers/complaints?zoom=13&bbox={box}")
    assert [f["properties"]["id"] for f in fc["features"]] == [A]
    pt = shapely.Point(fc["features"][0]["geometry"]["coordinates"])
    assert grids.loc[A, "geometry"].buffer(1e-6).contains(pt)
    assert geo(c, "/api/layers/complaints?zoom=13&bbox=0,0,1,1")["features"] == []


def test_points_from_the_points_zoom(c, login):
    login(c, "planner")  # the public gets counts per grid at every zoom
    fc = geo(c, "/api/layers/complaints?zoom=15")
    assert "aggregate" not in fc and sorted(f["properties"]["id"] for f in fc["features"]) == ["c1", "c2", "c4"]


def test_counts_follow_the_complaints_without_a_restart(c, sqlite_store, world):
    assert {f["properties"]["id"] for f in geo(c, "/api/layers/complaints?zoom=13")["features"]} == {A, C}
    add_complaints(sqlite_store, world, "b1_1", 1, overdue=0)
    assert {f["properties"]["id"] for f in geo(c, "/api/layers/complaints?zoom=13")["features"]} == {A, B, C}


# -- grids cache -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("box", [None, (0, 0, 1, 1), "A", "AB", "all"])
def test_cached_grids_match_a_direct_read(c, sqlite_store, world, box):
    from gridmap.services.maps.layers import layer_frame

    blds = world["world"]["buildings"]
    boxes = {
        "A": blds[blds["id"].isin(["b0_0", "b1_0"])].total_bounds,
        "AB": blds[blds["id"].isin(["b0_0", "b1_1"])].total_bounds,
        "all": blds.total_bounds,
    }
    bbox = tuple(float(v) for v in boxes[box]) if isinstance(box, str) else box
    q = "" if bbox is None else "&bbox=" + ",".join(map(str, bbox))
    for _ in range(2):  # first call fills the cache, the second reads it
        fc = geo(c, f"/api/layers/grids?zoom=16{q}")
        direct = layer_frame(sqlite_store, "grids", bbox=bbox)
        if bbox is not None:
            direct = direct[shapely.intersects(direct.geometry.to_numpy(), shapely.box(*bbox))]
        assert sorted(f["properties"]["code"] for f in fc["features"]) == sorted(direct["code"]) and fc["total"] == len(
            direct
        )


def test_grids_cache_follows_a_newly_published_plan(c, sqlite_store, world):
    assert len(geo(c, "/api/layers/grids?zoom=16")["features"]) == 3
    now = world["now"]
    one = shapely.union_all(world["grids"].geometry.to_numpy())
    with sqlite_store.transaction():
        sqlite_store.write(
            "plans",
            pd.DataFrame(
                [
                    {
                        "id": "p2",
                        "status": "published",
                        "created_at": now,
                        "published_at": now + dt.timedelta(seconds=1),
                        "created_by": "test",
                    }
                ]
            ),
        )
        sqlite_store.write(
            "plan_grids",
            gpd.GeoDataFrame(
                [{"plan_id": "p2", "code": f"{COM1}009", "community_id": COM1, "households": 1350, "buildings": 8}],
                geometry=[one],
                crs=4326,
            ),
        )
    codes = [f["properties"]["code"] for f in geo(c, "/api/layers/grids?zoom=16")["features"]]
    assert codes == [f"{COM1}009"]


# -- the overview's vector tiles ---------------------------------------------------------------------------
def test_overview_draws_buildings_from_vector_tiles_with_the_vendored_library(c):
    html = c.get("/").get_data(as_text=True)
    src = "/static/vendor/leaflet-vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js"
    assert src in html and c.get(src).status_code == 200
    assert (
        '"tiles": {"maxZoom": 14, "minZoom": 13, "url": "/tiles/buildings/{z}/{x}/{y}.pbf"}' in html
        or '"url": "/tiles/buildings/{z}/{x}/{y}.pbf"' in html
    )
    assert '"aggregate": {"grid": 12, "points": 15}' in html
    licence = Path(__file__).resolve().parents[2] / "gridmap/static/vendor/leaflet-vectorgrid-1.3.0/LICENSE"
    assert "BEER-WARE" in licence.read_text(encoding="utf-8")


def test_tiles_the_overview_asks_for_hold_the_buildings(c, world):
    import mercantile

    from gridmap.present import mvt

    blds = world["world"]["buildings"]
    minx, miny, maxx, maxy = blds.total_bounds
    seen = set()
    for t in mercantile.tiles(minx, miny, maxx, maxy, 14):
        r = c.get(f"/tiles/buildings/{t.z}/{t.x}/{t.y}.pbf")
        assert r.status_code == 200
        layer = mvt.decode(r.get_data()).get("buildings", {"features": []})
        seen |= {f["properties"]["id"] for f in layer["features"]}
    assert seen == set(blds["id"])


def test_amap_basemap_draws_no_tiles(app_factory, sqlite_store, world):
    app = app_factory(sqlite_store, BASEMAP="amap")
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Leaflet.VectorGrid" not in html and "/tiles/buildings" not in html


# -- a grid page's buildings ---------------------------------------------------------------------------------
def test_buildings_of_one_grid_and_their_light_properties(c):
    fc = geo(c, f"/api/layers/buildings?zoom=16&grid={A}")
    assert sorted(f["properties"]["id"] for f in fc["features"]) == ["b0_0", "b1_0"] and fc["total"] == 2
    assert set(fc["features"][0]["properties"]) == {"id", "name", "households", "floors", "grid_code"}
    assert geo(c, "/api/layers/buildings?zoom=16&grid=370214001009009")["features"] == []
    for bad in (f"/api/layers/stewards?zoom=16&grid={A}", "/api/layers/buildings?zoom=16&grid=abc"):
        r = c.get(bad)
        assert r.status_code == 400 and r.get_json()["error"]["code"]


def test_grid_page_map_takes_its_own_buildings_and_tiles_for_the_rest(c):
    html = c.get(f"/grids/{A}").get_data(as_text=True)
    assert '"focusOnly": true' in html and '"maxZoom": 19' in html


def test_coordinates_are_rounded_to_five_places_up_to_zoom_17(c):
    from gridmap.services.maps.layers import decimals, tolerance

    assert [decimals(z) for z in (10, 13, 16, 17, 18, 19)] == [3, 4, 5, 5, 6, 6]
    for z in range(8, 20):  # the rounding error stays within half a pixel
        assert 0.5 * 10 ** -decimals(z) <= tolerance(z)
    ring = geo(c, "/api/layers/buildings?zoom=17")["features"][0]["geometry"]["coordinates"][0]
    assert max(len(str(v).split(".")[1]) for p in ring for v in p) <= 5
