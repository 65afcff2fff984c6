"""The data layers gridmap stores: names, columns, types and parents, as data.

Every backend builds its tables from this one description, the importer validates against it,
and the README's layer table is checked against it in a test. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# Column kinds understood by every backend.
STR, INT, FLOAT, BOOL, DATE, DATETIME, JSON = "str", "int", "float", "bool", "date", "datetime", "json"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = STR
    required: bool = False
    #: layer whose ``id`` this column refers to (checked on import)
    ref: str | None = None
    #: personal information under PIPL (masked / audited by the web layer)
    personal: bool = False
    #: sensitive personal information (special-group tags): grid's own leader and above only
    sensitive: bool = False
    index: bool = False
    help: str = ""


@dataclass(frozen=True)
class Layer:
    name: str
    columns: tuple[Column, ...]
    #: geometry type family: "polygon", "point", "line" or None (no geometry)
    geometry: str | None = None
    #: a geometry is required on every row (points may be missing before placement)
    geometry_required: bool = False
    help: str = ""
    #: extra primary-key columns besides ``id`` (layers without an ``id`` column list theirs here)
    key: tuple[str, ...] = ("id",)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"layer {self.name!r} has no column {name!r}")

    @property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.personal or c.sensitive)


def _id(help: str = "stable id") -> Column:
    return Column("id", STR, required=True, help=help)


# How a record was placed (see gridmap.domain.placement): building found exactly, through a room code,
# by containment, by the nearest building within the tolerance, or only to the area containing it.
PLACEMENT_COLUMNS = (
    Column("placement", STR, help="exact|room|contained|nearest|area|rejected"),
    Column("placement_distance_m", FLOAT, help="distance to the building for 'nearest'"),
)

_layers = [
    Layer(
        "districts",
        (
            _id("GB/T 2260 code, 6 digits (Chengyang 370214)"),
            Column("name", STR, required=True),
        ),
        geometry="polygon",
        geometry_required=True,
        help="区/县",
    ),
    Layer(
        "streets",
        (
            _id("9 digits: district code + 3-digit street code"),
            Column("name", STR, required=True),
            Column("district_id", STR, required=True, ref="districts", index=True),
        ),
        geometry="polygon",
        geometry_required=True,
        help="街道",
    ),
    Layer(
        "communities",
        (
            _id("12 digits: street id + 3-digit community code"),
            Column("name", STR, required=True),
            Column("street_id", STR, required=True, ref="streets", index=True),
            Column("min_households", INT, help="lower grid bound for this community (default setting)"),
            Column("max_households", INT, help="upper grid bound for this community (default setting)"),
        ),
        geometry="polygon",
        geometry_required=True,
        help="社区",
    ),
    Layer(
        "property_companies",
        (
            _id(),
            Column("name", STR, required=True),
            Column("has_party_org", BOOL, required=True, help="the 'red property' flag"),
        ),
        help="物业服务企业",
    ),
    Layer(
        "estates",
        (
            _id(),
            Column("name", STR, required=True),
            Column("community_id", STR, required=True, ref="communities", index=True),
            Column("property_company_id", STR, ref="property_companies", index=True),
        ),
        geometry="polygon",
        geometry_required=True,
        help="小区",
    ),
    Layer(
        "buildings",
        (
            _id(),
            Column("name", STR, help="building number within its estate, e.g. '3' (用于房号 3-2-501)"),
            Column("estate_id", STR, ref="estates", index=True),
            Column("community_id", STR, required=True, ref="communities", index=True),
            Column("households", INT, required=True),
            Column("residents", INT),
            Column("floors", INT),
            Column("units", INT),
            Column(
                "aliases",
                STR,
                help="ids of overlapping footprints merged into this building, comma separated "
                "(rosters naming them place here)",
            ),
        ),
        geometry="polygon",
        geometry_required=True,
        help="楼栋",
    ),
    Layer(
        "cells",
        (
            _id("building id whose tessellation cell this is"),
            Column("community_id", STR, required=True, ref="communities", index=True),
        ),
        geometry="polygon",
        geometry_required=True,
        help="tessellation cell of each building, clipped to its community (derived)",
    ),
    Layer(
        "barriers",
        (
            _id(),
            Column("kind", STR, required=True, help="road|river|wall"),
            Column("name", STR),
        ),
        geometry="line",
        geometry_required=True,
        help="roads, rivers, walls: hard grid boundaries",
    ),
    Layer(
        "households",
        (
            _id(),
            Column("building_id", STR, ref="buildings", index=True),
            Column("community_id", STR, ref="communities", index=True),
            Column("room", STR, personal=True, help="room code building-unit-room, e.g. 3-2-501"),
            Column("unit", INT),
            Column("floor", INT),
            Column("head_name", STR, personal=True),
            Column("phone", STR, personal=True),
            Column("residents", INT),
            Column(
                "tags",
                STR,
                sensitive=True,
                help="special groups, comma separated: elderly_alone, disabled, low_income, …",
            ),
            *PLACEMENT_COLUMNS,
        ),
        geometry="point",
        help="户",
    ),
    Layer(
        "stewards",
        (
            _id(),
            Column("name", STR, required=True, personal=True),
            Column("phone", STR, personal=True),
            Column(
                "role",
                STR,
                required=True,
                index=True,
                help="grid_leader|building_leader|party_central_household|property_steward|volunteer",
            ),
            Column("building_id", STR, ref="buildings", index=True, help="home building"),
            Column("community_id", STR, ref="communities", index=True),
            Column("serves", STR, help="what it serves: a grid code (grid leader), a building id, an estate id"),
            Column("party_member", BOOL),
            *PLACEMENT_COLUMNS,
        ),
        geometry="point",
        help="红色管家: 网格长 楼长 党员中心户 物业管家 志愿者",
    ),
    Layer(
        "party_members",
        (
            _id(),
            Column("name", STR, required=True, personal=True),
            Column("community_id", STR, required=True, ref="communities", index=True),
            Column("reported_on", DATE, help="date reported in to the community (报到)"),
            Column("steward_id", STR, ref="stewards"),
            Column("volunteer_team_id", STR, ref="volunteer_teams"),
        ),
        help="党员报到",
    ),
    Layer(
        "volunteer_teams",
        (
            _id(),
            Column("name", STR, required=True),
            Column("community_id", STR, required=True, ref="communities", index=True),
            Column("estate_id", STR, ref="estates"),
            Column("members", INT),
            Column("party_members", INT),
            Column("service", STR),
        ),
        geometry="point",
        help="志愿服务队",
    ),
    Layer(
        "merchants",
        (
            _id(),
            Column("name", STR, required=True),
            Column("category", STR),
            Column("alliance", BOOL, help="member of the merchant alliance (商户联盟)"),
            Column("address", STR),
            Column("building_id", STR, ref="buildings", index=True),
            Column("community_id", STR, ref="communities", index=True),
            *PLACEMENT_COLUMNS,
        ),
        geometry="point",
        help="商户",
    ),
    Layer(
        "facilities",
        (
            _id(),
            Column("name", STR, required=True),
            Column("kind", STR),
            Column("address", STR),
            Column("building_id", STR, ref="buildings", index=True),
            Column("community_id", STR, ref="communities", index=True),
            *PLACEMENT_COLUMNS,
        ),
        geometry="point",
        help="设施: 党群服务中心, clinics, …",
    ),
    Layer(
        "complaints",
        (
            _id(),
            Column("category", STR, required=True, index=True),
            Column("description", STR, personal=True),
            Column("state", STR, required=True, index=True),
            Column("channel", STR, help="map|visit|phone|api|open311"),
            Column("building_id", STR, ref="buildings", index=True),
            Column("community_id", STR, ref="communities", index=True),
            Column("filed_grid_code", STR, index=True, help="grid it was filed in (kept across plans)"),
            Column("department", STR, index=True),
            Column("assignee", STR),
            Column("created_at", DATETIME, required=True, index=True),
            Column("updated_at", DATETIME),
            Column("due_at", DATETIME),
            Column("closed_at", DATETIME),
            Column("contact_name", STR, personal=True),
            Column("contact_phone", STR, personal=True),
            Column("rating", INT),
            Column("resolved", BOOL),
            Column("needs_confirmation", BOOL),
            Column("duplicate_of", STR, ref="complaints"),
            Column("escalation", INT, help="0 none, 1 community, 2 street"),
            *PLACEMENT_COLUMNS,
        ),
        geometry="point",
        help="诉求",
    ),
    Layer(
        "complaint_events",
        (
            Column("complaint_id", STR, required=True, ref="complaints", index=True),
            Column("seq", INT, required=True),
            Column("from_state", STR),
            Column("to_state", STR, required=True),
            Column("actor", STR),
            Column("at", DATETIME, required=True),
            Column("note", STR, help="internal: staff only"),
            Column("reply", STR, help="public reply to the resident (答复群众)"),
        ),
        key=("complaint_id", "seq"),
        help="every transition: who, when, note; and replies to the resident (a reply alone keeps the state)",
    ),
    Layer(
        "plans",
        (
            _id(),
            Column("parent_id", STR, ref="plans"),
            Column("status", STR, required=True, index=True, help="draft|published|superseded"),
            Column("created_at", DATETIME, required=True),
            Column("created_by", STR),
            Column("effective_date", DATE),
            Column("published_at", DATETIME),
            Column("params", JSON),
            Column("moves", JSON),
            Column("note", STR),
        ),
        help="grid plans (versions)",
    ),
    Layer(
        "plan_assignments",
        (
            Column("plan_id", STR, required=True, ref="plans", index=True),
            Column("building_id", STR, required=True, ref="buildings", index=True),
            Column("grid_code", STR, required=True, index=True),
        ),
        key=("plan_id", "building_id"),
        help="building → grid code, per plan",
    ),
    Layer(
        "plan_grids",
        (
            Column("plan_id", STR, required=True, ref="plans", index=True),
            Column("code", STR, required=True, index=True),
            Column("community_id", STR, required=True, ref="communities", index=True),
            Column("households", INT),
            Column("buildings", INT),
        ),
        geometry="polygon",
        key=("plan_id", "code"),
        help="grid polygons, per plan",
    ),
    Layer(
        "grid_codes",
        (
            Column("code", STR, required=True),
            Column("community_id", STR, required=True, index=True),
            Column("first_plan_id", STR),
            Column("retired_plan_id", STR, help="plan that retired this code: never reused"),
        ),
        key=("code",),
        help="every grid code ever issued",
    ),
    Layer(
        "users",
        (
            _id(),
            Column("username", STR, required=True, index=True),
            Column("display_name", STR),
            Column("password_hash", STR),
            Column(
                "role",
                STR,
                required=True,
                help="admin|planner|street_official|community_official|grid_leader|department|viewer",
            ),
            Column("scope", JSON, help="grid codes, community or street ids, or department"),
            Column("active", BOOL),
            Column("failed_logins", INT),
            Column("locked_until", DATETIME),
            Column("created_at", DATETIME),
            Column(
                "session_version",
                INT,
                help="bumped by sign-out, password, role or scope change and disabling: "
                "session cookies of an older version stop working",
            ),
        ),
        help="accounts",
    ),
    Layer(
        "api_tokens",
        (
            _id("token id (the secret is never stored, only its hash)"),
            Column("user_id", STR, required=True, ref="users", index=True),
            Column("token_hash", STR, required=True, index=True),
            Column("name", STR),
            Column("created_at", DATETIME),
            Column("expires_at", DATETIME),
            Column("revoked", BOOL),
        ),
        help="bearer tokens for the API",
    ),
    Layer(
        "embed_tokens",
        (
            _id(),
            Column("created_by", STR),
            Column("view", STR),
            Column("scope", JSON),
            Column("layers", JSON),
            Column("created_at", DATETIME),
            Column("expires_at", DATETIME),
            Column("revoked", BOOL),
            Column("origin", STR, help="the site allowed to frame the embed, e.g. https://dash.example.gov.cn"),
        ),
        help="signed embed tokens (revocation list)",
    ),
    Layer(
        "action_keys",
        (
            _id("the user's id and the idempotency key the client sent, as user:key"),
            Column("user_id", STR, required=True, index=True),
            Column("target", STR, help="what the action was on, e.g. complaint:<id>"),
            Column("result", JSON, help="the first answer, given again for a repeated key"),
            Column("created_at", DATETIME),
        ),
        help="actions sent with an idempotency key (offline queues): each is applied once",
    ),
    Layer(
        "audit_log",
        (
            _id(),
            Column("at", DATETIME, required=True, index=True),
            Column("actor", STR, index=True),
            Column("action", STR, required=True),
            Column("target", STR),
            Column("detail", JSON),
        ),
        help="every read of personal data and every change",
    ),
]

LAYERS: Mapping[str, Layer] = MappingProxyType({layer.name: layer for layer in _layers})

#: layers a user may import with ``gridmap import``
IMPORTABLE = (
    "districts",
    "streets",
    "communities",
    "property_companies",
    "estates",
    "buildings",
    "barriers",
    "households",
    "stewards",
    "party_members",
    "volunteer_teams",
    "merchants",
    "facilities",
    "complaints",
)

STEWARD_ROLES = ("grid_leader", "building_leader", "party_central_household", "property_steward", "volunteer")


def layer(name: str) -> Layer:
    """Return the layer called ``name`` or raise ``KeyError`` naming the known layers."""
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(f"unknown layer {name!r}; known layers: {', '.join(LAYERS)}") from None
