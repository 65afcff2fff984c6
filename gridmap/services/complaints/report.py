"""The programme's figures from the store's requests: the KPI tables (:mod:`gridmap.domain.kpi`) for a year,
as JSON-ready data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gridmap import clock
from gridmap.domain import kpi
from gridmap.domain.values import json_value
from gridmap.services.complaints.records import _now, policy_from
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store


def units_of(store: Store) -> Any:
    """:class:`gridmap.domain.kpi.Units` of the store: buildings, the published plan, communities → streets."""
    b = store.read("buildings", columns=["id", "community_id", "households"])
    plan = published_plan_id(store)
    a = (
        store.read("plan_assignments", where={"plan_id": plan})
        if plan
        else pd.DataFrame(columns=["building_id", "grid_code"])
    )
    g = (
        store.read("plan_grids", where={"plan_id": plan}, columns=["code", "community_id"])
        if plan
        else pd.DataFrame(columns=["code", "community_id"])
    )
    com = store.read("communities", columns=["id", "street_id"])
    return kpi.Units(
        building_grid=dict(zip(a["building_id"].astype(str), a["grid_code"].astype(str))),
        grid_community=dict(zip(g["code"].astype(str), g["community_id"].astype(str))),
        community_street=dict(zip(com["id"].astype(str), com["street_id"].astype(str))),
        building_households=dict(zip(b["id"].astype(str), b["households"].fillna(0).astype(int))),
        building_community=dict(zip(b["id"].astype(str), b["community_id"].astype(str))),
    )


_KPI_COLS = [
    "id",
    "category",
    "state",
    "building_id",
    "community_id",
    "filed_grid_code",
    "created_at",
    "due_at",
    "closed_at",
    "rating",
    "resolved",
]


def kpi_report(
    store: Store, *, settings: Mapping[str, Any], year: int | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Every KPI table for ``year`` (default: the latest year with requests) as JSON-ready data."""
    now = _now(now)
    policy = policy_from(settings)
    lab, events, units = labelled(store, zone=policy.zone)  # years and months where the people are
    this_year = clock.local(now, policy.zone).year
    if year is None:  # the latest complete year with requests (targets are for whole years)
        years = sorted(int(y) for y in lab["year"].dropna().unique())
        complete = [y for y in years if y < this_year]
        year = complete[-1] if complete else (years[-1] if years else this_year)
    kw = kpi_options(settings, policy)
    levels = year_levels(lab, events, units, year=year, now=now, **kw)
    estates = store.read("estates", columns=["id", "community_id", "property_company_id"])
    companies = store.read("property_companies", columns=["id", "has_party_org"])
    coverage = (
        {
            lvl: _records(
                kpi.red_property_coverage(estates, companies, units.community_street, level=lvl, year=year), lvl
            )
            for lvl in ("district", "street", "community")
        }
        if len(estates)
        else {}
    )
    trend = kpi.yearly_trend(lab, units)
    return {
        "year": year,
        "generated_at": now.isoformat(),
        "summary": kpi.summary(lab, events, units, year=year, now=now, **kw),
        "targets": {
            "complaint_change": kpi.RATE_TARGET,
            "dispute_change": kpi.DISPUTE_TARGET,
            "coverage": {str(k): v for k, v in kpi.COVERAGE_TARGETS.items()},
        },
        "levels": levels,
        "coverage": coverage,
        "trend": trend.to_dict("records"),
        "years": sorted(int(y) for y in lab["year"].dropna().unique()),
    }


def kpi_options(settings: Mapping[str, Any], policy: Any) -> dict[str, Any]:
    """The KPI rules' settings: working-day calendar, the lowest satisfied rating, the response limit."""
    return dict(
        calendar=policy.calendar,
        satisfied_min=policy.satisfied_min,
        response_days=int(settings.get("COMPLAINT_RESPONSE_DAYS", 1)),
    )


def labelled(store: Store, *, zone: Any) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """The requests labelled with their units (:func:`gridmap.domain.kpi.label_units`, years and months in
    ``zone``), their events and the units."""
    units = units_of(store)
    raw = store.read("complaints", columns=_KPI_COLS)
    events = store.read("complaint_events", columns=["complaint_id", "seq", "from_state", "to_state", "at"])
    return kpi.label_units(raw, units, zone=zone), events, units


def year_levels(
    lab: pd.DataFrame, events: pd.DataFrame, units: Any, *, year: int, now: dt.datetime, **kw: Any
) -> dict[str, list[dict[str, Any]]]:
    """The KPI table of ``year`` per level (grid, community, street) as JSON-ready rows."""
    levels = {}
    for level in kpi.LEVELS:
        rates = kpi.complaint_rates(lab, units, level=level, year=year)
        three = kpi.three_rates(lab, events, year=year, level=level, **kw)
        disp = kpi.dispute_rates(lab, year=year, level=level)
        over = kpi.overdue_counts(lab[lab["year"] == year], now=now, level=level)
        table = (
            rates.join(three.drop(columns=["requests"]), how="left")
            .join(
                disp[["disputes", "resolved", "rate", "rate_prev", "change"]].rename(
                    columns={
                        "resolved": "disputes_resolved",
                        "rate": "dispute_rate",
                        "rate_prev": "dispute_rate_prev",
                        "change": "dispute_change",
                    }
                ),
                how="left",
            )
            .join(over, how="left")
        )
        levels[level] = _records(table, level)
    return levels


def _records(frame: pd.DataFrame, key: str) -> list[dict[str, Any]]:
    out = []
    for idx, row in frame.iterrows():
        rec: dict[str, Any] = {key: str(idx)}
        rec.update({str(k): json_value(v, digits=6) for k, v in row.items()})
        out.append(rec)
    return out
