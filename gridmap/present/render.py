"""Folium maps whose layers load from the JSON API by viewport and zoom (no GeoJSON inlined in the page).

Each layer function takes a :class:`folium.Map` and returns it: it adds a named container (a feature
group, a marker cluster or a heat map, so the layer control lists it) and an :class:`ApiSource` that tells
``/static/js/gridmap.js`` where to fetch the layer's features (``/api/layers/<layer>?bbox=…&zoom=…``) on
every ``moveend``. :func:`page_parts` splits a map into the pieces a Jinja page puts in its head and body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import Figure, MacroElement
from folium import plugins
from folium.elements import JSCSSMixin
from jinja2 import Template

from gridmap.present.layers import GRID_COUNT_ZOOM, POINT_ZOOM
from gridmap.present.layers import LAYERS as API_LAYERS

#: every layer a map can show, in drawing order (bottom first), with its container kind
LAYER_ORDER = (
    "streets",
    "communities",
    "estates",
    "grids",
    "buildings",
    "merchants",
    "volunteer_teams",
    "stewards",
    "complaints",
    "heatmap",
)


@dataclass(frozen=True)
class MapOptions:
    """What a map shows and how: the page's language strings live in the page, not here."""

    layers: Sequence[str] = LAYER_ORDER
    #: ``[minx, miny, maxx, maxy]`` to fit at first
    bounds: Sequence[float] | None = None
    #: tile layers (see :func:`gridmap.web.assets.basemap_layers`); empty: no basemap
    basemaps: Sequence[Mapping[str, Any]] = ()
    #: ``"gcj02"`` when overlays must be shifted onto GCJ-02 tiles
    shift: str | None = None
    #: grid code to highlight (grid page, grid embed)
    focus: str | None = None
    #: a click on a grid or building posts ``gridmap:select`` to ``window.parent`` (embeds)
    select_origin: str | None = None
    #: a street, community or grid code: the map fetches, shows and selects only what lies inside it (the area
    #: of a community or street embed; the layer API's ``area=``)
    area: str | None = None
    #: layers hidden at first (still in the layer control)
    hidden: Sequence[str] = ()
    api: str = "/api"
    #: vector tile URL templates per layer (``{"buildings": "/tiles/buildings/{z}/{x}/{y}.pbf"}``): the layer
    #: is drawn from tiles between ``tile_zooms`` (inclusive), below its GeoJSON ``min_zoom``
    tiles: Mapping[str, str] = field(default_factory=dict)
    tile_zooms: tuple[int, int] = (13, 14)
    link_grids: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)


class ApiSource(JSCSSMixin, MacroElement):
    """Connects a folium container to ``gridmap.register`` in ``/static/js/gridmap.js``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.register({{ this._parent.get_name() }}, {{ this.container.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
    """)
    default_js = [("gridmap_js", "/static/js/gridmap.js")]
    default_css = [("gridmap_css", "/static/css/gridmap.css")]

    def __init__(self, container: Any, options: Mapping[str, Any]):
        super().__init__()
        self._name = "ApiSource"
        self.container = container
        self.options = dict(options)


class VectorTileAssets(JSCSSMixin, MacroElement):
    """Loads Leaflet.VectorGrid (vendored under ``/static/vendor``) for layers drawn from vector tiles."""

    _template = Template("")
    default_js = [("leaflet_vectorgrid", "/static/vendor/leaflet-vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js")]


class ClusterAssets(JSCSSMixin, MacroElement):
    """Loads Leaflet.markercluster (folium's MarkerCluster assets, localised by ``gridmap.web.assets``)."""

    _template = Template("")

    def __init__(self):
        super().__init__()
        self._name = "ClusterAssets"
        self.default_js = list(plugins.MarkerCluster.default_js)
        self.default_css = list(plugins.MarkerCluster.default_css)


class MapControls(JSCSSMixin, MacroElement):
    """Search box, legend, status line, "locate me" and the map-wide options, drawn by gridmap.js."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        gridmap.controls({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
    """)
    default_js = [("gridmap_js", "/static/js/gridmap.js")]
    default_css = [("gridmap_css", "/static/css/gridmap.css")]

    def __init__(self, options: Mapping[str, Any]):
        super().__init__()
        self._name = "MapControls"
        self.options = dict(options)


# -- the map ------------------------------------------------------------------------------------------
def base_map(opts: MapOptions) -> folium.Map:
    """An empty map (no basemap unless configured) fitted to ``opts.bounds``."""
    m = folium.Map(
        location=None,
        tiles=None,
        zoom_start=12,
        control_scale=True,
        prefer_canvas=True,
        zoom_control=True,
        maxZoom=19,
        minZoom=6,
    )
    # gridmap's pages need only Leaflet itself of folium's defaults (no jQuery, Bootstrap, awesome-markers)
    m.default_js = [(k, v) for k, v in folium.Map.default_js if k == "leaflet"]
    m.default_css = [(k, v) for k, v in folium.Map.default_css if k == "leaflet_css"]
    for i, b in enumerate(opts.basemaps):
        folium.TileLayer(
            tiles=b["url"],
            attr=b["attribution"],
            name=b["name"],
            subdomains=b["subdomains"],
            max_zoom=19,
            max_native_zoom=18,
            overlay=i > 0,
            control=True,
        ).add_to(m)
    if opts.bounds:
        minx, miny, maxx, maxy = opts.bounds
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def _source(
    m: folium.Map,
    container: Any,
    layer: str,
    opts: MapOptions,
    *,
    mode: str,
    api_layer: str | None = None,
    **extra: Any,
) -> folium.Map:
    api_layer = api_layer or layer
    spec = API_LAYERS[api_layer]
    options = {
        "layer": layer,
        "api_layer": api_layer,
        "url": f"{opts.api}/layers/{api_layer}",
        "minZoom": spec.min_zoom,
        "mode": mode,
        "shift": opts.shift,
        "focus": opts.focus,
        "select": opts.select_origin is not None,
        "area": opts.area,
        "linkGrids": opts.link_grids,
        **extra,
    }
    container.add_to(m)
    ApiSource(container, options).add_to(m)
    return m


def _group(name: str, opts: MapOptions, layer: str) -> folium.FeatureGroup:
    return folium.FeatureGroup(name=name, show=layer not in opts.hidden)


def streets_layer(m: folium.Map, opts: MapOptions, *, name: str = "街道") -> folium.Map:
    """Street boundaries with their names as labels."""
    return _source(m, _group(name, opts, "streets"), "streets", opts, mode="polygon")


def communities_layer(m: folium.Map, opts: MapOptions, *, name: str = "社区") -> folium.Map:
    """Community boundaries with their names as labels."""
    return _source(m, _group(name, opts, "communities"), "communities", opts, mode="polygon")


def estates_layer(m: folium.Map, opts: MapOptions, *, name: str = "小区") -> folium.Map:
    """Estate boundaries (from zoom 13)."""
    return _source(m, _group(name, opts, "estates"), "estates", opts, mode="polygon")


def grids_layer(m: folium.Map, opts: MapOptions, *, name: str = "网格") -> folium.Map:
    """Grids coloured by households against their community's [min, max]; click for the figures."""
    return _source(m, _group(name, opts, "grids"), "grids", opts, mode="polygon")


def buildings_layer(m: folium.Map, opts: MapOptions, *, name: str = "楼栋") -> folium.Map:
    """Buildings with their households: GeoJSON from zoom 15, from vector tiles at ``opts.tile_zooms`` when
    ``opts.tiles`` has a ``buildings`` URL. A map with a focus grid takes only that grid's buildings as
    GeoJSON (clickable, labelled) and every other building from the tiles at every zoom from 13."""
    url = opts.tiles.get("buildings")
    focus_only = bool(url and opts.focus)
    tiles = None
    if url:
        tiles = {"url": url, "minZoom": opts.tile_zooms[0], "maxZoom": 19 if focus_only else opts.tile_zooms[1]}
        VectorTileAssets().add_to(m)
    return _source(
        m, _group(name, opts, "buildings"), "buildings", opts, mode="polygon", tiles=tiles, focusOnly=focus_only
    )


def stewards_layer(m: folium.Map, opts: MapOptions, *, name: str = "红色管家") -> folium.Map:
    """Stewards with one icon per role (网 楼 党 物 志)."""
    return _source(m, _group(name, opts, "stewards"), "stewards", opts, mode="points")


def merchants_layer(m: folium.Map, opts: MapOptions, *, name: str = "商户") -> folium.Map:
    return _source(m, _group(name, opts, "merchants"), "merchants", opts, mode="points")


def volunteer_teams_layer(m: folium.Map, opts: MapOptions, *, name: str = "志愿服务队") -> folium.Map:
    return _source(m, _group(name, opts, "volunteer_teams"), "volunteer_teams", opts, mode="points")


def complaints_layer(m: folium.Map, opts: MapOptions, *, name: str = "诉求") -> folium.Map:
    """Open complaints: below zoom 15 the server's counts per community (below 12) or grid, drawn as sized
    bubbles ("<5" for small counts); from zoom 15 the points in view, clustered (Leaflet.markercluster)."""
    ClusterAssets().add_to(m)
    return _source(
        m,
        _group(name, opts, "complaints"),
        "complaints",
        opts,
        mode="cluster",
        cluster={"chunkedLoading": True, "maxClusterRadius": 50, "disableClusteringAtZoom": 18},
        aggregate={"grid": GRID_COUNT_ZOOM, "points": POINT_ZOOM},
    )


def heatmap_layer(m: folium.Map, opts: MapOptions, *, name: str = "诉求热力") -> folium.Map:
    """Open complaints as a heat map (folium's HeatMap plugin, served locally)."""
    heat = plugins.HeatMap(
        [], name=name, show="heatmap" not in opts.hidden, radius=18, blur=15, min_opacity=0.35, max_zoom=17
    )
    return _source(
        m,
        heat,
        "heatmap",
        opts,
        mode="heat",
        api_layer="complaints",
        aggregate={"grid": GRID_COUNT_ZOOM, "points": POINT_ZOOM},
    )


ADDERS = {
    "streets": streets_layer,
    "communities": communities_layer,
    "estates": estates_layer,
    "grids": grids_layer,
    "buildings": buildings_layer,
    "stewards": stewards_layer,
    "merchants": merchants_layer,
    "volunteer_teams": volunteer_teams_layer,
    "complaints": complaints_layer,
    "heatmap": heatmap_layer,
}


def build_map(
    opts: MapOptions, *, names: Mapping[str, str] | None = None, controls: Mapping[str, Any] | None = None
) -> folium.Map:
    """A map with ``opts.layers`` (in :data:`LAYER_ORDER`), a layer control and gridmap's controls.

    ``names``: display name per layer (the page's language); ``controls``: options for
    :class:`MapControls` (search, legend, locate, strings).
    """
    names = dict(names or {})
    m = base_map(opts)
    unknown = [x for x in opts.layers if x not in ADDERS]
    if unknown:
        raise ValueError(f"unknown map layers {unknown}; layers are {', '.join(LAYER_ORDER)}")
    for layer in LAYER_ORDER:
        if layer in opts.layers:
            kwargs = {"name": names[layer]} if layer in names else {}
            ADDERS[layer](m, opts, **kwargs)
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    MapControls(
        dict(
            controls or {},
            focus=opts.focus,
            selectOrigin=opts.select_origin,
            area=opts.area,
            api=opts.api,
            **opts.extra,
        )
    ).add_to(m)
    return m


def asset_urls(m: folium.Map) -> list[str]:
    """Every script and style sheet URL the page of map ``m`` loads (its elements' ``default_js`` and
    ``default_css``, as folium writes them in the page's head), in order, each once."""
    out: list[str] = []

    def walk(element: Any) -> None:
        for attr in ("default_js", "default_css"):
            for _name, url in getattr(element, attr, None) or ():
                if url not in out:
                    out.append(url)
        for child in element._children.values():
            walk(child)

    walk(m)
    return out


#: folium's own viewport line (``maximum-scale=1.0, user-scalable=no``): a page has its own, which lets people zoom
_FOLIUM_VIEWPORT = re.compile(r"""<meta\s+name=["']viewport["'][^>]*>""", re.IGNORECASE)


def page_parts(m: folium.Map) -> dict[str, str]:
    """``{"head", "body", "script", "name"}`` of a map for a Jinja page (nonce the scripts before use).

    The head leaves out folium's viewport meta: the page's layout has the one viewport, and folium's forbids
    pinch-zoom (``user-scalable=no``), which residents who need larger text rely on."""
    root = m.get_root()
    if not isinstance(root, Figure):
        raise TypeError(f"the map's root is a {type(root).__name__}, not a page (branca Figure)")
    root.render()
    return {
        "head": _FOLIUM_VIEWPORT.sub("", root.header.render()),
        "body": root.html.render(),
        "script": "<script>\n" + root.script.render() + "\n</script>",
        "name": m.get_name(),
    }
