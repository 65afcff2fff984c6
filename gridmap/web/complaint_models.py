"""What the complaint API takes (``/api/complaints`` …): request models whose validators call the domain's rules
(:mod:`gridmap.domain.complaints`, :func:`gridmap.domain.geometry.lonlat`); the views are in
:mod:`gridmap.web.complaints`, the OpenAPI document is generated from these models."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    ValidationInfo,
    WithJsonSchema,
    create_model,
    model_validator,
)

from gridmap.domain import complaints as C
from gridmap.domain.complaints.catalogue import MAX_DESCRIPTION
from gridmap.domain.complaints.workflow import _CONTROL as CONTROL  # the rule's owner: control characters
from gridmap.domain.complaints.workflow import MAX_CODE
from gridmap.domain.geometry import lonlat
from gridmap.errors import InvalidInput
from gridmap.web.schemas import LAT_TEXT, LON_TEXT, Body, Flag, Query

__all__ = [
    "PHONE_PATTERN",
    "Open311Query",
    "Open311RequestIn",
    "Open311RequestsQuery",
    "w3c_time",
    "ComplaintDueIn",
    "ComplaintIn",
    "ComplaintMoveIn",
    "ListQuery",
    "WhereQuery",
]


# -- what the API takes (the rules are the domain's: gridmap.domain.complaints, gridmap.domain.geometry) -------
def _category(value: Any) -> str:
    """A category code: given (``validate_intake``'s rule) and known (the policy's)."""
    code = C.validate_intake({"category": value})["category"]
    return C.Policy().category(code).code


#: a category code (:data:`gridmap.domain.complaints.CATEGORIES`)
Category = Annotated[str, PlainValidator(_category), WithJsonSchema({"type": "string", "enum": list(C.CATEGORIES)})]


#: the control characters ``C.check_text`` refuses, as a character class's inside
_CTRL = CONTROL.pattern[1:-1]


def _text(limit: int, check: Callable[[Any], Any] | None = None, shape: str | None = None) -> Any:
    """Text checked by the domain's rule — ``check`` (``C.check_name``, ``C.check_phone``) or
    ``C.check_text``: at most ``limit`` characters once stripped, no control characters; blank is None — and
    described by ``shape`` (default: no control characters)."""

    def owned(value: str, info: ValidationInfo) -> Any:
        return check(value) if check is not None else C.check_text(info.field_name or "text", value, limit)

    return Annotated[
        str,
        Field(max_length=limit, json_schema_extra={"pattern": shape or f"^[^{_CTRL}]*$"}),  # as sent, spaces too
        AfterValidator(owned),
    ]


def _where(data: Any) -> Any:
    """``lon``/``lat`` as numbers once :func:`gridmap.domain.geometry.lonlat` accepts them; as text they must
    also be written as decimal numbers (the schema's ``LON_TEXT``/``LAT_TEXT``). Both left out: nothing to do
    (the fields' own rules say whether they are required)."""
    if not isinstance(data, dict):
        return data
    lon, lat = data.get("lon"), data.get("lat")
    if lon in (None, "") and lat in (None, ""):
        return data
    x, y = lonlat(lon, lat)
    for name, value, shape in (("lon", lon, LON_TEXT), ("lat", lat, LAT_TEXT)):
        if isinstance(value, bool):
            raise InvalidInput(f"{name} must be a number, not {value!r}")
        if isinstance(value, str) and not re.fullmatch(shape, value):
            raise InvalidInput(f"{name}={value[:40]!r}: write a decimal number")
    return {**data, "lon": x, "lat": y}


def _degrees(low: int, high: int, text: str) -> Any:
    """A coordinate: a number, or a decimal number as text (a form's field, the intake page's script)."""
    return Annotated[
        float,
        WithJsonSchema(
            {"anyOf": [{"type": "number", "minimum": low, "maximum": high}, {"type": "string", "pattern": f"^{text}$"}]}
        ),
    ]


#: a phone number as ``C.PHONE`` has it (JSON Schema patterns have no flags: its letters in both cases);
#: ``C.check_phone`` also takes spaces between digit groups; a space is no control character (``C.check_text``)
PHONE_PATTERN = (
    "^"
    + (C.PHONE.pattern.replace("ext", "[Ee][Xx][Tt]").replace("|x|", "|[Xx]|").replace(r"\s", rf"[^\S{_CTRL}]"))
    + "$"
)


class WhereQuery(Query):
    """A point and a category: what routing (and the duplicates nearby) is asked for."""

    lon: Annotated[float, WithJsonSchema({"type": "number", "minimum": -180, "maximum": 180})]
    lat: Annotated[float, WithJsonSchema({"type": "number", "minimum": -90, "maximum": 90})]
    category: Category

    @model_validator(mode="before")
    @classmethod
    def _located(cls, data: Any) -> Any:
        return _where(data)


class ComplaintIn(Body):
    """A new request (the intake form, the JSON API): each field checked by the rule ``C.validate_intake``
    applies to it (which the service applies again, as to Open311's requests). Where: ``lon`` and ``lat``, or
    else ``building_id`` (the service's ``_locate``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["lon", "lat"],
                    "properties": {"lon": {"not": {"type": "null"}}, "lat": {"not": {"type": "null"}}},
                },
                {
                    "required": ["building_id"],
                    "properties": {
                        "lon": {"type": "null"},
                        "lat": {"type": "null"},
                        "building_id": {"type": "string", "pattern": r"\S"},
                    },
                },
            ]
        }
    )

    category: Category
    description: _text(MAX_DESCRIPTION, shape=rf"^\s*[^\s{_CTRL}][^{_CTRL}]*$")  # type: ignore[valid-type]
    lon: _degrees(-180, 180, LON_TEXT) | None = None  # type: ignore[valid-type]
    lat: _degrees(-90, 90, LAT_TEXT) | None = None  # type: ignore[valid-type]
    building_id: _text(C.MAX_ID) | None = None  # type: ignore[valid-type]
    contact_name: _text(C.MAX_NAME, C.check_name) | None = None  # type: ignore[valid-type]
    contact_phone: _text(C.MAX_PHONE, C.check_phone, PHONE_PATTERN) | None = None  # type: ignore[valid-type]
    duplicate_of: _text(C.MAX_ID) | None = None  # type: ignore[valid-type]
    channel: Literal[C.CHANNELS] | None = None  # type: ignore[valid-type]

    @model_validator(mode="before")
    @classmethod
    def _located(cls, data: Any) -> Any:
        return _where(data)


class ListQuery(Query):
    """Filters (a comma-separated list matches any of its values) and paging of the work list."""

    state: Annotated[str, Field(max_length=1000)] | None = None
    category: Annotated[str, Field(max_length=1000)] | None = None
    department: Annotated[str, Field(max_length=1000)] | None = None
    grid: Annotated[str, Field(max_length=1000)] | None = None
    community_id: Annotated[str, Field(max_length=1000)] | None = None
    overdue: Flag = False
    limit: int = Field(100, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=10**9)


#: what a move to each state may carry besides ``to`` (:data:`gridmap.domain.complaints.MOVE_FIELDS`)
_MOVE_TYPES: dict[str, Any] = {
    "note": (_text(C.MAX_NOTE) | None, None),
    "reply": (_text(C.MAX_REPLY, C.check_reply) | None, None),
    "reason": (_text(C.MAX_NOTE) | None, None),
    "assignee": (_text(C.MAX_ID) | None, None),
    "duplicate_of": (_text(C.MAX_ID) | None, None),
    "department": (Literal[tuple(C.DEPARTMENTS)], ...),
    "rating": (Annotated[int, Field(ge=1, le=5)], ...),
    # the work list's select sends text
    "resolved": (bool | Literal["true", "false", "1", "0", "yes", "no", "是", "否"], ...),
}
_LITERAL: Any = Literal  # a Literal of a value known at run time
_MOVES = [
    create_model(
        f"ComplaintMove_{target}",
        __base__=Body,
        to=(_LITERAL[target], ...),
        **{f: _MOVE_TYPES[f] for f in sorted(C.MOVE_FIELDS.get(target, frozenset({"note", "reply"})))},
    )
    for target in C.STATES
]


_MOVE = Union[tuple(_MOVES)]  # type: ignore[valid-type]  # noqa: UP007 (a union of a tuple's members: no | form)


class ComplaintMoveIn(RootModel[Annotated[_MOVE, Field(discriminator="to")]]):  # type: ignore[valid-type]
    """A move: ``to`` (the new state) and only what that move may carry."""

    @model_validator(mode="before")
    @classmethod
    def _fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("to"), str) and data["to"] in C.STATES:
            C.move_fields(data["to"], {k: v for k, v in data.items() if k != "to"})  # its message names them all
        return data


class ComplaintDueIn(Body):
    """A new time limit: ISO 8601 date and time (without an offset: the service's time zone) and why."""

    due_at: Annotated[str, Field(min_length=1, max_length=40, json_schema_extra={"format": "date-time"})]
    note: _text(C.MAX_NOTE) | None = None  # type: ignore[valid-type]


class ComplaintReplyIn(Body):
    """A reply to the resident on its own (回复): the words the resident reads (the request keeps its state)."""

    reply: _text(C.MAX_REPLY, C.check_reply)  # type: ignore[valid-type]


# -- Open311 GeoReport v2 (gridmap.web.open311): the spec's parameters, and ours (api_key) -----------------------
#: a comma-separated list of Open311 statuses
STATUS_LIST = r"^(open|closed)(,(open|closed))*$"


def w3c_time(text: str) -> dt.datetime:
    """A W3C (ISO 8601) date and time as Open311 writes it (``2025-01-01T00:00:00+08:00``, ``…Z``); naive when
    written without an offset (the caller reads it in the service's zone). Years 1900–2999."""
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{text[:40]!r} is not a W3C datetime such as 2025-01-01T00:00:00+08:00") from None
    if not 1900 <= t.year <= 2999:
        raise InvalidInput(f"{text[:40]!r}: a year from 1900 to 2999")
    return t


#: a W3C date and time (RFC 3339 ``date-time``, years 1900–2999)
W3C = Annotated[
    str,
    Field(max_length=40),
    AfterValidator(lambda v: w3c_time(v) and v),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": "^(19|2[0-9])[0-9]{2}-"}),
]
_Id = Annotated[str, Field(max_length=200)]
#: a category code as Open311 gives it (unknown: 404, as the spec has it; empty: 400)
ServiceCode = Annotated[str, Field(max_length=MAX_CODE), WithJsonSchema({"type": "string", "enum": list(C.CATEGORIES)})]


class Open311Query(Query):
    """What every Open311 operation takes: the jurisdiction (one here: accepted, not needed) and an API key
    (a gridmap API token, as ``Authorization: Bearer`` would carry it)."""

    jurisdiction_id: _Id | None = None
    api_key: _Id | None = None


class Open311RequestsQuery(Open311Query):
    """GET requests: by ids, or by service, status and a window of at most 90 days (default: the last 90)."""

    service_request_id: Annotated[str, Field(max_length=2000, description="ids, comma-separated")] | None = None
    service_code: Annotated[str, Field(max_length=1000, description="codes, comma-separated")] | None = None
    status: Annotated[str, Field(pattern=STATUS_LIST)] | None = None
    start_date: W3C | None = None
    end_date: W3C | None = None


def _no_nulls(schema: dict[str, Any]) -> None:
    """A form has no null: an optional field is one left out (its schema lists only its value's type)."""
    for prop in schema.get("properties", {}).values():
        options = [o for o in prop.pop("anyOf", ()) if o != {"type": "null"}]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options
        prop.pop("default", None)


def _open311_schema(schema: dict[str, Any]) -> None:
    """A form's schema (no nulls) that says where: ``lat`` and ``long``, or else ``address_id``."""
    _no_nulls(schema)
    nowhere: dict[str, Any] = {"not": {}}  # a field that may not be there
    schema["anyOf"] = [
        {"required": ["lat", "long"]},
        # (an empty field is one left out: the building's id must have a character)
        {"required": ["address_id"], "properties": {"address_id": {"pattern": r"\S"}, "lat": nowhere, "long": nowhere}},
    ]


class Open311RequestIn(Body):
    """POST requests (a form, as GeoReport v2 has it): ``service_code``, ``description`` and where — ``lat``
    and ``long``, or ``address_id`` (a building id) — with the contact's name and phone; each checked by the
    rule ``C.validate_intake`` applies to it. ``email``, ``device_id``, ``account_id`` and ``media_url`` are
    the spec's and accepted, but not stored. An empty field is a field left out."""

    model_config = ConfigDict(json_schema_extra=_open311_schema)

    service_code: Annotated[
        str, Field(max_length=MAX_CODE), WithJsonSchema({"type": "string", "enum": list(C.CATEGORIES)})
    ]
    description: _text(MAX_DESCRIPTION, shape=rf"^\s*[^\s{_CTRL}][^{_CTRL}]*$")  # type: ignore[valid-type]
    lat: _degrees(-90, 90, LAT_TEXT) | None = None  # type: ignore[valid-type]
    long: _degrees(-180, 180, LON_TEXT) | None = None  # type: ignore[valid-type]
    address_string: _text(200) | None = None  # type: ignore[valid-type]
    address_id: _text(C.MAX_ID) | None = None  # type: ignore[valid-type]
    first_name: _text(C.MAX_NAME) | None = None  # type: ignore[valid-type]
    last_name: _text(C.MAX_NAME) | None = None  # type: ignore[valid-type]
    phone: _text(C.MAX_PHONE, C.check_phone, PHONE_PATTERN) | None = None  # type: ignore[valid-type]
    jurisdiction_id: _Id | None = None
    api_key: _Id | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    device_id: _Id | None = None
    account_id: _Id | None = None
    media_url: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _located(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        nulls = sorted(k for k, v in data.items() if v is None)
        if nulls:  # as a form has none (the document lists none)
            raise InvalidInput(f"{', '.join(nulls)}: null is not a value; leave the field out")
        data = {k: v for k, v in data.items() if not (v == "" and k != "service_code" and k != "description")}
        where = _where({"lon": data.get("long"), "lat": data.get("lat")})
        if data.get("long") is not None or data.get("lat") is not None:
            data["long"], data["lat"] = where["lon"], where["lat"]
        return data

    @model_validator(mode="after")
    def _name(self) -> Open311RequestIn:
        """The two names joined are the contact's name: ``C.check_name``'s limit holds for them together."""
        C.check_name(self.contact_name)
        return self

    @property
    def contact_name(self) -> str | None:
        return " ".join(x for x in (self.first_name, self.last_name) if x) or None
