"""``--straddlers majority``: a building on a community boundary is kept in the community holding most of it,
reported as a warning with both shares; ``reject`` (the default) refuses it as before."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from gridmap.cli.main import main
from gridmap.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "import"
sys.path.insert(0, str(DATA))
from make_files import C1, C2, world  # noqa: E402


def test_majority_keeps_the_straddler_with_a_warning(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    s = open_store(url)
    w = world()
    with s.transaction():
        for name in ("districts", "streets", "communities"):
            s.write(name, w[name])
    s.close()
    env = {"GRIDMAP_DATABASE_URL": url}
    path = str(DATA / "buildings_straddle.geojson")
    res = CliRunner().invoke(main, ["import", "buildings", path], env=env)
    assert res.exit_code == 1 and "straddles communities" in res.output and "--straddlers majority" in res.output
    res = CliRunner().invoke(main, ["import", "buildings", path, "--straddlers", "majority"], env=env)
    assert res.exit_code == 0, res.output
    # "mid" lies 60% in community 1 and 40% in community 2 (x 99–109 m, the boundary at 105 m)
    assert f"building straddles communities {C1} (60%) and {C2} (40%); assigned to {C1}" in res.output
    assert "3 rows read, 0 errors, 1 warnings, 0 rows rejected; written (inserted 3" in res.output
    s = open_store(url)
    assert s.get("buildings", "mid")["community_id"] == C1 and s.get("buildings", "edge")["community_id"] == C2
    s.close()
