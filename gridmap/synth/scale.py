"""How big a synthetic world to make: :class:`Scale` and the named scales (shared by the world, its layout
and its people)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """How big a world to make."""

    communities: int = 40
    estates: int = 110
    village_houses: int = 1800
    loose_buildings: int = 150
    #: estates (besides the named two) whose households get one row each (names, rooms, tags)
    household_estates: int = 4
    #: extra anonymous household points spread over all buildings by households (for benchmarks)
    household_points: int = 0


SCALES = {
    "demo": Scale(),
    "district": Scale(communities=230, estates=310, village_houses=97_000, loose_buildings=1000, household_estates=0),
}
