"""A fallback synthetic district of rectangles for bench_grids (used when gridmap.synth.world is missing).

Communities are squares of estate blocks separated by roads (barrier lines); each block is one
estate of one type: village houses, walk-ups, mid-rise or high-rise slabs.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

# type: (buildings per side, households low, households high, share of blocks)
TYPES = {"village": (9, 1, 5, 0.35), "walkup": (5, 12, 48, 0.35), "mid": (4, 40, 100, 0.2), "high": (3, 130, 260, 0.1)}
ORIGIN = (120.40, 36.30)  # Chengyang-ish, EPSG:4326; geometry built in EPSG:4549


def rect_world(
    *, communities: int = 4, blocks: int = 5, block_m: float = 150.0, road_m: float = 20.0, seed: int = 0
) -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    x0, y0 = 536_000.0, 4_018_000.0  # EPSG:4549 (false easting 500,000 at 120E): about 120.4E 36.3N
    side = blocks * (block_m + road_m)
    ncol = int(np.ceil(np.sqrt(communities)))
    names = list(TYPES)
    share = np.array([TYPES[t][3] for t in names])
    coms, ests, blds, roads = [], [], [], []
    for c in range(communities):
        cx, cy = x0 + (c % ncol) * side, y0 - (c // ncol) * side
        cid = f"370214001{c + 1:03d}"
        coms.append(
            {
                "id": cid,
                "name": f"社区{c + 1}",
                "street_id": "370214001",
                "geometry": shapely.box(cx, cy - side, cx + side, cy),
            }
        )
        for bi in range(blocks):
            for bj in range(blocks):
                bx = cx + bi * (block_m + road_m) + road_m / 2
                by = cy - bj * (block_m + road_m) - road_m / 2
                t = names[rng.choice(len(names), p=share)]
                per, lo, hi, _ = TYPES[t]
                eid = f"{cid}-e{bi}{bj}"
                ests.append(
                    {
                        "id": eid,
                        "name": f"{t}{bi}{bj}",
                        "community_id": cid,
                        "geometry": shapely.box(bx, by - block_m, bx + block_m, by),
                    }
                )
                step = block_m / per
                k = 0
                for i in range(per):
                    for j in range(per):
                        if rng.random() < 0.08:
                            continue
                        k += 1
                        w, h = step * rng.uniform(0.4, 0.7), step * rng.uniform(0.3, 0.6)
                        px, py = bx + i * step + step * 0.15, by - j * step - step * 0.15
                        blds.append(
                            {
                                "id": f"{eid}-b{k}",
                                "name": str(k),
                                "estate_id": eid,
                                "community_id": cid,
                                "households": int(rng.integers(lo, hi + 1)),
                                "geometry": shapely.box(px, py - h, px + w, py),
                            }
                        )
        for bi in range(1, blocks):
            x = cx + bi * (block_m + road_m)
            roads.append(
                {"id": f"r{c}v{bi}", "kind": "road", "geometry": shapely.LineString([(x, cy), (x, cy - side)])}
            )
    crs = "EPSG:4549"
    out = {
        "communities": gpd.GeoDataFrame(coms, crs=crs),
        "estates": gpd.GeoDataFrame(ests, crs=crs),
        "buildings": gpd.GeoDataFrame(blds, crs=crs),
        "barriers": gpd.GeoDataFrame(roads, crs=crs),
    }
    for b in (out["buildings"],):
        b["residents"] = (b["households"] * 2.6).round().astype(int)
    return out
