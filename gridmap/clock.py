"""The one clock: what time it is, and time zones.

Inside gridmap every moment is an **aware UTC** ``datetime`` (the store reads and writes them so). A
time zone is used only at the edges, where people read or type times: pages, Open311, CSV exports, the
KPI's month and year buckets, working days and their end. The service's zone is the setting
``GRIDMAP_TIMEZONE``; this module does not read settings (it sits beside :mod:`gridmap.config`), so
whoever does passes the zone in (``zone(settings["TIMEZONE"])``).

Tests fix the clock with ``with clock.frozen(at): …`` (the ``fixed_now`` fixture), which every thread
sees (a live server's too).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["UTC", "now", "today", "frozen", "zone", "utc", "local", "at_local", "iso"]

UTC = dt.UTC

_lock = threading.Lock()
_frozen: list[dt.datetime] = []


def now(*, precise: bool = False) -> dt.datetime:
    """The current time, aware UTC, to the second (rows are stamped so); ``precise`` keeps microseconds
    (audit entries, whose order within a second matters)."""
    with _lock:
        t = _frozen[-1] if _frozen else None
    t = t or dt.datetime.now(UTC)
    return t if precise else t.replace(microsecond=0)


def today(tz: dt.tzinfo) -> dt.date:
    """Today's date in zone ``tz`` (a request filed at 2026-01-31T20:00Z was filed on 1 February in
    Shanghai)."""
    return now().astimezone(tz).date()


@contextmanager
def frozen(at: dt.datetime) -> Iterator[dt.datetime]:
    """Make :func:`now` return ``at`` (naive means UTC) inside the block, in every thread."""
    t = utc(at)
    with _lock:
        _frozen.append(t)
    try:
        yield t
    finally:
        with _lock:
            _frozen.remove(t)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name`` (``Asia/Shanghai``, ``UTC``); ``ValueError`` for an unknown name."""
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{name!r} is not a time zone name such as Asia/Shanghai or UTC") from None


def utc(value: Any) -> dt.datetime:
    """``value`` (a ``datetime``/``pandas.Timestamp``) as an aware UTC ``datetime``; naive means UTC."""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{value!r} is not a date and time")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: Any) -> str:
    """RFC 3339 text in UTC to the second (naive means UTC): ``2026-05-01T09:00:00Z``."""
    return utc(value).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def local(value: Any, tz: dt.tzinfo) -> dt.datetime:
    """``value`` (naive means UTC) as the aware time shown on clocks in zone ``tz``."""
    return utc(value).astimezone(tz)


def at_local(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    """The moment (aware UTC) when clocks in zone ``tz`` show ``day`` at ``time`` (the end of a working
    day, the start of a date someone typed)."""
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(UTC)
