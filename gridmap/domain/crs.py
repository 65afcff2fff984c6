"""Coordinate reference systems offered by OGC API – Features Part 2 (CRS by reference), as data and pure functions.

Data are stored in CRS84 (longitude, latitude; the store's EPSG:4326 columns hold lon/lat). A client may ask for
WGS 84 by EPSG code (EPSG:4326: **latitude, longitude** as the EPSG definition orders its axes), CGCS2000
(EPSG:4490, also latitude first), its 3° Gauss–Krüger zones with the central meridian in the name
(EPSG:4534 CM 75°E … EPSG:4554 CM 135°E; EPSG:4549 is CM 120°E, Qingdao's; their axes are northing X then
easting Y) and Web Mercator (EPSG:3857, easting then northing). Coordinates always follow the axis order of the
CRS's definition, as the standard says; only CRS84 is longitude first.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

from gridmap.errors import InvalidInput

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84H = "http://www.opengis.net/def/crs/OGC/0/CRS84h"
EPSG_PREFIX = "http://www.opengis.net/def/crs/EPSG/0/"
WGS84, CGCS2000, WEB_MERCATOR = 4326, 4490, 3857
#: EPSG codes of the CGCS2000 3-degree Gauss–Krüger zones named by central meridian: CM 75°E … CM 135°E
GK_ZONES = {4534 + i: 75 + 3 * i for i in range(21)}
#: the zone of Qingdao (CM 120°E), offered whatever the extent
HOME_ZONE = 4549


def epsg_uri(code: int) -> str:
    return f"{EPSG_PREFIX}{code}"


def zones_covering(bounds: Iterable[float] | None) -> list[int]:
    """EPSG codes of the CGCS2000 3° zones whose band (central meridian ± 1.5°) meets ``bounds`` (CRS84),
    always with :data:`HOME_ZONE`."""
    codes = {HOME_ZONE}
    if bounds is not None:
        minx, _, maxx, _ = bounds
        codes |= {code for code, cm in GK_ZONES.items() if cm - 1.5 <= maxx and minx <= cm + 1.5}
    return sorted(codes)


def offered(bounds: Iterable[float] | None = None) -> list[str]:
    """URIs of every CRS offered for data within ``bounds``, CRS84 (the storage CRS) first."""
    codes = [WGS84, CGCS2000, *zones_covering(bounds), WEB_MERCATOR]
    return [CRS84, *[epsg_uri(c) for c in codes]]


def parse(text: str | None, *, what: str = "crs", allowed: Iterable[str] | None = None) -> str:
    """The canonical URI of a CRS given as a URI, ``EPSG:n``, ``[EPSG:n]`` (safe CURIE) or ``OGC:CRS84``;
    :class:`InvalidInput` naming ``what`` when it is unknown or not in ``allowed``. Empty means CRS84."""
    if text is None or text.strip() == "":
        return CRS84
    raw = text.strip()
    t = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    uri = None
    low = t.lower().rstrip("/")
    if low in (CRS84.lower(), "ogc:crs84", "crs84", CRS84H.lower()):
        uri = CRS84
    else:
        code = None
        if low.startswith(EPSG_PREFIX.lower()):
            code = t[len(EPSG_PREFIX) :]
        elif low.startswith("epsg:"):
            code = t[5:]
        elif low.startswith("urn:ogc:def:crs:epsg:"):
            code = t.rsplit(":", 1)[-1]
        if code is not None and code.isdigit():
            uri = epsg_uri(int(code))
    names = list(allowed) if allowed is not None else None
    if uri is None or (names is not None and uri not in names):
        listing = ", ".join(names) if names else "CRS84, EPSG:4326, EPSG:4490, EPSG:4549, EPSG:3857"
        raise InvalidInput(f"{what} 不支持 {raw!r} / {what} {raw!r} is not offered; use one of: {listing}")
    return uri


def epsg_code(uri: str) -> int | None:
    """The EPSG code of an EPSG URI, None for CRS84."""
    return int(uri[len(EPSG_PREFIX) :]) if uri.startswith(EPSG_PREFIX) else None


@lru_cache(maxsize=64)
def _crs(uri: str) -> CRS:
    code = epsg_code(uri)
    return CRS.from_user_input("OGC:CRS84" if code is None else f"EPSG:{code}")


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    # axis order as each CRS defines it (always_xy=False): EPSG:4326 and 4490 lat/lon, the GK zones N/E
    return Transformer.from_crs(_crs(src), _crs(dst), always_xy=False)


def transform(geoms: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Geometries (array of shapely objects or None) from CRS ``src`` to ``dst`` (URIs), in each CRS's axis order."""
    arr = np.asarray(geoms, dtype=object)
    if src == dst or arr.size == 0:
        return arr
    t = _transformer(src, dst)

    def move(coords: np.ndarray) -> np.ndarray:
        a, b = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack((a, b))

    return shapely.transform(arr, move)


def bbox_to_crs84(bbox: tuple[float, float, float, float], src: str) -> tuple[float, float, float, float]:
    """A bbox given in ``src``'s axis order (first axis min, second axis min, first max, second max) as a
    CRS84 (lon/lat) bbox covering it (edges densified, so a projected box is fully covered)."""
    if src == CRS84:
        return bbox
    a0, b0, a1, b1 = bbox
    if a0 > a1 or b0 > b1:
        raise InvalidInput(f"bbox 无效 / bbox is not valid in {src}: {list(bbox)}")
    t = _transformer(src, CRS84)
    return tuple(float(v) for v in t.transform_bounds(a0, b0, a1, b1, densify_pts=21))  # type: ignore[return-value]
