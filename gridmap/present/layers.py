"""The map layers the API serves and the pages draw: source layer, columns, zoom rules.

Shared by :mod:`gridmap.services.maps` (which reads them from the store) and :mod:`gridmap.present.render`
(which draws them); one definition for both.
"""

from __future__ import annotations

from dataclasses import dataclass

#: below this zoom complaints carry only what their popup shows (smaller responses for a whole district)
DETAIL_ZOOM = 16
LIGHT_COMPLAINT = ("id", "category", "state", "days_waiting", "overdue", "grid_code")
#: most features one layer request returns (the rest is reported as ``truncated``)
MAX_FEATURES = 25_000
#: complaints are sent as points from this zoom; below it as counts per grid, and per community below
#: :data:`GRID_COUNT_ZOOM` (a whole district's open complaints are too many points to send and cluster)
POINT_ZOOM = 15
GRID_COUNT_ZOOM = 12


@dataclass(frozen=True)
class LayerSpec:
    """One map layer: where it comes from, from which zoom it is drawn, which columns it shows."""

    name: str
    source: str
    columns: tuple[str, ...]
    min_zoom: int = 0
    #: add the published plan's grid code of the feature's building
    with_grid: bool = False


LAYERS: dict[str, LayerSpec] = {
    s.name: s
    for s in (
        LayerSpec("grids", "plan_grids", ("code", "community_id", "households", "buildings")),
        LayerSpec("streets", "streets", ("id", "name")),
        LayerSpec("communities", "communities", ("id", "name", "street_id")),
        LayerSpec("estates", "estates", ("id", "name", "community_id"), min_zoom=13),
        LayerSpec("buildings", "buildings", ("id", "name", "households", "floors"), min_zoom=15, with_grid=True),
        LayerSpec(
            "stewards", "stewards", ("id", "role", "building_id", "serves", "party_member"), min_zoom=14, with_grid=True
        ),
        LayerSpec(
            "complaints",
            "complaints",
            ("id", "category", "state", "created_at", "due_at", "building_id", "filed_grid_code", "department"),
            min_zoom=0,
            with_grid=True,
        ),
        LayerSpec("merchants", "merchants", ("id", "name", "category", "alliance"), min_zoom=14),
        LayerSpec(
            "volunteer_teams", "volunteer_teams", ("id", "name", "service", "members", "party_members"), min_zoom=13
        ),
        LayerSpec("facilities", "facilities", ("id", "name", "kind"), min_zoom=14),
    )
}
