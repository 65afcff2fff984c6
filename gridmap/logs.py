"""Logging, configured once: the standard library's ``logging`` with one handler on the root logger.

``configure(level=, fmt=)`` (called by the CLI at start from ``GRIDMAP_LOG_LEVEL`` and ``GRIDMAP_LOG_FORMAT``)
installs it; calling it again replaces gridmap's handler instead of adding a second one. gridmap's loggers log
at the level asked for, libraries' (alembic, waitress …) from WARNING up unless the level is DEBUG. Every line
carries the request id of the request being served (:data:`request_id`, set by :mod:`gridmap.web.observe`;
``-`` outside a request):

* ``text``: ``2026-12-04T10:14:03.512Z INFO gridmap.access [3f2a…] GET /api/kpi 200 1834B 12.4ms user=- role=public``
* ``json``: one object a line, ``{"time", "level", "logger", "message", "request_id", …}`` with the access
  line's fields (``method``, ``path``, ``status``, ``bytes``, ``duration_ms``, ``user``, ``role``) and a
  ``traceback`` when an exception was logged.

Tracebacks go to the log only; responses never carry them (:mod:`gridmap.web.errors`).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from typing import IO, Any

#: the id of the request being served in this thread, put on every log line
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("gridmap_request_id", default=None)

#: fields of a record (passed as ``extra={"fields": {...}}``) written as their own JSON keys
FIELDS = "fields"

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Puts this request's id (or ``-``) on every record as ``request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get() or "-"
        return True


def _stamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _stamp(record)


class JSONFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _stamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get() or "-",
        }
        out.update(getattr(record, FIELDS, None) or {})
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        elif record.stack_info:
            out["traceback"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(*, level: str = "INFO", fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler:
    """Send log records of ``level`` and above to ``stream`` (stderr) as ``fmt`` (``text`` or ``json``)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format {fmt!r}: use text or json")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    handler._gridmap = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_gridmap", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    # gridmap's own loggers at the level asked for; libraries (alembic, waitress …) only warn unless DEBUG
    root.setLevel(
        level.upper() if level.upper() == "DEBUG" else max(logging.WARNING, logging.getLevelName(level.upper()))
    )
    logging.getLogger("gridmap").setLevel(level.upper())
    return handler


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return request_id.get()
