"""Who sees which personal field, masked how: PIPL's minimum-necessary rule as pure functions.

A *viewer* is anything with ``role`` and ``scope`` (``gridmap.web.access.User`` fits). Scope keys:
``grids`` (15-digit grid codes), ``communities`` (12-digit ids), ``streets`` (9-digit ids),
``departments`` (department codes such as ``urban_management``; Chinese or English names are read as
their code, see :func:`department_code`; ``department`` as one string is accepted too).

For one record and one viewer :func:`access_level` answers

* ``FULL``   — personal fields in clear;
* ``MASKED`` — personal fields masked (张*, 138****5678, 3-2-***);
* ``NONE``   — personal fields removed: public, viewer and embeds see aggregates only.

Sensitive fields (special-group tags) are kept only for the record's own grid leader and the roles
above whose scope holds the record (:func:`sees_sensitive`); everyone else gets them removed.
Personal and sensitive columns are the ones flagged in :mod:`gridmap.domain.schema`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, overload

import pandas as pd

from gridmap.domain.codes import community_of, street_of
from gridmap.domain.complaints.catalogue import DEPARTMENTS
from gridmap.domain.schema import LAYERS

FULL, MASKED, NONE = "full", "masked", "none"
#: counts 1–4 are shown as ``"<5"`` in public and embedded views (:func:`suppress_small`)
SMALL_COUNT = 5
SUPPRESSED = f"<{SMALL_COUNT}"

#: roles that never see personal fields (aggregates only)
AGGREGATE_ONLY = frozenset({"public", "viewer"})


class Viewer(Protocol):
    """Who looks: read-only, so frozen records (the web's ``User``) satisfy it."""

    @property
    def role(self) -> str: ...

    @property
    def scope(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Where:
    """Where a record sits: derived from whichever of its columns are known."""

    grid: str | None = None
    community: str | None = None
    street: str | None = None
    department: str | None = None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Where:
        """Read ``grid_code``/``filed_grid_code``, ``community_id``, ``street_id``, ``department``."""
        grid = _s(record.get("grid_code")) or _s(record.get("filed_grid_code"))
        community = _s(record.get("community_id")) or community_of(grid)
        street = _s(record.get("street_id")) or street_of(community)
        return cls(grid=grid, community=community, street=street, department=_s(record.get("department")))


def _s(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def scope_list(scope: Mapping[str, Any] | None, key: str) -> frozenset[str]:
    """The ids a scope lists under ``key`` (accepts a list or one string)."""
    scope = scope or {}
    value = scope.get(key)
    if value is None and key == "departments":
        value = scope.get("department")
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(str(v) for v in value)


def in_scope(viewer: Viewer, where: Where) -> bool:
    """Whether ``where`` lies inside the viewer's own area (admin and planner: everywhere)."""
    role, scope = viewer.role, viewer.scope
    if role in ("admin", "planner"):
        return True
    if role == "street_official":
        return where.street is not None and where.street in scope_list(scope, "streets")
    if role == "community_official":
        return where.community is not None and where.community in scope_list(scope, "communities")
    if role == "grid_leader":
        return where.grid is not None and where.grid in scope_list(scope, "grids")
    if role == "department":
        code = department_code(where.department)
        return code is not None and code in department_codes(scope_list(scope, "departments"))
    return False


def department_code(name: Any) -> str | None:
    """The code of a department (:data:`gridmap.domain.complaints.DEPARTMENTS`) given its code, Chinese or
    English name (``urban_management``, ``城管``, ``urban management``); None when unknown.

    Requests are routed to codes; a user's scope may name a department either way (accounts made with
    ``gridmap users add`` store codes), so both sides are compared as codes.
    """
    text = _s(name)
    if text is None:
        return None
    if text in DEPARTMENTS:
        return text
    low = text.lower()
    for code, dept in DEPARTMENTS.items():
        if low in (code.lower(), dept.zh, dept.en.lower()):
            return code
    return None


def department_codes(names: Iterable[Any]) -> frozenset[str]:
    """:func:`department_code` of each name; unknown names are dropped."""
    return frozenset(c for c in map(department_code, names) if c is not None)


def access_level(viewer: Viewer, where: Where) -> str:
    """``FULL``, ``MASKED`` or ``NONE`` for the personal fields of a record at ``where``.

    Admin: full. Planner: masked everywhere (plans need counts, not names). Officials, grid leaders
    and departments: full inside their scope, masked outside. Viewer and public: none.
    """
    role = viewer.role
    if role in AGGREGATE_ONLY:
        return NONE
    if role == "admin":
        return FULL
    if role == "planner":
        return MASKED
    return FULL if in_scope(viewer, where) else MASKED


def sees_sensitive(viewer: Viewer, where: Where) -> bool:
    """Special-group tags: the record's own grid leader and the roles above them whose scope holds it."""
    if viewer.role in ("admin", "planner"):
        return True
    if viewer.role in ("street_official", "community_official", "grid_leader"):
        return in_scope(viewer, where)
    return False


def may_list(viewer: Viewer, where: Where) -> bool:
    """Whether a row of a personal layer (households, party members) may be listed at all.

    A grid leader sees the residents of their own grids and no one else's; departments see only the
    requests routed to them; viewers and the public see no rows, only aggregates.
    """
    if viewer.role in AGGREGATE_ONLY:
        return False
    if viewer.role in ("admin", "planner"):
        return True
    return in_scope(viewer, where)


#: staff of an area itself (as against those who handle or plan it): they read notes in clear
AREA_STAFF = frozenset({"grid_leader", "community_official", "street_official"})


def note_level(viewer: Viewer, where: Where) -> str:
    """How the free-text notes on a request's events reach ``viewer`` (notes are personal data: staff write
    residents' phone numbers, ID numbers and circumstances into them).

    ``FULL`` for admins and the area's own staff (the grid leader, community and street officials whose scope
    holds the request); ``MASKED`` (phone and ID numbers masked, :func:`redact_text`) for planners and the
    departments the request is routed to; ``NONE`` (no notes at all) for staff outside the request's scope,
    viewers and the public.
    """
    role = viewer.role
    if role == "admin":
        return FULL
    if role in AGGREGATE_ONLY or not in_scope(viewer, where):
        return NONE
    return FULL if role in AREA_STAFF else MASKED


def redact_events(events: Iterable[Mapping[str, Any]], viewer: Viewer, where: Where) -> list[dict[str, Any]]:
    """A request's events with their ``note`` shown, masked or removed by :func:`note_level`."""
    level = note_level(viewer, where)
    out = []
    for ev in events:
        ev = dict(ev)
        if level == NONE:
            ev.pop("note", None)
        elif level == MASKED:
            ev["note"] = redact_text(ev.get("note"))
        out.append(ev)
    return out


# -- masking -----------------------------------------------------------------------------------------
def mask_name(name: Any) -> str | None:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``, ``Li Lei`` → ``L*****``."""
    text = _s(name)
    if text is None:
        return None
    return text[0] + "*" * max(1, len(text) - 1)


_DIGIT = re.compile(r"\d")


def mask_phone(phone: Any) -> str | None:
    """``13812345678`` → ``138****5678``; other lengths keep at most the first 3 and last 4 digits.

    Separators are dropped; a number with fewer than 8 digits keeps only its last 2.
    """
    text = _s(phone)
    if text is None:
        return None
    digits = "".join(_DIGIT.findall(text))
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    if len(digits) > 2:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * max(1, len(text))


def mask_room(room: Any) -> str | None:
    """``3-2-501`` → ``3-2-***``: building and unit kept, the room number hidden."""
    text = _s(room)
    if text is None:
        return None
    head, sep, tail = text.rpartition("-")
    if not sep:
        return "*" * len(text)
    return f"{head}-{'*' * len(tail)}"


# 11-digit mobiles, landlines with area code, 18-character ID numbers inside free text
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_ID_IN_TEXT = re.compile(r"(?<![0-9Xx])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9Xx])")
_LANDLINE_IN_TEXT = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{7,8})(?!\d)")


def redact_text(text: Any) -> str | None:
    """Mask phone numbers and ID numbers a resident typed inside free text (descriptions, notes)."""
    value = _s(text)
    if value is None:
        return None
    value = _ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], value)
    value = _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", value)
    return _LANDLINE_IN_TEXT.sub(lambda m: m.group(1) + "-" + "*" * (len(m.group(2)) - 2) + m.group(2)[-2:], value)


class Kind(StrEnum):
    NAME = "name"
    PHONE = "phone"
    ROOM = "room"
    TEXT = "text"


#: how each personal column is masked; columns not listed are treated as names
FIELD_KINDS: Mapping[str, Kind] = {
    "head_name": Kind.NAME,
    "name": Kind.NAME,
    "contact_name": Kind.NAME,
    "phone": Kind.PHONE,
    "contact_phone": Kind.PHONE,
    "room": Kind.ROOM,
    "description": Kind.TEXT,
    "note": Kind.TEXT,
}
_MASKERS = {Kind.NAME: mask_name, Kind.PHONE: mask_phone, Kind.ROOM: mask_room, Kind.TEXT: redact_text}


def mask_value(column: str, value: Any) -> Any:
    """Mask ``value`` the way column ``column`` is masked (see :data:`FIELD_KINDS`)."""
    return _MASKERS[FIELD_KINDS.get(column, Kind.NAME)](value)


def personal_columns(layer: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(personal, sensitive) column names of ``layer`` from the schema."""
    cols = LAYERS[layer].columns
    return (tuple(c.name for c in cols if c.personal and not c.sensitive), tuple(c.name for c in cols if c.sensitive))


#: every personal or sensitive column name of any layer: a public or embed response carries none
PERSONAL_FIELDS: frozenset[str] = frozenset(
    c.name for lay in LAYERS.values() for c in lay.columns if c.personal or c.sensitive
)
#: personal column names that are also ordinary names of non-personal things (estates, merchants …)
_AMBIGUOUS = frozenset({"name", "description", "note"})


def redact_record(
    record: Mapping[str, Any], layer: str, viewer: Viewer, *, where: Where | None = None
) -> dict[str, Any]:
    """A copy of ``record`` with the personal fields of ``layer`` shown, masked or removed for ``viewer``."""
    personal, sensitive = personal_columns(layer)
    where = where or Where.of(record)
    level = access_level(viewer, where)
    out = dict(record)
    for col in personal:
        if col not in out:
            continue
        if level == NONE:
            del out[col]
        elif level == MASKED:
            out[col] = mask_value(col, out[col])
    if not (level != NONE and sees_sensitive(viewer, where)):
        for col in sensitive:
            out.pop(col, None)
    return out


def redact_records(
    records: Iterable[Mapping[str, Any]], layer: str, viewer: Viewer, *, drop_unlisted: bool = True
) -> list[dict[str, Any]]:
    """:func:`redact_record` over many records; rows the viewer may not list are dropped.

    ``drop_unlisted`` applies :func:`may_list` only to layers whose rows describe people
    (households, party members); other layers keep every row and lose only personal fields.
    """
    people = layer in PEOPLE_LAYERS
    out = []
    for rec in records:
        where = Where.of(rec)
        if drop_unlisted and people and not may_list(viewer, where):
            continue
        out.append(redact_record(rec, layer, viewer, where=where))
    return out


def redact_frame(frame: Any, layer: str, viewer: Viewer, *, drop_unlisted: bool = True) -> Any:
    """:func:`redact_records` for a (Geo)DataFrame; returns a new frame of the same type and CRS.

    Columns removed for the viewer are removed from the frame (never left as empty columns).
    """
    records = frame.to_dict("records")
    kept = redact_records(records, layer, viewer, drop_unlisted=drop_unlisted)
    personal, sensitive = personal_columns(layer)
    columns = [c for c in frame.columns if (c not in personal and c not in sensitive) or any(c in r for r in kept)]
    rows = [{c: r.get(c) for c in columns} for r in kept]
    active = getattr(frame, "active_geometry_name", None)  # a GeoDataFrame's geometry column (any name)
    if active is not None and active in columns:
        return type(frame)(rows, columns=columns, geometry=active, crs=frame.crs)
    return pd.DataFrame(rows, columns=columns)


#: layers whose every row is about one person or household
PEOPLE_LAYERS = frozenset({"households", "party_members"})


# -- aggregates for public and embedded views -----------------------------------------------------
@overload
def suppress_small(value: int, *, threshold: int = SMALL_COUNT) -> int | str: ...
@overload
def suppress_small(value: float | str | None, *, threshold: int = SMALL_COUNT) -> int | str | None: ...
def suppress_small(value: int | float | str | None, *, threshold: int = SMALL_COUNT) -> int | str | None:
    """A count safe to publish: ``"<5"`` for 1 … ``threshold - 1``; 0, larger counts and None unchanged.

    The one small-count rule of gridmap (issue #7): every count of residents or of what residents did
    (requests, ratings, tags …) that a public, viewer or embed caller sees goes through here.
    A value that is already suppressed (``"<5"``) is returned as it is.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value != value:
        return None
    n = int(value)
    return f"<{threshold}" if 0 < n < threshold else n


#: the old name: same rule
suppress = suppress_small


def sees_exact_counts(viewer: Viewer) -> bool:
    """Whether ``viewer`` may see exact small counts: the roles that may see personal data do; public,
    viewer (and therefore every embed, which is anonymous) get suppressed counts."""
    return viewer.role not in AGGREGATE_ONLY


def suppress_counts(
    record: Mapping[str, Any],
    counts: Iterable[str],
    *,
    derived: Mapping[str, Sequence[str]] | None = None,
    threshold: int = SMALL_COUNT,
) -> dict[str, Any]:
    """A copy of ``record`` with the ``counts`` fields passed through :func:`suppress_small`.

    ``derived`` names figures computed from counts (``{"per_1000": ("complaints",)}``): a figure is
    withheld (``None``) when any count it comes from was suppressed, since a rate and its denominator
    give the count back.
    """
    out = dict(record)
    hidden = set()
    for name in counts:
        if name in out:
            value = suppress_small(out[name], threshold=threshold)
            if isinstance(value, str):
                hidden.add(name)
            out[name] = value
    for name, sources in (derived or {}).items():
        if name in out and hidden.intersection(sources):
            out[name] = None
    return out


def split_tags(tags: Any) -> list[str]:
    text = _s(tags)
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def aggregate(
    records: Iterable[Mapping[str, Any]],
    *,
    by: str,
    sum_fields: Sequence[str] = (),
    tag_field: str | None = None,
    threshold: int = SMALL_COUNT,
) -> dict[str, dict[str, Any]]:
    """Counts per ``by`` value with small counts suppressed: the only view of people the public gets.

    Returns ``{key: {"count": n|"<5", <sum_field>: total|"<5", "tags": {tag: n|"<5"}}}``.
    """
    counts: Counter[str] = Counter()
    sums: dict[str, Counter[str]] = {f: Counter() for f in sum_fields}
    tags: dict[str, Counter[str]] = {}
    for rec in records:
        key = _s(rec.get(by))
        if key is None:
            continue
        counts[key] += 1
        for f in sum_fields:
            v = rec.get(f)
            if v is not None and v == v:
                sums[f][key] += int(v)
        if tag_field:
            tags.setdefault(key, Counter()).update(split_tags(rec.get(tag_field)))
    out: dict[str, dict[str, Any]] = {}
    for key, n in counts.items():
        row: dict[str, Any] = {"count": suppress_small(n, threshold=threshold)}
        for f in sum_fields:
            row[f] = suppress_small(sums[f][key], threshold=threshold)
        if tag_field:
            row["tags"] = {t: suppress_small(c, threshold=threshold) for t, c in sorted(tags.get(key, {}).items())}
        out[key] = row
    return out


def personal_fields_in(payload: Any, *, layer_fields: Iterable[str] = ()) -> list[str]:
    """Paths of personal fields found anywhere in a JSON-like ``payload`` (for tests and self-checks).

    Looks for the unambiguous personal column names (``head_name``, ``phone``, ``contact_phone``,
    ``room``, ``tags`` …) plus ``layer_fields``, and for values that look like a full mobile number.
    """
    names = (PERSONAL_FIELDS - _AMBIGUOUS) | set(layer_fields)
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k in names and v not in (None, ""):
                    found.append(f"{path}.{k}")
                walk(v, f"{path}.{k}")
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
        elif isinstance(node, str) and _PHONE_IN_TEXT.search(node):
            found.append(f"{path}=<phone number>")

    walk(payload, "$")
    return found
