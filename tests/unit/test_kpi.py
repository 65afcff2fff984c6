"""KPI figures against a brute-force recount over plain Python records."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd
import pytest

from gridmap.domain import kpi
from gridmap.domain.complaints import CATEGORIES, STATES
from gridmap.domain.workdays import WorkCalendar

CAL = WorkCalendar()
# 6 buildings, 3 grids, 2 communities, 2 streets
UNITS = kpi.Units(
    building_grid={"b1": "G1", "b2": "G1", "b3": "G2", "b4": "G3", "b5": "G3", "b6": "G3"},
    grid_community={"G1": "C1", "G2": "C1", "G3": "C2"},
    community_street={"C1": "S1", "C2": "S2"},
    building_households={"b1": 100, "b2": 150, "b3": 250, "b4": 120, "b5": 80, "b6": 300},
    building_community={"b1": "C1", "b2": "C1", "b3": "C1", "b4": "C2", "b5": "C2", "b6": "C2"},
)


def _world(seed: int, n: int = 400):
    rnd = random.Random(seed)
    cats, states = list(CATEGORIES), list(STATES)
    rows, events = [], []
    for i in range(n):
        b = rnd.choice(list(UNITS.building_households) + [None])
        created = dt.datetime(rnd.choice([2024, 2025]), rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23))
        state = rnd.choice(states)
        due = CAL.due(created, rnd.choice([2, 10, 15]))
        closed = created + dt.timedelta(days=rnd.randint(0, 40)) if STATES[state].type == "closed" else None
        rated = state == "evaluated" or (state == "reopened" and rnd.random() < 0.5)
        rows.append(
            {
                "id": f"c{i}",
                "category": rnd.choice(cats),
                "state": state,
                "building_id": b,
                "community_id": UNITS.building_community.get(b) if b else rnd.choice([None, "C2"]),
                "filed_grid_code": UNITS.building_grid.get(b) if b else rnd.choice(["G2", "G3"]),
                "created_at": created,
                "due_at": due,
                "closed_at": closed,
                "rating": rnd.randint(1, 5) if rated else None,
                "resolved": rnd.choice([True, False]) if rated else rnd.choice([None, None, False]),
            }
        )
        t = created
        for seq, to in enumerate(rnd.sample(["dispatched", "responding", "resolved"], rnd.randint(0, 3)), 1):
            t = t + dt.timedelta(hours=rnd.randint(1, 60))
            events.append({"complaint_id": f"c{i}", "seq": seq, "to_state": to, "at": t})
    return rows, pd.DataFrame(rows), pd.DataFrame(events, columns=["complaint_id", "seq", "to_state", "at"])


def _unit(r, level):
    grid = UNITS.building_grid.get(r["building_id"]) or r["filed_grid_code"]
    com = r["community_id"] or UNITS.grid_community.get(grid)
    return {"grid": grid, "community": com, "street": UNITS.community_street.get(com)}[level]


def _hh(level):
    out = {}
    for b, h in UNITS.building_households.items():
        r = {"building_id": b, "community_id": UNITS.building_community[b], "filed_grid_code": None}
        out[_unit(r, level)] = out.get(_unit(r, level), 0) + h
    return out


def _counted(r):
    return r["state"] not in ("rejected", "duplicate")


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("level", kpi.LEVELS)
def test_complaint_rates_recount(seed, level):
    rows, df, _ = _world(seed)
    got = kpi.complaint_rates(kpi.label_units(df, UNITS), UNITS, level=level, year=2025)
    hh = _hh(level)
    for unit, h in hh.items():
        n = sum(1 for r in rows if _counted(r) and r["created_at"].year == 2025 and _unit(r, level) == unit)
        p = sum(1 for r in rows if _counted(r) and r["created_at"].year == 2024 and _unit(r, level) == unit)
        assert got.loc[unit, "households"] == h
        assert got.loc[unit, "complaints"] == n and got.loc[unit, "complaints_prev"] == p
        assert got.loc[unit, "per_1000"] == pytest.approx(n / h * 1000)
        ch = (n - p) / p if p else None
        if ch is None:
            assert pd.isna(got.loc[unit, "change"])
        else:
            assert got.loc[unit, "change"] == pytest.approx(ch)
            assert got.loc[unit, "target_met"] == (ch <= -0.30)


def test_rate_change_hand_computed():
    rows = [
        {
            "id": f"x{i}",
            "category": "parking",
            "state": "collected",
            "building_id": "b1",
            "community_id": "C1",
            "filed_grid_code": "G1",
            "created_at": dt.datetime(y, 5, 1),
        }
        for i, y in enumerate([2024] * 10 + [2025] * 6)
    ]
    got = kpi.complaint_rates(kpi.label_units(pd.DataFrame(rows), UNITS), UNITS, level="grid", year=2025)
    # G1 has 250 households: 2024 → 40 per 1000, 2025 → 24 per 1000: −40 %, target met
    assert got.loc["G1", "per_1000"] == pytest.approx(24) and got.loc["G1", "per_1000_prev"] == pytest.approx(40)
    assert got.loc["G1", "change"] == pytest.approx(-0.4) and got.loc["G1", "target_met"] is True
    assert got.loc["G2", "complaints"] == 0 and got.loc["G2", "target_met"] is None


@pytest.mark.parametrize("seed", [4, 5])
def test_three_rates_recount(seed):
    rows, df, ev = _world(seed)
    lab = kpi.label_units(df, UNITS)
    got = kpi.three_rates(lab, ev, year=2025, level="community", calendar=CAL)
    first = {}
    for e in ev.itertuples():
        if e.to_state in ("responding", "resolved"):
            first[e.complaint_id] = min(first.get(e.complaint_id, e.at), e.at)
    for com in got.index:
        sel = [r for r in rows if _counted(r) and r["created_at"].year == 2025 and _unit(r, "community") == com]
        resp = sum(1 for r in sel if r["id"] in first and first[r["id"]] <= CAL.due(r["created_at"], 1))
        evald = [r for r in sel if r["rating"] is not None]
        assert got.loc[com, "requests"] == len(sel)
        assert got.loc[com, "response_rate"] == pytest.approx(resp / len(sel))
        if evald:
            assert got.loc[com, "resolution_rate"] == pytest.approx(
                sum(r["resolved"] is True for r in evald) / len(evald)
            )
            assert got.loc[com, "satisfaction_rate"] == pytest.approx(sum(r["rating"] >= 4 for r in evald) / len(evald))


@pytest.mark.parametrize("seed", [6, 7])
def test_dispute_and_overdue_recount(seed):
    rows, df, _ = _world(seed)
    lab = kpi.label_units(df, UNITS)
    disputes = {c for c, cat in CATEGORIES.items() if cat.dispute}
    got = kpi.dispute_rates(lab, year=2025)

    def rate(y):
        sel = [r for r in rows if _counted(r) and r["created_at"].year == y and r["category"] in disputes]
        ok = [r for r in sel if r["state"] in ("resolved", "evaluated") and r["resolved"] is not False]
        return len(ok) / len(sel)

    assert got.loc["all", "rate"] == pytest.approx(rate(2025))
    assert got.loc["all", "change"] == pytest.approx((rate(2025) - rate(2024)) / rate(2024))
    now = dt.datetime(2025, 7, 1)
    over = kpi.overdue_counts(lab, now=now, level="street")
    for st in over.index:
        sel = [r for r in rows if _counted(r) and _unit(r, "street") == st]
        assert over.loc[st, "overdue_open"] == sum(
            1 for r in sel if STATES[r["state"]].type == "open" and r["due_at"] < now
        )
        assert over.loc[st, "closed_late"] == sum(
            1 for r in sel if r["closed_at"] is not None and r["closed_at"] > r["due_at"]
        )


def test_summary_matches_parts():
    rows, df, ev = _world(8)
    lab = kpi.label_units(df, UNITS)
    s = kpi.summary(lab, ev, UNITS, year=2025, now=dt.datetime(2025, 12, 31), calendar=CAL)
    n = sum(1 for r in rows if _counted(r) and r["created_at"].year == 2025)
    assert s["complaints"] == n and s["households"] == 1000
    assert s["per_1000"] == pytest.approx(n, rel=1e-6)


def test_red_property_coverage():
    estates = pd.DataFrame(
        {
            "id": ["e1", "e2", "e3", "e4", "e5"],
            "community_id": ["C1", "C1", "C2", "C2", "C2"],
            "property_company_id": ["p1", "p2", "p1", None, "p2"],
        }
    )
    companies = pd.DataFrame({"id": ["p1", "p2"], "has_party_org": [True, False]})
    streets = {"C1": "370214001", "C2": "370214002"}
    com = kpi.red_property_coverage(estates, companies, streets, level="community", year=2021)
    assert com.loc["C1", "coverage"] == 0.5 and com.loc["C2", "coverage"] == 0.5  # e4 has no company
    assert not com.loc["C1", "target_met"]
    dist = kpi.red_property_coverage(estates, companies, streets, level="district", year=2020)
    assert list(dist.index) == ["370214"]
    assert dist.loc["370214", "red"] == 2 and dist.loc["370214", "estates"] == 4 and dist.loc["370214", "target_met"]
    est = kpi.red_property_coverage(estates, companies, streets, level="estate")
    assert est["red"].to_dict() == {"e1": 1, "e2": 0, "e3": 1, "e5": 0}
    with pytest.raises(kpi.KpiError):
        kpi.red_property_coverage(estates, companies, {}, level="planet")


@pytest.mark.parametrize("seed", range(5))
def test_red_property_coverage_recount(seed):
    """Against a brute-force recount, and the same red/estates figures as gridmap.domain.coverage's own tables."""
    from gridmap.domain import coverage

    rnd = random.Random(seed)
    companies = pd.DataFrame(
        {"id": [f"p{i}" for i in range(6)], "has_party_org": [rnd.choice([True, False, None]) for _ in range(6)]}
    )
    streets = {f"370214{s:03d}{c:03d}": f"370214{s:03d}" for s in range(1, 4) for c in range(1, 4)}
    rows = [
        {
            "id": f"e{i}",
            "community_id": rnd.choice(list(streets)),
            "property_company_id": rnd.choice(list(companies["id"]) + [None]),
        }
        for i in range(60)
    ]
    estates = pd.DataFrame(rows)
    red_company = {r["id"]: bool(r["has_party_org"]) for r in companies.to_dict("records")}
    for level, unit in (
        ("community", lambda r: r["community_id"]),
        ("street", lambda r: streets[r["community_id"]]),
        ("district", lambda r: streets[r["community_id"]][:6]),
    ):
        got = kpi.red_property_coverage(estates, companies, streets, level=level, year=2024)
        want: dict[str, list[int]] = {}
        for r in rows:
            if r["property_company_id"] is None:
                continue
            n = want.setdefault(unit(r), [0, 0])
            n[0] += 1
            n[1] += red_company[r["property_company_id"]]
        assert {k: [int(v.estates), int(v.red)] for k, v in got.iterrows()} == want
        assert (got["target_met"] == (got["coverage"] >= 1.0)).all()
    managed = estates[estates["property_company_id"].notna()]
    communities = pd.DataFrame({"id": list(streets), "street_id": list(streets.values())})
    own = coverage.red_property(managed, companies, communities)["street"].set_index("street_id")
    got = kpi.red_property_coverage(estates, companies, streets, level="street")
    assert (own["red_estates"].astype(int) == got["red"]).all() and (own["estates"] == got["estates"]).all()


def test_unknown_level():
    with pytest.raises(kpi.KpiError, match="unknown level"):
        kpi.complaint_rates(kpi.label_units(pd.DataFrame(_world(1, 5)[0]), UNITS), UNITS, level="x", year=1)
