"""What the OGC API – Features service publishes: the collections, their items and pages.

Collections are data (:data:`COLLECTIONS`); every property they publish comes from :mod:`gridmap.domain.schema` minus
the personal and sensitive columns, so a new personal column can never leak here. Complaints are published
only as counts per grid of the published plan. Views in :mod:`gridmap.web.ogc` turn these answers into
GeoJSON or HTML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from gridmap import clock
from gridmap.domain import crs as crsmod
from gridmap.domain.schema import LAYERS
from gridmap.domain.values import json_value
from gridmap.errors import InvalidInput, NotFoundError
from gridmap.services.complaints.public import public_table
from gridmap.services.ogc_query import JSON_TYPES, json_schema, with_bbox  # noqa: F401
from gridmap.services.plans.stored import published_plan_id
from gridmap.store import Store
from gridmap.store.base import BBox

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
_CHUNK = 5000  # values per IN (...) filter


@dataclass(frozen=True)
class Collection:
    """One published collection: ``layer`` rows keyed by ``id_column``, optionally of the published plan."""

    id: str
    title: str
    title_en: str
    description: str
    layer: str
    id_column: str = "id"
    per_plan: bool = False
    #: columns left out besides personal ones
    hidden: tuple[str, ...] = ()
    #: extra computed properties added to each page (name → kind)
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def properties(self) -> tuple[str, ...]:
        """Published property names and their schema kinds, in schema order."""
        return tuple(name for name, _ in self.schema())

    def schema(self) -> tuple[tuple[str, str], ...]:
        spec = LAYERS[self.layer]
        cols = tuple(
            (c.name, c.kind) for c in spec.columns if not (c.personal or c.sensitive) and c.name not in self.hidden
        )
        return cols + self.extra


#: per-grid request counts; kind ``count``: an integer; for callers who may not see personal data the public
#: table's figures (:mod:`gridmap.services.complaints.public`: ``"<5"`` for 1–4, ``None`` where withheld)
COMPLAINT_COUNTS = (("complaints", "count"), ("open", "count"), ("closed", "count"), ("overdue", "count"))
#: each of those counts in the public table (:mod:`gridmap.services.complaints.public`)
PUBLIC_MEASURES = {"complaints": "total", "open": "open", "closed": "closed", "overdue": "overdue"}

COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection("streets", "街道", "Streets", "街道边界 / street boundaries", "streets"),
        Collection("communities", "社区", "Communities", "社区边界 / community boundaries", "communities"),
        Collection("estates", "小区", "Estates", "小区（住宅小区）/ residential estates", "estates"),
        Collection("buildings", "楼栋", "Buildings", "楼栋及户数 / buildings with household counts", "buildings"),
        Collection(
            "grids",
            "网格",
            "Grids",
            "现行网格方案的网格 / grids of the published plan",
            "plan_grids",
            id_column="code",
            per_plan=True,
            hidden=("plan_id",),
        ),
        Collection(
            "complaint_counts",
            "诉求统计（按网格）",
            "Complaints per grid",
            "现行网格方案每个网格的诉求数（仅统计，不含个人信息）/ complaint counts per grid of the "
            "published plan (aggregates only, no personal data)",
            "plan_grids",
            id_column="code",
            per_plan=True,
            hidden=("plan_id", "households", "buildings"),
            extra=COMPLAINT_COUNTS,
        ),
    )
}


@dataclass(frozen=True)
class Page:
    """One page of items: ``features`` (GeoDataFrame: ``id``, properties, geometry) and counts."""

    features: gpd.GeoDataFrame
    number_matched: int
    offset: int
    limit: int

    @property
    def number_returned(self) -> int:
        return len(self.features)

    @property
    def has_next(self) -> bool:
        return self.offset + self.number_returned < self.number_matched


def collection(collection_id: str) -> Collection:
    """The collection called ``collection_id`` or :class:`NotFoundError` naming the known ones."""
    try:
        return COLLECTIONS[collection_id]
    except KeyError:
        raise NotFoundError(
            f"没有集合 {collection_id!r} / no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}"
        ) from None


def extent(store: Store) -> BBox | None:
    """Bounds (CRS84) of everything published: the communities' (or streets') total bounds."""
    for layer in ("communities", "streets"):
        frame = store.read(layer, columns=["geometry"])
        if len(frame) and not frame.geometry.isna().all():
            return tuple(float(v) for v in frame.total_bounds)  # type: ignore[return-value]
    return None


def parse_bbox(text: str | None) -> BBox | None:
    """``"minx,miny,maxx,maxy"`` (CRS84) → tuple, or :class:`InvalidInput` saying what is wrong."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) == 6:  # 3-D bbox: drop the heights
        parts = [parts[0], parts[1], parts[3], parts[4]]
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(
            f"bbox 应为四个数 minx,miny,maxx,maxy / bbox must be four numbers minx,miny,maxx,maxy, not {text!r}"
        ) from None
    if not all(map(math.isfinite, (minx, miny, maxx, maxy))) or miny > maxy:
        raise InvalidInput(f"bbox 无效 / bbox is not valid: {text!r}")
    return minx, miny, maxx, maxy


def parse_paging(limit: str | None, offset: str | None) -> tuple[int, int]:
    """``limit`` (1…10 000, default 10; larger values are clamped as the standard allows) and ``offset``."""
    try:
        lim = DEFAULT_LIMIT if limit in (None, "") else int(limit)
        off = 0 if offset in (None, "") else int(offset)
    except ValueError:
        raise InvalidInput(
            f"limit 和 offset 应为整数 / limit and offset must be whole numbers (limit={limit!r}, offset={offset!r})"
        ) from None
    if lim < 1 or off < 0:
        raise InvalidInput(
            f"limit 至少为 1，offset 不能为负 / limit must be ≥ 1 and offset ≥ 0 (limit={lim}, offset={off})"
        )
    return min(lim, MAX_LIMIT), off


def items(
    store: Store,
    collection_id: str,
    *,
    bbox: BBox | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    now: dt.datetime | None = None,
    exact: bool = True,
    filter: Any = None,
    properties: dict[str, Any] | None = None,
    order_by: list[str] | None = None,
    crs: str = crsmod.CRS84,
) -> Page:
    """One page of a collection's items, in key order, filtered by ``bbox`` (CRS84: the features whose geometry
    intersects it, as CQL2's ``BBOX``).

    A bbox crossing the antimeridian (minx > maxx) is split in two. ``exact=False`` (callers who may not
    see personal data): request counts from 1 to 4 are published as ``"<5"``. ``filter``: a CQL2 AST from
    :func:`gridmap.services.ogc_query.parse_filter` and ``properties`` equality filters (both run in the store);
    ``order_by``: from :func:`~gridmap.services.ogc_query.parse_sortby`; ``crs``: the URI of the CRS of the
    geometries returned (:mod:`gridmap.domain.crs`, axis order as it defines).
    """
    coll = collection(collection_id)
    where = _plan_filter(store, coll)
    if where is None:
        return Page(_empty(coll), 0, offset, limit)
    where = {**where, **(properties or {})}
    order = order_by or [coll.id_column]
    boxes = _split_bbox(bbox)
    if len(boxes) == 2:
        page = _two_box_page(
            store, coll, boxes, where, limit=limit, offset=offset, now=now, exact=exact, filter=filter, order=order
        )
        return dataclasses.replace(page, features=to_crs(page.features, crs))
    box = boxes[0]
    if box is not None:
        filter = with_bbox(filter, box)
    matched = store.count(coll.layer, bbox=box, where=where, filter=filter)
    frame = store.read(
        coll.layer,
        bbox=box,
        where=where,
        filter=filter,
        columns=_read_columns(coll),
        order_by=order,
        limit=limit,
        offset=offset,
    )
    features = to_crs(_finish(store, coll, frame, where, now=now, exact=exact), crs)
    return Page(features, matched, offset, limit)


def to_crs(frame: gpd.GeoDataFrame, uri: str) -> gpd.GeoDataFrame:
    """``frame`` (CRS84) with its geometries in the CRS ``uri``, coordinates in that CRS's axis order."""
    if uri == crsmod.CRS84 or frame.empty:
        return frame
    moved = crsmod.transform(frame.geometry.to_numpy(), crsmod.CRS84, uri)
    return gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=gpd.GeoSeries(moved, index=frame.index))


def item(
    store: Store,
    collection_id: str,
    feature_id: str,
    *,
    now: dt.datetime | None = None,
    exact: bool = True,
    crs: str = crsmod.CRS84,
) -> gpd.GeoDataFrame:
    """The one feature ``feature_id`` of a collection (a one-row GeoDataFrame) or :class:`NotFoundError`
    (``exact`` and ``crs`` as in :func:`items`)."""
    coll = collection(collection_id)
    where = _plan_filter(store, coll)
    frame = None
    if where is not None:
        # filter on the selective key alone (SQLite's planner would otherwise scan by plan_id)
        frame = store.read(coll.layer, where={coll.id_column: feature_id}, columns=_read_columns(coll) + list(where))
        for col, value in where.items():
            frame = frame[frame[col] == value]
        frame = frame.drop(columns=list(where))
    if frame is None or frame.empty:
        raise NotFoundError(
            f"集合 {collection_id} 中没有要素 {feature_id!r} / no feature {feature_id!r} in collection {collection_id}"
        )
    return to_crs(_finish(store, coll, frame, where or {}, now=now, exact=exact), crs)


# -- helpers -----------------------------------------------------------------------------------------
def _plan_filter(store: Store, coll: Collection) -> dict[str, Any] | None:
    if not coll.per_plan:
        return {}
    plan = published_plan_id(store)
    return None if plan is None else {"plan_id": plan}


def _read_columns(coll: Collection) -> list[str]:
    computed = {n for n, _ in coll.extra}
    names = [n for n in coll.properties if n not in computed]
    cols = [coll.id_column] + [n for n in names if n != coll.id_column]
    return cols + ["geometry"]


def _empty(coll: Collection) -> gpd.GeoDataFrame:
    cols = ["id"] + [n for n in coll.properties if n != "id"]
    return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _finish(
    store: Store,
    coll: Collection,
    frame: gpd.GeoDataFrame,
    where: dict[str, Any],
    *,
    now: dt.datetime | None,
    exact: bool = True,
) -> gpd.GeoDataFrame:
    """Rename the key to ``id``, add computed properties, keep only published columns."""
    out = frame.copy()
    if coll.id_column != "id":
        out.insert(0, "id", out[coll.id_column])
        if coll.id_column not in coll.properties:
            out = out.drop(columns=[coll.id_column])
    if coll.extra == COMPLAINT_COUNTS:
        if exact:
            counts = complaint_counts(store, where.get("plan_id"), out["id"].tolist(), now=now)
            shown = {name: [counts[c][name] for c in out["id"]] for name, _ in COMPLAINT_COUNTS}
        else:  # the public table: the same figures as the map, the grid stats and the KPI report
            table = public_table(store)
            shown = {
                name: [table.current(PUBLIC_MEASURES[name], "grid", str(c)) for c in out["id"]]
                for name, _ in COMPLAINT_COUNTS
            }
        for name, _ in COMPLAINT_COUNTS:
            out[name] = pd.Series(shown[name], index=out.index, dtype=object)
    keep = ["id"] + [n for n in coll.properties if n != "id"] + ["geometry"]
    return out[keep]


def complaint_counts(
    store: Store, plan_id: str | None, codes: Sequence[str], *, now: dt.datetime | None = None
) -> dict[str, dict[str, int]]:
    """Per grid code of ``plan_id``: complaints in the grid in total, open, closed and overdue.

    A complaint belongs to the grid of its building in that plan; one without a building counts in
    its ``filed_grid_code``. Open means not closed; overdue means open past its ``due_at``.
    """
    now = pd.Timestamp(clock.utc(now) if now is not None else clock.now())
    out = {c: {name: 0 for name, _ in COMPLAINT_COUNTS} for c in codes}
    if not codes or plan_id is None:
        return out
    assign = store.read(
        "plan_assignments", where={"grid_code": list(codes)}, columns=["plan_id", "building_id", "grid_code"]
    )
    assign = assign[assign["plan_id"] == plan_id]  # codes live on across plans: keep this plan's rows
    cols = ["building_id", "filed_grid_code", "closed_at", "due_at"]
    parts = []
    if len(assign):
        ids = assign["building_id"].tolist()
        by_building = pd.concat(
            [
                store.read("complaints", where={"building_id": ids[i : i + _CHUNK]}, columns=cols)
                for i in range(0, len(ids), _CHUNK)
            ],
            ignore_index=True,
        )
        grid = dict(zip(assign["building_id"], assign["grid_code"]))
        parts.append(by_building.assign(grid=by_building["building_id"].map(grid)))
    loose = store.read("complaints", where={"building_id": None, "filed_grid_code": list(codes)}, columns=cols)
    parts.append(loose.assign(grid=loose["filed_grid_code"]))
    rows = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else None
    if rows is None:
        return out
    closed = rows["closed_at"].notna().to_numpy()
    due = pd.to_datetime(rows["due_at"], utc=True)
    overdue = (~closed) & due.notna().to_numpy() & (due < now).to_numpy()
    for code, c, o in zip(rows["grid"], closed, overdue):
        rec = out[code]
        rec["complaints"] += 1
        rec["closed" if c else "open"] += 1
        rec["overdue"] += int(o)
    return out


def _split_bbox(bbox: BBox | None) -> list[BBox | None]:
    if bbox is None:
        return [None]
    minx, miny, maxx, maxy = bbox
    if minx > maxx:
        return [(minx, miny, 180.0, maxy), (-180.0, miny, maxx, maxy)]
    return [bbox]


def _two_box_page(
    store: Store,
    coll: Collection,
    boxes: list[Any],
    where: dict[str, Any],
    *,
    limit: int,
    offset: int,
    now: dt.datetime | None,
    exact: bool = True,
    filter: Any = None,
    order: list[str],
) -> Page:
    cols = _read_columns(coll)
    sort = [o.lstrip("-") for o in order]
    extra = [c for c in sort if c not in cols]
    frames = [
        store.read(coll.layer, bbox=b, where=where, filter=with_bbox(filter, b), columns=cols + extra) for b in boxes
    ]
    frame = pd.concat(frames, ignore_index=True).drop_duplicates(coll.id_column)
    frame = frame.sort_values(sort, ascending=[not o.startswith("-") for o in order], na_position="last")
    frame = frame.drop(columns=extra).reset_index(drop=True)
    page = gpd.GeoDataFrame(frame.iloc[offset : offset + limit], geometry="geometry", crs="EPSG:4326")
    return Page(_finish(store, coll, page, where, now=now, exact=exact), len(frame), offset, limit)


def feature_dicts(frame: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """GeoJSON Feature dicts (``id``, ``properties``, ``geometry``) with plain JSON values."""
    props = [c for c in frame.columns if c not in ("id", "geometry")]
    geoms = [json_value(g) for g in frame.geometry]
    cols = {c: frame[c].astype(object).tolist() for c in props}
    out = []
    for i, (fid, geom) in enumerate(zip(frame["id"].tolist(), geoms)):
        out.append(
            {
                "type": "Feature",
                "id": str(fid),
                "geometry": geom,
                "properties": {c: json_value(cols[c][i]) for c in props},
            }
        )
    return out
