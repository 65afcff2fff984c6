"""The staff work list (我的待办): the open requests of the caller's area with the earliest time limit first (so
overdue ones lead), each with its category, building, days waiting, SLA clock and the moves this user may
make from the page, named as actions (派单, 办结, 督办 …) from the transitions table.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from gridmap import clock
from gridmap.domain import complaints as C
from gridmap.services.complaints.workflow import _actor_kind, list_complaints, versions
from gridmap.store.base import Store

#: moves the work list offers as a button (marking a duplicate needs the original: it is done from the API)
LIST_MOVES = (
    "dispatched",
    "responding",
    "returned",
    "reassigned",
    "resolved",
    "supervised",
    "evaluated",
    "reopened",
    "rejected",
)
#: moves that undo work or close a request without solving it: the page asks before making them
CONFIRM_MOVES = frozenset({"reopened", "rejected", "returned"})
#: states the work list shows when no state is asked for: the open ones
OPEN = tuple(k for k, st in C.STATES.items() if st.type == "open")


def moves(record: Mapping[str, Any], by: str) -> list[dict[str, Any]]:
    """The moves ``record`` allows now to an actor of kind ``by`` from the page (the domain's
    :func:`~gridmap.domain.complaints.possible_targets`: no 督办 beyond the street), each as an action (``to``,
    中文, English verb, ``confirm`` when the page must ask first; 改派 with the ``departments`` to choose from,
    its current one left out)."""
    state = record["state"]
    pairs = {(t.source, t.target): t for t in C.TRANSITIONS}
    out: list[dict[str, Any]] = []
    for t in C.possible_targets(record, by=by):
        if t not in LIST_MOVES:
            continue
        move: dict[str, Any] = {"to": t, "zh": pairs[(state, t)].zh, "en": pairs[(state, t)].en}
        move["confirm"] = t in CONFIRM_MOVES
        if t == "reassigned":
            move["departments"] = [
                {"code": code, "zh": d.zh, "en": d.en}
                for code, d in C.DEPARTMENTS.items()
                if code != record.get("department")
            ]
        out.append(move)
    return out


def sla_clock(due: Any, now: dt.datetime) -> dict[str, Any]:
    """The time left before ``due`` as whole days (``days_left`` < 0: overdue by that many days) and
    ``overdue``; empty values without a time limit."""
    if due is None or (isinstance(due, float) and math.isnan(due)):
        return {"days_left": None, "overdue": False}
    left = (clock.utc(pd.Timestamp(due).to_pydatetime()) - now).total_seconds() / 86400
    return {"days_left": math.floor(left) if left < 0 else math.ceil(left), "overdue": left < 0}


def building_names(store: Store, ids: list[str], *, number: Callable[[str], str] = str) -> dict[str, str]:
    """Building id → "estate number" (宁天家园 12), the number written by ``number`` (the pages pass the building
    card's own "%(n)s号楼" in the page's language: 宁天家园 12号楼, 宁天家园 Building 12)."""
    if not ids:
        return {}
    b = store.read("buildings", ids=ids, columns=["id", "name", "estate_id"])
    est = b["estate_id"].dropna().astype(str).unique().tolist()
    names = store.read("estates", ids=est, columns=["id", "name"]) if est else None
    estate = dict(zip(names["id"].astype(str), names["name"].astype(str))) if names is not None else {}
    return {
        str(i): f"{estate.get(str(e), '')} {'' if n is None or pd.isna(n) else number(str(n))}".strip()
        for i, n, e in zip(b["id"], b["name"], b["estate_id"])
    }


def waiting(item: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """How long a request has waited and its time limit, as the work list shows them: ``days_waiting`` since it
    was filed, ``days_left`` and ``overdue`` (:func:`sla_clock`) while it is open."""
    created = clock.utc(pd.Timestamp(item["created_at"]).to_pydatetime())
    out = sla_clock(item.get("due_at") if C.is_open(item["state"]) else None, now)
    out["days_waiting"] = max(0, int((now - created).total_seconds() // 86400))
    return out


def work_list(
    store: Store,
    *,
    user: Any,
    filters: Mapping[str, Any] | None = None,
    limit: int = 50,
    offset: int = 0,
    now: dt.datetime | None = None,
    number: Callable[[str], str] = str,
) -> dict[str, Any]:
    """The work list page's requests: open ones by default (``filters["state"]`` = ``all`` for every
    state), earliest time limit first; each item with ``moves``, ``overdue``, ``days_left``,
    ``days_waiting`` and ``building`` (its estate and number, the number written by ``number``)."""
    filters = dict(filters or {})
    state = str(filters.get("state") or "")
    if state == "all":
        filters.pop("state")
    elif not state:
        filters["state"] = ",".join(OPEN)
    out = list_complaints(store, user=user, filters=filters, limit=limit, offset=offset, order="due")
    by = _actor_kind(user)
    now = clock.utc(now) if now is not None else clock.now()
    ids = sorted({str(i["building_id"]) for i in out["items"] if i.get("building_id")})
    names = building_names(store, ids, number=number)
    version = versions(store, [str(i["id"]) for i in out["items"]])
    for item in out["items"]:
        item["version"] = version.get(str(item["id"]), 0)  # what a queued move's If-Match names
        item["moves"] = moves(item, by)
        item.update(waiting(item, now))
        item["building"] = names.get(str(item.get("building_id") or ""), "")
    return out
