"""The world records are placed in: buildings, communities and the published plan, sorted by id and
indexed lazily (:class:`PlacementWorld`; build once, place often, ship to Dask workers). Nothing here does
I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gridmap.domain.geometry import metric_crs_of_bounds
from gridmap.domain.placement.index import BuildingIndex, CellIndex
from gridmap.errors import InvalidInput


class PlacementError(InvalidInput):
    """Inputs placement cannot work with (no CRS, missing columns, duplicate building ids …)."""


class PlacementWorld:
    """Buildings, communities and the published plan, indexed for placement (build once, place often).

    Buildings, communities and grids are sorted by id, so "lowest id" ties are "lowest position".
    Spatial indexes are built lazily and dropped when pickled (the world travels to Dask workers).
    """

    def __init__(
        self,
        buildings: gpd.GeoDataFrame,
        communities: gpd.GeoDataFrame,
        *,
        assignment: Mapping[str, str] | pd.Series | None = None,
        grids: gpd.GeoDataFrame | None = None,
    ) -> None:
        b = _geo(buildings, "buildings", ("id", "community_id"))
        c = _geo(communities, "communities", ("id",))
        b = b.sort_values("id", kind="stable").reset_index(drop=True)
        c = c.sort_values("id", kind="stable").reset_index(drop=True)
        for frame, what in ((b, "buildings"), (c, "communities")):
            dup = frame["id"][frame["id"].duplicated()]
            if len(dup):
                raise PlacementError(f"{what} ids are not unique: {sorted(map(str, dup.unique()))[:5]}")
        self.building_ids = b["id"].astype(str).to_numpy(dtype=object)
        #: ids of footprints merged into a building (``buildings.aliases``) → the building's id
        self.building_aliases: dict[str, str] = {
            a.strip(): bid
            for bid, text in zip(self.building_ids, b["aliases"] if "aliases" in b else [None] * len(b))
            if isinstance(text, str)
            for a in text.split(",")
            if a.strip()
        }
        self.building_geoms = b.geometry.to_numpy()
        self.building_names = _str_or_none(b.get("name"), len(b))
        self.building_estates = _str_or_none(b.get("estate_id"), len(b))
        self.building_communities = _str_or_none(b["community_id"], len(b))
        self.building_units = _int_or_nan(b.get("units"), len(b))
        self.building_floors = _int_or_nan(b.get("floors"), len(b))
        self.community_ids = c["id"].astype(str).to_numpy(dtype=object)
        self.community_geoms = c.geometry.to_numpy()
        self.community_streets = _str_or_none(c.get("street_id"), len(c))
        self.building_community_pos = pd.Index(self.community_ids).get_indexer(self.building_communities)
        if assignment is None:
            self.building_grids = np.full(len(b), None, dtype=object)
        else:
            amap = pd.Series(assignment) if not isinstance(assignment, pd.Series) else assignment
            self.building_grids = _str_or_none(pd.Series(self.building_ids).map(amap), len(b))
        if grids is not None and len(grids):
            g = _geo(grids, "plan_grids", ("code",)).sort_values("code", kind="stable")
            self.grid_codes = g["code"].astype(str).to_numpy(dtype=object)
            self.grid_geoms = g.geometry.to_numpy()
        else:
            self.grid_codes = np.empty(0, dtype=object)
            self.grid_geoms = np.empty(0, dtype=object)
        # integer codes into shared category arrays, so results are cheap pandas Categoricals
        self.estate_cats, (self.b_estate,) = _shared_codes(self.building_estates)
        self.community_cats, (self.c_community, self.b_community) = _shared_codes(
            self.community_ids, self.building_communities
        )
        self.street_cats, (self.c_street,) = _shared_codes(self.community_streets)
        self.b_street = np.where(
            self.building_community_pos >= 0,
            self.c_street[np.maximum(self.building_community_pos, 0)] if len(self.c_street) else -1,
            -1,
        )
        self.grid_cats, (self.b_grid, self.g_grid) = _shared_codes(self.building_grids, self.grid_codes)
        extent = self.building_geoms if len(b) else self.community_geoms
        self.metric_crs = metric_crs_of_bounds(shapely.total_bounds(extent) if len(extent) else (np.nan,) * 4)
        self.buildings = BuildingIndex(self.building_geoms, self.metric_crs)
        self._cache: dict[str, Any] = {}

    # -- lazily built indexes ------------------------------------------------------------------
    def _cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def building_tree(self) -> shapely.STRtree:
        return self.building_cells.tree

    @property
    def building_cells(self) -> CellIndex:
        return self.buildings.cells

    @property
    def metric_building_tree(self) -> shapely.STRtree:
        return self.buildings.metric_tree

    @property
    def community_tree(self) -> shapely.STRtree:
        return self._cached("community_tree", lambda: shapely.STRtree(self.community_geoms))

    @property
    def grid_tree(self) -> shapely.STRtree:
        return self._cached("grid_tree", lambda: shapely.STRtree(self.grid_geoms))

    @property
    def dtypes(self) -> dict[str, pd.CategoricalDtype]:
        """Categorical dtypes of the derived id columns (categories validated once)."""
        return self._cached(
            "dtypes",
            lambda: {
                "building": pd.CategoricalDtype(self.building_ids),
                "estate": pd.CategoricalDtype(self.estate_cats),
                "grid": pd.CategoricalDtype(self.grid_cats),
                "community": pd.CategoricalDtype(self.community_cats),
                "street": pd.CategoricalDtype(self.street_cats),
            },
        )

    @property
    def code_tables(self) -> dict[str, np.ndarray]:
        """Per building position (and -1 at the end, for "no building"): the code of each derived id."""

        def table(per_building: np.ndarray, dtype: pd.CategoricalDtype) -> np.ndarray:
            small = pd.Categorical.from_codes(np.empty(0, dtype=np.int64), dtype=dtype).codes.dtype
            return np.append(per_building, -1).astype(small)

        return self._cached(
            "code_tables",
            lambda: {
                name: table(per_building, self.dtypes[name])
                for name, per_building in (
                    ("building", np.arange(len(self))),
                    ("estate", self.b_estate),
                    ("grid", self.b_grid),
                    ("community", self.b_community),
                    ("street", self.b_street),
                )
            },
        )

    @property
    def building_index(self) -> pd.Index:
        return self._cached("building_index", lambda: pd.Index(self.building_ids))

    def to_metric(self, geoms: np.ndarray) -> np.ndarray:
        """Project EPSG:4326 geometries to :attr:`metric_crs`."""
        return self.buildings.to_metric(geoms)

    def prepare(self) -> PlacementWorld:
        """Build every index now (benchmarks time preparation apart from placing)."""
        shapely.prepare(self.building_geoms)
        for name in ("building_cells", "community_tree", "grid_tree", "building_index", "code_tables"):
            getattr(self, name)
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __len__(self) -> int:
        return len(self.building_ids)


# -- small helpers ---------------------------------------------------------------------------------
def _geo(frame: gpd.GeoDataFrame, what: str, required: tuple[str, ...]) -> gpd.GeoDataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise PlacementError(f"{what} must be a GeoDataFrame with polygons")
    missing = [c for c in required if c not in frame]
    if missing:
        raise PlacementError(f"{what} lack the column(s) {missing}")
    if frame.crs is None:
        raise PlacementError(f"{what} have no CRS; set one (EPSG:4326) first")
    if not CRS.from_user_input(frame.crs).equals(CRS.from_epsg(4326)):
        frame = frame.to_crs(4326)
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    return frame


def _str_or_none(col: pd.Series | np.ndarray | None, n: int, *, whole_numbers: bool = True) -> np.ndarray:
    """Object array of strings, with missing and empty values as None (a copy).

    ``whole_numbers``: whole numbers read as floats (a numeric column with blanks: 101.0, NaN) are written as
    integers ("101"), so they match the ids and names they stand for; False writes them as ``str`` does.
    """
    if col is None:
        return np.full(n, None, dtype=object)
    s = pd.Series(np.asarray(col, dtype=object))
    missing = s.isna().to_numpy().copy()
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind not in ("string", "empty"):
        s = s.astype(object)
        text = s[~missing].astype(str)
        if whole_numbers and kind in ("floating", "mixed-integer-float"):  # only numbers: whole ones lose ".0"
            num = s[~missing].to_numpy(dtype=float)
            whole = num == np.trunc(num)
            text[whole] = [f"{v:.0f}" for v in num[whole]]
        s[~missing] = text
    arr = s.to_numpy(dtype=object, copy=True)
    missing |= arr == ""
    arr[missing] = None
    return arr


def _int_or_nan(col: pd.Series | None, n: int) -> np.ndarray:
    if col is None:
        return np.full(n, np.nan)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _shared_codes(*parts: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Unique non-null values over ``parts`` and each part's integer codes into them (-1 for None)."""
    joined = np.concatenate([np.asarray(p, dtype=object) for p in parts]) if parts else np.empty(0, object)
    codes, cats = pd.factorize(joined)
    bounds = np.cumsum([0] + [len(p) for p in parts])
    return np.asarray(cats, dtype=object), [codes[a:b].astype(np.int64) for a, b in zip(bounds[:-1], bounds[1:])]
