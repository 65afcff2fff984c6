"""``gridmap import buildings FILE --merge-overlapping``: stacked footprints become one building, the others'
ids kept as aliases so later rosters and files naming them still place on it."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import shapely
from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.services.importing import import_frame
from gridmap.services.placement import place_records
from gridmap.store import open_store
from gridmap.synth.tiny import grid_world


def _file(tmp_path):
    w = grid_world(2, 4, communities=2, households=40)
    b = w["buildings"][["id", "households", "geometry"]].copy()
    base = b.set_index("id").loc["b0_0"]
    # the roof storeys of b0_0 drawn again as their own footprint (a 3-D model part), a little smaller
    part = shapely.affinity.scale(base.geometry, 0.9, 0.9)
    extra = gpd.GeoDataFrame({"id": ["b0_0-roof"], "households": [12]}, geometry=[part], crs=4326)
    path = tmp_path / "buildings.geojson"
    pd.concat([b, extra], ignore_index=True).pipe(gpd.GeoDataFrame, crs=4326).to_file(path, driver="GeoJSON")
    return w, path


def test_merge_overlapping_keeps_one_building_with_aliases_that_still_place(tmp_path):
    w, path = _file(tmp_path)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = open_store(url)
    with store.transaction():
        for name in ("districts", "streets", "communities"):
            store.write(name, w[name])
    store.close()
    env = {"GRIDMAP_DATABASE_URL": url}
    run = CliRunner()
    # as the file has it: both footprints stored, the pair reported
    res = run.invoke(main, ["import", "buildings", str(path)], env=env)
    assert res.exit_code == 0, res.output
    assert "overlaps building b0_0" in res.output and "--merge-overlapping" in res.output
    # merged: one building, the part's id an alias, the earlier stored part removed
    res = run.invoke(
        main, ["import", "buildings", str(path), "--merge-overlapping", "--report", str(tmp_path / "r.json")], env=env
    )
    assert res.exit_code == 0, res.output
    rep = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    merged = [i for i in rep["issues"] if i["rule"] == "merged_buildings"]
    assert [(i["id"], i["level"]) for i in merged] == [("b0_0", "warning")] and "b0_0-roof" in merged[0]["problem"]
    assert not [i for i in rep["issues"] if i["rule"] == "overlapping_buildings"]
    store = open_store(url)
    kept = store.get("buildings", "b0_0")
    assert store.get("buildings", "b0_0-roof") is None and kept["aliases"] == "b0_0-roof"
    assert kept["households"] == 40  # the roof part lies inside: each m² of ground counted once
    assert store.count("buildings") == 8
    # the same file again changes nothing
    res = run.invoke(main, ["import", "buildings", str(path), "--merge-overlapping=0.5"], env=env)
    assert "inserted 0, updated 0, unchanged 8" in res.output
    # a household file naming the merged part is read as the kept building
    hh = pd.DataFrame({"id": ["h1"], "building_id": ["b0_0-roof"]})
    rep = import_frame(store, "households", hh)
    assert store.get("households", "h1")["building_id"] == "b0_0"
    assert [i.rule for i in rep.issues] == ["building_alias"]
    # and a roster placed by building id lands on it
    placed = place_records(store, "households", pd.DataFrame({"id": ["h2"], "building_id": ["b0_0-roof"]}))
    assert placed.summary["exact"] == 1 and store.get("households", "h2")["building_id"] == "b0_0"
    store.close()


def test_merge_share_out_of_range_is_a_usage_error(tmp_path):
    _, path = _file(tmp_path)
    res = CliRunner().invoke(
        main, ["import", "buildings", str(path), "--merge-overlapping=1.5"], env={"GRIDMAP_DATABASE_URL": "sqlite://"}
    )
    assert res.exit_code == 2 and "--merge-overlapping" in res.output
