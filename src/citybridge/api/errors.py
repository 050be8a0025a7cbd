"""The one error schema of the API and the one place that produces it.

Domain exceptions (:mod:`citybridge.errors`), request-validation errors and HTTP errors all become
``{"status", "code", "message", "field"}`` with the matching status code; nothing a client sends
should produce a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citybridge.errors import CitybridgeError
from citybridge.store.db_errors import describe_database_error

log = logging.getLogger("citybridge.api")

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "invalid", 429: "too_many_requests", 500: "internal", 503: "unavailable"}


class ErrorOut(BaseModel):
    """Every API error: HTTP status, a stable machine code, a one-line message, and the field at fault."""

    status: int = Field(examples=[404])
    code: str = Field(description="not_found, invalid, conflict, forbidden, unauthorized, too_large, ...",
                      examples=["not_found"])
    message: str = Field(examples=["no record with id 'org_123'"])
    field: str | None = Field(default=None, description="the request field at fault, when there is one",
                              examples=[None])


def error_body(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"status": status, "code": code, "message": message, "field": field}


def describe(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, error body, extra headers) for any exception reaching an interface."""
    if isinstance(exc, CitybridgeError):
        msg = f"{exc.where}: {exc.message}" if exc.where else exc.message
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return exc.status, error_body(exc.status, exc.code, msg, exc.field), headers
    if isinstance(exc, RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        raw = list(first.get("loc", ()))
        if raw and raw[0] == "query":  # a repeated query parameter is named without its position
            raw = [p for p in raw if not isinstance(p, int)]
        loc = [str(p) for p in raw if p not in ("body", "query", "path", "header", "cookie")]
        # a body that is wrong as a whole (not an object, malformed JSON) is named as the body
        field = ".".join(loc) or ("body" if raw and raw[0] == "body" else None)
        msg = str(first.get("msg", "invalid request"))
        message = f"{field}: {msg}" if field else msg
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return 422, error_body(422, "invalid", message, field), {}
    if isinstance(exc, HTTPException):
        code = HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        field = getattr(exc, "field", None)
        return exc.status_code, error_body(exc.status_code, code, detail, field), dict(exc.headers or {})
    if isinstance(exc, SQLAlchemyError):
        problem = describe_database_error(exc)
        log.error("%s", problem, exc_info=exc)
        where = f" (table {problem.table})" if problem.table else ""
        return 503, error_body(503, "database", f"database error{where}; see the server log"), {}
    log.exception("unexpected error", exc_info=exc)
    return 500, error_body(500, "internal", "internal error; see the server log"), {}


async def api_error(request: Request, exc: Exception) -> JSONResponse:
    status, body, headers = describe(exc)
    return JSONResponse(body, status_code=status, headers=headers)


class TooLargeBody(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"upload larger than the limit of {limit:,} bytes (CITYBRIDGE_MAX_UPLOAD_BYTES)")
        self.field = "file"


class UploadLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes on the upload paths.

    A declared Content-Length over the limit is answered at once (nothing is read); a body that grows past
    it while streaming raises :class:`TooLargeBody`, which the exception handler turns into a 413.
    """

    def __init__(self, app: ASGIApp, *, limit: int, paths: tuple[str, ...]) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            _status, body, _h = describe(TooLargeBody(self.limit))
            await JSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLargeBody(self.limit)
            return message

        await self.app(scope, counted, send)
