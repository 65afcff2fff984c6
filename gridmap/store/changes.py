"""Change counters (``layer_changes``, revision 0008): a number per counted layer that the database itself
raises on every insert, update and delete of that layer's rows (triggers), from any process or connection.

A cache of something computed from a whole layer (the public complaint counts) asks :meth:`changes` — one
indexed row — instead of reading and hashing the layer to learn whether it changed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gridmap.store.base import SchemaError

TABLE = "layer_changes"
#: the layers whose changes are counted (the triggers of revision 0008)
COUNTED = ("complaints", "complaint_events")


def make_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        TABLE,
        metadata,
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("changes", sa.BigInteger, nullable=False),
    )


class ChangeCountMixin:
    """:class:`~gridmap.store.base.Store`'s :meth:`changes` for SQL stores (``self.changes_table``)."""

    changes_table: sa.Table

    def _read_conn(self) -> Any: ...  # provided by SQLStore

    def changes(self, layer: str) -> int:
        if layer not in COUNTED:
            raise SchemaError(f"layer {layer!r} has no change counter; counted layers: {', '.join(COUNTED)}")
        t = self.changes_table
        with self._read_conn() as conn:
            value = conn.execute(sa.select(t.c.changes).where(t.c.layer == layer)).scalar()
        return int(value or 0)
