"""OpenStreetMap lines as grid barriers: read ``.osm`` / ``.osm.pbf`` with GDAL's OSM driver (through pyogrio),
or any line file carrying OSM tags, and keep what a grid boundary follows — roads by ``highway`` class,
``waterway``, ``railway`` and ``barrier=wall|fence`` — each with a ``kind``: road, river, railway, wall, fence.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridmap.io.files import ReadError
from gridmap.quiet import quiet_fds

OSM_SUFFIXES = (".osm", ".osm.pbf", ".pbf")
TAGS = ("highway", "waterway", "railway", "barrier")
WATERWAYS = ("river", "stream", "canal", "drain", "ditch")
RAILWAYS = ("rail", "light_rail", "subway", "tram", "narrow_gauge", "monorail")
WALLS = {"wall": "wall", "fence": "fence", "city_wall": "wall", "retaining_wall": "wall"}
#: the kinds a barrier may have, in report order
KINDS = ("road", "river", "railway", "wall", "fence")


def is_osm(path: str | Path) -> bool:
    name = Path(path).name.lower()
    return name.endswith(OSM_SUFFIXES)


def read_osm(path: str | Path) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The ``lines`` layer of an OSM file (EPSG:4326): ``osm_id``, ``name``, the tags of :data:`TAGS` and the
    geometry; and what GDAL had to say (kept off the terminal, returned for the report)."""
    path = Path(path)
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught, quiet_fds() as said:
        warnings.simplefilter("always")
        try:
            frame = pyogrio.read_dataframe(str(path), layer="lines")
        except Exception as exc:  # DataSourceError, DataLayerError …
            raise ReadError(f"{path}: cannot read as OpenStreetMap ({exc})") from None
    notes += [str(w.message) for w in caught]
    notes += [line.strip() for line in said.text.splitlines() if line.strip()]
    if frame.crs is None:
        frame = frame.set_crs(4326)
    for tag in ("osm_id", "name", *TAGS):
        if tag not in frame:
            frame[tag] = None
    return frame.to_crs(4326), notes


def classify(frame: pd.DataFrame, highways: Iterable[str]) -> pd.Series:
    """The barrier kind of each row from its OSM tags (None: not a barrier): roads of the ``highways``
    classes, waterways, railways, walls and fences."""
    keep = {h.strip() for h in highways if h.strip()}
    n = len(frame)

    def tag(name: str) -> np.ndarray:
        col = frame[name] if name in frame else pd.Series([None] * n, index=frame.index)
        return col.where(col.notna(), None).astype(object).map(lambda v: None if v is None else str(v)).to_numpy()

    hw, ww, rw, bw = tag("highway"), tag("waterway"), tag("railway"), tag("barrier")
    kind = np.full(n, None, dtype=object)
    kind[np.isin(bw, list(WALLS))] = [WALLS[b] for b in bw[np.isin(bw, list(WALLS))]]
    kind[np.isin(rw, RAILWAYS)] = "railway"
    kind[np.isin(ww, WATERWAYS)] = "river"
    kind[np.isin(hw, list(keep))] = "road"
    return pd.Series(kind, index=frame.index, dtype=object)


def line_parts(geoms: np.ndarray) -> np.ndarray:
    """Each geometry reduced to its lines (a clip can leave points); empty where nothing is left."""
    out: list[shapely.Geometry] = []
    for g in geoms:
        if g is None or g.is_empty:
            out.append(shapely.LineString())
            continue
        if g.geom_type in ("LineString", "MultiLineString"):
            out.append(g)
            continue
        parts = [p for p in shapely.get_parts(g) if p.geom_type in ("LineString", "MultiLineString")]
        if not parts and g.geom_type in ("Polygon", "MultiPolygon"):
            parts = [g.boundary]
        out.append(shapely.line_merge(shapely.union_all(parts)) if parts else shapely.LineString())
    return np.array(out, dtype=object)
