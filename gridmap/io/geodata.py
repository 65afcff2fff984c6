"""The real boundaries shipped in ``geodata/`` (see each set's SOURCE.md for origin and licence).

Read from the repository checkout or from an installed wheel (:func:`gridmap.resources.resource_path`);
never from outside the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import geopandas as gpd

from gridmap.resources import resource_path

CHENGYANG_STREETS = "geodata/chengyang_subdistricts/chengyang_subdistricts.geojson"
CHENGYANG_DISTRICT = "geodata/qingdao_admin_districts/chengyang_district.geojson"
TAIPEI = "geodata/taipei_wanhua_buildings_villages"


def geodata_file(relative: str) -> Path:
    """Path of a shipped data file, e.g. ``geodata_file(CHENGYANG_STREETS)``; FileNotFoundError if missing."""
    path = resource_path(relative)
    if not path.exists():
        raise FileNotFoundError(f"shipped data file {relative} not found (looked at {path})")
    return path


@cache
def _read(relative: str) -> gpd.GeoDataFrame:
    return gpd.read_file(geodata_file(relative))


def chengyang_streets() -> gpd.GeoDataFrame:
    """The 8 real streets (街道) of Chengyang, EPSG:4326, columns ``name`` and ``geometry`` (a copy)."""
    return _read(CHENGYANG_STREETS)[["name", "geometry"]].copy()


def chengyang_district() -> gpd.GeoDataFrame:
    """The real Chengyang district boundary (land polygon), EPSG:4326, columns adcode, name, geometry."""
    return _read(CHENGYANG_DISTRICT)[["adcode", "name", "geometry"]].copy()


def taipei_file(name: str) -> Path:
    """A file of the Taipei Wanhua set: ``buildings``, ``villages``, ``garbage_truck_stops`` …"""
    return geodata_file(f"{TAIPEI}/{name}.geojson")
