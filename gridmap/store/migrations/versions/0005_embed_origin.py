"""Embed tokens name the site allowed to frame them: ``embed_tokens.origin`` (e.g. ``https://dash.example.gov.cn``),
added to the page's ``frame-ancestors`` beside ``GRIDMAP_EMBED_FRAME_ANCESTORS`` and where selections are posted.
Tokens issued before have none (only the setting's sites may frame them).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.add_column("embed_tokens", sa.Column("origin", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("embed_tokens") as batch:
        batch.drop_column("origin")
