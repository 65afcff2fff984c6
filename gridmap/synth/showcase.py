"""Requests that show every view of the demo on first run: in the busiest grids, one request in each state of
the workflow — fresh, overdue (also 督办 by the timed escalation), returned, reassigned, reopened, resolved and
waiting for the resident's rating, evaluated — each with a resident's name and phone, walked through the
domain's own moves (:func:`gridmap.domain.complaints.apply`), so their histories are real ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gridmap.domain import complaints as C
from gridmap.synth import names

#: (category, days since filed, the moves after 受理): one request of each kind per showcase grid
CASES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("sanitation", 0.2, ()),
    ("consultation", 6, ()),  # 2 working days: overdue
    ("parking", 3, ("dispatched",)),
    ("property_service", 40, ("dispatched",)),  # 15 working days: overdue, escalated
    ("neighbour_dispute", 5, ("dispatched", "responding")),
    ("safety", 4, ("dispatched", "returned")),
    ("medical", 8, ("dispatched", "returned", "reassigned")),
    ("fitness", 12, ("dispatched", "responding", "resolved")),  # waiting for the resident's rating
    ("sanitation", 20, ("dispatched", "responding", "resolved", "evaluated")),
    ("property_dispute", 25, ("dispatched", "responding", "resolved", "reopened")),
)


def busiest(grids: pd.Series, n: int = 3, *, among: set[str] | None = None) -> list[str]:
    """The ``n`` grid codes with the most requests, those ``among`` (e.g. grids with a household register) first."""
    counts = grids.dropna().astype(str).value_counts()
    first = [str(c) for c in counts.index if among is not None and str(c) in among]
    return (first + [str(c) for c in counts.index if str(c) not in first])[:n]


def showcase(
    buildings: pd.DataFrame,
    *,
    grids: Sequence[str],
    assignment: Mapping[str, str],
    grid_leaders: Mapping[str, str],
    policy: C.Policy,
    now: dt.datetime,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Records and events of :data:`CASES` in each of ``grids`` (aware UTC times; ``now`` aware)."""
    rng = np.random.default_rng(seed + 14)
    by_grid: dict[str, list[int]] = {}
    for i, bid in enumerate(buildings["id"].astype(str)):
        by_grid.setdefault(assignment.get(bid, ""), []).append(i)
    pts = buildings.geometry.representative_point()
    records: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    serial = 0
    for grid in grids:
        rows = by_grid.get(grid) or []
        if not rows:
            continue
        people, phones = names.person_names(rng, len(CASES)), names.phones(rng, len(CASES))
        for k, (category, days, path) in enumerate(CASES):
            serial += 1
            bi = rows[k % len(rows)]
            b = buildings.iloc[bi]
            at = (now - dt.timedelta(days=days)).replace(microsecond=0)
            route = C.Route(
                building_id=str(b["id"]),
                estate_id=None if pd.isna(b["estate_id"]) else str(b["estate_id"]),
                community_id=str(b["community_id"]),
                grid_code=grid,
                grid_leader_id=grid_leaders.get(grid),
                needs_confirmation=False,
                placement="contained",
                placement_distance_m=0.0,
                department=C.CATEGORIES[category].departments[0],
            )
            rec, ev = C.new_complaint(
                id=f"D{now.year}9{serial:05d}",
                category=category,
                description=f"{C.CATEGORIES[category].zh}：请尽快处理（演示数据）",
                at=at,
                channel="map",
                lon=float(pts.iloc[bi].x),
                lat=float(pts.iloc[bi].y),
                actor="demo",
                policy=policy,
                route=route,
                contact_name=str(people[k]),
                contact_phone=str(phones[k]),
            )
            evs = [ev]
            step = dt.timedelta(days=days) / (len(path) + 2)
            t = at
            for target in path:
                t = t + step
                if target == "evaluated":
                    rec, more = C.evaluate(
                        rec, rating=5, resolved=True, actor="demo", at=t, seq=len(evs) + 1, policy=policy
                    )
                    evs += more
                    continue
                if target == "reopened":  # the resident was not satisfied: a fresh time limit
                    rec, e = C.reopen(rec, actor="demo", at=t, seq=len(evs) + 1, policy=policy, note="居民回访：未解决")
                    evs.append(e)
                    continue
                changes = {"department": C.CATEGORIES[category].departments[-1]} if target == "reassigned" else None
                rec, e = C.apply(rec, target, actor="demo", by="staff", at=t, seq=len(evs) + 1, changes=changes)
                evs.append(e)
            for rec2, e in C.escalate(rec, now, seq=len(evs) + 1, policy=policy):  # 督办 of the overdue ones
                rec = rec2
                evs.append(e)
            records.append(rec)
            events.extend(evs)
    return records, events
