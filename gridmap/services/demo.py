"""Load the Chengyang demo into a store: real street boundaries, synthetic world, then grids.

``load_demo(store, seed=0)`` writes every layer of :func:`gridmap.synth.world.generate` in one transaction
(bad data leaves the store as it was); then a grid plan is generated and published
(``gridmap.services.grids.generate``) and grid leaders get the grid they serve.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap import jobs
from gridmap.domain.codes import community_of, street_of
from gridmap.domain.complaints import STATES
from gridmap.domain.schema import LAYERS
from gridmap.jobs import Progress
from gridmap.services import accounts, tilecache
from gridmap.services import grids as grids_service
from gridmap.services.complaints import policy_from
from gridmap.store.base import Store
from gridmap.store.plans import published_plan_id
from gridmap.synth.complaints import load as load_complaints
from gridmap.synth.world import generate

#: parents before children, so references resolve while writing
WRITE_ORDER = (
    "districts",
    "streets",
    "communities",
    "property_companies",
    "estates",
    "buildings",
    "households",
    "stewards",
    "volunteer_teams",
    "party_members",
    "merchants",
    "facilities",
    "complaints",
    "complaint_events",
)
#: layers a fresh demo empties first (accounts, tokens and the audit log are kept)
DEMO_LAYERS = tuple(n for n in LAYERS if n not in ("users", "api_tokens", "embed_tokens", "audit_log"))


def load_demo(
    store: Store,
    *,
    seed: int = 0,
    fresh: bool = True,
    scale: Any = "demo",
    grids: bool = True,
    complaints: bool = True,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the seeded demo world into ``store`` and return rows written per layer.

    Parameters
    ----------
    fresh
        Empty the demo layers first (users, tokens and the audit log are kept).
    scale
        Passed to :func:`gridmap.synth.world.generate` (``"demo"`` by default).
    grids
        Generate and publish a grid plan and fill grid leaders' ``serves``.
    complaints
        Add two years and this year of residents' requests with their histories
        (:func:`gridmap.synth.complaints.load`), after the grids so requests carry their grid.
    progress
        Called ``progress(done, 4)`` after the world, its layers, the grids and the requests.
    """
    world = generate(seed=seed, scale=scale)
    jobs.report(progress, 1, 4)
    with store.transaction():
        if fresh:
            for name in reversed(DEMO_LAYERS):
                store.delete(name)
        for name in WRITE_ORDER:
            if name in world:
                store.write(name, world[name])
        tilecache.clear(store)  # a whole world: every cached tile may be stale
    jobs.report(progress, 2, 4)
    summary = {name: len(world[name]) for name in WRITE_ORDER if name in world}
    if grids:
        summary.update(make_grids(store))
    jobs.report(progress, 3, 4)
    if complaints:
        summary.update(load_complaints(store, seed=seed, policy=policy_from({})))
    jobs.report(progress, 4, 4)
    return summary


def make_grids(store: Store) -> dict[str, int]:
    """Generate and publish grids with the grids service, then let each grid leader serve one grid.

    Returns ``{"plan_grids": n, "grid_leaders": m}``.
    """
    grids_service.generate(store, publish=True, created_by="demo")
    return assign_grid_leaders(store)


def assign_grid_leaders(store: Store) -> dict[str, int]:
    """Give every grid of the published plan one grid leader of its community (``serves`` = grid code).

    Existing grid leaders of a community are used in id order; missing ones are created as new stewards
    living in a building of that grid. Leaders without a grid keep an empty ``serves``.
    """
    plan_id = published_plan_id(store)
    if plan_id is None:
        return {}
    grids = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "community_id"], order_by=["code"])
    leaders = store.read("stewards", where={"role": "grid_leader"}, order_by=["id"])
    assign = store.read(
        "plan_assignments", where={"plan_id": plan_id}, columns=["building_id", "grid_code"], order_by=["building_id"]
    )
    home = assign.groupby("grid_code")["building_id"].first()
    updates, created = [], []
    pool = {c: list(g["id"]) for c, g in leaders.groupby("community_id")}
    n = store.count("stewards")
    for code, community in zip(grids["code"], grids["community_id"]):
        free = pool.get(community, [])
        if free:
            updates.append({"id": free.pop(0), "serves": code})
            continue
        n += 1
        created.append(
            {
                "id": f"SG{n:06d}",
                "name": f"网格长{code[-3:]}",
                "role": "grid_leader",
                "community_id": community,
                "building_id": home.get(code),
                "serves": code,
                "party_member": True,
            }
        )
    unassigned = [{"id": sid, "serves": None} for ids in pool.values() for sid in ids]
    with store.transaction():
        if updates or unassigned:
            _update(store, leaders, updates + unassigned)
        if created:
            store.write("stewards", pd.DataFrame(created))
    return {"plan_grids": len(grids), "grid_leaders": len(updates) + len(created)}


def _update(store: Store, leaders: pd.DataFrame, changes: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(leaders).set_index("id")
    ch = pd.DataFrame(changes).set_index("id")
    frame.loc[ch.index, "serves"] = ch["serves"].astype(object).where(ch["serves"].notna(), None)
    frame = frame.reset_index()
    if "geometry" in frame:
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
    frame = frame.replace({np.nan: None})
    store.write("stewards", frame)


#: the demo's sign-in accounts: username → (role, how its scope is chosen, display name)
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "管理员"),
    ("planner", "planner", "网格规划员"),
    ("street", "street_official", "城阳街道干部"),
    ("community", "community_official", "社区干部"),
    ("gridleader", "grid_leader", "网格长"),
    ("chengguan", "department", "城管工作人员"),
    ("viewer", "viewer", "观察员"),
)


def demo_accounts(store: Store, *, password: str) -> list[dict[str, Any]]:
    """Create (or reset the password of) one sign-in account per role, scoped to the demo's busiest grid.

    The grid leader gets the grid of the published plan with the most open requests (then the most requests),
    the community and street officials its community and street, the department account urban management
    (城管). Returns the accounts as ``{"username", "role", "scope"}``.
    """
    scope_of = _demo_scopes(store)
    out = []
    for username, role, display in DEMO_ACCOUNTS:
        scope = scope_of.get(role, {})
        if accounts.find_user(store, username) is None:
            accounts.add_user(
                store, username=username, role=role, password=password, scope=scope, display_name=display, actor="demo"
            )
        else:
            accounts.set_password(store, username, password, actor="demo")
            accounts.set_active(store, username, True, actor="demo")
        out.append({"username": username, "role": role, "scope": scope})
    return out


def _demo_scopes(store: Store) -> dict[str, dict[str, list[str]]]:
    scopes: dict[str, dict[str, list[str]]] = {"department": {"departments": ["urban_management"]}}
    plan_id = published_plan_id(store)
    if plan_id is None:
        return scopes
    codes = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code"])["code"].astype(str)
    if codes.empty:
        return scopes
    # the grid with the most open requests (every state of the demo's showcase), then the most requests
    rows = store.read("complaints", columns=["filed_grid_code", "state"]).dropna(subset=["filed_grid_code"])
    rows = rows[rows["filed_grid_code"].astype(str).isin(set(codes))]
    open_ = {k for k, st in STATES.items() if st.type == "open"}
    ranked = (
        rows.assign(open=rows["state"].isin(open_))
        .groupby(rows["filed_grid_code"].astype(str))["open"]
        .agg(["sum", "size"])
        .sort_values(["sum", "size"], ascending=False)
    )
    code = str(ranked.index[0]) if len(ranked) else str(codes.min())
    scopes["grid_leader"] = {"grids": [code]}
    community, street = community_of(code), street_of(code)
    if community is None or street is None:  # not a grid code: no area to scope the area officials to
        return scopes
    scopes["community_official"] = {"communities": [community]}
    scopes["street_official"] = {"streets": [street]}
    return scopes
