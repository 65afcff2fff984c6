"""The map's search box: streets, communities, estates, buildings and grids in the forms people type.

* streets and communities by name, with or without 街道/镇/社区 (``城阳街道``, ``城阳``, ``恒珠社区``, ``恒珠``);
* estates by part of the name (``宁天``);
* buildings as estate + number, spaced or not, with or without 号/号楼/栋/幢 (``宁天家园12号楼``,
  ``宁天家园 12 号``, ``宁天家园12``) or by building id;
* grids by code prefix (4–15 digits), by short code (the 3-digit sequence, :func:`gridmap.domain.codes.short_code`)
  alone or after a community name (``恒珠 005``, ``恒珠社区5号网格``).

Full-width digits and spaces are read as ASCII. Each hit is ``{"kind", "id", "label", "bbox", "geometry"}``
(``url`` for grids; ``geometry`` simplified GeoJSON, for the map to outline the pick), best first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pandas as pd
import shapely
import shapely.geometry

from gridmap.domain.codes import community_of, short_code
from gridmap.errors import InvalidInput
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store

#: what people append to an area's name
_AREA_SUFFIX = re.compile(r"(街道办事处|街道办|街道|镇|社区居委会|居委会|社区|村)$")
#: "<name> <number> <unit>": a building of an estate, or a grid of a community
_NUMBERED = re.compile(r"^(?P<name>.*?\D)?\s*(?P<number>\d{1,4})\s*(?P<unit>号楼|号网格|网格|号|栋|幢|楼)?$")


def normalise(q: str) -> str:
    """Full-width digits, letters and spaces as ASCII, runs of spaces as one, trimmed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", q or "")).strip()


def search(store: Store, q: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Hits for the text ``q`` (see the module doc), at most ``limit``, best first."""
    q = normalise(q)
    if not q:
        return []
    if len(q) > 100:
        raise InvalidInput("search text is longer than 100 characters / 搜索文字超过 100 个字符")
    hits: list[tuple[int, dict[str, Any]]] = []  # (rank, hit): lower ranks first
    plan_id = published_plan_id(store)
    communities = store.read("communities", columns=["id", "name", "street_id", "geometry"])
    streets = store.read("streets", columns=["id", "name", "geometry"])
    street_names = dict(zip(streets["id"], streets["name"]))
    com_names = dict(zip(communities["id"], communities["name"]))
    compact = q.replace(" ", "")
    if compact.isdigit() and len(compact) >= 4 and plan_id:
        grids = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "geometry"])
        g = grids[grids["code"].astype(str).str.startswith(compact)].head(limit)
        hits += [(0, _grid_hit(c, geom, com_names)) for c, geom in zip(g["code"], g.geometry)]
    for kind, frame in (("street", streets), ("community", communities)):  # an area by its id
        for row in frame[frame["id"].astype(str) == compact].to_dict("records"):
            hits.append((-1, _hit(kind, row["id"], row["name"], row["geometry"])))
    # streets and communities by name
    for kind, frame, context in (
        ("street", streets, lambda r: ""),
        ("community", communities, lambda r: street_names.get(r["street_id"], "")),
    ):
        for rank, row in _by_name(frame, compact, area=True):
            label = row["name"] + (f" · {context(row)}" if context(row) else "")
            hits.append((rank + 1, _hit(kind, row["id"], label, row["geometry"])))
    estates = store.read("estates", columns=["id", "name", "community_id", "geometry"])
    m = _NUMBERED.match(q)
    if m and plan_id:  # a grid by short code, alone or after a community's name
        name, number, unit = (m["name"] or "").strip(), int(m["number"]), m["unit"] or ""
        coms = [r["id"] for _, r in _by_name(communities, name.replace(" ", ""), area=True)] if name else None
        if (coms or name == "") and (unit.endswith("网格") or not name or not _by_name(estates, name, area=False)):
            hits += [(0 if name else 3, h) for h in _grids_by_sequence(store, plan_id, number, coms, com_names, limit)]
    whole_is_estate = bool(_by_name(estates, compact, area=False))
    spelled = bool(m and (m["unit"] or " " in q))  # "宁天家园 12", "宁天家园12号楼": a number, not part of a name
    if m and m["name"] and (spelled or not whole_is_estate):  # a building: estate + number
        estate_name, house = m["name"].strip(), str(int(m["number"]))
        match = [row for _, row in _by_name(estates, estate_name.replace(" ", ""), area=False)][:50]
        if match:
            blds = store.read(
                "buildings",
                where={"estate_id": [r["id"] for r in match], "name": house},
                columns=["id", "name", "estate_id", "geometry"],
            )
            names = {r["id"]: r["name"] for r in match}
            hits += [
                (0, _hit("building", b, f"{names.get(e, '')} {n}号楼", geom))
                for b, n, e, geom in zip(blds["id"], blds["name"], blds["estate_id"], blds.geometry)
            ]
    for rank, row in _by_name(estates, compact, area=False):
        label = row["name"] + (f" · {com_names[row['community_id']]}" if row["community_id"] in com_names else "")
        hits.append((rank + 2, _hit("estate", row["id"], label, row["geometry"])))
    b = store.get("buildings", q)
    if b is not None:
        hits.append((0, _hit("building", q, q, b["geometry"])))
    out, seen = [], set()
    for _, h in sorted(hits, key=lambda x: x[0]):
        if (h["kind"], h["id"]) not in seen:
            seen.add((h["kind"], h["id"]))
            out.append(h)
    return out[:limit]


def _by_name(frame: pd.DataFrame, text: str, *, area: bool) -> list[tuple[int, dict[str, Any]]]:
    """Rows whose name is ``text`` (rank 0), starts with it or its stem without 社区/街道 (1), or contains
    it (2); ``area``: names compared without their suffix too."""
    if not text or frame.empty:
        return []
    stem = _AREA_SUFFIX.sub("", text) if area else text
    if not stem:
        return []
    out = []
    for row in frame.to_dict("records"):
        name = str(row["name"] or "").replace(" ", "")
        bare = _AREA_SUFFIX.sub("", name) if area else name
        if name == text or bare == stem:
            out.append((0, row))
        elif bare.startswith(stem):
            out.append((1, row))
        elif stem in name and len(stem) >= 2:
            out.append((2, row))
    return sorted(out, key=lambda x: x[0])


def _grids_by_sequence(
    store: Store, plan_id: str, number: int, communities: list[str] | None, com_names: dict, limit: int
) -> list[dict[str, Any]]:
    grids = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "geometry"])
    want = f"{number:03d}"
    out = []
    for code, geom in zip(grids["code"].astype(str), grids.geometry):
        if short_code(code) == want and (communities is None or community_of(code) in communities):
            out.append(_grid_hit(code, geom, com_names))
    return out[:limit]


def _grid_hit(code: str, geom: Any, com_names: dict) -> dict[str, Any]:
    com = com_names.get(community_of(code), "")
    hit = _hit("grid", code, f"{com} {short_code(code)} · {code}".strip(), geom)
    hit["url"] = f"/grids/{code}"
    return hit


def _hit(kind: str, id_: str, label: str, geom: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "id": str(id_), "label": label, "bbox": None, "geometry": None}
    if geom is not None and not shapely.is_empty(geom):
        out["bbox"] = _bbox(geom)
        out["geometry"] = shapely.geometry.mapping(shapely.simplify(geom, 0.00003, preserve_topology=True))
    return out


def _bbox(geom: shapely.Geometry) -> list[float]:
    return [round(float(v), 6) for v in shapely.bounds(geom)]
