"""The one guard every uploaded file passes before anything reads it.

``with received(stream, filename, allowed=(".csv", ".zip", …)) as path:`` saves the upload in a private
temporary folder, refuses a type not allowed, an upload over the size limit, a zip bomb or traversal names
(:func:`gridmap.io.safety.check_zip`) and oversized or malformed GeoJSON (:func:`gridmap.io.safety.check_geojson`),
hands the checked file to the block, and removes the folder when the block ends, whatever happens in it.
Used by every upload route (placement, plan import): no route reads an upload another way.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from gridmap.errors import InvalidInput
from gridmap.io.safety import ZipLimits, check_geojson, check_zip, iter_limited

#: largest upload accepted, bytes (the web app's MAX_CONTENT_LENGTH also caps the whole request)
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1 << 20


class UnsupportedUpload(InvalidInput):
    status, code = 415, "unsupported_media_type"


@contextmanager
def received(
    stream: IO[bytes],
    filename: str | None,
    *,
    allowed: tuple[str, ...],
    max_bytes: int = MAX_UPLOAD_BYTES,
    zip_limits: ZipLimits = ZipLimits(),
) -> Iterator[Path]:
    """The upload ``stream`` saved as ``upload<suffix>`` in a temporary folder, checked; removed on exit."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in allowed:
        raise UnsupportedUpload(
            f"不支持的文件类型 / unsupported file type {suffix or '(none)'!r}; upload one of {', '.join(allowed)}"
        )
    folder = Path(tempfile.mkdtemp(prefix="gridmap-upload-"))
    try:
        path = folder / f"upload{suffix}"
        with path.open("wb") as out:
            for chunk in iter_limited(iter(lambda: stream.read(_CHUNK), b""), max_bytes, what="upload"):
                out.write(chunk)
        check_file(path, zip_limits=zip_limits)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_file(path: Path, *, zip_limits: ZipLimits = ZipLimits()) -> None:
    """Refuse a zip bomb (by content, whatever the name says) and malformed or oversized GeoJSON."""
    with path.open("rb") as f:
        head = f.read(4)
    if head == _ZIP_MAGIC or path.suffix.lower() == ".zip":
        check_zip(path, limits=zip_limits)
    elif path.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise InvalidInput(f"文件不是 JSON / the file is not JSON: {str(exc)[:120]}") from None
        check_geojson(doc)
