"""Browser libraries served by the app itself, and folium rewritten to use them (no CDN, ever).

* ``/vendor/leaflet/<version>/…`` and ``/vendor/markercluster/<version>/…`` serve the files of the installed
  ``xstatic-leaflet`` and ``xstatic-leaflet-markercluster`` packages; ``/static/vendor/…`` holds the
  copies listed in ``gridmap/static/vendor/README.md`` (jQuery, Bootstrap, awesome-markers, Font Awesome,
  Leaflet.heat). Versioned URLs are sent with a one-year ``Cache-Control``.
* :func:`localize_folium` rewrites folium's ``default_js``/``default_css`` (the map and every plugin class
  gridmap uses) to those local URLs; :func:`external_urls` finds any URL that is still not local.
* The app's own files under ``/static/`` are **fingerprinted**: every URL the app writes for one
  (``url_for('static', …)``, folium's and gridmap's map elements) carries ``?v=`` and the first 12 hex digits of
  the file's SHA-256 (:func:`static_url`). A request whose ``v`` is the file's digest is answered with
  ``Cache-Control: public, max-age=31536000, immutable`` — a phone loads it once per release, not once per page —
  and any other (no ``v``, or an old page's) with ``no-cache`` and an ETag, as before.
* The configured basemap's origin is added to the CSP's image sources (``CSP_EXTRA_SOURCES``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import folium
from flask import Blueprint, Flask, Response, abort, request, send_from_directory
from flask.blueprints import BlueprintSetupState
from folium import plugins

from gridmap.errors import ConfigError
from gridmap.present import render
from gridmap.resources import resource_path
from gridmap.web.access import allow

bp = Blueprint("assets", __name__)


@bp.record_once
def _on_register(state: BlueprintSetupState) -> None:
    if not isinstance(state.app, Flask):  # Flask types the setup state's app as its sans-IO base
        raise TypeError(f"gridmap's assets need a Flask app, not {type(state.app).__name__}")
    init_app(state.app)


YEAR = 365 * 24 * 3600


def _xstatic(name: str) -> tuple[str, Path]:
    mod = import_module(f"xstatic.pkg.{name}")
    return str(mod.VERSION), Path(mod.BASE_DIR)


PACKAGES = {"leaflet": "leaflet", "markercluster": "leaflet_markercluster"}


@bp.get("/vendor/<package>/<version>/<path:filename>")
@allow("public")
def vendor(package: str, version: str, filename: str):
    """A file of an installed xstatic package, cacheable for a year (the URL carries the version)."""
    if package not in PACKAGES:
        abort(404)
    have, base = _xstatic(PACKAGES[package])
    if version != have:
        abort(404)
    return send_from_directory(base, filename, max_age=YEAR)


def vendor_url(package: str, filename: str) -> str:
    """The versioned URL of an installed xstatic package's file (templates: ``{{ vendor_url('leaflet',
    'leaflet.js') }}``)."""
    version, _ = _xstatic(PACKAGES[package])
    return f"/vendor/{package}/{version}/{filename}"


# -- the app's own static files, fingerprinted ------------------------------------------------------------
STATIC = "/static/"


@lru_cache(maxsize=1024)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def static_version(filename: str) -> str | None:
    """The first 12 hex digits of the SHA-256 of ``gridmap/static/<filename>`` (None: no such file). Read once
    per file and change: a file edited under a running server gets a new digest."""
    base = resource_path("static", package=True).resolve()
    path = (base / filename).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    st = path.stat()
    return _digest(str(path), st.st_mtime_ns, st.st_size)


def static_url(filename: str) -> str:
    """``/static/<filename>?v=<digest>`` (without ``?v=`` for a file that does not exist)."""
    v = static_version(filename)
    return f"{STATIC}{filename}" + (f"?v={v}" if v else "")


def _version_static_urls(endpoint: str, values: dict[str, Any]) -> None:
    """``url_for('static', filename=…)`` → the fingerprinted URL."""
    if endpoint == "static" and "filename" in values and "v" not in values:
        v = static_version(str(values["filename"]))
        if v:
            values["v"] = v


def _cache_fingerprinted(resp: Response) -> Response:
    """A static file asked for by its current digest may be kept for a year; anything else revalidates."""
    if request.endpoint == "static" and resp.status_code in (200, 304):
        v = request.args.get("v")
        if v and v == static_version(str((request.view_args or {}).get("filename", ""))):
            resp.cache_control.no_cache = None
            resp.cache_control.public = True
            resp.cache_control.max_age = YEAR
            resp.cache_control.immutable = True
    return resp


_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)""")


def _local_file(url: str) -> Path | None:
    """The file behind one of the app's own URLs (``/static/…`` or ``/vendor/<package>/<version>/…``)."""
    path = urlsplit(url).path
    if path.startswith(STATIC):
        base = resource_path("static", package=True).resolve()
        rel = path[len(STATIC) :]
    elif path.startswith("/vendor/"):
        parts = path.split("/", 4)  # "", "vendor", package, version, file
        if len(parts) < 5 or parts[2] not in PACKAGES or parts[3] != _xstatic(PACKAGES[parts[2]])[0]:
            return None
        base, rel = _xstatic(PACKAGES[parts[2]])[1].resolve(), parts[4]
    else:
        return None
    f = (base / rel).resolve()
    return f if f.is_relative_to(base) and f.is_file() else None


def css_images(url: str) -> list[str]:
    """The same-origin files a style sheet of the app refers to with ``url(…)`` (Leaflet's control icons …),
    as the browser asks for them (resolved against the sheet's URL); ``data:`` URIs are not files."""
    f = _local_file(url) if url.endswith(".css") or ".css?" in url else None
    if f is None:
        return []
    out: list[str] = []
    for ref in _CSS_URL.findall(f.read_text(encoding="utf-8", errors="replace")):
        if ref.startswith(("data:", "#")) or "//" in ref:
            continue
        full = urljoin(url, ref)
        if _local_file(full) is not None and full not in out:
            out.append(full)
    return out


def local_assets() -> dict[str, str]:
    """folium's asset names → local URL paths."""
    s = "/static/vendor"
    return {
        # folium.Map
        "leaflet": vendor_url("leaflet", "leaflet.js"),
        "leaflet_css": vendor_url("leaflet", "leaflet.css"),
        "jquery": f"{s}/jquery-3.7.1/jquery.min.js",
        "bootstrap": f"{s}/bootstrap-5.2.2/js/bootstrap.bundle.min.js",
        "bootstrap_css": f"{s}/bootstrap-5.2.2/css/bootstrap.min.css",
        "awesome_markers": f"{s}/awesome-markers-2.0.5/leaflet.awesome-markers.min.js",
        "awesome_markers_css": f"{s}/awesome-markers-2.0.5/leaflet.awesome-markers.css",
        "awesome_markers_font_css": f"{s}/fontawesome-6.2.0/css/all.min.css",
        "awesome_rotate_css": f"{s}/folium/leaflet.awesome.rotate.css",
        # folium.plugins
        "markerclusterjs": vendor_url("markercluster", "leaflet.markercluster.js"),
        "markerclustercss": vendor_url("markercluster", "MarkerCluster.css"),
        "markerclusterdefaultcss": vendor_url("markercluster", "MarkerCluster.Default.css"),
        "leaflet-heat.js": f"{s}/leaflet-heat/leaflet_heat.min.js",
    }


#: folium assets gridmap does not ship (its pages use none of them)
DROPPED = frozenset({"glyphicons_css"})


class OfflineAssetError(ConfigError):
    """A folium element wants a file from the internet that gridmap does not serve."""


def _rewrite(pairs: Iterable[tuple[str, str]], where: str) -> list[tuple[str, str]]:
    local = local_assets()
    out = []
    for name, url in pairs:
        if name in DROPPED:
            continue
        if name in local:
            url = local[name]
        if url.startswith(STATIC):  # the app's own file: by its fingerprint (again, if it was versioned before)
            out.append((name, static_url(url[len(STATIC) :].split("?", 1)[0])))
        elif url.startswith("/"):
            out.append((name, url))
        else:
            raise OfflineAssetError(f"{where}: no local copy of {name} ({url}); add it to gridmap/static/vendor")
    return out


def localize_folium() -> None:
    """Point folium's map, the plugins gridmap uses and gridmap's own map elements at the local copies, the
    app's own files by their fingerprints (idempotent)."""
    classes: list[Any] = [
        folium.Map,
        folium.GeoJson,
        folium.Marker,
        folium.Icon,
        folium.LayerControl,
        folium.FeatureGroup,
        plugins.MarkerCluster,
        plugins.FastMarkerCluster,
        plugins.HeatMap,
        render.ApiSource,
        render.VectorTileAssets,
        render.MapControls,
    ]
    for cls in classes:
        for attr in ("default_js", "default_css"):
            pairs = cls.__dict__.get(attr)
            if pairs:
                setattr(cls, attr, _rewrite(pairs, f"{cls.__name__}.{attr}"))


_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.\-]+(?::\d+)?[^\s"'<>)]*""")


def external_urls(html: str, *, allowed: Iterable[str] = ()) -> list[str]:
    """Every absolute ``http(s)://`` or protocol-relative URL in ``html`` not starting with one of ``allowed``
    (XML namespace URIs such as ``http://www.w3.org/2000/svg`` are not fetched and are ignored)."""
    allowed = tuple(a for a in allowed if a)
    found = []
    for m in _URL.finditer(html):
        url = m.group(0)
        if url.startswith(("http://www.w3.org/",)) or (allowed and url.startswith(allowed)):
            continue
        if url.startswith("//") and not re.match(r"//[A-Za-z0-9\-]+\.[A-Za-z]", url):
            continue  # a JavaScript comment, not a URL
        found.append(url)
    return found


# -- basemaps ----------------------------------------------------------------------------------------
TIANDITU = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk={key}"
)
AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


class BasemapError(ConfigError):
    """The basemap settings do not describe a usable basemap."""


def basemap_layers(config: dict[str, Any], choice: str | None = None) -> list[dict[str, Any]]:
    """Tile layers of the configured basemap (``choice`` may pick ``none`` instead): dicts with ``url``,
    ``attribution``, ``subdomains``, ``name``; an empty list for ``none``."""
    kind = (config.get("BASEMAP") or "none").lower()
    if choice == "none":
        return []
    if kind == "none":
        return []
    if kind == "xyz":
        url = config.get("BASEMAP_URL") or ""
        if not url.startswith(("http://", "https://", "/")):
            raise BasemapError("BASEMAP=xyz needs BASEMAP_URL, e.g. https://tiles.example.gov.cn/{z}/{x}/{y}.png")
        return [
            {
                "url": url,
                "attribution": config.get("BASEMAP_ATTRIBUTION") or "basemap",
                "subdomains": "abc",
                "name": "底图",
            }
        ]
    if kind == "tianditu":
        key = config.get("TIANDITU_KEY") or ""
        if not key:
            raise BasemapError("BASEMAP=tianditu needs TIANDITU_KEY (a 天地图 key)")
        attribution = config.get("BASEMAP_ATTRIBUTION") or "天地图 GS(2024)0568号"
        return [
            {
                "url": TIANDITU.format(s="{s}", layer=layer, z="{z}", x="{x}", y="{y}", key=key),
                "attribution": attribution,
                "subdomains": "01234567",
                "name": name,
            }
            for layer, name in (("vec", "天地图"), ("cva", "天地图注记"))
        ]
    if kind == "amap":
        return [
            {
                "url": AMAP,
                "attribution": config.get("BASEMAP_ATTRIBUTION") or "© 高德地图",
                "subdomains": "1234",
                "name": "高德地图",
            }
        ]
    raise BasemapError(f"BASEMAP={kind!r}: use none, xyz, tianditu or amap")


def basemap_shift(config: dict[str, Any]) -> str | None:
    """``"gcj02"`` when the basemap's tiles are in GCJ-02 (AMap), so overlays must be shifted."""
    return "gcj02" if (config.get("BASEMAP") or "none").lower() == "amap" else None


def basemap_origins(config: dict[str, Any]) -> list[str]:
    """Origins (``https://host``) the basemap's tiles come from, one per subdomain."""
    out: list[str] = []
    for layer in basemap_layers(config):
        url = layer["url"]
        if url.startswith("/"):
            continue
        subs = layer["subdomains"] if "{s}" in url else " "
        for s in subs:
            parts = urlsplit(url.replace("{s}", s.strip()))
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in out:
                out.append(origin)
    return out


def init_app(app: Flask) -> None:
    """Rewrite folium to local files, fingerprint the app's static URLs, offer ``vendor_url`` to templates, let
    the basemap's tiles through the CSP."""
    localize_folium()
    app.jinja_env.globals.setdefault("vendor_url", vendor_url)
    app.url_defaults(_version_static_urls)
    app.after_request(_cache_fingerprinted)
    origins = basemap_origins(app.config)
    if origins:
        extra = (app.config.get("CSP_EXTRA_SOURCES") or "").split()
        app.config["CSP_EXTRA_SOURCES"] = " ".join(extra + [o for o in origins if o not in extra])
