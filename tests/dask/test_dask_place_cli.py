"""``gridmap dask place`` on a LocalCluster gives the single-process placement of the same records."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("dask_geopandas")
pytest.importorskip("distributed")

from gridmap.cli.main import main
from gridmap.domain.placement import place
from gridmap.services.placement import load_world


def test_dask_place_command_matches_single_process(demo_copy, tmp_path):
    b = demo_copy.read("buildings", columns=["id", "geometry"])
    rng = np.random.default_rng(0)
    pts = b.geometry.representative_point().sample(400, random_state=0)
    x = np.r_[pts.x.to_numpy(), rng.uniform(120.0, 120.6, 100)]  # plus points anywhere (off buildings, outside)
    y = np.r_[pts.y.to_numpy(), rng.uniform(36.1, 36.5, 100)]
    recs = gpd.GeoDataFrame({"id": [f"h{i}" for i in range(len(x))]}, geometry=gpd.points_from_xy(x, y), crs=4326)
    src = tmp_path / "in"
    src.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(recs)), 3)):
        recs.iloc[part].to_parquet(src / f"part{i}.parquet")
    want = place(recs, load_world(demo_copy))
    out = tmp_path / "placed"
    res = CliRunner().invoke(
        main,
        ["dask", "place", str(src), str(out), "--local", "1"],
        env={"GRIDMAP_DATABASE_URL": demo_copy.url},
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert " ".join(f"{k}={v}" for k, v in want.summary.items()) in res.output
    got = pd.read_parquet(out).sort_values("id").reset_index(drop=True)
    exp = want.frame.sort_values("id").reset_index(drop=True)
    for col in ("id", "building_id", "grid_code", "community_id", "placement"):
        assert (
            got[col].astype(object).where(got[col].notna(), None).tolist()
            == exp[col].astype(object).where(exp[col].notna(), None).tolist()
        ), col
