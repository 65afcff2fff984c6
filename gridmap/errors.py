"""gridmap's error tree: each error carries an HTTP status, a machine code and a message fit for users."""
from __future__ import annotations


class GridmapError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, detail: object | None = None):
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(GridmapError):
    status, code = 400, "invalid_input"


class Unauthorized(GridmapError):
    status, code = 401, "unauthorized"


class Forbidden(GridmapError):
    status, code = 403, "forbidden"


class NotFoundError(GridmapError):
    status, code = 404, "not_found"


class Conflict(GridmapError):
    status, code = 409, "conflict"


class TooLarge(GridmapError):
    status, code = 413, "too_large"


class TooManyRequests(GridmapError):
    status, code = 429, "too_many_requests"
