"""Minimal-change rebalancing of a grid plan, and the per-grid checks a draft runs after every change.

Given a :class:`~gridmap.domain.plan.GridPlan`, today's households per building, the building adjacency graph
and household bounds per community, :func:`rebalance` returns a new plan (parent = the input, the net
moves recorded) in which every grid is within bounds wherever that is feasible, moving as few households
as it can: over-full grids hand boundary buildings to neighbours with room (or push along a short chain
of grids), under-full grids pull from neighbours with spare. Every move keeps both grids contiguous,
locked grids are never touched, buildings tied together (a building leader's home and the building they
serve) move as one unit, codes are kept, and a community gets a new grid — with a fresh, never-issued
code — only when its households cannot fit its grids at all.

Pure: no I/O. Everything is plain dicts and sets; communities are solved independently.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from gridmap.domain.plan import GridPlan, Move
from gridmap.errors import InvalidInput

DEFAULT_BOUNDS = (300, 500)

__all__ = ["DEFAULT_BOUNDS", "Infeasible", "RebalanceResult", "GridCheck", "RebalanceError",
           "rebalance", "check_grids", "components", "fresh_code", "together_groups", "members_of"]


class RebalanceError(InvalidInput):
    """The input to a rebalance or a check is inconsistent (missing households, unknown grid …)."""


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


def together_groups(stewards: Iterable[Mapping], *, buildings: Iterable[str] | None = None
                    ) -> list[frozenset[str]]:
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


def _bounds_of(community: str, bounds: Mapping[str, tuple[int, int]] | None,
               default: tuple[int, int]) -> tuple[int, int]:
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


def check_grids(plan: GridPlan, *, households: Mapping[str, int],
                adjacency: Mapping[str, Iterable[str]],
                bounds: Mapping[str, tuple[int, int]] | None = None,
                default_bounds: tuple[int, int] = DEFAULT_BOUNDS,
                codes: Iterable[str] | None = None,
                covered: Iterable[str] | None = None) -> dict[str, GridCheck]:
    """Check grids of ``plan``: bounds, contiguity (parts), emptiness and steward coverage.

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
        out[code] = GridCheck(code, community, hh, len(members), lo, hi, parts, tuple(problems))
    return out


# ---------------------------------------------------------------------------------------------
# the rebalance itself

class _Community:
    """Mutable working state of one community: units (buildings tied together) in grids."""

    def __init__(self, community: str, plan: GridPlan, grids: list[str], households: Mapping[str, int],
                 adjacency: Mapping[str, Iterable[str]], groups: list[frozenset[str]],
                 lo: int, hi: int, locked: set[str]) -> None:
        self.community, self.lo, self.hi, self.locked = community, lo, hi, locked
        buildings = [b for g in grids for b in plan.grids[g]]
        in_community = set(buildings)
        # union-find over together-groups, only within one grid (a split group cannot be re-joined here)
        parent = {b: b for b in buildings}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for group in groups:
            members = [b for b in group if b in in_community]
            for a, b in zip(members, members[1:]):
                if plan.assignment[a] == plan.assignment[b]:
                    parent[find(a)] = find(b)
        self.members: dict[str, list[str]] = {}
        for b in sorted(buildings):
            self.members.setdefault(find(b), []).append(b)
        self.unit_of = {b: u for u, bs in self.members.items() for b in bs}
        self.weight = {u: sum(int(households[b]) for b in bs) for u, bs in self.members.items()}
        self.adj: dict[str, set[str]] = {u: set() for u in self.members}
        for b in buildings:
            u = self.unit_of[b]
            for nb in adjacency.get(b, ()):
                v = self.unit_of.get(nb)
                if v is not None and v != u:
                    self.adj[u].add(v)
        # a tied group whose buildings do not touch cannot move without breaking contiguity: pin it
        self.pinned = {u for u, bs in self.members.items()
                       if len(bs) > 1 and components(bs, adjacency) > 1}
        self.grid_of = {u: plan.assignment[bs[0]] for u, bs in self.members.items()}
        self.units: dict[str, set[str]] = {g: set() for g in grids}
        for u, g in self.grid_of.items():
            self.units[g].add(u)
        self.hh = {g: sum(self.weight[u] for u in us) for g, us in self.units.items()}
        self.badj = adjacency
        self.bset: dict[str, set[str]] = {g: {b for u in us for b in self.members[u]}
                                          for g, us in self.units.items()}
        self.parts = {g: components(self.bset[g], adjacency) for g in self.units}
        # (unit, from, to, parts of from before, parts of to before) for rollback
        self.log: list[tuple[str, str, str, int, int]] = []

    # -- state -----------------------------------------------------------------------------------
    def grid_parts(self, g: str, without: str | None = None) -> int:
        """Connected parts of grid ``g``'s buildings (optionally without unit ``without``)."""
        nodes = self.bset[g] if without is None else self.bset[g] - set(self.members[without])
        return components(nodes, self.badj)

    def _stays_connected(self, g: str, u: str) -> bool:
        """Grid ``g`` (one piece) stays one piece without unit ``u``: a search from one of ``u``'s
        neighbours inside ``g`` that stops as soon as it has reached all of them (usually a few steps)."""
        gone = set(self.members[u])
        rest = self.bset[g]
        targets = {v for b in gone for v in self.badj.get(b, ()) if v in rest and v not in gone}
        if len(targets) <= 1:
            return True
        start = next(iter(targets))
        seen, queue = {start}, deque([start])
        left = len(targets) - 1
        while queue:
            for v in self.badj.get(queue.popleft(), ()):
                if v in rest and v not in gone and v not in seen:
                    seen.add(v)
                    queue.append(v)
                    if v in targets:
                        left -= 1
                        if not left:
                            return True
        return False

    def violation(self, g: str) -> int:
        return max(0, self.hh[g] - self.hi) + max(0, self.lo - self.hh[g])

    def badness(self) -> tuple[int, int]:
        """(grids out of bounds, households out of bounds) over the whole community."""
        v = [self.violation(g) for g in self.units]
        return sum(1 for x in v if x), sum(v)

    def drop(self, g: str) -> None:
        assert not self.units[g]
        del self.units[g], self.hh[g], self.parts[g], self.bset[g]

    def free(self, g: str) -> bool:
        return g not in self.locked

    def move(self, u: str, to: str, *, kept: bool = False, parts: tuple[int, int] | None = None) -> None:
        """Move unit ``u`` to grid ``to``. ``kept``: the caller checked that ``u``'s grid keeps its
        number of parts; ``parts``: both grids' part counts are known (rollback)."""
        frm = self.grid_of[u]
        before = (self.parts[frm], self.parts[to])
        touches = any(self.grid_of[v] == to for v in self.adj[u])
        self.units[frm].remove(u)
        self.units[to].add(u)
        self.bset[frm].difference_update(self.members[u])
        self.bset[to].update(self.members[u])
        self.grid_of[u] = to
        self.hh[frm] -= self.weight[u]
        self.hh[to] += self.weight[u]
        if parts is not None:
            self.parts[frm], self.parts[to] = parts
        else:
            if not (kept and before[0] == 1):
                self.parts[frm] = components(self.bset[frm], self.badj)
            if before[1] == 1 and touches and u not in self.pinned:
                self.parts[to] = 1
            else:
                self.parts[to] = components(self.bset[to], self.badj)
        self.log.append((u, frm, to, *before))

    def rollback(self, mark: int) -> None:
        while len(self.log) > mark:
            u, frm, to, p_frm, p_to = self.log.pop()
            self.move(u, frm, parts=(p_to, p_frm))
            self.log.pop()

    def neighbours(self, g: str) -> set[str]:
        out = set()
        for u in self.units[g]:
            for v in self.adj[u]:
                out.add(self.grid_of[v])
        out.discard(g)
        return out

    def removable(self, u: str) -> bool:
        """Taking ``u`` out of its grid keeps the grid's parts from growing (and the grid non-empty)."""
        if u in self.pinned:
            return False
        g = self.grid_of[u]
        if len(self.units[g]) <= 1:
            return False
        if self.parts[g] == 1:
            return self._stays_connected(g, u)
        return self.grid_parts(g, without=u) <= self.parts[g]

    # -- moves -------------------------------------------------------------------------------------
    def transfer(self, g: str, h: str, need: int, cap: float, floor: float,
                 exclude: frozenset[str] = frozenset()) -> int:
        """Move boundary units from ``g`` to ``h`` so that at least ``need`` households move.

        Never more than ``cap`` households, never leaving ``g`` below ``floor``, never a unit in
        ``exclude``. A small depth-first search (bounded) looks for the set that reaches ``need`` with
        the fewest households: at each step it tries the smallest unit that finishes the job and the two
        largest that do not. Returns the households moved (possibly fewer than ``need``).
        """
        self._budget = 40
        (_, _), seq = self._search(g, h, need, cap, floor, exclude, 0, 0)
        for u in seq:
            self.move(u, h, kept=True)
        return sum(self.weight[u] for u in seq)

    def _options(self, g: str, h: str, rem: int, room: float, floor: float,
                 exclude: frozenset[str]) -> list[str]:
        finishing, partial = [], []
        h_units = self.units[h]
        for u in self.units[g]:
            w = self.weight[u]
            if w > room or self.hh[g] - w < floor or u in exclude:
                continue
            touch = len(self.adj[u] & h_units)
            if touch:
                (finishing if w >= rem else partial).append(((w, -touch, u) if w >= rem
                                                             else (-w, -touch, u)))
        out = []
        for pool, k in ((sorted(finishing), 1), (sorted(partial), 2)):
            taken = 0
            for *_, u in pool:
                if taken == k:
                    break
                if self.removable(u):
                    out.append(u)
                    taken += 1
        return out

    def _search(self, g: str, h: str, need: int, cap: float, floor: float,
                exclude: frozenset[str], moved: int, depth: int) -> tuple[tuple[int, int], list[str]]:
        if moved >= need:
            return (0, moved), []
        best: tuple[tuple[int, int], list[str]] = ((1, -moved), [])
        if self._budget <= 0 or depth >= 8:
            return best
        for u in self._options(g, h, need - moved, cap - moved, floor, exclude):
            self._budget -= 1
            mark = len(self.log)
            self.move(u, h, kept=True)
            score, seq = self._search(g, h, need, cap, floor, exclude, moved + self.weight[u],
                                      depth + 1)
            self.rollback(mark)
            if score < best[0]:
                best = (score, [u, *seq])
        return best

    def swap(self, g: str, h: str, *, over: bool) -> bool:
        """Exchange: one boundary unit crosses between ``g`` and ``h`` even if it overshoots, and the
        other grid hands units back. Kept only if the two grids' violation shrinks."""
        src, dst = (g, h) if over else (h, g)
        before = self.violation(g) + self.violation(h)
        h_ok = not self.violation(h)
        firsts = sorted((self.weight[u], u) for u in self.units[src]
                        if any(self.grid_of[v] == dst for v in self.adj[u]))
        for _, u in firsts[:6]:
            if not self.removable(u):
                continue
            mark = len(self.log)
            self.move(u, dst, kept=True)
            if over:
                need = self.hh[h] - self.hi
                self.transfer(h, g, need, self.hi - self.hh[g], self.lo, frozenset({u}))
            else:
                need = self.lo - self.hh[h]
                self.transfer(g, h, need, self.hh[g] - self.lo, self.lo, frozenset({u}))
            after = self.violation(g) + self.violation(h)
            if after < before and (not h_ok or not self.violation(h)):
                return True
            self.rollback(mark)
        return False

    def paths_from(self, g: str, max_len: int) -> list[list[str]]:
        """Shortest grid paths from ``g`` through free grids (BFS order), up to ``max_len`` steps."""
        prev = {g: None}
        order, queue = [], deque([(g, 0)])
        while queue:
            x, d = queue.popleft()
            if d >= max_len:
                continue
            for y in sorted(self.neighbours(x)):
                if y in prev or not self.free(y):
                    continue
                prev[y] = x
                order.append(y)
                queue.append((y, d + 1))
        paths = []
        for y in order:
            path = [y]
            while prev[path[-1]] is not None:
                path.append(prev[path[-1]])
            paths.append(path[::-1])
        return paths

    def fix(self, g: str, max_chain: int) -> bool:
        """Try to bring grid ``g`` within bounds; True if its violation shrank."""
        before = self.violation(g)
        if self.hh[g] > self.hi:
            self._push(g, max_chain)
        elif self.hh[g] < self.lo:
            self._pull(g, max_chain)
        return self.violation(g) < before

    def _push(self, g: str, max_chain: int) -> None:
        # direct: neighbours with room, most room first
        for h in sorted(self.neighbours(g), key=lambda h: (self.hh[h], h)):
            excess = self.hh[g] - self.hi
            if excess <= 0:
                return
            if self.free(h) and self.hh[h] < self.hi:
                self.transfer(g, h, excess, self.hi - self.hh[h], self.lo)
        for h in sorted(self.neighbours(g), key=lambda h: (self.hh[h], h)):
            if self.hh[g] <= self.hi:
                return
            if self.free(h):
                self.swap(g, h, over=True)
        # chains: push the excess along g → p1 → … → pk, pk having room
        tries = 0
        for path in self.paths_from(g, max_chain):
            excess = self.hh[g] - self.hi
            if excess <= 0 or tries > 30:
                return
            if len(path) < 3 or self.hh[path[-1]] + excess > self.hi:
                continue
            tries += 1
            self._chain(path, over=True)

    def _pull(self, g: str, max_chain: int) -> None:
        for h in sorted(self.neighbours(g), key=lambda h: (-self.hh[h], h)):
            deficit = self.lo - self.hh[g]
            if deficit <= 0:
                return
            if self.free(h) and self.hh[h] > self.lo:
                self.transfer(h, g, deficit, self.hi - self.hh[g], self.lo)
        for h in sorted(self.neighbours(g), key=lambda h: (-self.hh[h], h)):
            if self.hh[g] >= self.lo:
                return
            if self.free(h):
                self.swap(g, h, over=False)
        tries = 0
        for path in self.paths_from(g, max_chain):
            deficit = self.lo - self.hh[g]
            if deficit <= 0 or tries > 30:
                return
            if len(path) < 3 or self.hh[path[-1]] - deficit < self.lo:
                continue
            tries += 1
            self._chain(path, over=False)

    def _chain(self, path: list[str], *, over: bool) -> None:
        """Push excess (or pull a deficit) along ``path``; keep it only if the total violation drops and
        no grid of the path that was within bounds leaves them."""
        mark = len(self.log)
        was_ok = {p for p in path if not self.violation(p)}
        total = sum(self.violation(p) for p in path)
        for a, b in zip(path, path[1:]):
            if over:
                need = self.hh[a] - self.hi
                if need <= 0:
                    break
                last = b == path[-1]
                self.transfer(a, b, need, (self.hi - self.hh[b]) if last else math.inf, self.lo)
            else:
                need = self.lo - self.hh[a]
                if need <= 0:
                    break
                self.transfer(b, a, need, self.hi - self.hh[a], -math.inf if b != path[-1] else self.lo)
        ok = sum(self.violation(p) for p in path) < total and \
            all(not self.violation(p) for p in was_ok) and \
            all(self.parts[p] <= 1 or p not in was_ok for p in path)
        if not ok:
            self.rollback(mark)

    # -- new grids -----------------------------------------------------------------------------------
    def split(self, g: str, new: str, *, target: float | None = None) -> None:
        """Carve a contiguous part of ``g`` of about ``target`` households (default half) into the new
        grid ``new``."""
        self.units[new] = set()
        self.bset[new] = set()
        self.hh[new] = 0
        self.parts[new] = 0
        us = self.units[g]
        target = self.hh[g] / 2 if target is None else target
        # start from a unit far from the rest (end of a BFS), grow by BFS keeping the rest contiguous
        start = _far_end(us, self.adj)
        queue, seen = deque([start]), {start}
        while queue and self.hh[new] < target:
            u = queue.popleft()
            if len(self.units[g]) <= 1:
                break
            if self.hh[new] and self.hh[new] + self.weight[u] - target > target - self.hh[new]:
                continue
            if not self.removable(u):
                continue
            if self.hh[new] and not any(self.grid_of[v] == new for v in self.adj[u]):
                continue
            self.move(u, new, kept=True)
            for v in sorted(self.adj[u]):
                if v in us and v not in seen:
                    seen.add(v)
                    queue.append(v)


def _far_end(units: set[str], adj: Mapping[str, set[str]]) -> str:
    first = min(units)
    last = first
    seen, queue = {first}, deque([first])
    while queue:
        last = queue.popleft()
        for v in sorted(adj[last]):
            if v in units and v not in seen:
                seen.add(v)
                queue.append(v)
    return last


def rebalance(plan: GridPlan, *, households: Mapping[str, int],
              adjacency: Mapping[str, Iterable[str]],
              bounds: Mapping[str, tuple[int, int]] | None = None,
              default_bounds: tuple[int, int] = DEFAULT_BOUNDS,
              locked: Iterable[str] = (),
              together: Iterable[Iterable[str]] = (),
              issued_codes: Iterable[str] = (),
              allow_new_grids: bool = True,
              max_chain: int = 4,
              max_rounds: int = 50) -> RebalanceResult:
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
        serve, see :func:`together_groups`); such a group moves as one unit.
    issued_codes
        Every grid code ever issued (layer ``grid_codes``): a new grid gets a code above all of them.
    allow_new_grids
        Split a grid when a community's households cannot fit its grids; otherwise report it.
    max_chain
        Longest chain of grids an excess may be pushed along.

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
    for com in sorted(by_community):
        lo, hi = _bounds_of(com, bounds, default_bounds)
        if lo > hi:
            raise RebalanceError(f"community {com}: min {lo} is above max {hi}")
        state = _Community(com, plan, sorted(by_community[com]), households, adjacency, groups,
                           lo, hi, locked)
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
        bad = sorted((g for g in state.units if state.free(g) and state.violation(g)),
                     key=lambda g: (-state.violation(g), g))
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
    candidates = sorted((g for g in state.units if state.free(g) and state.hh[g] > state.hi
                         and len(state.units[g]) > 1), key=lambda g: (-state.hh[g], g))
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
