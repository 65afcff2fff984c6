"""Initial schema: every layer of gridmap.domain.schema, the sequences table and backend spatial indexes.

Revision ID: 0001
Revises:
"""
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    store = op.get_context().config.attributes["store"]
    store.create_schema(op.get_bind())


def downgrade():
    store = op.get_context().config.attributes["store"]
    store.metadata.drop_all(op.get_bind())
