"""A building's card: its estate and number, community and grid, the stewards who serve it (楼长, 党员中心户,
the estate's 物业管家, the grid's 网格长: :func:`serving_stewards`, the rule the grid page uses too) and its
households by unit and room.

Records come out as stored plus ``grid_code`` (the published plan's grid of the building) so that
:mod:`gridmap.domain.privacy` can decide, for each viewer, what of them is shown: the caller masks them
(``gridmap.web.access.serve_personal``: :func:`gridmap.domain.privacy.redact_records`, the rule every API
applies, with the read in the audit log).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gridmap.domain.schema import LAYERS, STEWARD_ROLES
from gridmap.errors import NotFoundError
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store


def _records(frame: pd.DataFrame, **extra: Any) -> list[dict[str, Any]]:
    frame = frame.drop(columns=[c for c in ("geometry",) if c in frame])
    out = []
    for r in frame.to_dict("records"):
        out.append({k: (None if v is None or (isinstance(v, float) and v != v) else v) for k, v in r.items()} | extra)
    return out


#: roles that serve where they live when their ``serves`` names nothing
HOME_ROLES = ("building_leader", "party_central_household", "volunteer")


def serving_stewards(
    store: Store, building_ids: list[str], *, estates: list[str], grids: list[str], columns: list[str]
) -> pd.DataFrame:
    """The stewards who serve these buildings — the one rule behind a building's card and a grid's page: whoever's
    ``serves`` names one of the buildings, their estate (物业管家) or their grid (网格长), and the
    :data:`HOME_ROLES` living in one of them whose ``serves`` names nothing. A grid leader who lives in a grid
    but serves another is the other grid's, not this one's."""
    cols = list(dict.fromkeys([*columns, "id", "serves"]))
    named_keys = [*building_ids, *estates, *grids]
    parts = [
        store.read("stewards", where={"serves": named_keys[i : i + 500]}, columns=cols)
        for i in range(0, len(named_keys), 500)
    ]
    for i in range(0, len(building_ids), 500):
        home = store.read(
            "stewards", where={"building_id": building_ids[i : i + 500], "role": list(HOME_ROLES)}, columns=cols
        )
        parts.append(home[home["serves"].isna() | (home["serves"].astype(str).str.strip() == "")])
    if not parts:
        return store.read("stewards", columns=columns, limit=0)
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return out.drop_duplicates("id").reset_index(drop=True)[columns]


def building_card(store: Store, bid: str) -> dict[str, Any]:
    """Everything the building card shows for building ``bid`` (:class:`NotFoundError` when unknown):
    ``building`` (id, name, floors, units, households), ``estate``, ``community``, ``grid_code``,
    ``stewards`` (role order of :data:`~gridmap.domain.schema.STEWARD_ROLES`) and ``households``
    (by unit, then room) — personal fields still in clear: mask them for the viewer before showing."""
    row = store.get("buildings", str(bid))
    if row is None:
        raise NotFoundError(f"楼栋 {bid} 不存在 / building {bid} does not exist")
    plan = published_plan_id(store)
    grid = None
    if plan:
        a = store.read("plan_assignments", where={"plan_id": plan, "building_id": str(bid)})
        grid = str(a.iloc[0]["grid_code"]) if len(a) else None
    estate = store.get("estates", row["estate_id"]) if row.get("estate_id") else None
    community = store.get("communities", row["community_id"]) if row.get("community_id") else None
    cols = [c for c in LAYERS["stewards"].column_names if c != "geometry"]
    stewards = serving_stewards(
        store,
        [str(bid)],
        estates=[str(row["estate_id"])] if row.get("estate_id") else [],
        grids=[grid] if grid else [],
        columns=cols,
    )
    rank = {r: i for i, r in enumerate(STEWARD_ROLES)}
    stewards = stewards.assign(_r=stewards["role"].map(rank).fillna(99)).sort_values(["_r", "id"]).drop(columns="_r")
    hh_cols = [c for c in LAYERS["households"].column_names if c != "geometry"]
    hh = store.read("households", where={"building_id": str(bid)}, columns=hh_cols)
    if len(hh):
        hh = hh.assign(_u=hh["unit"].fillna(0), _room=hh["room"].fillna("").astype(str).str.zfill(12))
        hh = hh.sort_values(["_u", "_room"]).drop(columns=["_u", "_room"])
    b = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items() if k != "geometry"}
    return {
        "building": b,
        "estate": {"id": estate["id"], "name": estate["name"]} if estate else None,
        "community": {"id": community["id"], "name": community["name"]} if community else None,
        "grid_code": grid,
        "stewards": _records(stewards, grid_code=grid),
        "households": _records(hh, grid_code=grid),
        "bbox": [round(float(v), 6) for v in row["geometry"].bounds] if row.get("geometry") is not None else None,
    }
