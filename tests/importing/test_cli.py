"""``gridmap import`` and ``gridmap synth`` from the command line: exit codes, stderr, report files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
sys.path.insert(0, str(DATA))
from make_files import world  # noqa: E402


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    s = open_store(url)
    w = world()
    with s.transaction():
        for name in ("districts", "streets", "communities", "estates", "buildings"):
            s.write(name, w[name])
    s.close()
    return url


def test_import_errors_exit_1_and_write_a_report(tmp_path):
    url = _store(tmp_path)
    runner = CliRunner()
    env = {"GRIDMAP_DATABASE_URL": url}
    out = tmp_path / "r.json"
    res = runner.invoke(
        main,
        ["import", "buildings", str(DATA / "buildings_households.csv"), "--crs", "EPSG:4326", "--report", str(out)],
        env=env,
    )
    assert res.exit_code == 1
    assert "nothing was written" in res.stderr and "negative households -3" in res.stderr
    rep = json.loads(out.read_text(encoding="utf-8"))
    assert (rep["rows_read"], rep["errors"], rep["written"]) == (4, 3, False)
    assert [(i["row"], i["id"], i["field"], i["rule"]) for i in rep["issues"]] == [
        (1, "h-missing", "households", "missing_value"),
        (2, "h-negative", "households", "negative_value"),
        (3, "h-text", "households", "bad_value"),
    ]
    csv_out = tmp_path / "r.csv"
    res = runner.invoke(
        main,
        [
            "import",
            "buildings",
            str(DATA / "buildings_households.csv"),
            "--crs",
            "EPSG:4326",
            "--skip-invalid",
            "--report",
            str(csv_out),
        ],
        env=env,
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(csv_out, encoding="utf-8-sig")
    assert list(table.columns) == ["row", "id", "field", "problem", "fix", "level", "rule"]
    assert list(table["id"]) == ["h-missing", "h-negative", "h-text"]
    s = open_store(url)
    assert s.get("buildings", "h-ok")["households"] == 12 and s.get("buildings", "h-text") is None
    s.close()


def test_import_without_crs_is_a_clean_error(tmp_path):
    res = CliRunner().invoke(
        main,
        ["import", "households", str(DATA / "households_lonlat.csv")],
        env={"GRIDMAP_DATABASE_URL": _store(tmp_path)},
    )
    assert res.exit_code == 1 and "Pass --crs" in res.stderr and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["import", "nonsense", str(DATA / "households_lonlat.csv")])
    assert res.exit_code == 2


def test_synth_to_files_and_into_the_store(tmp_path):
    runner = CliRunner()
    scale = '{"communities": 16, "estates": 8, "village_houses": 100, "loose_buildings": 10, "household_estates": 0}'
    res = runner.invoke(main, ["synth", "--scale", scale, "--seed", "2", "--out", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    b = pd.read_parquet(tmp_path / "w" / "buildings.parquet")
    assert len(b) > 100 and (tmp_path / "w" / "communities.parquet").exists()
    url = f"sqlite:///{tmp_path / 's.db'}"
    res = runner.invoke(main, ["synth", "--scale", scale, "--seed", "2"], env={"GRIDMAP_DATABASE_URL": url})
    assert res.exit_code == 0, res.output
    s = open_store(url)
    assert s.count("buildings") == len(b) and s.count("communities") == 16
    s.close()
    res = runner.invoke(main, ["synth", "--scale", "huge"])
    assert res.exit_code == 1 and "bad --scale" in res.stderr
