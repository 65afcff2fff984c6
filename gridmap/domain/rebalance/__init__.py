"""Minimal-change rebalancing of a grid plan, and the per-grid checks a draft runs after every change.

Given a :class:`~gridmap.domain.plan.GridPlan`, today's households per building, the building adjacency graph
and household bounds per community, :func:`rebalance` returns a new plan (parent = the input, the net
moves recorded) in which every grid is within bounds wherever that is feasible, moving as few households
as it can: over-full grids hand boundary buildings to neighbours with room (or push along a short chain
of grids), under-full grids pull from neighbours with spare. Every move keeps both grids contiguous,
locked grids are never touched, buildings tied together (a building leader's home and the building they
serve; footprints overlapping by more than half the smaller one, one physical building) move as one unit and
are never split, codes are kept, and a community gets a new grid — with a fresh, never-issued code — only
when its households cannot fit its grids at all.

* :mod:`.checks` — per-grid checks, connected parts, fresh codes, tied buildings;
* :mod:`.moves` — one community's working state and its moves (transfer, swap, chain, split);
* :mod:`.solve` — :func:`rebalance` itself.

Pure: no I/O. The names below are the package's public API.
"""

from gridmap.domain.rebalance.checks import (
    DEFAULT_BOUNDS,
    GridCheck,
    RebalanceError,
    check_grids,
    components,
    fresh_code,
    members_of,
    overlapping_groups,
    plan_partners,
    tie_groups,
    together_groups,
)
from gridmap.domain.rebalance.moves import split_off
from gridmap.domain.rebalance.solve import Infeasible, RebalanceResult, rebalance

__all__ = [
    "DEFAULT_BOUNDS",
    "Infeasible",
    "RebalanceResult",
    "GridCheck",
    "RebalanceError",
    "plan_partners",
    "rebalance",
    "check_grids",
    "components",
    "fresh_code",
    "together_groups",
    "overlapping_groups",
    "tie_groups",
    "members_of",
    "split_off",
]
