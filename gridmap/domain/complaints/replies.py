"""Public replies (答复群众): words staff write for the resident, kept apart from the internal ``note``.

A reply travels on an event (``complaint_events.reply``): with a move, on that move's event; on its own (the
verb 回复), as an event that keeps the request's state (``from_state == to_state``, no note). Such a reply-only
event is not a move: it changes no state, starts no clock and is no escalation (:func:`is_reply_only`). Pure:
no Flask, no store, no files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from gridmap.domain.complaints.catalogue import ComplaintError, _isnull, _state
from gridmap.domain.complaints.workflow import check_text, same_state_event

#: longest reply to the resident
MAX_REPLY = 1000


def check_reply(value: Any) -> str | None:
    """``value`` as a reply (stripped text of at most :data:`MAX_REPLY` characters, no control characters;
    None when blank); a bilingual :class:`ComplaintError` naming the field otherwise."""
    try:
        return check_text("reply", value, MAX_REPLY)
    except ComplaintError as exc:
        raise ComplaintError(f"给群众的答复不符合要求（最多 {MAX_REPLY} 字，纯文字） / {exc}") from None


def reply(
    record: Mapping[str, Any], text: Any, *, actor: str, at: dt.datetime, seq: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Answer the resident without moving the request (回复): returns ``(record, event)``; the record only gets
    ``updated_at``, the event keeps the state (from and to the current one) and carries the reply, no note."""
    _state(record["state"])
    words = check_reply(text)
    if not words:
        raise ComplaintError("给群众的答复为空，请填写答复内容 / reply is empty: write what the resident should read")
    new = dict(record)
    new["updated_at"] = at
    return new, same_state_event(record, seq=seq, actor=actor, at=at, note=None, reply=words)


def _text(v: Any) -> str | None:
    return None if v is None or _isnull(v) or str(v) == "" else str(v)


def is_reply_only(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` is a reply on its own (回复): same state before and after, a reply and no note — not a
    move, an escalation or a change of the time limit."""
    return (
        event.get("from_state") is not None
        and event.get("from_state") == event.get("to_state")
        and _text(event.get("reply")) is not None
        and _text(event.get("note")) is None
    )


def latest_reply(events: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The newest reply of a request's events (by ``seq``) as ``{"reply", "at", "seq"}``, or None."""
    best: dict[str, Any] | None = None
    for e in events:
        words = _text(e.get("reply"))
        if words is not None and (best is None or int(e["seq"]) > best["seq"]):
            best = {"reply": words, "at": e.get("at"), "seq": int(e["seq"])}
    return best
