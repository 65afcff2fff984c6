"""``with cli_store() as store:``: the store named by ``GRIDMAP_DATABASE_URL``, open for one command; and
:func:`cli_actor`, who the audit log says did what a command changed.

Errors opening it (no backend for the URL, an unreachable or unreadable database) are the store's own
:class:`~gridmap.store.StoreError` kinds, reported by :mod:`gridmap.cli.errors` like every other error.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

from gridmap.cli.errors import settings
from gridmap.store import Store, open_store


def cli_actor() -> str:
    """The audit log's actor for a command: ``cli:<login name>`` (``cli`` where there is none)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


@contextmanager
def cli_store() -> Iterator[Store]:
    """Open (and migrate) the store from the settings; close it when the block ends, however it ends."""
    store = open_store(settings()["DATABASE_URL"])
    try:
        yield store
    finally:
        store.close()
