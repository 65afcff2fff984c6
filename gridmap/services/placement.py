"""Placement use cases shared by the CLI and the API: read a file, place its records, write them, report.

* :func:`load_world` — buildings, communities and the **published** plan from a store;
* :func:`read_records` — a CSV (``lon``/``lat`` columns), GeoJSON/GeoPackage file, or a GeoJSON body;
* :func:`place_records` — place, then write the placed records of one layer in **one transaction**;
* :func:`locate` — the derived building → estate → grid → community → street of stored records.

Grids are never stored on households, stewards or complaints: :func:`locate` derives them from the
current published plan every time, so a new plan moves everybody with their building.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import jobs
from gridmap.domain import coverage
from gridmap.domain.placement import DEFAULT_TOLERANCE_M, PlacementWorld, derive, place, summarize
from gridmap.domain.schema import LAYERS
from gridmap.domain.values import json_records
from gridmap.errors import InvalidInput
from gridmap.io.geodata import taipei_file
from gridmap.io.safety import loads_json
from gridmap.jobs import Progress
from gridmap.services import tilecache
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store

#: layers whose records can be placed
KINDS = ("households", "stewards", "complaints", "merchants", "facilities")
#: id prefixes for records that arrive without an id
ID_PREFIX = {"households": "H", "stewards": "S", "complaints": "C", "merchants": "M", "facilities": "F"}
LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
#: rows per chunk when a progress bar is shown
CHUNK = 200_000
#: columns of the unmatched report (no personal data: the row number and id identify the record)
REPORT_COLUMNS = (
    "row",
    "id",
    "placement",
    "reason",
    "building_id",
    "community_id",
    "grid_code",
    "placement_distance_m",
)


@dataclass
class PlaceResult:
    kind: str
    summary: dict[str, int]
    report: pd.DataFrame
    written: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)

    def to_json(self, *, limit: int = 1000) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "written": self.written,
            "dry_run": self.dry_run,
            "ignored_columns": self.ignored_columns,
            "unmatched": json_records(self.report.head(limit)),
            "unmatched_total": int(len(self.report)),
            "unmatched_truncated": len(self.report) > limit,
        }


# -- the world -------------------------------------------------------------------------------------
def load_world(store: Store) -> PlacementWorld:
    """Buildings, communities and the published plan's assignment and grid polygons."""
    buildings = store.read(
        "buildings", columns=["id", "name", "estate_id", "community_id", "units", "floors", "aliases", "geometry"]
    )
    communities = store.read("communities", columns=["id", "street_id", "geometry"])
    plan = published_plan_id(store)
    assignment, grids = None, None
    if plan is not None:
        a = store.read("plan_assignments", where={"plan_id": plan}, columns=["building_id", "grid_code"])
        assignment = pd.Series(a["grid_code"].to_numpy(), index=a["building_id"].to_numpy())
        grids = store.read("plan_grids", where={"plan_id": plan}, columns=["code", "community_id", "geometry"])
    if not isinstance(buildings, gpd.GeoDataFrame):
        buildings = gpd.GeoDataFrame(buildings, geometry=[], crs=4326)
    if not isinstance(communities, gpd.GeoDataFrame):
        communities = gpd.GeoDataFrame(communities, geometry=[], crs=4326)
    return PlacementWorld(buildings, communities, assignment=assignment, grids=grids)


# -- reading records -------------------------------------------------------------------------------
def read_records(
    source: str | Path | IO[bytes] | Mapping[str, Any] | pd.DataFrame, *, filename: str | None = None
) -> pd.DataFrame:
    """Records from a file path, an uploaded file (with its ``filename``), a GeoJSON dict or a frame.

    CSV: every column is read as text; a pair of ``lon``/``lat`` (or ``lng``, ``longitude``, ``x`` /
    ``latitude``, ``y``) columns becomes a point geometry in EPSG:4326. Other formats go through
    pyogrio (GeoJSON, GeoPackage, Shapefile zip …) and are reprojected to EPSG:4326.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, Mapping):
        frame = _from_geojson(source)
    else:
        name = filename or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", ""))
        if str(name).lower().endswith((".csv", ".txt")):
            frame = _from_csv(source)
        else:
            try:
                frame = gpd.read_file(source)
            except Exception as exc:  # pyogrio's errors name the driver problem
                raise InvalidInput(f"无法读取文件 / cannot read {name or 'the upload'}: {exc}") from None
    return _with_points(frame)


def _from_geojson(body: Mapping[str, Any]) -> gpd.GeoDataFrame:
    if body.get("type") == "Feature":
        body = {"type": "FeatureCollection", "features": [body]}
    if body.get("type") != "FeatureCollection" or not isinstance(body.get("features"), list):
        raise InvalidInput("请求体应为 GeoJSON FeatureCollection / the body must be a GeoJSON FeatureCollection")
    feats = body["features"]
    ids = [f.get("id") for f in feats]
    try:
        frame = (
            gpd.GeoDataFrame.from_features(feats, crs=4326)
            if feats
            else gpd.GeoDataFrame({"id": []}, geometry=[], crs=4326)
        )
    except Exception as exc:
        raise InvalidInput(f"GeoJSON 无效 / invalid GeoJSON: {exc}") from None
    if any(i is not None for i in ids):  # the Feature's own id fills a missing "id" property
        own = pd.Series([None if i is None else str(i) for i in ids], index=frame.index, dtype=object)
        if "id" in frame:
            frame["id"] = frame["id"].astype(object).where(frame["id"].notna(), own)
        else:
            frame.insert(0, "id", own)
    return frame


def _from_csv(source: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise InvalidInput(f"CSV 无法读取 / cannot read the CSV: {exc}") from None


def _with_points(frame: pd.DataFrame) -> pd.DataFrame:
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        if frame.crs is None:
            frame = frame.set_crs(4326)
        return frame.to_crs(4326) if frame.crs.to_epsg() != 4326 else frame
    lower = {c.lower().strip(): c for c in frame.columns}
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    if lon is None or lat is None:
        return pd.DataFrame(frame)
    x = pd.to_numeric(frame[lon], errors="coerce").to_numpy(float)
    y = pd.to_numeric(frame[lat], errors="coerce").to_numpy(float)
    bad = (np.isnan(x) != np.isnan(y)) | (np.abs(x) > 180) | (np.abs(y) > 90)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2  # + header line
        raise InvalidInput(
            f"第 {row} 行坐标无效 / line {row}: {lon}={frame[lon].iloc[row - 2]!r}, "
            f"{lat}={frame[lat].iloc[row - 2]!r} is not a longitude/latitude pair"
        )
    geoms = gpd.points_from_xy(x, y)
    geoms[np.isnan(x)] = None
    return gpd.GeoDataFrame(frame.drop(columns=[lon, lat]), geometry=geoms, crs=4326)


# -- placing and writing ---------------------------------------------------------------------------
def place_frame(
    records: pd.DataFrame,
    world: PlacementWorld,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    progress: Progress | None = None,
    chunk: int = CHUNK,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`gridmap.domain.placement.place` in chunks (``progress(done, total)`` after each); same answer as
    one call."""
    if len(records) <= chunk and progress is None:
        res = place(records, world, tolerance_m=tolerance_m)
        return res.frame, res.summary
    parts, seen = [], pd.Index([], dtype=object)
    for start in range(0, max(len(records), 1), chunk):
        piece = records.iloc[start : start + chunk]
        res = place(piece, world, tolerance_m=tolerance_m, seen_ids=seen)
        if "id" in piece:
            seen = seen.append(pd.Index(piece["id"].dropna().astype(str).to_numpy(dtype=object)))
        parts.append(res.frame)
        jobs.report(progress, start + len(piece), len(records))
        if on_chunk is not None:
            on_chunk(len(piece))
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if isinstance(records, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=records.geometry.name, crs=records.crs)
    return frame, summarize(frame["placement"].astype(object).to_numpy())


def place_records(
    store: Store,
    kind: str,
    records: pd.DataFrame,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PlaceResult:
    """Place ``records`` of layer ``kind`` and write the placed ones in one transaction.

    Rejected records are not written; they are in ``report`` with the reason (so are area-only and
    nearest placements, which are written but flagged). Records without an ``id`` get a new one.
    Raises :class:`~gridmap.errors.InvalidInput` for an unknown kind, a bad tolerance or rows the layer
    cannot hold (a missing required column, a bad value); the store is then left as it was.
    """
    if kind not in KINDS:
        raise InvalidInput(f"无法定位 {kind!r} / cannot place {kind!r}; kinds are {', '.join(KINDS)}")
    spec = LAYERS[kind]
    records = _normalise(records, kind)
    world = load_world(store)
    with jobs.timed("place"):
        frame, summary = place_frame(records, world, tolerance_m=tolerance_m, progress=progress)
    report = _report(frame)
    keep = [c for c in spec.column_names if c in frame.columns]
    ignored = [c for c in records.columns if c not in spec.column_names and c != "geometry" and c not in ("estate_id",)]
    placed = frame[(frame["placement"] != "rejected").to_numpy()]
    out = pd.DataFrame({c: _plain(placed[c]) for c in keep})
    if kind == "complaints":  # a complaint remembers the grid it was filed in (kept across plans)
        filed = _plain(placed["grid_code"])
        if "filed_grid_code" in out:
            filed = out["filed_grid_code"].where(out["filed_grid_code"].notna(), filed)
        out["filed_grid_code"] = filed
    if spec.geometry and isinstance(placed, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=placed.geometry.to_numpy(), crs=4326)
    _check_required(out, spec, frame)
    written = 0
    if not dry_run and len(out):
        with store.transaction():
            if "id" not in out or out["id"].isna().any():
                out = _new_ids(store, kind, out)
            tilecache.before_write(store, kind, out)  # no tile shows placed records: drops nothing today
            written = store.write(kind, out).written
    return PlaceResult(kind, summary, report, written=written, dry_run=dry_run, ignored_columns=ignored)


def _normalise(records: pd.DataFrame, kind: str) -> pd.DataFrame:
    records = records.copy()
    records.columns = [str(c).strip() for c in records.columns]
    for c in ("id", "building_id", "room", "estate_id", "community_id"):
        if c in records:
            col = records[c]
            records[c] = (
                col.astype(object).where(col.notna(), None).map(lambda v: None if v is None else str(v).strip() or None)
            )
    # the stored placement columns are outputs: never trust the file's
    return records.drop(
        columns=[c for c in ("placement", "placement_distance_m", "grid_code", "street_id", "reason") if c in records]
    )


def _plain(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    return col.astype(object).where(col.notna(), None).reset_index(drop=True)


def _check_required(out: pd.DataFrame, spec: Any, frame: pd.DataFrame) -> None:
    rows = np.flatnonzero((frame["placement"] != "rejected").to_numpy()) + 1
    for col in spec.columns:
        if not col.required or col.name == "id":
            continue
        if col.name not in out:
            raise InvalidInput(f"{spec.name} 缺少必填列 {col.name} / the file lacks the required column {col.name!r}")
        empty = out[col.name].isna().to_numpy()
        if empty.any():
            raise InvalidInput(
                f"第 {rows[np.flatnonzero(empty)[0]]} 条记录缺少 {col.name} / record "
                f"{rows[np.flatnonzero(empty)[0]]} has no {col.name!r}"
            )


def _new_ids(store: Store, kind: str, out: pd.DataFrame) -> pd.DataFrame:
    out = out.copy()
    if "id" not in out:
        out.insert(0, "id", None)
    missing = np.flatnonzero(out["id"].isna().to_numpy())
    ids = out["id"].to_numpy(dtype=object, copy=True)
    for i in missing:
        ids[i] = f"{ID_PREFIX[kind]}{store.next_id(kind):08d}"
    out["id"] = ids
    return out


def _report(frame: pd.DataFrame) -> pd.DataFrame:
    flagged = frame["placement"].isin(["rejected", "area", "nearest"]).to_numpy()
    cols = [c for c in REPORT_COLUMNS if c in frame and c != "row"]
    out = pd.DataFrame({c: _plain(frame.loc[flagged, c]) for c in cols})
    out.insert(0, "row", np.flatnonzero(flagged) + 1)
    return out


# -- derived, never stored -------------------------------------------------------------------------
def locate(
    store: Store, layer: str, ids: Iterable[str] | None = None, *, world: PlacementWorld | None = None
) -> pd.DataFrame:
    """``id, building_id, estate_id, grid_code, community_id, street_id`` of stored records of ``layer``.

    The grid comes from the **current published plan** (through the building, or the grid polygon holding
    an area-only record's point); nothing is read from a stored grid column.
    """
    if layer not in KINDS:
        raise InvalidInput(f"{layer!r} 不是可定位的图层 / {layer!r} is not a placed layer ({', '.join(KINDS)})")
    cols = ["id", "building_id", "community_id", "geometry"]
    rows = store.read(layer, ids=None if ids is None else list(ids), columns=cols)
    return derive(rows, world or load_world(store))


def grid_of_buildings(store: Store) -> pd.Series:
    """building id → grid code of the published plan (empty when nothing is published)."""
    plan = published_plan_id(store)
    if plan is None:
        return pd.Series(dtype=object)
    a = store.read("plan_assignments", where={"plan_id": plan}, columns=["building_id", "grid_code"])
    return pd.Series(a["grid_code"].to_numpy(), index=a["building_id"].to_numpy())


def report_csv(result: PlaceResult) -> str:
    buf = io.StringIO()
    result.report.to_csv(buf, index=False)
    return buf.getvalue()


def parse_tolerance(value: Any) -> float:
    """A tolerance in metres from user input (CLI option, query string), or InvalidInput."""
    try:
        tol = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"容差应为米数 / tolerance must be a number of metres, not {value!r}") from None
    if not np.isfinite(tol) or tol < 0 or tol > 10_000:
        raise InvalidInput(f"容差应在 0–10000 米之间 / tolerance must be 0–10000 m, not {value!r}")
    return tol


def geojson_body(raw: bytes) -> Mapping[str, Any]:
    return loads_json(raw)


# -- coverage --------------------------------------------------------------------------------------
def coverage_report(store: Store):
    """:func:`gridmap.domain.coverage.compute` over the store, grids derived from the published plan."""
    world = load_world(store)
    buildings = store.read("buildings", columns=["id", "estate_id", "community_id", "households"])
    buildings = pd.DataFrame(buildings)
    buildings["grid_code"] = buildings["id"].map(grid_of_buildings(store)).astype(object)
    stewards = store.read(
        "stewards", columns=["id", "role", "building_id", "community_id", "serves", "party_member", "geometry"]
    )
    stewards = stewards.assign(grid_code=_plain(derive(stewards, world)["grid_code"]).to_numpy())
    plan = published_plan_id(store)
    grids = (
        store.read("plan_grids", where={"plan_id": plan}, columns=["code", "community_id"])
        if plan is not None
        else pd.DataFrame({"code": [], "community_id": []})
    )
    return coverage.compute(
        buildings=buildings,
        stewards=pd.DataFrame(stewards.drop(columns="geometry")),
        grids=pd.DataFrame(grids),
        party_members=store.read("party_members", columns=["id", "community_id", "reported_on", "steward_id"]),
        estates=store.read("estates", columns=["id", "community_id", "property_company_id"]),
        companies=store.read("property_companies", columns=["id", "has_party_org"]),
        communities=store.read("communities", columns=["id", "street_id"]),
    )


# -- real data: Taipei garbage-truck stops ---------------------------------------------------------
def taipei_world() -> tuple[PlacementWorld, gpd.GeoDataFrame]:
    """The shipped Taipei Wanhua sheet as a placement world (villages 里 as communities, districts as
    streets) and the garbage-truck stops as records (``district_label``/``village_label`` kept)."""
    villages = gpd.read_file(taipei_file("villages"))
    buildings = gpd.read_file(taipei_file("buildings"))
    stops = gpd.read_file(taipei_file("garbage_truck_stops"))
    communities = gpd.GeoDataFrame(
        {"id": villages["village_code"].astype(str), "street_id": villages["district"], "name": villages["village"]},
        geometry=villages.geometry,
        crs=villages.crs,
    )
    blds = gpd.GeoDataFrame(
        {"id": buildings["bldg_id"], "community_id": buildings["village_code"]},
        geometry=buildings.geometry,
        crs=buildings.crs,
    )
    recs = gpd.GeoDataFrame(
        {
            "id": [f"stop{i:04d}" for i in range(len(stops))],
            "district_label": stops["district_label"],
            "village_label": stops["village_label"],
        },
        geometry=stops.geometry,
        crs=stops.crs,
    )
    return PlacementWorld(blds, communities), recs


def taipei_agreement(*, tolerance_m: float = DEFAULT_TOLERANCE_M) -> dict[str, Any]:
    """Place the Taipei stops and compare the village found with the operator's ``village_label``.

    Returns counts by outcome, the agreement of the placed village (through the building when one was
    found) and of the plain point-in-village test, each as a share of all stops.
    """
    world, recs = taipei_world()
    res = place(recs, world, tolerance_m=tolerance_m)
    names = pd.Series(world.community_ids).map(dict(zip(*_village_names())))
    name_of = dict(zip(world.community_ids, names))
    placed = res.frame["community_id"].astype(object).map(name_of)
    street = res.frame["street_id"].astype(object)
    agree = (placed == recs["village_label"]) & (street == recs["district_label"])
    area_only = derive(recs.assign(building_id=None, community_id=None), world)
    pip = area_only["community_id"].astype(object).map(name_of)
    pip_agree = (pip == recs["village_label"]) & (area_only["street_id"].astype(object) == recs["district_label"])
    n = len(recs)
    return {
        "stops": n,
        "summary": res.summary,
        "tolerance_m": tolerance_m,
        "agree_placed": int(agree.sum()),
        "agree_placed_share": float(agree.mean()) if n else None,
        "agree_point_in_village": int(pip_agree.sum()),
        "agree_point_in_village_share": float(pip_agree.mean()) if n else None,
    }


def _village_names() -> tuple[list[str], list[str]]:
    v = gpd.read_file(taipei_file("villages"), columns=["village_code", "village"], ignore_geometry=True)
    return v["village_code"].astype(str).tolist(), v["village"].tolist()
