"""What the maps show, for the pages, the map API and embeds; only non-personal columns leave here.

* :mod:`.layers` — layers as GeoJSON by viewport and zoom (``layer_geojson``, ``parse_bbox``, ``parse_zoom``);
* :mod:`.counts` — complaints counted per grid or community (public aggregates);
* :mod:`.grid` — one grid's figures and lists, the areas embeds show, the district's extent;
* :mod:`.search` — the search box;
* :mod:`.common` — the published plan's assignment, the caches, the complaint clock.

A building's, steward's or complaint's grid is derived from the published plan
(:func:`gridmap.services.plans.stored.published_plan_id`, ``plan_assignments``).
"""
