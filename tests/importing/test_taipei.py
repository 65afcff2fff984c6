"""The real Taipei Wanhua set imports through the same path and reports its real anomalies."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest

from gridmap.io.geodata import taipei_file
from gridmap.services.importing import ImportRejected
from gridmap.services.taipei import community_id, load_taipei


@pytest.fixture(scope="module")
def truth():
    """Brute force, independent of the importer: each building's area share per village (EPSG:3826)."""
    v = gpd.read_file(taipei_file("villages")).to_crs(3826)
    b = gpd.read_file(taipei_file("buildings")).to_crs(3826)
    outside, straddle, home = [], [], {}
    for bid, g in zip(b["bldg_id"], b.geometry):
        shares = sorted(
            (
                (g.intersection(vg).area / g.area, community_id(code))
                for code, vg in zip(v["village_code"], v.geometry)
                if g.intersects(vg)
            ),
            reverse=True,
        )
        if sum(s for s, _ in shares) < 0.5:
            outside.append(bid)
        elif len(shares) > 1 and shares[1][0] >= 0.05:
            straddle.append(bid)
        else:
            home[bid] = shares[0][1]
    return {"outside": outside, "straddle": straddle, "home": home, "n": len(b), "villages": len(v)}


def test_taipei_imports_with_its_real_anomalies_reported(sqlite_store, truth):
    reports = load_taipei(sqlite_store)
    for name in ("districts", "streets", "communities"):
        assert reports[name].issues == []
    assert sqlite_store.count("communities") == truth["villages"] == 26
    assert sqlite_store.count("streets") == 3  # 萬華區, 中正區, 大同區
    rep = reports["buildings"]
    by_rule = {}
    for i in rep.issues:
        by_rule.setdefault(i.rule, []).append(i.id)
    assert sorted(by_rule) == ["outside_communities", "straddles_communities"]
    assert sorted(by_rule["outside_communities"]) == sorted(truth["outside"])
    assert sorted(by_rule["straddles_communities"]) == sorted(truth["straddle"])
    assert (len(truth["outside"]), len(truth["straddle"])) == (8, 9)  # the real set's anomalies
    assert rep.written.inserted == truth["n"] - 17 == sqlite_store.count("buildings")
    stored = sqlite_store.read("buildings", columns=["id", "community_id", "households", "floors"])
    assert dict(zip(stored["id"], stored["community_id"])) == truth["home"]
    assert (stored["households"] >= 1).all() and (stored["floors"] >= 1).all()
    b = gpd.read_file(taipei_file("buildings")).set_index("bldg_id")
    one = stored.set_index("id").loc["tpe3d_3847_00000"]
    floors = max(1, round(b.loc["tpe3d_3847_00000", "height_m"] / 3))
    assert one["floors"] == floors
    assert one["households"] == max(1, round(b.loc["tpe3d_3847_00000", "footprint_m2"] * floors / 90))


def test_taipei_without_skip_invalid_writes_nothing(sqlite_store):
    before = sqlite_store.snapshot()
    with pytest.raises(ImportRejected) as exc:
        load_taipei(sqlite_store, skip_invalid=False)
    assert len(exc.value.report.errors) == 17
    after = sqlite_store.snapshot()
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])


def test_gridmap_taipei_command_imports_and_saves_the_reports(tmp_path, truth):
    from click.testing import CliRunner

    from gridmap.cli.main import main
    from gridmap.store import open_store

    url = f"sqlite:///{tmp_path / 'tp.db'}"
    res = CliRunner().invoke(
        main, ["taipei", "--report", str(tmp_path / "rep")], env={"GRIDMAP_DATABASE_URL": url}, catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    bad = len(truth["outside"]) + len(truth["straddle"])
    assert f"buildings: {truth['n']} rows read, {bad} errors" in res.output
    saved = json.loads((tmp_path / "rep" / "buildings.json").read_text(encoding="utf-8"))
    assert {i["id"] for i in saved["issues"]} == set(truth["outside"]) | set(truth["straddle"])
    assert (tmp_path / "rep" / "buildings.csv").read_text(encoding="utf-8-sig").count("\n") == bad + 1
    store = open_store(url)
    assert store.count("buildings") == truth["n"] - bad
    store.close()
    # --strict: the anomalies refuse the whole set, nothing is written
    url2 = f"sqlite:///{tmp_path / 'tp2.db'}"
    res = CliRunner().invoke(main, ["taipei", "--strict"], env={"GRIDMAP_DATABASE_URL": url2})
    assert res.exit_code == 1 and "nothing was written" in res.output
    store = open_store(url2)
    assert store.count("communities") == 0 and store.count("buildings") == 0
    store.close()
