"""The tile cache: filled on demand, and publishing a plan or importing buildings drops exactly the cached tiles whose
buffered bounds meet what changed — every tile kept is still what a fresh drawing gives (both backends)."""

from __future__ import annotations

import json

import mercantile
import pandas as pd
import shapely
from click.testing import CliRunner
from shapely.geometry import box

from gridmap.cli.main import main
from gridmap.domain.tiles import tile_bbox
from gridmap.services import tilecache, tiles
from gridmap.services.importing import import_frame
from gridmap.services.plans.publishing import rollback
from gridmap.store import open_store
from tests.web import scale_world as W

ZOOMS = range(15, 18)


def _seed(store) -> dict:
    bounds = (W.X0 - 0.005, W.Y0 - 0.005, W.X0 + 0.015, W.Y0 + 0.005)
    out = tiles.seed(store, ZOOMS, bounds=bounds)
    assert out["rendered"] == out["tiles"] > 0
    return {k: store.cached_tile(*k) for k in store.cached_tile_keys()}


def _under(keys, name, geoms) -> set:
    """Cached tiles of ``name`` whose buffered bounds meet the bounding box of any of ``geoms``."""
    boxes = [box(*g.bounds) for g in geoms if g is not None]
    return {k for k in keys if k[0] == name and any(box(*tile_bbox(*k[1:])).intersects(b) for b in boxes)}


def _fresh(store, keys) -> None:
    """Every cached tile equals a fresh drawing (no stale tile survived)."""
    for k in keys:
        assert store.cached_tile(*k) == tiles.render(store, *k), k


def test_tiles_are_served_from_the_cache_once_drawn(sqlite_store):
    store = sqlite_store
    W.load(store)
    t = mercantile.tile(W.X0 + 0.001, W.Y0 + 0.001, 17)
    assert store.cached_tile("buildings", 17, t.x, t.y) is None
    first = tiles.tile(store, "buildings", 17, t.x, t.y)
    assert first and store.cached_tile("buildings", 17, t.x, t.y) == first
    # the cache answers: a row changed behind its back (not through a service) is not seen
    store.write("buildings", pd.DataFrame({"id": ["b11"], "households": [999]}))
    assert tiles.tile(store, "buildings", 17, t.x, t.y) == first
    assert tiles.render(store, "buildings", 17, t.x, t.y) != first


def test_publishing_a_plan_drops_exactly_the_tiles_it_touches(sqlite_store):
    store = sqlite_store
    world = W.load(store)
    before = _seed(store)
    b = world["buildings"].set_index("id")
    # p1 (rolled back to) merges community 001's two grids: b13 and b16 change grid; community 002 keeps its
    # buildings but the new version's polygons are drawn from the cells, so a grid differs where its polygon does
    moved = b.loc[["b13", "b16"]].geometry
    out = rollback(store, "p1", actor="planner")
    old = store.read("plan_grids", where={"plan_id": "p2"}).set_index("code")
    new = store.read("plan_grids", where={"plan_id": out["plan"]}).set_index("code")
    changed = [
        g
        for code in old.index.union(new.index)
        if code not in old.index
        or code not in new.index
        or new.loc[code, "geometry"] is None
        or not old.loc[code, "geometry"].equals_exact(new.loc[code, "geometry"], 0)
        or old.loc[code, "households"] != new.loc[code, "households"]
        for g in ([old.loc[code, "geometry"]] if code in old.index else [])
        + ([new.loc[code, "geometry"]] if code in new.index else [])
    ]
    want = _under(before, "buildings", moved) | _under(before, "grids", changed)
    kept = set(store.cached_tile_keys())
    assert set(before) - kept == want
    assert want and kept, "some tiles dropped, some kept"
    assert any(k[0] == "buildings" for k in kept)
    _fresh(store, kept)
    # a dropped tile is drawn again with the new plan
    k = sorted(k for k in want if k[0] == "buildings")[-1]
    assert tiles.tile(store, *k) == tiles.render(store, *k) != before[k]


def test_importing_buildings_drops_exactly_the_tiles_under_the_changed_ones(sqlite_store, tmp_path):
    store = sqlite_store
    world = W.load(store)
    before = _seed(store)
    b = world["buildings"].set_index("id")
    rows = world["buildings"][world["buildings"]["id"].isin(["b21", "b22", "b15"])].copy()
    rows.loc[rows["id"] == "b21", "households"] = 77  # a property a tile shows
    moved = shapely.affinity.translate(b.loc["b15"].geometry, xoff=0.0002)  # a geometry, old and new place count
    rows.loc[rows["id"] == "b15", "geometry"] = moved
    import_frame(store, "buildings", rows.drop(columns=["residents"]))  # b22 is written unchanged
    want = _under(before, "buildings", [b.loc["b21"].geometry, b.loc["b15"].geometry, moved])
    kept = set(store.cached_tile_keys())
    assert set(before) - kept == want
    assert not _under(kept, "buildings", [b.loc["b21"].geometry]) and want and kept
    _fresh(store, kept)


def test_placing_households_drops_no_tile_and_a_rollback_keeps_the_cache(sqlite_store):
    store = sqlite_store
    W.load(store)
    before = _seed(store)
    dropped = tilecache.before_write(store, "households", pd.DataFrame({"id": ["h1"], "building_id": ["b12"]}))
    assert dropped == [] and set(store.cached_tile_keys()) == set(before)
    rows = pd.DataFrame({"id": ["b21"], "households": [5]})
    try:
        with store.transaction():
            assert tilecache.before_write(store, "buildings", rows)
            raise RuntimeError("the import fails after the drop")
    except RuntimeError:
        pass
    assert set(store.cached_tile_keys()) == set(before)


def test_tiles_seed_command_fills_the_cache_and_refuses_bad_zooms(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    W.load(store)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    res = CliRunner().invoke(main, ["tiles", "seed", "--zoom", "15-17"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    want = tilecache.tiles_covering(tuple(store.read("buildings").total_bounds), range(15, 18))
    assert out == {"zoom": [15, 17], "tiles": 2 * len(want), "rendered": 2 * len(want), "cached": 0}
    assert {k[1:] for k in store.cached_tile_keys("grids")} == set(want)
    again = json.loads(CliRunner().invoke(main, ["tiles", "seed", "--zoom", "15-17"]).stdout)
    assert (again["rendered"], again["cached"]) == (0, 2 * len(want))
    for bad in ("17-15", "x", "25"):
        res = CliRunner().invoke(main, ["tiles", "seed", "--zoom", bad])
        assert res.exit_code == 1 and "--zoom" in res.output, res.output
    store.close()


def test_tiles_seed_refuses_zooms_the_cache_does_not_serve(tmp_path, monkeypatch):
    """Tiles deeper than GRIDMAP_TILE_CACHE_MAX_ZOOM are drawn per request: seeding them would only fill the
    store, so the command says so and draws nothing."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    W.load(store)
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    monkeypatch.setenv("GRIDMAP_TILE_CACHE_MAX_ZOOM", "16")
    res = CliRunner().invoke(main, ["tiles", "seed", "--zoom", "15-17"])
    assert res.exit_code == 1 and "GRIDMAP_TILE_CACHE_MAX_ZOOM" in res.output and "17" in res.output, res.output
    assert store.cached_tile_keys() == []
    store.close()


def test_buildings_deleted_by_an_import_drop_the_tiles_under_them(sqlite_store):
    store = sqlite_store
    world = W.load(store)
    before = _seed(store)
    b = world["buildings"].set_index("id")
    with store.transaction():
        dropped = tilecache.before_delete(store, "buildings", ["b26"])
        store.delete("buildings", ids=["b26"])
    assert set(dropped) == _under(before, "buildings", [b.loc["b26"].geometry]) != set()
    _fresh(store, set(store.cached_tile_keys("buildings")))


# -- the collector held off while tiles are drawn ------------------------------------------------------------


def test_the_collector_is_off_while_tiles_are_drawn_and_back_after(monkeypatch):
    import gc

    from gridmap.services import tiles as T

    assert gc.isenabled()
    with T._collector_paused():
        assert not gc.isenabled()
        with T._collector_paused():  # a second tile drawn at the same time (another thread)
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first is still being drawn
    assert gc.isenabled()
    gc.disable()  # left off by someone else: drawing a tile does not turn it on
    try:
        with T._collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_tiles_never_keep_the_collector_off_past_the_limit(monkeypatch):
    """A busy server whose tiles always overlap never reaches zero drawers: the collector comes back once it has
    been off for the limit."""
    import gc

    from gridmap.services import tiles as T

    clock = [100.0]
    monkeypatch.setattr(T.time, "monotonic", lambda: clock[0])
    first = T._collector_paused()
    first.__enter__()
    try:
        with T._collector_paused():
            clock[0] += T.GC_PAUSE_LIMIT_S / 2
        assert not gc.isenabled()  # within the limit: still off
        with T._collector_paused():
            clock[0] += T.GC_PAUSE_LIMIT_S
        assert gc.isenabled()  # past it: back on though the first tile is still being drawn
    finally:
        first.__exit__(None, None, None)
    assert gc.isenabled()


def test_tiles_anyone_may_ask_for_cannot_fill_the_cache(sqlite_store):
    """Empty tiles (far from the data) and tiles deeper than the cache's zoom are drawn, not kept: the cache
    holds what the data shows, not what was asked (``/tiles/…`` is public)."""
    store = sqlite_store
    W.load(store)
    for x in range(5):  # the other side of the world: empty
        assert tiles.tile(store, "buildings", 15, x, 3) == b""
    assert store.cached_tile_keys() == []
    t = mercantile.tile(W.X0 + 0.001, W.Y0 + 0.001, 17)
    shown = tiles.tile(store, "buildings", 17, t.x, t.y, cache_max_zoom=16)  # deeper than the cache keeps
    assert shown and store.cached_tile_keys() == []
    assert tiles.tile(store, "buildings", 17, t.x, t.y) == shown  # at the default depth (18): kept
    assert store.cached_tile_keys() == [("buildings", 17, t.x, t.y)]


def test_the_tile_endpoint_keeps_deep_tiles_out_of_the_cache_as_the_setting_says(sqlite_store, monkeypatch):
    from gridmap.web import create_app

    W.load(sqlite_store)
    t = mercantile.tile(W.X0 + 0.001, W.Y0 + 0.001, 17)
    app = create_app({"TESTING": True, "TILE_CACHE_MAX_ZOOM": 16}, store=sqlite_store)
    res = app.test_client().get(f"/tiles/buildings/17/{t.x}/{t.y}.pbf")
    assert res.status_code == 200 and res.data
    assert sqlite_store.cached_tile_keys() == []
