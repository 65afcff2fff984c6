"""A hand-built OpenStreetMap file over a tiny world: two residential streets cross one community (one between
building columns 2 and 3, one between rows 2 and 3), plus lines the importer must leave out or cut."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from pyproj import Transformer

from gridmap.synth.tiny import METRIC_CRS, ORIGIN_M

SIZE, GAP, MARGIN = 30.0, 20.0, 15.0
PITCH = SIZE + GAP


def street_x(col: int) -> float:
    """Metric x of the street running north–south in the gap east of building column ``col``."""
    return ORIGIN_M[0] + MARGIN + (col + 1) * PITCH - GAP / 2


def street_y(row_from_south: int) -> float:
    """Metric y of the street running west–east in the gap north of the ``row_from_south``-th row."""
    return ORIGIN_M[1] + MARGIN + (row_from_south + 1) * PITCH - GAP / 2


def write_osm(path: Path, *, rows: int = 6, cols: int = 6) -> Path:
    """Write the .osm XML: ways (id, tags, metric points); returns ``path``."""
    t = Transformer.from_crs(METRIC_CRS, 4326, always_xy=True)
    x0, y0 = ORIGIN_M
    w = 2 * MARGIN + cols * PITCH - GAP
    h = 2 * MARGIN + rows * PITCH - GAP
    ways = [
        (101, {"highway": "residential", "name": "幸福路"}, [(street_x(2), y0 - 200), (street_x(2), y0 + h + 200)]),
        (102, {"highway": "residential", "name": "和平街"}, [(x0 - 200, street_y(2)), (x0 + w + 200, street_y(2))]),
        # a footpath through the buildings' gaps: not a barrier by default
        (103, {"highway": "footway"}, [(street_x(0), y0 - 50), (street_x(0), y0 + h + 50)]),
        # a river wholly outside the district: clipped away
        (104, {"waterway": "river", "name": "墨水河"}, [(x0 - 900, y0 - 900), (x0 - 600, y0 + h + 900)]),
        # a wall along the south edge inside the community
        (105, {"barrier": "wall"}, [(x0 + 5, y0 + 5), (x0 + w - 5, y0 + 5)]),
        # a building outline: not a line the importer keeps
        (106, {"building": "yes"}, [(x0 + 20, y0 + 20), (x0 + 40, y0 + 20), (x0 + 40, y0 + 40), (x0 + 20, y0 + 20)]),
    ]
    nodes, out_ways, nid = [], [], 1
    for wid, tags, pts in ways:
        refs = []
        for x, y in pts:
            lon, lat = t.transform(x, y)
            nodes.append(f'  <node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
            refs.append(nid)
            nid += 1
        if tags.get("building"):
            refs[-1] = refs[0]  # closed ring
        body = "".join(f'<nd ref="{r}"/>' for r in refs) + "".join(
            f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()
        )
        out_ways.append(f'  <way id="{wid}" version="1">{body}</way>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="gridmap tests">\n'
        + "\n".join(nodes + out_ways)
        + "\n</osm>\n",
        encoding="utf-8",
    )
    return path
