"""Settings as data: name, default, help. Read from defaults → ``GRIDMAP_<NAME>`` environment → overrides.

README's settings table is checked against :data:`SETTINGS` by a test: add a row there when you add one here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "GRIDMAP_" + self.name


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "sqlite:///gridmap.db",
        "Where the store lives: sqlite:///path.db (embedded, default) or postgresql+psycopg://user:pw@host/db",
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Key that signs sessions, CSRF and embed tokens. Required in production; a random one is made "
        "per process when unset (sessions then end on restart)",
    ),
    Setting("MIN_HOUSEHOLDS", 300, "Default lower bound of households per grid"),
    Setting("MAX_HOUSEHOLDS", 500, "Default upper bound of households per grid"),
    Setting("DISTRICT_CODE", "370214", "GB/T 2260 code of the district served (Chengyang 370214)"),
    Setting("DEFAULT_LOCALE", "zh_CN", "Interface language when the user has not chosen one (zh_CN or en)"),
    Setting(
        "TIMEZONE",
        "Asia/Shanghai",
        "Time zone of the people served (IANA name): dates on pages, Open311 offsets, KPI months and years, "
        "working days and their end; times are kept in UTC",
    ),
    Setting("MAX_CONTENT_LENGTH", 64 * 1024 * 1024, "Largest accepted request body, bytes"),
    Setting(
        "EMBED_REQUIRE_TOKEN", True, "Embed pages need ?token= (a signed embed token issued by a planner or admin)"
    ),
    Setting(
        "EMBED_FRAME_ANCESTORS",
        "'self'",
        "Sites allowed to frame embed pages (CSP frame-ancestors list, e.g. \"'self' https://www.example.gov.cn\"); "
        "every other page refuses framing",
    ),
    Setting("CSP_EXTRA_SOURCES", "", "Extra origins allowed for images and fetches (tile servers), space separated"),
    Setting("COOKIE_SECURE", "auto", "Secure cookies: auto (when the request came over https), always, or never"),
    Setting("LOGIN_MAX_FAILURES", 5, "Wrong passwords in a row before an account is locked"),
    Setting("LOGIN_LOCKOUT_SECONDS", 900, "How long a locked account stays locked"),
    Setting(
        "LOGIN_MAX_FAILURES_PER_IP",
        20,
        "Failed sign-ins from one address within LOGIN_LOCKOUT_SECONDS before it is refused",
    ),
    Setting("HOST", "127.0.0.1", "Address `gridmap serve` listens on"),
    Setting("PORT", 5000, "Port `gridmap serve` listens on"),
    Setting("THREADS", 8, "Worker threads of `gridmap serve` (waitress, a production WSGI server)"),
    Setting(
        "BASEMAP",
        "none",
        "Basemap under the maps: none (boundaries and labels only; works offline), xyz (BASEMAP_URL), "
        "tianditu (TIANDITU_KEY) or amap (GCJ-02 tiles; overlays are shifted to match)",
    ),
    Setting("BASEMAP_URL", "", "Tile URL template for BASEMAP=xyz, e.g. https://tiles.example.gov.cn/{z}/{x}/{y}.png"),
    Setting("BASEMAP_ATTRIBUTION", "", "Attribution shown for the basemap (default: the provider's)"),
    Setting("TIANDITU_KEY", "", "天地图 API key for BASEMAP=tianditu"),
    Setting(
        "COMPLAINT_SLA_DAYS",
        {},
        "Working days per SLA kind, overriding the defaults "
        '{"consultation": 2, "help": 10, "suggestion": 10, "complaint": 15} (JSON object)',
    ),
    Setting(
        "COMPLAINT_HOLIDAYS",
        [],
        "Extra days off for complaint clocks, ISO dates (JSON list); added to "
        "the CN public-holiday calendar of the `holidays` package",
    ),
    Setting("COMPLAINT_WORKDAYS", [], "Extra working days (make-up 调休 days) for complaint clocks, ISO dates"),
    Setting("COMPLAINT_REOPEN_DAYS", 15, "Days after resolution within which an unsatisfied resident reopens"),
    Setting("COMPLAINT_ESCALATION_DAYS", 3, "Working days overdue before 督办 moves from community to street"),
    Setting("COMPLAINT_BOUNDARY_M", 30.0, "A request closer than this (m) to another grid needs confirmation"),
    Setting("COMPLAINT_NEAREST_M", 60.0, "A point off every building goes to the nearest building within this (m)"),
    Setting("COMPLAINT_RESPONSE_DAYS", 1, "Working days within which a first response counts for the response rate"),
    Setting("COMPLAINT_SATISFIED_MIN", 4, "Ratings (1–5) at or above this count as satisfied"),
    Setting("TILE_MAX_AGE", 60, "Seconds browsers may reuse a vector tile before revalidating it (ETag)"),
    Setting("RATE_LIMIT_ENABLED", True, "Apply the rate limits below (turn off only behind a gateway that limits)"),
    Setting(
        "RATE_LIMIT_STORAGE",
        "memory://",
        "Where rate-limit counters live: memory:// (per process) or redis://host:6379/0 (shared by processes)",
    ),
    Setting(
        "RATE_LIMIT_INTAKE",
        "10 per minute;60 per hour",
        "Requests one client (address, or account when signed in) may file (intake API, form, Open311)",
    ),
    Setting("RATE_LIMIT_SIGNIN", "20 per minute;200 per hour", "Sign-in attempts per client address"),
    Setting("RATE_LIMIT_TOKENS", "10 per minute", "API and embed tokens one account may issue"),
    Setting("RATE_LIMIT_UPLOADS", "6 per minute", "File uploads (placement, plan import) one account may send"),
    Setting(
        "BARRIER_HIGHWAYS",
        "motorway,trunk,primary,secondary,tertiary,unclassified,residential,living_street",
        "OpenStreetMap `highway` classes `gridmap import barriers` keeps as grid walls, comma separated "
        "(waterways, railways, walls and fences are always kept)",
    ),
)


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (list, dict)):
        return json.loads(raw)
    return raw


def load(overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting: default, then ``GRIDMAP_<NAME>`` from ``environ``, then ``overrides``."""
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for s in SETTINGS:
        value = s.default
        if s.env in environ:
            try:
                value = _coerce(environ[s.env], s.default)
            except ValueError as exc:
                raise ValueError(f"{s.env}={environ[s.env]!r} is not valid: {exc}") from None
        out[s.name] = value
    for k, v in (overrides or {}).items():
        out[k] = v
    return out


def setting(name: str) -> Setting:
    for s in SETTINGS:
        if s.name == name:
            return s
    raise KeyError(name)
