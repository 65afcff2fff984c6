"""An embed's area: the map layers limited to one grid, community or street (a code prefix).

An embed token names the areas it may show by code prefix (:class:`gridmap.domain.credentials.EmbedClaims`);
a community or street embed asks the layer API for ``area=<its code>`` and gets only features inside it: a
feature with an area code (a grid's code, a community's or street's id, an estate's community, the published
grid of a building, steward or complaint) is kept when that code starts with the area; a feature without one
(merchants, volunteer teams, facilities) when its point on surface lies in the area's polygon.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from gridmap.domain.codes import level_of
from gridmap.errors import InvalidInput, NotFoundError
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store

#: the column holding each layer's area code (complaint counts carry the grid or community in ``id``)
AREA_COLUMN = {
    "grids": "code",
    "streets": "id",
    "communities": "id",
    "estates": "community_id",
    "buildings": "grid_code",
    "stewards": "grid_code",
    "complaints": "grid_code",
}


def check_area(area: str) -> str:
    """``area`` when it is a street (9 digits), community (12) or grid (15) code, else :class:`InvalidInput`."""
    if level_of(area) not in ("street", "community", "grid"):
        raise InvalidInput(
            f"area={area!r}：应为街道 9 位、社区 12 位或网格 15 位编码 / area must be a 9, 12 or 15 digit code"
        )
    return area


def in_area(codes: Any, area: str) -> np.ndarray:
    """Which of ``codes`` (None for none) lie in ``area``: they start with its code."""
    return np.array([c is not None and not pd.isna(c) and str(c).startswith(area) for c in codes], dtype=bool)


def area_shape(store: Store, area: str) -> Any:
    """The polygon of street, community or published grid ``area`` (EPSG:4326)."""
    level = level_of(check_area(area))
    if level == "grid":
        plan_id = published_plan_id(store)
        rows = store.read("plan_grids", where={"plan_id": plan_id, "code": area}) if plan_id else None
        geom = rows.geometry.iloc[0] if rows is not None and len(rows) else None
    else:
        row = store.get("streets" if level == "street" else "communities", area)
        geom = row["geometry"] if row is not None else None
    if geom is None:
        raise NotFoundError(f"{area} 不存在 / no area {area}")
    return geom


def keep_in_area(store: Store, layer: str, frame: Any, area: str) -> Any:
    """The rows of ``frame`` (a layer's features, or complaint counts with ``level``) inside ``area``."""
    if not len(frame):
        return frame
    col = "id" if "level" in frame.columns else AREA_COLUMN.get(layer)
    if col is not None and col in frame.columns:
        return frame[in_area(frame[col], area)]
    shape = area_shape(store, area)
    points = shapely.point_on_surface(frame.geometry.to_numpy())
    return frame[shapely.contains(shape, points) | shapely.touches(shape, points)]
