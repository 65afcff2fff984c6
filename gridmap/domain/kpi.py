"""The programme's figures from complaints and their events: rates per 1,000 households, the three rates
(三率), dispute resolution, overdue counts and red-property coverage, by grid, community and street.

Definitions (also in ``docs/complaints.md``):

* **counted** requests: every request except ``rejected`` and ``duplicate``; its year and month are those
  of ``created_at`` in the service's time zone (a request filed 2026-01-31T20:00Z counts for February in
  Shanghai).
* **complaints per 1,000 households** = counted requests / households of the unit × 1000. Year over year:
  ``change = (this − last) / last``; the programme's target is a fall of at least 30 % (``≤ −0.30``).
* **dispute resolution rate** = counted requests of dispute categories that reached ``resolved`` or
  ``evaluated`` and that the resident did not call unresolved / counted dispute requests; target: a rise
  of at least 30 % over the year before (relative).
* **response rate** = counted requests whose first ``responding`` or ``resolved`` event came within
  ``response_days`` working days of filing / counted requests.
* **resolution rate** / **satisfaction rate** = of the requests the resident evaluated (``rating`` set):
  share with ``resolved`` true / share with ``rating ≥ satisfied_min``.
* **overdue**: open now and past ``due_at``, plus closed after ``due_at`` (closed late).
* **red-property coverage** = estates whose property company has a party organisation / estates with a
  property company, against 50 % (2020), 70 % (2021), 100 % (2022).

A unit of a request is derived, not copied: grid = the published plan's grid of its building (else the
grid it was filed in), community = its community (else the grid's), street = the community's street.
Pure pandas; no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gridmap import clock
from gridmap.domain import coverage, privacy
from gridmap.domain.complaints.catalogue import CATEGORIES, STATES, Category
from gridmap.domain.workdays import WorkCalendar
from gridmap.errors import InvalidInput

__all__ = [
    "Units",
    "LEVELS",
    "COVERAGE_TARGETS",
    "RATE_TARGET",
    "DISPUTE_TARGET",
    "KpiError",
    "label_units",
    "complaint_rates",
    "dispute_rates",
    "three_rates",
    "overdue_counts",
    "red_property_coverage",
    "yearly_trend",
    "summary",
]

LEVELS = ("grid", "community", "street")
RATE_TARGET = -0.30
DISPUTE_TARGET = 0.30
COVERAGE_TARGETS = coverage.TARGETS  # red property: 50 % 2020, 70 % 2021, 100 % 2022 (gridmap.domain.coverage)
_NOT_COUNTED = ("rejected", "duplicate")
_DONE = ("resolved", "evaluated")


class KpiError(InvalidInput):
    """Figures asked for something the data cannot give (unknown level, missing column)."""


@dataclass(frozen=True)
class Units:
    """How buildings roll up: building → grid (published plan), grid → community, community → street,
    and households per building."""

    building_grid: Mapping[str, str]
    grid_community: Mapping[str, str]
    community_street: Mapping[str, str]
    building_households: Mapping[str, int]
    building_community: Mapping[str, str]

    def households(self, level: str) -> pd.Series:
        """Households per unit of ``level`` (units without households are left out)."""
        _check_level(level)
        b = pd.DataFrame(
            {
                "building": list(self.building_households),
                "households": [int(v or 0) for v in self.building_households.values()],
            }
        )
        b["grid"] = b["building"].map(self.building_grid)
        b["community"] = b["building"].map(self.building_community)
        b["community"] = b["community"].fillna(b["grid"].map(self.grid_community))
        b["street"] = b["community"].map(self.community_street)
        return b.dropna(subset=[level]).groupby(level)["households"].sum().astype(int)


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise KpiError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")


def label_units(complaints: pd.DataFrame, units: Units, *, zone: dt.tzinfo = clock.UTC) -> pd.DataFrame:
    """A copy of ``complaints`` with ``grid``, ``community``, ``street``, ``year``, ``month`` and ``counted``.

    ``created_at`` becomes aware UTC (naive means UTC, as everywhere); ``year`` and ``month`` are its year
    and month on clocks in ``zone``."""
    need = {"building_id", "community_id", "filed_grid_code", "created_at", "state", "category"}
    missing = need - set(complaints.columns)
    if missing:
        raise KpiError(f"complaints lack columns {sorted(missing)}")
    c = pd.DataFrame(complaints).copy()
    grid = c["building_id"].map(units.building_grid)
    c["grid"] = grid.where(grid.notna(), c["filed_grid_code"])
    com = c["community_id"]
    c["community"] = com.where(com.notna(), c["grid"].map(units.grid_community))
    c["street"] = c["community"].map(units.community_street)
    c["created_at"] = pd.to_datetime(c["created_at"], utc=True)
    filed = c["created_at"].dt.tz_convert(zone)
    c["year"], c["month"] = filed.dt.year, filed.dt.month
    c["counted"] = ~c["state"].isin(_NOT_COUNTED)
    return c


def _per_unit(c: pd.DataFrame, level: str, hh: pd.Series, year: int) -> pd.DataFrame:
    sel = c[c["counted"] & (c["year"] == year)]
    n = sel.groupby(level).size()
    out = pd.DataFrame({"households": hh}).join(n.rename("complaints"), how="outer")
    out["households"] = out["households"].fillna(0).astype(int)
    out["complaints"] = out["complaints"].fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["per_1000"] = np.where(
            out["households"] > 0, out["complaints"] / out["households"].where(out["households"] > 0) * 1000, np.nan
        )
    return out


def complaint_rates(
    labelled: pd.DataFrame, units: Units, *, level: str, year: int, categories: Iterable[str] | None = None
) -> pd.DataFrame:
    """Counted requests per 1,000 households by unit of ``level``, ``year`` against the year before.

    Returns
    -------
    DataFrame indexed by unit: ``households``, ``complaints``, ``per_1000``, ``complaints_prev``,
    ``per_1000_prev``, ``change`` (relative), ``target_met`` (change ≤ −30 %; NaN without a base).
    """
    _check_level(level)
    c = labelled if categories is None else labelled[labelled["category"].isin(list(categories))]
    hh = units.households(level)
    now, prev = _per_unit(c, level, hh, year), _per_unit(c, level, hh, year - 1)
    out = now.join(prev[["complaints", "per_1000"]].add_suffix("_prev"), how="outer")
    out["change"] = _change(out["per_1000"], out["per_1000_prev"])
    out["target_met"] = _met(out["change"], lambda ch: ch <= RATE_TARGET)
    out.index.name = level
    return out.sort_index()


def _change(now: pd.Series, prev: pd.Series) -> pd.Series:
    prev = prev.where(prev > 0)
    return (now - prev) / prev


def _met(change: pd.Series, rule: Any) -> pd.Series:
    return change.map(lambda ch: None if pd.isna(ch) else bool(rule(ch))).astype(object)


def _is_dispute(categories: Mapping[str, Category]) -> list[str]:
    return [code for code, cat in categories.items() if cat.dispute]


def _dispute_year(c: pd.DataFrame, level: str | None, year: int, codes: list[str]) -> pd.DataFrame:
    sel = c[c["counted"] & (c["year"] == year) & c["category"].isin(codes)].copy()
    sel["ok"] = sel["state"].isin(_DONE) & (sel["resolved"].astype(object) != False)  # noqa: E712
    key = level or (lambda _: "all")
    g = sel.groupby(key)
    out = pd.DataFrame({"disputes": g.size(), "resolved": g["ok"].sum()})
    out["rate"] = out["resolved"] / out["disputes"]
    return out


def dispute_rates(
    labelled: pd.DataFrame, *, year: int, level: str | None = None, categories: Mapping[str, Category] = CATEGORIES
) -> pd.DataFrame:
    """Dispute resolution (mediation) rate by unit (or overall when ``level`` is None), year over year.

    Columns ``disputes``, ``resolved``, ``rate``, the same with ``_prev``, ``change`` (relative) and
    ``target_met`` (rise of at least 30 %).
    """
    if level is not None:
        _check_level(level)
    codes = _is_dispute(categories)
    now, prev = _dispute_year(labelled, level, year, codes), _dispute_year(labelled, level, year - 1, codes)
    out = now.join(prev.add_suffix("_prev"), how="outer")
    for col in ("disputes", "resolved", "disputes_prev", "resolved_prev"):
        out[col] = out[col].fillna(0).astype(int)
    out["change"] = _change(out["rate"], out["rate_prev"])
    out["target_met"] = _met(out["change"], lambda ch: ch >= DISPUTE_TARGET)
    return out.sort_index()


def _first_response(events: pd.DataFrame) -> pd.Series:
    ev = events[events["to_state"].isin(("responding", "resolved"))]
    if "from_state" in ev:  # an event that keeps the state (a reply, a new time limit) is no response
        ev = ev[ev["from_state"].isna() | (ev["from_state"] != ev["to_state"])]
    return pd.to_datetime(ev.groupby("complaint_id")["at"].min(), utc=True)


def three_rates(
    labelled: pd.DataFrame,
    events: pd.DataFrame,
    *,
    year: int | None = None,
    level: str | None = None,
    calendar: WorkCalendar | None = None,
    response_days: int = 1,
    satisfied_min: int = 4,
) -> pd.DataFrame:
    """三率 by unit (or overall): response, resolution and satisfaction rates with their counts.

    Columns: ``requests``, ``responded``, ``response_rate``, ``evaluated``, ``resolved_yes``,
    ``resolution_rate``, ``satisfied``, ``satisfaction_rate``.
    """
    if level is not None:
        _check_level(level)
    calendar = calendar or WorkCalendar()
    c = labelled[labelled["counted"]]
    if year is not None:
        c = c[c["year"] == year]
    c = c.copy()
    first = _first_response(events)
    c["first_response"] = pd.to_datetime(first.reindex(c["id"].to_numpy()).to_numpy(), utc=True)
    deadline = pd.to_datetime(c["created_at"].map(lambda t: calendar.due(t, response_days)), utc=True)
    c["responded"] = c["first_response"].notna() & (c["first_response"] <= deadline)
    rating = pd.to_numeric(c["rating"], errors="coerce")
    c["evaluated"] = rating.notna()
    c["resolved_yes"] = c["evaluated"] & (c["resolved"].astype(object) == True)  # noqa: E712
    c["satisfied"] = c["evaluated"] & (rating >= satisfied_min)
    g = c.groupby(level or (lambda _: "all"))
    out = pd.DataFrame(
        {
            "requests": g.size(),
            "responded": g["responded"].sum(),
            "evaluated": g["evaluated"].sum(),
            "resolved_yes": g["resolved_yes"].sum(),
            "satisfied": g["satisfied"].sum(),
        }
    ).astype(int)
    out["response_rate"] = out["responded"] / out["requests"].where(out["requests"] > 0)
    out["resolution_rate"] = out["resolved_yes"] / out["evaluated"].where(out["evaluated"] > 0)
    out["satisfaction_rate"] = out["satisfied"] / out["evaluated"].where(out["evaluated"] > 0)
    return out.sort_index()


def overdue_counts(labelled: pd.DataFrame, *, now: dt.datetime, level: str | None = None) -> pd.DataFrame:
    """Open requests past their limit now (``overdue_open``) and requests closed late
    (``closed_late``), by unit."""
    if level is not None:
        _check_level(level)
    c = labelled[labelled["counted"]].copy()
    due = pd.to_datetime(c["due_at"], utc=True)  # naive means UTC
    closed = pd.to_datetime(c["closed_at"], utc=True)
    is_open = c["state"].map(lambda s: s in STATES and STATES[s].type == "open")
    c["open"] = is_open.astype(bool)
    c["overdue_open"] = c["open"] & due.notna() & (due < pd.Timestamp(clock.utc(now)))
    c["closed_late"] = ~c["open"] & closed.notna() & due.notna() & (closed > due)
    g = c.groupby(level or (lambda _: "all"))
    return (
        pd.DataFrame(
            {"open": g["open"].sum(), "overdue_open": g["overdue_open"].sum(), "closed_late": g["closed_late"].sum()}
        )
        .astype(int)
        .sort_index()
    )


def red_property_coverage(
    estates: pd.DataFrame,
    companies: pd.DataFrame,
    community_street: Mapping[str, str],
    *,
    level: str = "community",
    year: int | None = None,
) -> pd.DataFrame:
    """Share of estates with a property company whose company has a party organisation.

    The figures are :func:`gridmap.domain.coverage.red_property`'s (the one source of red-property coverage, also
    behind ``gridmap coverage``), over the estates that have a property company — the programme's
    denominator. ``level``: ``estate`` (0/1 each), ``community``, ``street`` or ``district`` (key: the
    district code, the first 6 digits of the street id); with ``year`` the target of that year (50 % 2020,
    70 % 2021, 100 % 2022 and after) and whether it is met. Columns ``estates``, ``red``, ``coverage``.
    """
    if level not in coverage.LEVELS:
        raise KpiError(f"unknown coverage level {level!r}; use estate, community, street or district")
    managed = pd.DataFrame(estates)
    managed = managed[managed["property_company_id"].notna()]
    communities = pd.DataFrame(
        {"id": [str(c) for c in community_street], "street_id": [str(s) for s in community_street.values()]}
    )
    table = coverage.red_property(managed, companies, communities)[level]
    if level == "estate":
        out = pd.DataFrame(
            {"estates": 1, "red": table["red"].astype(int).to_numpy()},
            index=pd.Index(table["id"].astype(str).to_numpy(), name="estate"),
        )
    else:
        key = {"community": "community_id", "street": "street_id", "district": "district_id"}[level]
        out = pd.DataFrame(
            {"estates": table["estates"].astype(int).to_numpy(), "red": table["red_estates"].astype(int).to_numpy()},
            index=pd.Index(table[key].to_numpy(), name=level),
        )
    out["coverage"] = out["red"] / out["estates"]
    if year is not None:
        target = COVERAGE_TARGETS.get(year, 1.0 if year > max(COVERAGE_TARGETS) else None)
        out["target"] = target
        out["target_met"] = None if target is None else out["coverage"] >= target - 1e-12
    return out.sort_index()


def yearly_trend(labelled: pd.DataFrame, units: Units) -> pd.DataFrame:
    """District-wide counted requests and rate per 1,000 households, per year and month."""
    total = int(sum(int(v or 0) for v in units.building_households.values()))
    c = labelled[labelled["counted"]]
    m = c.groupby(["year", "month"]).size()
    out = m.rename("complaints").reset_index()
    out["per_1000"] = out["complaints"] / total * 1000 if total else np.nan
    return out


def summary(
    labelled: pd.DataFrame,
    events: pd.DataFrame,
    units: Units,
    *,
    year: int,
    now: dt.datetime,
    calendar: WorkCalendar | None = None,
    satisfied_min: int = 4,
    response_days: int = 1,
) -> dict[str, Any]:
    """District-wide headline figures for ``year`` (JSON-ready)."""
    hh = int(units.households("street").sum())
    counted = labelled[labelled["counted"]]
    this, prev = int((counted["year"] == year).sum()), int((counted["year"] == year - 1).sum())
    rate = this / hh * 1000 if hh else None
    rate_prev = prev / hh * 1000 if hh else None
    change = (rate - rate_prev) / rate_prev if rate is not None and rate_prev else None
    three = three_rates(
        labelled, events, year=year, calendar=calendar, satisfied_min=satisfied_min, response_days=response_days
    )
    disp = dispute_rates(labelled, year=year)
    over = overdue_counts(labelled[labelled["year"] == year], now=now)
    row = three.iloc[0] if len(three) else None
    d = disp.iloc[0] if len(disp) else None
    o = over.iloc[0] if len(over) else None
    return {
        "year": year,
        "households": hh,
        "complaints": this,
        "complaints_prev": prev,
        "per_1000": _num(rate),
        "per_1000_prev": _num(rate_prev),
        "change": _num(change),
        "target_change": RATE_TARGET,
        "target_met": None if change is None else change <= RATE_TARGET,
        "response_rate": _num(row["response_rate"]) if row is not None else None,
        "resolution_rate": _num(row["resolution_rate"]) if row is not None else None,
        "satisfaction_rate": _num(row["satisfaction_rate"]) if row is not None else None,
        "dispute_rate": _num(d["rate"]) if d is not None else None,
        "dispute_rate_prev": _num(d["rate_prev"]) if d is not None else None,
        "dispute_change": _num(d["change"]) if d is not None else None,
        "target_dispute_change": DISPUTE_TARGET,
        "overdue_open": int(o["overdue_open"]) if o is not None else 0,
        "closed_late": int(o["closed_late"]) if o is not None else 0,
    }


def _num(v: Any) -> float | None:
    if v is None or pd.isna(v):
        return None
    return round(float(v), 6)


# -- what the public sees (security, issue #7) ---------------------------------------------------------
#: counts of requests and of what residents did: 1–4 become "<5" for public, viewer and embed callers
COUNT_FIELDS = (
    "complaints",
    "complaints_prev",
    "responded",
    "evaluated",
    "resolved_yes",
    "satisfied",
    "disputes",
    "disputes_resolved",
    "open",
    "overdue_open",
    "closed_late",
)
#: figures computed from those counts, withheld when a count they come from is suppressed
DERIVED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "per_1000": ("complaints",),
    "per_1000_prev": ("complaints_prev",),
    "change": ("complaints", "complaints_prev"),
    "target_met": ("complaints", "complaints_prev"),
    "response_rate": ("responded", "complaints"),
    "resolution_rate": ("resolved_yes", "evaluated"),
    "satisfaction_rate": ("satisfied", "evaluated"),
    "dispute_rate": ("disputes", "disputes_resolved"),
    "dispute_change": ("disputes", "disputes_resolved"),
}


def public_report(report: Mapping[str, Any], *, threshold: int | None = None) -> dict[str, Any]:
    """A KPI report (``services.complaints.kpi_report``) with small counts suppressed for callers who may
    not see personal data: every count in :data:`COUNT_FIELDS` from 1 to 4 shown as ``"<5"`` and the
    rates of :data:`DERIVED_FIELDS` built on such a count withheld (``None``)."""
    limit = threshold or privacy.SMALL_COUNT

    def clean(row: Mapping[str, Any]) -> dict[str, Any]:
        return privacy.suppress_counts(row, COUNT_FIELDS, derived=DERIVED_FIELDS, threshold=limit)

    out = dict(report)
    out["summary"] = clean(report["summary"])
    out["levels"] = {lvl: [clean(r) for r in rows] for lvl, rows in report["levels"].items()}
    out["trend"] = [clean(r) for r in report.get("trend", [])]
    return out
