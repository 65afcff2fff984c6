"""What an operator's probes ask: is the store ready to serve, and the figures ``/metrics`` exports.

``/healthz`` asks nothing of the store (the process answers); ``/readyz`` asks :func:`readiness`; ``/metrics``
reads :func:`complaint_gauges` at each scrape (two small counting queries, no layer is read whole).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gridmap import clock
from gridmap.domain.complaints.catalogue import STATES
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.backup import head_revision
from gridmap.store.base import Range, Store

OPEN_STATES = tuple(label for label, state in STATES.items() if state.type == "open")


def readiness(store: Store) -> dict[str, Any]:
    """``{"ready": bool, "checks": {"store", "schema", "published_plan"}}``: each check ``ok`` or why not."""
    checks: dict[str, str] = {}
    try:
        revision = store.schema_revision()
        checks["store"] = "ok"
    except Exception as exc:  # unreachable database: not ready, whatever the driver raised
        checks["store"] = f"unreachable: {type(exc).__name__}"
        return {"ready": False, "checks": checks}
    head = head_revision()
    checks["schema"] = "ok" if revision == head else f"at {revision!r}, head is {head!r}: run gridmap migrate"
    try:
        plan = published_plan_id(store)
    except Exception as exc:  # tables missing before the first migration
        plan, checks["published_plan"] = None, f"unreadable: {type(exc).__name__}"
    else:
        checks["published_plan"] = "ok" if plan else "no published plan: publish one (gridmap plan publish)"
    return {"ready": all(v == "ok" for v in checks.values()), "checks": checks}


def complaint_gauges(store: Store, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Open requests by state and how many are overdue (open and past their time limit) at ``now``."""
    now = clock.utc(now) if now is not None else clock.now()
    by_state = {label: store.count("complaints", where={"state": label}) for label in OPEN_STATES}
    overdue = store.count("complaints", where={"state": list(OPEN_STATES), "due_at": Range.below(now)})
    return {"open_by_state": by_state, "overdue": overdue}
