"""The wheel ships geodata/ and templates/, and an installed gridmap finds them there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("gridmap", "geodata", "templates", "setup.py", "pyproject.toml", "README.md", "MANIFEST.in")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("wheel", reason="the 'wheel' package builds wheels (pip install wheel)")
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_data"))
        elif path.exists():
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        text=True,
    )
    (whl,) = out.glob("gridmap-*.whl")
    return whl


def test_wheel_contains_geodata_and_templates(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "gridmap/_data/geodata/chengyang_subdistricts/chengyang_subdistricts.geojson" in names
    assert "gridmap/_data/geodata/chengyang_subdistricts/SOURCE.md" in names
    assert "gridmap/_data/geodata/taipei_wanhua_buildings_villages/buildings.geojson" in names
    assert "gridmap/_data/templates/base.html" in names


def test_installed_wheel_finds_its_data(wheel: Path, tmp_path: Path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    code = (
        "import gridmap, gridmap.io.geodata as g; from gridmap.resources import resource_path as r; "
        "print(gridmap.__file__); print(len(g.chengyang_streets())); "
        "print(r('templates/base.html')); print(r('templates/base.html').is_file())"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    )
    pkg, n, base, exists = res.stdout.split()
    assert pkg.startswith(str(target)) and n == "8"
    assert base.startswith(str(target / "gridmap" / "_data")) and exists == "True"


def test_wheel_ships_the_maps_offline_assets_and_translations(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "gridmap/static/js/gridmap.js",
        "gridmap/static/css/app.css",
        "gridmap/static/vendor/fontawesome-6.2.0/webfonts/fa-solid-900.woff2",
        "gridmap/static/vendor/leaflet-heat/leaflet_heat.min.js",
        "gridmap/translations/en/LC_MESSAGES/messages.mo",
        "gridmap/_data/templates/maps/grid.html",
    ):
        assert path in names, path
