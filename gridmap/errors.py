"""gridmap's one error tree: each error carries an HTTP status, a machine code and a message fit for users.

Every error class defined in ``gridmap`` derives from :class:`GridmapError` through one of the kinds below
(``tests/test_error_tree.py`` walks the package to keep it so). The web maps them to responses in
``gridmap.web.errors``, the CLI to stderr and exit codes in ``gridmap.cli.errors``; both read ``status``,
``code`` and ``message`` from here and nowhere else.

=====================  ======  ========================  ==================================================
kind                   status  code                      for
=====================  ======  ========================  ==================================================
:class:`InvalidInput`  400     ``invalid_input``         a value, file or request that breaks a rule
:class:`Unauthorized`  401     ``unauthorized``          not signed in, or a bad password/token
:class:`Forbidden`     403     ``forbidden``             signed in, but not allowed
:class:`NotFoundError` 404     ``not_found``             no such plan, grid, request, user …
:class:`Conflict`      409     ``conflict``              clashes with what is stored (exists, changed)
:class:`TooLarge`      413     ``too_large``             a file or request over the limit
:class:`TooManyRequests` 429   ``too_many_requests``     slow down (sign-in lockout)
:class:`ConfigError`   500     ``config_error``          gridmap is not set up right (a setting, a file)
:class:`Unavailable`   503     ``unavailable``           a service gridmap needs does not answer
=====================  ======  ========================  ==================================================

``InvalidInput`` is also a ``ValueError`` and ``NotFoundError`` a ``LookupError``, as the domain errors
that now derive from them were before.
"""

from __future__ import annotations


class GridmapError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, detail: object | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(GridmapError, ValueError):
    status, code = 400, "invalid_input"


class Unauthorized(GridmapError):
    status, code = 401, "unauthorized"


class Forbidden(GridmapError):
    status, code = 403, "forbidden"


class NotFoundError(GridmapError, LookupError):
    status, code = 404, "not_found"


class Conflict(GridmapError):
    status, code = 409, "conflict"


class TooLarge(GridmapError):
    status, code = 413, "too_large"


class TooManyRequests(GridmapError):
    status, code = 429, "too_many_requests"


class ConfigError(GridmapError):
    """gridmap is not set up right: a setting, or a file an install should ship; the message says which."""

    status, code = 500, "config_error"


class Unavailable(GridmapError):
    """A service gridmap needs (the database, a Dask scheduler) does not answer; trying later may work."""

    status, code = 503, "unavailable"
