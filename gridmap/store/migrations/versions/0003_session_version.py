"""Sessions carry a version: ``users.session_version``, bumped by sign-out, a password, role or scope change
and disabling, so a session cookie issued before any of these stops working at once. Existing rows start at
none (read as 0), which the cookies issued so far (no version) match until the first bump.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade():
    op.add_column("users", sa.Column("session_version", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
