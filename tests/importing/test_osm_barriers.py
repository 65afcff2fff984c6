"""OpenStreetMap as a source of barriers: a hand-built .osm file with two streets through a community becomes
the barriers layer (counted by kind, clipped to the district), and the generated grids keep to the blocks
between the streets — which they do not without the layer."""

from __future__ import annotations

from click.testing import CliRunner
from osm_world import write_osm

from gridmap.cli.main import main
from gridmap.services import grids
from gridmap.services.barriers import import_barriers
from gridmap.store import open_store
from gridmap.synth.tiny import grid_world

ROWS = COLS = 6


def _world(store) -> None:
    w = grid_world(ROWS, COLS, households=100)  # 36 buildings of 100 households, no estate walls
    with store.transaction():
        for name in ("districts", "streets", "communities"):
            store.write(name, w[name])
        store.write("buildings", w["buildings"].assign(estate_id=None))


def _block(bid: str) -> tuple[bool, bool]:
    """Which side of each street a building ``b{row}_{col}`` is on (row 0 is the northern row)."""
    row, col = map(int, bid[1:].split("_"))
    return row <= 2, col <= 2


def _crossing(plan) -> list[str]:
    return [code for code, ids in plan.grids.items() if len({_block(b) for b in ids}) > 1]


def test_osm_streets_become_barriers_and_grids_follow_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'osm.db'}"
    store = open_store(url)
    _world(store)
    before = grids.generate(store, min_households=300, max_households=500)
    assert _crossing(before.plan)  # without the layer, some grid straddles a street

    res = CliRunner().invoke(
        main, ["import", "barriers", str(write_osm(tmp_path / "streets.osm"))], env={"GRIDMAP_DATABASE_URL": url}
    )
    assert res.exit_code == 0, res.output
    # two residential streets and the wall; the footway (not a kept class) and the river outside are left out
    assert "barriers by kind: road 2, wall 1; 2 lines left out" in res.output
    bars = store.read("barriers").sort_values("id")
    assert list(zip(bars["id"], bars["kind"], bars["name"])) == [
        ("osm-101", "road", "幸福路"),
        ("osm-102", "road", "和平街"),
        ("osm-105", "wall", None),
    ]
    district = store.read("districts").geometry.iat[0]
    assert all(district.buffer(1e-9).covers(g) for g in bars.geometry)  # clipped to the district

    after = grids.generate(store, min_households=300, max_households=500)
    assert _crossing(after.plan) == []
    sizes = [100 * len(ids) for ids in after.plan.grids.values()]
    assert all(300 <= s <= 500 for s in sizes) and sum(sizes) == 3600
    store.close()


def test_highway_classes_are_configurable_and_a_tagged_geojson_works(sqlite_store, tmp_path):
    import pyogrio

    _world(sqlite_store)
    osm = write_osm(tmp_path / "streets.osm")
    rep = import_barriers(sqlite_store, osm, highways=("residential", "footway"))
    assert rep.kinds == {"road": 3, "wall": 1} and rep.dropped == 1
    # the same lines as GeoJSON with OSM tags (as exported by overpass or QGIS)
    lines = pyogrio.read_dataframe(osm, layer="lines")
    lines.to_file(tmp_path / "streets.geojson", driver="GeoJSON")
    sqlite_store.delete("barriers")
    rep = import_barriers(sqlite_store, tmp_path / "streets.geojson", highways=("residential",))
    assert rep.kinds == {"road": 2, "wall": 1} and sqlite_store.count("barriers") == 3
