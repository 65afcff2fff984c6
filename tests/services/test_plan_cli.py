from __future__ import annotations

import json

from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.store import open_store
from plan_world import COM, seed

A, B = f"{COM}001", f"{COM}002"


def test_plan_cli_rebalance_diff_publish_export_import(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    hh = {f"r{i}c{j}": 10 for i in range(3) for j in range(3)} | {"r1c1": 5}
    seed(store, ["AAB", "AAB", "AAB"], hh, bounds=(30, 50))
    store.close()
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", url)
    run = CliRunner().invoke
    res = run(main, ["plan", "rebalance", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert [m["building_id"] for m in report["moves"]] == ["r1c1"] and report["households_moved"] == 5
    draft, new = report["draft"], report["plan"]
    res = run(main, ["plan", "diff", "plan-base", new, "--json"])
    assert json.loads(res.stdout)["summary"]["households"] == 5
    assert run(main, ["plan", "check", "plan-base"]).exit_code == 1  # A is above max
    res = run(main, ["plan", "publish", draft, "--date", "2026-12-01"])
    assert res.exit_code == 0 and "effective 2026-12-01" in res.output
    assert run(main, ["plan", "check", new]).exit_code == 0
    out = tmp_path / "p.gpkg"
    assert run(main, ["plan", "export", new, str(out)]).exit_code == 0
    res = run(main, ["plan", "import", str(out)])
    assert res.exit_code == 0 and "(0 buildings differ" in res.output
    res = run(main, ["plan", "publish", "no-such-draft"])
    assert res.exit_code == 1 and "no plan" in res.output
    res = run(main, ["plan", "rollback", "plan-base"])
    assert res.exit_code == 0, res.output
    assert "plan-base" in run(main, ["plan", "list"]).output
