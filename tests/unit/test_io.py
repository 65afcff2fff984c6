"""Reading every supported format and CRS into the same EPSG:4326 geometries."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.domain.gcj02 import wgs84_to_gcj02
from gridmap.io.files import ReadError, read_file
from gridmap.synth.tiny import grid_world


@pytest.fixture(scope="module")
def buildings():
    return grid_world(2, 3, households=7)["buildings"]


def _close(a, b, tol=1e-7):
    norm = shapely.normalize  # shapefiles rewind rings: compare shapes, not vertex order
    ca, cb = shapely.get_coordinates(norm(np.asarray(a))), shapely.get_coordinates(norm(np.asarray(b)))
    assert ca.shape == cb.shape and np.abs(ca - cb).max() < tol


@pytest.mark.parametrize(
    "suffix,crs",
    [(".geojson", 4326), (".gpkg", 4549), (".gpkg", 4490), (".parquet", 3857), (".shp", 3857), (".zip", 4549)],
)
def test_formats_and_crs_land_in_wgs84(buildings, tmp_path, suffix, crs):
    src = buildings.to_crs(crs)
    path = tmp_path / f"b{suffix}"
    if suffix == ".parquet":
        src.to_parquet(path)
    elif suffix == ".zip":
        src.to_file(tmp_path / "b.shp")
        with zipfile.ZipFile(path, "w") as z:
            for part in tmp_path.glob("b.*"):
                if part.suffix != ".zip":
                    z.write(part, part.name)
    else:
        src.to_file(path)
    got = read_file(path)
    assert got.frame.crs.to_epsg() == 4326 and got.notes == []
    assert str(crs) in got.source_crs
    _close(got.frame.geometry, buildings.geometry)
    assert list(got.frame["id"]) == list(buildings["id"])


def test_csv_wkt_and_lonlat_need_a_crs(buildings, tmp_path):
    pd.DataFrame(
        {"id": buildings["id"], "WKT": shapely.to_wkt(buildings.geometry.to_numpy(), rounding_precision=12)}
    ).to_csv(tmp_path / "w.csv", index=False)
    with pytest.raises(ReadError, match="no coordinate reference system"):
        read_file(tmp_path / "w.csv")
    _close(read_file(tmp_path / "w.csv", crs="EPSG:4326").frame.geometry, buildings.geometry)
    c = buildings.geometry.to_crs(4549).centroid.to_crs(4326)
    pd.DataFrame({"id": buildings["id"], "经度": c.x, "纬度": c.y}).to_csv(tmp_path / "p.csv", index=False)
    _close(read_file(tmp_path / "p.csv", crs="4326").frame.geometry, c)


def test_gcj02_points_are_converted(buildings, tmp_path):
    c = buildings.geometry.to_crs(4549).centroid.to_crs(4326)
    glon, glat = wgs84_to_gcj02(c.x.to_numpy(), c.y.to_numpy())
    pd.DataFrame({"id": buildings["id"], "lng": glon, "lat": glat}).to_csv(tmp_path / "g.csv", index=False)
    got = read_file(tmp_path / "g.csv", crs="gcj02")
    assert got.source_crs == "gcj02"
    _close(got.frame.geometry, c, tol=1e-9)
    # read as if it were WGS84, the points land hundreds of metres away
    off = read_file(tmp_path / "g.csv", crs="EPSG:4326").frame.geometry
    assert (off.to_crs(4549).distance(c.to_crs(4549)) > 100).all()


def test_swapped_axes_in_a_projected_free_file(buildings, tmp_path):
    c = buildings.geometry.to_crs(4549).centroid.to_crs(4326)
    pd.DataFrame({"id": buildings["id"], "lon": c.y, "lat": c.x}).to_csv(tmp_path / "s.csv", index=False)
    got = read_file(tmp_path / "s.csv", crs="EPSG:4490")
    assert [n[1] for n in got.notes] == ["latitude and longitude are swapped in the file"]
    _close(got.frame.geometry, c)


def test_clear_errors(tmp_path):
    with pytest.raises(ReadError, match="no such file"):
        read_file(tmp_path / "missing.geojson")
    (tmp_path / "x.xlsx").write_text("")
    with pytest.raises(ReadError, match="unsupported file type"):
        read_file(tmp_path / "x.xlsx")
    (tmp_path / "n.csv").write_text("id,name\n1,a\n")
    with pytest.raises(ReadError, match="no geometry"):
        read_file(tmp_path / "n.csv", crs="EPSG:4326")
    assert list(read_file(tmp_path / "n.csv", geometry=False).frame["name"]) == ["a"]
    with pytest.raises(ReadError, match="unknown CRS"):
        read_file(tmp_path / "n.csv", crs="EPSG:99999999")
