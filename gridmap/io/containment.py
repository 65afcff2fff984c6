"""Where a building or estate lies: its community derived from geometry (outside every community, straddling
two), and buildings whose footprints overlap (the parts of one building)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.domain.footprints import OVERLAP_SHARE, overlap_pairs
from gridmap.domain.geometry import metric_crs
from gridmap.errors import InvalidInput
from gridmap.io.issues import Issue, _issue

#: a building/estate counts as straddling when its second community holds at least this share of it
STRADDLE_SHARE = 0.05
#: ... and as outside every community when communities hold less than this share of it
INSIDE_SHARE = 0.5
#: what to do with a building/estate in two communities: refuse it, or give it to the one holding most of it
STRADDLERS = ("reject", "majority")


def community_shares(geoms: gpd.GeoSeries, communities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Share of each geometry's area inside each community it touches: columns pos, community_id, share."""
    crs = metric_crs(communities.geometry)
    g = geoms.to_crs(crs).to_numpy()
    c = communities.to_crs(crs)
    left, right = c.sindex.query(g, predicate="intersects")
    cg = c.geometry.to_numpy()
    shapely.prepare(cg)
    total = shapely.area(g)[left]
    inside = shapely.contains_properly(cg[right], g[left])  # fast path: no intersection needed
    inter = total.copy()
    inter[~inside] = shapely.area(shapely.intersection(g[left][~inside], cg[right][~inside]))
    return pd.DataFrame(
        {
            "pos": left,
            "community_id": c["id"].to_numpy()[right],
            "share": np.where(total > 0, inter / np.maximum(total, 1e-12), 1.0),
        }
    )


def containment(
    layer: str,
    df: pd.DataFrame,
    communities: gpd.GeoDataFrame | None,
    issues: list[Issue],
    *,
    straddlers: str = "reject",
) -> None:
    """Derive or check ``community_id`` from geometry: outside every community, straddling two (an error,
    or with ``straddlers="majority"`` a warning and the community holding most of it)."""
    if straddlers not in STRADDLERS:
        raise InvalidInput(f"straddlers must be one of {', '.join(STRADDLERS)}, not {straddlers!r}")
    if "community_id" not in df:
        df["community_id"] = None
    has = df["geometry"].notna().to_numpy()
    if communities is None or not len(communities):
        miss = df["community_id"].isna()
        issues += _issue(
            df,
            miss,
            "community_id",
            "missing community_id and no communities to derive it from",
            "import communities first, or give community_id",
            rule="missing_value",
        )
        return
    geoms = gpd.GeoSeries(list(df.loc[has, "geometry"]), crs=4326)
    shares = community_shares(geoms, communities).sort_values(
        ["pos", "share", "community_id"], ascending=[True, False, True], kind="stable"
    )
    n = len(geoms)
    inside = shares.groupby("pos")["share"].sum().reindex(range(n), fill_value=0.0).to_numpy()
    top = shares.groupby("pos").head(2)
    rank = top.groupby("pos").cumcount().to_numpy()
    first = top[rank == 0].set_index("pos").reindex(range(n))
    second = top[rank == 1].set_index("pos").reindex(range(n))
    sub = df.loc[has]
    given = sub["community_id"].to_numpy(dtype=object)
    best = first["community_id"].to_numpy(dtype=object)
    out = inside < INSIDE_SHARE
    straddle = ~out & (second["share"].fillna(0).to_numpy() >= STRADDLE_SHARE)
    wrong = ~out & ~straddle & ~pd.isna(given) & (given != best)
    what = "building" if layer == "buildings" else "estate"
    idx = sub.index
    issues += _issue(
        sub,
        out,
        "geometry",
        pd.Series([f"{what} lies outside every community ({v:.0%} inside)" for v in inside[out]], index=idx[out]),
        "check its coordinates/CRS, or import the community it belongs to",
        rule="outside_communities",
    )
    verb = "straddles communities" if layer == "buildings" else "crosses the boundary of communities"
    a_id, a_sh = best[straddle], first["share"].to_numpy()[straddle]
    b_id, b_sh = second["community_id"].to_numpy(dtype=object)[straddle], second["share"].to_numpy()[straddle]
    majority = straddlers == "majority"
    if majority:
        problem = [
            f"{what} {verb} {a} ({x:.0%}) and {b} ({y:.0%}); assigned to {a}, which holds most of it"
            for a, x, b, y in zip(a_id, a_sh, b_id, b_sh)
        ]
    else:
        problem = [f"{what} {verb} {a} ({x:.0%}) and {b} ({y:.0%})" for a, x, b, y in zip(a_id, a_sh, b_id, b_sh)]
    issues += _issue(
        sub,
        straddle,
        "geometry",
        pd.Series(problem, index=idx[straddle]),
        (
            f"check the {what} belongs to the community holding most of it; if not, split it or move the boundary"
            if majority
            else (
                "split the building or move the community boundary, or re-import with --straddlers majority"
                if layer == "buildings"
                else "split the estate at the community boundary or move the boundary, "
                "or re-import with --straddlers majority"
            )
        ),
        level="warning" if majority else "error",
        rule="straddles_communities" if layer == "buildings" else "crosses_community_boundary",
    )
    issues += _issue(
        sub,
        wrong,
        "community_id",
        pd.Series(
            [f"community_id {g} but the {what} lies in {b}" for g, b in zip(given[wrong], best[wrong])],
            index=idx[wrong],
        ),
        "set community_id to the community it lies in, or correct the geometry",
        rule="wrong_community",
    )
    ok = ~out & ~wrong & (~straddle | majority)
    df.loc[idx[ok], "community_id"] = best[ok]


def overlapping_buildings(df: pd.DataFrame, *, share: float = OVERLAP_SHARE) -> list[Issue]:
    """A warning per pair of buildings whose footprints overlap by more than ``share`` of the smaller one,
    on the later row of the pair, naming the other and both shares."""
    has = df["geometry"].notna().to_numpy()
    if has.sum() < 2:
        return []
    sub = df.loc[has]
    g = gpd.GeoSeries(list(sub["geometry"]), crs=4326)
    pairs = overlap_pairs(g.to_crs(metric_crs(g)).to_numpy(), min_share=share)
    out = []
    rows, ids = sub["_row"].to_numpy(), sub["id"].to_numpy(dtype=object)
    for i, j, m2, si, sj in pairs[["i", "j", "overlap_m2", "share_i", "share_j"]].itertuples(index=False):
        a, b = (int(i), int(j)) if rows[int(i)] < rows[int(j)] else (int(j), int(i))
        sa, sb = (si, sj) if a == int(i) else (sj, si)
        out.append(
            Issue(
                int(rows[b]),
                None if pd.isna(ids[b]) else str(ids[b]),
                "geometry",
                f"overlaps building {ids[a]} (row {rows[a]}) on {m2:,.0f} m²: {sb:.0%} of this footprint, "
                f"{sa:.0%} of that one",
                "if they are parts of one building, re-import with --merge-overlapping to make them one "
                "(grids keep them together either way); otherwise correct the footprints",
                level="warning",
                rule="overlapping_buildings",
            )
        )
    return out
