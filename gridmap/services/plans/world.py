"""The world the plans are about: households, building adjacency, tessellation cells, bounds, stewards and
issued codes, read once from the store into a :class:`PlanWorld` (the web layer keeps one per app).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import pandas as pd

from gridmap import clock, config
from gridmap.domain.geometry import to_metric
from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance import overlapping_groups, tie_groups, together_groups
from gridmap.domain.tessellation import adjacency as tess_adjacency
from gridmap.store.base import Store


@dataclass
class PlanWorld:
    """Everything a plan is checked against: households, adjacency, cells, bounds, stewards.

    ``together``: building groups that must stay in one grid — a building leader's home and the building they
    serve, and buildings whose footprints overlap (``overlapping``: one physical building, the partitioner's
    rule), joined where they share a building. Built by :func:`load_world`; the web layer keeps one per app
    and reloads it when the data changes. Plans loaded through it are cached by id (plan rows never change
    their assignment).
    """

    households: dict[str, int]
    community_of: dict[str, str]
    adjacency: dict[str, set[str]]
    cells: dict[str, Any]
    bounds: dict[str, tuple[int, int]]
    default_bounds: tuple[int, int]
    together: list[frozenset[str]]
    grid_leaders: set[str]
    issued_codes: set[str]
    stamp: tuple = ()
    plans: OrderedDict[str, GridPlan] = field(default_factory=OrderedDict)
    zone: dt.tzinfo = clock.UTC  # the service's time zone (setting TIMEZONE): what "today" is
    overlapping: list[frozenset[str]] = field(default_factory=list)

    @cached_property
    def partners(self) -> dict[str, frozenset[str]]:
        """Building id → its ``together`` group (buildings in no group are not listed)."""
        return {b: group for group in self.together for b in group}

    def cached(self, plan_id: str) -> GridPlan | None:
        plan = self.plans.get(plan_id)
        if plan is not None:
            self.plans.move_to_end(plan_id)
        return plan

    def remember(self, plan: GridPlan) -> GridPlan:
        self.plans[plan.stored_id] = plan
        while len(self.plans) > 64:
            self.plans.popitem(last=False)
        return plan


def world_stamp(store: Store) -> tuple:
    """A cheap fingerprint of the data a world is built from (to know when to reload it)."""
    return tuple(store.count(layer) for layer in ("buildings", "cells", "stewards", "communities", "grid_codes"))


def load_world(store: Store, *, settings: Mapping[str, Any] | None = None) -> PlanWorld:
    """Read buildings, cells, communities, stewards and issued codes into a :class:`PlanWorld`."""
    settings = settings or config.load()
    b = store.read("buildings", columns=["id", "community_id", "households", "geometry"])
    households = dict(zip(b["id"], pd.to_numeric(b["households"]).fillna(0).astype(int)))
    community_of = dict(zip(b["id"], b["community_id"]))
    # one physical building in several overlapping footprints: computed once per world, not per move
    overlapping = overlapping_groups(b["id"], b["community_id"], to_metric(b).geometry.values) if len(b) else []
    cells_frame = store.read("cells", columns=["id", "community_id", "geometry"])
    cells = dict(zip(cells_frame["id"], cells_frame.geometry.values))
    adjacency = _adjacency(cells_frame)
    com = store.read("communities", columns=["id", "min_households", "max_households"])
    default = (int(settings["MIN_HOUSEHOLDS"]), int(settings["MAX_HOUSEHOLDS"]))
    bounds = {}
    for row in com.to_dict("records"):
        lo, hi = row.get("min_households"), row.get("max_households")
        bounds[row["id"]] = (default[0] if pd.isna(lo) else int(lo), default[1] if pd.isna(hi) else int(hi))
    st = store.read("stewards", columns=["id", "role", "building_id", "serves"])
    rows = st.to_dict("records")
    together = tie_groups(together_groups(rows, buildings=households), overlapping)
    leaders = {r["serves"] for r in rows if r["role"] == "grid_leader" and isinstance(r["serves"], str)}
    issued = set(store.read("grid_codes", columns=["code"])["code"])
    return PlanWorld(
        households,
        community_of,
        adjacency,
        cells,
        bounds,
        default,
        together,
        leaders,
        issued,
        stamp=world_stamp(store),
        zone=clock.zone(settings.get("TIMEZONE") or config.setting("TIMEZONE").default),
        overlapping=overlapping,
    )


def _adjacency(cells: gpd.GeoDataFrame) -> dict[str, set[str]]:
    """Building id → ids of buildings whose cells share a border (same community)."""
    out: dict[str, set[str]] = {b: set() for b in cells["id"]}
    if len(cells) < 2:
        return out
    # the tessellation's segment-matching adjacency (fast, rook)
    pairs = tess_adjacency(to_metric(gpd.GeoDataFrame(cells, geometry="geometry", crs=4326)))
    ids = cells["id"].to_numpy()
    for i, j in zip(pairs["i"], pairs["j"]):
        out[ids[i]].add(ids[j])
        out[ids[j]].add(ids[i])
    return out
