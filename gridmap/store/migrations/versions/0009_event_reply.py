"""Public replies: ``complaint_events.reply`` holds the words staff write for the resident (答复群众), apart from
the internal ``note``; a reply on its own is an event that keeps the state (from_state = to_state, no note).
Events written before have none.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade():
    op.add_column("complaint_events", sa.Column("reply", sa.Text(), nullable=True))


def downgrade():
    # a plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of the table would lose its change triggers (0008)
    op.execute("ALTER TABLE complaint_events DROP COLUMN reply")
