"""SQLite backend: the embedded default, a single file that needs no server.

Geometry is stored as WKB with its bounding box; an R*Tree index kept in step by triggers answers
bbox queries (both created by the migrations, :mod:`gridmap.store.migrations.ddl`). DATETIME values are
text holding the UTC wall time. WAL journal and ``BEGIN IMMEDIATE`` let concurrent writers queue instead of failing; the
writers of one process queue on a lock first (SQLite's own busy handler waits by sleeping in growing steps,
which under many concurrent submissions wastes most of the time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gridmap.store.base import BBox
from gridmap.store.filters import register_sqlite_functions
from gridmap.store.migrations.ddl import BBOX_COLUMNS, rtree_table
from gridmap.store.sql import SQLStore


def _engine(url: str, *, immediate: bool) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        register_sqlite_functions(dbapi_conn)  # the spatial predicates of CQL2 filters

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class SQLiteStore(SQLStore):
    bbox_columns = BBOX_COLUMNS

    def __init__(self, url: str):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        super().__init__(url, engine=_engine(url, immediate=True), read_engine=_engine(url, immediate=False))
        self._writer = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._tx.get() is not None:  # nested: join the outer transaction
            yield
            return
        with self._writer, super().transaction():
            yield

    @contextmanager
    def _write_conn(self) -> Iterator[sa.Connection]:
        if self._tx.get() is not None:
            with super()._write_conn() as conn:
                yield conn
            return
        with self._writer, super()._write_conn() as conn:
            yield conn

    def upsert_statement(self, table: sa.Table):
        return sqlite_insert(table)

    def bbox_clause(self, table: sa.Table, bbox: BBox) -> sa.ColumnElement[bool]:
        minx, miny, maxx, maxy = bbox
        rtree = sa.table(rtree_table(table.name), sa.column("rid"), *[sa.column(c) for c in BBOX_COLUMNS])
        inner = sa.select(rtree.c.rid).where(
            rtree.c.bbox_maxx >= minx, rtree.c.bbox_minx <= maxx, rtree.c.bbox_maxy >= miny, rtree.c.bbox_miny <= maxy
        )
        return sa.literal_column(f"{table.name}.rowid").in_(inner)
