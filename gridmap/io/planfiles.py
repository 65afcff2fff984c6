"""Export and import of grid plans: GeoPackage, GeoJSON, zipped Shapefile and CSV.

Every format carries the same two things: the grid polygons (code, community, figures) and the
assignment building id → grid code, so that exporting a plan and importing it back yields the same plan.

- GeoPackage (``.gpkg``, opens in QGIS): layer ``grids`` (polygons) + attribute table ``plan_assignments``.
- GeoJSON (``.geojson``): one polygon feature per grid with a ``building_ids`` array.
- Shapefile (``.zip``): ``grids.shp`` (polygons) + ``assignments.dbf`` (attribute table), zipped.
- CSV (``.csv``): ``building_id,grid_code,community_id`` (community taken from the 15-digit code's first
  12 digits when the column is missing).

Files are read and written with pyogrio (GDAL); polygons travel in EPSG:4326.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from shapely.geometry import mapping, shape

from gridmap.domain.codes import community_of
from gridmap.domain.plan import GridPlan, PlanError
from gridmap.domain.values import json_value
from gridmap.errors import InvalidInput
from gridmap.io.safety import UnsafeArchive, check_zip

__all__ = ["FORMATS", "PlanFileError", "export_plan", "import_plan", "format_of"]

SUFFIXES = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".zip": "shp", ".csv": "csv"}
FORMATS = ("gpkg", "geojson", "shp", "csv")
MEDIA_TYPES = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "shp": "application/zip",
    "csv": "text/csv",
}


class PlanFileError(InvalidInput):
    """A plan file that cannot be read as a plan; the message names the file, the row and the field."""


def format_of(path: str | Path, format: str | None = None) -> str:
    """The format name for ``path`` (from ``format`` or the file suffix)."""
    if format:
        if format not in FORMATS:
            raise PlanFileError(f"unknown plan format {format!r}; use one of {', '.join(FORMATS)}")
        return format
    suffix = Path(path).suffix.lower()
    try:
        return SUFFIXES[suffix]
    except KeyError:
        raise PlanFileError(
            f"{path}: cannot tell the format from {suffix!r}; use .gpkg, .geojson, "
            f".zip (Shapefile) or .csv, or pass the format"
        ) from None


# ---------------------------------------------------------------------------------------------
# export


def _grid_frame(plan: GridPlan, grids: gpd.GeoDataFrame | None, households: dict[str, int] | None) -> gpd.GeoDataFrame:
    """One row per grid: code, community_id, buildings, households, geometry (None if unknown)."""
    codes = plan.codes
    geom = {}
    if grids is not None and len(grids):
        g = grids.to_crs(4326) if grids.crs is not None else grids
        key = "code" if "code" in g.columns else g.index.name or "index"
        geom = dict(zip(g[key] if key in g.columns else g.index, g.geometry))
    hh = households or {}
    return gpd.GeoDataFrame(
        {
            "code": codes,
            "community_id": [plan.grid_community[c] for c in codes],
            "buildings": [len(plan.grids[c]) for c in codes],
            "households": [sum(int(hh.get(b, 0)) for b in plan.grids[c]) for c in codes],
        },
        geometry=[geom.get(c) for c in codes],
        crs=4326,
    )


def _assignment_frame(plan: GridPlan) -> pd.DataFrame:
    rows = sorted(plan.assignment.items())
    return pd.DataFrame(
        {
            "building_id": [b for b, _ in rows],
            "grid_code": [c for _, c in rows],
            "community_id": [plan.grid_community[c] for _, c in rows],
        }
    )


def _export_gpkg(plan: GridPlan, path: Path, frame: gpd.GeoDataFrame) -> None:
    pyogrio.write_dataframe(frame, path, layer="grids", driver="GPKG")
    pyogrio.write_dataframe(_assignment_frame(plan), path, layer="plan_assignments", driver="GPKG", append=True)


def _export_geojson(plan: GridPlan, path: Path, frame: gpd.GeoDataFrame) -> None:
    features = []
    for row in frame.itertuples():
        features.append(
            {
                "type": "Feature",
                "id": row.code,
                "geometry": mapping(row.geometry) if row.geometry is not None else None,
                "properties": json_value(
                    {
                        "code": row.code,
                        "community_id": row.community_id,
                        "buildings": int(row.buildings),
                        "households": int(row.households),
                        "building_ids": sorted(plan.grids[row.code]),
                    }
                ),
            }
        )
    doc = {"type": "FeatureCollection", "name": "grids", "gridmap_plan": plan.id, "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _export_shp(plan: GridPlan, path: Path, frame: gpd.GeoDataFrame) -> None:
    # Shapefile field names are at most 10 characters
    grids = frame.rename(columns={"community_id": "community", "households": "households"})
    assign = _assignment_frame(plan).rename(columns={"building_id": "building", "community_id": "community"})
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        pyogrio.write_dataframe(grids, tmp / "grids.shp", driver="ESRI Shapefile", encoding="UTF-8")
        pyogrio.write_dataframe(assign, tmp / "assignments.dbf", driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(tmp.iterdir()):
                zf.write(f, f.name)


def _export_csv(plan: GridPlan, path: Path, frame: gpd.GeoDataFrame) -> None:
    _assignment_frame(plan).to_csv(path, index=False)


_EXPORTERS: dict[str, Callable[[GridPlan, Path, gpd.GeoDataFrame], None]] = {
    "gpkg": _export_gpkg,
    "geojson": _export_geojson,
    "shp": _export_shp,
    "csv": _export_csv,
}


def export_plan(
    plan: GridPlan,
    path: str | Path,
    *,
    format: str | None = None,
    grids: gpd.GeoDataFrame | None = None,
    households: dict[str, int] | None = None,
) -> Path:
    """Write ``plan`` to ``path``.

    Parameters
    ----------
    plan
        The plan.
    path
        Target file; an existing file is replaced.
    format
        ``gpkg``, ``geojson``, ``shp`` (zipped) or ``csv``; default from the suffix.
    grids
        Grid polygons with a ``code`` column (e.g. layer ``plan_grids``); without them the grid rows
        carry no geometry.
    households
        Households per building, for the per-grid figures in the file.

    Returns
    -------
    Path
        ``path``.
    """
    fmt = format_of(path, format)
    path = Path(path)
    if path.exists():
        path.unlink()
    _EXPORTERS[fmt](plan, path, _grid_frame(plan, grids, households))
    return path


# ---------------------------------------------------------------------------------------------
# import


def _read_table(path: Path | str, layer: str | None = None) -> pd.DataFrame:
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    except Exception as err:  # pyogrio raises several DataSourceError kinds
        where = f"{path}" + (f" layer {layer!r}" if layer else "")
        raise PlanFileError(f"{where}: cannot be read ({err})") from None
    return pd.DataFrame(frame)


def _plan_from_rows(rows: pd.DataFrame, source: str, *, building: str, grid: str, community: str | None) -> GridPlan:
    for col in (building, grid):
        if col not in rows.columns:
            raise PlanFileError(f"{source}: no column {col!r} (columns: {', '.join(map(str, rows.columns))})")
    assignment: dict[str, str] = {}
    grid_community: dict[str, str] = {}
    for n, row in enumerate(rows.to_dict("records"), start=2 if source.endswith(".csv") else 1):
        b, g = _text(row.get(building)), _text(row.get(grid))
        if not b:
            raise PlanFileError(f"{source}: row {n}: empty {building}")
        if not g:
            raise PlanFileError(f"{source}: row {n}: building {b!r} has an empty {grid}")
        if b in assignment:
            raise PlanFileError(f"{source}: row {n}: building {b!r} appears twice; a building is in exactly one grid")
        com = _text(row.get(community)) if community else None
        if not com:
            if len(g) != 15 or not g.isdigit():
                raise PlanFileError(
                    f"{source}: row {n}: no community for grid {g!r}; add a "
                    f"community_id column or use 15-digit grid codes"
                )
            com = community_of(g)
            assert com is not None  # a 15-digit grid code starts with its community id
        if grid_community.setdefault(g, com) != com:
            raise PlanFileError(
                f"{source}: row {n}: grid {g!r} is in community {grid_community[g]!r} "
                f"and {com!r}; a grid never spans two communities"
            )
        assignment[b] = g
    if not assignment:
        raise PlanFileError(f"{source}: holds no buildings")
    try:
        return GridPlan(assignment, grid_community, meta={"imported_from": Path(source).name})
    except PlanError as err:
        raise PlanFileError(f"{source}: {err}") from None


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip()


def _import_gpkg(path: Path) -> GridPlan:
    layers = {name for name, _ in pyogrio.list_layers(path)}
    if "plan_assignments" not in layers:
        raise PlanFileError(f"{path}: no table 'plan_assignments' (layers: {', '.join(sorted(layers))})")
    return _plan_from_rows(
        _read_table(path, "plan_assignments"),
        str(path),
        building="building_id",
        grid="grid_code",
        community="community_id",
    )


def _import_geojson(path: Path) -> GridPlan:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PlanFileError(f"{path}: not a GeoJSON file ({err})") from None
    rows = []
    for n, feat in enumerate(doc.get("features") or [], start=1):
        props = feat.get("properties") or {}
        ids = props.get("building_ids")
        if not isinstance(ids, list):
            raise PlanFileError(f"{path}: feature {n}: property 'building_ids' must be a list")
        rows += [
            {"building_id": b, "grid_code": props.get("code"), "community_id": props.get("community_id")} for b in ids
        ]
    return _plan_from_rows(
        pd.DataFrame(rows, columns=["building_id", "grid_code", "community_id"]),
        str(path),
        building="building_id",
        grid="grid_code",
        community="community_id",
    )


def _import_shp(path: Path) -> GridPlan:
    try:  # zip bombs, forged headers, traversal names: refused before GDAL inflates anything
        names = check_zip(path)
    except UnsafeArchive as err:
        raise PlanFileError(f"{path}: {err.message}") from None
    dbf = next((n for n in names if n.lower().endswith("assignments.dbf")), None)
    if dbf is None:
        raise PlanFileError(f"{path}: no assignments.dbf inside (found: {', '.join(names)})")
    rows = _read_table(f"/vsizip/{Path(path).resolve()}/{dbf}")
    return _plan_from_rows(rows, str(path), building="building", grid="grid_code", community="community")


def _import_csv(path: Path) -> GridPlan:
    try:
        rows = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise PlanFileError(f"{path}: not a readable CSV file ({err})") from None
    return _plan_from_rows(
        rows,
        str(path),
        building="building_id",
        grid="grid_code",
        community="community_id" if "community_id" in rows.columns else None,
    )


_IMPORTERS: dict[str, Callable[[Path], GridPlan]] = {
    "gpkg": _import_gpkg,
    "geojson": _import_geojson,
    "shp": _import_shp,
    "csv": _import_csv,
}


def import_plan(path: str | Path, *, format: str | None = None) -> GridPlan:
    """Read a plan written by :func:`export_plan` (or by hand in the same layout).

    Raises
    ------
    PlanFileError
        The file cannot be read or is not a plan: the message names the row and field.
    """
    fmt = format_of(path, format)
    path = Path(path)
    if not path.exists():
        raise PlanFileError(f"{path}: no such file")
    return _IMPORTERS[fmt](path)


def read_grid_polygons(path: str | Path, *, format: str | None = None) -> gpd.GeoDataFrame:
    """The grid polygons of a plan file (``code``, ``community_id``, geometry in EPSG:4326)."""
    fmt = format_of(path, format)
    path = Path(path)
    if fmt == "csv":
        return gpd.GeoDataFrame({"code": [], "community_id": []}, geometry=[], crs=4326)
    if fmt == "geojson":
        doc = json.loads(path.read_text(encoding="utf-8"))
        feats = doc.get("features") or []
        return gpd.GeoDataFrame(
            {
                "code": [f["properties"]["code"] for f in feats],
                "community_id": [f["properties"].get("community_id") for f in feats],
            },
            geometry=[shape(f["geometry"]) if f.get("geometry") else None for f in feats],
            crs=4326,
        )
    src = str(path) if fmt == "gpkg" else f"/vsizip/{path.resolve()}/grids.shp"
    frame = pyogrio.read_dataframe(src, layer="grids" if fmt == "gpkg" else None)
    frame = frame.rename(columns={"community": "community_id"})
    return frame[["code", "community_id", "geometry"]].to_crs(4326)
