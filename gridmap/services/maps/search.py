"""The map's search box: grids by code (prefix), estates by name, buildings as "estate name + number" or
by id."""

from __future__ import annotations

from typing import Any

import shapely

from gridmap.errors import InvalidInput
from gridmap.services.plans.stored import published_plan_id
from gridmap.store.base import Store


# -- search --------------------------------------------------------------------------------------------
def search(store: Store, q: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Grids by code (prefix), estates by name, buildings as "estate name + number" or by id.

    Each hit: ``{"kind", "id", "label", "bbox", "url"}`` (url only for grids).
    """
    q = (q or "").strip()
    if not q:
        return []
    if len(q) > 100:
        raise InvalidInput("search text is longer than 100 characters")
    hits: list[dict[str, Any]] = []
    plan_id = published_plan_id(store)
    if q.isdigit() and plan_id:
        grids = store.read("plan_grids", where={"plan_id": plan_id}, columns=["code", "geometry"])
        g = grids[grids["code"].astype(str).str.startswith(q)].head(limit)
        hits += [
            {"kind": "grid", "id": c, "label": c, "bbox": _bbox(geom), "url": f"/grids/{c}"}
            for c, geom in zip(g["code"], g.geometry)
        ]
    estates = store.read("estates", columns=["id", "name", "geometry"])
    words = q.split()
    est_q = words[0] if len(words) > 1 else q
    number = words[-1].rstrip("号楼栋") if len(words) > 1 else None
    match = estates[estates["name"].astype(str).str.contains(est_q, regex=False)]
    if number and len(match):
        blds = store.read(
            "buildings",
            where={"estate_id": match["id"].tolist()[:50], "name": number},
            columns=["id", "name", "estate_id", "geometry"],
        )
        names = dict(zip(match["id"], match["name"]))
        hits += [
            {"kind": "building", "id": b, "label": f"{names.get(e, '')} {n}号楼", "bbox": _bbox(geom)}
            for b, n, e, geom in zip(blds["id"], blds["name"], blds["estate_id"], blds.geometry)
        ]
    if not number:
        hits += [
            {"kind": "estate", "id": e, "label": n, "bbox": _bbox(geom)}
            for e, n, geom in zip(match["id"], match["name"], match.geometry)
        ][:limit]
    b = store.get("buildings", q)
    if b is not None:
        hits.append({"kind": "building", "id": q, "label": f"{q}", "bbox": _bbox(b["geometry"])})
    return hits[:limit]


def _bbox(geom: shapely.Geometry) -> list[float]:
    return [round(float(v), 6) for v in shapely.bounds(geom)]
