"""Publish a draft and roll back to an earlier plan: the one way a plan comes into force.

:func:`publish` is the one function that publishes: ``gridmap plan publish``, the planner page and API,
``gridmap grids generate --publish`` (and the Dask variant) and the demo all call it, and :func:`rollback` goes
through the same steps. In one transaction it writes the plan's full assignment and grid polygon rows (a
draft version has only its moves), marks it ``published`` with its effective date, supersedes the plan
published before, records new and retires unused grid codes (:func:`gridmap.store.plans.set_published`) and
writes the audit row: action ``plan.publish`` (``plan.rollback``), detail ``draft``, ``previous``,
``effective_date`` and the diff summary against the previous plan (:meth:`gridmap.domain.diff.PlanDiff.summary`,
:func:`gridmap.services.plans.rebalancing.plan_diff`: the same figures the review showed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gridmap import clock, config
from gridmap.domain.plan import GridPlan
from gridmap.errors import Conflict, InvalidInput
from gridmap.services import tilecache
from gridmap.services.plans.checks import grid_polygons
from gridmap.services.plans.gate import hard_failures
from gridmap.services.plans.rebalancing import plan_diff
from gridmap.services.plans.stored import (
    _new_plan_id,
    _now,
    _params,
    _plan_row,
    audit,
    forget_published,
    load_plan,
    published_plan_id,
)
from gridmap.services.plans.world import PlanWorld, load_world
from gridmap.store.base import Store
from gridmap.store.plans import set_published

#: an empty plan: what the first published plan is compared with
_NOTHING = GridPlan({}, {})


class PublishRefused(Conflict):
    """A draft with hard failures and no written reason to publish it anyway."""

    def __init__(self, failures: list[dict[str, Any]]) -> None:
        self.failures = failures
        lines = "; ".join(f["message"] for f in failures[:10])
        more = f" (+{len(failures) - 10})" if len(failures) > 10 else ""
        super().__init__(
            f"草稿有 {len(failures)} 个严重问题，未发布；修正后再发布，或写明理由强制发布 / the draft has "
            f"{len(failures)} hard failures and was not published; fix them, or give a reason to publish anyway: "
            f"{lines}{more}"
        )


def publish(
    store: Store,
    draft_id: str,
    *,
    effective_date: dt.date | str | None = None,
    actor: str | None,
    world: PlanWorld | None = None,
    override_reason: str | None = None,
) -> dict[str, Any]:
    """Publish ``draft_id``: it becomes the one published plan; the previous one is superseded.

    An open draft with hard failures (:func:`gridmap.services.plans.gate.hard_failures`: a grid in pieces, a
    gap, a grid above max that the rebalance can fix) is refused (:class:`~gridmap.errors.Conflict` naming
    each) unless ``override_reason`` says in words why it is published anyway; the reason and the failures
    overridden go into the audit row. A generated plan (``gridmap grids generate --publish``) is published
    as generated: its report lists what falls short.

    ``draft_id`` is an open draft (its head is published and the draft is closed) or a draft plan with its
    own assignment and polygon rows (a generated plan). ``world`` (the planner's, optional) supplies the
    tessellation cells of a draft version's grid polygons and the households of the diff; without it they
    are read from the store.

    Returns ``{"plan", "previous", "effective_date", "diff"}`` (``diff``: the summary in the audit row).
    """
    eff = _date(effective_date, world.zone if world is not None else None)
    row = _plan_row(store, draft_id)
    params = _params(row)
    is_open_draft = params.get("draft") == draft_id and not params.get("closed")
    if row["status"] != "draft" or (params.get("kind") == "version" and not is_open_draft):
        raise Conflict(f"方案 {draft_id} 不是草稿 / plan {draft_id!r} is not an open draft")
    reason = (override_reason or "").strip()
    detail: dict[str, Any] = {"draft": draft_id}
    if is_open_draft:
        world = world if world is not None else load_world(store)
        hard = hard_failures(load_plan(store, params["head"], world=world), world)
        if hard and not reason:
            raise PublishRefused(hard)
        if hard:
            detail.update(override_reason=reason, overridden=[f"{h['grid']}:{h['problem']}" for h in hard])
    with store.transaction():
        if is_open_draft:
            plan = load_plan(store, params["head"], world=world)
            pid = plan.stored_id
            own = _write_full(store, pid, plan, world)
            own["kind"] = "published_version"
            store.write("plans", pd.DataFrame([{"id": draft_id, "params": {**params, "closed": pid}}]))
            if pid == draft_id:
                own["closed"] = pid
        else:
            plan, pid, own = load_plan(store, draft_id, world=world), draft_id, None
        out = _bring_into_force(
            store,
            pid,
            plan,
            effective_date=eff,
            actor=actor,
            world=world,
            action="plan.publish",
            params=own,
            detail=detail,
        )
    if world is not None:
        world.plans.pop(pid, None)
        world.issued_codes |= set(plan.grid_community)
    return out


def rollback(
    store: Store,
    to_plan: str,
    *,
    actor: str | None,
    world: PlanWorld | None = None,
    effective_date: dt.date | str | None = None,
) -> dict[str, Any]:
    """Publish a new version equal to the earlier plan ``to_plan`` (its codes, assignment)."""
    row = _plan_row(store, to_plan)
    if row["status"] not in ("published", "superseded"):
        raise Conflict(
            f"只能回退到已发布过的方案 / can only roll back to a plan that was published; {to_plan} is {row['status']}"
        )
    target = load_plan(store, to_plan, world=world)
    previous = published_plan_id(store)
    if previous == to_plan:
        raise Conflict(f"{to_plan} 已是当前方案 / {to_plan} is already the published plan")
    eff = _date(effective_date, world.zone if world is not None else None)
    with store.transaction():
        pid = _new_plan_id(store)
        store.write(
            "plans",
            pd.DataFrame(
                [
                    {
                        "id": pid,
                        "parent_id": previous,
                        "status": "draft",
                        "created_at": _now(),
                        "created_by": actor,
                        "params": {"kind": "rollback", "rollback_of": to_plan},
                        "moves": [],
                        "note": f"rollback to {to_plan}",
                    }
                ]
            ),
        )
        plan = GridPlan(target.assignment, target.grid_community, id=pid)
        _write_full(store, pid, plan, world)
        out = _bring_into_force(
            store,
            pid,
            plan,
            effective_date=eff,
            actor=actor,
            world=world,
            action="plan.rollback",
            detail={"to": to_plan},
        )
    return {**out, "rollback_of": to_plan}


def _bring_into_force(
    store: Store,
    pid: str,
    plan: GridPlan,
    *,
    effective_date: dt.date,
    actor: str | None,
    world: PlanWorld | None,
    action: str,
    detail: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The steps every publication shares (inside the caller's transaction): the plan in force, the old one
    superseded, codes settled, the audit row with the diff summary."""
    previous = published_plan_id(store)
    prev_plan = load_plan(store, previous, world=world) if previous and previous != pid else _NOTHING
    set_published(store, pid, plan, effective_date=effective_date, published_at=_now(), params=params)
    forget_published()  # this process's kept grids (others see the new published_at)
    tilecache.plan_changed(store, previous if previous != pid else None, pid)
    summary = plan_diff(store, prev_plan, plan, households=_households(store, world)).summary()
    audit(
        store,
        actor,
        action,
        pid,
        {**detail, "previous": previous, "effective_date": effective_date.isoformat(), **summary},
    )
    return {"plan": pid, "previous": previous, "effective_date": effective_date.isoformat(), "diff": summary}


def _write_full(store: Store, plan_id: str, plan: GridPlan, world: PlanWorld | None) -> dict[str, Any]:
    """The plan's own ``plan_assignments`` and ``plan_grids`` rows (polygons: union of the buildings' cells);
    returns its row's ``params``."""
    store.delete("plan_assignments", where={"plan_id": plan_id})
    store.delete("plan_grids", where={"plan_id": plan_id})
    rows = sorted(plan.assignment.items())
    store.write(
        "plan_assignments",
        pd.DataFrame({"plan_id": plan_id, "building_id": [b for b, _ in rows], "grid_code": [g for _, g in rows]}),
        mode="insert",
    )
    polys = grid_polygons(plan, world if world is not None else load_world(store))
    polys.insert(0, "plan_id", plan_id)
    store.write("plan_grids", polys, mode="insert")
    return _params(_plan_row(store, plan_id))


def _households(store: Store, world: PlanWorld | None) -> dict[str, int]:
    if world is not None:
        return world.households
    b = store.read("buildings", columns=["id", "households"])
    return dict(zip(b["id"], pd.to_numeric(b["households"]).fillna(0).astype(int)))


def _date(value: dt.date | str | None, zone: dt.tzinfo | None = None) -> dt.date:
    """The effective date to record: ``value`` (default today where the people are: the TIMEZONE setting
    without a world). Publishing takes effect at once — there is no scheduling — so a date after today is
    refused rather than recorded on a plan that is already in force (docs/planning.md, "Effective date")."""
    zone = zone if zone is not None else clock.zone(config.load()["TIMEZONE"])
    today = clock.today(zone)
    if value is None or value == "":
        return today
    if isinstance(value, dt.date):
        day = clock.local(value, zone).date() if isinstance(value, dt.datetime) else value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput(f"生效日期格式应为 YYYY-MM-DD / effective date {value!r} is not YYYY-MM-DD") from None
    if day > today:
        raise InvalidInput(
            f"生效日期 {day} 晚于今天（{today}）：发布即刻生效，暂不支持定时生效，请在生效当天发布 / "
            f"effective_date {day} is after today ({today}): publishing takes effect at once and scheduled plans "
            "are not supported; publish on the day the plan takes effect"
        )
    return day
