"""Later copies of a record id are duplicates: found with 64-bit fingerprints of the ids (one numpy sort)
and confirmed as strings, beside the spatial rules in another thread (see :func:`~.rules.place`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from gridmap.domain.placement.world import _str_or_none


def _duplicate_rows(records: pd.DataFrame, seen_ids: Iterable[str] | None) -> tuple[np.ndarray, list[str]]:
    """Rows repeating an earlier record id (or one of ``seen_ids``), with their reasons.

    Only rows whose id shares its fingerprint with another row's (:func:`_suspects`) are compared as
    strings, so a million distinct ids cost one numpy sort, which runs outside the GIL, beside the spatial
    rules (see :func:`place`).
    """
    if "id" not in records:
        return np.empty(0, dtype=np.int64), []
    col = records["id"]
    rows = _suspects(col) if seen_ids is None else None
    if rows is None:
        rows = np.arange(len(col))
    elif not len(rows):
        return rows, []
    else:
        col = col.iloc[rows]
    ids = _str_or_none(col, len(col), whole_numbers=False)  # as str() writes them: seen_ids and the stored ids
    s = pd.Series(ids)
    has = s.notna().to_numpy()
    dup = has & s.duplicated(keep="first").to_numpy()
    if seen_ids is not None:
        dup |= has & s.isin(pd.Index(seen_ids)).to_numpy()
    return rows[dup], [f"重复记录 / duplicate record id {v}" for v in ids[dup]]


def _suspects(col: pd.Series) -> np.ndarray | None:
    """Rows that may repeat another row's id (ascending), or None: look at every row.

    Arrow-backed strings (pandas' default ``str``) get 64-bit fingerprints (:func:`_fingerprints`); rows
    with a fingerprint of their own certainly hold an id of their own. Sorting a million fingerprints
    (numpy's vectorised sort) is several times faster than hashing the strings.
    """
    dtype = col.dtype
    if not (isinstance(dtype, pd.ArrowDtype) or getattr(dtype, "storage", None) == "pyarrow"):
        return None
    fp = _fingerprints(pa.array(col))  # zero-copy for arrow-backed columns
    if fp is None:
        return None
    ordered = np.sort(fp)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.flatnonzero(np.isin(fp, shared)) if len(shared) else np.empty(0, dtype=np.int64)


_ONES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


def _buffer(arr: pa.Array, i: int, dtype: type[np.generic]) -> np.ndarray:
    """Buffer ``i`` of an arrow array as numbers (empty where arrow allocated none)."""
    buf = arr.buffers()[i]
    return np.frombuffer(memoryview(buf), dtype=dtype) if buf is not None else np.empty(0, dtype=dtype)


def _fingerprints(values: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """A 64-bit fingerprint of each string (equal strings, equal fingerprints), or None for other types.

    Mixes the length, the first 8 and the last 8 bytes (one unaligned 8-byte load each from the arrow
    data buffer), so strings of up to 16 bytes that differ get different (head, tail, length) triples.
    """
    if sys.byteorder != "little" or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = arr.cast(pa.large_string())
    offsets = _buffer(arr, 1, np.int64)[arr.offset : arr.offset + len(arr) + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    if (
        len(arr)
        and hi - lo == (offsets[1] - offsets[0]) * len(arr)
        and (offsets[1] - offsets[0]) <= 8
        and (np.diff(offsets) == offsets[1] - offsets[0]).all()
    ):  # fixed width ≤ 8 (generated ids): exact
        width = int(offsets[1] - offsets[0])
        chars = _buffer(arr, 2, np.uint8)[lo:hi]
        if width == 8:
            return chars.view(np.uint64)
        block = np.zeros((len(arr), 8), dtype=np.uint8)
        block[:, :width] = chars.reshape(len(arr), width)
        return block.view(np.uint64).ravel()
    padded = np.zeros(hi - lo + 16, dtype=np.uint8)  # 8 spare bytes either side of the characters
    if hi > lo:
        padded[8 : 8 + hi - lo] = _buffer(arr, 2, np.uint8)[lo:hi]
    words = np.ndarray((len(padded) - 7,), dtype=np.uint64, buffer=padded, strides=(1,))  # load at any byte
    start, end = offsets[:-1] - lo, offsets[1:] - lo
    length = (end - start).astype(np.uint64)
    head = words[start + 8]  # the 8 bytes from the first character (little-endian: first = lowest)
    tail = words[end]  # the 8 bytes ending with the last character (last = highest)
    bits = np.minimum(length, 8) * np.uint64(8)
    head &= np.where(bits < 64, (np.uint64(1) << (bits & np.uint64(63))) - np.uint64(1), _ONES)
    bits = np.minimum(np.maximum(length, 8) - np.uint64(8), 8) * np.uint64(8)  # tail bytes beyond the head
    tail &= np.where(
        bits > 0, ~((np.uint64(1) << ((np.uint64(64) - bits) & np.uint64(63))) - np.uint64(1)), np.uint64(0)
    )
    head *= np.uint64(0x9E37_79B9_7F4A_7C15)
    tail *= np.uint64(0xC2B2_AE3D_27D4_EB4F)
    head ^= tail
    head ^= length
    return head
