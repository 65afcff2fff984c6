"""The per-grid checks a draft runs after every change (bounds, contiguity, emptiness, steward coverage),
and the small rules the rebalance shares with them: connected parts, fresh grid codes, tied buildings.

Pure: no I/O. Everything is plain dicts and sets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from gridmap.domain.footprints import OVERLAP_SHARE, groups, tied_pairs
from gridmap.domain.plan import GridPlan
from gridmap.errors import InvalidInput

DEFAULT_BOUNDS = (300, 500)


class RebalanceError(InvalidInput):
    """The input to a rebalance or a check is inconsistent (missing households, unknown grid …)."""


@dataclass(frozen=True)
class GridCheck:
    """The figures and verdicts for one grid of a plan."""

    code: str
    community: str
    households: int
    buildings: int
    min: int
    max: int
    parts: int
    problems: tuple[str, ...] = field(default=())

    @property
    def within_bounds(self) -> bool:
        return self.min <= self.households <= self.max

    @property
    def ok(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------------------------------
# small graph helpers


def components(nodes: Iterable[str], adjacency: Mapping[str, Iterable[str]]) -> int:
    """Number of connected parts of ``nodes`` in the graph ``adjacency`` (restricted to ``nodes``)."""
    todo = set(nodes)
    parts = 0
    while todo:
        parts += 1
        stack = [todo.pop()]
        while stack:
            for v in adjacency.get(stack.pop(), ()):
                if v in todo:
                    todo.remove(v)
                    stack.append(v)
    return parts


def fresh_code(community: str, issued: Iterable[str]) -> str:
    """The next grid code of ``community``: its id + a 3-digit sequence above every code ever issued."""
    n = len(community)
    seqs = [int(c[n:]) for c in issued if c.startswith(community) and c[n:].isdigit()]
    nxt = max(seqs, default=0) + 1
    if nxt > 999:
        raise RebalanceError(f"community {community} has used all 999 grid codes")
    return f"{community}{nxt:03d}"


def together_groups(stewards: Iterable[Mapping], *, buildings: Iterable[str] | None = None) -> list[frozenset[str]]:
    """Building groups that must stay in one grid: a building leader's home building and the building
    they serve (``role == "building_leader"``, ``building_id`` and ``serves``).

    Rows whose ``serves`` is not a known building (when ``buildings`` is given) are ignored.
    """
    known = set(buildings) if buildings is not None else None
    out = []
    for row in stewards:
        if row.get("role") != "building_leader":
            continue
        home, served = row.get("building_id"), row.get("serves")
        if not isinstance(home, str) or not isinstance(served, str) or home == served:
            continue
        if known is not None and (home not in known or served not in known):
            continue
        out.append(frozenset((home, served)))
    return out


def overlapping_groups(
    ids: Sequence[str], communities: Sequence[str], geoms: np.ndarray, *, share: float = OVERLAP_SHARE
) -> list[frozenset[str]]:
    """Buildings that are one physical building: footprints (``geoms``, metric CRS, aligned with ``ids`` and
    ``communities``) tied by :func:`gridmap.domain.footprints.tied_pairs` (the partitioner's ``tie_overlapping``
    rule); pairs that chain make one group."""
    ids = list(ids)
    pairs = tied_pairs(np.asarray(geoms, dtype=object), np.asarray(list(communities), dtype=object), min_share=share)
    if not len(pairs):
        return []
    label = groups(len(ids), pairs)
    members: dict[int, set[str]] = {}
    for k in np.unique(pairs).tolist():
        members.setdefault(int(label[k]), set()).add(ids[k])
    return sorted((frozenset(m) for m in members.values()), key=sorted)


def tie_groups(*group_lists: Iterable[Iterable[str]]) -> list[frozenset[str]]:
    """The groups of several tie rules joined where they share a building (tied to two partners, a building
    ties them to each other): every building in at most one group, each group in one grid."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for group_list in group_lists:
        for group in group_list:
            members = sorted(group)
            for a, b in zip(members, members[1:]):
                parent[find(a)] = find(b)
            if members:
                find(members[0])
    out: dict[str, set[str]] = {}
    for b in parent:
        out.setdefault(find(b), set()).add(b)
    return sorted((frozenset(m) for m in out.values() if len(m) > 1), key=sorted)


def _bounds_of(
    community: str, bounds: Mapping[str, tuple[int | None, int | None]] | None, default: tuple[int, int]
) -> tuple[int, int]:
    lo, hi = (bounds or {}).get(community, default)
    if lo is None or hi is None:
        lo = default[0] if lo is None else lo
        hi = default[1] if hi is None else hi
    return int(lo), int(hi)


# ---------------------------------------------------------------------------------------------
# checks (used by drafts after every change; incremental through ``codes``)


def members_of(plan: GridPlan, codes: Iterable[str]) -> dict[str, frozenset[str]]:
    """Buildings of grids ``codes`` without grouping the whole plan: start from the nearest ancestor
    whose grids are already known (cached) and replay the moves since. This keeps a check after one
    move proportional to the touched grids, not to the district."""
    codes = list(codes)
    chain = []
    p = plan
    while "grids" not in p.__dict__ and p.parent is not None:
        chain.append(p)
        p = p.parent
    base = p.grids
    out = {c: set(base.get(c, ())) for c in codes}
    for q in reversed(chain):
        for m in q.moves:
            if m.from_grid in out:
                out[m.from_grid].discard(m.building_id)
            if m.to_grid in out:
                out[m.to_grid].add(m.building_id)
    return {c: frozenset(v) for c, v in out.items()}


def plan_partners(plan: GridPlan, partners: Mapping[str, frozenset[str]], building: str) -> list[str]:
    """The buildings tied to ``building`` (``partners``: building → its tied group) that ``plan`` can keep with
    it, sorted: those in the plan and in the same community. A tie to a building the plan lacks (imported after
    the plan was made) or across a community line can never be kept, so it neither drags a move along nor flags
    a grid."""
    group = partners.get(building)
    if not group:
        return []
    grid_of, community_of = plan.assignment, plan.grid_community
    community = community_of[grid_of[building]]
    return sorted(p for p in group if p != building and p in grid_of and community_of[grid_of[p]] == community)


def _splits_a_tie(plan: GridPlan, members: frozenset[str], partners: Mapping[str, frozenset[str]]) -> bool:
    """Whether a grid of ``members`` holds some but not all of a tied group (as :func:`plan_partners` counts)."""
    return any(b in partners and any(p not in members for p in plan_partners(plan, partners, b)) for b in members)


def check_grids(
    plan: GridPlan,
    *,
    households: Mapping[str, int],
    adjacency: Mapping[str, Iterable[str]],
    bounds: Mapping[str, tuple[int, int]] | None = None,
    default_bounds: tuple[int, int] = DEFAULT_BOUNDS,
    codes: Iterable[str] | None = None,
    covered: Iterable[str] | None = None,
    partners: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, GridCheck]:
    """Check grids of ``plan``: bounds, contiguity (parts), emptiness, steward coverage and tied buildings.

    Parameters
    ----------
    plan
        The plan to check.
    households, adjacency
        Households per building id; building id → neighbouring building ids.
    bounds, default_bounds
        ``(min, max)`` households per community id, and the bounds of communities not listed.
    codes
        Check only these grids (the two a move touched); default every grid.
    covered
        Grid codes that have a grid leader (steward coverage); None skips that check.
    partners
        Building id → the group of buildings it must share a grid with (see
        :func:`tie_groups`); a grid holding part of a group is ``tie_split``. Moves and the rebalance keep groups
        whole; a plan made elsewhere (imported, or from before the tie) may not. None skips that check.

    Returns
    -------
    dict
        grid code → :class:`GridCheck` (``problems`` empty when the grid is fine).
    """
    codes = plan.codes if codes is None else sorted(set(codes))
    covered = None if covered is None else set(covered)
    unknown = [c for c in codes if c not in plan.grid_community]
    if unknown:
        raise RebalanceError(f"grid {unknown[0]!r} is not in this plan")
    grids = members_of(plan, codes)
    out = {}
    for code in codes:
        community = plan.grid_community[code]
        members = grids[code]
        hh = sum(int(households.get(b, 0)) for b in members)
        lo, hi = _bounds_of(community, bounds, default_bounds)
        parts = components(members, adjacency)
        problems = []
        if not members:
            problems.append("empty")
        if hh > hi:
            problems.append("above_max")
        elif hh < lo:
            problems.append("below_min")
        if parts > 1:
            problems.append("not_contiguous")
        if covered is not None and code not in covered:
            problems.append("no_grid_leader")
        if partners and _splits_a_tie(plan, members, partners):
            problems.append("tie_split")
        out[code] = GridCheck(code, community, hh, len(members), lo, hi, parts, tuple(problems))
    return out
