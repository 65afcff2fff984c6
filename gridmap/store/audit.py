"""The audit trail: who read which personal data and who changed what, when (layer ``audit_log``).

Call :func:`record` from a service whenever it returns personal fields to someone or changes rows::

    from gridmap import audit
    audit.record(store, actor=user.username, action="households.read", target="grid:370214001001001",
                 detail={"rows": 12, "fields": ["head_name", "phone"]})

Inside a ``store.transaction()`` the entry commits or rolls back with the change it describes.
Actions are ``<thing>.<verb>`` (``households.read``, ``complaint.transition``, ``plan.publish``,
``login.failed`` …). ``detail`` is JSON and must not itself hold the personal values read.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gridmap import clock

MAX_DETAIL_CHARS = 4000


def record(
    store: Any,
    actor: Any,
    action: str,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    at: dt.datetime | None = None,
) -> str:
    """Append one entry to ``audit_log`` and return its id.

    Parameters
    ----------
    store : Store
    actor : str or object with ``username`` (a ``User``); ``None`` is recorded as ``anonymous``
    action : ``"<thing>.<verb>"``
    target : what was read or changed (``"household:h1"``, ``"grid:370214…"``, ``"user:u-3"``)
    detail : small JSON-able mapping (row counts, fields, changed columns, client address)
    """
    if not action or len(action) > 80:
        raise ValueError("audit action must be a short '<thing>.<verb>' string")
    name = actor if isinstance(actor, str) else getattr(actor, "username", None) or "anonymous"
    at = clock.utc(at) if at is not None else clock.now(precise=True)
    entry_id = f"a-{at:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    detail = dict(detail or {})
    if len(repr(detail)) > MAX_DETAIL_CHARS:
        detail = {"truncated": True, "keys": sorted(map(str, detail))[:50]}
    row = {
        "id": entry_id,
        "at": at,
        "actor": name,
        "action": action,
        "target": None if target is None else str(target)[:500],
        "detail": detail,
    }
    store.write_rows("audit_log", [row], mode="insert")
    return entry_id


def entries(
    store: Any,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> pd.DataFrame:
    """The newest audit entries first, filtered by exact ``actor``/``action``/``target``."""
    where = {k: v for k, v in (("actor", actor), ("action", action), ("target", target)) if v is not None}
    return store.read("audit_log", where=where or None, order_by=["-at", "-id"], limit=limit, offset=offset)
