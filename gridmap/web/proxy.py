"""Behind a reverse proxy: ``TRUSTED_PROXIES`` decides whose ``X-Forwarded-*`` and ``X-Request-ID`` headers count.

* empty (default): nobody's — the client is the connection's address, whatever headers it sends;
* a hop count ``N``: the last ``N`` hops are proxies (``1`` = one nginx in front), as werkzeug's ``ProxyFix``;
* addresses or CIDR blocks: only a connection from one of them is a proxy; the hops counted are that one and
  every further trusted address at the right end of ``X-Forwarded-For``, so a client cannot pose as a proxy.

When a request came through a trusted hop, werkzeug's :class:`~werkzeug.middleware.proxy_fix.ProxyFix` sets
the client address (``request.remote_addr``: the sign-in throttle and rate limits count real clients), the
scheme (``request.is_secure``: ``COOKIE_SECURE=auto`` cookies become ``Secure`` and HSTS is sent over https)
and the host from the proxy's headers, and ``environ["gridmap.trusted_proxy"]`` is True (the proxy's
``X-Request-ID`` is then kept, :mod:`gridmap.web.observe`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from gridmap.config import networks

TRUSTED = "gridmap.trusted_proxy"
#: most proxies believed in one chain
MAX_HOPS = 10


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests that arrive through a trusted proxy, nothing for the others."""

    def __init__(self, app: Callable, setting: str | int | None) -> None:
        self.app = app
        text = str(setting if setting is not None else "").strip()
        self.count = int(text) if text.isdigit() else 0
        self.nets = [] if text.isdigit() else networks(text)
        self._fixed: dict[int, ProxyFix] = {}

    @property
    def enabled(self) -> bool:
        return self.count > 0 or bool(self.nets)

    def _trusted(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr.strip())
        except ValueError:
            return False
        return any(ip in net for net in self.nets)

    def hops(self, environ: dict[str, Any]) -> int:
        """How many hops of this request are trusted proxies (0: it came straight from its client)."""
        if self.count:
            return self.count
        if not self.nets or not self._trusted(environ.get("REMOTE_ADDR", "")):
            return 0
        chain = [a for a in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        hops = 1
        for addr in reversed(chain[1:]):  # the right end, short of the client itself
            if not self._trusted(addr) or hops >= MAX_HOPS:
                break
            hops += 1
        return hops

    def _fix(self, hops: int) -> ProxyFix:
        if hops not in self._fixed:
            self._fixed[hops] = ProxyFix(self.app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
        return self._fixed[hops]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        hops = self.hops(environ)
        environ[TRUSTED] = hops > 0
        if hops == 0:
            return self.app(environ, start_response)
        return self._fix(hops)(environ, start_response)
