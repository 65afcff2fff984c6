"""The evaluation report of a grid plan: per grid and per community figures, the problems found, and
an HTML rendering with an inline SVG map and charts (no scripts, no CDN). No I/O besides templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from gridmap.domain import metrics as M
from gridmap.domain.plan import GridPlan
from gridmap.domain.values import json_records, json_value
from gridmap.resources import resource_path

GRID_COLUMNS = [
    "community_id",
    "households",
    "residents",
    "buildings",
    "stewards",
    "grid_leaders",
    "party_central_households",
    "buildings_without_leader",
    "deviation",
    "in_bounds",
    "parts",
    "detached_parts",
    "building_parts",
    "enclosed_by",
    "polsby_popper",
    "walls_crossed",
    "estates_split",
    "area_m2",
]


def build_report(plan: GridPlan, world: M.World, *, diagnostics: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The report of ``plan`` as plain data (JSON-ready).

    Keys: ``plan_id``, ``summary`` (district-wide figures), ``communities`` (one dict each),
    ``grids`` (one dict each), ``problems`` (what falls short, in words), ``diagnostics`` (from the
    partition: buildings above the maximum, islands joined, communities whose bounds admit no count).
    """
    grids = M.grid_table(plan, world, GRID_COLUMNS)
    cover = M.coverage(plan, world)
    coms = M.community_table(grids, world, cover)
    names = dict(zip(world.communities["id"], world.communities.get("name", world.communities["id"])))
    if len(coms):
        coms.insert(0, "name", [names.get(c, "") for c in coms.index])
    summary = M.summary(grids)
    if len(cover):
        area = float(cover["area_m2"].sum())
        summary["gap_m2"] = float(cover["gap_m2"].sum())
        summary["overlap_m2"] = float(cover["overlap_m2"].sum())
        summary["gap_share"] = summary["gap_m2"] / area if area else 0.0
    diagnostics = dict(diagnostics or {})
    return {
        "plan_id": plan.id,
        "status": plan.meta.get("status"),
        "parent_id": plan.meta.get("parent_id"),
        "default_bounds": list(world.default_bounds),
        "summary": json_value(summary, digits=6),
        "communities": _records(coms.reset_index()) if len(coms) else [],
        "grids": _records(grids.reset_index()),
        "problems": problems(grids, coms, diagnostics, world),
        "diagnostics": diagnostics,
    }


def problems(
    grids: pd.DataFrame, coms: pd.DataFrame, diagnostics: Mapping[str, Any], world: M.World
) -> list[dict[str, Any]]:
    """Every shortfall as {kind, level, where, message, fix}: out of bounds (and why), split, enclosed, gaps;
    a community without buildings is one notice, not a grid out of bounds. ``fix`` says what the user can do."""
    out: list[dict[str, Any]] = []
    empty = _communities_without_buildings(grids)
    for cid in sorted(empty):
        out.append(
            {
                "kind": "community_without_buildings",
                "level": "notice",
                "where": cid,
                "message": f"community {cid} has no buildings: it is one grid without households",
            }
        )
    too_big = {d["building_id"]: d for d in diagnostics.get("too_big", [])}
    for d in too_big.values():
        out.append(
            {
                "kind": "building_too_big",
                "where": d["building_id"],
                "message": f"building {d['building_id']} alone has {d['households']} households, "
                f"{d['over_by']} above the maximum",
            }
        )
    for cid in diagnostics.get("count_infeasible", []):
        lo, hi = world.bounds_of(cid)
        out.append(
            {
                "kind": "bounds_infeasible",
                "where": cid,
                "message": f"community {cid}: no number of grids puts its households within [{lo}, {hi}]",
            }
        )
    for d in diagnostics.get("islands", []):
        out.append(
            {
                "kind": "island",
                "where": d["buildings"][0],
                "message": f"{len(d['buildings'])} building(s) detached from the rest "
                f"({', '.join(d['buildings'][:3])}) joined to the grid of {d['joined_to']}",
            }
        )
    for code, g in grids.iterrows():
        lo, hi = world.bounds_of(g["community_id"])
        if not g["in_bounds"] and g["community_id"] not in empty:
            side = "below" if g["households"] < lo else "above"
            by = lo - g["households"] if side == "below" else g["households"] - hi
            out.append(
                {
                    "kind": "out_of_bounds",
                    "where": code,
                    "message": f"grid {code}: {g['households']} households, {by} {side} [{lo}, {hi}]",
                }
            )
        if g["detached_parts"] > 0:
            out.append({"kind": "not_contiguous", "where": code, "message": f"grid {code} is in {g['parts']} pieces"})
        elif g["parts"] > 1:
            out.append(
                {
                    "kind": "community_pieces",
                    "where": code,
                    "message": f"grid {code} is in {g['parts']} pieces because its community is in separate pieces",
                }
            )
        if g["enclosed_by"]:
            out.append(
                {"kind": "enclosed", "where": code, "message": f"grid {code} is enclosed by grid {g['enclosed_by']}"}
            )
        if g["estates_split"]:
            out.append(
                {
                    "kind": "estate_split",
                    "where": code,
                    "message": f"grid {code} holds part of {g['estates_split']} estate(s) that would fit in one grid",
                }
            )
    for cid, c in coms.iterrows():
        if c.get("gap_m2", 0) > 1e-4 * c.get("area_m2", 0):
            out.append(
                {
                    "kind": "gap",
                    "where": cid,
                    "message": f"community {cid}: {c['gap_m2']:.1f} m² not covered by any grid",
                }
            )
        if c.get("overlap_m2", 0) > 1e-4 * c.get("area_m2", 0):
            out.append(
                {
                    "kind": "overlap",
                    "where": cid,
                    "message": f"community {cid}: grids overlap on {c['overlap_m2']:.1f} m²",
                }
            )
    for p in out:
        p.setdefault("level", "warning")
        p["fix"] = FIXES[p["kind"]]
    return out


#: what the user can do about each kind of problem
FIXES = {
    "community_without_buildings": "import its buildings (gridmap import buildings FILE), or leave it: "
    "there is nothing to divide",
    "building_too_big": "raise the maximum for its community (--max or communities.max_households), or accept "
    "one grid above the maximum",
    "bounds_infeasible": "widen the community's bounds (--min/--max or communities.min_households/max_households)",
    "island": "check the detached buildings' community and position; move them by hand if another grid suits "
    "(gridmap plan move)",
    "out_of_bounds": "move buildings between neighbouring grids (gridmap plan rebalance, or the planner), or "
    "widen the bounds",
    "not_contiguous": "move the detached piece to the grid around it (gridmap plan move), or regenerate",
    "community_pieces": "nothing to do if the community really is in separate pieces; else correct its boundary",
    "enclosed": "merge the enclosed grid into the one around it, or move buildings so it touches another grid",
    "estate_split": "move the estate's buildings into one grid (gridmap plan move), or regenerate",
    "gap": "regenerate the plan after correcting the community or building geometry",
    "overlap": "regenerate the plan after correcting the community or building geometry",
}


def _communities_without_buildings(grids: pd.DataFrame) -> set[str]:
    """Communities whose grids hold no building at all."""
    if not len(grids) or "buildings" not in grids:
        return set()
    n = grids.groupby("community_id")["buildings"].sum()
    return {str(c) for c in n.index[n.fillna(0).to_numpy() == 0]}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json_records(frame, digits=6)


# -- HTML --------------------------------------------------------------------------------------


def render_html(report: Mapping[str, Any], grids_geo: Any, *, title: str | None = None) -> str:
    """A standalone HTML page: summary, an inline SVG map coloured by deviation, a histogram of grid
    sizes, and the community and grid tables. ``grids_geo``: code + geometry in a metric CRS."""
    env = Environment(loader=FileSystemLoader(str(resource_path("templates"))), autoescape=select_autoescape(["html"]))
    dev = {g["code"]: g["deviation"] for g in report["grids"]}
    inb = {g["code"]: g["in_bounds"] for g in report["grids"]}
    return env.get_template("grid_report.html").render(
        r=report,
        title=title or f"网格方案评估 Grid plan report {report.get('plan_id') or ''}",
        svg_map=svg_map(grids_geo, dev, inb),
        histogram=svg_histogram([g["deviation"] or 0.0 for g in report["grids"]]),
    )


def _colour(d: float | None, ok: bool) -> str:
    if not ok:
        return "#d7301f"
    d = 0.0 if d is None else max(-0.3, min(0.3, d))
    # blue (small) → white (mean) → orange (large)
    t = (d + 0.3) / 0.6
    if t < 0.5:
        a = t / 0.5
        r, g, b = 69 + (247 - 69) * a, 117 + (247 - 117) * a, 180 + (247 - 180) * a
    else:
        a = (t - 0.5) / 0.5
        r, g, b = 247 + (253 - 247) * a, 247 + (174 - 247) * a, 247 + (97 - 247) * a
    return f"#{int(r):02x}{int(g):02x}{int(b):02x}"


def svg_map(grids_geo: Any, deviation: Mapping[str, float], in_bounds: Mapping[str, bool], *, width: int = 900) -> str:
    """Grid polygons as an inline SVG (simplified to about a pixel), one <path> per grid with a title."""
    geoms = np.asarray(grids_geo.geometry.values)
    if not len(geoms):
        return ""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    span = max(xmax - xmin, ymax - ymin, 1e-9)
    scale = width / span
    height = max(1, int((ymax - ymin) * scale))
    simple = shapely.simplify(geoms, span / width / 2, preserve_topology=True)
    paths = []
    for code, geom in zip(grids_geo["code"], simple):
        d = []
        for poly in shapely.get_parts(geom):
            for ring in [poly.exterior, *poly.interiors] if poly.geom_type == "Polygon" else []:
                xy = np.asarray(ring.coords)
                px = (xy[:, 0] - xmin) * scale
                py = (ymax - xy[:, 1]) * scale
                d.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py)) + "Z")
        colour = _colour(deviation.get(code), bool(in_bounds.get(code, True)))
        dv = deviation.get(code)
        label = f"{code} {'' if dv is None else f'{dv:+.0%}'}"
        paths.append(
            f'<path d="{"".join(d)}" fill="{colour}" fill-rule="evenodd"><title>{escape(label)}</title></path>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="grid map" stroke="#333" stroke-width="0.4">' + "".join(paths) + "</svg>"
    )


def svg_histogram(deviations: list[float], *, width: int = 600, height: int = 200) -> str:
    """Histogram of deviations from the community mean, 5% bins from -50% to +50%."""
    edges = np.linspace(-0.5, 0.5, 21)
    counts, _ = np.histogram(np.clip(np.asarray(deviations, dtype=float), -0.5, 0.5), bins=edges)
    top = max(int(counts.max()) if len(counts) else 0, 1)
    bw = width / len(counts)
    bars = []
    for i, c in enumerate(counts.tolist()):
        h = (height - 30) * c / top
        lo, hi = edges[i], edges[i + 1]
        fill = "#4575b4" if abs(lo + hi) / 2 <= 0.1 else "#fdae61"
        bars.append(
            f'<rect x="{i * bw + 1:.1f}" y="{height - 20 - h:.1f}" width="{bw - 2:.1f}" '
            f'height="{h:.1f}" fill="{fill}"><title>{lo:+.0%}…{hi:+.0%}: {c}</title></rect>'
        )
    ticks = "".join(
        f'<text x="{i * bw:.1f}" y="{height - 5}" font-size="10">{edges[i]:+.0%}</text>'
        for i in range(0, len(edges) - 1, 4)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'role="img" aria-label="histogram">' + "".join(bars) + ticks + "</svg>"
    )
