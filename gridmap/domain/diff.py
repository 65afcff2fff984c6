"""The difference between two grid plans: who changes grid, and each grid's figures before and after.

A building, household, steward or open complaint "changes grid" when the grid of its building differs
between the two plans (a steward's grid is its home building's grid). Pure: no I/O; pandas for the
joins so a district of 100,000 buildings diffs in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gridmap.domain.plan import GridPlan
from gridmap.domain.values import json_records

__all__ = ["PlanDiff", "diff_plans", "FIGURES"]

#: the per-grid figures compared
FIGURES = ("buildings", "households", "stewards", "open_complaints")


@dataclass(frozen=True)
class PlanDiff:
    """What changes between plan ``old`` and plan ``new``.

    ``buildings``: rows ``building_id, from_grid, to_grid, households`` (``None`` where the building is
    in only one plan). ``stewards`` and ``complaints``: rows ``id, building_id, from_grid, to_grid`` (+
    ``role`` for stewards). ``grids``: one row per grid code of either plan with ``<figure>_before``,
    ``<figure>_after`` and ``status`` (added, removed, changed, unchanged).
    """

    old_id: str | None
    new_id: str | None
    buildings: pd.DataFrame
    stewards: pd.DataFrame
    complaints: pd.DataFrame
    grids: pd.DataFrame

    @property
    def households_moved(self) -> int:
        return int(self.buildings["households"].sum()) if len(self.buildings) else 0

    @property
    def changed_buildings(self) -> list[str]:
        return list(self.buildings["building_id"])

    def summary(self) -> dict[str, int]:
        status = self.grids["status"].value_counts() if len(self.grids) else {}
        return {
            "buildings": len(self.buildings),
            "households": self.households_moved,
            "stewards": len(self.stewards),
            "open_complaints": len(self.complaints),
            **{f"grids_{s}": int(status.get(s, 0)) for s in ("added", "removed", "changed")},
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: summary, changed buildings/stewards/complaints, per-grid figures."""
        return {
            "old_plan": self.old_id,
            "new_plan": self.new_id,
            "summary": self.summary(),
            "buildings": json_records(self.buildings),
            "stewards": json_records(self.stewards),
            "complaints": json_records(self.complaints),
            "grids": json_records(self.grids),
        }


def diff_plans(
    old: GridPlan,
    new: GridPlan,
    *,
    households: Mapping[str, int] | None = None,
    stewards: Iterable[Mapping[str, Any]] = (),
    complaints: Iterable[Mapping[str, Any]] = (),
) -> PlanDiff:
    """Compare two plans.

    Parameters
    ----------
    old, new
        The plans (any two; typically the published plan and a draft).
    households
        Households per building id (today's figures, used for both plans); missing → 0.
    stewards
        Rows with ``id``, ``building_id`` (home) and ``role``.
    complaints
        The *open* complaints: rows with ``id`` and ``building_id``.

    Returns
    -------
    PlanDiff
    """
    hh = pd.Series(dict(households or {}), dtype="int64")
    a = pd.Series(dict(old.assignment), name="from_grid", dtype="object")
    b = pd.Series(dict(new.assignment), name="to_grid", dtype="object")
    joined = pd.concat([a, b], axis=1)
    joined.index.name = "building_id"
    joined["households"] = hh.reindex(joined.index).fillna(0).astype("int64")
    changed = joined[
        joined["from_grid"].ne(joined["to_grid"]) & ~(joined["from_grid"].isna() & joined["to_grid"].isna())
    ]
    buildings = changed.reset_index().sort_values("building_id").reset_index(drop=True)
    buildings = buildings.astype({"from_grid": "object", "to_grid": "object"})
    buildings = buildings.where(buildings.notna(), None)

    st = _attach(pd.DataFrame(list(stewards), columns=None), joined, ("id", "building_id", "role"))
    cp = _attach(pd.DataFrame(list(complaints), columns=None), joined, ("id", "building_id"))
    grids = _grid_figures(old, new, joined, st, cp)
    return PlanDiff(
        old.id,
        new.id,
        buildings,
        st[st["moved"]].drop(columns="moved").reset_index(drop=True),
        cp[cp["moved"]].drop(columns="moved").reset_index(drop=True),
        grids,
    )


def _attach(frame: pd.DataFrame, joined: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    for c in cols:
        if c not in frame:
            frame[c] = pd.Series(dtype="object")
    frame = frame[list(cols)].copy()
    grids = joined[["from_grid", "to_grid"]].reindex(frame["building_id"])
    frame["from_grid"] = grids["from_grid"].to_numpy()
    frame["to_grid"] = grids["to_grid"].to_numpy()
    frame["moved"] = frame["from_grid"].ne(frame["to_grid"]) & ~(frame["from_grid"].isna() & frame["to_grid"].isna())
    frame = frame.astype({"from_grid": "object", "to_grid": "object"})
    frame = frame.where(frame.notna(), None)
    return frame.sort_values("id").reset_index(drop=True)


def _grid_figures(
    old: GridPlan, new: GridPlan, joined: pd.DataFrame, st: pd.DataFrame, cp: pd.DataFrame
) -> pd.DataFrame:
    codes = sorted(set(old.grid_community) | set(new.grid_community))
    out = pd.DataFrame(index=pd.Index(codes, name="code"))
    out["community_id"] = [new.grid_community.get(c, old.grid_community.get(c)) for c in codes]
    for side, col in (("before", "from_grid"), ("after", "to_grid")):
        out[f"buildings_{side}"] = joined.groupby(col).size()
        out[f"households_{side}"] = joined.groupby(col)["households"].sum()
        out[f"stewards_{side}"] = st.groupby(col).size() if len(st) else 0
        out[f"open_complaints_{side}"] = cp.groupby(col).size() if len(cp) else 0
    figure_cols = [c for c in out.columns if c != "community_id"]
    out[figure_cols] = out[figure_cols].fillna(0).astype("int64")
    members_old, members_new = old.grids, new.grids
    status = []
    for c in codes:
        if c not in old.grid_community:
            status.append("added")
        elif c not in new.grid_community:
            status.append("removed")
        elif members_old[c] != members_new[c]:
            status.append("changed")
        else:
            status.append("unchanged")
    out["status"] = status
    return out.reset_index()
