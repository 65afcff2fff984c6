"""A tiny hand-drawn placement world in longitude/latitude, with known answers.

Two communities side by side (C1 west, C2 east, both in street S1). Estate E1 in C1 holds buildings
A ("1") and B ("2") sharing the edge x = 120.4012, and H ("3"), a courtyard building with a hole.
Estate E2 in C1 holds D, also named "1" (so "1" is ambiguous in C1). Estate E3 in C2 holds K ("1").
The published plan puts A, B in grid G1, H, D in G2, K in G3; grid polygons: G1 = west half of C1,
G2 = east half of C1, G3 = C2.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

X0, Y0 = 120.400, 36.300
C1 = shapely.box(120.400, 36.300, 120.410, 36.310)
C2 = shapely.box(120.410, 36.300, 120.420, 36.310)
A = shapely.box(120.4010, 36.3010, 120.4012, 36.3012)
B = shapely.box(120.4012, 36.3010, 120.4014, 36.3012)
H = shapely.Polygon(
    shapely.box(120.4030, 36.3030, 120.4036, 36.3036).exterior.coords,
    [shapely.box(120.4032, 36.3032, 120.4034, 36.3034).exterior.coords],
)
D = shapely.box(120.4070, 36.3070, 120.4072, 36.3072)
K = shapely.box(120.4150, 36.3050, 120.4152, 36.3052)
ASSIGNMENT = {"A": "G1", "B": "G1", "H": "G2", "D": "G2", "K": "G3"}


def frames() -> dict[str, gpd.GeoDataFrame]:
    buildings = gpd.GeoDataFrame(
        {
            "id": ["A", "B", "H", "D", "K"],
            "name": ["1", "2", "3", "1", "1"],
            "estate_id": ["E1", "E1", "E1", "E2", "E3"],
            "community_id": ["C1", "C1", "C1", "C1", "C2"],
            "households": [20, 20, 40, 20, 20],
            "units": [2, 2, 4, 2, 2],
            "floors": [6, 6, 6, 6, 6],
        },
        geometry=[A, B, H, D, K],
        crs=4326,
    )
    communities = gpd.GeoDataFrame(
        {"id": ["C1", "C2"], "name": ["一社区", "二社区"], "street_id": ["S1", "S1"]}, geometry=[C1, C2], crs=4326
    )
    grids = gpd.GeoDataFrame(
        {"code": ["G1", "G2", "G3"], "community_id": ["C1", "C1", "C2"]},
        geometry=[shapely.box(120.400, 36.300, 120.405, 36.310), shapely.box(120.405, 36.300, 120.410, 36.310), C2],
        crs=4326,
    )
    return {"buildings": buildings, "communities": communities, "grids": grids}
