"""The production server: waitress, with its own refusals (413 body too large, 431 headers too large, 400
malformed request) answered in gridmap's JSON error shape instead of waitress's plain text."""

from __future__ import annotations

import json
import uuid
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

#: the machine code of each status waitress refuses with itself (see gridmap.web.errors for the app's own)
_CODES = {400: "bad_request", 413: "too_large", 431: "headers_too_large", 500: "internal_error"}


class JSONErrorTask(ErrorTask):
    """waitress's error response as ``{"error": {"status", "code", "message"}}``."""

    def execute(self) -> None:
        e = self.request.error
        status = int(e.code)
        rid = uuid.uuid4().hex  # the app never saw this request: waitress refused it
        body = json.dumps(
            {
                "error": {
                    "status": status,
                    "code": _CODES.get(status, "bad_request"),
                    "message": f"{e.reason}: {e.body}",
                    "request_id": rid,
                }
            },
            ensure_ascii=False,
        ).encode("utf-8")
        self.status = f"{status} {e.reason}"
        self.response_headers.extend([("Content-Type", "application/json; charset=utf-8"), ("X-Request-ID", rid)])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JSONErrorChannel(HTTPChannel):
    error_task_class = JSONErrorTask


def make_server(app: Any, *, host: str, port: int, threads: int, **adjustments: Any) -> Any:
    """A waitress server for ``app`` (call ``.run()``) whose own error answers are JSON.

    waitress is told to leave ``X-Forwarded-*`` and ``Forwarded`` alone: by default it strips them from every
    request (it trusts no proxy unless given its own ``trusted_proxy``), and then ``GRIDMAP_TRUSTED_PROXIES`` —
    which the app applies per request (:class:`gridmap.web.proxy.TrustedProxies`) — would never see them: behind
    nginx every client would be the proxy's address, HTTPS would never be known, and ``/metrics`` would be open
    to anyone the proxy forwards. With no trusted proxy set the app ignores the headers itself."""
    adjustments.setdefault("clear_untrusted_proxy_headers", False)
    server = create_server(app, host=host, port=port, threads=threads, ident="gridmap", **adjustments)
    # one listening socket: the server itself; several: a MultiSocketServer whose map holds them
    listeners = [server] if hasattr(server, "channel_class") else list(getattr(server, "map", {}).values())
    for s in listeners:
        if hasattr(s, "channel_class"):
            s.channel_class = JSONErrorChannel
    return server
