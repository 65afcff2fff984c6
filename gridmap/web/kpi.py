"""The programme's figures: ``/kpi`` (charts and a grid map as inline SVG, no JS library), ``/api/kpi`` (JSON)
and ``/api/kpi.csv`` (CSV by grid, community or street)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import Any, Literal

import shapely
from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup, escape
from pydantic import Field

from gridmap import clock
from gridmap.domain import kpi, kpi_csv, privacy
from gridmap.domain.codes import community_of, short_code
from gridmap.present import charts
from gridmap.services import complaints as svc
from gridmap.services.complaints import public
from gridmap.services.plans.stored import published_plan_id
from gridmap.web.access import allow, current_user
from gridmap.web.complaints import layout
from gridmap.web.context import get_store, zone
from gridmap.web.openapi import describe, op
from gridmap.web.schemas import Query, parse, query

bp = Blueprint("kpi", __name__)


class KpiQuery(Query):
    year: int | None = Field(None, ge=1990, le=2100)


class KpiCsvQuery(KpiQuery):
    level: Literal[kpi.LEVELS] = "grid"  # type: ignore[valid-type]
    #: the column headers' language
    headers: Literal["zh", "en"] = "zh"


def _report(year: int | None) -> dict[str, Any]:
    """The KPI report; public, viewer and embed callers get the public table's counts (issue #13)."""
    settings = current_app.config["GRIDMAP_SETTINGS"]
    rep = svc.kpi_report(get_store(), settings=settings, year=year)
    if privacy.sees_exact_counts(current_user()):
        return rep
    # the public table: the same figures as the map, OGC and grid stats, safe against differencing
    return public.public_report(rep, public.public_table(get_store(), settings=settings))


@bp.get("/kpi")
@allow("public")
def page():
    raw = request.args.get("year")  # the page's form may send it empty
    rep = _report(parse(KpiQuery, {"year": raw} if raw else {}, where="query").year)
    names = unit_names()
    grid_values = {r["grid"]: r["per_1000"] for r in rep["levels"]["grid"]}
    streets = rep["levels"]["street"]
    year = rep["year"]
    now = clock.local(clock.now(), zone())
    return render_template(
        "kpi.html",
        layout=layout(),
        rep=rep,
        names=names,
        partial=(now.year, now.month) if year == now.year else None,
        street_chart=charts.bar_chart(
            [(names["street"].get(r["street"], r["street"]), r["per_1000"], r["per_1000_prev"]) for r in streets],
            unit=_("每千户诉求（件/千户）"),
            legend=(str(year), str(year - 1)),
        ),
        trend_chart=charts.trend_chart(
            rep["trend"],
            words={
                "unit": _("每千户诉求（件/千户）"),
                "month": _("月份"),
                "month_fmt": _("{m}月"),
                "partial": _("本月未满，截至今日"),
            },
            partial=(now.year, now.month),
        ),
        rates_chart=charts.bar_chart(
            [
                (_("响应率"), rep["summary"]["response_rate"], None),
                (_("解决率"), rep["summary"]["resolution_rate"], None),
                (_("满意率"), rep["summary"]["satisfaction_rate"], None),
            ],
            unit=_("占比（%）"),
            percent=True,
        ),
        map_svg=grid_svg(get_store(), values=grid_values, names=names["grid"]),
        map_legend=charts.class_legend(
            grid_values.values(), title=_("每千户诉求（件/千户）"), no_data=_("无数据或数量过少不公开")
        ),
    )


@bp.get("/api/kpi")
@allow("public")
@query(KpiQuery)
def as_json(query: KpiQuery):
    return jsonify(_report(query.year))


@bp.get("/api/kpi.csv")
@allow("public")
@query(KpiCsvQuery)
def as_csv(query: KpiCsvQuery):
    level = query.level
    rep = _report(query.year)
    header, rows = kpi_csv.csv_table(rep["levels"][level], level, unit_names(), english=query.headers == "en")
    buf = io.StringIO()
    buf.write("\ufeff")  # so spreadsheet programs read UTF-8 (Chinese) correctly
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    name = f"gridmap-kpi-{level}-{rep['year']}.csv"
    return Response(
        buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"}
    )


describe(
    "/api/kpi",
    "get",
    op(
        "Response, resolution and satisfaction rates per grid, community, street "
        "(small counts withheld from public and viewer callers)",
        role="public",
        tag="complaints",
        ok={"type": "object"},
        view=as_json,
    ),
)
describe(
    "/api/kpi.csv",
    "get",
    op(
        "The KPI table as CSV (headers=zh or en: the column headers' language)",
        role="public",
        tag="complaints",
        content_type="text/csv",
        ok={"type": "string"},
        view=as_csv,
    ),
)


# -- inline SVG helpers (text escaped; numbers formatted here) ----------------------------------------
def unit_names() -> dict[str, dict[str, str]]:
    """Names of streets and communities by id, and of grids as "community short-code" (恒珠社区 005)."""
    store = get_store()
    s = store.read("streets", columns=["id", "name"])
    c = store.read("communities", columns=["id", "name"])
    communities = dict(zip(c["id"].astype(str), c["name"].astype(str)))
    plan = published_plan_id(store)
    codes = store.read("plan_grids", where={"plan_id": plan}, columns=["code"])["code"] if plan else []
    grids = {str(g): f"{communities.get(community_of(g) or '', '')} {short_code(g)}".strip() for g in codes}
    return {"street": dict(zip(s["id"].astype(str), s["name"].astype(str))), "community": communities, "grid": grids}


def grid_svg(
    store: Any,
    *,
    values: Mapping[str, float | None] | None = None,
    names: Mapping[str, str] | None = None,
    width: int = 640,
    tolerance: float = 2e-5,
    buildings: bool = False,
    max_buildings: int = 1500,
    bbox: tuple[float, float, float, float] | None = None,
) -> Markup | None:
    """The published plan's grids (or, without a plan, the communities) as SVG paths.

    ``values`` colours the grids in six classes; ``buildings`` adds building outlines (up to
    ``max_buildings`` in view) so a resident can click their building; ``bbox`` (lon/lat) crops the map
    to one community. The ``<svg>`` carries ``data-*`` numbers with
    which the intake form's script turns a click into lon/lat (equirectangular at the map's mid latitude).
    """
    plan = published_plan_id(store)
    if plan:
        frame = store.read("plan_grids", where={"plan_id": plan}, columns=["code", "geometry"], bbox=bbox)
        key = "code"
    else:
        frame = store.read("communities", columns=["id", "name", "geometry"], bbox=bbox)
        key = "id"
    if not len(frame):
        return None
    minx, miny, maxx, maxy = frame.total_bounds
    k_lat = math.cos(math.radians((miny + maxy) / 2))
    scale = width / max((maxx - minx) * k_lat, 1e-9)
    height = max(int((maxy - miny) * scale), 1)
    cuts = charts.class_cuts((values or {}).values())
    parts = [
        f'<svg id="gridmap-svg" class="map" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" data-minlon="{minx}" data-maxlat="{maxy}" '
        f'data-scale="{scale}" data-klat="{k_lat}">'
    ]
    geoms = shapely.simplify(frame.geometry.values, tolerance)
    for code, geom in zip(frame[key].astype(str), geoms):
        d = _path(geom, minx, maxy, scale, k_lat)
        v = (values or {}).get(code)
        fill = charts.class_colour(v, cuts)
        tip = escape((names or {}).get(code) or code) + (f": {v:.1f} / 1000" if v is not None else "")
        parts.append(
            f'<path d="{d}" fill="{fill}" stroke="#636363" stroke-width="0.4" data-code="{escape(code)}">'
            f"<title>{tip}</title></path>"
        )
    if buildings and 0 < store.count("buildings", bbox=(minx, miny, maxx, maxy)) <= max_buildings:
        b = store.read("buildings", columns=["id", "geometry"], bbox=(minx, miny, maxx, maxy))
        for geom in shapely.simplify(b.geometry.values, tolerance / 4):
            if geom is not None and not geom.is_empty:
                parts.append(
                    f'<path d="{_path(geom, minx, maxy, scale, k_lat)}" fill="#bdbdbd" '
                    f'stroke="#737373" stroke-width="0.3" pointer-events="none"/>'
                )
    parts.append("</svg>")
    return Markup("".join(parts))


def _path(geom: Any, minx: float, maxy: float, scale: float, k_lat: float) -> str:
    polys = getattr(geom, "geoms", [geom])
    out = []
    for p in polys:
        for ring in [p.exterior, *p.interiors]:
            pts = " L".join(f"{(x - minx) * k_lat * scale:.1f} {(maxy - y) * scale:.1f}" for x, y in ring.coords)
            out.append(f"M{pts} Z")
    return " ".join(out)
