"""Tessellation: one cell per building, the cells of a community tiling it exactly, and their adjacency.

Cells are the Voronoi regions of the buildings' representative points, clipped to the community.
Because the Voronoi diagram covers the whole plane, the clipped cells cover the community with no gap
and no overlap. Clipping a concave community can cut a cell in two; the piece without its building is
handed to the neighbouring cell it shares the longest border with, so every cell is one piece where the
community allows. All inputs and outputs share one projected CRS (see :func:`gridmap.domain.geometry.metric_crs`).
"""

from __future__ import annotations

from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.errors import InvalidInput


class TessellationError(InvalidInput):
    """Inputs that cannot be tessellated (no CRS, different CRS, geographic CRS)."""


def tessellate(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cells (``id`` = building id, ``community_id``, ``geometry``) tiling every community.

    Parameters
    ----------
    buildings
        Columns ``id``, ``community_id``, ``geometry`` (polygons) in a projected CRS.
    communities
        Columns ``id``, ``geometry`` in the same CRS. A community without buildings gets no cells.

    Returns
    -------
    GeoDataFrame
        One row per building whose community is in ``communities``, in the buildings' order.
    """
    _check_crs(buildings, communities)
    regions = dict(zip(communities["id"], communities.geometry.values))
    frames = []
    for cid, group in buildings.groupby("community_id", sort=True):
        if cid not in regions:
            continue
        geoms = community_cells(group.geometry.values, regions[cid])
        frames.append(
            pd.DataFrame({"id": group["id"].values, "community_id": cid, "geometry": geoms, "_order": group.index})
        )
    if not frames:
        return gpd.GeoDataFrame({"id": [], "community_id": []}, geometry=[], crs=buildings.crs)
    out = pd.concat(frames, ignore_index=True)
    pos = pd.Series(np.arange(len(buildings)), index=buildings.index)
    out = out.iloc[np.argsort(pos.loc[out["_order"]].values, kind="stable")].drop(columns="_order")
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=buildings.crs)


def community_cells(footprints: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """Cells of ``footprints`` (array of polygons) tiling ``region``, in the footprints' order.

    Buildings laid out on a regular lattice (estates, synthetic districts) put four or more seeds on
    one circle. GEOS then computes the Voronoi vertex of each Delaunay triangle of such a square
    separately; far from the origin (projected coordinates of 10^5-10^6 m) the copies differ by
    rounding (~1e-10 m) and the cell's ring crosses itself, after which clipping it raised
    ``TopologyException`` (21 of 230 communities of the synthetic district). Three guards, each
    enough on that district on its own: the diagram is built in a local frame (seeds relative to a
    whole-metre origin, so the arithmetic is well conditioned), the seeds are jittered by well under a
    millimetre (so no four are exactly cocircular), and any cell GEOS still returns invalid is
    repaired before clipping; overlays fall back to snap-rounding on a 1 µm grid if GEOS still fails.
    """
    footprints = np.asarray(footprints)
    n = len(footprints)
    if n == 0:
        return np.empty(0, dtype=object)
    region = polygonal(region)
    if n == 1:
        return np.array([region], dtype=object)
    seeds = _seed_points(footprints)
    origin = np.floor(seeds.min(axis=0))
    cells = _local_cells(seeds - origin, _shift(region, -origin))
    return _shift(cells, origin)


def _local_cells(seeds: np.ndarray, region: shapely.Geometry) -> np.ndarray:
    """Voronoi cells of ``seeds`` clipped to ``region`` (both in the local frame), one piece each."""
    xmin, ymin, xmax, ymax = shapely.bounds(shapely.union_all([region, shapely.MultiPoint(seeds)]))
    pad = max(xmax - xmin, ymax - ymin) + 1.0
    frame = shapely.box(xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    vor = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    polys = shapely.get_parts(vor)
    bad = ~shapely.is_valid(polys)
    if bad.any():  # a self-crossing ring from near-coincident Voronoi vertices: undo the crossing
        polys = polys.copy()
        polys[bad] = shapely.buffer(polys[bad], 0)
    # clip only the cells that cross the community's outline (most lie well inside it)
    shapely.prepare(region)
    inside = shapely.contains_properly(region, polys)
    cells = polys.copy()
    cells[~inside] = _robust(shapely.intersection, polys[~inside], region)
    return _reassign_fragments(cells, cast(np.ndarray, shapely.points(seeds)))  # (n, 2) coordinates: n points


def _shift(geoms, offset: np.ndarray):
    """``geoms`` (a geometry or an array of them) translated by ``offset`` (dx, dy)."""
    return shapely.transform(geoms, lambda xy: xy + offset)


def _robust(op, *args):
    """``op(*args)`` (a shapely overlay); if GEOS fails on nearly degenerate input, the same overlay
    with snap-rounding on a 1 µm grid, which GEOS computes robustly."""
    try:
        return op(*args)
    except shapely.errors.GEOSException:
        return op(*args, grid_size=1e-6)


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """``geom`` made valid, keeping only its polygons (invalid community outlines happen in real data)."""
    if shapely.is_valid(geom):
        return geom
    fixed = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else fixed


def _seed_points(footprints: np.ndarray) -> np.ndarray:
    """One point inside each footprint; coincident points are nudged apart (1 mm) so each gets a cell,
    and every point is jittered by well under a millimetre (seeded) so that buildings on a perfect
    lattice do not make degenerate (cocircular) Voronoi vertices."""
    xy = shapely.get_coordinates(shapely.point_on_surface(footprints))
    xy = xy + np.random.default_rng(len(xy)).uniform(-2e-4, 2e-4, size=xy.shape)
    _, inverse, counts = np.unique(np.round(xy, 4), axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if (counts > 1).any():
        rank = pd.Series(inverse).groupby(inverse).cumcount().to_numpy()
        xy = xy + np.c_[rank * 1e-3, rank * 7e-4]
    return xy


def _reassign_fragments(cells: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Keep the piece of each cell holding its seed; give every other piece to a neighbouring cell.

    Clipping can also leave slivers of lower dimension (a cell touching the outline along a line
    comes back as a collection with that line); they cover no area and are dropped.
    """
    if (shapely.get_type_id(cells) == 3).all():  # every cell one polygon: nothing to do
        return cells
    pieces, owner = shapely.get_parts(cells, return_index=True)
    pieces, k = shapely.get_parts(pieces, return_index=True)  # members of collections, flattened
    owner = owner[k]
    areal = (shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) > 0)
    pieces, owner = pieces[areal], owner[areal]
    keep = shapely.intersects(pieces, seeds[owner])
    first = np.flatnonzero(keep)
    keep[first[pd.Series(owner[first]).duplicated().to_numpy()]] = False  # seed on a cut: one piece
    # a seed outside the region (bad data): keep that cell's largest piece instead
    area = shapely.area(pieces)
    no_seed = np.setdiff1d(np.arange(len(cells)), owner[keep])
    for i in no_seed:
        idx = np.flatnonzero(owner == i)
        if len(idx):
            keep[idx[np.argmax(area[idx])]] = True
    kept = np.full(len(cells), None, dtype=object)
    kept[owner[keep]] = pieces[keep]
    kept[pd.isna(kept)] = shapely.Polygon()
    target = _orphan_targets(pieces, np.where(keep, owner, -1), kept)
    extra: dict[int, list] = {}
    for piece, t in zip(pieces[~keep], target[~keep]):
        extra.setdefault(int(t), []).append(piece)
    out = kept.copy()
    for t, more in extra.items():
        out[t] = _robust(shapely.union_all, [kept[t], *more])
    return out


def _orphan_targets(pieces: np.ndarray, target: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """The cell each piece goes to: ``target`` (-1 = orphan) filled outwards from the kept pieces,
    each orphan joining the assigned piece it shares the longest border with, so that a chain of
    orphans (a narrow arm of the community reached only by cells from outside it) stays attached.
    Orphans sharing no border with any of them (a separate part of the community) join the nearest
    cell."""
    target = target.copy()
    orphan = np.flatnonzero(target < 0)
    tree = shapely.STRtree(pieces)
    oi, nb = tree.query(pieces[orphan], predicate="intersects")
    oi = orphan[oi]
    sel = oi != nb
    oi, nb = oi[sel], nb[sel]
    shared = shapely.length(_robust(shapely.intersection, shapely.boundary(pieces[oi]), shapely.boundary(pieces[nb])))
    sel = shared > 0
    oi, nb, shared = oi[sel], nb[sel], shared[sel]
    while True:
        ok = (target[oi] < 0) & (target[nb] >= 0)
        if not ok.any():
            break
        cand = pd.DataFrame({"o": oi[ok], "t": target[nb[ok]], "len": shared[ok]})
        best = cand.sort_values(["o", "len"], ascending=[True, False]).drop_duplicates("o")
        target[best["o"].to_numpy()] = best["t"].to_numpy()
    rest = np.flatnonzero(target < 0)
    if len(rest):
        kt = shapely.STRtree(kept)
        target[rest] = kt.nearest(pieces[rest])
    return target


def adjacency(
    cells: gpd.GeoDataFrame, *, min_length: float = 0.05, decimals: int = 6, overlay: bool = False
) -> pd.DataFrame:
    """Pairs of cells of the same community sharing a border: ``i < j`` (positions), ``length`` (m).

    Cells touching only at a corner are not neighbours (rook adjacency), so a set of cells that is
    connected in this graph has a union that is one piece. Neighbouring tessellation cells share
    their border segments vertex for vertex, so shared borders are found by matching segments
    (rounded to ``decimals``) rather than by polygon overlay. Borders shorter than ``min_length``
    do not count. ``overlay=True`` also finds pairs whose borders do not line up vertex for vertex
    (cells from another source), at the cost of a spatial join.
    """
    geoms = cells.geometry.values
    n = len(geoms)
    if n < 2:
        return pd.DataFrame({"i": np.zeros(0, dtype=np.int64), "j": np.zeros(0, dtype=np.int64), "length": np.zeros(0)})
    pairs = _segment_pairs(geoms, decimals)
    com = cells["community_id"].to_numpy()
    if overlay:
        pairs = _overlay_pairs(geoms, com, pairs)
    pairs = pairs[(pairs["length"] > min_length) & (com[pairs["i"]] == com[pairs["j"]])]
    return pairs.sort_values(["i", "j"]).reset_index(drop=True)


def _overlay_pairs(geoms: np.ndarray, com: np.ndarray, pairs: pd.DataFrame) -> pd.DataFrame:
    """Add intersecting pairs that segment matching missed, measured by overlay."""
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    sel = (i < j) & (com[i] == com[j])
    i, j = i[sel], j[sel]
    found = pd.MultiIndex.from_arrays([pairs["i"], pairs["j"]])
    todo = ~pd.MultiIndex.from_arrays([i, j]).isin(found)
    if todo.any():
        ti, tj = i[todo], j[todo]
        ln = shapely.length(shapely.intersection(shapely.boundary(geoms[ti]), shapely.boundary(geoms[tj])))
        pairs = pd.concat([pairs, pd.DataFrame({"i": ti, "j": tj, "length": ln})], ignore_index=True)
    return pairs


def _segment_pairs(geoms: np.ndarray, decimals: int) -> pd.DataFrame:
    """Cells sharing identical border segments, with the summed length of those segments."""
    # boundary() of a polygon with holes is a MultiLineString: split into its lines
    lines, lidx = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    coords, cidx = shapely.get_coordinates(lines, return_index=True)
    same = cidx[1:] == cidx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    owner = lidx[cidx[:-1][same]]
    ra, rb = np.round(a, decimals), np.round(b, decimals)
    swap = (ra[:, 0] > rb[:, 0]) | ((ra[:, 0] == rb[:, 0]) & (ra[:, 1] > rb[:, 1]))
    p = np.where(swap[:, None], rb, ra)
    q = np.where(swap[:, None], ra, rb)
    seg = pd.DataFrame(
        {"x1": p[:, 0], "y1": p[:, 1], "x2": q[:, 0], "y2": q[:, 1], "owner": owner, "len": np.hypot(*(a - b).T)}
    )
    seg = seg.drop_duplicates(["x1", "y1", "x2", "y2", "owner"])
    key = seg.groupby(["x1", "y1", "x2", "y2"], sort=False).ngroup().to_numpy()
    order = np.argsort(key, kind="stable")
    k = key[order]
    dup = np.flatnonzero(k[1:] == k[:-1])
    o = seg["owner"].to_numpy()[order]
    ln = seg["len"].to_numpy()[order]
    i, j = o[dup], o[dup + 1]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    out = pd.DataFrame({"i": lo, "j": hi, "length": ln[dup]})
    out = out[out["i"] != out["j"]]
    return out.groupby(["i", "j"], as_index=False)["length"].sum()


def _check_crs(*frames: gpd.GeoDataFrame) -> None:
    crs = {f.crs.to_string() if f.crs is not None else None for f in frames}
    if None in crs:
        raise TessellationError("every frame needs a CRS")
    if len(crs) > 1:
        raise TessellationError(f"frames are in different CRS: {sorted(str(c) for c in crs)}")
    if not frames[0].crs.is_projected:
        raise TessellationError("tessellate in a projected CRS (see gridmap.domain.geometry.metric_crs)")


def dissolve_cells(cells: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of the cells of each label: (unique labels, polygons). Cells of a tessellation form a
    coverage, so the fast coverage union is used (falling back to an overlay union per label)."""
    cells = np.asarray(cells)
    labels = np.asarray(labels)
    uniq, inv = np.unique(labels, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=len(uniq)))])
    out = np.empty(len(uniq), dtype=object)
    for g in range(len(uniq)):
        part = cells[order[bounds[g] : bounds[g + 1]]]
        try:
            geom = shapely.coverage_union_all(part)
        except shapely.errors.GEOSException:
            geom = _robust(shapely.union_all, part)
        out[g] = geom if shapely.is_valid(geom) else shapely.make_valid(_robust(shapely.union_all, part))
    return uniq, out
