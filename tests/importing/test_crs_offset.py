"""Files in Baidu (BD-09) or AMap (GCJ-02) coordinates: read with --crs bd09/gcj02, and a file declared WGS84
that sits at one of those offsets from the stored boundaries is flagged (and a correct one is not)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridmap.domain.gcj02 import wgs84_to_bd09, wgs84_to_gcj02
from gridmap.io.geodata import taipei_file
from gridmap.services.importing import import_file
from gridmap.services.taipei import taipei_layers

SHIFTS = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


@pytest.fixture
def taipei(sqlite_store):
    layers = taipei_layers(gpd.read_file(taipei_file("villages")), gpd.read_file(taipei_file("buildings")))
    with sqlite_store.transaction():
        for name in ("districts", "streets", "communities"):
            sqlite_store.write(name, layers[name])
    b = layers["buildings"]
    return sqlite_store, b.iloc[::7].reset_index(drop=True)  # about 500 real footprints


def _write(frame: gpd.GeoDataFrame, path, shift=None):
    out = frame.copy()
    if shift is not None:
        out["geometry"] = shapely.transform(
            out.geometry.to_numpy(), lambda xy: np.column_stack(shift(xy[:, 0], xy[:, 1]))
        )
    out.to_file(path, driver="GeoJSON")
    return path


@pytest.mark.parametrize("name", ["gcj02", "bd09"])
def test_shifted_file_declared_wgs84_is_flagged_and_reads_back_with_crs(taipei, tmp_path, name):
    store, b = taipei
    path = _write(b, tmp_path / f"{name}.geojson", SHIFTS[name])
    rep = import_file(store, "buildings", path, skip_invalid=True)
    hints = [i for i in rep.issues if i.rule == "crs_offset"]
    assert len(hints) == 1 and hints[0].level == "warning" and hints[0].fix == f"re-import with --crs {name}"
    # read with the right --crs, the footprints land back on the originals (within 1 m)
    store.delete("buildings")
    rep = import_file(store, "buildings", path, crs=name, skip_invalid=True)
    assert not [i for i in rep.issues if i.rule == "crs_offset"]
    got = store.read("buildings").set_index("id").to_crs(3826)
    assert len(got) > 400
    want = b.set_index("id").loc[got.index].to_crs(3826)
    assert shapely.hausdorff_distance(got.geometry.to_numpy(), want.geometry.to_numpy()).max() < 1.0


def test_correct_file_is_not_flagged(taipei, tmp_path):
    store, b = taipei
    rep = import_file(store, "buildings", _write(b, tmp_path / "wgs84.geojson"), skip_invalid=True)
    assert not [i for i in rep.issues if i.rule == "crs_offset"]
    assert rep.written.inserted > 400


def test_unknown_crs_names_the_offset_ones(tmp_path):
    from gridmap.io.files import ReadError, parse_crs

    assert parse_crs("BD-09") == "bd09" and parse_crs("gcj02") == "gcj02"
    with pytest.raises(ReadError, match="bd09"):
        parse_crs("baidu")
