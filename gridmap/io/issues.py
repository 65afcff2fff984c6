"""One problem found in an input file (:class:`Issue`), and the helper that turns a row mask into issues."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class Issue:
    """One problem: ``row`` is the 1-based record number in the file (None: the whole file)."""

    row: int | None
    id: str | None
    field: str
    problem: str
    fix: str
    level: str = "error"
    rule: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _issue(df: pd.DataFrame, mask, field: str, problem, fix: str, level: str = "error", rule: str = "") -> list[Issue]:
    rows = df.loc[mask]
    probs = problem if isinstance(problem, pd.Series) else pd.Series(problem, index=rows.index)
    return [
        Issue(int(r), None if pd.isna(i) else str(i), field, str(probs[k]), fix, level, rule)
        for k, r, i in zip(rows.index, rows["_row"], rows.get("id", pd.Series(None, index=rows.index)))
    ]
