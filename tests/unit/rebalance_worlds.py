"""Tiny hand-drawn lattice worlds for the rebalance, diff and plan-file tests."""

from __future__ import annotations

from gridmap.domain.plan import GridPlan


def lattice(rows: int, cols: int) -> dict[str, set[str]]:
    """Rook adjacency of buildings ``r{i}c{j}`` on a rows × cols lattice."""
    adj: dict[str, set[str]] = {}
    for i in range(rows):
        for j in range(cols):
            b = f"r{i}c{j}"
            adj[b] = {
                f"r{i + di}c{j + dj}"
                for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))
                if 0 <= i + di < rows and 0 <= j + dj < cols
            }
    return adj


def plan_from_rows(
    picture: list[str], community: str = "370214001001", codes: dict[str, str] | None = None
) -> GridPlan:
    """A plan drawn as rows of grid letters, e.g. ``["AAB", "AAB"]``; letter → code ``community + 00n``."""
    letters = sorted({ch for row in picture for ch in row})
    codes = codes or {ch: f"{community}{k + 1:03d}" for k, ch in enumerate(letters)}
    assignment = {f"r{i}c{j}": codes[ch] for i, row in enumerate(picture) for j, ch in enumerate(row)}
    return GridPlan(assignment, {codes[ch]: community for ch in letters})
