"""Minimal-change rebalancing of a grid plan (:func:`rebalance`): communities are solved independently on
their working state (:mod:`.moves`), new grids are split off only when the households cannot fit.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gridmap.domain.plan import GridPlan, Move
from gridmap.domain.rebalance.checks import DEFAULT_BOUNDS, RebalanceError, _bounds_of, fresh_code
from gridmap.domain.rebalance.moves import _Community


@dataclass(frozen=True)
class Infeasible:
    """A grid still outside its bounds after rebalancing, and why."""

    grid: str
    community: str
    households: int
    min: int
    max: int
    reason: str


@dataclass(frozen=True)
class RebalanceResult:
    plan: GridPlan
    moves: tuple[Move, ...]
    households_moved: int
    new_grids: Mapping[str, str]
    infeasible: tuple[Infeasible, ...]

    def as_dict(self) -> dict:
        return {
            "moves": [m.__dict__ for m in self.moves],
            "buildings_moved": len(self.moves),
            "households_moved": self.households_moved,
            "new_grids": dict(self.new_grids),
            "infeasible": [i.__dict__ for i in self.infeasible],
        }


def rebalance(
    plan: GridPlan,
    *,
    households: Mapping[str, int],
    adjacency: Mapping[str, Iterable[str]],
    bounds: Mapping[str, tuple[int, int]] | None = None,
    default_bounds: tuple[int, int] = DEFAULT_BOUNDS,
    locked: Iterable[str] = (),
    together: Iterable[Iterable[str]] = (),
    issued_codes: Iterable[str] = (),
    allow_new_grids: bool = True,
    max_chain: int = 4,
    max_rounds: int = 50,
    communities: Iterable[str] | None = None,
) -> RebalanceResult:
    """Bring every grid of ``plan`` within its community's bounds with as few households moved as possible.

    Parameters
    ----------
    plan
        The plan to start from (typically the published one). It is not changed.
    households
        Today's households per building id (every building of the plan must be present).
    adjacency
        Building id → neighbouring building ids (e.g. from touching tessellation cells).
    bounds, default_bounds
        ``(min, max)`` households per community id; ``default_bounds`` for the others.
    locked
        Grid codes that must not change: no building leaves or joins them.
    together
        Groups of building ids that must stay in one grid (a building leader's home and the building they
        serve, see :func:`together_groups`; overlapping footprints, :func:`overlapping_groups`; joined by
        :func:`tie_groups`); such a group moves as one unit and is never split.
    issued_codes
        Every grid code ever issued (layer ``grid_codes``): a new grid gets a code above all of them.
    allow_new_grids
        Split a grid when a community's households cannot fit its grids; otherwise report it.
    max_chain
        Longest chain of grids an excess may be pushed along.
    communities
        Community ids to rebalance (default: every community); the others are left as they are.

    Returns
    -------
    RebalanceResult
        The new plan (``parent`` = ``plan``, ``moves`` = net building moves), the moves, households
        moved, new grid codes and the grids still outside bounds with the reason.
    """
    missing = [b for b in plan.assignment if b not in households]
    if missing:
        raise RebalanceError(f"no household count for {len(missing)} buildings, e.g. {missing[:3]}")
    negative = [b for b in plan.assignment if int(households[b]) < 0]
    if negative:
        raise RebalanceError(f"negative household count for buildings {negative[:3]}")
    locked = set(locked)
    unknown = locked - set(plan.grid_community)
    if unknown:
        raise RebalanceError(f"locked grids not in the plan: {sorted(unknown)[:5]}")
    groups = [frozenset(g) for g in together]
    issued = set(issued_codes) | set(plan.grid_community)

    by_community: dict[str, list[str]] = {}
    for code, com in plan.grid_community.items():
        by_community.setdefault(com, []).append(code)

    final: dict[str, str] = {}
    new_grids: dict[str, str] = {}
    infeasible: list[Infeasible] = []
    only = None if communities is None else set(communities)
    for com in sorted(by_community):
        if only is not None and com not in only:
            continue
        lo, hi = _bounds_of(com, bounds, default_bounds)
        if lo > hi:
            raise RebalanceError(f"community {com}: min {lo} is above max {hi}")
        state = _Community(com, plan, sorted(by_community[com]), households, adjacency, groups, lo, hi, locked)
        _balance(state, max_chain, max_rounds)
        if allow_new_grids:
            while _could_use_another_grid(state):
                code = fresh_code(com, issued)
                if not _try_split(state, code, max_chain, max_rounds):
                    break
                issued.add(code)
                new_grids[code] = com
        for u, g in state.grid_of.items():
            for b in state.members[u]:
                if plan.assignment[b] != g:
                    final[b] = g
        infeasible.extend(_report(state))

    new_plan = plan.reassign(final, new_grids=new_grids)
    moved = sum(int(households[m.building_id]) for m in new_plan.moves)
    return RebalanceResult(new_plan, new_plan.moves, moved, new_grids, tuple(infeasible))


def _balance(state: _Community, max_chain: int, max_rounds: int) -> None:
    for _ in range(max_rounds):
        bad = sorted(
            (g for g in state.units if state.free(g) and state.violation(g)), key=lambda g: (-state.violation(g), g)
        )
        progress = False
        for g in bad:
            if state.violation(g) and state.fix(g, max_chain):
                progress = True
        if not progress:
            return


def _could_use_another_grid(state: _Community) -> bool:
    """A free grid is still above max (no moves fixed it) and the community has households enough for
    one grid more at the minimum size."""
    free = [g for g in state.units if state.free(g)]
    total = sum(state.hh[g] for g in free)
    over = any(state.hh[g] > state.hi and len(state.units[g]) > 1 for g in free)
    return over and total >= (len(free) + 1) * state.lo


def _try_split(state: _Community, code: str, max_chain: int, max_rounds: int) -> bool:
    """Split one over-full grid into two and rebalance; kept only if fewer grids end out of bounds."""
    candidates = sorted(
        (g for g in state.units if state.free(g) and state.hh[g] > state.hi and len(state.units[g]) > 1),
        key=lambda g: (-state.hh[g], g),
    )
    before = state.badness()[0]
    for g in candidates[:4]:
        # an even split: carving off only the minimum made the rebalance after it move more (bench)
        mark = len(state.log)
        state.split(g, code)
        _balance(state, max_chain, max_rounds)
        if state.badness()[0] < before:
            return True
        state.rollback(mark)
        state.drop(code)
    return False


def _report(state: _Community) -> list[Infeasible]:
    out = []
    free = [g for g in state.units if state.free(g)]
    total = sum(state.hh[g] for g in free)
    for g in sorted(state.units):
        if not state.violation(g):
            continue
        big = [u for u in state.units[g] if state.weight[u] > state.hi]
        if g in state.locked:
            reason = "locked"
        elif big:
            reason = "building_above_max"
        elif total > len(free) * state.hi:
            reason = "community_needs_more_grids"
        elif total < len(free) * state.lo:
            reason = "community_needs_fewer_grids"
        else:
            reason = "no_contiguous_transfer"
        out.append(Infeasible(g, state.community, state.hh[g], state.lo, state.hi, reason))
    return out
