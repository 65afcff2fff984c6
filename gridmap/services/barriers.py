"""Barriers (roads, rivers, railways, walls) for grid boundaries to follow: ``gridmap import barriers FILE``.

OpenStreetMap files (``.osm``, ``.osm.pbf``) go through GDAL's OSM driver; other files (GeoJSON …) either hold
OSM tags (``highway``, ``waterway``, ``railway``, ``barrier``) or a ``kind`` column. Lines are clipped to the
district (the stored districts, else the communities), given ids (``osm-<osm_id>`` from OSM) and imported
through the ordinary import path; the report counts the barriers of each kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.config import SETTINGS
from gridmap.errors import InvalidInput
from gridmap.io.files import read_file
from gridmap.io.osm import KINDS, TAGS, classify, is_osm, line_parts, read_osm
from gridmap.io.validation import Issue
from gridmap.services.importing import ImportReport, import_frame
from gridmap.store.base import Store


def split_classes(text: str) -> tuple[str, ...]:
    """``"primary, secondary"`` → ``("primary", "secondary")``."""
    return tuple(c.strip() for c in str(text).split(",") if c.strip())


#: highway classes kept by default (the setting ``GRIDMAP_BARRIER_HIGHWAYS``)
DEFAULT_HIGHWAYS = split_classes(next(s.default for s in SETTINGS if s.name == "BARRIER_HIGHWAYS"))


def import_barriers(
    store: Store,
    path: str | Path,
    *,
    crs: str | None = None,
    skip_invalid: bool = False,
    highways: Iterable[str] = DEFAULT_HIGHWAYS,
    gpkg_layer: str | None = None,
    id_column: str | None = None,
) -> ImportReport:
    """Import the barrier lines of ``path`` clipped to the district (see the module docstring)."""
    path = Path(path)
    area = _district(store)
    issues: list[Issue] = []
    source_crs: str | None = "EPSG:4326"
    if is_osm(path):
        frame, said = read_osm(path)
        issues += [
            Issue(None, None, "file", f"GDAL: {s}", "nothing to do unless barriers are missing", "warning", "gdal")
            for s in said[:20]
        ]
    else:
        result = read_file(path, crs=crs, layer=gpkg_layer)
        frame, source_crs = result.frame, result.source_crs
    report = ImportReport(layer="barriers", source=str(path), source_crs=source_crs)
    report.issues += issues
    frame = frame.reset_index(drop=True)
    if id_column:
        if id_column not in frame:
            raise InvalidInput(f"--id-column {id_column!r} is not a column of {path}")
        frame = frame.drop(columns=["id"], errors="ignore").rename(columns={id_column: "id"})
    lines_read = len(frame)
    tagged = any(t in frame for t in TAGS)
    if tagged:
        frame["kind"] = classify(frame, highways)
        frame = frame[frame["kind"].notna()]
        ids = frame["osm_id"] if "osm_id" in frame else frame.get("id", pd.Series(range(1, len(frame) + 1)))
        if "osm_id" in frame:
            frame["id"] = [f"osm-{i}" for i in ids]
        elif "id" not in frame:
            frame["id"] = [f"barrier-{i}" for i in range(1, len(frame) + 1)]
    elif "kind" not in frame:
        raise InvalidInput(
            f"{path}: no OSM tags ({', '.join(TAGS)}) and no 'kind' column: say what each line is ({', '.join(KINDS)})"
        )
    frame = frame.reset_index(drop=True)
    geoms = frame.geometry.to_numpy()
    inside = shapely.intersects(geoms, area)
    clipped = line_parts(np.asarray(np.where(inside, shapely.intersection(geoms, area), None), dtype=object))
    keep = ~shapely.is_empty(clipped)
    out = gpd.GeoDataFrame(
        frame.loc[keep, [c for c in ("id", "kind", "name") if c in frame]].reset_index(drop=True),
        geometry=list(clipped[keep]),
        crs=4326,
    )
    report.kinds = {k: int((out["kind"] == k).sum()) for k in sorted(set(out["kind"]), key=_kind_order)}
    report.dropped = int(lines_read - len(out))
    return import_frame(store, "barriers", out, report=report, skip_invalid=skip_invalid)


def _kind_order(kind: str) -> tuple[int, str]:
    return (KINDS.index(kind) if kind in KINDS else len(KINDS), str(kind))


def _district(store: Store):
    for layer in ("districts", "communities"):
        rows = store.read(layer, columns=["id", "geometry"])
        if len(rows):
            return shapely.make_valid(shapely.union_all(rows.geometry.to_numpy()))
    raise InvalidInput("no district or communities in the store: import them first (barriers are clipped to them)")
