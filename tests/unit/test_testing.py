"""The tiny hand-drawn worlds other tests build on: the figures they promise hold."""

from __future__ import annotations

import shapely

from gridmap.synth.tiny import grid_world, households_at


def test_grid_world_counts_and_containment():
    w = grid_world(3, 4, households=[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]], communities=2, estates=2)
    b, e, c = w["buildings"], w["estates"], w["communities"]
    assert len(b) == 12 and b["households"].sum() == 78
    assert list(c["id"]) == ["370214001001", "370214001002"]
    assert b.groupby("community_id")["households"].sum().to_dict() == {
        "370214001001": 1 + 2 + 5 + 6 + 9 + 10,
        "370214001002": 3 + 4 + 7 + 8 + 11 + 12,
    }
    assert len(e) == 4
    cg = c.set_index("id").geometry
    assert shapely.contains_properly(cg.reindex(b["community_id"]).to_numpy(), b.geometry.to_numpy()).all()
    eg = e.set_index("id").geometry
    assert shapely.contains_properly(eg.reindex(b["estate_id"]).to_numpy(), b.geometry.to_numpy()).all()
    left, right = e.sindex.query(e.geometry, predicate="intersects")
    assert (left == right).all()
    street = w["streets"].geometry.iat[0]
    assert shapely.symmetric_difference(shapely.union_all(c.geometry.to_numpy()), street).area == 0
    assert c.geometry.iat[0].intersection(c.geometry.iat[1]).area == 0
    assert b.set_index("id").loc["b0_0", "name"] == "1" and b.set_index("id").loc["b2_1", "name"] == "2"
    # north row first, west column first
    assert b.set_index("id").geometry["b0_0"].centroid.y > b.set_index("id").geometry["b2_0"].centroid.y
    assert b.set_index("id").geometry["b0_0"].centroid.x < b.set_index("id").geometry["b0_1"].centroid.x


def test_households_at_buildings():
    w = grid_world(2, 2, households=3)
    h = households_at(w["buildings"], per_building=3)
    assert len(h) == 12 and h["id"].is_unique
    bg = w["buildings"].set_index("id").geometry
    assert shapely.contains_properly(bg.reindex(h["building_id"]).to_numpy(), h.geometry.to_numpy()).all()
