"""Zip bombs, traversal, GeoJSON limits and text cleaning in gridmap.io.safety, on real files."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

from gridmap.io import safety


def make_zip(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_safe_unzip_extracts_a_shapefile_bundle(tmp_path):
    data = make_zip({"roads/roads.shp": b"\x00" * 100, "roads/roads.dbf": b"abc", "roads/道路.prj": b"GEOGCS"})
    out = safety.safe_unzip(io.BytesIO(data), tmp_path / "x")
    assert sorted(p.name for p in out) == ["roads.dbf", "roads.shp", "道路.prj"]
    assert (tmp_path / "x" / "roads" / "roads.dbf").read_bytes() == b"abc"


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "C:/evil", "..\\evil.txt"])
def test_safe_unzip_refuses_traversal(tmp_path, name):
    data = make_zip({"ok.txt": b"ok", name: b"evil"})
    with pytest.raises(safety.UnsafeArchive):
        safety.safe_unzip(io.BytesIO(data), tmp_path / "x")
    assert not list((tmp_path).rglob("evil*"))
    assert not (tmp_path / "x" / "ok.txt").exists()


def test_safe_unzip_refuses_zip_bomb_by_ratio_and_total(tmp_path):
    bomb = make_zip({"zeros.dbf": b"\x00" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000  # really a bomb: > 200:1
    with pytest.raises(safety.UnsafeArchive, match="ratio"):
        safety.safe_unzip(io.BytesIO(bomb), tmp_path / "b")
    assert not (tmp_path / "b" / "zeros.dbf").exists()
    many = make_zip({f"f{i}.txt": bytes(range(256)) * 40 for i in range(5)}, compression=zipfile.ZIP_STORED)
    with pytest.raises(safety.UnsafeArchive, match="expands"):
        safety.safe_unzip(io.BytesIO(many), tmp_path / "m", limits=safety.ZipLimits(max_total_bytes=30_000))
    with pytest.raises(safety.UnsafeArchive, match="entries"):
        safety.safe_unzip(io.BytesIO(many), tmp_path / "n", limits=safety.ZipLimits(max_members=3))


def test_safe_unzip_catches_a_forged_size_header(tmp_path):
    data = bytearray(make_zip({"a.txt": b"A" * 5000}, compression=zipfile.ZIP_STORED))
    # forge the declared uncompressed size in the central directory to 10 bytes
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    with pytest.raises(safety.UnsafeArchive):
        safety.safe_unzip(io.BytesIO(bytes(data)), tmp_path / "f", limits=safety.ZipLimits(max_member_bytes=100))
    assert not (tmp_path / "f" / "a.txt").exists()


def test_safe_unzip_refuses_symlinks_and_garbage(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(safety.UnsafeArchive, match="link"):
        safety.safe_unzip(io.BytesIO(buf.getvalue()), tmp_path / "l")
    with pytest.raises(safety.UnsafeArchive, match="zip"):
        safety.safe_unzip(io.BytesIO(b"not a zip"), tmp_path / "g")


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("社区 网格.csv", "社区 网格.csv"),
        ("a<script>.geojson", "a_script_.geojson"),
        ("x\x00y.shp", "xy.shp"),
        (".bashrc", "bashrc"),
    ],
)
def test_safe_filename(raw, clean):
    assert safety.safe_filename(raw) == clean


@pytest.mark.parametrize("raw", ["..", "/", "CON.txt", "\x00", "   "])
def test_safe_filename_refuses(raw):
    with pytest.raises(safety.UnsafePath):
        safety.safe_filename(raw)


def test_safe_join(tmp_path):
    assert safety.safe_join(tmp_path, "a/b.txt") == (tmp_path / "a" / "b.txt").resolve()
    for bad in ("../x", "/etc/passwd", "a/../../x"):
        with pytest.raises(safety.UnsafePath):
            safety.safe_join(tmp_path, bad)


def feature(coords, kind="Point"):
    return {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": kind, "coordinates": coords}}


def test_check_geojson_accepts_and_counts():
    fc = {
        "type": "FeatureCollection",
        "features": [feature([120.4, 36.3]), feature([[[120, 36], [121, 36], [121, 37], [120, 36]]], "Polygon")],
    }
    assert safety.check_geojson(fc) == 5


@pytest.mark.parametrize(
    "obj, msg",
    [
        ({"type": "FeatureCollection", "features": [feature([200, 36])]}, "outside"),
        ({"type": "FeatureCollection", "features": [feature([120, 95])]}, "outside"),
        ({"type": "FeatureCollection", "features": [feature(["x", 36])]}, "numbers"),
        ({"type": "FeatureCollection", "features": [feature([float("nan"), 36])]}, "outside"),
        ({"type": "FeatureCollection", "features": [feature([[120, 36]], "Polygon")]}, "position"),
        ({"type": "FeatureCollection", "features": [feature(5, "LineString")]}, "nested"),
        ({"type": "FeatureCollection", "features": {}}, "array"),
        ({"type": "Circle", "coordinates": [1, 2]}, "unknown"),
        ([1, 2, 3], "object"),
    ],
)
def test_check_geojson_refuses(obj, msg):
    with pytest.raises(safety.BadGeoJSON, match=msg):
        safety.check_geojson(obj)


def test_check_geojson_limits():
    fc = {"type": "FeatureCollection", "features": [feature([120, 36])] * 11}
    with pytest.raises(safety.BadGeoJSON, match="features"):
        safety.check_geojson(fc, limits=safety.GeoJSONLimits(max_features=10))
    line = feature([[120, 36]] * 50, "LineString")
    with pytest.raises(safety.BadGeoJSON, match="vertices"):
        safety.check_geojson(line, limits=safety.GeoJSONLimits(max_vertices=49))


def test_clean_text_and_html_text():
    assert safety.clean_text("a\x00b\tc\n<script>", field="d") == "ab\tc\n<script>"
    assert safety.clean_text("  ", field="d") is None
    with pytest.raises(Exception, match="required"):
        safety.clean_text("", field="d", required=True)
    with pytest.raises(Exception, match="longer"):
        safety.clean_text("x" * 11, field="d", max_length=10)
    out = safety.html_text("<img src=x onerror=alert(1)>`${alert(2)}`\\")
    assert "<" not in out and "`" not in out and "$" not in out and "\\" not in out


def test_check_zip_reads_in_place(tmp_path):
    ok = tmp_path / "ok.zip"
    ok.write_bytes(make_zip({"a/roads.shp": b"x" * 100, "a/roads.dbf": b"y"}))
    assert safety.check_zip(ok) == ["a/roads.shp", "a/roads.dbf"]
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(make_zip({"zeros.dbf": b"\x00" * (20 * 1024 * 1024)}))
    with pytest.raises(safety.UnsafeArchive, match="ratio"):
        safety.check_zip(bomb)
    evil = tmp_path / "evil.zip"
    evil.write_bytes(make_zip({"../../x.shp": b"x"}))
    with pytest.raises(safety.UnsafeArchive):
        safety.check_zip(evil)
    assert list(tmp_path.iterdir()) and not (tmp_path.parent / "x.shp").exists()
