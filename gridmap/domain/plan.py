"""GridPlan: an immutable building → grid assignment that remembers its parent and the moves that made it.

A plan is a value (after GerryChain's ``Partition``): changing it returns a new plan. Derived views
(grids, households per grid) are computed lazily and cached. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, cast

from gridmap.errors import InvalidInput


@dataclass(frozen=True)
class Move:
    building_id: str
    from_grid: str
    to_grid: str


class PlanError(InvalidInput):
    """A change to a plan that cannot be made (unknown building, unknown grid …)."""


@dataclass(frozen=True, eq=False)
class GridPlan:
    """``assignment``: building id → grid code. ``grid_community``: grid code → community id."""

    assignment: Mapping[str, str]
    grid_community: Mapping[str, str]
    parent: GridPlan | None = None
    moves: tuple[Move, ...] = ()
    id: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignment", MappingProxyType(dict(self.assignment)))
        object.__setattr__(self, "grid_community", MappingProxyType(dict(self.grid_community)))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))
        unknown = set(self.assignment.values()) - set(self.grid_community)
        if unknown:
            raise PlanError(f"grids without a community: {sorted(unknown)[:5]}")

    # -- views ---------------------------------------------------------------------------------
    @cached_property
    def grids(self) -> Mapping[str, frozenset[str]]:
        """grid code → frozenset of building ids (grids without buildings map to an empty set)."""
        out: dict[str, set[str]] = {code: set() for code in self.grid_community}
        for building, code in self.assignment.items():
            out[code].add(building)
        return MappingProxyType({k: frozenset(v) for k, v in sorted(out.items())})

    def grid_of(self, building_id: str) -> str:
        try:
            return self.assignment[building_id]
        except KeyError:
            raise PlanError(f"building {building_id!r} is not in this plan") from None

    def grids_in(self, community_id: str) -> list[str]:
        return sorted(c for c, com in self.grid_community.items() if com == community_id)

    @property
    def codes(self) -> list[str]:
        return sorted(self.grid_community)

    # -- changes -------------------------------------------------------------------------------
    def reassign(
        self, moves: Iterable[tuple[str, str]] | Mapping[str, str], *, new_grids: Mapping[str, str] | None = None
    ) -> GridPlan:
        """A new plan with buildings moved to other grids (``(building_id, to_grid)`` pairs).

        ``new_grids`` adds grid codes (code → community). A move across communities is refused.
        """
        pairs = list(moves.items()) if isinstance(moves, Mapping) else list(moves)
        grid_community = dict(self.grid_community)
        grid_community.update(new_grids or {})
        # the proxy's (__post_init__) dict copy: ~5× faster than dict(proxy)
        assignment = cast("MappingProxyType[str, str]", self.assignment).copy()
        made: list[Move] = []
        for building, to_grid in pairs:
            if building not in assignment:
                raise PlanError(f"building {building!r} is not in this plan")
            if to_grid not in grid_community:
                raise PlanError(f"grid {to_grid!r} does not exist")
            from_grid = assignment[building]
            if grid_community[from_grid] != grid_community[to_grid]:
                raise PlanError(
                    f"building {building!r} cannot move to grid {to_grid!r}: a grid never spans two communities"
                )
            if from_grid != to_grid:
                assignment[building] = to_grid
                made.append(Move(building, from_grid, to_grid))
        return GridPlan(assignment, grid_community, parent=self, moves=tuple(made), meta=dict(self.meta))

    def without_grids(self, codes: Iterable[str]) -> GridPlan:
        """A new plan whose empty grids ``codes`` are dropped (after a merge)."""
        codes = set(codes)
        busy = [c for c in codes if self.grids.get(c)]
        if busy:
            raise PlanError(f"grids still hold buildings: {sorted(busy)}")
        grid_community = {c: com for c, com in self.grid_community.items() if c not in codes}
        return GridPlan(self.assignment, grid_community, parent=self, moves=(), meta=dict(self.meta))

    @property
    def stored_id(self) -> str:
        """The id of a plan read from or written to the store (a plan made in memory has none)."""
        if self.id is None:
            raise PlanError("this plan has no id: it has not been stored")
        return self.id

    def with_id(self, plan_id: str) -> GridPlan:
        return GridPlan(
            self.assignment, self.grid_community, parent=self.parent, moves=self.moves, id=plan_id, meta=dict(self.meta)
        )

    def history(self) -> list[GridPlan]:
        """This plan and its ancestors, newest first."""
        out: list[GridPlan] = []
        plan: GridPlan | None = self
        while plan is not None:
            out.append(plan)
            plan = plan.parent
        return out

    def same_assignment(self, other: GridPlan) -> bool:
        return dict(self.assignment) == dict(other.assignment) and dict(self.grid_community) == dict(
            other.grid_community
        )

    def __repr__(self) -> str:
        return (
            f"GridPlan(id={self.id!r}, buildings={len(self.assignment)}, "
            f"grids={len(self.grid_community)}, moves={len(self.moves)})"
        )
