"""The real Taipei Wanhua set imports through the same path and reports its real anomalies; with the real-data
rules (the loader's defaults) stacked footprints become one building and straddlers go to the majority 里."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest

from gridmap.io.geodata import taipei_file
from gridmap.services.importing import ImportRejected
from gridmap.services.taipei import community_id, load_taipei, taipei_layers


@pytest.fixture(scope="module")
def truth():
    """Brute force, independent of the importer: each building's area share per village (EPSG:3826)."""
    v = gpd.read_file(taipei_file("villages")).to_crs(3826)
    b = gpd.read_file(taipei_file("buildings")).to_crs(3826)
    outside, straddle, home, shares_of = [], [], {}, {}
    for bid, g in zip(b["bldg_id"], b.geometry):
        shares = sorted(
            (
                (g.intersection(vg).area / g.area, community_id(code))
                for code, vg in zip(v["village_code"], v.geometry)
                if g.intersects(vg)
            ),
            reverse=True,
        )
        shares_of[bid] = shares
        if sum(s for s, _ in shares) < 0.5:
            outside.append(bid)
        elif len(shares) > 1 and shares[1][0] >= 0.05:
            straddle.append(bid)
        else:
            home[bid] = shares[0][1]
    # footprints overlapping by more than half of the smaller one: one plain loop over candidate pairs
    pairs = []
    geoms = list(b.geometry)
    for i, g in enumerate(geoms):
        for j in b.sindex.query(g):
            if j > i and g.intersects(geoms[j]):
                common = g.intersection(geoms[j]).area
                if common > 0.5 * min(g.area, geoms[j].area):
                    pairs.append((b["bldg_id"].iat[i], b["bldg_id"].iat[j]))
    return {
        "outside": outside,
        "straddle": straddle,
        "home": home,
        "n": len(b),
        "villages": len(v),
        "pairs": pairs,
        "shares": shares_of,
    }


def _by_rule(report):
    out = {}
    for i in report.issues:
        out.setdefault(i.rule, []).append(i)
    return out


def _other(issue) -> str:
    return re.search(r"overlaps building (\S+) ", issue.problem).group(1)


def test_taipei_as_the_file_has_it_reports_its_real_anomalies(sqlite_store, truth):
    reports = load_taipei(sqlite_store, merge_overlapping=None, straddlers="reject")
    for name in ("districts", "streets", "communities"):
        assert reports[name].issues == []
    assert sqlite_store.count("communities") == truth["villages"] == 26
    assert sqlite_store.count("streets") == 3  # 萬華區, 中正區, 大同區
    rep = reports["buildings"]
    by_rule = _by_rule(rep)
    assert sorted(by_rule) == ["outside_communities", "overlapping_buildings", "straddles_communities"]
    assert sorted(i.id for i in by_rule["outside_communities"]) == sorted(truth["outside"])
    assert sorted(i.id for i in by_rule["straddles_communities"]) == sorted(truth["straddle"])
    assert (len(truth["outside"]), len(truth["straddle"])) == (8, 9)  # the real set's anomalies
    # every pair overlapping by more than half of the smaller footprint is reported once, as a warning
    reported = {frozenset((i.id, _other(i))) for i in by_rule["overlapping_buildings"]}
    assert reported == {frozenset(p) for p in truth["pairs"]} and len(truth["pairs"]) == 82
    assert len(by_rule["overlapping_buildings"]) == 82
    assert all(i.level == "warning" and "--merge-overlapping" in i.fix for i in by_rule["overlapping_buildings"])
    assert rep.written.inserted == truth["n"] - 17 == sqlite_store.count("buildings")
    stored = sqlite_store.read("buildings", columns=["id", "community_id", "households", "floors"])
    assert dict(zip(stored["id"], stored["community_id"])) == truth["home"]
    assert (stored["households"] >= 1).all() and (stored["floors"] >= 1).all()
    b = gpd.read_file(taipei_file("buildings")).set_index("bldg_id")
    one = stored.set_index("id").loc["tpe3d_3847_00000"]
    floors = max(1, round(b.loc["tpe3d_3847_00000", "height_m"] / 3))
    assert one["floors"] == floors
    assert one["households"] == max(1, round(b.loc["tpe3d_3847_00000", "footprint_m2"] * floors / 90))


def test_taipei_with_the_real_data_rules_merges_and_keeps_straddlers(sqlite_store, truth):
    """The loader's defaults: stacked footprints merged, straddlers to the 里 holding most of them."""
    rep = load_taipei(sqlite_store)["buildings"]
    by_rule = _by_rule(rep)
    assert sorted(by_rule) == ["merged_buildings", "outside_communities", "straddles_communities"]
    stored = sqlite_store.read("buildings")
    alias_of = {a: bid for bid, text in zip(stored["id"], stored["aliases"]) if text for a in text.split(",")}
    # after merging, no two stored buildings overlap by more than half of the smaller (brute force, EPSG:3826)
    m = stored.to_crs(3826)
    geoms = list(m.geometry)
    for i, g in enumerate(geoms):
        for j in m.sindex.query(g):
            if j > i:
                assert g.intersection(geoms[j]).area <= 0.5 * min(g.area, geoms[j].area), (m["id"].iat[i], j)
    # both footprints of every overlapping pair are one stored building (its id, or an alias of it)
    home = set(stored["id"])
    for a, b in truth["pairs"]:
        if a in truth["outside"] and b in truth["outside"]:
            continue
        assert alias_of.get(a, a) == alias_of.get(b, b) and alias_of.get(a, a) in home, (a, b)
    # every building lying in the 里 is imported, as a building or an alias; only wholly outside ones are not
    rejected = {i.id for i in rep.errors}
    assert rejected <= set(truth["outside"]) and {i.rule for i in rep.errors} == {"outside_communities"}
    assert all(sum(s for s, _ in truth["shares"][bid]) == 0 for bid in rejected)  # no 里 holds any of them
    all_ids = set(gpd.read_file(taipei_file("buildings"))["bldg_id"])
    assert home | set(alias_of) <= all_ids - rejected
    # the rest are footprints merged into a rejected (wholly outside) building
    assert all_ids - rejected - home - set(alias_of) <= set(truth["outside"])
    # each straddler is a warning naming both 里 and their shares, and is stored in the one holding most
    straddlers = by_rule["straddles_communities"]
    assert {i.id for i in straddlers} == {b for b in truth["straddle"] if b in home}
    com = dict(zip(stored["id"], stored["community_id"]))
    for i in straddlers:
        (x, first), (y, second) = truth["shares"][i.id][:2]
        assert i.level == "warning" and first in i.problem and second in i.problem and i.problem.count("%") == 2
        assert com[i.id] == first
    # households of a merged building: each m² of ground once — at least its largest part, at most the sum
    src = taipei_layers(gpd.read_file(taipei_file("villages")), gpd.read_file(taipei_file("buildings")))
    parts = dict(zip(src["buildings"]["id"], src["buildings"]["households"]))
    for bid, text in zip(stored["id"], stored["aliases"]):
        if text:
            hh = [parts[bid]] + [parts[a] for a in text.split(",")]
            h = int(stored.loc[stored["id"] == bid, "households"].iat[0])
            assert max(hh) <= h <= sum(hh), (bid, hh, h)
    merged = {i.id for i in by_rule["merged_buildings"]}
    assert merged - rejected == set(stored.loc[stored["aliases"].notna(), "id"])


def test_taipei_without_skip_invalid_writes_nothing(sqlite_store, truth):
    before = sqlite_store.snapshot()
    with pytest.raises(ImportRejected) as exc:
        load_taipei(sqlite_store, skip_invalid=False)
    assert {i.rule for i in exc.value.report.errors} == {"outside_communities"}
    assert {i.id for i in exc.value.report.errors} <= set(truth["outside"])
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
    saved = json.loads((tmp_path / "rep" / "buildings.json").read_text(encoding="utf-8"))
    bad = saved["rows_rejected"]
    assert 0 < bad <= len(truth["outside"])
    assert f"buildings: {truth['n']} rows read, {bad} errors, {saved['warnings']} warnings" in res.output
    assert {i["rule"] for i in saved["issues"]} == {"outside_communities", "straddles_communities", "merged_buildings"}
    assert (tmp_path / "rep" / "buildings.csv").read_text(encoding="utf-8-sig").count("\n") == len(saved["issues"]) + 1
    store = open_store(url)
    assert store.count("buildings") == saved["inserted"]
    store.close()
    # --strict: the anomalies refuse the whole set, nothing is written
    url2 = f"sqlite:///{tmp_path / 'tp2.db'}"
    res = CliRunner().invoke(main, ["taipei", "--strict"], env={"GRIDMAP_DATABASE_URL": url2})
    assert res.exit_code == 1 and "nothing was written" in res.output
    store = open_store(url2)
    assert store.count("communities") == 0 and store.count("buildings") == 0
    store.close()
