"""What a grid leader's phone keeps for working offline (issue #19 part 4): the pages of their own scope only.

:func:`leader_scope` lists the addresses the service worker fetches and keeps after sign-in — the work list,
the page of each grid in the leader's scope, the page of each of their open requests and the building card of
each building of their grids — so these open with the network off. Nothing outside the leader's scope is listed,
and other roles get an empty list (:data:`OFFLINE_ROLES`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from gridmap.domain import privacy
from gridmap.services.complaints.todo import work_list
from gridmap.services.plans import published_plan_id
from gridmap.store.base import Store

#: roles whose pages the phone keeps for offline work (their personal data stays within their own scope)
OFFLINE_ROLES = frozenset({"grid_leader"})
#: at most this many requests and building cards are kept (a grid holds some dozens of buildings)
MAX_REQUESTS, MAX_BUILDINGS = 200, 400


def offline_allowed(user: Any) -> bool:
    return getattr(user, "role", None) in OFFLINE_ROLES and bool(getattr(user, "authenticated", True))


def leader_scope(store: Store, user: Any) -> dict[str, Any]:
    """The grids, open requests and buildings of ``user``'s scope, the page addresses to keep for them and
    ``bbox``, the extent of their grids (for the maps' data)."""
    if not offline_allowed(user):  # other roles keep nothing on the device
        return {"grids": [], "requests": [], "buildings": [], "pages": [], "bbox": None}
    grids = sorted(privacy.scope_list(getattr(user, "scope", None), "grids"))
    todo = work_list(store, user=user, limit=MAX_REQUESTS)
    requests = [str(i["id"]) for i in todo["items"]]
    plan = published_plan_id(store)
    buildings: list[str] = []
    if plan and grids:
        rows = store.read("plan_assignments", where={"plan_id": plan, "grid_code": grids}, columns=["building_id"])
        buildings = sorted({str(b) for b in rows["building_id"]})[:MAX_BUILDINGS]
    pages = [
        "/complaints",
        *(f"/grids/{quote(g)}" for g in grids),
        *(f"/complaints/{quote(r)}" for r in requests),
        *(f"/buildings/{quote(b)}" for b in buildings),
    ]
    bbox = _bounds(store, plan, grids)
    return {"grids": grids, "requests": requests, "buildings": buildings, "pages": pages, "bbox": bbox}


def _bounds(store: Store, plan: str | None, grids: list[str]) -> list[float] | None:
    """``[minx, miny, maxx, maxy]`` of the leader's grids in the published plan (None: none drawn)."""
    if not plan or not grids:
        return None
    frame = store.read("plan_grids", where={"plan_id": plan, "code": grids}, columns=["geometry"])
    if not len(frame) or frame.geometry.isna().all():
        return None
    return [round(float(v), 6) for v in frame.total_bounds]
