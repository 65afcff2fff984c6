"""Buildings keep the ids of the footprints merged into them: ``buildings.aliases`` (comma separated), written
by ``gridmap import buildings --merge-overlapping``, read by placement so rosters naming a merged footprint
still place. Existing rows start with none.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade():
    op.add_column("buildings", sa.Column("aliases", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("buildings") as batch:
        batch.drop_column("aliases")
