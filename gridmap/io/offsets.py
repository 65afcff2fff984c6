"""A file that says WGS84 but holds GCJ-02 (AMap, Tencent) or BD-09 (Baidu) coordinates sits 300–600 m (≈ 1 km
for BD-09) off the stored boundaries. :func:`offset_hint` reads the file's features as they are and as if they
were GCJ-02 or BD-09, and says so when one of those fits the stored communities clearly better.

The fit is the share of features lying wholly inside one stored community (points: on a stored building when
buildings are given, else inside a community). Real footprints rarely cross a community boundary; a set
shifted by a few hundred metres crosses them everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from gridmap.domain.gcj02 import geometries_bd09_to_wgs84, geometries_gcj02_to_wgs84

#: features looked at (evenly spaced through the file)
SAMPLE = 2000
#: a reading must fit at least this share of features …
FIT_MIN = 0.8
#: … and this much more than the file as declared
FIT_GAIN = 0.1
CANDIDATES = (
    ("gcj02", "GCJ-02 (AMap/Gaode, Tencent)", geometries_gcj02_to_wgs84),
    ("bd09", "BD-09 (Baidu)", geometries_bd09_to_wgs84),
)


def fit_share(geoms: np.ndarray, communities: np.ndarray, buildings: np.ndarray | None = None) -> float:
    """Share of ``geoms`` inside one of ``communities`` (points: on one of ``buildings`` when given)."""
    g = np.asarray(geoms, dtype=object)
    if not len(g):
        return 0.0
    points = bool((shapely.get_type_id(g) == 0).all())
    target = buildings if points and buildings is not None and len(buildings) else communities
    tree = shapely.STRtree(np.asarray(target, dtype=object))
    hit, _ = tree.query(g, predicate="intersects") if points else tree.query(g, predicate="covered_by")
    return float(len(np.unique(hit)) / len(g))


def offset_hint(
    geoms: np.ndarray, communities: pd.DataFrame, buildings: np.ndarray | None = None
) -> tuple[str, str] | None:
    """(problem, fix) when the features fit the stored ``communities`` (a frame with ``geometry``, EPSG:4326)
    clearly better read as GCJ-02 or BD-09 than as the WGS84 the file declares; None otherwise."""
    if communities is None or not len(communities):
        return None
    g = np.asarray(geoms, dtype=object)
    g = g[~pd.isna(g)]
    g = g[~shapely.is_empty(g)] if len(g) else g
    if not len(g):
        return None
    if len(g) > SAMPLE:
        g = g[np.linspace(0, len(g) - 1, SAMPLE).astype(int)]
    cg = communities.geometry.to_numpy() if hasattr(communities, "geometry") else np.asarray(communities["geometry"])
    cg = shapely.make_valid(np.asarray(cg, dtype=object))
    as_is = fit_share(g, cg, buildings)
    best = None
    for name, label, convert in CANDIDATES:
        share = fit_share(convert(g), cg, buildings)
        if share >= FIT_MIN and share >= as_is + FIT_GAIN and (best is None or share > best[2]):
            best = (name, label, share)
    if best is None:
        return None
    name, label, share = best
    return (
        f"this looks like {label}, not WGS84: read as WGS84 {as_is:.0%} of the features lie inside the stored "
        f"communities, read as {name} {share:.0%}",
        f"re-import with --crs {name}",
    )
