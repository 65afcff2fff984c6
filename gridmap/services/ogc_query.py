"""OGC API – Features Part 3 (filtering) and sorting: queryables, CQL2 filters, ``sortby``.

A collection's queryables are its published properties (:meth:`gridmap.services.ogc.Collection.schema`) and its
geometry — except computed ones: the complaint counts of ``complaint_counts`` are neither queryable nor
sortable, so no filter can select grids by a count and recover one the small-count rule withheld (the counts
shown are the public table's whatever the filter). Filters are parsed by :mod:`pygeofilter` (CQL2 text or
JSON), checked against the queryables, their geometry literals moved from ``filter-crs`` to CRS84, and handed
to the store, which runs them in SQL (:mod:`gridmap.store.filters`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import shapely
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from gridmap.domain import crs as crsmod
from gridmap.domain.schema import LAYERS
from gridmap.errors import InvalidInput

#: a :class:`gridmap.services.ogc.Collection` (which imports this module)
Collection = Any

#: ``filter-lang`` values: CQL2 text and JSON; ``cql-text`` is the draft's name, still sent by GDAL ≤ 3.6
FILTER_LANGS = ("cql2-text", "cql2-json", "cql-text")
GEOMETRY_TYPES = {"polygon": "geometry-polygon-or-multipolygon", "point": "geometry-point", "line": "geometry-any"}


def queryable_names(coll: Collection) -> list[str]:
    """Published property names a filter or ``sortby`` may use (``id`` first), without computed ones."""
    computed = {n for n, _ in coll.extra}
    return ["id"] + [n for n, _ in coll.schema() if n not in computed and n != "id"]


def queryables(coll: Collection, url: str, title: str) -> dict[str, Any]:
    """The collection's queryables as a JSON Schema (Part 3: ``/collections/{id}/queryables``)."""
    kinds = dict(coll.schema())
    props: dict[str, Any] = {}
    for name in queryable_names(coll):
        kind = kinds.get(name, "str")
        props[name] = {"title": name, **json_schema(kind)}
        if kind == "datetime":
            props[name]["format"] = "date-time"
        elif kind == "date":
            props[name]["format"] = "date"
    geom = LAYERS[coll.layer].geometry
    if geom:
        props["geometry"] = {"title": "geometry", "format": GEOMETRY_TYPES.get(geom, "geometry-any")}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "type": "object",
        "title": title,
        "properties": props,
        "additionalProperties": False,
    }


def parse_filter(text: str | None, lang: str | None, filter_crs: str | None, coll: Collection) -> ast.Node | None:
    """The ``filter`` parameter as a pygeofilter AST over the layer's columns, geometry in CRS84, or None.

    :class:`InvalidInput` names what is wrong: an unknown ``filter-lang`` or ``filter-crs``, a syntax error,
    a property that is not queryable (with the queryables listed)."""
    if text is None or text.strip() == "":
        if lang not in (None, "") or filter_crs not in (None, ""):
            raise InvalidInput("filter-lang 和 filter-crs 需要 filter / filter-lang and filter-crs need a filter")
        return None
    lang = (lang or "cql2-text").strip().lower()
    if lang not in FILTER_LANGS:
        raise InvalidInput(
            f"filter-lang 不支持 {lang!r} / filter-lang {lang!r} is not supported; use {', '.join(FILTER_LANGS[:2])}"
        )
    src = crsmod.parse(filter_crs, what="filter-crs", allowed=crsmod.offered(None) + _zone_uris())
    try:
        node = parse_cql2_json(json.loads(text)) if lang == "cql2-json" else parse_cql2_text(text)
    except Exception as exc:  # lark and json errors: show the first line of the parser's message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"filter 无法解析 / filter is not valid {lang}: {first}") from None
    if not isinstance(node, ast.Node):
        raise InvalidInput("filter 应为条件 / a filter must be a condition, not a value")
    return _rewrite(node, coll, src)


def parse_sortby(text: str | None, coll: Collection) -> list[str] | None:
    """``sortby=+name,-households`` → the store's ``order_by`` (``-`` descending), the key last as tie-break."""
    if text is None or text.strip() == "":
        return None
    names = queryable_names(coll)
    out = []
    for part in text.split(","):
        p = part.strip()
        desc = p.startswith("-")
        name = p.lstrip("+-").strip()
        if name not in names:
            raise InvalidInput(f"sortby 不能按 {name!r} 排序 / cannot sort by {name!r}; sortable: {', '.join(names)}")
        col = coll.id_column if name == "id" else name
        out.append(("-" if desc else "") + col)
    if coll.id_column not in {o.lstrip("-") for o in out}:
        out.append(coll.id_column)
    return out


def property_filter(args: dict[str, str], coll: Collection) -> dict[str, Any]:
    """Queryables given as query parameters (``?community_id=…``: equality) as a store ``where``."""
    where: dict[str, Any] = {}
    for name in queryable_names(coll):
        if name in args and name != "geometry":
            where[coll.id_column if name == "id" else name] = _typed(args[name], dict(coll.schema()).get(name, "str"))
    return where


#: for the OpenAPI document, queryables and HTML pages: schema kind → JSON Schema type
JSON_TYPES: dict[str, str] = {
    "count": "integer",
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "date": "string",
    "datetime": "string",
    "json": "object",
}


def json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema of a property of schema ``kind`` (``count``: an integer, ``"<5"`` or null — withheld so that
    differencing published counts gives no small count back)."""
    if kind == "count":
        return {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["<5"]}], "nullable": True}
    return {"type": JSON_TYPES[kind]}


# -- helpers -----------------------------------------------------------------------------------------
def _zone_uris() -> list[str]:
    return [crsmod.epsg_uri(c) for c in crsmod.GK_ZONES]


#: whole numbers a store column holds (64-bit): a larger one in a filter matches nothing a store can hold
INT64 = (-(2**63), 2**63 - 1)


def _whole(value: int) -> int:
    if not INT64[0] <= value <= INT64[1]:
        raise InvalidInput(f"数值超出范围 / {value} is out of range for a whole-number property (64-bit)")
    return value


def _typed(value: str, kind: str) -> Any:
    if kind in ("int", "count"):
        try:
            number = int(value)
        except ValueError:
            raise InvalidInput(f"参数值无效 / {value!r} is not a whole number") from None
        return _whole(number)
    try:
        if kind == "float":
            return float(value)
        if kind == "bool":
            return value.lower() in ("true", "1", "yes")
    except ValueError:
        raise InvalidInput(f"参数值无效 / {value!r} is not a {kind}") from None
    return value


def _rewrite(node: Any, coll: Collection, src: str) -> Any:
    """Map property names to columns (refusing unknown ones) and geometry literals to CRS84."""
    if isinstance(node, ast.Attribute):
        names = queryable_names(coll) + ["geometry"]
        if node.name not in names:
            raise InvalidInput(
                f"filter 中的 {node.name!r} 不可查询 / {node.name!r} is not queryable in {coll.id}; "
                f"queryables: {', '.join(names)}"
            )
        return ast.Attribute(coll.id_column if node.name == "id" else node.name)
    if isinstance(node, ast.BBox):
        box_crs = crsmod.parse(node.crs, what="BBOX crs") if node.crs else src
        lhs = _rewrite(node.lhs, coll, src)
        return ast.GeometryIntersects(lhs, _envelope((node.minx, node.miny, node.maxx, node.maxy), box_crs))
    if isinstance(node, ast.Function) and node.name.lower() == "bbox":  # CQL2 text's BBOX(x0, y0, x1, y1) literal
        nums = list(node.arguments)
        if len(nums) == 6:
            nums = [nums[0], nums[1], nums[3], nums[4]]
        if len(nums) != 4 or not all(isinstance(v, (int, float)) for v in nums):
            raise InvalidInput("BBOX(...) 需要 4 个数 / a BBOX literal takes four numbers: minx, miny, maxx, maxy")
        return _envelope((float(nums[0]), float(nums[1]), float(nums[2]), float(nums[3])), src)
    if isinstance(node, values.Envelope):
        return _envelope((node.x1, node.y1, node.x2, node.y2), src)
    if isinstance(node, values.Geometry):
        geom = shapely.geometry.shape(node.geometry)
        moved = crsmod.transform(np.array([geom], dtype=object), src, crsmod.CRS84)[0]
        return values.Geometry(shapely.geometry.mapping(moved))
    if isinstance(node, int) and not isinstance(node, bool):
        return _whole(node)
    if isinstance(node, list):
        return [_rewrite(n, coll, src) for n in node]
    if dataclasses.is_dataclass(node) and isinstance(node, ast.Node):
        changes = {f.name: _rewrite(getattr(node, f.name), coll, src) for f in dataclasses.fields(node)}
        return dataclasses.replace(node, **changes)  # type: ignore[type-var]
    return node


def with_bbox(node: ast.Node | None, box: tuple[float, float, float, float]) -> ast.Node:
    """``node`` AND the geometry intersects ``box`` (CRS84): the items' ``bbox`` parameter as the same predicate
    as CQL2's ``BBOX(geometry, …)`` (OGC API – Features: the features whose geometry intersects the box, not
    only their bounding boxes), so both select the same features."""
    minx, miny, maxx, maxy = (float(v) for v in box)
    inside = ast.GeometryIntersects(ast.Attribute("geometry"), values.Envelope(minx, maxx, miny, maxy))
    return inside if node is None else ast.And(node, inside)


def _envelope(box: tuple[float, float, float, float], src: str) -> values.Envelope:
    minx, miny, maxx, maxy = crsmod.bbox_to_crs84(tuple(float(v) for v in box), src)  # type: ignore[arg-type]
    return values.Envelope(minx, maxx, miny, maxy)
