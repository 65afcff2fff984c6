"""The differencing attack on small counts (issue #13, item 4), played against the demo world through every
public endpoint that publishes counts of requests: the KPI report of every year (JSON and CSV), the OGC
``complaint_counts`` collection, every grid's stats, the map's count bubbles (grid and community, open and all
states) and the anonymous Open311 list (per year and status).

The attacker knows how areas nest (a grid code starts with its community id, a community id with its street
id), that a grid's requests are its open plus its closed ones, that open requests now are the open requests
of each year, that a unit's requests are at least its counted ones, that a count's part is at most the
count (responded, evaluated …), and that the district's totals per year can be counted from Open311.
With those sums and every published figure, interval reasoning (its own code here, not the app's) tightens
what each count can be; no count of an area finer than the district may come out as one value from 1 to 4.

The attack has teeth: on the same figures with only the old rule applied (1–4 → "<5", all else exact) it
recovers small counts, and every value it recovers is the true one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import pytest

from gridmap.domain import privacy
from gridmap.domain.kpi_csv import header_keys

INF = math.inf
FIELDS = (
    "complaints",
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
#: a count and a part of it (the attacker knows each part is at most the whole)
PARTS = (
    ("complaints", "responded"),
    ("complaints", "open"),
    ("complaints", "disputes"),
    ("complaints", "evaluated"),
    ("evaluated", "satisfied"),
    ("evaluated", "resolved_yes"),
    ("open", "overdue_open"),
    ("disputes", "disputes_resolved"),
)
PARENT = {"grid": ("community", 12), "community": ("street", 9), "street": ("district", 0)}


# -- what the public can read --------------------------------------------------------------------------
def observe(client) -> dict:
    """Every published count, keyed like ``("kpi", year, field, level, unit)`` or ``("now", measure, level,
    unit)`` or ``("o311", year, status)``; values are ints, ``"<5"`` or None."""
    seen: dict = {}
    disagree = seen.setdefault(("disagreements",), [])

    def put(key, value):
        if key in seen and seen[key] != value:
            disagree.append((key, seen[key], value))
            value = value if isinstance(value, int) else seen[key]  # the attacker keeps the exact one
        seen[key] = value

    years = client.get("/api/kpi").get_json()["years"]
    for i, year in enumerate(years):
        rep = client.get(f"/api/kpi?year={year}").get_json()
        for level, rows in rep["levels"].items():
            for r in rows:
                unit = str(r[level])
                for f in FIELDS:
                    if f in r:
                        put(("kpi", year, f, level, unit), _count(r[f]))
                put(("kpi", year - 1, "complaints", level, unit), _count(r["complaints_prev"]))
            if i == 0:  # the CSV is the JSON's table: read once, it must agree
                text = client.get(f"/api/kpi.csv?year={year}&level={level}").get_data(as_text=True).lstrip("\ufeff")
                named = header_keys()  # Chinese headers; a withheld figure is an empty cell
                for raw in csv.DictReader(io.StringIO(text)):
                    r = {named.get(k, k): v for k, v in raw.items()}
                    for f in FIELDS:
                        if r.get(f, "") != "":
                            put(("kpi", year, f, level, str(r[level])), _count(r[f]))
        s = rep["summary"]
        for f in ("complaints", "overdue_open", "closed_late"):
            put(("kpi", year, f, "district", "all"), _count(s[f]))
        for t in rep["trend"]:
            put(("trend", t["year"], t["month"]), _count(t["complaints"]))
    items = client.get("/ogc/collections/complaint_counts/items?limit=10000&f=json").get_json()["features"]
    grids = [str(f["id"]) for f in items]
    for f in items:
        p = f["properties"]
        for name, measure in (("complaints", "total"), ("open", "open"), ("closed", "closed"), ("overdue", "overdue")):
            put(("now", measure, "grid", str(f["id"])), _count(p[name]))
    for code in grids[::12]:  # a grid's stats are its OGC figures (checked on a sample of grids)
        st = client.get(f"/api/grids/{code}/stats").get_json()
        for name, measure in (
            ("complaints_total", "total"),
            ("complaints_open", "open"),
            ("complaints_overdue", "overdue"),
        ):
            put(("now", measure, "grid", code), _count(st[name]))
    communities = {k[4] for k in seen if k[0] == "kpi" and k[3] == "community"}
    for zoom, level in ((13, "grid"), (10, "community")):
        for state, measure in (("open", "open"), ("all", "total")):
            fc = client.get(f"/api/layers/complaints?zoom={zoom}&state={state}").get_json()
            shown = {str(f["properties"]["id"]): f["properties"] for f in fc["features"]}
            for unit in grids if level == "grid" else communities:
                p = shown.get(unit)  # an area without a bubble has none
                put(("now", measure, level, unit), _count(p["count"]) if p else 0)
                if state == "open":
                    put(("now", "overdue", level, unit), _count(p["overdue"]) if p else 0)
    for year in years:  # Open311: count the district's requests of each year, by status
        for status in ("open", "closed"):
            n = 0
            start = dt.datetime(year, 1, 1)
            while start.year == year:
                end = min(start + dt.timedelta(days=85), dt.datetime(year + 1, 1, 1) - dt.timedelta(seconds=1))
                got = client.get(
                    "/open311/v2/requests.json",
                    query_string={"status": status, "start_date": start.isoformat(), "end_date": end.isoformat()},
                ).get_json()
                assert len(got) < 1000  # the list is not cut: every request of the window is counted
                assert all(
                    r["lat"] is None and r["address_id"] is None and "网格" not in (r["agency_responsible"] or "")
                    for r in got
                )
                n += len(got)
                start = end + dt.timedelta(seconds=1)
            put(("o311", year, status), n)
    return seen


def _count(v):
    if v in (None, ""):
        return None
    if isinstance(v, str):
        return v if v.startswith("<") else int(float(v))
    return int(v)


# -- what the attacker knows about how counts add up ----------------------------------------------------
def structure(seen: dict) -> list[tuple[object, tuple]]:
    """Sums ``whole == parts`` the attacker can write down (a remainder ≥ 0 where the parts may fall short)."""
    sums = []
    keys = list(seen)
    years = sorted({k[1] for k in keys if k[0] == "kpi"})
    units = {lvl: sorted({k[4] for k in keys if k[0] == "kpi" and k[3] == lvl}) for lvl in PARENT}
    units["grid"] = sorted(set(units["grid"]) | {k[3] for k in keys if k[0] == "now" and k[2] == "grid"})
    units["community"] = sorted(set(units["community"]) | {k[3] for k in keys if k[0] == "now" and k[2] == "community"})

    def nest(key):
        for level, (parent, digits) in PARENT.items():
            kids: dict = {}
            for u in units.get(level, ()):
                kids.setdefault(u[:digits] if digits else "all", []).append(u)
            for p, us in kids.items():
                sums.append((key(parent, p), (*(key(level, u) for u in us), ("rest",) + key(parent, p))))

    for y in years:
        for f in FIELDS:
            nest(lambda lvl, u, y=y, f=f: ("kpi", y, f, lvl, u))
        for level in ("grid", "community", "street", "district"):
            for u in units.get(level, ()) if level != "district" else ["all"]:
                for whole, part in PARTS:
                    w = ("kpi", y, whole, level, u)
                    sums.append((w, (("kpi", y, part, level, u), ("rest-part", part) + w)))
        sums.append((("kpi", y, "complaints", "district", "all"), tuple(("trend", y, m) for m in range(1, 13))))
        total = ("o311", y, "open"), ("o311", y, "closed")
        sums.append((("o311-all", y), total))
        sums.append((("o311-all", y), (("kpi", y, "complaints", "district", "all"), ("uncounted", y))))
        sums.append((("o311", y, "open"), (("kpi", y, "open", "district", "all"),)))
    for m in ("total", "open", "closed", "overdue"):
        nest(lambda lvl, u, m=m: ("now", m, lvl, u))
    for level in ("grid", "community", "street", "district"):
        for u in units.get(level, ()) if level != "district" else ["all"]:

            def now(m, level=level, u=u):
                return ("now", m, level, u)

            sums.append((now("total"), (now("open"), now("closed"))))
            sums.append((now("open"), tuple(("kpi", y, "open", level, u) for y in years)))
            sums.append((now("overdue"), tuple(("kpi", y, "overdue_open", level, u) for y in years)))
            sums.append(
                (now("total"), (*(("kpi", y, "complaints", level, u) for y in years), ("uncounted",) + now("total")))
            )
    return sums


def attack(seen: dict, sums) -> dict:
    """Interval differencing: bounds of every cell, tightened through every sum until they settle."""
    lo, hi = {}, {}
    for k in {k for w, ps in sums for k in (w, *ps)} | set(seen):
        v = seen.get(k)
        lo[k], hi[k] = (v, v) if isinstance(v, int) else (1, 4) if isinstance(v, str) else (0, INF)
    for _ in range(500):
        changed = False
        for w, ps in sums:
            s_lo, s_hi = sum(lo[p] for p in ps), sum(hi[p] for p in ps)
            if s_lo > lo[w]:
                lo[w], changed = s_lo, True
            if s_hi < hi[w]:
                hi[w], changed = s_hi, True
            n_inf = sum(1 for p in ps if hi[p] == INF)
            fin_hi = sum(hi[p] for p in ps if hi[p] != INF)
            for p in ps:
                others_hi = INF if n_inf - (hi[p] == INF) else fin_hi - (0 if hi[p] == INF else hi[p])
                others_lo = s_lo - lo[p]
                if others_hi < INF and lo[w] - others_hi > lo[p]:
                    lo[p], changed = lo[w] - others_hi, True
                if hi[w] < INF and hi[w] - others_lo < hi[p]:
                    hi[p], changed = hi[w] - others_lo, True
        if not changed:
            break
    else:
        pytest.fail("the attack did not settle")
    return {k: lo[k] for k in lo if lo[k] == hi[k] and 1 <= lo[k] <= 4 and not _district_wide(k)}


def _district_wide(key) -> bool:
    """Counts of the whole district are not protected (Open311 lists single requests by date and status)."""
    return key[0] in ("o311", "o311-all", "uncounted", "trend") or "district" in key or "all" in key[-1:]


# -- the test ------------------------------------------------------------------------------------------
def test_no_combination_of_public_calls_recovers_a_count_below_five(demo_copy, app_factory, login):
    app = app_factory(demo_copy, EMBED_REQUIRE_TOKEN=False)
    public = observe(app.test_client())
    assert not public.pop(("disagreements",)), "two public endpoints show one count differently"
    assert sum(1 for v in public.values() if v == privacy.SUPPRESSED) > 100  # the world has small counts
    sums = structure(public)
    found = attack(public, sums)
    assert not found, f"differencing recovers {len(found)} small counts, e.g. {sorted(found.items(), key=repr)[:5]}"

    # the attack has teeth: on the same figures with only "1–4 → <5" it recovers small counts, truly
    admin = app.test_client()
    login(admin, "admin")
    exact = observe(admin)
    exact.pop(("disagreements",))
    naive = {k: privacy.suppress_small(v) if isinstance(v, int) else v for k, v in exact.items()}
    naive.update({k: exact[k] for k in exact if k[0] == "o311"})  # Open311's list is the same for everyone
    broken = attack(naive, structure(naive))
    assert broken, "the old rule alone should be breakable here"
    wrong = {k: (v, exact[k]) for k, v in broken.items() if isinstance(exact.get(k), int) and exact[k] != v}
    assert not wrong, f"the attack must be sound: {sorted(wrong.items(), key=repr)[:5]}"
    # and the public figures are the exact ones wherever they are shown as a number (KPI: same report)
    off = {
        k: (v, exact[k])
        for k, v in public.items()
        if k[0] == "kpi" and isinstance(v, int) and isinstance(exact.get(k), int) and exact[k] != v
    }
    assert not off, sorted(off.items(), key=repr)[:5]
