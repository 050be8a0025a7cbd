"""Domain exceptions.

Core code raises these; each interface (CLI, REST API, web) translates them exactly once:
the CLI into a one-line message and a non-zero exit code, the API into a status and a JSON error.
"""

from __future__ import annotations


class CitybridgeError(Exception):
    """Base class of every error a user can cause or see."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.where = where

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        suffix = f" (field '{self.field}')" if self.field else ""
        return f"{prefix}{self.message}{suffix}"


class NotFound(CitybridgeError):
    """A record, file or other named thing does not exist."""

    code = "not_found"
    status = 404


class Invalid(CitybridgeError):
    """Input that does not validate: bad value, malformed file, unknown kind."""

    code = "invalid"
    status = 422


class Conflict(CitybridgeError):
    """The operation conflicts with what is stored (duplicate id, stale version)."""

    code = "conflict"
    status = 409


class Forbidden(CitybridgeError):
    """The caller may not see or change this."""

    code = "forbidden"
    status = 403


class Unavailable(CitybridgeError):
    """An optional dependency, model or service is not available here."""

    code = "unavailable"
    status = 503


class Unauthorized(CitybridgeError):
    """The caller did not prove who they are (missing or unknown token) for something that needs it."""

    code = "unauthorized"
    status = 401


class TooLarge(CitybridgeError):
    """An upload or request body is larger than the configured limit."""

    code = "too_large"
    status = 413


class Throttled(CitybridgeError):
    """Too many attempts (e.g. failed sign-ins) in a short time: try again later."""

    code = "too_many_requests"
    status = 429
