"""The tile cache: encoded vector tiles kept in the store (``tile_cache``: tile layer name, z, x, y, the MVT
bytes; an empty tile is kept as zero bytes). Filled on demand and by ``gridmap tiles seed``, emptied of exactly
the tiles under a change by :mod:`gridmap.services.tilecache`.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade():
    op.create_table(
        "tile_cache",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("z", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("x", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("y", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("name", "z", "x", "y"),
    )


def downgrade():
    op.drop_table("tile_cache")
