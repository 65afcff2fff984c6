"""Change counters: ``layer_changes`` holds one number per counted layer (``complaints``, ``complaint_events``)
that triggers raise on every insert, update and delete, so a cache built from a whole layer (the public
complaint counts) learns that the layer changed by reading one row instead of the layer
(:mod:`gridmap.store.changes`). SQLite counts rows, PostgreSQL statements: only equality is meaningful.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from gridmap.store.migrations import ddl

revision = "0008"
down_revision = "0007"

COUNTED = ("complaints", "complaint_events")
EVENTS = ("insert", "update", "delete")


def upgrade():
    table = op.create_table(
        "layer_changes",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("layer"),
    )
    op.bulk_insert(table, [{"layer": name, "changes": 0} for name in COUNTED])
    if ddl.dialect() == "postgresql":
        op.execute(
            "CREATE FUNCTION gridmap_count_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE layer_changes SET changes = changes + 1 WHERE layer = TG_TABLE_NAME; RETURN NULL; END $$"
        )
        for name in COUNTED:
            op.execute(
                f"CREATE TRIGGER {name}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION gridmap_count_change()"
            )
        return
    for name in COUNTED:
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {name}_changes_{event} AFTER {event.upper()} ON {name} BEGIN "
                f"UPDATE layer_changes SET changes = changes + 1 WHERE layer = '{name}'; END"
            )


def downgrade():
    if ddl.dialect() == "postgresql":
        for name in COUNTED:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_changes ON {name}")
        op.execute("DROP FUNCTION IF EXISTS gridmap_count_change()")
    else:
        for name in COUNTED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {name}_changes_{event}")
    op.drop_table("layer_changes")
