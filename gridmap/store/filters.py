"""CQL2 filters (a :mod:`pygeofilter` AST) as SQL conditions, on every SQL backend.

The translation is pygeofilter's SQLAlchemy backend with the spatial parts made backend-neutral: a spatial
predicate is ``ST_<Op>(geometry, ST_GeomFromEWKT('SRID=4326;…'))`` plus the backend's bounding-box test
(GiST ``&&`` on PostGIS, the R*Tree on SQLite) so the index narrows the rows first. PostGIS has these
functions; on SQLite :func:`register_sqlite_functions` adds them to each connection (shapely on WKB). Either
way the filter runs inside the database's query — counting, sorting and paging stay in SQL.

Geometry literals must already be in CRS84 (the service transforms ``filter-crs``). Attribute names are the
layer's columns (the service maps published names to columns and refuses the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import shapely
import sqlalchemy as sa
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from sqlalchemy.ext.compiler import compiles

from gridmap.store.base import SchemaError

#: CQL2 spatial operator name → SQL function (both backends)
SPATIAL_FUNCTIONS = {
    "INTERSECTS": "ST_Intersects",
    "DISJOINT": "ST_Disjoint",
    "CONTAINS": "ST_Contains",
    "WITHIN": "ST_Within",
    "TOUCHES": "ST_Touches",
    "CROSSES": "ST_Crosses",
    "OVERLAPS": "ST_Overlaps",
    "EQUALS": "ST_Equals",
}

BBoxClause = Callable[[tuple[float, float, float, float]], sa.ColumnElement[bool]]


class _Literal:
    """A geometry literal: its SQL expression and its bounds (for the index prefilter)."""

    def __init__(self, geom: Any):
        self.geom = geom
        self.sql = sa.func.ST_GeomFromEWKT(f"SRID=4326;{geom.wkt}")


class _Evaluator(SQLAlchemyFilterEvaluator):
    def __init__(self, columns: Mapping[str, Any], bbox_clause: BBoxClause):
        super().__init__(dict(columns), False)
        self.bbox_clause = bbox_clause
        self.geometry_column = columns.get("geometry")

    @handle(ast.Attribute)
    def attribute(self, node):
        try:
            return self.field_mapping[node.name]
        except KeyError:
            raise SchemaError(f"no column {node.name!r} to filter on") from None

    @handle(values.Geometry)
    def geometry(self, node):
        return _Literal(shapely.geometry.shape(node.geometry))

    @handle(values.Envelope)
    def envelope(self, node):
        return _Literal(shapely.box(node.x1, node.y1, node.x2, node.y2))

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial_operation(self, node, lhs, rhs):
        return self._spatial(node.op.name, lhs, rhs)

    @handle(ast.BBox)
    def bbox(self, node, lhs):
        return self._spatial("INTERSECTS", lhs, _Literal(shapely.box(node.minx, node.miny, node.maxx, node.maxy)))

    @handle(ast.Relate)
    def spatial_pattern(self, node, lhs, rhs):
        raise SchemaError("S_RELATE is not supported")

    @handle(ast.SpatialDistancePredicate, subclasses=True)
    def spatial_distance(self, node, lhs, rhs):
        raise SchemaError("DWITHIN and BEYOND are not supported")

    @handle(ast.Function)
    def function(self, node, *args):
        if node.name == "lower" and len(args) == 1:  # CQL2 CASEI(…), which pygeofilter reads as lower(…)
            return args[0].lower() if isinstance(args[0], str) else sa.func.lower(args[0])
        raise SchemaError(f"function {node.name}() is not supported in filters")

    @handle(ast.Like)
    def like(self, node, lhs):
        pattern = self.evaluate(node.pattern) if isinstance(node.pattern, ast.Node) else node.pattern
        if not isinstance(pattern, str):
            raise SchemaError("LIKE takes a text pattern ('…'), not a column or an expression")
        if node.nocase:
            cond: Any = sa.func.lower(lhs).like(pattern.lower(), escape="\\")
        else:
            cond = CaseSensitiveLike(lhs, pattern)
        return sa.not_(cond) if node.not_ else cond

    def _spatial(self, op: str, lhs: Any, rhs: Any) -> Any:
        if isinstance(lhs, _Literal) and not isinstance(rhs, _Literal):
            lhs, rhs = rhs, lhs
            op = {"CONTAINS": "WITHIN", "WITHIN": "CONTAINS"}.get(op, op)
        if lhs is not self.geometry_column or not isinstance(rhs, _Literal):
            raise SchemaError("a spatial predicate compares the geometry with a geometry literal")
        cond = getattr(sa.func, SPATIAL_FUNCTIONS[op])(lhs, rhs.sql)
        if op == "DISJOINT" or rhs.geom.is_empty:
            return cond
        # the index first: every predicate but DISJOINT implies that the bounding boxes meet
        return sa.and_(self.bbox_clause(tuple(float(v) for v in rhs.geom.bounds)), cond)  # type: ignore[arg-type]


class CaseSensitiveLike(sa.sql.expression.ColumnElement[bool]):
    """CQL2 ``LIKE``: case-sensitive, ``%`` any run, ``_`` one character, ``\\`` escapes the next character.

    PostgreSQL's ``LIKE`` is exactly that. SQLite's ignores case for ASCII letters, so there the pattern is
    translated to ``GLOB`` (case-sensitive; ``*`` ``?`` and ``[`` in the text become ``[*]`` ``[?]`` ``[[]``)."""

    inherit_cache = True
    type = sa.Boolean()

    def __init__(self, column: Any, pattern: str):
        self.column = column
        self.pattern = pattern


def like_to_glob(pattern: str) -> str:
    """The SQLite ``GLOB`` pattern that matches what the CQL2 ``LIKE`` ``pattern`` matches."""
    out, chars = [], iter(pattern)
    for c in chars:
        if c == "\\":
            c = next(chars, "\\")
        elif c in "%_":
            out.append("*" if c == "%" else "?")
            continue
        out.append(f"[{c}]" if c in "*?[" else c)
    return "".join(out)


@compiles(CaseSensitiveLike)
def _like_default(element: CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.like(element.pattern, escape="\\"), **kw)


@compiles(CaseSensitiveLike, "sqlite")
def _like_sqlite(element: CaseSensitiveLike, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.column.op("GLOB")(like_to_glob(element.pattern)), **kw)


def to_sql(node: Any, columns: Mapping[str, Any], bbox_clause: BBoxClause) -> sa.ColumnElement[bool]:
    """The SQL condition of a pygeofilter AST ``node``; ``columns``: attribute name → table column
    (``geometry`` → the geometry column); ``bbox_clause(bounds)``: the backend's bounding-box test."""
    try:
        out = _Evaluator(columns, bbox_clause).evaluate(node)
    except SchemaError:
        raise
    except Exception as exc:  # pygeofilter raises plain exceptions for nodes it cannot translate
        raise SchemaError(f"filter cannot be translated to SQL: {exc}") from None
    if isinstance(out, _Literal) or not isinstance(out, sa.ColumnElement):
        raise SchemaError("a filter must be a condition (true or false), not a value")
    return out


# -- SQLite: the spatial functions as SQL functions ---------------------------------------------------
@lru_cache(maxsize=256)
def _literal(ewkt: str) -> bytes:
    return shapely.to_wkb(shapely.from_wkt(ewkt.split(";", 1)[1]))


@lru_cache(maxsize=32)
def _prepared(wkb: bytes) -> Any:
    g = shapely.from_wkb(wkb)
    shapely.prepare(g)
    return g


def _predicate(name: str) -> Callable[[bytes | None, bytes | None], int | None]:
    test = getattr(shapely, name)

    def run(a: bytes | None, b: bytes | None) -> int | None:
        if a is None or b is None:
            return None
        return int(bool(test(shapely.from_wkb(a), _prepared(bytes(b)))))

    return run


#: name → (number of arguments, function) registered on every SQLite connection
SQLITE_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "ST_GeomFromEWKT": (1, _literal),
    "GeomFromEWKT": (1, _literal),  # the name GeoAlchemy2 compiles ST_GeomFromEWKT to on SQLite
    **{
        fn: (2, _predicate(op.lower() if op != "EQUALS" else "equals"))
        for op, fn in SPATIAL_FUNCTIONS.items()
        if op not in ("CONTAINS", "WITHIN")
    },
    "ST_Contains": (2, _predicate("contains")),
    "ST_Within": (2, _predicate("within")),
}


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """Add :data:`SQLITE_FUNCTIONS` to a ``sqlite3`` connection (deterministic: SQLite may cache results)."""
    for name, (n, fn) in SQLITE_FUNCTIONS.items():
        dbapi_conn.create_function(name, n, fn, deterministic=True)
