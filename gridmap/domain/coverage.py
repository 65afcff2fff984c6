"""Steward coverage figures: who is missing where, and how far the district is from its red-property targets.

Pure functions of frames (no I/O); :func:`gridmap.services.placement.coverage_report` feeds them from a
store with every grid derived from the published plan.

* buildings without a building leader (a ``building_leader`` steward serving it, or living in it when
  ``serves`` is empty);
* grids without a grid leader (a ``grid_leader`` serving the grid code, or living in the grid when
  ``serves`` is empty) or without a party-member central household (a ``party_central_household`` steward
  who is a party member, living in the grid);
* households per steward by grid (households from the buildings' ``households``; stewards by the grid
  of their home building);
* party members reported in (``reported_on`` set), by the steward role they serve in, per community;
* red-property coverage: the share of estates whose property company has a party organisation, by estate,
  community, street and district, against the programme's targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gridmap.domain.codes import district_of
from gridmap.domain.values import json_records
from gridmap.errors import InvalidInput

#: programme targets: share of estates covered by red property, by the end of each year
TARGETS = {2020: 0.5, 2021: 0.7, 2022: 1.0}
NOT_A_STEWARD = "not_a_steward"
LEVELS = ("estate", "community", "street", "district")
#: the tables :meth:`Coverage.table` gives (``red_property`` by one of :data:`LEVELS`)
TABLES = ("summary", "buildings", "grids", "party_members", "red_property")


@dataclass(frozen=True)
class Coverage:
    buildings_without_leader: pd.DataFrame
    grids: pd.DataFrame
    party_members: pd.DataFrame
    red_property: dict[str, pd.DataFrame]
    summary: dict[str, Any]

    def table(self, name: str, *, level: str = "community") -> pd.DataFrame:
        """One table by name: ``summary``, ``buildings``, ``grids``, ``party_members``, ``red_property``."""
        if name == "summary":
            return pd.DataFrame({"figure": list(self.summary), "value": list(self.summary.values())})
        if name == "buildings":
            return self.buildings_without_leader
        if name == "grids":
            return self.grids
        if name == "party_members":
            return self.party_members
        if name == "red_property":
            if level not in self.red_property:
                raise InvalidInput(f"未知的层级 / unknown level {level!r}; use one of: {', '.join(self.red_property)}")
            return self.red_property[level]
        raise InvalidInput(f"未知的表 / unknown coverage table {name!r}; use one of: {', '.join(TABLES)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "buildings_without_leader": json_records(self.buildings_without_leader),
            "grids": json_records(self.grids),
            "party_members": json_records(self.party_members),
            "red_property": {k: json_records(v) for k, v in self.red_property.items()},
            "targets": {str(y): t for y, t in TARGETS.items()},
        }


def _str(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), None)


def buildings_without_leader(buildings: pd.DataFrame, stewards: pd.DataFrame) -> pd.DataFrame:
    """Residential buildings (households > 0) that no building leader serves, sorted by id."""
    leaders = stewards[stewards["role"] == "building_leader"]
    served = _str(leaders["serves"]).where(_str(leaders["serves"]).notna(), _str(leaders["building_id"]))
    hh = pd.to_numeric(buildings["households"], errors="coerce").fillna(0)
    missing = (hh > 0) & ~buildings["id"].isin(set(served.dropna()))
    cols = [c for c in ("id", "estate_id", "community_id", "grid_code", "households") if c in buildings]
    return pd.DataFrame(buildings.loc[missing, cols]).sort_values("id").reset_index(drop=True)


def grid_table(grids: pd.DataFrame, buildings: pd.DataFrame, stewards: pd.DataFrame) -> pd.DataFrame:
    """Per grid: households, stewards, households per steward, grid leaders, party-member central households.

    ``buildings`` and ``stewards`` carry a derived ``grid_code``.
    """
    hh = pd.to_numeric(buildings["households"], errors="coerce").fillna(0).groupby(buildings["grid_code"]).sum()
    located = stewards[stewards["grid_code"].notna()]
    n_stewards = located.groupby("grid_code").size()
    gl = stewards[stewards["role"] == "grid_leader"]
    gl_grid = _str(gl["serves"]).where(_str(gl["serves"]).notna(), _str(gl["grid_code"]))
    n_leaders = gl_grid.dropna().value_counts()
    party = stewards["party_member"].astype("boolean").fillna(False).astype(bool)
    pch = located[(located["role"] == "party_central_household") & party.loc[located.index]]
    n_pch = pch.groupby("grid_code").size()
    out = pd.DataFrame({"code": grids["code"].to_numpy(), "community_id": grids["community_id"].to_numpy()})
    out["households"] = out["code"].map(hh).fillna(0).astype(int)
    out["stewards"] = out["code"].map(n_stewards).fillna(0).astype(int)
    out["households_per_steward"] = np.where(
        out["stewards"] > 0, out["households"] / out["stewards"].where(out["stewards"] > 0, 1), np.nan
    )
    out["grid_leaders"] = out["code"].map(n_leaders).fillna(0).astype(int)
    out["party_central_households"] = out["code"].map(n_pch).fillna(0).astype(int)
    out["no_grid_leader"] = out["grid_leaders"] == 0
    out["no_party_central_household"] = out["party_central_households"] == 0
    return out.sort_values("code").reset_index(drop=True)


def party_members_by_role(party_members: pd.DataFrame, stewards: pd.DataFrame) -> pd.DataFrame:
    """Party members reported in, per community and steward role (``not_a_steward`` when they serve in none)."""
    reported = party_members[party_members["reported_on"].notna()]
    role = reported["steward_id"].map(pd.Series(stewards["role"].to_numpy(), index=stewards["id"].to_numpy()))
    role = _str(role).fillna(NOT_A_STEWARD)
    out = pd.DataFrame({"community_id": reported["community_id"].to_numpy(), "role": role.to_numpy()})
    out = out.groupby(["community_id", "role"]).size().rename("members").reset_index()
    return out.sort_values(["community_id", "role"]).reset_index(drop=True)


def red_property(estates: pd.DataFrame, companies: pd.DataFrame, communities: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Red-property coverage by estate, community, street and district, with the targets met."""
    red_company = pd.Series(
        companies["has_party_org"].astype("boolean").fillna(False).astype(bool).to_numpy(),
        index=companies["id"].to_numpy(),
    )
    est = pd.DataFrame(
        {
            "id": estates["id"].to_numpy(),
            "community_id": estates["community_id"].to_numpy(),
            "property_company_id": _str(estates["property_company_id"]).to_numpy(),
        }
    )
    est["red"] = est["property_company_id"].map(red_company).astype("boolean").fillna(False).astype(bool)
    street = pd.Series(communities["street_id"].to_numpy(), index=communities["id"].to_numpy())
    est["street_id"] = est["community_id"].map(street)
    est["district_id"] = est["street_id"].map(district_of)
    out = {"estate": est.sort_values("id").reset_index(drop=True)}
    for level, key in (("community", "community_id"), ("street", "street_id"), ("district", "district_id")):
        g = est.groupby(key, dropna=False)["red"].agg(estates="size", red_estates="sum").reset_index()
        g["share"] = g["red_estates"] / g["estates"]
        for year, target in TARGETS.items():
            g[f"meets_{year}"] = g["share"] >= target - 1e-12
        out[level] = g.sort_values(key).reset_index(drop=True)
    return out


def compute(
    *,
    buildings: pd.DataFrame,
    stewards: pd.DataFrame,
    grids: pd.DataFrame,
    party_members: pd.DataFrame,
    estates: pd.DataFrame,
    companies: pd.DataFrame,
    communities: pd.DataFrame,
) -> Coverage:
    """Every coverage figure. ``buildings`` and ``stewards`` carry the derived ``grid_code``."""
    no_leader = buildings_without_leader(buildings, stewards)
    grid = grid_table(grids, buildings, stewards)
    party = party_members_by_role(party_members, stewards)
    red = red_property(estates, companies, communities)
    residential = int((pd.to_numeric(buildings["households"], errors="coerce").fillna(0) > 0).sum())
    district = red["district"]
    share = float(district["red_estates"].sum() / district["estates"].sum()) if district["estates"].sum() else None
    summary = {
        "residential_buildings": residential,
        "buildings_without_leader": int(len(no_leader)),
        "grids": int(len(grid)),
        "grids_without_leader": int(grid["no_grid_leader"].sum()),
        "grids_without_party_central_household": int(grid["no_party_central_household"].sum()),
        "stewards": int(len(stewards)),
        "households_per_steward": (
            float(grid["households"].sum() / grid["stewards"].sum()) if grid["stewards"].sum() else None
        ),
        "party_members_reported": int(party["members"].sum()),
        "red_property_estates": int(district["red_estates"].sum()),
        "estates": int(district["estates"].sum()),
        "red_property_share": share,
        **{f"red_property_meets_{y}": (share is not None and share >= t - 1e-12) for y, t in TARGETS.items()},
    }
    return Coverage(no_leader, grid, party, red, summary)
