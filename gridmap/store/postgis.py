"""PostgreSQL/PostGIS backend: ``GRIDMAP_DATABASE_URL=postgresql+psycopg://user:pw@host/db``.

Geometry lives in ``geometry(GEOMETRY, 4326)`` columns (GeoAlchemy2) with GiST indexes; bbox filters use
the index (``&&``, the same bounding-box overlap the SQLite R*Tree answers). Large inserts go through
``COPY … FROM STDIN``. DATETIME columns are ``timestamptz``. Beyond the :class:`~gridmap.store.base.Store`
interface it answers spatial questions in the database — :meth:`PostGISStore.containing`,
:meth:`PostGISStore.nearest` (capability ``spatial_queries``) — and draws vector tiles with ``ST_AsMVT``
(:meth:`PostGISStore.mvt`, capability ``mvt``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import insert as pg_insert

from gridmap.domain import tiles as _mvt
from gridmap.domain.schema import JSON, Layer
from gridmap.store.base import MVT, SPATIAL_QUERIES, BBox, Lookup, SchemaError, Where
from gridmap.store.migrations.ddl import SRID
from gridmap.store.sql import SQLStore, _layer

#: inserts of at least this many rows use COPY instead of INSERT … VALUES
COPY_MIN_ROWS = 500


class PostGISStore(SQLStore):
    """A store in a PostGIS database (PostgreSQL ≥ 13, PostGIS ≥ 3.1)."""

    capabilities = frozenset({MVT, SPATIAL_QUERIES})

    def __init__(self, url: str):
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        super().__init__(url, engine=engine)

    # -- dialect hooks ---------------------------------------------------------------------------
    def geometry_type(self, layer: Layer) -> sa.types.TypeEngine:
        return Geometry(geometry_type="GEOMETRY", srid=SRID, spatial_index=True)

    def encode_geometry(self, geoms: np.ndarray) -> list[Any]:
        """Hex EWKB with SRID 4326 (GeoAlchemy2 binds it through ``ST_GeomFromEWKT``; COPY reads it)."""
        geoms = shapely.set_srid(np.asarray(geoms, dtype=object), SRID)
        return [None if g is None else g for g in shapely.to_wkb(geoms, hex=True, include_srid=True)]

    def geometry_select(self, table: sa.Table) -> sa.ColumnElement:
        return sa.func.ST_AsBinary(table.c.geometry, type_=sa.LargeBinary)

    def bbox_clause(self, table: sa.Table, bbox: BBox) -> sa.ColumnElement[bool]:
        return table.c.geometry.op("&&")(_envelope(bbox))

    def upsert_statement(self, table: sa.Table):
        return pg_insert(table)

    def insert_rows(self, conn: sa.Connection, spec: Layer, rows: pd.DataFrame) -> None:
        """Insert new rows; many rows at once go through ``COPY … FROM STDIN`` (text format)."""
        if len(rows) < COPY_MIN_ROWS:
            super().insert_rows(conn, spec, rows)
            return
        cols = list(rows.columns)
        values = []
        for c in cols:
            if c == "geometry":
                values.append(self.encode_geometry(rows["geometry"].to_numpy(dtype=object)))
            elif c != "geometry" and spec.column(c).kind == JSON:
                values.append([None if v is None else json.dumps(v, ensure_ascii=False) for v in rows[c]])
            else:
                values.append(rows[c].tolist())
        names = ", ".join(_quote(c) for c in cols)
        raw = conn.connection.driver_connection
        assert raw is not None, "a connection in use has its psycopg connection"
        with raw.cursor() as cur, cur.copy(f"COPY {_quote(spec.name)} ({names}) FROM STDIN") as copy:
            for row in zip(*values):
                copy.write_row(row)

    # -- spatial questions answered in the database ----------------------------------------------
    def containing(self, layer: str, points: Sequence[Any], *, where: Where | None = None) -> list[Any]:
        """For each point (EPSG:4326), the key of a ``layer`` row whose geometry covers it, or None.

        When several rows cover a point the smallest key wins, so answers are deterministic.
        """
        spec, table = self._spatial_layer(layer)
        key = table.c[spec.key[0]]
        pts = self._points_table(points)
        sub = (
            sa.select(key)
            .where(sa.func.ST_Covers(table.c.geometry, pts.c.g), *self._where(table, where))
            .order_by(key)
            .limit(1)
            .lateral()
        )
        stmt = sa.select(pts.c.i, sub.c[key.name]).select_from(pts.outerjoin(sub, sa.true()))
        return self._by_index(stmt, len(points))

    def nearest(
        self, layer: str, points: Sequence[Any], *, max_distance_m: float, where: Where | None = None
    ) -> tuple[list[Any], list[float | None]]:
        """For each point, the key of the nearest ``layer`` row within ``max_distance_m`` metres and
        the distance (geodesic, metres); ``(None, None)`` when there is none that close."""
        spec, table = self._spatial_layer(layer)
        key = table.c[spec.key[0]]
        pts = self._points_table(points)
        reach = float(max_distance_m) * 1.01  # index prefilter in degrees, a little generous
        dist = sa.func.ST_Distance(sa.func.geography(table.c.geometry), sa.func.geography(pts.c.g))
        cand = (
            sa.select(key.label("k"), dist.label("d"))
            .where(
                table.c.geometry.op("&&")(
                    sa.func.ST_Expand(
                        pts.c.g,
                        reach / 111320.0 / sa.func.cos(sa.func.radians(sa.func.ST_Y(pts.c.g))),
                        reach / 110574.0,
                    )
                ),
                sa.func.ST_DWithin(
                    sa.func.geography(table.c.geometry), sa.func.geography(pts.c.g), float(max_distance_m)
                ),
                *self._where(table, where),
            )
            .order_by(dist, key)
            .limit(1)
            .lateral()
        )
        stmt = sa.select(pts.c.i, cand.c.k, cand.c.d).select_from(pts.outerjoin(cand, sa.true()))
        keys: list[Any] = [None] * len(points)
        dists: list[float | None] = [None] * len(points)
        with self._read_conn() as conn:
            for i, k, d in conn.execute(stmt):
                keys[i], dists[i] = k, (None if d is None else float(d))
        return keys, dists

    # -- vector tiles ----------------------------------------------------------------------------
    def mvt(
        self,
        layer: str,
        z: int,
        x: int,
        y: int,
        *,
        columns: Sequence[str],
        name: str | None = None,
        where: Where | None = None,
        lookup: Lookup | None = None,
        extent: int = _mvt.EXTENT,
        buffer: int = _mvt.BUFFER,
    ) -> bytes:
        """One MVT layer drawn by ``ST_AsMVT``: rows of ``layer`` touching tile z/x/y, simplified per zoom.

        ``lookup`` adds properties from another layer joined on this layer's key, e.g.
        ``{"grid_code": ("plan_assignments", "building_id", "grid_code", {"plan_id": "p1"})}``.
        """
        spec, table = self._spatial_layer(layer)
        bounds = sa.func.ST_TileEnvelope(z, x, y)
        tol = _mvt.simplify_tolerance_m(z, extent=extent)
        geom = sa.func.ST_AsMVTGeom(
            sa.func.ST_Simplify(sa.func.ST_Transform(table.c.geometry, 3857), tol, True), bounds, extent, buffer, True
        )
        sel: list[Any] = [table.c[c] for c in columns]
        from_: Any = table
        for prop, (other, on, show, other_where) in (lookup or {}).items():
            o = self.tables[_layer(other).name].alias(f"lk_{prop}")
            cond = sa.and_(o.c[on] == table.c[spec.key[0]], *[o.c[k] == v for k, v in (other_where or {}).items()])
            from_ = from_.outerjoin(o, cond)
            sel.append(o.c[show].label(prop))
        inner = (
            sa.select(*sel, geom.label("geom"))
            .select_from(from_)
            .where(
                table.c.geometry.op("&&")(_envelope(_mvt.tile_bbox(z, x, y, extent=extent, buffer=buffer))),
                *self._where(table, where),
            )
            # features in key order, so a tile's bytes are the same every time it is drawn (PostgreSQL feeds an
            # aggregate the rows of a sorted subquery in that order)
            .order_by(*[table.c[k] for k in spec.key])
            .subquery("q")
        )
        stmt = (
            sa.select(sa.func.ST_AsMVT(sa.literal_column("q"), name or layer, extent, "geom"))
            .select_from(inner)
            .where(inner.c.geom.is_not(None))
        )
        with self._read_conn() as conn:
            data = conn.execute(stmt).scalar()
        return bytes(data) if data else b""

    # -- helpers ---------------------------------------------------------------------------------
    def _spatial_layer(self, layer: str) -> tuple[Layer, sa.Table]:
        spec = _layer(layer)
        if not spec.geometry:
            raise SchemaError(f"layer {layer!r} has no geometry")
        return spec, self.tables[layer]

    def _points_table(self, points: Sequence[Any]) -> Any:
        """The points as rows ``(i, g)`` of an ``unnest`` over hex EWKB, one parameter for all."""
        hexes = self.encode_geometry(np.asarray(list(points), dtype=object))
        arr = sa.func.unnest(sa.cast(sa.bindparam("pts", hexes, type_=sa.ARRAY(sa.Text)), sa.ARRAY(sa.Text)))
        raw = sa.select(
            sa.func.ST_GeomFromEWKB(sa.func.decode(sa.column("h"), "hex")).label("g"),
            (sa.literal_column("n") - 1).label("i"),
        ).select_from(arr.table_valued("h", with_ordinality="n").render_derived())
        return raw.subquery("pts")

    def _by_index(self, stmt: Any, n: int) -> list[Any]:
        out: list[Any] = [None] * n
        with self._read_conn() as conn:
            for i, k in conn.execute(stmt):
                out[i] = k
        return out


def _envelope(bbox: BBox) -> sa.ColumnElement:
    minx, miny, maxx, maxy = (float(v) for v in bbox)
    return sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID, type_=Geometry(srid=SRID))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
