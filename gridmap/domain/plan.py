"""GridPlan: an immutable building → grid assignment that remembers its parent and the moves that made it.

A plan is a value (after GerryChain's ``Partition``): changing it returns a new plan. Derived views
(grids, households per grid) are computed lazily and cached. A changed plan shares its assignment with the
plan it came from (:class:`Assignment`: a shared base and the few entries that differ), so a planner's move
costs what it changes, not the size of the district. No I/O here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from gridmap.errors import InvalidInput


@dataclass(frozen=True)
class Move:
    building_id: str
    from_grid: str
    to_grid: str


class PlanError(InvalidInput):
    """A change to a plan that cannot be made (unknown building, unknown grid …)."""


class Assignment(Mapping[str, str]):
    """Building id → grid code, immutable. :meth:`changed` returns a new one that shares every unchanged entry
    with this one: a base dict (never written after it is made, shared along a chain of changes) and a small
    dict of the entries that differ from it, folded into a new base once it holds a sizeable share of the
    buildings. Buildings per grid code are counted alongside (what :meth:`codes` answers), kept up to date
    change by change once they have been counted.
    """

    __slots__ = ("_base", "_delta", "_counts")

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._base: dict[str, str] = dict(items)
        self._delta: dict[str, str] = {}
        self._counts: dict[str, int] | None = None

    @classmethod
    def _made(cls, base: dict[str, str], delta: dict[str, str], counts: dict[str, int] | None) -> Assignment:
        out = cls.__new__(cls)
        out._base, out._delta, out._counts = base, delta, counts
        return out

    # -- the mapping ---------------------------------------------------------------------------
    def __getitem__(self, building: str) -> str:
        delta = self._delta
        return delta[building] if building in delta else self._base[building]

    def get(self, building: str, default: Any = None) -> Any:
        delta = self._delta
        return delta[building] if building in delta else self._base.get(building, default)

    def __contains__(self, building: object) -> bool:
        return building in self._base

    def __iter__(self) -> Iterator[str]:
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)

    def keys(self) -> KeysView[str]:
        return self._base.keys()

    def items(self) -> ItemsView[str, str]:
        return self._base.items() if not self._delta else ItemsView(self)

    def values(self) -> ValuesView[str]:
        return self._base.values() if not self._delta else ValuesView(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Assignment) and other._base is self._base:  # one chain: compare what differs
            return all(self[b] == other[b] for b in self._delta.keys() | other._delta.keys())
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and all(other.get(b, None) == g for b, g in self.items())

    __hash__ = None  # type: ignore[assignment]  # a mapping: compared by value, not hashed

    def __repr__(self) -> str:
        return f"Assignment({len(self)} buildings, {len(self._delta)} changed)"

    # -- changes -------------------------------------------------------------------------------
    def codes(self) -> set[str]:
        """The grid codes that hold at least one building."""
        return set(self._counted())

    def _counted(self) -> dict[str, int]:
        if self._counts is None:
            counts = Counter(self._base.values())
            for b, g in self._delta.items():
                counts[self._base[b]] -= 1
                counts[g] += 1
            self._counts = {g: n for g, n in counts.items() if n}
        return self._counts

    def changed(self, changes: Mapping[str, str]) -> Assignment:
        """A new assignment with ``changes`` (building → grid code; buildings already here) made; this one
        stays as it is."""
        counts = dict(self._counted())
        delta = dict(self._delta)
        base = self._base
        for b, g in changes.items():
            old = delta[b] if b in delta else base[b]
            if old == g:
                continue
            counts[old] -= 1
            if not counts[old]:
                del counts[old]
            counts[g] = counts.get(g, 0) + 1
            if base[b] == g:
                delta.pop(b, None)
            else:
                delta[b] = g
        if len(delta) > max(256, len(base) // 32):  # fold the changes into a new base now and then
            base = {**base, **delta}
            delta = {}
        return Assignment._made(base, delta, counts)


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
        assignment = self.assignment
        if not isinstance(assignment, Assignment):  # an Assignment is immutable: shared as it is
            object.__setattr__(self, "assignment", Assignment(assignment))
        object.__setattr__(self, "grid_community", MappingProxyType(dict(self.grid_community)))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))
        unknown = self._assignment.codes() - self.grid_community.keys()
        if unknown:
            raise PlanError(f"grids without a community: {sorted(unknown)[:5]}")

    @property
    def _assignment(self) -> Assignment:
        assert isinstance(self.assignment, Assignment)  # __post_init__ makes it one
        return self.assignment

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
        current = self._assignment
        changes: dict[str, str] = {}
        made: list[Move] = []
        for building, to_grid in pairs:
            if building not in current:
                raise PlanError(f"building {building!r} is not in this plan")
            if to_grid not in grid_community:
                raise PlanError(f"grid {to_grid!r} does not exist")
            from_grid = changes[building] if building in changes else current[building]
            if grid_community[from_grid] != grid_community[to_grid]:
                raise PlanError(
                    f"building {building!r} cannot move to grid {to_grid!r}: a grid never spans two communities"
                )
            if from_grid != to_grid:
                changes[building] = to_grid
                made.append(Move(building, from_grid, to_grid))
        return GridPlan(current.changed(changes), grid_community, parent=self, moves=tuple(made), meta=dict(self.meta))

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
        return self.assignment == other.assignment and dict(self.grid_community) == dict(other.grid_community)

    def __repr__(self) -> str:
        return (
            f"GridPlan(id={self.id!r}, buildings={len(self.assignment)}, "
            f"grids={len(self.grid_community)}, moves={len(self.moves)})"
        )
