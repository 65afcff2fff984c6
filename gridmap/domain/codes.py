"""Grid codes: 15 digits = 12-digit community id + 3-digit sequence, numbered west→east, north→south.

The hierarchy is written in the digits: district 6, street 9 (district + 3), community 12 (street + 3),
grid 15 (community + 3). :func:`district_of`, :func:`street_of`, :func:`community_of` and :func:`level_of`
are the one place that knows those lengths; nobody else slices a code.

Regenerating keeps the code of every grid whose building set is unchanged; new grids get sequence
numbers after the highest ever issued in the community, so a retired code is never reused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from gridmap.errors import InvalidInput

# ASCII digits only (\d alone takes full-width １ and other scripts' digits); \Z, not $: "$" also matches
# before a trailing newline, and "…001\n" is no code
CODE_RE = re.compile(r"\A\d{15}\Z", re.ASCII)
COMMUNITY_RE = re.compile(r"\A\d{12}\Z", re.ASCII)
#: the code of an area: district (6 digits), street (9), community (12) or grid (15); a JSON Schema pattern too,
#: so matched whole with fullmatch
AREA_CODE_RE = re.compile(r"^[0-9]{6}(?:[0-9]{3}){0,3}$")

#: digits of each level of the code hierarchy, top down
LEVELS: dict[str, int] = {"district": 6, "street": 9, "community": 12, "grid": 15}


class CodeError(InvalidInput):
    """A community id that is not 12 digits, or a community out of 3-digit sequence numbers."""


def _text(code: Any) -> str:
    """``code`` as stripped text (None → ``""``). Missing values (NaN, ``pd.NA``, ``NaT``) read as ``nan``,
    ``<NA>``, ``NaT``: no digits, so no level and no prefix."""
    return "" if code is None else str(code).strip()


def _prefix(code: Any, level: str) -> str | None:
    text = _text(code)
    n = LEVELS[level]
    return text[:n] if len(text) >= n else None


def district_of(code: Any) -> str | None:
    """The 6-digit district id of a street id, community id or grid code (None when too short)."""
    return _prefix(code, "district")


def street_of(code: Any) -> str | None:
    """The 9-digit street id of a community id or grid code (None when too short)."""
    return _prefix(code, "street")


def community_of(code: Any) -> str | None:
    """The 12-digit community id of a grid code (None when too short)."""
    return _prefix(code, "community")


def level_of(code: Any) -> str | None:
    """``"district"``, ``"street"``, ``"community"`` or ``"grid"`` by the length of an all-digit code;
    None for anything else."""
    text = _text(code)
    if not (text.isascii() and text.isdigit()):
        return None
    return next((level for level, n in LEVELS.items() if len(text) == n), None)


def area_codes(values: Iterable[str]) -> tuple[str, ...]:
    """Distinct area codes (:data:`AREA_CODE_RE`), sorted; :class:`InvalidInput` for a blank one (it would
    read as "every area") or one of another shape."""
    given = [str(v) for v in values]
    if any(not v.strip() for v in given):
        raise InvalidInput(
            "网格范围含空编码 / grids: an empty code would cover every grid; leave grids out for the whole district"
        )
    bad = [v for v in given if not AREA_CODE_RE.fullmatch(v)]
    if bad:
        raise InvalidInput(f"网格范围需为区/街道/社区/网格编码 / grids must be 6/9/12/15-digit codes: {bad}")
    return tuple(sorted(set(given)))


def geographic_order(xy: np.ndarray, *, row_height: float | None = None) -> np.ndarray:
    """Positions of ``xy`` (metric, y north) in reading order: rows north→south, west→east in a row.

    Walking south from the northernmost point, a point more than half ``row_height`` below the
    first point of the current row starts a new row (default ``row_height``: the typical spacing
    sqrt(bbox area / n)).
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if row_height is None:
        span = np.ptp(xy, axis=0)
        row_height = max(float(np.sqrt(max(span[0], 1.0) * max(span[1], 1.0) / n)), 1e-9)
    # rows: walking south, a point more than half a row below the row's first point starts a new row
    by_y = np.argsort(-xy[:, 1], kind="stable")
    band = np.empty(n, dtype=np.int64)
    row, top = 0, xy[by_y[0], 1]
    for i in by_y.tolist():
        if top - xy[i, 1] > row_height / 2:
            row, top = row + 1, xy[i, 1]
        band[i] = row
    return np.lexsort((xy[:, 0], band))


def sequence(code: str) -> int:
    """The 3-digit sequence number of a grid code within its community."""
    return int(code[LEVELS["community"] :])


def short_code(code: str) -> str:
    """The short form of a grid code people read and type inside its community: the 3-digit sequence
    (``370214003002005`` → ``"005"``); map labels and search use it with the community's name."""
    text = _text(code)
    return text[LEVELS["community"] :] if len(text) == LEVELS["grid"] else text


def assign_codes(
    community_id: str,
    grids: Sequence[frozenset[str]],
    xy: np.ndarray,
    *,
    previous: Mapping[frozenset[str], str] | None = None,
    issued: Iterable[str] = (),
) -> list[str]:
    """A code for each of ``grids`` (building-id sets) of one community.

    Parameters
    ----------
    community_id
        12 digits.
    grids
        Building ids per grid; ``xy`` their representative points (metric CRS), same order.
    previous
        Building set -> code in the plan being replaced: an unchanged grid keeps its code.
    issued
        Every code ever issued in this community (kept, retired or in drafts): never reissued.

    Raises
    ------
    CodeError
        ``community_id`` is not 12 digits, or sequence numbers would pass 999.
    """
    if not COMMUNITY_RE.match(str(community_id)):
        raise CodeError(
            f"community id {community_id!r} is not 12 digits (street id + 3 digits); "
            f"fix it in the communities layer before generating grids"
        )
    previous = {k: v for k, v in (previous or {}).items() if v.startswith(community_id)}
    used = {c for c in issued if c.startswith(community_id)} | set(previous.values())
    codes: list[str | None] = [previous.get(frozenset(g)) for g in grids]
    taken = [c for c in codes if c]
    if len(taken) != len(set(taken)):
        raise CodeError(f"two grids of community {community_id} have the same building set")
    nxt = max((sequence(c) for c in used), default=0) + 1
    order = geographic_order(xy)
    for i in order.tolist():
        if codes[i] is None:
            if nxt > 999:
                raise CodeError(f"community {community_id} has used all 999 grid sequence numbers")
            codes[i] = f"{community_id}{nxt:03d}"
            nxt += 1
    return [str(c) for c in codes]


def is_code(code: str, community_id: str | None = None) -> bool:
    """``code`` is 15 digits (and starts with ``community_id`` when given)."""
    return bool(CODE_RE.match(code)) and (community_id is None or code.startswith(community_id))
