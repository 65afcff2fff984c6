"""Load the real Taipei Wanhua set (``geodata/taipei_wanhua_buildings_villages``) through the import path.

Villages (里) become communities, their districts (區) streets, Taipei City the district; building
footprints become buildings whose community is derived from geometry by the importer, which reports the
real anomalies (buildings outside every 里, buildings straddling two, overlapping footprints). Households are
estimated from the footprint and the height: floors = height / 3 m, households = footprint × floors / 90 m²
(at least 1).

By default the loader applies the rules for real data: footprints overlapping by more than half of the
smaller (the parts of one building in the 3-D city model) are merged into one building, and a building on a
里 boundary goes to the 里 holding most of it (a warning each); ``merge_overlapping=None`` and
``straddlers="reject"`` import the set as the file has it.

Ids follow gridmap's code lengths: district ``630000``, street ``630000`` + the 3-digit 區 code of the
NLSC village code (``6300700018`` → 萬華區 ``007``), community = street + the village's last 3 digits.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.domain.codes import street_of
from gridmap.domain.footprints import OVERLAP_SHARE
from gridmap.io.geodata import taipei_file
from gridmap.services.importing import ImportReport, import_frame
from gridmap.store.base import Store

DISTRICT_ID, DISTRICT_NAME = "630000", "臺北市"
FLOOR_HEIGHT_M = 3.0
M2_PER_HOUSEHOLD = 90.0
PERSONS_PER_HOUSEHOLD = 2.5


def community_id(village_code: str) -> str:
    """NLSC village code (10 digits) → 12-digit community id."""
    code = str(village_code)
    return f"{DISTRICT_ID}{code[2:5]}{code[-3:]}"


def taipei_layers(villages: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> dict[str, pd.DataFrame]:
    """Frames for districts, streets, communities and buildings (without community: the importer derives it)."""
    v = villages.to_crs(4326).copy()
    v["id"] = v["village_code"].map(community_id)
    v["street_id"] = v["id"].map(street_of)
    communities = gpd.GeoDataFrame(
        v[["id", "village", "street_id", "geometry"]].rename(columns={"village": "name"}), geometry="geometry", crs=4326
    )
    streets = (
        v.dissolve(by="street_id", aggfunc={"district": "first"})
        .reset_index()
        .rename(columns={"street_id": "id", "district": "name"})
    )
    streets = gpd.GeoDataFrame(
        streets[["id", "name", "geometry"]].assign(district_id=DISTRICT_ID), geometry="geometry", crs=4326
    )
    district = gpd.GeoDataFrame(
        {"id": [DISTRICT_ID], "name": [DISTRICT_NAME]},
        geometry=[shapely.union_all(streets.geometry.to_numpy())],
        crs=4326,
    )
    b = buildings.to_crs(4326)
    floors = np.maximum(1, np.round(b["height_m"].to_numpy(float) / FLOOR_HEIGHT_M)).astype(int)
    households = np.maximum(1, np.round(b["footprint_m2"].to_numpy(float) * floors / M2_PER_HOUSEHOLD)).astype(int)
    bld = gpd.GeoDataFrame(
        {
            "id": b["bldg_id"],
            "households": households,
            "residents": np.round(households * PERSONS_PER_HOUSEHOLD).astype(int),
            "floors": floors,
        },
        geometry=b.geometry.to_numpy(),
        crs=4326,
    )
    return {"districts": district, "streets": streets, "communities": communities, "buildings": bld}


def load_taipei(
    store: Store,
    *,
    skip_invalid: bool = True,
    merge_overlapping: float | None = OVERLAP_SHARE,
    straddlers: str = "majority",
) -> dict[str, ImportReport]:
    """Import the shipped Taipei set into ``store``; returns each layer's import report.

    With ``skip_invalid`` (default) the anomalous buildings are reported and left out; without it the
    first layer with an error raises :class:`gridmap.services.importing.ImportRejected` and nothing is written.
    ``merge_overlapping`` and ``straddlers`` as in :func:`gridmap.services.importing.import_frame` (for the
    buildings).
    """
    layers = taipei_layers(gpd.read_file(taipei_file("villages")), gpd.read_file(taipei_file("buildings")))
    reports = {}
    with store.transaction():  # all four layers or none
        for name in ("districts", "streets", "communities", "buildings"):
            report = ImportReport(layer=name, source=f"taipei:{name}", source_crs="EPSG:4326")
            buildings = name == "buildings"
            reports[name] = import_frame(
                store,
                name,
                layers[name],
                report=report,
                skip_invalid=skip_invalid,
                merge_overlapping=merge_overlapping if buildings else None,
                straddlers=straddlers if buildings else "reject",
            )
    return reports
