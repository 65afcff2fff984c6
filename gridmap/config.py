"""Settings as data: name, default, help and the rule a value must keep. Read from defaults →
``GRIDMAP_<NAME>`` environment → overrides.

Every ``GRIDMAP_*`` value is parsed and checked here, once, by :func:`load` (types, ranges, choices, JSON): a bad
value is a :class:`SettingError` naming the variable. :func:`problems` lists every bad value at once and
:func:`unknown` the ``GRIDMAP_*`` names that are no setting, each with the nearest known name
(``gridmap settings --check``). README's settings table is checked against :data:`SETTINGS` by a test: add a
row there when you add one here.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import ipaddress
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gridmap.errors import ConfigError


class SettingError(ConfigError, ValueError):
    """A ``GRIDMAP_*`` variable whose value breaks its rule; the message names the variable."""


def _choices(*options: str, fold: bool = True) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if (str(value).lower() if fold else str(value)) not in options:
            raise ValueError(f"must be one of {', '.join(options)}")

    return check


def _between(low: float | None = None, high: float | None = None) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"between {low} and {high}" if low is not None and high is not None else f"at least {low}"
            raise ValueError(f"must be {span}")

    return check


def _iso_dates(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError('must be a JSON list of ISO dates, e.g. ["2026-10-09"]')
    for item in value:
        try:
            dt.date.fromisoformat(str(item))
        except ValueError:
            raise ValueError(f"{item!r} is not an ISO date (YYYY-MM-DD)") from None


def _sla_days(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError('must be a JSON object of working days per kind, e.g. {"complaint": 10}')
    bad = {k: v for k, v in value.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        raise ValueError(f"days must be whole numbers of at least 1: {bad}")


def networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses or CIDR blocks separated by spaces or commas; ``ValueError`` names a bad one."""
    out = []
    for item in str(text).replace(",", " ").split():
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR block") from None
    return out


def _addresses(value: Any) -> None:
    networks(str(value))


def _proxies(value: Any) -> None:
    text = str(value).strip()
    if text.isdigit():
        if int(text) > 10:
            raise ValueError("a hop count must be between 0 and 10")
        return
    networks(text)


def _fallbacks(value: Any) -> None:
    if not isinstance(value, list):
        raise ValueError('must be a JSON list of {"key": …, "until": "2027-01-31T00:00:00Z"}')
    for item in value:
        if not isinstance(item, dict) or not item.get("key") or not item.get("until"):
            raise ValueError('every old key needs "key" and "until" (when it stops verifying)')
        try:
            dt.datetime.fromisoformat(str(item["until"]).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"until {item['until']!r} is not an ISO time") from None


def _zone(value: Any) -> None:
    try:
        ZoneInfo(str(value).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone name such as Asia/Shanghai or UTC") from None


def _database_url(value: Any) -> None:
    if "://" not in str(value):
        raise ValueError("must be a URL such as sqlite:///gridmap.db or postgresql+psycopg://user:pw@host/db")


def _district(value: Any) -> None:
    if not (str(value).isdigit() and len(str(value)) == 6):
        raise ValueError("must be a 6-digit GB/T 2260 code such as 370214")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    #: raises ``ValueError`` (its message says what the value must be) when a parsed value breaks the rule
    check: Callable[[Any], None] | None = None

    @property
    def env(self) -> str:
        return "GRIDMAP_" + self.name


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "sqlite:///gridmap.db",
        "Where the store lives: sqlite:///path.db (embedded, default) or postgresql+psycopg://user:pw@host/db",
        _database_url,
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Key that signs sessions, CSRF and embed tokens. `gridmap serve` refuses to start without one, unless "
        "`gridmap init` (or `gridmap demo`) wrote one into the instance file beside the store",
    ),
    Setting(
        "SECRET_KEY_FALLBACKS",
        [],
        "Old keys that still verify sessions and embed tokens until a time, after a rotation: JSON list of "
        '{"key": …, "until": "2027-01-31T00:00:00Z"} (`gridmap init --rotate` keeps them in the instance file)',
        _fallbacks,
    ),
    Setting(
        "INSTANCE_FILE",
        "",
        "File holding the generated secret key (mode 0600); default: beside the SQLite store "
        "(gridmap.db → gridmap.instance.json), else gridmap.instance.json in the working directory",
    ),
    Setting(
        "LOG_LEVEL",
        "INFO",
        "Lowest level logged: DEBUG, INFO, WARNING, ERROR or CRITICAL",
        _choices("debug", "info", "warning", "error", "critical"),
    ),
    Setting(
        "LOG_FORMAT",
        "text",
        "Log lines as text or json (one JSON object a line); every line carries the request id",
        _choices("text", "json"),
    ),
    Setting(
        "TRUSTED_PROXIES",
        "",
        "Reverse proxies whose X-Forwarded-For/-Proto/-Host and X-Request-ID are believed: a hop count (1 = one "
        "nginx in front) or their addresses/CIDR blocks; empty: none (clients connect directly)",
        _proxies,
    ),
    Setting(
        "METRICS_ADDRESSES",
        "127.0.0.1 ::1",
        "Client addresses or CIDR blocks that may read /metrics without signing in (space separated)",
        _addresses,
    ),
    Setting(
        "METRICS_ROLE",
        "admin",
        "Lowest role that may read /metrics when signed in (from any address)",
        _choices("viewer", "department", "grid_leader", "community_official", "street_official", "planner", "admin"),
    ),
    Setting("MIN_HOUSEHOLDS", 300, "Default lower bound of households per grid", _between(1)),
    Setting("MAX_HOUSEHOLDS", 500, "Default upper bound of households per grid", _between(1)),
    Setting("DISTRICT_CODE", "370214", "GB/T 2260 code of the district served (Chengyang 370214)", _district),
    Setting(
        "DEFAULT_LOCALE",
        "zh_CN",
        "Interface language when the user has not chosen one (zh_CN or en)",
        _choices("zh_CN", "en", fold=False),
    ),
    Setting(
        "TIMEZONE",
        "Asia/Shanghai",
        "Time zone of the people served (IANA name): dates on pages, Open311 offsets, KPI months and years, "
        "working days and their end; times are kept in UTC",
        _zone,
    ),
    Setting("MAX_CONTENT_LENGTH", 64 * 1024 * 1024, "Largest accepted request body, bytes", _between(1024)),
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
    Setting(
        "COOKIE_SECURE",
        "auto",
        "Secure cookies: auto (when the request came over https), always, or never",
        _choices("auto", "always", "never"),
    ),
    Setting("LOGIN_MAX_FAILURES", 5, "Wrong passwords in a row before an account is locked", _between(1)),
    Setting("LOGIN_LOCKOUT_SECONDS", 900, "How long a locked account stays locked", _between(1)),
    Setting(
        "LOGIN_MAX_FAILURES_PER_IP",
        20,
        "Failed sign-ins from one address within LOGIN_LOCKOUT_SECONDS before it is refused",
        _between(1),
    ),
    Setting("HOST", "127.0.0.1", "Address `gridmap serve` listens on"),
    Setting("PORT", 5000, "Port `gridmap serve` listens on", _between(1, 65535)),
    Setting("THREADS", 8, "Worker threads of `gridmap serve` (waitress, a production WSGI server)", _between(1, 1024)),
    Setting(
        "BASEMAP",
        "none",
        "Basemap under the maps: none (boundaries and labels only; works offline), xyz (BASEMAP_URL), "
        "tianditu (TIANDITU_KEY) or amap (GCJ-02 tiles; overlays are shifted to match)",
        _choices("none", "xyz", "tianditu", "amap"),
    ),
    Setting("BASEMAP_URL", "", "Tile URL template for BASEMAP=xyz, e.g. https://tiles.example.gov.cn/{z}/{x}/{y}.png"),
    Setting("BASEMAP_ATTRIBUTION", "", "Attribution shown for the basemap (default: the provider's)"),
    Setting("TIANDITU_KEY", "", "天地图 API key for BASEMAP=tianditu"),
    Setting(
        "COMPLAINT_SLA_DAYS",
        {},
        "Working days per SLA kind, overriding the defaults "
        '{"consultation": 2, "help": 10, "suggestion": 10, "complaint": 15} (JSON object)',
        _sla_days,
    ),
    Setting(
        "COMPLAINT_HOLIDAYS",
        [],
        "Extra days off for complaint clocks, ISO dates (JSON list); added to "
        "the CN public-holiday calendar of the `holidays` package",
        _iso_dates,
    ),
    Setting(
        "COMPLAINT_WORKDAYS",
        [],
        "Extra working days (make-up 调休 days) for complaint clocks, ISO dates",
        _iso_dates,
    ),
    Setting(
        "COMPLAINT_REOPEN_DAYS", 15, "Days after resolution within which an unsatisfied resident reopens", _between(0)
    ),
    Setting(
        "COMPLAINT_ESCALATION_DAYS", 3, "Working days overdue before 督办 moves from community to street", _between(0)
    ),
    Setting(
        "COMPLAINT_BOUNDARY_M", 30.0, "A request closer than this (m) to another grid needs confirmation", _between(0)
    ),
    Setting(
        "COMPLAINT_NEAREST_M",
        60.0,
        "A point off every building goes to the nearest building within this (m)",
        _between(0),
    ),
    Setting(
        "COMPLAINT_RESPONSE_DAYS",
        1,
        "Working days within which a first response counts for the response rate",
        _between(0),
    ),
    Setting("COMPLAINT_SATISFIED_MIN", 4, "Ratings (1–5) at or above this count as satisfied", _between(1, 5)),
    Setting("TILE_MAX_AGE", 60, "Seconds browsers may reuse a vector tile before revalidating it (ETag)", _between(0)),
    Setting(
        "TILE_CACHE_MAX_ZOOM",
        18,
        "Deepest zoom whose vector tiles the tile cache keeps; deeper ones are drawn per request",
        _between(0, 24),
    ),
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


#: ``GRIDMAP_*`` variables read by something other than :data:`SETTINGS` (command options, the test suite)
OTHER_VARIABLES = frozenset({"GRIDMAP_DEMO_PASSWORD", "GRIDMAP_PASSWORD"})
#: prefixes of variables the test suite and benchmarks read
OTHER_PREFIXES = ("GRIDMAP_TEST_", "GRIDMAP_BENCH_")

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        text = raw.strip().lower()
        if text not in _TRUE + _FALSE:
            raise ValueError("must be true or false (also 1/0, yes/no, on/off)")
        return text in _TRUE
    if isinstance(default, int):
        try:
            return int(raw.strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    if isinstance(default, float):
        try:
            return float(raw.strip())
        except ValueError:
            raise ValueError("must be a number") from None
    if isinstance(default, (list, dict)):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"is not JSON ({exc})") from None
        if not isinstance(value, type(default)):
            raise ValueError(f"must be a JSON {'list' if isinstance(default, list) else 'object'}")
        return value
    return raw


def parse(s: Setting, raw: str) -> Any:
    """The value of ``s`` from its variable's text; :class:`SettingError` naming the variable if it is bad."""
    try:
        value = _coerce(raw, s.default)
        if s.check is not None:
            s.check(value)
    except ValueError as exc:
        shown = "****" if "KEY" in s.name else repr(raw if len(raw) <= 80 else raw[:77] + "...")
        raise SettingError(f"{s.env}={shown} is not valid: {exc}") from None
    return value


def load(overrides: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting: default, then ``GRIDMAP_<NAME>`` from ``environ``, then ``overrides``.

    Each call returns fresh values (a default list or dict is copied, never shared between callers).
    """
    environ = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for s in SETTINGS:
        out[s.name] = parse(s, environ[s.env]) if s.env in environ else copy.deepcopy(s.default)
    for k, v in (overrides or {}).items():
        out[k] = v
    return out


def problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every bad ``GRIDMAP_*`` value, one message each naming its variable (empty when all are good)."""
    environ = os.environ if environ is None else environ
    out = []
    for s in SETTINGS:
        if s.env in environ:
            try:
                parse(s, environ[s.env])
            except SettingError as exc:
                out.append(str(exc))
    return out


def unknown(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``GRIDMAP_*`` variable that is no setting, with the nearest known name."""
    environ = os.environ if environ is None else environ
    known = [s.env for s in SETTINGS] + sorted(OTHER_VARIABLES)
    out = []
    for name in sorted(environ):
        if not name.startswith("GRIDMAP_") or name in known or name.startswith(OTHER_PREFIXES):
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]}?" if near else ""
        out.append(f"{name} is not a gridmap setting and is ignored{hint}")
    return out


def setting(name: str) -> Setting:
    for s in SETTINGS:
        if s.name == name:
            return s
    raise KeyError(name)
