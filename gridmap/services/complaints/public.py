"""Every count of requests the public sees, decided together: one table behind the KPI report (JSON, CSV,
page), the OGC ``complaint_counts``, a grid's stats and the map's count bubbles, so that no combination of
public calls gives back a count from 1 to 4 (docs/security.md, "Small counts").

The table (:func:`public_table`) holds, from one labelling of the requests (:func:`gridmap.domain.kpi.label_units`)
and one ``now``:

* per year, unit (grid, community, street, the district) and KPI count (:data:`gridmap.domain.kpi.COUNT_FIELDS`);
* per unit now: all requests, open, closed, overdue (the map, OGC and grid stats);
* the district's requests and open requests per year (what the public Open311 list lets anyone count) and
  the KPI trend per month;

and the sums that tie them: a community is its grids plus a remainder, a street its communities, the district
its streets; a unit's requests now are its counted requests of every year plus the rejected and duplicates;
open now is the years' open; a unit's requests are open plus closed, responded plus not, satisfied plus not
… :func:`gridmap.domain.disclosure.protect` then suppresses (``"<5"``) and withholds (``None``) cells until
differencing every published figure against every sum pins none to 1–4. The answer is kept for a short time
per state of the data (a new or changed request makes a new table).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gridmap import config
from gridmap.domain import complaints as C
from gridmap.domain import disclosure, kpi, privacy
from gridmap.domain.codes import community_of, street_of
from gridmap.services.complaints.records import _now, policy_from
from gridmap.services.complaints.report import kpi_options, labelled, year_levels
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store

DISTRICT = "district"
ALL = "all"
#: unit levels from the finest, and how each unit's parent is found from its code (:mod:`gridmap.domain.codes`)
LEVELS = ("grid", "community", "street")
_PARENT = {
    "grid": ("community", community_of),
    "community": ("street", street_of),
    "street": (DISTRICT, lambda code: ALL),
}
#: additive KPI counts (``complaints_prev`` is the year before's ``complaints``)
FIELDS = tuple(f for f in kpi.COUNT_FIELDS if f != "complaints_prev")
#: counts now per unit, and which of them a public response shows per level
NOW = ("total", "open", "closed", "overdue")
NOW_SHOWN = {"grid": NOW, "community": ("total", "open", "overdue")}
#: per unit and year: a count that is the sum of two others (the second one never shown by itself)
SPLITS = (
    ("complaints", "responded"),
    ("complaints", "open"),
    ("complaints", "disputes"),
    ("evaluated", "satisfied"),
    ("evaluated", "resolved_yes"),
    ("open", "overdue_open"),
    ("disputes", "disputes_resolved"),
    ("complaints", "evaluated"),
)
#: district figures the summary shows itself or through a rate with a shown denominator
DISTRICT_SHOWN = FIELDS
#: how long a table is kept (seconds); a change to the requests makes a new one at once
CACHE_SECONDS = 120.0
_CACHE: dict[Any, tuple[float, PublicTable]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class PublicTable:
    """The published cells (``int``, ``"<5"`` or ``None``) and the moment they describe."""

    cells: Mapping[Any, Any]
    years: tuple[int, ...]
    now: dt.datetime

    def kpi(self, year: int, field: str, level: str, unit: str) -> Any:
        """A KPI count of ``year`` as the public sees it (0 where the unit had none)."""
        if field == "complaints_prev":
            year, field = year - 1, "complaints"
        return self.cells.get(("kpi", int(year), field, level, str(unit)), 0)

    def current(self, measure: str, level: str, unit: str) -> Any:
        """A count now (``total``, ``open``, ``closed``, ``overdue``) of a grid or community."""
        return self.cells.get(("now", measure, level, str(unit)), 0)


def public_table(store: Store, *, settings: Mapping[str, Any] | None = None) -> PublicTable:
    """The public counts of ``store``'s requests, kept while the requests and the published plan stay the same
    (:func:`_fingerprint`: the store's change counters, not a read of the requests). After
    :data:`CACHE_SECONDS` the kept table is still answered while a new one (a later moment: overdue requests) is
    made in the background, so no request waits for the whole district's requests to be labelled again; a
    change to the requests or the plan makes a new table at once."""
    settings = settings if settings is not None else config.load()
    key = (
        store.url,
        published_plan_id(store),
        _fingerprint(store),
        repr(sorted((k, repr(v)) for k, v in settings.items() if str(k).startswith("COMPLAINT"))),
    )
    with _LOCK:
        hit = _CACHE.get(key)
        stale = hit is not None and time.monotonic() - hit[0] > CACHE_SECONDS
        if stale and key not in _REFRESHING:  # same requests, older moment: answer it while a new one is made
            _REFRESHING.add(key)
            threading.Thread(target=_refresh, args=(store, settings, key), daemon=True).start()
    if hit is not None:
        return hit[1]
    return _refresh(store, settings, key)


#: keys whose table is being made again in the background (the expired one is answered meanwhile)
_REFRESHING: set[Any] = set()


def _refresh(store: Store, settings: Mapping[str, Any], key: Any) -> PublicTable:
    try:
        lab, events, units = labelled(store, zone=policy_from(settings).zone)
        table = _build(lab, events, units, settings=settings, now=_now(None))
        with _LOCK:
            if len(_CACHE) > 8:
                _CACHE.clear()
            _CACHE[key] = (time.monotonic(), table)
        return table
    finally:
        with _LOCK:
            _REFRESHING.discard(key)


def _fingerprint(store: Store) -> tuple[int, int, int]:
    """What the table is made of, as numbers that change with it: the database's change counters of the requests
    and their events (:meth:`~gridmap.store.base.Store.changes`, one row each — no read of the requests) and the
    number of requests."""
    return (store.changes("complaints"), store.changes("complaint_events"), store.count("complaints"))


def _build(
    lab: pd.DataFrame, events: pd.DataFrame, units: Any, *, settings: Mapping[str, Any], now: dt.datetime
) -> PublicTable:
    kw = kpi_options(settings, policy_from(settings))
    years = tuple(sorted(int(y) for y in lab["year"].dropna().unique()))
    values: dict[Any, int] = {}
    shown: set[Any] = set()
    fixed: set[Any] = set()
    sums: list[tuple[Any, tuple[Any, ...]]] = []
    units_of_level: dict[str, set[str]] = {lvl: set() for lvl in LEVELS}
    for year in years:
        levels = year_levels(lab, events, units, year=year, now=now, **kw)
        for level in LEVELS:
            for row in levels[level]:
                unit = str(row[level])
                units_of_level[level].add(unit)
                for f in FIELDS:
                    key = ("kpi", year, f, level, unit)
                    values[key] = _int(row.get(f))
                    shown.add(key)
        for f, v in _district(lab, events, year=year, now=now, **kw).items():
            key = ("kpi", year, f, DISTRICT, ALL)
            values[key] = v
            if f in DISTRICT_SHOWN:
                shown.add(key)
        units_of_level[DISTRICT] = {ALL}
        for f in FIELDS:
            sums += _hierarchy(
                values, lambda lvl, u, f=f, y=year: ("kpi", y, f, lvl, u), units_of_level, rest=("kpi-rest", year, f)
            )
        for unit_level, unit_set in units_of_level.items():
            for unit in unit_set:
                for whole, part in SPLITS:
                    w, p = ("kpi", year, whole, unit_level, unit), ("kpi", year, part, unit_level, unit)
                    other = ("kpi-other", year, whole, part, unit_level, unit)
                    values[other] = values.get(w, 0) - values.get(p, 0)
                    if values[other] >= 0:
                        sums.append((w, (p, other)))
        # what the public Open311 list lets anyone count: the district's requests and open ones, per year
        of_year = lab[lab["year"] == year]
        o_total, o_open = ("o311", year, "total"), ("o311", year, "open")
        values[o_total], values[o_open] = len(of_year), int(_is_open(of_year).sum())
        shown |= {o_total, o_open}
        fixed |= {o_total, o_open}
        values[("o311-uncounted", year)] = values[o_total] - values[("kpi", year, "complaints", DISTRICT, ALL)]
        sums += [
            (o_total, (("kpi", year, "complaints", DISTRICT, ALL), ("o311-uncounted", year))),
            (o_open, (("kpi", year, "open", DISTRICT, ALL),)),
        ]
        months = lab[lab["counted"] & (lab["year"] == year)].groupby("month").size()
        month_keys = []
        for m in range(1, 13):
            month = ("trend", year, m)
            values[month] = int(months.get(m, 0))
            shown.add(month)
            month_keys.append(month)
        sums.append((("kpi", year, "complaints", DISTRICT, ALL), tuple(month_keys)))
    sums += _now_cells(lab, values, shown, units_of_level, years)
    cells: dict[Any, Any] = dict(disclosure.protect(values, sums, shown, fixed=fixed, exempt=district_wide))
    none_open = [cell[2:] for cell, value in cells.items() if cell[:2] == ("now", "open") and value == 0]
    for where in none_open:  # overdue requests are open ones: none open is none overdue (a map without a
        cells[("now", "overdue", *where)] = 0  # bubble there says so anyway)
    return PublicTable(cells=cells, years=years, now=now)


def district_wide(key: Any) -> bool:
    """Whether a cell counts the whole district (its small values are not protected: the public Open311
    list of single requests lets anyone count the district's requests by date and status anyway)."""
    return key[0] in ("o311", "o311-uncounted", "trend") or DISTRICT in key


def _now_cells(
    lab: pd.DataFrame,
    values: dict[Any, int],
    shown: set[Any],
    units_of_level: Mapping[str, set[str]],
    years: tuple[int, ...],
) -> list[tuple[Any, tuple[Any, ...]]]:
    """Counts now per unit, tied to the years' counts; the grid and community ones are shown."""
    sums: list[tuple[Any, tuple[Any, ...]]] = []
    for level in (*LEVELS, DISTRICT):
        col = level if level != DISTRICT else None
        units = units_of_level.get(level, set()) if level != DISTRICT else {ALL}
        totals = lab.groupby(col).size() if col else pd.Series({ALL: len(lab)})
        for unit in units:
            total = int(totals.get(unit, 0))
            opened = sum(values.get(("kpi", y, "open", level, unit), 0) for y in years)
            overdue = sum(values.get(("kpi", y, "overdue_open", level, unit), 0) for y in years)
            cells = {"total": total, "open": opened, "closed": total - opened, "overdue": overdue}
            for m, v in cells.items():
                key = ("now", m, level, unit)
                values[key] = v
                if m in NOW_SHOWN.get(level, ()):
                    shown.add(key)

            def now(m: str, level: str = level, unit: str = unit) -> tuple[str, str, str, str]:
                return ("now", m, level, unit)

            sums.append((now("total"), (now("open"), now("closed"))))
            sums.append((now("open"), tuple(("kpi", y, "open", level, unit) for y in years)))
            sums.append((now("overdue"), tuple(("kpi", y, "overdue_open", level, unit) for y in years)))
            uncounted = ("now-uncounted", level, unit)
            values[uncounted] = total - sum(values.get(("kpi", y, "complaints", level, unit), 0) for y in years)
            if values[uncounted] >= 0:
                sums.append((now("total"), (*(("kpi", y, "complaints", level, unit) for y in years), uncounted)))
    for m in NOW:
        sums += _hierarchy(values, lambda lvl, u, m=m: ("now", m, lvl, u), units_of_level, rest=("now-rest", m))
    return sums


def _hierarchy(
    values: dict[Any, int], key: Any, units_of_level: Mapping[str, set[str]], *, rest: tuple[Any, ...]
) -> list[tuple[Any, tuple[Any, ...]]]:
    """Each parent = its children + a remainder (requests placed in the parent but in no child); a sum
    whose remainder would be negative (children filed elsewhere) is left out: it does not hold."""
    sums = []
    for level in LEVELS:
        parent_level, parent_of = _PARENT[level]
        children: dict[str, list[str]] = {}
        for unit in units_of_level.get(level, ()):
            parent = parent_of(unit)
            if parent is not None:
                children.setdefault(parent, []).append(unit)
        for parent, kids in children.items():
            whole = key(parent_level, parent)
            if whole not in values:
                continue
            r = (*rest, parent_level, parent)
            values[r] = values[whole] - sum(values.get(key(level, k), 0) for k in kids)
            if values[r] >= 0:
                sums.append((whole, (*(key(level, k) for k in sorted(kids)), r)))
    return sums


def _district(lab: pd.DataFrame, events: pd.DataFrame, *, year: int, now: dt.datetime, **kw: Any) -> dict[str, int]:
    three = kpi.three_rates(lab, events, year=year, **kw)
    disp = kpi.dispute_rates(lab, year=year)
    over = kpi.overdue_counts(lab[lab["year"] == year], now=now)
    counted = lab[lab["counted"]]
    row = {"complaints": int((counted["year"] == year).sum())}
    for frame, names in (
        (three, ("responded", "evaluated", "resolved_yes", "satisfied")),
        (disp, ("disputes", "resolved")),
        (over, ("open", "overdue_open", "closed_late")),
    ):
        first = frame.iloc[0] if len(frame) else {}
        for name in names:
            row["disputes_resolved" if frame is disp and name == "resolved" else name] = _int(
                first.get(name) if len(frame) else 0
            )
    return row


def _is_open(frame: pd.DataFrame) -> pd.Series:
    return frame["state"].map(lambda s: bool(s in C.STATES and C.is_open(s))).astype(bool)


def _int(v: Any) -> int:
    if v is None or (isinstance(v, float) and v != v):
        return 0
    return int(v)


# -- what the public gets --------------------------------------------------------------------------------
#: figures computed from counts: withheld unless every count they come from is shown exactly
DERIVED = {
    **kpi.DERIVED_FIELDS,
    "dispute_rate_prev": ("disputes_prev", "disputes_resolved_prev"),
    "per_1000_prev": ("complaints_prev",),
    "dispute_change": ("disputes", "disputes_resolved", "disputes_prev", "disputes_resolved_prev"),
}


def public_report(report: Mapping[str, Any], table: PublicTable) -> dict[str, Any]:
    """A KPI report (:func:`~.report.kpi_report`) with its counts as the public table has them and every
    figure computed from a count that is not shown exactly withheld (``None``)."""
    year = int(report["year"])

    def clean(row: Mapping[str, Any], level: str, unit: str) -> dict[str, Any]:
        out = dict(row)
        shown = {}
        for f in kpi.COUNT_FIELDS:
            if f in out:
                out[f] = shown[f] = table.kpi(year, f, level, unit)
        shown["disputes_prev"] = table.kpi(year - 1, "disputes", level, unit)
        shown["disputes_resolved_prev"] = table.kpi(year - 1, "disputes_resolved", level, unit)
        if level == DISTRICT:
            for f in FIELDS:
                shown.setdefault(f, table.kpi(year, f, level, unit))
        for name, sources in DERIVED.items():
            if name in out and any(disclosure.hidden(shown.get(s, 0)) for s in sources):
                out[name] = None
        return out

    out = dict(report)
    out["summary"] = clean(report["summary"], DISTRICT, ALL)
    out["levels"] = {lvl: [clean(r, lvl, str(r[lvl])) for r in rows] for lvl, rows in report["levels"].items()}
    trend = []
    for r in report.get("trend", []):
        r = dict(r)
        r["complaints"] = table.cells.get(("trend", int(r["year"]), int(r["month"])), r["complaints"])
        if disclosure.hidden(r["complaints"]):
            r["per_1000"] = None
        trend.append(r)
    out["trend"] = trend
    return out


def sees_exact(user: Any) -> bool:
    """Whether ``user`` sees exact counts (:func:`gridmap.domain.privacy.sees_exact_counts`)."""
    return privacy.sees_exact_counts(user)


#: a grid's stats (``gridmap.services.maps.grid.grid_stats``) that are counts now, by the table's measure
STATS = {"complaints_open": "open", "complaints_overdue": "overdue", "complaints_total": "total"}
#: a grid's figures that describe its open requests: withheld with them
STATS_DERIVED = {"longest_wait_days": ("complaints_open",)}


def public_stats(stats: Mapping[str, Any], table: PublicTable) -> dict[str, Any]:
    """A grid's figures with its request counts as the public table has them."""
    out = dict(stats)
    for name, measure in STATS.items():
        if name in out:
            out[name] = table.current(measure, "grid", str(stats["code"]))
    for name, sources in STATS_DERIVED.items():
        if name in out and any(disclosure.hidden(out.get(s)) for s in sources):
            out[name] = None
    return out
