"""Overlapping building footprints: which pairs overlap, which groups are one building, and how to merge them.

Footprint sets cut from 3-D city models hold the parts of one building (podium, tower, roof storeys) as
separate, overlapping polygons. Two footprints *overlap* when their common area is more than
:data:`OVERLAP_SHARE` of the smaller one; such a pair is one physical building. The importer reports the
pairs (rule ``overlapping_buildings``) and may merge them; the partitioner keeps every pair in one grid.

Merging (:func:`merge_overlapping`) unions each group's footprints into one building: the id of the largest
footprint, the others kept as aliases. Households (and residents) count each square metre of ground once,
at the densest part standing on it: the parts are taken from the most households per m² down, and each adds
its count times the share of its footprint not already covered by denser parts. For counts that come from
floor area (footprint × floors), this is the floor area of the tallest part over every m² of ground — a tower
on its podium counts the tower's storeys over the tower and the podium's around it, and a part repeated
whole counts once. The result is never below any part's count nor above their sum. Floors are the most of
the parts. Pure: geometries in a metric CRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

#: a pair overlaps when their common area is more than this share of the smaller footprint
OVERLAP_SHARE = 0.5
#: columns summed by the ground-share rule when merging
COUNTED = ("households", "residents")
#: columns taken as the most of the parts
LARGEST = ("floors", "units")


def overlap_pairs(geoms: np.ndarray, *, min_share: float = OVERLAP_SHARE) -> pd.DataFrame:
    """Pairs of polygons (metric CRS) whose overlap is more than ``min_share`` of the smaller one.

    Columns ``i < j`` (positions in ``geoms``), ``overlap_m2``, ``share`` (of the smaller), ``share_i``,
    ``share_j`` (of each), sorted by ``i, j``.
    """
    g = np.asarray(geoms, dtype=object)
    cols = ["i", "j", "overlap_m2", "share", "share_i", "share_j"]
    ok = _present(g)
    if ok.sum() < 2:
        return pd.DataFrame(columns=cols)
    pos = np.flatnonzero(ok)
    gg = g[pos]
    # bounding boxes first (cheap), each unordered pair once, then the exact test on those candidates only
    left, right = shapely.STRtree(gg).query(gg)
    keep = left < right
    left, right = left[keep], right[keep]
    keep = shapely.intersects(gg[left], gg[right])
    left, right = left[keep], right[keep]
    area = shapely.area(gg)
    inter = shapely.area(shapely.intersection(gg[left], gg[right], grid_size=None))
    small = np.maximum(np.minimum(area[left], area[right]), 1e-12)
    share = inter / small
    hit = share > min_share
    out = pd.DataFrame(
        {
            "i": pos[left[hit]],
            "j": pos[right[hit]],
            "overlap_m2": inter[hit],
            "share": share[hit],
            "share_i": inter[hit] / np.maximum(area[left[hit]], 1e-12),
            "share_j": inter[hit] / np.maximum(area[right[hit]], 1e-12),
        },
        columns=cols,
    )
    return out.sort_values(["i", "j"], kind="stable").reset_index(drop=True)


def tied_pairs(geoms: np.ndarray, within: np.ndarray, *, min_share: float = OVERLAP_SHARE) -> np.ndarray:
    """Pairs ``(i, j)`` (t, 2) of :func:`overlap_pairs` whose two footprints share a label of ``within`` (a
    community per building): one physical building in several footprints, which the partitioner and the plan
    edits keep in one grid (a grid never crosses a community line, so only pairs inside one are tied)."""
    pairs = overlap_pairs(geoms, min_share=min_share)
    if not len(pairs):
        return np.zeros((0, 2), dtype=np.int64)
    tied = pairs[["i", "j"]].to_numpy(dtype=np.int64)
    label = np.asarray(within)
    return tied[label[tied[:, 0]] == label[tied[:, 1]]]


def _present(g: np.ndarray) -> np.ndarray:
    """True where ``g`` holds a non-empty geometry."""
    ok = np.asarray(shapely.is_geometry(g), dtype=bool)  # vectorised: None or any other object gives False
    ok[ok] = ~shapely.is_empty(g[ok])
    return ok


def groups(n: int, pairs: np.ndarray) -> np.ndarray:
    """A label per item: items joined by ``pairs`` (m, 2), directly or through others, share one label."""
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if not len(p):
        return np.arange(n, dtype=np.int64)
    m = coo_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n))
    return connected_components(m, directed=False)[1].astype(np.int64)


@dataclass
class Merged:
    """The result of :func:`merge_overlapping`: the buildings after merging, ``aliases`` (alias id → kept id,
    with the kept building's overlap share) and the groups merged (kept id, member ids)."""

    frame: pd.DataFrame
    aliases: pd.DataFrame
    merged: list[tuple[str, list[str]]]


def merge_overlapping(frame: pd.DataFrame, *, share: float = OVERLAP_SHARE, max_rounds: int = 10) -> Merged:
    """Union footprints overlapping by more than ``share`` into one building (see the module docstring).

    ``frame``: ``id``, ``geometry`` (metric CRS) and any of ``households``, ``residents``, ``floors``,
    ``units``; other columns come from the largest part. Repeated until no pair overlaps any more (a union
    can overlap a further footprint). Rows without geometry are left as they are.
    """
    df = frame.reset_index(drop=True).copy()
    alias_rows: list[dict] = []
    merged: dict[str, list[str]] = {}
    for _ in range(max_rounds):
        pairs = overlap_pairs(df["geometry"].to_numpy(dtype=object), min_share=share)
        if not len(pairs):
            break
        label = groups(len(df), pairs[["i", "j"]].to_numpy())
        geoms = df["geometry"].to_numpy(dtype=object)
        area = np.where(_present(geoms), shapely.area(np.where(_present(geoms), geoms, None)), 0.0)
        keep_rows, drop = [], np.zeros(len(df), dtype=bool)
        sizes = np.bincount(label)
        for lab in np.flatnonzero(sizes > 1):
            members = np.flatnonzero(label == lab)
            members = members[np.lexsort((df["id"].to_numpy(dtype=object)[members].astype(str), -area[members]))]
            row = _merge_group(df.iloc[members], geoms[members])
            keep_rows.append((members[0], row))
            drop[members[1:]] = True
            kept = str(df["id"].iat[members[0]])
            for m in members[1:]:
                alias = str(df["id"].iat[m])
                alias_rows.append({"alias": alias, "building_id": kept})
                merged.setdefault(kept, []).extend([alias, *merged.pop(alias, [])])
        for pos, row in keep_rows:
            for col, value in row.items():
                df.at[pos, col] = value
        df = df.loc[~drop].reset_index(drop=True)
    aliases = pd.DataFrame(alias_rows, columns=["alias", "building_id"])
    if len(aliases):  # an alias of an alias points at the building finally kept
        final = dict(zip(aliases["alias"], aliases["building_id"]))
        aliases["building_id"] = aliases["building_id"].map(lambda b: _follow(final, b))
    return Merged(df, aliases, sorted((k, sorted(v)) for k, v in merged.items()))


def _follow(final: dict[str, str], b: str) -> str:
    seen = set()
    while b in final and b not in seen:
        seen.add(b)
        b = final[b]
    return b


def _merge_group(rows: pd.DataFrame, geoms: np.ndarray) -> dict:
    """One building from ``rows`` (largest footprint first; see the module docstring)."""
    out: dict = {"geometry": shapely.union_all(geoms)}
    area = np.maximum(shapely.area(geoms), 1e-9)
    for col in COUNTED:
        if col not in rows:
            continue
        v = pd.to_numeric(rows[col], errors="coerce").to_numpy(float)
        if np.isnan(v).all():
            continue
        v = np.nan_to_num(v)
        covered = shapely.Polygon()
        total = 0.0
        for k in np.argsort(-(v / area), kind="stable"):  # densest first
            total += v[k] * shapely.area(shapely.difference(geoms[k], covered)) / area[k]
            covered = shapely.union(covered, geoms[k])
        out[col] = int(round(total))
    for col in LARGEST:
        if col in rows:
            v = pd.to_numeric(rows[col], errors="coerce")
            if v.notna().any():
                out[col] = int(v.max())
    return out
