"""Synthetic residents' requests with full event histories, for the demo and benchmarks.

Two full calendar years before ``now`` and the current year up to ``now``: volume per building follows its
households (Poisson), falls year on year (faster in estates whose property company has a party
organisation — the "red property" effect the programme claims), dispute resolution and satisfaction
improve, and each request walks the real transitions table (:func:`gridmap.domain.complaints.apply`) with
working-day clocks, late ones getting 督办, unsatisfied residents reopening. Requests whose next step
would fall after ``now`` stay open. Ids are ``D<year><n>`` so they never meet the service's numeric ids.
Requests are filed in the daytime and years begin where the people are (the policy's time zone); an
aware ``now`` gives aware UTC times, a naive one wall times in that zone.

:func:`generate` is pure (numpy RNG); :func:`load` reads the world from a store and writes the requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from gridmap import clock, jobs
from gridmap.domain import complaints as C
from gridmap.domain.schema import LAYERS
from gridmap.jobs import Progress
from gridmap.store.plans import published_plan_id
from gridmap.synth.showcase import busiest, showcase

__all__ = ["SynthSpec", "generate", "load"]

#: share of requests per category
CATEGORY_WEIGHTS = {
    "parking": 18,
    "property_service": 18,
    "sanitation": 15,
    "consultation": 10,
    "neighbour_dispute": 8,
    "property_dispute": 6,
    "safety": 6,
    "medical": 5,
    "after_school": 5,
    "fitness": 5,
    "other": 4,
}
CHANNEL_WEIGHTS = {"map": 35, "phone": 30, "visit": 20, "open311": 10, "api": 5}


@dataclass(frozen=True)
class SynthSpec:
    """Knobs of the generator (per-year values: index 0 = two years ago, 1 = last year, 2 = this year)."""

    per_1000: float = 30.0  # requests per 1,000 households in the first year
    red_factor: tuple[float, ...] = (1.0, 0.62, 0.55)
    other_factor: tuple[float, ...] = (1.0, 0.82, 0.76)
    quick_response: tuple[float, ...] = (0.70, 0.86, 0.90)
    dispute_resolved: tuple[float, ...] = (0.40, 0.66, 0.70)
    resolved: tuple[float, ...] = (0.80, 0.90, 0.92)
    late: tuple[float, ...] = (0.14, 0.07, 0.06)
    evaluated: float = 0.85
    rejected: float = 0.03
    duplicate: float = 0.04
    returned: float = 0.05


def _pick(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys, dtype=object)[rng.choice(len(keys), size=n, p=p / p.sum())]


def generate(
    buildings: gpd.GeoDataFrame,
    *,
    policy: C.Policy,
    now: dt.datetime,
    assignment: Mapping[str, str] | None = None,
    grid_leaders: Mapping[str, str] | None = None,
    red_estates: frozenset[str] | set[str] = frozenset(),
    seed: int = 0,
    spec: SynthSpec = SynthSpec(),
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Requests and their events for ``buildings`` (``id``, ``estate_id``, ``community_id``,
    ``households``, polygons in EPSG:4326).

    Returns
    -------
    (complaints, events)
        Frames with the columns of the ``complaints`` (point geometry) and ``complaint_events`` layers;
        times aware UTC when ``now`` is aware, else wall times in ``policy.zone``.
    """
    if now.tzinfo is not None:  # generate in wall time where the people are, then say when that was
        comp, ev = generate(
            buildings,
            policy=policy,
            now=clock.local(now, policy.zone).replace(tzinfo=None),
            assignment=assignment,
            grid_leaders=grid_leaders,
            red_estates=red_estates,
            seed=seed,
            spec=spec,
        )
        return _utc(comp, policy.zone), _utc(ev, policy.zone)
    rng = np.random.default_rng(seed)
    assignment = assignment or {}
    grid_leaders = grid_leaders or {}
    b = buildings.reset_index(drop=True)
    pts = b.geometry.representative_point()
    px, py = pts.x.to_numpy(), pts.y.to_numpy()
    ids = b["id"].astype(str).to_numpy()
    estates = [_s(v) for v in b["estate_id"]]
    communities = [_s(v) for v in b["community_id"]]
    hh = b["households"].fillna(0).to_numpy(dtype=float)
    red = b["estate_id"].astype(str).isin(set(red_estates)).to_numpy()
    first = now.year - 2
    records: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    serial = 0
    for k, year in enumerate(range(first, now.year + 1)):
        start = dt.datetime(year, 1, 1)
        stop = min(dt.datetime(year + 1, 1, 1), now)
        share = (stop - start) / (dt.datetime(year + 1, 1, 1) - start)
        factor = np.where(red, spec.red_factor[k], spec.other_factor[k])
        counts = rng.poisson(hh / 1000.0 * spec.per_1000 * factor * share)
        idx = np.repeat(np.arange(len(b)), counts)
        n = len(idx)
        if not n:
            continue
        seconds = rng.uniform(0, (stop - start).total_seconds(), size=n)
        order = np.argsort(seconds)
        idx, seconds = idx[order], seconds[order]
        cats = _pick(rng, CATEGORY_WEIGHTS, n)
        chans = _pick(rng, CHANNEL_WEIGHTS, n)
        for i in range(n):
            serial += 1
            bi = int(idx[i])
            t = start + dt.timedelta(seconds=float(seconds[i]))
            t = t.replace(hour=int(8 + (t.hour % 12)), microsecond=0)
            if t >= now:
                continue
            bid = ids[bi]
            grid = assignment.get(bid)
            route = C.Route(
                building_id=bid,
                estate_id=estates[bi],
                community_id=communities[bi],
                grid_code=grid,
                grid_leader_id=grid_leaders.get(grid or ""),
                needs_confirmation=False,
                placement="contained",
                placement_distance_m=0.0,
                department=C.CATEGORIES[cats[i]].departments[0],
            )
            rec, ev = C.new_complaint(
                id=f"D{year}{serial:06d}",
                category=str(cats[i]),
                description=f"{C.CATEGORIES[cats[i]].zh}问题（演示数据）",
                at=t,
                channel=str(chans[i]),
                lon=px[bi],
                lat=py[bi],
                actor="demo",
                policy=policy,
                route=route,
            )
            rec, evs = _walk(rec, ev, rng=rng, k=k, now=now, policy=policy, spec=spec, recent=records)
            records.append(rec)
            events.extend(evs)
    return _frames(records, events)


def _s(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _walk(
    rec: dict[str, Any],
    ev: dict[str, Any],
    *,
    rng: np.random.Generator,
    k: int,
    now: dt.datetime,
    policy: C.Policy,
    spec: SynthSpec,
    recent: list[dict[str, Any]],
) -> tuple[dict, list[dict]]:
    """Move one request through its life; stops before any step that would fall after ``now``."""
    evs = [ev]
    state = {"rec": rec, "t": rec["created_at"]}

    def step(target: str, by: str, hours: float, note: str | None = None, **changes: Any) -> bool:
        at = state["t"] + dt.timedelta(hours=float(hours))
        if at >= now:
            return False
        state["rec"], e = C.apply(
            state["rec"], target, actor="demo", by=by, at=at, seq=len(evs) + 1, note=note, changes=changes or None
        )
        evs.append(e)
        state["t"] = at
        return True

    u = rng.random()
    if u < spec.rejected:
        step("rejected", "staff", rng.uniform(1, 30), "不属于受理范围")
        return state["rec"], evs
    if u < spec.rejected + spec.duplicate:
        same = [r for r in recent[-200:] if r["category"] == rec["category"] and C.is_open(r["state"])]
        if same:
            step("duplicate", "staff", rng.uniform(1, 10), "重复件", duplicate_of=same[-1]["id"])
            return state["rec"], evs
    quick = rng.random() < spec.quick_response[k]
    if rng.random() < 0.15:
        if not step("responding", "staff", rng.uniform(0.5, 6), "网格长就地办理"):
            return state["rec"], evs
    else:
        if not step("dispatched", "staff", rng.uniform(0.2, 4), "派单"):
            return state["rec"], evs
        if rng.random() < spec.returned:
            if not (
                step("returned", "department", rng.uniform(2, 20), "非本部门职责")
                and step(
                    "reassigned",
                    "staff",
                    rng.uniform(1, 10),
                    "改派",
                    department=_other_department(rec["category"], rec["department"]),
                )
            ):
                return state["rec"], evs
        if not step("responding", "department", rng.uniform(1, 20) if quick else rng.uniform(30, 90), "已联系居民"):
            return state["rec"], evs
    for attempt in range(2):
        if not _resolve(state, evs, rng=rng, k=k, now=now, policy=policy, spec=spec, step=step):
            return state["rec"], evs
        if rng.random() > spec.evaluated:
            return state["rec"], evs
        dispute = C.CATEGORIES[rec["category"]].dispute
        ok = rng.random() < (spec.dispute_resolved[k] if dispute else spec.resolved[k])
        rating = (
            int(rng.choice([4, 5], p=[0.4, 0.6])) if ok else int(rng.choice([1, 2, 3, 4], p=[0.2, 0.35, 0.3, 0.15]))
        )
        at = state["t"] + dt.timedelta(hours=float(rng.uniform(4, 72)))
        if attempt == 1:  # second time round: satisfied, or still unresolved but past the reopen window
            rating = max(rating, policy.satisfied_min) if ok else min(rating, policy.satisfied_min - 1)
            if not ok:
                at = state["rec"]["closed_at"] + dt.timedelta(days=policy.reopen_days + 1)
        if at >= now:
            return state["rec"], evs
        state["rec"], new = C.evaluate(
            state["rec"],
            rating=rating,
            resolved=bool(ok),
            actor="demo",
            at=at,
            seq=len(evs) + 1,
            policy=policy,
            note="回访",
        )
        evs.extend(new)
        state["t"] = at
        if state["rec"]["state"] != "reopened" or attempt == 1:
            return state["rec"], evs
        if not step("responding", "department", rng.uniform(2, 30), "重新办理"):
            return state["rec"], evs
    return state["rec"], evs


def _resolve(
    state: dict,
    evs: list,
    *,
    rng: np.random.Generator,
    k: int,
    now: dt.datetime,
    policy: C.Policy,
    spec: SynthSpec,
    step: Any,
) -> bool:
    rec = state["rec"]
    due = rec["due_at"]
    late = rng.random() < spec.late[k]
    # working days left until the limit (0 when the request is already past it: a time limit counts forward)
    days = max(policy.calendar.working_days_between(state["t"], due), 0)
    target_day = (
        int(rng.integers(days + 1, days + 2 * policy.escalation_step_days + 3))
        if late
        else int(rng.integers(0, days + 1))
    )
    end = policy.calendar.due(state["t"], target_day) - dt.timedelta(hours=float(rng.uniform(1, 8)))
    end = max(end, state["t"] + dt.timedelta(hours=1))
    if late:
        for check in (due + dt.timedelta(hours=1), end - dt.timedelta(minutes=5)):
            if check >= now or check <= state["t"]:
                continue
            for r, e in C.escalate(state["rec"], check, seq=len(evs) + 1, policy=policy, actor="system"):
                state["rec"] = r
                evs.append(e)
            state["t"] = max(state["t"], check)
    hours = (end - state["t"]).total_seconds() / 3600
    return step("resolved", "department", max(hours, 0.5), "已办结")


def _other_department(category: str, current: str) -> str:
    options = [d for d in C.CATEGORIES[category].departments if d != current]
    return options[0] if options else current


def _frames(records: list[dict[str, Any]], events: list[dict[str, Any]]) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    cols = list(LAYERS["complaints"].column_names)
    rows = [{c: r.get(c) for c in cols} for r in records]
    geoms = [Point(r["lon"], r["lat"]) for r in records]
    comp = gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=geoms, crs="EPSG:4326")
    ev = pd.DataFrame(events, columns=["complaint_id", "seq", "from_state", "to_state", "actor", "at", "note"])
    return comp, ev


def _utc(frame: pd.DataFrame, zone: dt.tzinfo) -> pd.DataFrame:
    """``frame`` with its wall-time columns (in ``zone``) as aware UTC."""
    out = frame.copy()
    for col in ("created_at", "updated_at", "due_at", "closed_at", "at"):
        if col in out:
            wall = pd.to_datetime(out[col])
            out[col] = wall.dt.tz_localize(
                zone, ambiguous=np.zeros(len(wall), dtype=bool), nonexistent="shift_forward"
            ).dt.tz_convert("UTC")
    return out


def _registered(store: Any, assignment: Mapping[str, str]) -> set[str]:
    """Grids with a household register (the building card then lists households)."""
    held = store.read("households", columns=["building_id"])["building_id"].dropna().astype(str).unique()
    return {assignment[b] for b in held if b in assignment}


def _utc_aware(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its aware time columns as ``datetime64[ns, UTC]`` (as :func:`generate` gives them)."""
    out = frame.copy()
    for col in ("created_at", "updated_at", "due_at", "closed_at", "at"):
        if col in out:
            out[col] = pd.to_datetime(out[col], utc=True)
    return out


def load(
    store: Any,
    *,
    policy: C.Policy,
    seed: int = 0,
    now: dt.datetime | None = None,
    spec: SynthSpec = SynthSpec(),
    replace: bool = True,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Generate requests for the store's buildings and published plan and write them (one transaction).

    ``replace`` deletes every existing request and event first. Returns rows written per layer.
    ``progress(done, 3)`` after reading, generating and writing.
    """
    # the start of today (in the policy's zone) by default, so loading the demo twice in a day writes the same rows
    now = (
        clock.utc(now).replace(microsecond=0)
        if now is not None
        else clock.at_local(clock.today(policy.zone), dt.time(), policy.zone)
    )
    buildings = store.read("buildings", columns=["id", "estate_id", "community_id", "households", "geometry"])
    plan = published_plan_id(store)
    assignment: dict[str, str] = {}
    if plan:
        a = store.read("plan_assignments", where={"plan_id": plan})
        assignment = dict(zip(a["building_id"].astype(str), a["grid_code"].astype(str)))
    leaders = store.read("stewards", where={"role": "grid_leader"}, columns=["id", "serves"])
    grid_leaders = {str(s): str(i) for i, s in zip(leaders["id"], leaders["serves"]) if s}
    estates = store.read("estates", columns=["id", "property_company_id"])
    companies = store.read("property_companies", columns=["id", "has_party_org"])
    red_co = set(companies.loc[companies["has_party_org"].astype(bool), "id"].astype(str))
    red = {str(e) for e, c in zip(estates["id"], estates["property_company_id"]) if str(c) in red_co}
    jobs.report(progress, 1, 3)
    comp, ev = generate(
        buildings,
        policy=policy,
        now=now,
        assignment=assignment,
        grid_leaders=grid_leaders,
        red_estates=red,
        seed=seed,
        spec=spec,
    )
    extra, extra_ev = showcase(  # every state, overdue ones too, in the busiest grids: every view shows something
        buildings,
        grids=busiest(comp["filed_grid_code"], among=_registered(store, assignment)),
        assignment=assignment,
        grid_leaders=grid_leaders,
        policy=policy,
        now=now,
        seed=seed,
    )
    if extra:
        more, more_ev = _frames(extra, extra_ev)
        comp = pd.concat([comp, _utc_aware(more)], ignore_index=True)
        more_ev = _utc_aware(more_ev)
        ev = pd.concat([ev, more_ev], ignore_index=True)
    jobs.report(progress, 2, 3)
    with store.transaction():
        if replace:
            store.delete("complaint_events")
            store.delete("complaints")
        store.write("complaints", comp, mode="insert")
        store.write("complaint_events", ev, mode="insert")
    jobs.report(progress, 3, 3)
    return {"complaints": len(comp), "complaint_events": len(ev)}
