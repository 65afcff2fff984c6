"""Colours for grids on a map: neighbouring grids never share one.

:func:`grid_adjacency` lifts the building adjacency (touching tessellation cells) to grids; :func:`colour_grids`
colours that graph greedily, most-connected grid first (Welsh–Powell), so a planar map of grids needs few
colours (at most one more than the largest number of neighbours, in practice 4–6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import shapely


def grid_adjacency(
    assignment: Mapping[str, str], adjacency: Mapping[str, Iterable[str]], *, grids: Iterable[str] | None = None
) -> dict[str, set[str]]:
    """Grid code → the grids it touches: two grids touch when a building of one neighbours a building of
    the other. ``grids`` limits the answer to those grids (and their edges among themselves)."""
    keep = None if grids is None else set(grids)
    out: dict[str, set[str]] = {g: set() for g in (keep if keep is not None else set(assignment.values()))}
    for b, g in assignment.items():
        if keep is not None and g not in keep:
            continue
        for n in adjacency.get(b, ()):
            h = assignment.get(n)
            if h is not None and h != g and (keep is None or h in keep):
                out.setdefault(g, set()).add(h)
                out.setdefault(h, set()).add(g)
    return out


def colour_grids(neighbours: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """A colour index (0, 1, …) per grid such that no two neighbouring grids share one.

    Greedy in Welsh–Powell order (most neighbours first, ties by code, so the answer is stable): each grid
    takes the smallest index none of its coloured neighbours has."""
    graph = {g: {n for n in ns if n != g} for g, ns in neighbours.items()}
    for g, ns in list(graph.items()):  # the relation is symmetric even when the input lists one side
        for n in ns:
            graph.setdefault(n, set()).add(g)
    colour: dict[str, int] = {}
    for g in sorted(graph, key=lambda c: (-len(graph[c]), c)):
        used = {colour[n] for n in graph[g] if n in colour}
        colour[g] = next(i for i in range(len(graph) + 1) if i not in used)
    return colour


def touching(polygons: Mapping[str, Any], *, tolerance: float = 1e-7) -> dict[str, set[str]]:
    """Grid code → the grids whose polygons touch it (within ``tolerance`` degrees): neighbours on the map even
    where their cells' borders do not match vertex for vertex."""
    codes = [c for c, g in polygons.items() if g is not None and not shapely.is_empty(g)]
    geoms = [shapely.buffer(polygons[c], tolerance) for c in codes]
    tree = shapely.STRtree(geoms)
    out: dict[str, set[str]] = {c: set() for c in codes}
    left, right = tree.query(geoms, predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist()):
        if i != j:
            out[codes[i]].add(codes[j])
    return out
