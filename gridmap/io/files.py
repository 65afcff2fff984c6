"""Read the files planners already have into EPSG:4326 frames: GeoJSON, GeoPackage, Shapefile (also
zipped), GeoParquet, and CSV with lon/lat or WKT columns.

CRS handling: a file's own CRS is detected and transformed to EPSG:4326 (WGS84; CGCS2000 EPSG:4490 and
its Gauss-Krüger zones such as EPSG:4549, Web Mercator EPSG:3857 …). A file without a CRS is refused
unless ``crs`` is given; ``crs="gcj02"`` (AMap, Tencent) and ``crs="bd09"`` (Baidu) convert the offset
coordinates of Chinese map apps to WGS84.
Swapped latitude/longitude is detected and repaired (and reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gridmap.domain.gcj02 import geometries_bd09_to_wgs84, geometries_gcj02_to_wgs84
from gridmap.errors import InvalidInput
from gridmap.io.safety import UnsafeArchive, check_zip

GCJ02 = "gcj02"
BD09 = "bd09"
#: offset CRSs of Chinese map apps, converted vertex by vertex
OFFSET_CRS = {GCJ02: geometries_gcj02_to_wgs84, BD09: geometries_bd09_to_wgs84}
#: how a file read as plain WGS84 longitude/latitude reports its source CRS
WGS84_NAMES = ("EPSG:4326", "OGC:CRS84")
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape")
#: lon/lat box around China (and a margin), used to tell swapped axes apart
CHINA = (70.0, 0.0, 140.0, 56.0)
SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".parquet", ".geoparquet", ".csv", ".txt")


class ReadError(InvalidInput):
    """A file cannot be read as a layer; the message says what and what to do."""


@dataclass
class ReadResult:
    frame: pd.DataFrame
    source_crs: str | None
    #: file-level notes (e.g. swapped axes repaired), as (field, problem, fix)
    notes: list[tuple[str, str, str]] = field(default_factory=list)


def read_file(
    path: str | Path, *, crs: str | None = None, layer: str | None = None, geometry: bool = True
) -> ReadResult:
    """Read ``path`` into a frame with a ``geometry`` column in EPSG:4326 (or no geometry).

    Parameters
    ----------
    crs
        CRS of the coordinates when the file has none (CSV, a shapefile without .prj): ``"EPSG:4326"``,
        ``"EPSG:4490"``, ``"EPSG:4549"``, ``"gcj02"``, ``"bd09"`` … Given for a file that has a CRS, it overrides it.
    layer
        Layer name inside a GeoPackage (default: the first).
    geometry
        False for layers without geometry: CSV/attribute tables are read as plain frames.
    """
    path = Path(path)
    if crs:
        parse_crs(crs)  # a bad --crs is reported before the file is read
    if not path.exists():
        raise ReadError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ReadError(f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SUFFIXES)}")
    if suffix in (".csv", ".txt"):
        frame = _read_csv(path, geometry=geometry)
    elif suffix in (".parquet", ".geoparquet"):
        frame = _read_parquet(path)
    else:
        frame = _read_ogr(path, layer)
    if not isinstance(frame, gpd.GeoDataFrame):
        return ReadResult(frame=frame, source_crs=None)
    return _to_wgs84(frame, crs, path)


def _read_ogr(path: Path, layer: str | None) -> pd.DataFrame:
    target = str(path)
    if path.suffix.lower() == ".zip":
        try:  # zip bombs, forged headers, traversal names: refused before GDAL inflates anything
            names = check_zip(path)
        except UnsafeArchive as exc:
            raise ReadError(f"{path}: {exc.message}") from None
        shp = [n for n in names if n.lower().endswith((".shp", ".geojson", ".gpkg"))]
        if not shp:
            raise ReadError(f"{path}: the zip holds no .shp, .geojson or .gpkg file")
        target = f"/vsizip/{path}/{shp[0]}"
    try:
        frame = pyogrio.read_dataframe(target, layer=layer)
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError …
        raise ReadError(f"{path}: cannot read ({exc})") from None
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name != "geometry":
        frame = frame.rename_geometry("geometry")
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return gpd.read_parquet(path)
    except ValueError:  # plain Parquet without geo metadata
        return _geometry_from_columns(pd.read_parquet(path), path, geometry=True)
    except Exception as exc:
        raise ReadError(f"{path}: cannot read Parquet ({exc})") from None


def _read_csv(path: Path, *, geometry: bool) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except Exception as exc:
        raise ReadError(f"{path}: cannot read CSV ({exc})") from None
    return _geometry_from_columns(frame, path, geometry=geometry)


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower().strip(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _geometry_from_columns(frame: pd.DataFrame, path: Path, *, geometry: bool) -> pd.DataFrame:
    cols = list(frame.columns)
    lon, lat, wkt = _find(cols, LON_NAMES), _find(cols, LAT_NAMES), _find(cols, WKT_NAMES)
    if wkt is not None:
        text = frame[wkt]
        geoms = shapely.from_wkt(text.where(text.notna(), None).to_numpy(dtype=object), on_invalid="ignore")
        return gpd.GeoDataFrame(frame.drop(columns=[wkt]), geometry=geoms)
    if lon is not None and lat is not None:
        x = pd.to_numeric(frame[lon], errors="coerce").to_numpy(float)
        y = pd.to_numeric(frame[lat], errors="coerce").to_numpy(float)
        pts = shapely.points(x, y)
        pts = np.where(np.isnan(x) | np.isnan(y), None, pts)
        return gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=pts)
    if geometry:
        raise ReadError(
            f"{path}: no geometry: give lon/lat columns ({'/'.join(LON_NAMES[:4])}, "
            f"{'/'.join(LAT_NAMES[:3])}) or a WKT column ({'/'.join(WKT_NAMES[:3])})"
        )
    return frame


def parse_crs(crs: str) -> CRS | str:
    """``"gcj02"``, ``"bd09"`` or anything pyproj understands (``EPSG:4549``, ``4490``, WKT …)."""
    name = crs.strip().lower().replace("-", "").replace("_", "")
    if name in OFFSET_CRS:
        return name
    try:
        return CRS.from_user_input(int(crs) if crs.strip().isdigit() else crs)
    except CRSError:
        raise ReadError(
            f"unknown CRS {crs!r}; use e.g. EPSG:4326, EPSG:4490, EPSG:4549, EPSG:3857, gcj02 or bd09"
        ) from None


def _to_wgs84(frame: gpd.GeoDataFrame, crs: str | None, path: Path) -> ReadResult:
    notes: list[tuple[str, str, str]] = []
    given = parse_crs(crs) if crs else None
    if given is None and frame.crs is None:
        raise ReadError(
            f"{path}: the file has no coordinate reference system. Pass --crs: EPSG:4326 "
            f"(GPS/WGS84), EPSG:4490 (CGCS2000), EPSG:4549 (CGCS2000 Gauss-Krüger 120°E), "
            f"EPSG:3857 (Web Mercator), gcj02 (AMap/Gaode, Tencent) or bd09 (Baidu)"
        )
    if isinstance(given, str):  # gcj02 / bd09
        frame = frame.set_crs(4326, allow_override=True)
        frame, swapped = _unswap(frame)
        frame["geometry"] = OFFSET_CRS[given](frame.geometry.to_numpy())
        source = given
    else:
        if given is not None:
            frame = frame.set_crs(given, allow_override=True)
        source = frame.crs.to_string()
        swapped = False
        if frame.crs.is_geographic:
            frame, swapped = _unswap(frame)
        frame = frame.to_crs(4326)
    if swapped:
        notes.append(
            (
                "geometry",
                "latitude and longitude are swapped in the file",
                "read with x/y exchanged; write longitude first (x = lon, y = lat)",
            )
        )
    return ReadResult(frame=frame, source_crs=source, notes=notes)


def _unswap(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, bool]:
    """Exchange x and y when the coordinates only make sense as (lat, lon)."""
    geoms = frame.geometry.to_numpy()
    ok = ~(shapely.is_empty(geoms) | pd.isna(geoms))
    if not ok.any():
        return frame, False
    xy = shapely.get_coordinates(geoms[ok])
    x, y = xy[:, 0], xy[:, 1]
    in_range = (np.abs(y) <= 90).all()
    in_china = _inside(x, y, CHINA).mean()
    swapped_china = _inside(y, x, CHINA).mean()
    if (not in_range and (np.abs(x) <= 90).all()) or (swapped_china > 0.5 and in_china < 0.5):
        out = frame.copy()
        out["geometry"] = shapely.transform(geoms, lambda c: c[:, ::-1])
        return out, True
    return frame, False


def _inside(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
