"""Working on requests: who may act on which (scope by grid, community, street or department), moving a
request through the transitions table, automatic 督办 of overdue requests, and reading and listing them.

Scope keys follow :mod:`gridmap.domain.privacy`: ``grids``, ``communities``, ``streets``, ``departments``
(department codes such as ``urban_management`` or their Chinese names such as ``城管``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from gridmap import clock
from gridmap.domain import complaints as C
from gridmap.domain import privacy
from gridmap.domain.codes import street_of
from gridmap.errors import Conflict, Forbidden, InvalidInput, NotFoundError
from gridmap.services.complaints.records import (
    STAFF_ROLES,
    _actor,
    _event_json,
    _isna,
    _now,
    _write,
    policy_from,
    public_view,
    staff_view,
)
from gridmap.services.plans.stored import published_plan_id
from gridmap.store import audit
from gridmap.store.base import ConflictError, Range, Store

#: roles that may change a request's time limit (延期): the officials above the grid leader
DUE_ROLES = ("community_official", "street_official", "admin")


# -- who may act ---------------------------------------------------------------------------------------
def _scope(user: Any, key: str) -> frozenset[str]:
    return privacy.scope_list(getattr(user, "scope", None), key)


def _current_grid(store: Store, rec: Mapping[str, Any]) -> str | None:
    plan = published_plan_id(store)
    if plan and rec.get("building_id"):
        a = store.read("plan_assignments", where={"plan_id": plan, "building_id": rec["building_id"]})
        if len(a):
            return str(a.iloc[0]["grid_code"])
    return rec.get("filed_grid_code")


def in_scope(user: Any, rec: Mapping[str, Any], grid: str | None = None) -> bool:
    """Whether ``user``'s area holds the request (:func:`gridmap.domain.privacy.in_scope`): at its current
    grid ``grid`` or at the grid it was filed in."""
    return any(privacy.in_scope(user, privacy.Where.of({**rec, "grid_code": g})) for g in (grid, None))


def _actor_kind(user: Any) -> str:
    role = getattr(user, "role", "public")
    if role in STAFF_ROLES:
        return "staff"
    if role == "department":
        return "department"
    raise Forbidden(
        "只有网格员、部门和工作人员可以办理诉求 / only grid leaders, departments and officials act on requests"
    )


# -- moving a request ---------------------------------------------------------------------------------
def _load(store: Store, cid: str) -> dict[str, Any]:
    row = store.get("complaints", str(cid))
    if row is None:
        raise NotFoundError(f"诉求 {cid} 不存在 / request {cid} does not exist")
    return row


def _next_seq(store: Store, cid: str) -> int:
    ev = store.read("complaint_events", where={"complaint_id": str(cid)}, columns=["seq"])
    return int(ev["seq"].max()) + 1 if len(ev) else 1


def transition(
    store: Store,
    cid: str,
    target: str,
    *,
    user: Any,
    settings: Mapping[str, Any],
    note: str | None = None,
    changes: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    if_version: Any = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Move request ``cid`` to ``target`` as ``user`` (one transaction); returns the new record and the
    events written. With ``if_version`` (the request's version the caller saw, see :func:`versions`) the move
    is refused with a :class:`~gridmap.errors.Conflict` whose detail holds the request's current state when it
    has changed since; with an idempotency ``key`` a repeated call is answered with the first answer and applies
    nothing. ``changes`` holds only what that move may carry (:data:`gridmap.domain.complaints.MOVE_FIELDS`:
    ``assignee``, ``department`` on reassignment, ``rating`` and ``resolved`` on evaluation, ``reason`` on
    rejection, ``duplicate_of``) and a ``reply`` to the resident (on the move's last event); any other field is
    refused (400).
    An unsatisfied resident reopens the request (two events). The move is written to the audit log
    (``complaint.transition``: states, event numbers and the names of the changed columns, no values)."""
    now = _now(now)
    policy = policy_from(settings)
    by = _actor_kind(user)
    fields = {**dict(changes or {}), **({"note": note} if note else {})}
    note, changes = C.move_fields(str(target), fields)  # a reply may come with every move
    words = C.check_reply(fields.get("reply"))
    key_id = _key_id(user, key)
    with store.transaction():
        rec = _load(store, cid)
        if not in_scope(user, rec, _current_grid(store, rec)):
            raise Forbidden(f"诉求 {cid} 不在您的范围内 / request {cid} is outside your area")
        if key_id:
            first = store.get("action_keys", key_id)
            if first is not None:
                if first.get("target") != f"complaint:{cid}":
                    raise InvalidInput(f"idempotency key {key!r} was used for {first.get('target')}, not request {cid}")
                return dict(first["result"])
        seq = _next_seq(store, cid)
        _check_unchanged(rec, seq - 1, if_version)
        actor = _actor(user)
        try:
            if target == "evaluated":
                rating, resolved = changes.pop("rating", None), _bool(changes.pop("resolved", None))
                new, events = C.evaluate(
                    rec, rating=rating, resolved=resolved, actor=actor, at=now, seq=seq, policy=policy, note=note
                )
            elif target == "reopened":
                new, ev = C.reopen(rec, actor=actor, at=now, seq=seq, policy=policy, note=note)
                events = [ev]
            else:
                if target == "reassigned" and changes.get("department") and "due_at" not in changes:
                    changes["due_at"] = policy.calendar.due(now, policy.sla_for(rec["category"]))
                new, ev = C.apply(rec, target, actor=actor, by=by, at=now, seq=seq, note=note, changes=changes)
                events = [ev]
        except C.IllegalTransition as exc:
            raise Conflict(str(exc)) from None
        if words:  # the resident reads it under the step the move made
            events[-1] = {**events[-1], "reply": words}
        _save(store, cid, rec, new, events, user=user, action="complaint.transition")
        out = {"complaint": staff_view(new), "events": [_event_json(e) for e in events]}
        if key_id:
            _remember(store, key_id, user, f"complaint:{cid}", out, now)
    return out


#: what an idempotency key may look like (the offline queue sends a UUID)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def _key_id(user: Any, key: str | None) -> str | None:
    """The stored id of ``user``'s idempotency ``key`` (keys are per user), or None without a key."""
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) > 100 or not set(key) <= _KEY_CHARS:
        raise InvalidInput("Idempotency-Key: up to 100 letters, digits and - _ . : (a UUID, for example)")
    return f"{getattr(user, 'id', None) or getattr(user, 'username', None) or 'anonymous'}:{key}"


def _remember(store: Store, key_id: str, user: Any, target: str, out: Mapping[str, Any], now: dt.datetime) -> None:
    row = {"id": key_id, "user_id": key_id.rsplit(":", 1)[0], "target": target, "result": dict(out), "created_at": now}
    try:
        store.write("action_keys", pd.DataFrame([row]), mode="insert")
    except ConflictError:  # the same key sent twice at the same moment: the other send applied it
        raise Conflict(f"the action with this idempotency key on {target} is being applied; ask again") from None


def _check_unchanged(rec: Mapping[str, Any], version: int, seen: Any) -> None:
    """Refuse (409) a move based on an older version of ``rec`` than the stored ``version``; the detail carries
    both (the version seen, the current state, version and time)."""
    if seen is None or seen == "":
        return
    text = str(seen).strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise InvalidInput(f'If-Match / if_version {seen!r} is not a request version (a whole number, e.g. "3")')
    if int(text) == version:
        return
    state = C.STATES[rec["state"]]
    raise Conflict(
        f"诉求 {rec['id']} 已被他人更新 / request {rec['id']} was changed by someone else since version {text}",
        detail={
            "based_on": int(text),
            "current": {
                "version": version,
                "state": rec["state"],
                "state_zh": state.zh,
                "state_en": state.en,
                "updated_at": staff_view(rec)["updated_at"],
            },
        },
    )


def versions(store: Store, ids: Sequence[str]) -> dict[str, int]:
    """Each request's version: the number of its last event (every change to a request writes one), which a
    move's ``if_version`` names."""
    if not ids:
        return {}
    ev = store.read("complaint_events", where={"complaint_id": [str(i) for i in ids]}, columns=["complaint_id", "seq"])
    return {str(k): int(v) for k, v in ev.groupby("complaint_id")["seq"].max().items()} if len(ev) else {}


def set_due(
    store: Store,
    cid: str,
    due_at: Any,
    *,
    user: Any,
    settings: Mapping[str, Any],
    note: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Change the time limit of open request ``cid`` (延期), as an event of its own (the old and new limit
    and the reason): only community and street officials whose area holds it, and admins
    (:data:`DUE_ROLES`). Audited as ``complaint.due``."""
    now = _now(now)
    policy = policy_from(settings)
    if getattr(user, "role", "public") not in DUE_ROLES:
        raise Forbidden(
            "只有社区、街道工作人员可以调整办理时限 / only community and street officials change a request's time limit"
        )
    due = _datetime_like(due_at, policy.zone)
    with store.transaction():
        rec = _load(store, cid)
        if not in_scope(user, rec, _current_grid(store, rec)):
            raise Forbidden(f"诉求 {cid} 不在您的范围内 / request {cid} is outside your area")
        try:
            new, ev = C.set_due(rec, due, actor=_actor(user), at=now, seq=_next_seq(store, cid), note=note)
        except C.IllegalTransition as exc:
            raise Conflict(str(exc)) from None
        _save(store, cid, rec, new, [ev], user=user, action="complaint.due")
    return {"complaint": staff_view(new), "events": [_event_json(ev)]}


def reply(
    store: Store,
    cid: str,
    text: Any,
    *,
    user: Any,
    now: dt.datetime | None = None,
    if_version: Any = None,
) -> dict[str, Any]:
    """Answer the resident of request ``cid`` without moving it (回复): an event that keeps the state and carries
    ``text`` (:func:`gridmap.domain.complaints.reply`), by staff and departments whose area holds the request, in
    any state. ``if_version`` as :func:`transition`. Audited as ``complaint.reply`` (no words)."""
    now = _now(now)
    _actor_kind(user)
    with store.transaction():
        rec = _load(store, cid)
        if not in_scope(user, rec, _current_grid(store, rec)):
            raise Forbidden(f"诉求 {cid} 不在您的范围内 / request {cid} is outside your area")
        seq = _next_seq(store, cid)
        _check_unchanged(rec, seq - 1, if_version)
        new, ev = C.reply(rec, text, actor=_actor(user), at=now, seq=seq)
        _save(store, cid, rec, new, [ev], user=user, action="complaint.reply")
    return {"complaint": staff_view(new), "events": [_event_json(ev)]}


def _datetime_like(value: Any, zone: Any) -> dt.datetime:
    """``value`` (a datetime or ISO 8601 text) as aware UTC; without an offset it is read on the service's
    clocks (``zone``), as people write times."""
    if isinstance(value, dt.datetime):
        t = value
    else:
        text = C.check_text("due_at", value, 40)
        try:
            t = dt.datetime.fromisoformat(str(text or "").replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"due_at {value!r} is not a date and time such as 2025-06-30T18:00:00") from None
    return clock.utc(t if t.tzinfo is not None else t.replace(tzinfo=zone))


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names of the columns a change touched (``updated_at`` aside)."""

    def same(a: Any, b: Any) -> bool:
        if _isna(a) and _isna(b):
            return True
        try:
            return bool(a == b)
        except (TypeError, ValueError):
            return False

    return sorted(k for k in new if k not in ("updated_at", "lon", "lat", "geometry") and not same(old.get(k), new[k]))


def _save(
    store: Store,
    cid: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    *,
    user: Any,
    action: str,
) -> None:
    """Write a changed request, its events and the audit entry (inside the caller's transaction)."""
    try:
        _write(store, new, events, mode="upsert")
    except ConflictError:  # another move of the same request won the race for this event number
        raise Conflict(
            f"request {cid} was changed by someone else at the same moment; reload it and try again"
        ) from None
    audit.record(
        store,
        user if getattr(user, "username", None) else _actor(user),
        action,
        f"complaint:{cid}",
        {
            "from": old.get("state"),
            "to": new.get("state"),
            "seq": [int(e["seq"]) for e in events],
            "changed": _changed(old, new),
            "note": any(e.get("note") for e in events),
            "reply": any(e.get("reply") for e in events),
        },
    )


def _bool(v: Any) -> Any:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "1", "yes", "是"):
            return True
        if low in ("false", "0", "no", "否"):
            return False
    return v


def escalate_overdue(store: Store, *, settings: Mapping[str, Any], now: dt.datetime | None = None) -> dict:
    """Automatic 督办 for every overdue open request (grid leader → community → street), one transaction.

    Returns ``{"checked": n, "escalated": [ids], "events": k}``.
    """
    now = _now(now)
    policy = policy_from(settings)
    open_states = [s for s, st in C.STATES.items() if st.type == "open"]
    escalated: list[str] = []
    n_events = 0
    with store.transaction():
        recs = store.read("complaints", where={"state": open_states, "due_at": Range.below(now)})
        for _, row in recs.iterrows():
            rec = {k: (None if _isna(v) else v) for k, v in row.items()}
            steps = C.escalate(rec, now, seq=_next_seq(store, str(rec["id"])), policy=policy)
            if steps:
                _save(
                    store,
                    str(rec["id"]),
                    rec,
                    steps[-1][0],
                    [ev for _, ev in steps],
                    user="system",
                    action="complaint.escalate",
                )
                escalated.append(str(rec["id"]))
                n_events += len(steps)
    return {"checked": int(len(recs)), "escalated": escalated, "events": n_events}


# -- reading ---------------------------------------------------------------------------------------------
def get_complaint(store: Store, cid: str, *, user: Any) -> dict[str, Any]:
    """One request with its events, shaped for ``user`` by :mod:`gridmap.domain.privacy`.

    Staff whose area holds it get it with personal fields by :func:`~gridmap.domain.privacy.access_level`
    (planners: masked) and event notes by :func:`~gridmap.domain.privacy.note_level` (the area's own staff in
    clear, planners and departments masked). Staff outside its area get what the public rule allows
    (:func:`~.records.public_view`: no personal field, no building, location rounded to ~100 m) and events
    without notes. The public and viewers get nothing (403). The caller audits the read.
    """
    rec = _load(store, cid)
    if getattr(user, "role", "public") in privacy.AGGREGATE_ONLY:
        raise Forbidden("请先登录 / individual requests are for staff; the public sees aggregates (/kpi)")
    grid = _current_grid(store, rec)
    view = staff_view(rec, grid=grid)
    where = _where(user, rec, grid)
    if in_scope(user, rec, grid):
        view = privacy.redact_record(view, "complaints", user, where=where)
    else:
        view = public_view(view)
    events = [{**e, "reply_only": C.is_reply_only(e)} for e in events_of(store, cid)]  # 回复: not a move
    view["events"] = privacy.redact_events(events, user, where)
    view["version"] = max((int(e["seq"]) for e in events), default=0)  # what a move's if_version names
    return view


def complaint_events(store: Store, cid: str, *, user: Any) -> list[dict[str, Any]]:
    """A request's events for ``user``: notes shown, masked or left out as :func:`get_complaint` does."""
    return get_complaint(store, cid, user=user)["events"]


def _where(user: Any, rec: Mapping[str, Any], grid: str | None) -> privacy.Where:
    """Where the request sits for ``user``: at the grid (current or filed, as :func:`in_scope` reads it) that
    puts it inside the user's area, if one does."""
    places = [privacy.Where.of({**rec, "grid_code": g}) for g in (grid, None)]
    return next((w for w in places if privacy.in_scope(user, w)), places[0])


def events_of(store: Store, cid: str) -> list[dict[str, Any]]:
    """Every event of request ``cid`` as stored (notes in clear): for the services' own use — what a
    person sees goes through :func:`complaint_events`."""
    ev = store.read("complaint_events", where={"complaint_id": str(cid)}, order_by=["seq"])
    return [_event_json({k: (None if _isna(v) else v) for k, v in r.items()}) for r in ev.to_dict("records")]


def list_complaints(
    store: Store,
    *,
    user: Any,
    filters: Mapping[str, Any] | None = None,
    limit: int = 100,
    offset: int = 0,
    order: str = "newest",
) -> dict[str, Any]:
    """Requests in the user's area, newest first (``order="due"``: earliest time limit first, so overdue
    requests lead). ``filters``: ``state``, ``category``, ``department``, ``grid`` (filed grid),
    ``community_id``, ``overdue`` (true)."""
    filters = dict(filters or {})
    where: dict[str, Any] = {}
    for key, col in (
        ("state", "state"),
        ("category", "category"),
        ("department", "department"),
        ("grid", "filed_grid_code"),
        ("community_id", "community_id"),
    ):
        if filters.get(key):
            where[col] = str(filters[key]).split(",")
    role = getattr(user, "role", "public")
    if role == "grid_leader":
        where["filed_grid_code"] = sorted(
            set(where.get("filed_grid_code", _scope(user, "grids"))) & _scope(user, "grids")
        )
    elif role == "department":
        codes = set(privacy.department_codes(_scope(user, "departments")))
        where["department"] = sorted(set(where.get("department", codes)) & codes)
    elif role == "community_official":
        where["community_id"] = sorted(
            set(where.get("community_id", _scope(user, "communities"))) & _scope(user, "communities")
        )
    rows = store.read("complaints", where=where, order_by=["created_at"])
    if role == "street_official":
        rows = rows[rows["community_id"].map(street_of, na_action="ignore").isin(_scope(user, "streets"))]
    if str(filters.get("overdue", "")).lower() in ("1", "true", "yes"):
        rows = rows[rows["state"].map(C.is_open) & (rows["due_at"] < pd.Timestamp(clock.now()))]
    rows = rows.sort_values(["due_at", "created_at"], kind="stable") if order == "due" else rows.iloc[::-1]
    total = len(rows)
    page = rows.iloc[offset : offset + limit]
    items = [staff_view({k: (None if _isna(v) else v) for k, v in r.items()}) for r in page.to_dict("records")]
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def open_states() -> list[dict[str, str]]:
    """The open states (code, 中文, English), for filters."""
    return [{"code": k, "zh": st.zh, "en": st.en} for k, st in C.STATES.items() if st.type == "open"]
