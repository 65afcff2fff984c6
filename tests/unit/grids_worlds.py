"""Tiny hand-drawn lattice worlds for the grids tests: one building per drawn cell, 10 m apart."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

X0, Y0, STEP = 536_000.0, 4_018_000.0, 10.0
CRS = "EPSG:4549"


def lattice(
    households: list[list[int | None]],
    *,
    estates: list[str] | None = None,
    community: str = "370214001001",
    barriers: list[tuple[tuple[float, float], ...]] = (),
    region: shapely.Geometry | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Buildings on a lattice: ``households[r][c]`` (None = no building), row 0 northmost.

    ``estates``: one string per row, a letter per column naming the building's estate ('.' = none).
    ``barriers``: lines in lattice units ((col, row) pairs; row grows southwards).
    Building ids are ``r{row}c{col}``.
    """
    rows, cols = len(households), max(len(r) for r in households)
    recs = []
    for r, line in enumerate(households):
        for c, h in enumerate(line):
            if h is None:
                continue
            x, y = X0 + c * STEP, Y0 - r * STEP
            est = None
            if estates is not None and estates[r][c] != ".":
                est = f"E{estates[r][c]}"
            recs.append(
                {
                    "id": f"r{r}c{c}",
                    "community_id": community,
                    "estate_id": est,
                    "households": int(h),
                    "residents": int(h) * 2,
                    "geometry": shapely.box(x + 2, y - 8, x + 8, y - 2),
                }
            )
    area = region if region is not None else shapely.box(X0, Y0 - rows * STEP, X0 + cols * STEP, Y0)
    lines = [
        {
            "id": f"bar{i}",
            "kind": "road",
            "geometry": shapely.LineString([(X0 + a * STEP, Y0 - b * STEP) for a, b in pts]),
        }
        for i, pts in enumerate(barriers)
    ]
    return {
        "communities": gpd.GeoDataFrame(
            [{"id": community, "name": "测试社区", "street_id": community[:9], "geometry": area}], crs=CRS
        ),
        "buildings": gpd.GeoDataFrame(recs, geometry="geometry", crs=CRS),
        "barriers": gpd.GeoDataFrame(lines, geometry="geometry", crs=CRS)
        if lines
        else gpd.GeoDataFrame({"id": [], "kind": []}, geometry=[], crs=CRS),
    }


def partition(world, *, lo=300, hi=500, seed=0):
    """Run tessellation + partition; returns (building id -> label, WorldPartition, cells, adjacency)."""
    from gridmap.domain.partition import edge_kinds, partition_world
    from gridmap.domain.tessellation import adjacency, tessellate

    b = world["buildings"]
    cells = tessellate(b, world["communities"])
    adj = adjacency(cells)
    kind = edge_kinds(b, cells, adj, world["barriers"] if len(world["barriers"]) else None)
    res = partition_world(b, adj, kind, bounds={}, default_bounds=(lo, hi), seed=seed)
    return {k: v[1] for k, v in res.grid_of.items()}, res, cells, adj


def drawn(picture: list[str]) -> dict[str, str]:
    """Expected assignment drawn as letters, one per lattice cell ('.' = no building)."""
    return {f"r{r}c{c}": ch for r, line in enumerate(picture) for c, ch in enumerate(line) if ch != "."}


def same_partition(got: dict[str, int], want: dict[str, str]) -> bool:
    """Equal up to renaming the grids."""
    if set(got) != set(want):
        return False
    fwd, back = {}, {}
    for b, letter in want.items():
        g = got[b]
        if fwd.setdefault(letter, g) != g or back.setdefault(g, letter) != letter:
            return False
    return True


def show(got: dict[str, int], rows: int, cols: int) -> str:
    """The partition as a picture (for assertion messages)."""
    return "\n".join(
        "".join(chr(65 + got[f"r{r}c{c}"]) if f"r{r}c{c}" in got else "." for c in range(cols)) for r in range(rows)
    )


def np_seed(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
