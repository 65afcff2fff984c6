"""Placing records (households, stewards, complaints, merchants, facilities) on buildings, vectorised.

Rules, first match wins (each record gets ``placement`` = the rule that placed it):

1. ``exact``     — the record names a known ``building_id``;
2. ``room``      — a room code ``3-2-501`` (building name "3" inside the record's estate, or its community
   when the name is unique there; unit 2; room 501 → floor 5);
3. ``contained`` — its point lies in (or on the edge of) a building polygon;
4. ``nearest``   — no building contains the point, but one lies within ``tolerance_m`` metres
   (rules 3 and 4 are :func:`match_points`, which complaint routing uses too);
5. ``area``      — only the community (and the published plan's grid polygon) containing the point;
6. ``rejected``  — everything else, with the ``reason``.

An identifier that is given but does not resolve (an unknown building id, a room code naming a missing
building, unit or floor) rejects the record with that reason even when it also carries a point: a wrong
identifier is a data error the community should fix, not something to paper over with coordinates.
Later copies of a record id (and ids in ``seen_ids``) are rejected as duplicates; the first copy is placed
(the check runs in a second thread beside the spatial rules and overrides what they found).

Ties are broken the same way every run: a point on the edge shared by two buildings (or communities, or
grids) goes to the one whose interior holds it, else to the lowest id. Distances are measured in a metric
CRS (EPSG:4549 near 120°E, else the UTM zone). The hot path is shapely 2 ``STRtree`` queries and numpy
indexing; there is no per-record Python loop. Nothing here does I/O.

* :mod:`.world` — :class:`PlacementWorld`, the indexed buildings, communities and plan;
* :mod:`.index` — :class:`~.index.CellIndex`, the point-in-polygon tie-breaks and :func:`match_points`;
* :mod:`.duplicates` — repeated record ids;
* :mod:`.rules` — :func:`place`, :func:`derive`, :func:`summarize`.

The names below are the package's public API.
"""

from gridmap.domain.placement.index import BuildingIndex, match_points
from gridmap.domain.placement.rules import DEFAULT_TOLERANCE_M, DERIVED, OUTCOMES, Placement, derive, place, summarize
from gridmap.domain.placement.world import PlacementError, PlacementWorld

__all__ = [
    "DEFAULT_TOLERANCE_M",
    "DERIVED",
    "OUTCOMES",
    "BuildingIndex",
    "Placement",
    "PlacementError",
    "PlacementWorld",
    "derive",
    "match_points",
    "place",
    "summarize",
]
