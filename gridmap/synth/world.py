"""Seeded synthetic Chengyang world: communities, estates and buildings laid inside the real streets.

``generate(seed=…, scale="demo"|"district"|{…}, streets=…)`` returns one frame per layer of
:mod:`gridmap.domain.schema`. The layout is vectorised and pure (given ``streets``; by default the real street
boundaries shipped in ``geodata/`` are read once):

* communities tile their street: Voronoi cells of random seeds, clipped to the street;
* a metric lattice of 400 m blocks is laid over the district; a block whose inner square lies inside one
  community holds one estate, a loose cluster of village houses or a few stand-alone buildings, so
  estates never overlap and every building lies strictly inside its community;
* buildings are rectangles sized by their units; households = units × floors × flats per landing, so room
  codes ``3-2-501`` (building-unit-room, floor = room // 100) exist for every household.

People (households, stewards, party members, volunteer teams, merchants, facilities) come from
:mod:`gridmap.synth.people`. Further layers (complaints) plug in through :data:`EXTRA_GENERATORS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from importlib import import_module
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap import jobs
from gridmap.domain.codes import district_of
from gridmap.errors import InvalidInput
from gridmap.io.geodata import chengyang_district, chengyang_streets
from gridmap.io.validation import SLIVER_M2, SLIVER_THINNESS
from gridmap.jobs import Progress
from gridmap.synth import names
from gridmap.synth import people as synth_people
from gridmap.synth.layout import KINDS, LEIXIN, METRIC_CRS, NAMED_ESTATES, VANKE, Kind, Layout, layout  # noqa: F401
from gridmap.synth.scale import SCALES, Scale

DISTRICT_ID = "370214"
DISTRICT_NAME = "城阳区"
#: the 8 streets of Chengyang in the order of their 3-digit codes (001 …)
STREET_ORDER = ("城阳街道", "夏庄街道", "流亭街道", "惜福镇街道", "棘洪滩街道", "上马街道", "河套街道", "红岛街道")
#: share of the district's estates per street (urban core first); unknown streets fall back to area
URBAN_WEIGHT = {
    "城阳街道": 0.30,
    "流亭街道": 0.15,
    "夏庄街道": 0.15,
    "棘洪滩街道": 0.10,
    "红岛街道": 0.10,
    "河套街道": 0.07,
    "惜福镇街道": 0.07,
    "上马街道": 0.06,
}

#: layers that extra generators may add, as "module:function"; a missing module is skipped.
#: A generator is called as ``fn(world, rng=rng, scale=scale)`` and returns a frame for its layer, or a
#: dict of frames (e.g. complaints and complaint_events).
EXTRA_GENERATORS: dict[str, str] = {"complaints": "gridmap.domain.complaints:synth_complaints"}


class SynthError(InvalidInput):
    """The generator cannot make the requested world (e.g. a street too small for its communities)."""


def resolve_scale(scale: str | Mapping[str, Any] | Scale) -> Scale:
    """``"demo"``, ``"district"``, a :class:`Scale` or a dict of Scale fields (over the demo defaults)."""
    if isinstance(scale, Scale):
        return scale
    if isinstance(scale, str):
        try:
            return SCALES[scale]
        except KeyError:
            raise SynthError(f"unknown scale {scale!r}; use one of {sorted(SCALES)} or a dict") from None
    base = SCALES[scale.get("base", "demo")]
    return replace(base, **{k: v for k, v in scale.items() if k != "base"})


def generate(
    *,
    seed: int = 0,
    scale: str | Mapping[str, Any] | Scale = "demo",
    streets: gpd.GeoDataFrame | None = None,
    district: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """A synthetic world, one frame per layer name of :data:`gridmap.domain.schema.LAYERS`.

    Parameters
    ----------
    seed
        Same seed, same world (every id, geometry and name).
    scale
        ``"demo"`` (~40 communities, ~3k buildings), ``"district"`` (~100k buildings, ~400k households)
        or a dict of :class:`Scale` fields, e.g. ``{"base": "district", "household_points": 1_000_000}``.
    streets
        Street polygons (EPSG:4326, column ``name``; ``id`` optional). Default: the 8 real Chengyang streets.
    district
        District polygon; default the real Chengyang boundary (or the union of ``streets``).
    progress
        Called ``progress(done, total)`` after each step (communities, layout, people, extra layers).
    """
    sc = resolve_scale(scale)
    rng = np.random.default_rng(seed)
    if streets is None:
        streets = chengyang_streets()
        district = chengyang_district() if district is None else district
    streets = _street_frame(streets)
    district = _district_frame(district, streets)
    world: dict[str, pd.DataFrame] = {"districts": district, "streets": streets}
    steps = 3 + len(EXTRA_GENERATORS)
    world["communities"] = _communities(streets, sc.communities, rng)
    jobs.report(progress, 1, steps)
    lay = layout(world["communities"], streets, sc, rng, weights=_street_weights(streets))
    world.update(lay.frames())
    jobs.report(progress, 2, steps)
    world.update(synth_people.people(world, lay, sc, rng))
    jobs.report(progress, 3, steps)
    for k, (layer, target) in enumerate(EXTRA_GENERATORS.items(), start=4):
        fn = _optional(target)
        if fn is not None:
            made = fn(world, rng=rng, scale=sc)
            world.update(made if isinstance(made, dict) else {layer: made})
        jobs.report(progress, k, steps)
    return world


def _optional(target: str) -> Callable[..., pd.DataFrame] | None:
    module, attr = target.split(":")
    try:
        return getattr(import_module(module), attr)
    except (ImportError, AttributeError):
        return None


# -- streets and communities -----------------------------------------------------------------------
def _street_frame(streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    s = streets.to_crs(4326) if streets.crs else streets.set_crs(4326)
    s = s[["name", "geometry"] + [c for c in ("id",) if c in s]].copy()
    order = {n: i for i, n in enumerate(STREET_ORDER)}
    s["_o"] = [order.get(n, len(order) + i) for i, n in enumerate(s["name"])]
    s = s.sort_values("_o").drop(columns="_o").reset_index(drop=True)
    if "id" not in s:
        s["id"] = [f"{DISTRICT_ID}{i + 1:03d}" for i in range(len(s))]
    s["district_id"] = s["id"].map(district_of)
    s["geometry"] = shapely.make_valid(s.geometry.values)
    return gpd.GeoDataFrame(s[["id", "name", "district_id", "geometry"]], crs=4326)


def _district_frame(district: gpd.GeoDataFrame | None, streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if district is None:
        geom = shapely.union_all(streets.geometry.values)
        return gpd.GeoDataFrame(
            {"id": [streets["district_id"].iloc[0]], "name": [DISTRICT_NAME]}, geometry=[geom], crs=4326
        )
    d = district.to_crs(4326)
    return gpd.GeoDataFrame(
        {
            "id": [str(d.get("adcode", pd.Series([DISTRICT_ID])).iloc[0])],
            "name": [str(d.get("name", pd.Series([DISTRICT_NAME])).iloc[0])],
        },
        geometry=[shapely.union_all(d.geometry.values)],
        crs=4326,
    )


def _street_weights(streets: gpd.GeoDataFrame) -> np.ndarray:
    area = streets.to_crs(METRIC_CRS).area.to_numpy()
    w = np.array([URBAN_WEIGHT.get(n, np.nan) for n in streets["name"]])
    w = np.where(np.isnan(w), area / area.sum(), w)
    return w / w.sum()


def _communities(streets: gpd.GeoDataFrame, n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``n`` communities tiling the streets: Voronoi cells of random seeds clipped to each street."""
    area = streets.to_crs(METRIC_CRS).area.to_numpy()
    share = 0.5 * _street_weights(streets) + 0.5 * area / area.sum()
    counts = np.maximum(2, np.floor(share * n)).astype(int)
    counts[np.argsort(-(share * n - np.floor(share * n)))[: max(0, n - counts.sum())]] += 1
    while counts.sum() > max(n, 2 * len(counts)):
        counts[np.argmax(counts)] -= 1
    coslat = math.cos(math.radians(float(streets.geometry.union_all().centroid.y)))
    rows = []
    names_taken: set[str] = set()
    for street, k in zip(streets.itertuples(), counts):
        seeds = _points_in(street.geometry, int(k), rng)
        cells = _voronoi(seeds, street.geometry, coslat)
        cells = cells[np.lexsort((shapely.get_x(shapely.centroid(cells)), -shapely.get_y(shapely.centroid(cells))))]
        for i, (cell, nm) in enumerate(zip(cells, names.place_names(rng, len(cells), taken=names_taken))):
            names_taken.add(nm)
            rows.append((f"{street.id}{i + 1:03d}", nm, street.id, cell))
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["id", "name", "street_id", "geometry"]), crs=4326)
    out["min_households"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["max_households"] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out


def _points_in(poly: BaseGeometry, k: int, rng: np.random.Generator) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    got = np.empty((0, 2))
    while len(got) < k:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(4 * k + 16, 2))
        got = np.vstack([got, xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]])
    return got[:k]


def _voronoi(seeds: np.ndarray, poly: BaseGeometry, coslat: float) -> np.ndarray:
    if len(seeds) == 1:
        return np.array([poly])
    scaled = seeds * (coslat, 1.0)
    minx, miny, maxx, maxy = poly.bounds
    env = shapely.box(minx * coslat - 1, miny - 1, maxx * coslat + 1, maxy + 1)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(scaled), extend_to=env))
    cells = shapely.transform(cells, lambda xy: xy / (coslat, 1.0))
    clipped = shapely.intersection(cells, poly)
    clipped = np.array([_polygonal(c) for c in clipped], dtype=object)
    clipped = _merge_slivers(clipped[~shapely.is_empty(clipped)])
    return clipped[~shapely.is_empty(clipped)]


def _merge_slivers(cells: np.ndarray) -> np.ndarray:
    """Give every sliver part of a cell (the importer's rule: :data:`gridmap.io.validation.SLIVER_M2`,
    ``SLIVER_THINNESS``) to the neighbouring cell it shares the longest border with, so the communities still
    tile the street and ``gridmap import`` accepts them; cells without slivers are returned unchanged."""
    parts = shapely.get_parts(cells, return_index=True)
    geoms, owner = parts[0], parts[1]
    metric = gpd.GeoSeries(geoms, crs=4326).to_crs(METRIC_CRS)
    area, perim = metric.area.to_numpy(), metric.length.to_numpy()
    bad = (area < SLIVER_M2) | (4 * np.pi * area / np.maximum(perim, 1e-9) ** 2 < SLIVER_THINNESS)
    if not bad.any():
        return cells
    new_owner = owner.copy()
    for i in np.flatnonzero(bad):
        borders = [
            (shapely.length(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j]))), j)
            for j in np.flatnonzero(~bad & (owner != owner[i]))
            if shapely.intersects(geoms[i], geoms[j])
        ]
        length, j = max(borders, default=(0.0, -1))
        new_owner[i] = owner[j] if length > 0 else owner[i]
    out = [
        _polygonal(shapely.union_all(geoms[new_owner == k], grid_size=None)) if (new_owner == k).any() else None
        for k in range(len(cells))
    ]
    return np.array([shapely.Polygon() if g is None else g for g in out], dtype=object)


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()
