"""Regenerate the small bad input files of the import tests (run from the repository root).

Every file is drawn against ``world()``: ``grid_world(2, 4, communities=2)`` — community 370214001001
covers x 0–105 m, community 370214001002 x 105–210 m, both y 0–110 m (metres from ``ORIGIN_M``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.synth.tiny import ORIGIN_M, _to_wgs84, grid_world

HERE = Path(__file__).resolve().parent
C1, C2 = "370214001001", "370214001002"


def world():
    return grid_world(2, 4, communities=2, households=[[10, 20, 30, 40], [50, 60, 70, 80]])


def box(x0, y0, x1, y1):
    ox, oy = ORIGIN_M
    return shapely.box(ox + x0, oy + y0, ox + x1, oy + y1)


def poly(*xy):
    ox, oy = ORIGIN_M
    return shapely.Polygon([(ox + x, oy + y) for x, y in xy])


def geo(rows: list[dict], name: str) -> None:
    geoms = _to_wgs84([r.pop("geometry") for r in rows])
    gpd.GeoDataFrame(pd.DataFrame(rows), geometry=list(geoms), crs=4326).to_file(HERE / name, driver="GeoJSON")


def csv(rows: list[dict], name: str) -> None:
    out = []
    for r in rows:
        r = dict(r)
        g = r.pop("geometry", None)
        if g is not None:
            r["wkt"] = shapely.to_wkt(_to_wgs84([g])[0], rounding_precision=9)
        out.append(r)
    pd.DataFrame(out).to_csv(HERE / name, index=False)


def main() -> None:
    # a free spot inside community 1 (between the building rows) and inside community 2
    in1, in2 = box(20, 48, 30, 52), box(130, 48, 140, 52)
    # a second free spot in each: files whose rules are not about overlaps keep their footprints apart
    in1b, in2b = box(50, 48, 60, 52), box(160, 48, 170, 52)
    geo(
        [
            {"id": "n1", "households": 5, "geometry": poly((20, 48), (30, 52), (30, 48), (20, 52))},  # bow-tie
            {"id": "n2", "households": 6, "geometry": in2},
            {"id": "n3", "households": 7, "geometry": poly((60, 48), (70, 48), (60, 48))},
        ],  # no area
        "buildings_invalid_geometry.geojson",
    )
    csv(
        [
            {"id": "", "households": 1, "geometry": in1},
            {"id": "n1", "households": 2, "geometry": in1b},
            {"id": "n1", "households": 3, "geometry": in2},
            {"id": "n3", "households": 4, "geometry": in2b},
        ],
        "buildings_ids.csv",
    )
    geo(
        [
            {"id": "far", "households": 5, "geometry": box(1000, 48, 1010, 52)},
            {"id": "ok", "households": 6, "geometry": in1},
        ],
        "buildings_outside.geojson",
    )
    geo(
        [
            {"id": "mid", "households": 5, "geometry": box(99, 48, 109, 52)},
            {"id": "edge", "households": 6, "geometry": box(104.8, 40, 114.8, 44)},  # 2% in community 1
            {"id": "ok", "households": 6, "geometry": in2},
        ],
        "buildings_straddle.geojson",
    )
    geo(
        [
            {"id": "wrong", "households": 5, "community_id": C1, "geometry": in2},
            {"id": "pt", "households": 5, "geometry": shapely.Point(ORIGIN_M[0] + 25, ORIGIN_M[1] + 50)},
            {"id": "ok", "households": 6, "community_id": C1, "geometry": in1},
        ],
        "buildings_wrong_community.geojson",
    )
    geo(
        [
            {"id": "EX", "name": "跨界小区", "geometry": box(60, 46, 140, 54)},
            {"id": "EY", "name": "好小区", "geometry": box(120, 46, 150, 54)},
        ],
        "estates_cross.geojson",
    )
    geo(
        [
            {"id": "370214001003", "name": "重叠社区", "street_id": "370214001", "geometry": box(100, 100, 200, 200)},
            {"id": "370214001004", "name": "东社区", "street_id": "370214001", "geometry": box(210, 0, 400, 110)},
            {"id": "370214001005", "name": "又重叠社区", "street_id": "370214001", "geometry": box(390, 0, 500, 110)},
        ],
        "communities_overlap.geojson",
    )
    geo(
        [
            {
                "id": "370214001006",
                "name": "碎片社区",
                "street_id": "370214001",
                "geometry": shapely.MultiPolygon([box(0, 200, 100, 300), box(150, 250, 155, 255)]),
            },
            {"id": "370214001007", "name": "细长社区", "street_id": "370214001", "geometry": box(0, 400, 1000, 402)},
            {"id": "370214001008", "name": "好社区", "street_id": "370214001", "geometry": box(0, 500, 100, 600)},
        ],
        "communities_sliver.geojson",
    )
    csv(
        [
            {"id": "h-missing", "households": "", "geometry": in1},
            {"id": "h-negative", "households": "-3", "geometry": in1b},
            {"id": "h-text", "households": "many", "geometry": in2},
            {"id": "h-ok", "households": "12", "geometry": in2b},
        ],
        "buildings_households.csv",
    )
    csv(
        [
            {"id": "p-unknown", "households": 4, "estate_id": "E99", "geometry": in1},
            {"id": "p-ok", "households": 4, "estate_id": "E1", "geometry": in1b},
        ],
        "buildings_parents.csv",
    )
    csv(
        [
            {
                "id": "m-meta",
                "name": '<meta http-equiv="refresh" content="0;url=//evil.example">',
                "households": 4,
                "geometry": in1,
            },
            {"id": "m-entity", "name": "3&#35;楼", "households": 4, "geometry": in1b},
            {"id": "m-ok", "name": "3号楼 (1<2, A < B)", "households": 4, "geometry": in2},
        ],
        "buildings_markup.csv",
    )
    # households as points: no CRS in CSV; then the same points with lat/lon columns swapped
    pts = _to_wgs84(
        [shapely.Point(ORIGIN_M[0] + 25, ORIGIN_M[1] + 50), shapely.Point(ORIGIN_M[0] + 135, ORIGIN_M[1] + 50)]
    )
    rows = [{"id": f"hh{i}", "building_id": "", "lon": round(p.x, 9), "lat": round(p.y, 9)} for i, p in enumerate(pts)]
    pd.DataFrame(rows).to_csv(HERE / "households_lonlat.csv", index=False)
    pd.DataFrame(rows).rename(columns={"lon": "lat", "lat": "lon"}).to_csv(HERE / "households_swapped.csv", index=False)


if __name__ == "__main__":
    main()
