"""What every part of the maps shares: the published plan's assignment (cached), the caches and their
lifetime, the complaint clock (days waiting, overdue) and the layer specs.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import clock
from gridmap.domain.complaints import STATES, is_open
from gridmap.errors import NotFoundError
from gridmap.present.layers import LAYERS, LayerSpec
from gridmap.store.base import Store

#: seconds a cached whole-plan grids layer or community centre list is trusted (community bounds may change)
CACHE_SECONDS = 300.0


def _is_closed(states: pd.Series) -> np.ndarray:
    return np.array([s not in STATES or not is_open(s) for s in states], dtype=bool)


def open_states() -> list[str]:
    """The complaint states that count as open (:func:`gridmap.domain.complaints.is_open`)."""
    return [s for s in STATES if is_open(s)]


# -- caches: the published plan's assignment, its whole grids layer (:mod:`.layers`), area centres (:mod:`.counts`)
_ASSIGN_CACHE: dict[tuple[str, str], dict[str, str]] = {}
_ASSIGN_LOCK = threading.Lock()


@dataclass
class _GridLayer:
    """A published plan's grids with their load, and Feature texts per (zoom, shift), made once."""

    frame: pd.DataFrame
    boxes: np.ndarray
    made: float
    texts: dict[tuple[int, str | None], list[str]]


_GRIDS_CACHE: dict[tuple[str, str, tuple[int, int]], _GridLayer] = {}
_CENTRES_CACHE: dict[tuple[str, str, str], tuple[float, pd.DataFrame]] = {}


def assignment(store: Store, plan_id: str) -> dict[str, str]:
    """building id → grid code of ``plan_id`` (cached: a published plan never changes)."""
    key = (store.url, plan_id)
    with _ASSIGN_LOCK:
        hit = _ASSIGN_CACHE.get(key)
    if hit is not None:
        return hit
    rows = store.read("plan_assignments", where={"plan_id": plan_id}, columns=["building_id", "grid_code"])
    out = dict(zip(rows["building_id"].astype(str), rows["grid_code"].astype(str)))
    with _ASSIGN_LOCK:
        if len(_ASSIGN_CACHE) > 8:
            _ASSIGN_CACHE.clear()
        _ASSIGN_CACHE[key] = out
    return out


_MEMBERS_CACHE: dict[tuple[str, str], dict[str, list[str]]] = {}


def buildings_of(store: Store, plan_id: str, code: str) -> list[str]:
    """The ids of grid ``code``'s buildings in ``plan_id``, sorted (from :func:`assignment`, grouped once per plan)."""
    key = (store.url, plan_id)
    with _ASSIGN_LOCK:
        members = _MEMBERS_CACHE.get(key)
    if members is None:
        members = {}
        for b, g in assignment(store, plan_id).items():
            members.setdefault(g, []).append(b)
        for ids in members.values():
            ids.sort()
        with _ASSIGN_LOCK:
            if len(_MEMBERS_CACHE) > 8:
                _MEMBERS_CACHE.clear()
            _MEMBERS_CACHE[key] = members
    return list(members.get(code, ()))


def forget_cache() -> None:
    """Drop cached plan assignments, grid layers and centres (tests that rewrite a plan under the same id)."""
    with _ASSIGN_LOCK:
        _ASSIGN_CACHE.clear()
        _MEMBERS_CACHE.clear()
        _GRIDS_CACHE.clear()
        _CENTRES_CACHE.clear()


def _complaint_clock(frame: pd.DataFrame, now: dt.datetime) -> pd.DataFrame:
    """``frame`` with ``days_waiting`` (whole days since filing: the same in every time zone), ``overdue``
    (open and past ``due_at``) and ``open``, as of ``now`` (naive means UTC)."""
    now_ = pd.Timestamp(clock.utc(now))
    created = pd.to_datetime(frame["created_at"], utc=True, errors="coerce")
    due = pd.to_datetime(frame["due_at"], utc=True, errors="coerce")
    closed = _is_closed(frame["state"])
    waiting = ((now_ - created).dt.total_seconds() / 86400).fillna(0).clip(lower=0)
    overdue = (~closed) & due.notna().to_numpy() & (due < now_).to_numpy()
    return frame.assign(days_waiting=np.floor(waiting).astype(int), overdue=overdue, open=~closed)


def _empty(spec: LayerSpec) -> pd.DataFrame:
    return gpd.GeoDataFrame({c: [] for c in spec.columns}, geometry=[], crs=4326)


def _spec(layer: str) -> LayerSpec:
    try:
        return LAYERS[layer]
    except KeyError:
        raise NotFoundError(f"unknown map layer {layer!r}; layers are {', '.join(LAYERS)}") from None
