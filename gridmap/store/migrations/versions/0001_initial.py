"""Initial schema, as released: every layer, the sequences table and the backends' spatial indexes.

Written out table by table (the layers as ``gridmap.domain.schema`` defined them at this revision):
later schema changes are later revisions, never edits here. DATETIME columns are ``timestamp`` without
time zone at this revision (holding UTC; revision 0002 makes them ``timestamptz`` on PostGIS).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from gridmap.store.migrations import ddl

revision = "0001"
down_revision = None

#: tables of this revision that have a geometry (their spatial indexes are dropped first on downgrade)
GEOMETRY_TABLES = (
    "districts",
    "streets",
    "communities",
    "estates",
    "buildings",
    "cells",
    "barriers",
    "households",
    "stewards",
    "volunteer_teams",
    "merchants",
    "facilities",
    "complaints",
    "plan_grids",
)
TABLES = (
    "districts",
    "streets",
    "communities",
    "property_companies",
    "estates",
    "buildings",
    "cells",
    "barriers",
    "households",
    "stewards",
    "party_members",
    "volunteer_teams",
    "merchants",
    "facilities",
    "complaints",
    "complaint_events",
    "plans",
    "plan_assignments",
    "plan_grids",
    "grid_codes",
    "users",
    "api_tokens",
    "embed_tokens",
    "audit_log",
    "gridmap_sequences",
)


def _placement() -> list[sa.Column]:
    """How a point was placed on a building (households, stewards, merchants, facilities, complaints)."""
    return [sa.Column("placement", sa.Text()), sa.Column("placement_distance_m", sa.Float())]


def upgrade():
    ddl.enable_spatial()
    op.create_table(
        "districts",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        *ddl.geometry_columns(),
    )
    ddl.create_spatial_index("districts")
    op.create_table(
        "streets",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("district_id", sa.Text()),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_streets_district_id", "streets", ["district_id"])
    ddl.create_spatial_index("streets")
    op.create_table(
        "communities",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("street_id", sa.Text()),
        sa.Column("min_households", sa.BigInteger()),
        sa.Column("max_households", sa.BigInteger()),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_communities_street_id", "communities", ["street_id"])
    ddl.create_spatial_index("communities")
    op.create_table(
        "property_companies",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("has_party_org", sa.Boolean()),
    )
    op.create_table(
        "estates",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("community_id", sa.Text()),
        sa.Column("property_company_id", sa.Text()),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_estates_community_id", "estates", ["community_id"])
    op.create_index("ix_estates_property_company_id", "estates", ["property_company_id"])
    ddl.create_spatial_index("estates")
    op.create_table(
        "buildings",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("estate_id", sa.Text()),
        sa.Column("community_id", sa.Text()),
        sa.Column("households", sa.BigInteger()),
        sa.Column("residents", sa.BigInteger()),
        sa.Column("floors", sa.BigInteger()),
        sa.Column("units", sa.BigInteger()),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_buildings_estate_id", "buildings", ["estate_id"])
    op.create_index("ix_buildings_community_id", "buildings", ["community_id"])
    ddl.create_spatial_index("buildings")
    op.create_table(
        "cells",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("community_id", sa.Text()),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_cells_community_id", "cells", ["community_id"])
    ddl.create_spatial_index("cells")
    op.create_table(
        "barriers",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text()),
        sa.Column("name", sa.Text()),
        *ddl.geometry_columns(),
    )
    ddl.create_spatial_index("barriers")
    op.create_table(
        "households",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("building_id", sa.Text()),
        sa.Column("community_id", sa.Text()),
        sa.Column("room", sa.Text()),
        sa.Column("unit", sa.BigInteger()),
        sa.Column("floor", sa.BigInteger()),
        sa.Column("head_name", sa.Text()),
        sa.Column("phone", sa.Text()),
        sa.Column("residents", sa.BigInteger()),
        sa.Column("tags", sa.Text()),
        *_placement(),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_households_building_id", "households", ["building_id"])
    op.create_index("ix_households_community_id", "households", ["community_id"])
    ddl.create_spatial_index("households")
    op.create_table(
        "stewards",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("phone", sa.Text()),
        sa.Column("role", sa.Text()),
        sa.Column("building_id", sa.Text()),
        sa.Column("community_id", sa.Text()),
        sa.Column("serves", sa.Text()),
        sa.Column("party_member", sa.Boolean()),
        *_placement(),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_stewards_role", "stewards", ["role"])
    op.create_index("ix_stewards_building_id", "stewards", ["building_id"])
    op.create_index("ix_stewards_community_id", "stewards", ["community_id"])
    ddl.create_spatial_index("stewards")
    op.create_table(
        "party_members",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("community_id", sa.Text()),
        sa.Column("reported_on", sa.Date()),
        sa.Column("steward_id", sa.Text()),
        sa.Column("volunteer_team_id", sa.Text()),
    )
    op.create_index("ix_party_members_community_id", "party_members", ["community_id"])
    op.create_table(
        "volunteer_teams",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("community_id", sa.Text()),
        sa.Column("estate_id", sa.Text()),
        sa.Column("members", sa.BigInteger()),
        sa.Column("party_members", sa.BigInteger()),
        sa.Column("service", sa.Text()),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_volunteer_teams_community_id", "volunteer_teams", ["community_id"])
    ddl.create_spatial_index("volunteer_teams")
    op.create_table(
        "merchants",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("category", sa.Text()),
        sa.Column("alliance", sa.Boolean()),
        sa.Column("address", sa.Text()),
        sa.Column("building_id", sa.Text()),
        sa.Column("community_id", sa.Text()),
        *_placement(),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_merchants_building_id", "merchants", ["building_id"])
    op.create_index("ix_merchants_community_id", "merchants", ["community_id"])
    ddl.create_spatial_index("merchants")
    op.create_table(
        "facilities",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("kind", sa.Text()),
        sa.Column("address", sa.Text()),
        sa.Column("building_id", sa.Text()),
        sa.Column("community_id", sa.Text()),
        *_placement(),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_facilities_building_id", "facilities", ["building_id"])
    op.create_index("ix_facilities_community_id", "facilities", ["community_id"])
    ddl.create_spatial_index("facilities")
    op.create_table(
        "complaints",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("category", sa.Text()),
        sa.Column("description", sa.Text()),
        sa.Column("state", sa.Text()),
        sa.Column("channel", sa.Text()),
        sa.Column("building_id", sa.Text()),
        sa.Column("community_id", sa.Text()),
        sa.Column("filed_grid_code", sa.Text()),
        sa.Column("department", sa.Text()),
        sa.Column("assignee", sa.Text()),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("updated_at", sa.DateTime()),
        sa.Column("due_at", sa.DateTime()),
        sa.Column("closed_at", sa.DateTime()),
        sa.Column("contact_name", sa.Text()),
        sa.Column("contact_phone", sa.Text()),
        sa.Column("rating", sa.BigInteger()),
        sa.Column("resolved", sa.Boolean()),
        sa.Column("needs_confirmation", sa.Boolean()),
        sa.Column("duplicate_of", sa.Text()),
        sa.Column("escalation", sa.BigInteger()),
        *_placement(),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_complaints_category", "complaints", ["category"])
    op.create_index("ix_complaints_state", "complaints", ["state"])
    op.create_index("ix_complaints_building_id", "complaints", ["building_id"])
    op.create_index("ix_complaints_community_id", "complaints", ["community_id"])
    op.create_index("ix_complaints_filed_grid_code", "complaints", ["filed_grid_code"])
    op.create_index("ix_complaints_department", "complaints", ["department"])
    op.create_index("ix_complaints_created_at", "complaints", ["created_at"])
    ddl.create_spatial_index("complaints")
    op.create_table(
        "complaint_events",
        sa.Column("complaint_id", sa.Text(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("from_state", sa.Text()),
        sa.Column("to_state", sa.Text()),
        sa.Column("actor", sa.Text()),
        sa.Column("at", sa.DateTime()),
        sa.Column("note", sa.Text()),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("parent_id", sa.Text()),
        sa.Column("status", sa.Text()),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("created_by", sa.Text()),
        sa.Column("effective_date", sa.Date()),
        sa.Column("published_at", sa.DateTime()),
        sa.Column("params", sa.JSON()),
        sa.Column("moves", sa.JSON()),
        sa.Column("note", sa.Text()),
    )
    op.create_index("ix_plans_status", "plans", ["status"])
    op.create_table(
        "plan_assignments",
        sa.Column("plan_id", sa.Text(), primary_key=True),
        sa.Column("building_id", sa.Text(), primary_key=True),
        sa.Column("grid_code", sa.Text()),
    )
    op.create_index("ix_plan_assignments_grid_code", "plan_assignments", ["grid_code"])
    op.create_table(
        "plan_grids",
        sa.Column("plan_id", sa.Text(), primary_key=True),
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("community_id", sa.Text()),
        sa.Column("households", sa.BigInteger()),
        sa.Column("buildings", sa.BigInteger()),
        *ddl.geometry_columns(),
    )
    op.create_index("ix_plan_grids_community_id", "plan_grids", ["community_id"])
    ddl.create_spatial_index("plan_grids")
    op.create_table(
        "grid_codes",
        sa.Column("code", sa.Text(), primary_key=True),
        sa.Column("community_id", sa.Text()),
        sa.Column("first_plan_id", sa.Text()),
        sa.Column("retired_plan_id", sa.Text()),
    )
    op.create_index("ix_grid_codes_community_id", "grid_codes", ["community_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("username", sa.Text()),
        sa.Column("display_name", sa.Text()),
        sa.Column("password_hash", sa.Text()),
        sa.Column("role", sa.Text()),
        sa.Column("scope", sa.JSON()),
        sa.Column("active", sa.Boolean()),
        sa.Column("failed_logins", sa.BigInteger()),
        sa.Column("locked_until", sa.DateTime()),
        sa.Column("created_at", sa.DateTime()),
    )
    op.create_index("ix_users_username", "users", ["username"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.Text()),
        sa.Column("token_hash", sa.Text()),
        sa.Column("name", sa.Text()),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("expires_at", sa.DateTime()),
        sa.Column("revoked", sa.Boolean()),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_index("ix_api_tokens_token_hash", "api_tokens", ["token_hash"])
    op.create_table(
        "embed_tokens",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("created_by", sa.Text()),
        sa.Column("view", sa.Text()),
        sa.Column("scope", sa.JSON()),
        sa.Column("layers", sa.JSON()),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("expires_at", sa.DateTime()),
        sa.Column("revoked", sa.Boolean()),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("at", sa.DateTime()),
        sa.Column("actor", sa.Text()),
        sa.Column("action", sa.Text()),
        sa.Column("target", sa.Text()),
        sa.Column("detail", sa.JSON()),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    op.create_table(
        "gridmap_sequences",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )


def downgrade():
    for table in GEOMETRY_TABLES:
        ddl.drop_spatial_index(table)
    for table in reversed(TABLES):
        op.drop_table(table)
