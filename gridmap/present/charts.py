"""Inline SVG charts of the KPI page: bars with a value axis, a monthly trend with axes, a legend of years and
the current month marked partial, and the class legend of the grid map. No JS library; every text escaped,
numbers formatted here. The caller passes the words (already in the page's language)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from markupsafe import Markup, escape

#: the grid map's six classes, light to dark
PALETTE = ("#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603")
NO_DATA = "#f0f0f0"
_YEARS = ("#9ecae1", "#6baed6", "#3182bd", "#08519c", "#e6550d")
_FONT = 13


def class_cuts(values: Iterable[float | None]) -> np.ndarray | None:
    """Five quantile cuts of ``values`` (six classes), None without values."""
    vals = [v for v in values if v is not None]
    return np.quantile(vals, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]) if vals else None


def class_colour(v: float | None, cuts: np.ndarray | None) -> str:
    return PALETTE[int(np.searchsorted(cuts, v, side="right"))] if cuts is not None and v is not None else NO_DATA


def class_legend(values: Iterable[float | None], *, title: str, no_data: str) -> Markup:
    """The grid map's legend: each class's colour and range, and the colour of grids without a figure."""
    vals = [v for v in values if v is not None]
    cuts = class_cuts(vals)
    rows = []
    if cuts is not None:
        edges = [min(vals), *cuts.tolist(), max(vals)]
        for i, colour in enumerate(PALETTE):
            rows.append((colour, f"{edges[i]:.1f} – {edges[i + 1]:.1f}"))
    rows.append((NO_DATA, no_data))
    items = "".join(
        f'<li><span class="gm-swatch" style="background:{c}"></span>{escape(text)}</li>' for c, text in rows
    )
    return Markup(f'<figure class="gm-map-legend"><figcaption>{escape(title)}</figcaption><ul>{items}</ul></figure>')


def _ticks(top: float, n: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(int(math.ceil(top / step - 1e-9)) + 1)]


def _num(v: float, percent: bool) -> str:
    if percent:
        return f"{v * 100:.1f}%"
    return f"{v:.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:.1f}"


def bar_chart(
    items: Sequence[tuple[str, float | None, float | None]],
    *,
    unit: str,
    legend: tuple[str, str] | None = None,
    percent: bool = False,
    width: int = 440,
) -> Markup:
    """Horizontal bars, this year dark and (when given) the year before light, on a labelled value axis.

    ``items``: (label, this year, year before); ``unit``: the axis title; ``legend``: the two series' names.
    """
    vals = [v for _, a, b in items for v in (a, b) if v is not None]
    ticks = _ticks(max(vals, default=1.0) or 1.0)
    top = ticks[-1]
    row, left, right = 28, 104, 48
    head = 24 if legend else 4
    plot_w = width - left - right
    h = head + row * len(items) + 44
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {h}" width="100%" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="{_FONT}">'
    ]
    if legend:
        parts.append(
            f'<rect x="{left}" y="6" width="12" height="12" fill="#2171b5"/>'
            f'<text x="{left + 16}" y="17">{escape(legend[0])}</text>'
            f'<rect x="{left + 120}" y="6" width="12" height="12" fill="#c6dbef"/>'
            f'<text x="{left + 136}" y="17">{escape(legend[1])}</text>'
        )
    base = head + row * len(items)
    for t in ticks:
        x = left + plot_w * t / top
        parts.append(
            f'<line x1="{x:.1f}" y1="{head}" x2="{x:.1f}" y2="{base}" stroke="#e0e0e0"/>'
            f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" font-size="11">{_num(t, percent)}</text>'
        )
    parts.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#666"/>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{base + 36}" text-anchor="middle" font-size="12">{escape(unit)}</text>'
    )
    for i, (label, now, prev) in enumerate(items):
        y = head + i * row
        parts.append(f'<text x="{left - 6}" y="{y + 17}" text-anchor="end">{escape(label)}</text>')
        if prev is not None:
            wp = plot_w * prev / top
            parts.append(
                f'<rect x="{left}" y="{y + 15}" width="{wp:.1f}" height="8" fill="#c6dbef">'
                f"<title>{escape(legend[1] if legend else '')} {_num(prev, percent)}</title></rect>"
            )
        if now is not None:
            wn = plot_w * now / top
            parts.append(
                f'<rect x="{left}" y="{y + 4}" width="{wn:.1f}" height="11" fill="#2171b5">'
                f"<title>{_num(now, percent)}</title></rect>"
                f'<text x="{left + wn + 4:.1f}" y="{y + 14}" font-size="11">{_num(now, percent)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_chart(
    trend: Iterable[Mapping[str, Any]],
    *,
    words: Mapping[str, str],
    partial: tuple[int, int] | None = None,
    width: int = 440,
    height: int = 250,
) -> Markup:
    """Monthly requests per 1,000 households, one line per year, on labelled axes with a legend of years.

    ``partial``: (year, month) still running — its point is drawn hollow, joined by a dashed line and
    named in a note. ``words``: ``unit`` (y axis), ``month`` (x axis), ``partial`` (the note), ``month_fmt``
    (``"{m}月"``)."""
    by_year: dict[int, dict[int, float]] = {}
    for r in trend:
        v = r.get("per_1000")
        if v is not None:
            by_year.setdefault(int(r["year"]), {})[int(r["month"])] = float(v)
    ticks = _ticks(max((v for m in by_year.values() for v in m.values()), default=1.0) or 1.0)
    top = ticks[-1]
    x0, y0 = 44, 34
    w, h = width - x0 - 12, height - y0 - 48
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{_FONT}">'
    ]
    for i, year in enumerate(sorted(by_year)):  # the legend, above the plot so it never clips
        c = _YEARS[i % len(_YEARS)]
        lx = x0 + i * 70
        parts.append(
            f'<line x1="{lx}" y1="12" x2="{lx + 18}" y2="12" stroke="{c}" stroke-width="3"/>'
            f'<text x="{lx + 22}" y="16">{year}</text>'
        )
    for t in ticks:
        y = y0 + h - h * t / top
        parts.append(
            f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_num(t, False)}</text>'
        )
    parts.append(
        f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + h}" stroke="#666"/>'
        f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" stroke="#666"/>'
        f'<text x="4" y="{y0 - 8}" font-size="11">{escape(words["unit"])}</text>'
    )
    fmt = words.get("month_fmt", "{m}")
    for m in range(1, 13):
        parts.append(
            f'<text x="{x0 + (m - 1) * w / 11:.1f}" y="{y0 + h + 16}" font-size="11" text-anchor="middle">'
            f"{escape(fmt.format(m=m))}</text>"
        )
    parts.append(
        f'<text x="{x0 + w / 2:.1f}" y="{y0 + h + 34}" text-anchor="middle" font-size="12">'
        f"{escape(words['month'])}</text>"
    )
    for i, (year, months) in enumerate(sorted(by_year.items())):
        c = _YEARS[i % len(_YEARS)]
        pts = [(m, x0 + (m - 1) * w / 11, y0 + h - h * v / top) for m, v in sorted(months.items())]
        full = [p for p in pts if (year, p[0]) != partial]
        line = " ".join(f"{x:.1f},{y:.1f}" for _, x, y in full)
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{line}"/>')
        for m, x, y in pts:
            if (year, m) == partial:
                if full:
                    parts.append(
                        f'<line x1="{full[-1][1]:.1f}" y1="{full[-1][2]:.1f}" x2="{x:.1f}" y2="{y:.1f}" '
                        f'stroke="{c}" stroke-width="2" stroke-dasharray="4 3"/>'
                    )
                parts.append(
                    f'<circle class="partial" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#fff" stroke="{c}" '
                    f'stroke-width="2"><title>{escape(words["partial"])}</title></circle>'
                )
    if partial is not None and partial[0] in by_year:
        parts.append(
            f'<text class="partial-note" x="{x0 + w}" y="16" text-anchor="end" font-size="11" fill="#555">'
            f"○ {escape(words['partial'])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
