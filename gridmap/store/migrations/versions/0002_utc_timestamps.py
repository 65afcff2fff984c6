"""One clock: DATETIME columns become ``timestamptz`` on PostGIS; the values stored so far were UTC.

``timestamp AT TIME ZONE 'UTC'`` reads each naive value as UTC, whatever the session's time zone, so
every instant is kept. SQLite has no time zone type: its DATETIME text already holds the UTC wall time,
which the store now reads back as aware UTC (nothing to change in the file).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from gridmap.store.migrations import ddl

revision = "0002"
down_revision = "0001"

#: every DATETIME column at revision 0001
COLUMNS = (
    ("complaints", "created_at"),
    ("complaints", "updated_at"),
    ("complaints", "due_at"),
    ("complaints", "closed_at"),
    ("complaint_events", "at"),
    ("plans", "created_at"),
    ("plans", "published_at"),
    ("users", "locked_until"),
    ("users", "created_at"),
    ("api_tokens", "created_at"),
    ("api_tokens", "expires_at"),
    ("embed_tokens", "created_at"),
    ("embed_tokens", "expires_at"),
    ("audit_log", "at"),
)


def _convert(to_utc_aware: bool) -> None:
    if ddl.dialect() != "postgresql":
        return
    old, new = sa.DateTime(timezone=not to_utc_aware), sa.DateTime(timezone=to_utc_aware)
    for table, column in COLUMNS:
        # naive -> aware: the value is UTC; aware -> naive: its UTC wall time
        op.alter_column(
            table, column, type_=new, existing_type=old, postgresql_using=f"\"{column}\" AT TIME ZONE 'UTC'"
        )


def upgrade():
    _convert(to_utc_aware=True)


def downgrade():
    _convert(to_utc_aware=False)
