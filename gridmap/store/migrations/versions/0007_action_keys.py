"""Idempotency keys: ``action_keys`` holds the first answer to an action sent with an ``Idempotency-Key``
(the grid leader's offline queue sends each queued move with one), so a repeated send is answered with that
answer and never applied twice.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade():
    op.create_table(
        "action_keys",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("user_id", sa.Text()),
        sa.Column("target", sa.Text()),
        sa.Column("result", sa.JSON()),
        sa.Column("created_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_action_keys_user_id", "action_keys", ["user_id"])


def downgrade():
    op.drop_index("ix_action_keys_user_id", "action_keys")
    op.drop_table("action_keys")
