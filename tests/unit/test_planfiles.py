from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box
from shapely.ops import unary_union

from gridmap.io.planfiles import FORMATS, PlanFileError, export_plan, import_plan, read_grid_polygons
from rebalance_worlds import plan_from_rows


def _world():
    plan = plan_from_rows(["AAB", "ACB", "CCB"]).with_id("p1")
    cells = {
        f"r{i}c{j}": box(120.4 + j * 0.001, 36.3 - i * 0.001, 120.401 + j * 0.001, 36.301 - i * 0.001)
        for i in range(3)
        for j in range(3)
    }
    grids = gpd.GeoDataFrame(
        {"code": plan.codes}, geometry=[unary_union([cells[b] for b in plan.grids[c]]) for c in plan.codes], crs=4326
    )
    return plan, grids


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_import_yields_the_same_plan(tmp_path, fmt):
    plan, grids = _world()
    suffix = {"gpkg": ".gpkg", "geojson": ".geojson", "shp": ".zip", "csv": ".csv"}[fmt]
    path = export_plan(plan, tmp_path / f"plan{suffix}", grids=grids, households={b: 10 for b in plan.assignment})
    back = import_plan(path)
    assert back.same_assignment(plan)
    polys = read_grid_polygons(path)
    if fmt == "csv":
        assert len(polys) == 0
    else:
        got = dict(zip(polys["code"], polys.geometry))
        for code, geom in zip(grids["code"], grids.geometry):
            assert got[code].symmetric_difference(geom).area < 1e-12


def test_geopackage_has_the_layers_qgis_shows(tmp_path):
    import pyogrio

    plan, grids = _world()
    path = export_plan(plan, tmp_path / "plan.gpkg", grids=grids)
    assert [tuple(x) for x in pyogrio.list_layers(path)] == [("grids", "MultiPolygon"), ("plan_assignments", None)]
    table = pyogrio.read_dataframe(path, layer="grids", read_geometry=False)
    assert table.set_index("code")["buildings"].to_dict() == {c: len(plan.grids[c]) for c in plan.codes}


def test_csv_without_community_column_uses_the_code_prefix(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("building_id,grid_code\nb1,370214001001001\nb2,370214001002001\n")
    plan = import_plan(path)
    assert dict(plan.grid_community) == {"370214001001001": "370214001001", "370214001002001": "370214001002"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("building_id,grid_code\nb1,370214001001001\nb1,370214001001002\n", "row 3: building 'b1' appears twice"),
        ("building_id,grid_code\nb1,\n", "row 2: building 'b1' has an empty grid_code"),
        ("building_id,grid_code\nb1,G1\n", "row 2: no community for grid 'G1'"),
        ("building_id,grid_code,community_id\nb1,G1,X\nb2,G1,Y\n", "grid 'G1' is in community 'X' and 'Y'"),
        ("building,grid\nb1,G1\n", "no column 'building_id'"),
    ],
)
def test_bad_csv_says_row_and_field(tmp_path, text, message):
    path = tmp_path / "p.csv"
    path.write_text(text)
    with pytest.raises(PlanFileError, match=message):
        import_plan(path)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(PlanFileError, match="cannot tell the format"):
        import_plan(tmp_path / "plan.xlsx")
    with pytest.raises(PlanFileError, match="no such file"):
        import_plan(tmp_path / "plan.csv")
