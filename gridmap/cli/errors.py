"""The CLI's one mapping from errors to a line on stderr and an exit code.

Exit codes: 0 ok; 1 failed — a user's or data error (any :class:`~gridmap.errors.GridmapError`: a bad file,
an unknown plan, a conflict with the store, an unreachable database, a bad setting …) or a file that cannot
be read or written: the reason on stderr as one ``Error: …`` line, no traceback; 2 usage (click's own: an
unknown option, a bad value). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import datetime as dt
import errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from gridmap import clock, config
from gridmap.errors import ConfigError, GridmapError

EXIT_FAILED, EXIT_USAGE = 1, 2

#: error class → exit code; the first class that matches wins, the message is the error's own
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (GridmapError, EXIT_FAILED),  # every user, data, conflict, not-found, store and setting error
    (OSError, EXIT_FAILED),  # a path that cannot be read or written (--out, --report …)
)


def exit_code(err: BaseException) -> int | None:
    """The exit code for ``err``, or None when it is not a user's error (a bug: keep its traceback)."""
    if isinstance(err, OSError) and err.errno == errno.EPIPE:
        return None  # output piped into `head`: click ends quietly
    return next((code for cls, code in EXIT_CODES if isinstance(err, cls)), None)


def message(err: BaseException) -> str:
    return err.message if isinstance(err, GridmapError) else str(err)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report a user's error as click does (``Error: …`` on stderr, its exit code) instead of a traceback."""
    try:
        yield
    except tuple(cls for cls, _ in EXIT_CODES) as exc:
        code = exit_code(exc)
        if code is None:
            raise
        failure = click.ClickException(message(exc))
        failure.exit_code = code  # type: ignore[misc]  # click types exit_code a ClassVar; an instance's own is honoured
        raise failure from None


def settings() -> dict[str, Any]:
    """Every setting (:func:`gridmap.config.load`); a bad ``GRIDMAP_*`` value is a :class:`ConfigError`."""
    try:
        return config.load()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def zone_setting() -> dt.tzinfo:
    """The service's time zone (``GRIDMAP_TIMEZONE``); an unknown name is a :class:`ConfigError`."""
    try:
        return clock.zone(settings()["TIMEZONE"])
    except ValueError as exc:
        raise ConfigError(f"GRIDMAP_TIMEZONE: {exc}") from None
