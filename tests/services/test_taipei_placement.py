"""Real data: Taipei garbage-truck stops placed on the shipped buildings and villages (里 as communities).

The operator's village label is ground truth; the agreement figure is quoted in docs/placement.md and
must equal a brute-force recount (one plain loop over the stops, every building tested per stop).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from gridmap.io.geodata import taipei_file
from gridmap.services.placement import taipei_agreement, taipei_world


def test_taipei_agreement_matches_brute_force():
    got = taipei_agreement()
    world, recs = taipei_world()
    t = Transformer.from_crs(4326, world.metric_crs, always_xy=True)

    def metric(g):
        return shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    bm = metric(world.building_geoms)
    v = gpd.read_file(taipei_file("villages"))
    name = dict(zip(v["village_code"].astype(str), zip(v["district"], v["village"])))
    agree = pip_agree = 0
    outcomes = {"contained": 0, "nearest": 0, "area": 0, "rejected": 0}
    for p, district, village in zip(recs.geometry, recs["district_label"], recs["village_label"]):
        inside = np.flatnonzero(shapely.intersects(world.building_geoms, p))
        d = shapely.distance(bm, metric(p))
        village_of_point = [c for c, g in zip(world.community_ids, world.community_geoms) if g.intersects(p)]
        pip = name.get(village_of_point[0]) if village_of_point else None
        if len(inside):
            com, how = world.building_communities[inside.min()], "contained"
        elif d.min() <= 30:
            com, how = world.building_communities[int(np.flatnonzero(d == d.min()).min())], "nearest"
        elif pip:
            com, how = village_of_point[0], "area"
        else:
            com, how = None, "rejected"
        outcomes[how] += 1
        agree += name.get(com) == (district, village)
        pip_agree += pip == (district, village)
    assert {k: got["summary"][k] for k in outcomes} == outcomes
    assert got["agree_placed"] == agree and got["agree_point_in_village"] == pip_agree
    # the figures quoted in docs/placement.md
    assert (got["stops"], got["agree_placed"], got["agree_point_in_village"]) == (292, 257, 253)
