"""Plan use cases shared by the CLI and the planner UI: drafts, moves, checks, rebalance, diff, publish,
rollback, export and import.

A draft is a chain of plan rows (status ``draft``): its root row starts from a base plan, and every change
(move, merge, split, lock, rebalance, import) adds a row whose ``moves`` column holds the building moves
from its parent and whose ``params`` hold ``kind="version"``, the draft's root id, the locked grids and
any grids added or dropped. Only published (or imported/generated) plans carry full ``plan_assignments``
rows, so a move writes one small row. Undo/redo move the draft's head along that chain (head and redo
stack live in the root row's ``params``). Publishing writes the head's assignments and grid polygons
(union of the buildings' tessellation cells), supersedes the previous published plan and records new and
retired grid codes. Every change is written to the audit log.

* :mod:`.world` — the :class:`PlanWorld` plans are checked against;
* :mod:`.stored` — plans in the store, the published plan, audit rows;
* :mod:`.checks` — per-grid checks and grid polygons;
* :mod:`.drafts` — start, move, merge, split, lock, undo, redo, the planner's view of a draft;
* :mod:`.rebalancing` — rebalance a draft, diff two plans;
* :mod:`.gate` — what publishing a draft would bring into force, and the hard failures that stop it;
* :mod:`.publishing` — publish (gated), roll back;
* :mod:`.exchange` — plan files out and in.

The names below are the package's public API (``from gridmap.services import plans as svc``).
"""

from gridmap.services.plans.checks import check_plan, grid_polygons
from gridmap.services.plans.drafts import (
    communities,
    draft_info,
    draft_view,
    lock_grids,
    merge_grids,
    move_buildings,
    redo,
    split_grid,
    start_draft,
    undo,
)
from gridmap.services.plans.exchange import export_plan_file, import_plan_file
from gridmap.services.plans.gate import hard_failures, review
from gridmap.services.plans.publishing import publish, rollback
from gridmap.services.plans.rebalancing import diff, rebalance_draft
from gridmap.services.plans.stored import audit, list_plans, load_current, load_plan, published_plan_id
from gridmap.services.plans.world import PlanWorld, load_world, world_stamp

__all__ = [
    "PlanWorld",
    "load_world",
    "world_stamp",
    "communities",
    "draft_view",
    "published_plan_id",
    "load_plan",
    "load_current",
    "start_draft",
    "draft_info",
    "move_buildings",
    "merge_grids",
    "split_grid",
    "lock_grids",
    "undo",
    "redo",
    "rebalance_draft",
    "check_plan",
    "publish",
    "review",
    "hard_failures",
    "rollback",
    "diff",
    "list_plans",
    "grid_polygons",
    "export_plan_file",
    "import_plan_file",
    "audit",
]
