"""Plan files in and out: export a stored plan (:mod:`gridmap.io.planfiles` formats) and import a file as a
new draft from the published plan.
"""

from __future__ import annotations

from typing import Any

from gridmap.domain.plan import GridPlan, PlanError
from gridmap.errors import InvalidInput
from gridmap.io.planfiles import PlanFileError, export_plan, import_plan
from gridmap.services.plans.checks import grid_polygons
from gridmap.services.plans.drafts import _commit, _head, draft_info, start_draft
from gridmap.services.plans.stored import load_current
from gridmap.services.plans.world import PlanWorld
from gridmap.store.base import Store


def export_plan_file(store: Store, plan_id: str, path: str, *, format: str | None = None, world: PlanWorld) -> str:
    plan = load_current(store, plan_id, world=world)
    export_plan(plan, path, format=format, grids=grid_polygons(plan, world), households=world.households)
    return str(path)


def import_plan_file(
    store: Store, path: str, *, format: str | None = None, actor: str | None, world: PlanWorld
) -> dict[str, Any]:
    """Import a plan file as a new draft (from the published plan, moved to the file's assignment)."""
    try:
        plan = import_plan(path, format=format)
    except PlanFileError as err:
        raise InvalidInput(str(err)) from None
    unknown = sorted(set(plan.assignment) - set(world.households))
    if unknown:
        raise InvalidInput(f"{path}: {len(unknown)} buildings are not in the store, e.g. {unknown[:5]}")
    info = start_draft(store, actor=actor, note=f"imported from {path}")
    draft = info["draft"]
    head, root = _head(store, draft, world)
    missing = sorted(set(head.assignment) - set(plan.assignment))
    if missing:
        raise InvalidInput(f"{path}: {len(missing)} buildings of the published plan are missing, e.g. {missing[:5]}")
    new_grids = {c: com for c, com in plan.grid_community.items() if c not in head.grid_community}
    try:
        moved = head.reassign(dict(plan.assignment), new_grids=new_grids)
    except PlanError as err:
        raise InvalidInput(f"{path}: {err}") from None
    dropped = [c for c in moved.grid_community if not moved.grids[c]]
    new = moved.without_grids(dropped) if dropped else moved
    new = GridPlan(new.assignment, new.grid_community, parent=head, moves=moved.moves)
    plan_v = _commit(
        store,
        draft,
        root,
        head,
        new,
        actor=actor,
        action="import",
        locked=[],
        new_grids=new_grids,
        dropped=dropped,
        detail={"file": str(path)},
        world=world,
    )
    return {**draft_info(store, draft), "plan": plan_v.id, "moves": len(plan_v.moves)}
