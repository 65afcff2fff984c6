"""The backend-specific DDL the revisions call, so each revision reads as plain ``op.create_table`` calls.

* SQLite keeps a geometry as WKB in a BLOB column with its bounding box in four REAL columns; an R*Tree
  virtual table ``rtree_<table>``, kept in step by three triggers, indexes the boxes.
* PostGIS keeps it in a ``geometry(GEOMETRY, 4326)`` column with a GiST index ``idx_<table>_geometry``
  (GeoAlchemy2's name, which the store's model declares too).

Keep these functions' output stable: revisions already applied to users' databases call them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

SRID = 4326
#: SQLite's bounding-box columns, in the store's model order
BBOX_COLUMNS = ("bbox_minx", "bbox_miny", "bbox_maxx", "bbox_maxy")


def dialect() -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend the revision is running on."""
    return op.get_bind().dialect.name


def rtree_table(table: str) -> str:
    """Name of the R*Tree virtual table indexing ``table``'s bounding boxes on SQLite."""
    return f"rtree_{table}"


def enable_spatial() -> None:
    """What the backend needs before any geometry column exists (PostGIS: the extension)."""
    if dialect() == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def geometry_columns() -> list[sa.Column]:
    """The column(s) holding a layer's geometry: ``geometry`` (and the bounding box on SQLite)."""
    if dialect() == "postgresql":
        return [
            sa.Column("geometry", Geometry(geometry_type="GEOMETRY", srid=SRID, spatial_index=False), nullable=True)
        ]
    return [
        sa.Column("geometry", sa.LargeBinary(), nullable=True),
        *[sa.Column(name, sa.Float(), nullable=True) for name in BBOX_COLUMNS],
    ]


def create_spatial_index(table: str) -> None:
    """Index ``table``'s geometry for bounding-box queries (after :func:`geometry_columns` were created)."""
    if dialect() == "postgresql":
        op.create_index(f"idx_{table}_geometry", table, ["geometry"], postgresql_using="gist")
        return
    rtree = rtree_table(table)
    op.execute(f"CREATE VIRTUAL TABLE {rtree} USING rtree(rid, bbox_minx, bbox_maxx, bbox_miny, bbox_maxy)")
    new = "NEW.rowid, NEW.bbox_minx, NEW.bbox_maxx, NEW.bbox_miny, NEW.bbox_maxy"
    has_box = "NEW.bbox_minx IS NOT NULL"
    op.execute(
        f"CREATE TRIGGER {table}_rtree_ins AFTER INSERT ON {table} "
        f"WHEN {has_box} BEGIN INSERT INTO {rtree} VALUES ({new}); END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_rtree_upd AFTER UPDATE ON {table} BEGIN "
        f"DELETE FROM {rtree} WHERE rid = OLD.rowid; "
        f"INSERT INTO {rtree} SELECT {new} WHERE {has_box}; END"
    )
    op.execute(
        f"CREATE TRIGGER {table}_rtree_del AFTER DELETE ON {table} BEGIN DELETE FROM {rtree} WHERE rid = OLD.rowid; END"
    )
    # rows already in the table (a layer gaining a geometry later) enter the index too
    op.execute(
        f"INSERT INTO {rtree} SELECT rowid, bbox_minx, bbox_maxx, bbox_miny, bbox_maxy FROM {table} "
        f"WHERE bbox_minx IS NOT NULL"
    )


def drop_spatial_index(table: str) -> None:
    """Undo :func:`create_spatial_index`."""
    if dialect() == "postgresql":
        op.drop_index(f"idx_{table}_geometry", table_name=table)
        return
    for suffix in ("ins", "upd", "del"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_rtree_{suffix}")
    op.execute(f"DROP TABLE IF EXISTS {rtree_table(table)}")


def is_backend_internal(name: str) -> bool:
    """Tables a backend keeps for itself, which the store's model does not describe: PostGIS's
    ``spatial_ref_sys``, SQLite's R*Tree tables and their shadow tables (``rtree_<t>_node`` …)."""
    return name == "spatial_ref_sys" or name.startswith("rtree_") or name.startswith("sqlite_")
