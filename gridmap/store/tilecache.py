"""The tile cache table ``tile_cache`` (created by revision 0005): encoded vector tiles kept in the store.

Keeping tiles in the store (not in files beside it) means every process of one service, on one machine or
several, shares them, and an invalidation runs in the same transaction as the change that caused it: a
change that rolls back leaves the cache as it was. What to cache and when to forget it is decided by
:mod:`gridmap.services.tilecache`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

TABLE = "tile_cache"
_CHUNK = 500


def make_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        TABLE,
        metadata,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("z", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("x", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("y", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


class TileCacheMixin:
    """:class:`~gridmap.store.base.Store`'s tile cache methods for SQL stores (``self.tile_table``)."""

    tile_table: sa.Table

    def _read_conn(self) -> Any: ...  # provided by SQLStore

    def _write_conn(self) -> Any: ...  # provided by SQLStore

    def upsert_statement(self, table: sa.Table) -> Any: ...  # provided by the backend

    def cached_tile(self, name: str, z: int, x: int, y: int) -> bytes | None:
        t = self.tile_table
        stmt = sa.select(t.c.data).where(t.c.name == name, t.c.z == z, t.c.x == x, t.c.y == y)
        with self._read_conn() as conn:
            data = conn.execute(stmt).scalar()
        return None if data is None else bytes(data)

    def cache_tile(self, name: str, z: int, x: int, y: int, data: bytes) -> None:
        t = self.tile_table
        stmt = self.upsert_statement(t).values(name=name, z=z, x=x, y=y, data=bytes(data))
        stmt = stmt.on_conflict_do_update(index_elements=["name", "z", "x", "y"], set_={"data": stmt.excluded.data})
        with self._write_conn() as conn:
            conn.execute(stmt)

    def cached_tile_keys(self, name: str | None = None) -> list[tuple[str, int, int, int]]:
        t = self.tile_table
        stmt = sa.select(t.c.name, t.c.z, t.c.x, t.c.y)
        if name is not None:
            stmt = stmt.where(t.c.name == name)
        with self._read_conn() as conn:
            return [(str(n), int(z), int(x), int(y)) for n, z, x, y in conn.execute(stmt)]

    def drop_cached_tiles(self, keys: Iterable[tuple[str, int, int, int]] | None = None) -> int:
        t = self.tile_table
        with self._write_conn() as conn:
            if keys is None:
                return int(conn.execute(t.delete()).rowcount)
            todo = [tuple(k) for k in keys]
            n = 0
            for i in range(0, len(todo), _CHUNK):
                cond = sa.tuple_(t.c.name, t.c.z, t.c.x, t.c.y).in_(todo[i : i + _CHUNK])
                n += int(conn.execute(t.delete().where(cond)).rowcount)
            return n
