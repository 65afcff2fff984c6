"""A hand-drawn world for the complaint web tests: one street, two communities, three grids, six buildings.

Metric layout (EPSG:4549, origin X0/Y0), every building 20 m square:

    community A (x 0–200)                          community B (x 200–300)
    grid …001001 (x 0–100)  grid …001002 (x 100–200) grid …002001 (x 200–300)
    b1 (10–30) b2 (75–95)   b3 (150–170)              b4 (210–230) b5 (250–270) b6 (270–290)

b2 is 5 m from the next grid: requests on it need confirmation.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

CRS = "EPSG:4549"
X0, Y0 = 500000.0, 4017000.0
STREET = "370214001"
COM_A, COM_B = "370214001001", "370214001002"
G1, G2, G3 = "370214001001001", "370214001001002", "370214001002001"
BUILDINGS = {
    "b1": (10, G1, COM_A, "e1", 120),
    "b2": (75, G1, COM_A, "e1", 130),
    "b3": (150, G2, COM_A, "e2", 250),
    "b4": (210, G3, COM_B, "e3", 100),
    "b5": (250, G3, COM_B, "e3", 150),
    "b6": (270, G3, COM_B, "e4", 250),
}


def lonlat(x: float, y: float) -> tuple[float, float]:
    p = gpd.GeoSeries([Point(X0 + x, Y0 + y)], crs=CRS).to_crs("EPSG:4326").iloc[0]
    return round(p.x, 8), round(p.y, 8)


def _g(rows: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS).to_crs("EPSG:4326")


def _rect(x0: float, x1: float, y0: float = 0, y1: float = 100):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def build(store) -> None:
    """Write the world into ``store`` (one transaction)."""
    with store.transaction():
        store.write("districts", _g({"id": ["370214"], "name": ["城阳区"]}, [_rect(0, 300)]))
        store.write("streets", _g({"id": [STREET], "name": ["城阳街道"], "district_id": ["370214"]}, [_rect(0, 300)]))
        store.write(
            "communities",
            _g(
                {"id": [COM_A, COM_B], "name": ["甲社区", "乙社区"], "street_id": [STREET, STREET]},
                [_rect(0, 200), _rect(200, 300)],
            ),
        )
        store.write(
            "property_companies",
            pd.DataFrame({"id": ["p1", "p2"], "name": ["红物业", "普通物业"], "has_party_org": [True, False]}),
        )
        store.write(
            "estates",
            _g(
                {
                    "id": ["e1", "e2", "e3", "e4"],
                    "name": ["一苑", "二苑", "三苑", "四苑"],
                    "community_id": [COM_A, COM_A, COM_B, COM_B],
                    "property_company_id": ["p1", "p2", "p1", "p1"],
                },
                [_rect(0, 100), _rect(100, 200), _rect(200, 260), _rect(260, 300)],
            ),
        )
        store.write(
            "buildings",
            _g(
                {
                    "id": list(BUILDINGS),
                    "name": ["1", "2", "1", "1", "2", "1"],
                    "estate_id": [v[3] for v in BUILDINGS.values()],
                    "community_id": [v[2] for v in BUILDINGS.values()],
                    "households": [v[4] for v in BUILDINGS.values()],
                },
                [_rect(v[0], v[0] + 20, 10, 30) for v in BUILDINGS.values()],
            ),
        )
        now = dt.datetime(2024, 1, 1)
        store.write(
            "plans",
            pd.DataFrame({"id": ["plan1"], "status": ["published"], "created_at": [now], "published_at": [now]}),
        )
        store.write(
            "plan_assignments",
            pd.DataFrame(
                {"plan_id": "plan1", "building_id": list(BUILDINGS), "grid_code": [v[1] for v in BUILDINGS.values()]}
            ),
        )
        store.write(
            "plan_grids",
            _g(
                {"plan_id": ["plan1"] * 3, "code": [G1, G2, G3], "community_id": [COM_A, COM_A, COM_B]},
                [_rect(0, 100), _rect(100, 200), _rect(200, 300)],
            ),
        )
        store.write(
            "stewards",
            pd.DataFrame(
                {
                    "id": ["s1", "s2", "s3", "s4"],
                    "name": ["王网格", "李网格", "赵网格", "钱管家"],
                    "role": ["grid_leader", "grid_leader", "grid_leader", "property_steward"],
                    "serves": [G1, G2, G3, "e1"],
                }
            ),
        )
