"""Hostile input at the border: zip bombs, path traversal, oversized or malformed GeoJSON, bad coordinates.

The importer (:mod:`gridmap.io.files`) and every upload view call these before trusting a file or a body:

* :func:`safe_unzip` — extract an uploaded archive with limits on members, total and per-file size and
  compression ratio; refuses absolute paths, ``..``, links and device files.
* :func:`safe_filename` / :func:`safe_join` — a user-supplied file name reduced to one harmless path
  component, and joined under a base folder that it can never leave.
* :func:`check_geojson` — structure, feature/vertex counts, nesting depth and coordinate ranges.
* :func:`check_lonlat` — one WGS84/CGCS2000 coordinate pair.
* :func:`clean_text` — a user's free text: length limit, control characters removed (the text is kept
  as typed otherwise; escaping happens on output).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from markupsafe import escape

from gridmap.errors import GridmapError, InvalidInput, TooLarge


class UnsafeArchive(InvalidInput):
    """An archive that would escape its folder or expand beyond the limits (a zip bomb)."""


class UnsafePath(InvalidInput):
    """A file name that tries to leave its folder."""


class BadGeoJSON(InvalidInput):
    """GeoJSON that is malformed, too large or out of range."""


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 1000
    max_total_bytes: int = 512 * 1024 * 1024
    max_member_bytes: int = 256 * 1024 * 1024
    #: uncompressed/compressed bytes of one member (zip bombs reach 1000:1 and more)
    max_ratio: float = 200.0


def safe_unzip(
    archive: str | os.PathLike[str] | IO[bytes], dest: str | os.PathLike[str], *, limits: ZipLimits = ZipLimits()
) -> list[Path]:
    """Extract ``archive`` into ``dest`` (created if missing) and return the extracted files.

    Limits are checked twice: from the declared sizes before anything is written, and while
    streaming each member (a forged header cannot slip past). On any violation nothing that was
    extracted is left behind and :class:`UnsafeArchive` names the member and the limit.
    """
    dest_path = Path(dest).resolve()
    dest_path.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive(f"不是有效的 zip 文件 / not a valid zip archive: {exc}") from None
    written: list[Path] = []
    try:
        with zf:
            members = _check_members(zf, dest_path, limits)
            total = 0
            for info, target in members:
                target.parent.mkdir(parents=True, exist_ok=True)
                written.append(target)
                total = _copy_limited(zf, info, target, total, limits)
    except zipfile.BadZipFile as exc:  # CRC or size mismatch found while streaming: a forged header
        _remove(written)
        raise UnsafeArchive(f"压缩包已损坏 / the archive is corrupt: {exc}") from None
    except BaseException:
        _remove(written)
        raise
    return written


def _remove(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def check_zip(archive: str | os.PathLike[str] | IO[bytes], *, limits: ZipLimits = ZipLimits()) -> list[str]:
    """Check an archive that is read in place (GDAL ``/vsizip/``) without extracting it.

    Same limits as :func:`safe_unzip` from the declared sizes, and every member is streamed once through
    a counting reader, so a forged size header or a CRC mismatch is caught too. Returns the member names.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive(f"不是有效的 zip 文件 / not a valid zip archive: {exc}") from None
    with zf:
        members = _check_members(zf, Path("/nonexistent-gridmap-check").resolve(), limits)
        total = 0
        try:
            for info, _ in members:
                size = 0
                with zf.open(info) as src:
                    while chunk := src.read(1 << 16):
                        size += len(chunk)
                        total += len(chunk)
                        _check_sizes(info, size, total, limits)
        except zipfile.BadZipFile as exc:
            raise UnsafeArchive(f"压缩包已损坏 / the archive is corrupt: {exc}") from None
        return [info.filename for info, _ in members]


def _check_members(zf: zipfile.ZipFile, dest: Path, limits: ZipLimits) -> list[tuple[zipfile.ZipInfo, Path]]:
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise UnsafeArchive(
            f"压缩包文件过多 / the archive holds {len(infos)} entries, at most {limits.max_members} are accepted"
        )
    total = 0
    out = []
    for info in infos:
        mode = info.external_attr >> 16
        if info.is_dir():
            continue
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: written by tools that set no type
            raise UnsafeArchive(f"压缩包含链接或特殊文件 / {info.filename!r} is a link or special file")
        if info.flag_bits & 0x1:
            raise UnsafeArchive(f"不支持加密文件 / {info.filename!r} is encrypted")
        target = _member_target(info.filename, dest)
        total += info.file_size
        _check_sizes(info, info.file_size, total, limits)
        out.append((info, target))
    return out


def _member_target(name: str, dest: Path) -> Path:
    if "\x00" in name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeArchive(f"压缩包路径不安全 / unsafe path in the archive: {name!r}")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(p in ("..", "") for p in parts):
        raise UnsafeArchive(f"压缩包路径不安全 / unsafe path in the archive: {name!r}")
    target = dest.joinpath(*parts).resolve()
    if not target.is_relative_to(dest):
        raise UnsafeArchive(f"压缩包路径越界 / {name!r} would be written outside the folder")
    return target


def _check_sizes(info: zipfile.ZipInfo, size: int, total: int, limits: ZipLimits) -> None:
    if size > limits.max_member_bytes:
        raise UnsafeArchive(f"{info.filename!r} 解压后过大 / expands beyond {limits.max_member_bytes} bytes")
    if total > limits.max_total_bytes:
        raise UnsafeArchive(f"压缩包解压后过大 / the archive expands beyond {limits.max_total_bytes} bytes")
    compressed = max(info.compress_size, 1)
    if size > 1024 * 1024 and size / compressed > limits.max_ratio:
        raise UnsafeArchive(
            f"{info.filename!r} 压缩比异常 / compression ratio {size / compressed:.0f}:1 exceeds "
            f"{limits.max_ratio:.0f}:1 (zip bomb?)"
        )


def _copy_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int, limits: ZipLimits) -> int:
    size = 0
    with zf.open(info) as src, open(target, "wb") as dst:
        while chunk := src.read(1 << 16):
            size += len(chunk)
            total += len(chunk)
            _check_sizes(info, size, total, limits)
            dst.write(chunk)
    return total


# -- file names ---------------------------------------------------------------------------------------
_NAME_OK = re.compile(r"[^\w.\- ]", re.UNICODE)


def safe_filename(name: str, *, max_length: int = 120) -> str:
    """One harmless path component from a user-supplied ``name`` (Chinese letters are kept).

    Directory parts, ``..``, control characters and shell/URL specials are removed; an empty result
    or a Windows device name raises :class:`UnsafePath`.
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _NAME_OK.sub("_", base).strip(" .")
    if len(base) > max_length:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: max_length - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else base[:max_length]
    if not base or base.split(".")[0].upper() in _WINDOWS_DEVICES:
        raise UnsafePath(f"文件名不可用 / unusable file name {name!r}")
    return base


_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def safe_join(base: str | os.PathLike[str], name: str) -> Path:
    """``base / name`` resolved, refusing any ``name`` that would leave ``base`` (``..``, absolute, links)."""
    root = Path(base).resolve()
    if "\x00" in name or os.path.isabs(name) or name.startswith(("/", "\\")):
        raise UnsafePath(f"路径越界 / {name!r} leaves the folder")
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise UnsafePath(f"路径越界 / {name!r} leaves the folder")
    return target


# -- coordinates and GeoJSON --------------------------------------------------------------------------
def check_lonlat(lon: Any, lat: Any, *, where: str = "coordinates") -> tuple[float, float]:
    """``(lon, lat)`` as floats, finite and within −180…180 / −90…90, or :class:`BadGeoJSON`."""
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        raise BadGeoJSON(f"{where}: 坐标须为数字 / coordinates must be numbers, got {lon!r}, {lat!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)) or not (-180 <= x <= 180 and -90 <= y <= 90):
        raise BadGeoJSON(
            f"{where}: 坐标超出范围 / ({x}, {y}) is outside lon −180…180, lat −90…90 (EPSG:4326 longitude first)"
        )
    return x, y


@dataclass(frozen=True)
class GeoJSONLimits:
    max_features: int = 200_000
    max_vertices: int = 5_000_000
    max_depth: int = 8


_TYPES = {"Point": 1, "MultiPoint": 2, "LineString": 2, "MultiLineString": 3, "Polygon": 3, "MultiPolygon": 4}


def check_geojson(obj: Any, *, limits: GeoJSONLimits = GeoJSONLimits()) -> int:
    """Validate a parsed GeoJSON object (FeatureCollection, Feature or geometry); return its vertex count.

    Checks the type names, the nesting of coordinate arrays, the feature and vertex counts and every
    coordinate's range; the first problem raises :class:`BadGeoJSON` with its JSON path.
    """
    counter = [0, 0]  # features, vertices
    _check_node(obj, "$", counter, limits)
    return counter[1]


def _check_node(obj: Any, path: str, counter: list[int], limits: GeoJSONLimits) -> None:
    if not isinstance(obj, dict):
        raise BadGeoJSON(f"{path}: 需为 GeoJSON 对象 / expected a GeoJSON object")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            raise BadGeoJSON(f"{path}.features: 需为数组 / must be an array")
        if len(feats) > limits.max_features:
            raise BadGeoJSON(f"{path}: 要素过多 / {len(feats)} features, at most {limits.max_features}")
        for i, f in enumerate(feats):
            _check_node(f, f"{path}.features[{i}]", counter, limits)
            if not isinstance(f, dict) or f.get("type") != "Feature":
                raise BadGeoJSON(f"{path}.features[{i}]: 需为 Feature / must be a Feature")
    elif kind == "Feature":
        counter[0] += 1
        if counter[0] > limits.max_features:
            raise BadGeoJSON(f"{path}: 要素过多 / more than {limits.max_features} features")
        props = obj.get("properties")
        if props is not None and not isinstance(props, dict):
            raise BadGeoJSON(f"{path}.properties: 需为对象或 null / must be an object or null")
        if obj.get("geometry") is not None:
            _check_node(obj["geometry"], f"{path}.geometry", counter, limits)
    elif kind == "GeometryCollection":
        geoms = obj.get("geometries")
        if not isinstance(geoms, list):
            raise BadGeoJSON(f"{path}.geometries: 需为数组 / must be an array")
        for i, g in enumerate(geoms):
            _check_node(g, f"{path}.geometries[{i}]", counter, limits)
    elif kind in _TYPES:
        _check_coords(obj.get("coordinates"), _TYPES[kind], f"{path}.coordinates", counter, limits)
    else:
        raise BadGeoJSON(f"{path}.type: 未知类型 / unknown GeoJSON type {str(kind)[:40]!r}")


def _check_coords(coords: Any, depth: int, path: str, counter: list[int], limits: GeoJSONLimits) -> None:
    if depth == 1:
        if not isinstance(coords, (list, tuple)) or len(coords) not in (2, 3):
            raise BadGeoJSON(f"{path}: 坐标需为 [经度, 纬度] / a position must be [lon, lat]")
        check_lonlat(coords[0], coords[1], where=path)
        counter[1] += 1
        if counter[1] > limits.max_vertices:
            raise BadGeoJSON(f"{path}: 顶点过多 / more than {limits.max_vertices} vertices")
        return
    if not isinstance(coords, (list, tuple)):
        raise BadGeoJSON(f"{path}: 坐标嵌套错误 / coordinates nested wrongly")
    for i, c in enumerate(coords):
        _check_coords(c, depth - 1, f"{path}[{i}]", counter, limits)


# -- free text ----------------------------------------------------------------------------------------
def clean_text(value: Any, *, field: str, max_length: int = 2000, required: bool = False) -> str | None:
    """A user's text kept as typed except control characters (tabs and newlines stay); length-checked.

    Text is never interpreted here: markup in it stays markup-looking text, and every output
    (Jinja, JSON, folium popups via :func:`html_text`) escapes it.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{field}: 不能为空 / is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: 需为文本 / must be text")
    text = "".join(ch for ch in value if ch in "\t\n" or unicodedata.category(ch) not in ("Cc", "Cs"))
    if len(text) > max_length:
        raise InvalidInput(f"{field}: 过长 / longer than {max_length} characters")
    return text


def html_text(value: Any) -> str:
    """``value`` escaped for HTML *and* safe inside a JavaScript template literal.

    folium writes popup HTML into a backtick string (``$(`<div>…</div>`)``), where ``${…}`` and a
    backtick would run as code even after HTML escaping; this also encodes ``` ` ``, ``$`` and ``\\``.
    """
    text = "" if value is None else str(value)
    return str(escape(text)).replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def assert_within(size: int, limit: int, *, what: str) -> None:
    if size > limit:
        raise TooLarge(f"{what} 过大 / {what} is {size} bytes, at most {limit} are accepted")


def iter_limited(chunks: Iterable[bytes], limit: int, *, what: str) -> Iterable[bytes]:
    """Pass ``chunks`` through, raising :class:`~gridmap.errors.TooLarge` once ``limit`` bytes are exceeded."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        assert_within(seen, limit, what=what)
        yield chunk


class JSONTooDeep(GridmapError):
    """A JSON body nested too deeply: 400. Not a ``ValueError`` on purpose — parsers that treat broken JSON as
    "no body" (Flask's ``get_json(silent=True)``) must not swallow it."""

    status, code = 400, "invalid_input"


#: deepest JSON nesting accepted from outside (GeoJSON MultiPolygons need 5; a request body far less)
MAX_JSON_DEPTH = 64


def loads_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` for text from outside: a body nested deeper than ``max_depth`` (``[`` × 100,000 made
    the parser recurse until it failed) is :class:`~gridmap.errors.InvalidInput`, like broken JSON."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"请求体不是 UTF-8 / the body is not UTF-8 text: {exc}") from None
    try:
        obj = json.loads(text, **kwargs)
    except RecursionError:
        raise JSONTooDeep(f"JSON 嵌套过深 / JSON nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"请求体不是 JSON / the body is not JSON: {exc}") from None
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > max_depth:
                raise JSONTooDeep(f"JSON 嵌套过深 / JSON nested deeper than {max_depth} levels")
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return obj
