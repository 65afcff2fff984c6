"""A resident follows their own request: the unguessable link to its status page, what that page shows (steps
and times, who handles it, the expected date — no one's personal data), finding it again by number and the
last four digits of the phone given, and the resident's own rating (回访评价) of a resolved request.

The link carries a token derived from the request's id with the service's secret (HMAC-SHA256), so nothing
new is stored and a link cannot be guessed from a number. The key is the instance's link key, which rotating
the session key leaves alone (:mod:`gridmap.instance`), so a link lasts as long as its request. The rating is
the ``resolved → evaluated`` transition of the workflow made by the ``resident`` actor kind: once per
resolution (an evaluated request cannot be evaluated again), an unsatisfied verdict within the reopen window
reopens it (:func:`gridmap.domain.complaints.evaluate`), audited as
``complaint.transition`` like every move.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from gridmap import clock
from gridmap.domain import complaints as C
from gridmap.domain import privacy
from gridmap.errors import Conflict, InvalidInput, NotFoundError
from gridmap.services.complaints.records import _event_json, _now, policy_from, staff_view
from gridmap.services.complaints.workflow import _current_grid, _load, _next_seq, _save, events_of
from gridmap.store.base import Store

#: who a resident is in events and the audit log (no personal data: the request's id names them)
RESIDENT = "resident"


class _Resident:
    """The resident as an actor of the audit log."""

    role = "public"
    scope: Mapping[str, Any] = {}

    def __init__(self, cid: str) -> None:
        self.id = RESIDENT
        self.username = f"{RESIDENT}:{cid}"


def follow_token(secret: str, cid: str) -> str:
    """The token of request ``cid``'s status link: 20 base32 characters of HMAC-SHA256(secret, id)."""
    if not secret:
        raise InvalidInput("the service has no SECRET_KEY: status links cannot be made")
    digest = hmac.new(secret.encode(), f"complaint-follow:{cid}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:15]).decode().lower()


def check_token(keys: Sequence[str], cid: str, token: str | None) -> None:
    """:class:`NotFoundError` unless ``token`` opens request ``cid`` under one of ``keys`` (the same answer as
    for a request that does not exist, so a wrong token tells nothing)."""
    given = str(token or "").strip().lower()
    if not given or not any(hmac.compare_digest(follow_token(k, str(cid)), given) for k in keys):
        raise NotFoundError(f"诉求 {cid} 不存在或链接不正确 / request {cid} does not exist or the link is wrong")


def find_by_phone(store: Store, cid: str, last4: str) -> str:
    """The id of request ``cid`` when ``last4`` is the last four digits of the phone given with it;
    :class:`NotFoundError` (the same for every miss) otherwise."""
    digits = "".join(ch for ch in str(last4 or "") if ch.isdigit())
    if len(digits) != 4:
        raise InvalidInput("请输入所留电话的后四位 / give the last four digits of the phone you left")
    rec = store.get("complaints", str(cid).strip())
    phone = "".join(ch for ch in str((rec or {}).get("contact_phone") or "") if ch.isdigit())
    if rec is None or len(phone) < 4 or not hmac.compare_digest(phone[-4:], digits):
        raise NotFoundError("编号或电话后四位不对 / no request with that number and phone")
    return str(rec["id"])


def handler(rec: Mapping[str, Any], grid: str | None) -> dict[str, Any]:
    """Who handles the request, by unit and role only: its department and the grid leader of its grid."""
    dept = C.DEPARTMENTS.get(str(rec.get("department") or ""))
    return {
        "department": rec.get("department"),
        "department_zh": dept.zh if dept else None,
        "department_en": dept.en if dept else None,
        "grid_code": grid,
    }


def resident_view(
    store: Store, cid: str, *, settings: Mapping[str, Any], now: dt.datetime | None = None
) -> dict[str, Any]:
    """What the resident's status page shows of request ``cid``: category, state, times, the handling unit,
    the steps (state and time, each with the replies staff gave the resident in it, oldest first, phone and ID
    numbers masked; staff notes and names stay out), whether it may be rated now, and the
    resident's own words with any phone or ID number in them masked."""
    now = _now(now)
    rec = _load(store, cid)
    grid = _current_grid(store, rec)
    view = staff_view(rec, grid=grid)
    steps: list[dict[str, Any]] = []
    for e in events_of(store, cid):
        words = privacy.redact_text(e.get("reply")) or None  # staff's words for the resident (never the note)
        said = [{"text": words, "at": e["at"]}] if words else []
        if C.is_reply_only(e) and steps:  # a reply on its own goes under the step it was given in
            steps[-1]["replies"].extend(said)
            continue
        st = C.STATES[e["to_state"]]
        same = e["from_state"] == e["to_state"] and e["to_state"] != "supervised"
        steps.append(
            {
                "seq": e["seq"],
                "state": e["to_state"],
                "zh": "调整办理时限" if same else st.zh,
                "en": "time limit changed" if same else st.en,
                "at": e["at"],
                "by_resident": e.get("actor") == RESIDENT,
                "replies": said,  # oldest first
            }
        )
    due = view.get("due_at")
    open_ = C.is_open(rec["state"])
    return {
        "id": view["id"],
        "category": view["category"],
        "category_zh": view["category_zh"],
        "category_en": view["category_en"],
        "state": view["state"],
        "state_zh": view["state_zh"],
        "state_en": view["state_en"],
        "status": view["status"],
        "created_at": view["created_at"],
        "due_at": due,
        "closed_at": view.get("closed_at"),
        "overdue": bool(open_ and due and clock.utc(pd.Timestamp(due).to_pydatetime()) < now),
        "description": privacy.redact_text(view.get("description")),
        "handler": handler(rec, grid),
        "steps": steps,
        "may_rate": rec["state"] == "resolved",
        "rating": view.get("rating"),
        "resolved": view.get("resolved"),
        "reopen_days": policy_from(settings).reopen_days,
        "satisfied_min": policy_from(settings).satisfied_min,
    }


def rate(
    store: Store,
    cid: str,
    *,
    rating: Any,
    resolved: Any,
    settings: Mapping[str, Any],
    note: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The resident's verdict on resolved request ``cid`` (rating 1–5, solved or not), one transaction: the
    ``evaluated`` move by the ``resident`` actor kind, then ``reopened`` when unsatisfied within the reopen
    window. A request that is not (or no longer) resolved cannot be rated: :class:`Conflict`."""
    now = _now(now)
    policy = policy_from(settings)
    verdict = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(
        str(resolved).strip().lower(), resolved
    )
    try:
        score = int(str(rating).strip())
    except ValueError:
        raise InvalidInput(f"rating {rating!r}: choose 1 to 5 stars / 请选择 1–5 星") from None
    with store.transaction():
        rec = _load(store, cid)
        if rec["state"] != "resolved":
            raise Conflict(
                f"诉求 {cid} 现在是{C.STATES[rec['state']].zh}，不能评价 / request {cid} is "
                f"{C.STATES[rec['state']].en}: only a resolved request can be rated, once"
            )
        try:
            new, events = C.evaluate(
                rec,
                rating=score,
                resolved=verdict,
                actor=RESIDENT,
                by="resident",
                at=now,
                seq=_next_seq(store, cid),
                policy=policy,
                note=C.check_text("note", note, C.MAX_NOTE),
            )
        except C.IllegalTransition as exc:
            raise Conflict(str(exc)) from None
        _save(store, cid, rec, new, list[Mapping[str, Any]](events), user=_Resident(cid), action="complaint.transition")
    why = C.unsatisfied(score, verdict, policy) if new["state"] == "reopened" else None
    return {"state": new["state"], "why": why, "events": [_event_json(e) for e in events]}
