"""One community's grids as mutable working state for the rebalance: units (buildings tied together) in
grids, and the moves that keep every grid contiguous — transfers, swaps, chains along neighbouring grids,
and carving a new grid out of an over-full one. Every move can be rolled back.

Pure: no I/O. Everything is plain dicts and sets.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping

from gridmap.domain.plan import GridPlan
from gridmap.domain.rebalance.checks import components


class _Community:
    """Mutable working state of one community: units (buildings tied together) in grids."""

    def __init__(
        self,
        community: str,
        plan: GridPlan,
        grids: list[str],
        households: Mapping[str, int],
        adjacency: Mapping[str, Iterable[str]],
        groups: list[frozenset[str]],
        lo: int,
        hi: int,
        locked: set[str],
    ) -> None:
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

        for group in groups:  # the members of a group in one grid become one unit (all of them, in any order)
            by_grid: dict[str, list[str]] = {}
            for b in sorted(group):
                if b in in_community:
                    by_grid.setdefault(plan.assignment[b], []).append(b)
            for members in by_grid.values():
                for a, b in zip(members, members[1:]):
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
        self.pinned = {u for u, bs in self.members.items() if len(bs) > 1 and components(bs, adjacency) > 1}
        self.grid_of = {u: plan.assignment[bs[0]] for u, bs in self.members.items()}
        self.units: dict[str, set[str]] = {g: set() for g in grids}
        for u, g in self.grid_of.items():
            self.units[g].add(u)
        self.hh = {g: sum(self.weight[u] for u in us) for g, us in self.units.items()}
        self.badj = adjacency
        self.bset: dict[str, set[str]] = {g: {b for u in us for b in self.members[u]} for g, us in self.units.items()}
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
    def transfer(
        self, g: str, h: str, need: int, cap: float, floor: float, exclude: frozenset[str] = frozenset()
    ) -> int:
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

    def _options(self, g: str, h: str, rem: int, room: float, floor: float, exclude: frozenset[str]) -> list[str]:
        finishing: list[tuple[int, int, str]] = []
        partial: list[tuple[int, int, str]] = []
        h_units = self.units[h]
        for u in self.units[g]:
            w = self.weight[u]
            if w > room or self.hh[g] - w < floor or u in exclude:
                continue
            touch = len(self.adj[u] & h_units)
            if touch:
                (finishing if w >= rem else partial).append((w, -touch, u) if w >= rem else (-w, -touch, u))
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

    def _search(
        self, g: str, h: str, need: int, cap: float, floor: float, exclude: frozenset[str], moved: int, depth: int
    ) -> tuple[tuple[int, int], list[str]]:
        if moved >= need:
            return (0, moved), []
        best: tuple[tuple[int, int], list[str]] = ((1, -moved), [])
        if self._budget <= 0 or depth >= 8:
            return best
        for u in self._options(g, h, need - moved, cap - moved, floor, exclude):
            self._budget -= 1
            mark = len(self.log)
            self.move(u, h, kept=True)
            score, seq = self._search(g, h, need, cap, floor, exclude, moved + self.weight[u], depth + 1)
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
        firsts = sorted(
            (self.weight[u], u) for u in self.units[src] if any(self.grid_of[v] == dst for v in self.adj[u])
        )
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
        prev: dict[str, str | None] = {g: None}
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
            path, step = [y], prev[y]
            while step is not None:
                path.append(step)
                step = prev[step]
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
        ok = (
            sum(self.violation(p) for p in path) < total
            and all(not self.violation(p) for p in was_ok)
            and all(self.parts[p] <= 1 or p not in was_ok for p in path)
        )
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


def split_off(
    plan: GridPlan,
    code: str,
    new_code: str,
    *,
    households: Mapping[str, int],
    adjacency: Mapping[str, Iterable[str]],
    together: Iterable[Iterable[str]] = (),
) -> list[str]:
    """The buildings of grid ``code`` that splitting it would give the new grid ``new_code``: about half of
    its households, contiguous, carved from its far end (:meth:`_Community.split`), sorted by id. Buildings
    of one ``together`` group (see :func:`~gridmap.domain.rebalance.rebalance`) stay on one side."""
    groups = [frozenset(g) for g in together]
    state = _Community(plan.grid_community[code], plan, [code], households, adjacency, groups, 0, 10**9, set())
    state.split(code, new_code)
    return sorted(b for u in state.units[new_code] for b in state.members[u])
