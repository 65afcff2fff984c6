"""Open a store by URL: the scheme chooses the backend (``sqlite:///…``, ``postgresql+psycopg://…``)."""

from __future__ import annotations

from importlib import import_module

import sqlalchemy.exc
from sqlalchemy.engine import make_url

from gridmap.store.base import (  # noqa: F401
    MVT,
    SPATIAL_QUERIES,
    ConflictError,
    NotFound,
    Range,
    SchemaError,
    Store,
    StoreError,
    StoreUnavailable,
    WriteResult,
)

#: URL scheme (before any ``+driver``) → "module:Class"
BACKENDS = {
    "sqlite": "gridmap.store.sqlite:SQLiteStore",
    "postgresql": "gridmap.store.postgis:PostGISStore",
    "postgres": "gridmap.store.postgis:PostGISStore",
}


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the store at ``url`` and (by default) bring its schema to the newest revision.

    :class:`StoreError` when no backend serves the URL, :class:`StoreUnavailable` when the database
    cannot be reached or opened.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    try:
        target = BACKENDS[scheme]
    except KeyError:
        raise StoreError(
            f"no store backend for {url.split(':', 1)[0]!r} URLs; use one of: {', '.join(sorted(BACKENDS))}"
        ) from None
    if scheme.startswith("postgres") and "+" not in url.split(":", 1)[0]:
        url = "postgresql+psycopg:" + url.split(":", 1)[1]
    module, cls = target.split(":")
    store = None
    try:
        store = getattr(import_module(module), cls)(url)
        if migrate:
            store.migrate()
    except (sqlalchemy.exc.DBAPIError, OSError) as exc:  # server down, bad credentials, not a database …
        _close(store)
        reason = getattr(exc, "orig", None) or exc
        raise StoreUnavailable(f"cannot open the store at {redact_url(url)}: {' '.join(str(reason).split())}") from None
    return store


def _close(store: Store | None) -> None:
    if store is not None:
        store.close()


def redact_url(url: str) -> str:
    """The store URL with its password hidden, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<GRIDMAP_DATABASE_URL>"
