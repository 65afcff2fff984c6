"""The programme's figures: ``/kpi`` (charts and a grid map as inline SVG, no JS library), ``/api/kpi`` (JSON)
and ``/api/kpi.csv`` (CSV by grid, community or street)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup, escape

from gridmap.domain import kpi_csv, privacy
from gridmap.domain.codes import community_of, short_code
from gridmap.errors import InvalidInput
from gridmap.services import complaints as svc
from gridmap.services.complaints import public
from gridmap.services.plans.stored import published_plan_id
from gridmap.web.access import allow, current_user
from gridmap.web.complaints import layout
from gridmap.web.context import get_store

bp = Blueprint("kpi", __name__)

_PALETTE = ("#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603")


def _year() -> int | None:
    raw = request.args.get("year")
    if raw in (None, ""):
        return None
    try:
        year = int(raw)
    except ValueError:
        raise InvalidInput(f"year must be a year such as 2025, got {raw!r}") from None
    if not 1990 <= year <= 2100:
        raise InvalidInput(f"year {year} is out of range")
    return year


def _report() -> dict[str, Any]:
    """The KPI report; public, viewer and embed callers get the public table's counts (issue #13)."""
    settings = current_app.config["GRIDMAP_SETTINGS"]
    rep = svc.kpi_report(get_store(), settings=settings, year=_year())
    if privacy.sees_exact_counts(current_user()):
        return rep
    # the public table: the same figures as the map, OGC and grid stats, safe against differencing
    return public.public_report(rep, public.public_table(get_store(), settings=settings))


@bp.get("/kpi")
@allow("public")
def page():
    rep = _report()
    grid_values = {r["grid"]: r["per_1000"] for r in rep["levels"]["grid"]}
    streets = rep["levels"]["street"]
    return render_template(
        "kpi.html",
        layout=layout(),
        rep=rep,
        street_chart=bar_chart(
            [(r["street"], r["per_1000"], r["per_1000_prev"]) for r in streets], labels=_street_names()
        ),
        trend_chart=trend_chart(rep["trend"]),
        rates_chart=bar_chart(
            [
                (_("响应率"), rep["summary"]["response_rate"], None),
                (_("解决率"), rep["summary"]["resolution_rate"], None),
                (_("满意率"), rep["summary"]["satisfaction_rate"], None),
            ],
            percent=True,
        ),
        map_svg=grid_svg(get_store(), values=grid_values),
    )


@bp.get("/api/kpi")
@allow("public")
def as_json():
    return jsonify(_report())


@bp.get("/api/kpi.csv")
@allow("public")
def as_csv():
    level = request.args.get("level", "grid")
    rep = _report()
    if level not in rep["levels"]:
        raise InvalidInput(f"level must be grid, community or street, got {level!r}")
    headers = request.args.get("headers", "zh")
    if headers not in ("zh", "en"):
        raise InvalidInput(f"headers must be zh or en, got {headers!r} / headers 应为 zh 或 en")
    header, rows = kpi_csv.csv_table(rep["levels"][level], level, unit_names(), english=headers == "en")
    buf = io.StringIO()
    buf.write("\ufeff")  # so spreadsheet programs read UTF-8 (Chinese) correctly
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    name = f"gridmap-kpi-{level}-{rep['year']}.csv"
    return Response(
        buf.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"}
    )


# -- inline SVG helpers (text escaped; numbers formatted here) ----------------------------------------
def _street_names() -> dict[str, str]:
    return unit_names()["street"]


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


def bar_chart(
    items: Sequence[tuple[str, float | None, float | None]],
    *,
    labels: Mapping[str, str] | None = None,
    percent: bool = False,
    width: int = 560,
) -> Markup:
    """Horizontal bars (this year dark, the year before light) as an SVG string."""
    labels = labels or {}
    vals = [v for _, a, b in items for v in (a, b) if v is not None]
    top = max(vals) if vals else 1.0
    top = top or 1.0
    row, left = 26, 170
    h = row * len(items) + 10
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {h}" width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (key, now, prev) in enumerate(items):
        y = 5 + i * row
        name = escape(labels.get(key, key))
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">{name}</text>')
        if prev is not None:
            wp = (width - left - 70) * prev / top
            parts.append(
                f'<rect x="{left}" y="{y + 12}" width="{wp:.1f}" height="8" fill="#c6dbef">'
                f"<title>{_fmt(prev, percent)}</title></rect>"
            )
        if now is not None:
            wn = (width - left - 70) * now / top
            parts.append(
                f'<rect x="{left}" y="{y + 2}" width="{wn:.1f}" height="10" fill="#2171b5">'
                f"<title>{_fmt(now, percent)}</title></rect>"
                f'<text x="{left + wn + 4:.1f}" y="{y + 12}" font-size="11">{_fmt(now, percent)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _fmt(v: float, percent: bool) -> str:
    return f"{v * 100:.1f}%" if percent else f"{v:.1f}"


def trend_chart(trend: Iterable[Mapping[str, Any]], *, width: int = 560, height: int = 180) -> Markup:
    """Monthly requests per 1,000 households, one line per year."""
    by_year: dict[int, dict[int, float]] = {}
    for r in trend:
        by_year.setdefault(int(r["year"]), {})[int(r["month"])] = float(r["per_1000"] or 0)
    top = max((v for months in by_year.values() for v in months.values()), default=1.0) or 1.0
    colours = ("#9ecae1", "#3182bd", "#08519c", "#e6550d")
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">'
    ]
    x0, y0, w, h = 40, 10, width - 60, height - 40
    parts.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="#999"/>')
    for m in range(1, 13):
        parts.append(
            f'<text x="{x0 + (m - 1) * w / 11:.1f}" y="{y0 + h + 15}" font-size="10" text-anchor="middle">{m}</text>'
        )
    for i, (year, months) in enumerate(sorted(by_year.items())):
        pts = " ".join(f"{x0 + (m - 1) * w / 11:.1f},{y0 + h - h * v / top:.1f}" for m, v in sorted(months.items()))
        c = colours[i % len(colours)]
        parts.append(
            f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{pts}"/>'
            f'<text x="{x0 + w + 2}" y="{y0 + 12 + 14 * i}" font-size="11" fill="{c}">{year}</text>'
        )
    parts.append(f'<text x="{x0}" y="{y0 + 8}" font-size="10">{top:.2f}</text></svg>')
    return Markup("".join(parts))


def grid_svg(
    store: Any,
    *,
    values: Mapping[str, float | None] | None = None,
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
    vals = [v for v in (values or {}).values() if v is not None]
    cuts = np.quantile(vals, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]) if vals else None
    parts = [
        f'<svg id="gridmap-svg" class="map" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" data-minlon="{minx}" data-maxlat="{maxy}" '
        f'data-scale="{scale}" data-klat="{k_lat}">'
    ]
    geoms = shapely.simplify(frame.geometry.values, tolerance)
    for code, geom in zip(frame[key].astype(str), geoms):
        d = _path(geom, minx, maxy, scale, k_lat)
        v = (values or {}).get(code)
        fill = (
            _PALETTE[int(np.searchsorted(cuts, v, side="right"))] if cuts is not None and v is not None else "#f0f0f0"
        )
        tip = escape(code) + (f": {v:.1f} / 1000" if v is not None else "")
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
