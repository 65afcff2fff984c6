"""The synthetic Chengyang world: tiling, containment, realistic counts, the named estates, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.domain.schema import LAYERS
from gridmap.synth.world import LEIXIN, VANKE, SynthError, generate, resolve_scale


@pytest.fixture(scope="module")
def world():
    return generate(seed=0)


def test_every_layer_fits_the_schema(world):
    for name, frame in world.items():
        layer = LAYERS[name]
        missing = [c for c in layer.column_names if c not in frame.columns]
        assert not missing, (name, missing)
        for col in layer.columns:
            if col.required:
                assert frame[col.name].notna().all(), (name, col.name)
        assert frame["id"].is_unique, name
        if layer.geometry:
            assert frame.crs.to_epsg() == 4326, name


def test_references_resolve(world):
    for name, frame in world.items():
        for col in LAYERS[name].columns:
            if col.ref and col.ref in world:
                values = frame[col.name].dropna()
                unknown = set(values) - set(world[col.ref]["id"])
                assert not unknown, (name, col.name, sorted(unknown)[:3])


def test_street_and_community_codes(world):
    streets = world["streets"]
    assert list(streets["id"]) == [f"370214{i:03d}" for i in range(1, 9)]
    assert streets["name"].iat[0] == "城阳街道" and streets["name"].iat[1] == "夏庄街道"
    com = world["communities"]
    assert com["id"].str.fullmatch(r"\d{12}").all()
    assert (com["id"].str[:9] == com["street_id"]).all()
    assert 35 <= len(com) <= 45


def test_communities_tile_their_street(world):
    com, streets = world["communities"], world["streets"].set_index("id")
    for sid, group in com.groupby("street_id"):
        street = streets.geometry[sid]
        union = shapely.union_all(group.geometry.to_numpy())
        assert shapely.symmetric_difference(union, street).area < 1e-12 * street.area + 1e-14
        overlap = sum(group.to_crs(4549).area) - group.to_crs(4549).union_all().area
        assert abs(overlap) < 1.0  # m² of rounding on km² communities


def test_buildings_and_estates_strictly_inside(world):
    com = world["communities"].set_index("id").geometry
    est, bld = world["estates"], world["buildings"]
    assert shapely.contains_properly(com.reindex(bld["community_id"]).to_numpy(), bld.geometry.to_numpy()).all()
    assert shapely.contains_properly(com.reindex(est["community_id"]).to_numpy(), est.geometry.to_numpy()).all()
    in_est = bld[bld["estate_id"].notna()]
    eg = est.set_index("id").geometry
    assert shapely.contains_properly(eg.reindex(in_est["estate_id"]).to_numpy(), in_est.geometry.to_numpy()).all()
    left, right = est.sindex.query(est.geometry, predicate="intersects")
    assert (left == right).all(), "estates overlap"
    left, right = bld.sindex.query(bld.geometry, predicate="intersects")
    assert (left == right).all(), "buildings overlap"
    assert bld["estate_id"].isna().sum() > 100  # loose buildings outside estates


def test_household_counts_by_kind_and_rooms(world):
    b = world["buildings"]
    assert ((b["households"] == b["units"] * b["floors"] * 2) | (b["units"] == 1)).all()
    est = b[b["estate_id"].notna()]
    assert est["households"].between(6, 260).all()
    hi = est[est["floors"] >= 12]
    assert hi["households"].between(130, 260).all() and len(hi) > 50
    mid = est[est["floors"].between(5, 11)]
    assert mid["households"].between(24, 72).all() and len(mid) > 50
    low = est[est["floors"] <= 3]
    assert low["households"].between(6, 18).all() and len(low) > 20
    assert 2000 <= len(b) <= 4500
    # names are numbers inside their estate, 1..n
    for _, g in est.groupby("estate_id"):
        assert sorted(g["name"].astype(int)) == list(range(1, len(g) + 1))
    h = world["households"]
    rooms = h["room"].str.split("-", expand=True).astype(int)
    merged = h.assign(u=rooms[1], r=rooms[2]).merge(
        b[["id", "name", "units", "floors"]], left_on="building_id", right_on="id"
    )
    assert (merged["room"].str.split("-").str[0] == merged["name"]).all()
    assert (merged["u"] <= merged["units"]).all() and (merged["r"] // 100 <= merged["floors"]).all()
    assert (merged["r"] // 100 == merged["floor"]).all()
    assert (
        h.groupby("building_id")
        .size()
        .sort_index()
        .equals(b.set_index("id")["households"].loc[h["building_id"].unique()].sort_index().rename(None))
    )


def test_vanke_charm_city_follows_the_programme(world):
    est, b = world["estates"], world["buildings"]
    vanke = est[est["name"] == VANKE]
    assert len(vanke) == 1
    eid, cid = vanke["id"].iat[0], vanke["community_id"].iat[0]
    assert cid.startswith("370214001")  # 城阳街道
    vb = b[b["estate_id"] == eid]
    assert vb["households"].sum() == 2912
    h = world["households"][world["households"]["building_id"].isin(vb["id"])]
    assert len(h) == 2912 and 7000 <= h["residents"].sum() <= 7400
    assert vb["residents"].sum() == h["residents"].sum()
    assert 0.65 <= h["tags"].fillna("").str.contains("new_citizen").mean() <= 0.8
    st = world["stewards"]
    vs = st[st["building_id"].isin(vb["id"])]
    assert set(vs["role"]) == {
        "grid_leader",
        "building_leader",
        "party_central_household",
        "property_steward",
        "volunteer",
    }
    pm = world["party_members"]
    vpm = pm[pm["steward_id"].isin(vs["id"])]
    assert len(vpm) == 522
    teams = world["volunteer_teams"][world["volunteer_teams"]["estate_id"] == eid]
    assert len(teams) == 22 and teams["party_members"].sum() == 156
    assert vpm["volunteer_team_id"].isin(teams["id"]).sum() == 156
    assert (
        pm["volunteer_team_id"].value_counts().reindex(teams["id"]).to_numpy() == teams["party_members"].to_numpy()
    ).all()
    m = world["merchants"]
    assert int(m[(m["community_id"] == cid) & m["alliance"].astype(bool)].shape[0]) == 74
    company = world["property_companies"].set_index("id").loc[vanke["property_company_id"].iat[0]]
    assert bool(company["has_party_org"])


def test_leixin_in_xiazhuang_with_red_property(world):
    est = world["estates"]
    lx = est[est["name"] == LEIXIN]
    assert len(lx) == 1 and lx["community_id"].iat[0].startswith("370214002")
    companies = world["property_companies"].set_index("id")
    assert bool(companies.loc[lx["property_company_id"].iat[0], "has_party_org"])
    red = companies["has_party_org"].astype(bool)
    assert 0.4 < red.mean() < 0.95  # overall a mix


def test_stewards(world):
    st = world["stewards"]
    leaders = st[st["role"] == "grid_leader"]
    assert leaders["serves"].isna().all()
    bl = st[st["role"] == "building_leader"]
    assert (bl["serves"] == bl["building_id"]).all()
    assert set(st["role"]) == {
        "grid_leader",
        "building_leader",
        "party_central_household",
        "property_steward",
        "volunteer",
    }
    assert st["phone"].str.fullmatch(r"17[01]\d{8}").all()
    pm = world["party_members"]
    assert set(st.loc[st["party_member"].astype(bool), "id"]) <= set(pm["steward_id"].dropna())


def test_deterministic_for_a_seed():
    a, b, c = generate(seed=3), generate(seed=3), generate(seed=4)
    for name in a:
        pd.testing.assert_frame_equal(
            pd.DataFrame(a[name]).drop(columns="geometry", errors="ignore"),
            pd.DataFrame(b[name]).drop(columns="geometry", errors="ignore"),
        )
        if "geometry" in a[name]:
            assert a[name].geometry.to_wkb().equals(b[name].geometry.to_wkb())
    assert not a["buildings"]["households"].equals(c["buildings"]["households"])


def test_custom_scale_and_household_points():
    w = generate(
        seed=1,
        scale={
            "communities": 16,
            "estates": 10,
            "village_houses": 200,
            "loose_buildings": 12,
            "household_estates": 0,
            "household_points": 5000,
        },
    )
    assert len(w["communities"]) == 16
    pts = w["households"][w["households"]["id"].str.startswith("P")]
    assert len(pts) == 5000
    b = w["buildings"].set_index("id")
    inside = shapely.contains_properly(b.geometry.reindex(pts["building_id"]).to_numpy(), pts.geometry.to_numpy())
    assert inside.all()
    with pytest.raises(SynthError):
        resolve_scale("huge")


@pytest.mark.slow
def test_district_scale():
    w = generate(seed=0, scale="district")
    b = w["buildings"]
    assert 90_000 <= len(b) <= 110_000
    assert 350_000 <= b["households"].sum() <= 480_000
    assert len(w["households"]) == 2912 + 1392  # only the named estates get one row per flat
    assert np.isin(b["community_id"], w["communities"]["id"]).all()


def test_extra_generators_hook(monkeypatch):
    import gridmap.synth.world as synth

    seen = {}

    def fake(world, *, rng, scale):
        seen["buildings"] = len(world["buildings"])
        return {"complaints": world["buildings"][["id"]].head(3).rename(columns={"id": "building_id"})}

    monkeypatch.setattr(synth, "_optional", lambda target: fake)
    w = synth.generate(
        seed=0,
        scale={"communities": 16, "estates": 4, "village_houses": 50, "loose_buildings": 6, "household_estates": 0},
    )
    assert seen["buildings"] == len(w["buildings"]) and len(w["complaints"]) == 3


def test_custom_streets_and_sparse_worlds():
    import geopandas as gpd

    from gridmap.io.geodata import taipei_file

    v = gpd.read_file(taipei_file("villages"))
    streets = v.dissolve(by="district").reset_index()[["district", "geometry"]].rename(columns={"district": "name"})
    w = generate(
        seed=0,
        streets=streets,
        scale={"communities": 10, "estates": 3, "village_houses": 0, "loose_buildings": 0, "household_estates": 0},
    )
    assert list(w["streets"]["id"]) == ["370214001", "370214002", "370214003"]
    assert len(w["communities"]) == 10 and not (w["estates"]["name"] == VANKE).any()
    com = w["communities"].set_index("id").geometry
    b = w["buildings"]
    assert shapely.contains_properly(com.reindex(b["community_id"]).to_numpy(), b.geometry.to_numpy()).all()
    assert (w["stewards"]["role"] == "grid_leader").any()
