"""Embed tokens name the site allowed to frame them: ``embed_tokens.origin`` (e.g. ``https://dash.example.gov.cn``),
added to the page's ``frame-ancestors`` beside ``GRIDMAP_EMBED_FRAME_ANCESTORS`` and where selections are posted.
Tokens issued before have none (only the setting's sites may frame them).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade():
    op.add_column("embed_tokens", sa.Column("origin", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("embed_tokens") as batch:
        batch.drop_column("origin")
