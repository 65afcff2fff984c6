"""People and organisations of the synthetic world (see :mod:`gridmap.synth.world`).

Property companies, households (one row per flat for chosen estates, plus optional anonymous points),
red stewards of every role, party members reporting in, volunteer teams, merchants and facilities.
The two named estates follow the programme's published figures (Vanke Charm City: 2,912 households,
about 7,200 residents, 522 party members reported in, 22 volunteer teams of 156 party members,
74 alliance merchants). Grid leaders' ``serves`` stays empty: it is filled when grids are generated.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.domain.codes import street_of
from gridmap.synth import names
from gridmap.synth.layout import LEIXIN, VANKE, Layout
from gridmap.synth.scale import Scale

VANKE_RESIDENTS = 7216
#: Vanke's 522 party members as red stewards, by role (8 + 21 + 90 + 12 + 391 = 522)
VANKE_STEWARDS = {
    "grid_leader": 8,
    "building_leader": 21,
    "party_central_household": 90,
    "property_steward": 12,
    "volunteer": 391,
}
VANKE_TEAMS, VANKE_TEAM_PARTY, VANKE_MERCHANTS, LEIXIN_MERCHANTS = 22, 156, 74, 30
HOUSEHOLDS_PER_GRID_LEADER = 400
TAGS = (
    ("elderly_alone", 0.04),
    ("disabled", 0.02),
    ("low_income", 0.02),
    ("serious_illness", 0.01),
    ("children_in_difficulty", 0.005),
)
SERVICES = ("助老服务", "环境整治", "文明劝导", "法律咨询", "义诊", "四点半课堂", "邻里调解", "平安巡逻")
MERCHANT_KINDS = ("餐饮", "超市", "理发", "药店", "洗衣", "家电维修", "教育培训", "水果生鲜", "快递驿站")
NAMED_COMPANIES = (("PC001", "万科物业服务有限公司青岛分公司", True), ("PC002", "青岛磊鑫物业管理有限公司", True))


def people(world: dict[str, pd.DataFrame], lay: Layout, sc: Scale, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Every people/organisation layer for the laid-out world."""
    b = lay.buildings
    out: dict[str, pd.DataFrame] = {}
    out["property_companies"], out["estates"] = _companies(world["estates"], rng)
    out["households"], residents = _households(lay, sc, rng)
    bld = world["buildings"].copy()
    bld.loc[residents.index, "residents"] = residents.to_numpy()
    out["buildings"] = bld
    out["stewards"] = _stewards(world, lay, out["estates"], rng)
    out["party_members"], out["volunteer_teams"] = _party(world, lay, out["stewards"], rng)
    out["merchants"] = _merchants(world, lay, rng)
    out["facilities"] = _facilities(world, lay, rng)
    assert len(b) == len(bld)
    return out


def _estate_index(lay: Layout, name: str) -> int | None:
    hit = np.flatnonzero(lay.estates["name"].to_numpy() == name)
    return int(hit[0]) if len(hit) else None


def _companies(estates: gpd.GeoDataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    n = max(6, len(estates) // 6)
    generic = names.place_names(rng, n, suffix="物业服务有限公司")
    ids = [f"PC{i:03d}" for i in range(len(NAMED_COMPANIES) + 1, len(NAMED_COMPANIES) + n + 1)]
    red = rng.random(n) < 0.7
    companies = pd.DataFrame(
        {
            "id": [c[0] for c in NAMED_COMPANIES] + ids,
            "name": [c[1] for c in NAMED_COMPANIES] + generic,
            "has_party_org": [c[2] for c in NAMED_COMPANIES] + red.tolist(),
        }
    )
    pick = np.asarray(ids, dtype=object)[rng.integers(n, size=len(estates))]
    pick[rng.random(len(estates)) < 0.12] = None
    est = estates.copy()
    est["property_company_id"] = pick
    est.loc[est["name"] == VANKE, "property_company_id"] = "PC001"
    est.loc[est["name"] == LEIXIN, "property_company_id"] = "PC002"
    return companies, est


def _household_buildings(lay: Layout, sc: Scale, rng: np.random.Generator) -> np.ndarray:
    e = lay.estates
    named = e.index[e["name"].isin([VANKE, LEIXIN])].to_numpy()
    others = rng.permutation(np.array(e.index[~e["name"].isin([VANKE, LEIXIN])]))[: sc.household_estates]
    chosen = set(e["id"].to_numpy()[np.r_[named, others].astype(int)])
    return np.flatnonzero(lay.buildings["estate_id"].isin(chosen).to_numpy())


def _households(lay: Layout, sc: Scale, rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """One row per flat of the chosen buildings (+ anonymous points), and those buildings' residents."""
    b = lay.buildings
    sel = _household_buildings(lay, sc, rng)
    hh = b["households"].to_numpy()[sel]
    rep = np.repeat(sel, hh)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(hh) - hh, hh)
    per_unit = (b["floors"].to_numpy() * b["flats"].to_numpy())[rep]
    unit = j // per_unit + 1
    rem = j % per_unit
    floor = rem // b["flats"].to_numpy()[rep] + 1
    room = floor * 100 + rem % b["flats"].to_numpy()[rep] + 1
    code = b["name"].to_numpy()[rep].astype(str) + "-" + unit.astype(str) + "-" + room.astype(str)
    vanke = b["estate_id"].to_numpy()[rep] == _estate_id(lay, VANKE)
    residents = 1 + rng.poisson(1.5, len(rep)).clip(0, 5)
    if vanke.any():
        residents[vanke] = 1 + rng.multinomial(VANKE_RESIDENTS - vanke.sum(), np.full(vanke.sum(), 1 / vanke.sum()))
    tags = _tags(rng, len(rep), np.where(vanke, 0.72, 0.3))
    frame = gpd.GeoDataFrame(
        {
            "id": b["id"].to_numpy()[rep] + "-" + unit.astype(str) + "-" + room.astype(str),
            "building_id": b["id"].to_numpy()[rep],
            "community_id": b["community_id"].to_numpy()[rep],
            "room": code,
            "unit": unit,
            "floor": floor,
            "head_name": names.person_names(rng, len(rep)),
            "phone": names.phones(rng, len(rep)),
            "residents": residents,
            "tags": tags,
            "placement": "exact",
            "placement_distance_m": np.nan,
        },
        geometry=lay.points_in_buildings(rep, rng),
        crs=4326,
    )
    by_building = pd.Series(residents).groupby(rep).sum()
    if sc.household_points:
        frame = pd.concat([frame, _household_points(lay, sc.household_points, rng)], ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=4326), by_building


def _estate_id(lay: Layout, name: str) -> str | None:
    i = _estate_index(lay, name)
    return None if i is None else str(lay.estates["id"].iat[i])


def _tags(rng: np.random.Generator, n: int, p_new: np.ndarray) -> np.ndarray:
    cols = [np.where(rng.random(n) < p_new, "new_citizen", "")]
    cols += [np.where(rng.random(n) < p, tag, "") for tag, p in TAGS]
    joined = [",".join(t for t in row if t) for row in zip(*cols)]
    return np.array([t or None for t in joined], dtype=object)


def _household_points(lay: Layout, n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    b = lay.buildings
    w = b["households"].to_numpy(float)
    idx = np.sort(rng.choice(len(b), size=n, p=w / w.sum()))
    return gpd.GeoDataFrame(
        {
            "id": np.char.add("P", np.char.zfill(np.arange(n).astype(str), 7)).astype(object),
            "building_id": b["id"].to_numpy()[idx],
            "community_id": b["community_id"].to_numpy()[idx],
            "residents": 1 + rng.poisson(1.5, n).clip(0, 5),
            "placement": "contained",
        },
        geometry=lay.points_in_buildings(idx, rng),
        crs=4326,
    )


def _stewards(world: dict, lay: Layout, estates: pd.DataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    b = lay.buildings
    vanke = _estate_id(lay, VANKE)
    in_vanke = (b["estate_id"] == vanke).to_numpy()
    rows: list[tuple[str, int, object, float]] = []  # role, building position, serves, p(party member)
    hh_c = b.groupby("community_id")["households"].sum()
    vanke_comm = b.loc[in_vanke, "community_id"].iat[0] if in_vanke.any() else None
    by_comm = {c: np.flatnonzero(b["community_id"].to_numpy() == c) for c in hh_c.index}
    for c, hh in hh_c.items():
        own = hh - (b.loc[in_vanke, "households"].sum() if c == vanke_comm else 0)
        pool = by_comm[c][~in_vanke[by_comm[c]]] if c == vanke_comm else by_comm[c]
        g = int(np.ceil(own / HOUSEHOLDS_PER_GRID_LEADER)) if own > 0 else 0
        rows += [("grid_leader", int(i), None, 0.85) for i in rng.choice(pool, size=g)] if len(pool) else []
        rows += [("volunteer", int(i), None, 0.5) for i in rng.choice(pool, size=3)] if len(pool) else []
    est_b = np.flatnonzero(b["estate_id"].notna().to_numpy() & ~in_vanke)
    rows += [("building_leader", int(i), b["id"].iat[i], 0.6) for i in est_b]
    n_pch = np.maximum(1, b["households"].to_numpy()[est_b] // 60)
    rows += [("party_central_household", int(i), b["id"].iat[i], 1.0) for i in np.repeat(est_b, n_pch)]
    estate_of = b["estate_id"].to_numpy()
    for e in estates.itertuples():
        members = np.flatnonzero(estate_of == e.id)
        if e.id == vanke or e.property_company_id is None or not len(members):
            continue
        k = 1 + int(b["households"].to_numpy()[members].sum() // 600)
        rows += [("property_steward", int(i), e.id, 0.3) for i in rng.choice(members, size=k)]
    vb = np.flatnonzero(in_vanke)
    vanke_serves = {"grid_leader": None, "property_steward": vanke, "volunteer": vanke}
    for vrole, k in VANKE_STEWARDS.items() if len(vb) else ():
        picks = vb[:k] if vrole == "building_leader" else rng.choice(vb, size=k)
        rows += [(vrole, int(i), vanke_serves.get(vrole, b["id"].iat[i]), 1.0) for i in picks]
    role, at, serves, p = (np.array(x, dtype=object) for x in zip(*rows))
    pos = at.astype(int)
    n = len(pos)
    return gpd.GeoDataFrame(
        {
            "id": [f"S{i:06d}" for i in range(1, n + 1)],
            "name": names.person_names(rng, n),
            "phone": names.phones(rng, n),
            "role": role,
            "building_id": b["id"].to_numpy()[pos],
            "community_id": b["community_id"].to_numpy()[pos],
            "serves": serves,
            "party_member": rng.random(n) < p.astype(float),
            "placement": "exact",
            "placement_distance_m": np.nan,
        },
        geometry=lay.points_in_buildings(pos, rng),
        crs=4326,
    )


def _dates(rng: np.random.Generator, n: int) -> list[dt.date]:
    start = dt.date(2019, 3, 1).toordinal()
    return [dt.date.fromordinal(int(d)) for d in rng.integers(start, dt.date(2026, 6, 30).toordinal(), n)]


def _party(
    world: dict, lay: Layout, stewards: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Party members (every party-member steward, plus others reporting in) and volunteer teams."""
    b = lay.buildings
    s = stewards[stewards["party_member"].astype(bool)]
    hh_c = b.groupby("community_id")["households"].sum()
    linked = s.groupby("community_id").size().reindex(hh_c.index, fill_value=0)
    extra = np.maximum(0, np.round(hh_c * 0.03).astype(int) - linked)
    ex_comm = np.repeat(hh_c.index.to_numpy(), extra.to_numpy())
    n = len(s) + len(ex_comm)
    pm = pd.DataFrame(
        {
            "id": [f"PM{i:06d}" for i in range(1, n + 1)],
            "name": np.r_[s["name"].to_numpy(), names.person_names(rng, len(ex_comm))],
            "community_id": np.r_[s["community_id"].to_numpy(), ex_comm],
            "reported_on": _dates(rng, n),
            "steward_id": np.r_[s["id"].to_numpy(), np.full(len(ex_comm), None)],
            "volunteer_team_id": None,
        }
    )
    vanke = _estate_id(lay, VANKE)
    vanke_b = set(b.loc[b["estate_id"] == vanke, "id"])
    is_vanke = pm["steward_id"].map(dict(zip(s["id"], s["building_id"]))).isin(vanke_b).to_numpy()
    teams = []
    estates = lay.estates
    for c, members in pm[~is_vanke].groupby("community_id").groups.items():
        k = int(rng.integers(1, 4))
        est = estates.index[estates["community_id"] == c].to_numpy()
        for _ in range(k):
            take = (
                rng.choice(np.asarray(members), size=min(len(members) // k, int(rng.integers(3, 11))), replace=False)
                if len(members) >= k
                else np.array([], int)
            )
            e = int(rng.choice(est)) if len(est) else None
            teams.append((c, e, take, SERVICES[int(rng.integers(len(SERVICES)))]))
    if vanke is not None:
        counts = 5 + rng.multinomial(VANKE_TEAM_PARTY - 5 * VANKE_TEAMS, np.full(VANKE_TEAMS, 1 / VANKE_TEAMS))
        pool = rng.permutation(np.flatnonzero(is_vanke))[:VANKE_TEAM_PARTY]
        e = _estate_index(lay, VANKE)
        for k, chunk in enumerate(np.split(pool, np.cumsum(counts)[:-1])):
            teams.append((estates["community_id"].iat[e], e, pm.index[chunk].to_numpy(), SERVICES[k % len(SERVICES)]))
    rows = []
    for i, (c, e, take, service) in enumerate(teams, start=1):
        tid = f"VT{i:04d}"
        pm.loc[take, "volunteer_team_id"] = tid
        ename = estates["name"].iat[e] if e is not None else ""
        rows.append(
            (
                tid,
                f"{ename}{service}志愿服务队{i}",
                c,
                estates["id"].iat[e] if e is not None else None,
                len(take) + int(rng.integers(0, 12)),
                len(take),
                service,
                e,
            )
        )
    vt = pd.DataFrame(
        rows, columns=["id", "name", "community_id", "estate_id", "members", "party_members", "service", "_e"]
    )
    has_e = vt["_e"].notna().to_numpy()
    geom = np.full(len(vt), None, dtype=object)
    if has_e.any():
        geom[has_e] = lay.points_on_estate_edges(vt.loc[has_e, "_e"].astype(int).to_numpy(), rng, inset=6)
    return pm, gpd.GeoDataFrame(vt.drop(columns="_e"), geometry=geom, crs=4326)


def _merchants(world: dict, lay: Layout, rng: np.random.Generator) -> gpd.GeoDataFrame:
    e = lay.estates
    parts = []
    for name, k in ((VANKE, VANKE_MERCHANTS), (LEIXIN, LEIXIN_MERCHANTS)):
        i = _estate_index(lay, name)
        if i is not None:
            parts.append((np.full(k, i), True))
    generic = np.flatnonzero(~e["name"].isin([VANKE, LEIXIN]).to_numpy())
    if len(generic):
        parts.append((rng.choice(generic, size=3 * len(generic)), False))
    idx = np.concatenate([p[0] for p in parts]).astype(int)
    alliance = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    n = len(idx)
    cat = np.asarray(MERCHANT_KINDS, dtype=object)[rng.integers(len(MERCHANT_KINDS), size=n)]
    shop = names.person_names(rng, n).astype(str)
    street = dict(zip(world["streets"]["id"], world["streets"]["name"]))
    comm = e["community_id"].to_numpy()[idx]
    return gpd.GeoDataFrame(
        {
            "id": [f"M{i:06d}" for i in range(1, n + 1)],
            "name": [f"{s[:1]}记{c}" for s, c in zip(shop, cat)],
            "category": cat,
            "alliance": alliance,
            "address": [
                f"青岛市城阳区{street.get(street_of(c), '')}{en}沿街商铺{k + 1}号"
                for k, (c, en) in enumerate(zip(comm, e["name"].to_numpy()[idx]))
            ],
            "building_id": None,
            "community_id": comm,
            "placement": "area",
            "placement_distance_m": np.nan,
        },
        geometry=lay.points_on_estate_edges(idx, rng),
        crs=4326,
    )


def _facilities(world: dict, lay: Layout, rng: np.random.Generator) -> gpd.GeoDataFrame:
    b = lay.buildings
    rows = []
    cname = dict(zip(world["communities"]["id"], world["communities"]["name"]))
    for c, members in b.groupby("community_id").indices.items():
        for kind, label in (("party_service_center", "党群服务中心"), ("clinic", "社区卫生服务站")):
            rows.append((f"{cname.get(c, c)}{label}", kind, int(rng.choice(members))))
    vanke = np.flatnonzero((b["estate_id"] == _estate_id(lay, VANKE)).to_numpy())
    if len(vanke):
        rows.append((f"{VANKE}小区党群服务中心", "estate_party_service_center", int(vanke[0])))
    name, kinds, at = (np.array(x, dtype=object) for x in zip(*rows))
    pos = at.astype(int)
    return gpd.GeoDataFrame(
        {
            "id": [f"F{i:05d}" for i in range(1, len(pos) + 1)],
            "name": name,
            "kind": kinds,
            "address": None,
            "building_id": b["id"].to_numpy()[pos],
            "community_id": b["community_id"].to_numpy()[pos],
            "placement": "exact",
            "placement_distance_m": np.nan,
        },
        geometry=lay.points_in_buildings(pos, rng),
        crs=4326,
    )
