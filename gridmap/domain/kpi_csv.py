"""The KPI report as a CSV a spreadsheet reads: unit codes with their names, every figure a number (rates as
percentages), a column naming the figures withheld as small counts, Chinese headers by default (issue 15)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from gridmap.domain.codes import community_of, street_of
from gridmap.domain.kpi import COUNT_FIELDS, DERIVED_FIELDS, KpiError

#: unit columns per level: (key, Chinese header, English header)
CSV_UNIT_COLUMNS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "grid": (
        ("grid", "网格编码", "grid code"),
        ("grid_name", "网格", "grid"),
        ("community_name", "社区", "community"),
        ("street_name", "街道", "street"),
    ),
    "community": (
        ("community", "社区编码", "community code"),
        ("community_name", "社区", "community"),
        ("street_name", "街道", "street"),
    ),
    "street": (("street", "街道编码", "street code"), ("street_name", "街道", "street")),
}
#: figure columns: (key, Chinese header, English header, percent) — rates are written as percentages
CSV_FIGURES: tuple[tuple[str, str, str, bool], ...] = (
    ("households", "户数", "households", False),
    ("complaints", "诉求数", "requests", False),
    ("complaints_prev", "上年诉求数", "requests last year", False),
    ("per_1000", "每千户诉求", "requests per 1000 households", False),
    ("per_1000_prev", "上年每千户诉求", "requests per 1000 households last year", False),
    ("change", "同比变化(%)", "change on last year (%)", True),
    ("responded", "及时响应数", "responded in time", False),
    ("response_rate", "响应率(%)", "response rate (%)", True),
    ("evaluated", "已评价数", "evaluated", False),
    ("resolved_yes", "评价已解决数", "rated resolved", False),
    ("resolution_rate", "解决率(%)", "resolution rate (%)", True),
    ("satisfied", "满意数", "satisfied", False),
    ("satisfaction_rate", "满意率(%)", "satisfaction rate (%)", True),
    ("disputes", "纠纷诉求数", "dispute requests", False),
    ("disputes_resolved", "纠纷调处数", "disputes resolved", False),
    ("dispute_rate", "纠纷调处率(%)", "dispute resolution rate (%)", True),
    ("dispute_rate_prev", "上年纠纷调处率(%)", "dispute resolution rate last year (%)", True),
    ("dispute_change", "调处率增幅(%)", "dispute rate change (%)", True),
    ("open", "未办结", "open", False),
    ("overdue_open", "超期未办结", "overdue open", False),
    ("closed_late", "超期办结", "closed late", False),
)
#: the flag columns: the target met (是/否), and which figures were withheld (small counts, issue #7)
CSV_TARGET = ("target_met", "同比目标达成", "target met")
CSV_WITHHELD = ("withheld", "隐藏的数值", "withheld figures")


def csv_table(
    rows: Iterable[Mapping[str, Any]], level: str, names: Mapping[str, Mapping[str, str]], *, english: bool = False
) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the KPI CSV of ``level`` (rows as in ``report["levels"][level]``).

    ``names``: ``{"grid": {code: "恒珠社区 005"}, "community": {id: name}, "street": {id: name}}``. Every figure
    column holds a number or nothing: a count shown as ``"<5"`` is left empty and named, with the rates
    built on it, in the withheld column (headers in the same language), so a spreadsheet parses every figure.
    """
    if level not in CSV_UNIT_COLUMNS:
        raise KpiError(f"level must be grid, community or street, got {level!r}")
    pick = 2 if english else 1
    units = CSV_UNIT_COLUMNS[level]
    header = (
        [u[pick] for u in units]
        + [f[2] if english else f[1] for f in CSV_FIGURES]
        + [CSV_TARGET[pick], CSV_WITHHELD[pick]]
    )
    yes, no = ("yes", "no") if english else ("是", "否")
    out = []
    for r in rows:
        code = str(r[level])
        unit = {
            level: code,
            "grid_name": names.get("grid", {}).get(code, ""),
            "community_name": names.get("community", {}).get(community_of(code) or "", ""),
            "street_name": names.get("street", {}).get(street_of(code) or "", ""),
        }
        hidden = {k for k in COUNT_FIELDS if k in r and (r[k] is None or isinstance(r[k], str))}
        hidden |= {k for k, src in DERIVED_FIELDS.items() if hidden.intersection(src)}
        line: list[Any] = [unit.get(u[0], "") for u in units]
        for key, *_h, percent in CSV_FIGURES:
            v = r.get(key)
            if isinstance(v, str) or v is None or (isinstance(v, float) and np.isnan(v)):
                line.append("")
            else:
                line.append(_number(key, float(v), percent))
        met = r.get("target_met")
        line.append("" if met is None or "target_met" in hidden else (yes if met else no))
        line.append(";".join(f[2] if english else f[1] for f in CSV_FIGURES if f[0] in hidden))
        out.append(line)
    return header, out


def _number(key: str, v: float, percent: bool) -> float | int:
    if percent:
        return round(v * 100, 2)
    return round(v, 4) if key.startswith("per_") else int(v)


def header_keys() -> dict[str, str]:
    """Every CSV header, Chinese and English, → the report key it holds (``"诉求数"`` → ``"complaints"``); the
    unit code headers → the level (``"网格编码"`` → ``"grid"``)."""
    out = {}
    for cols in CSV_UNIT_COLUMNS.values():
        out.update({h: key for key, *hs in cols for h in hs})
    out.update({h: key for key, *hs, _pct in CSV_FIGURES for h in hs})
    out.update({h: CSV_TARGET[0] for h in CSV_TARGET[1:]})
    out.update({h: CSV_WITHHELD[0] for h in CSV_WITHHELD[1:]})
    return out
