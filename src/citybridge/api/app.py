"""The ASGI application: the REST API under ``/api/v1`` (+ offline OpenAPI docs) and the web pages.

    >>> from citybridge.api import create_app
    >>> app = create_app()                      # doctest: +SKIP  (a Hub from the environment's settings)
    >>> # uvicorn.run(app)  or  citybridge serve
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citybridge import __version__
from citybridge.api.auth import dev_local_writes
from citybridge.api.deps import TTLCache
from citybridge.api.errors import ErrorOut, UploadLimit, api_error, describe
from citybridge.api.routes import (
    analytics,
    data,
    entities,
    health,
    interop,
    links,
    notify,
    relations,
    resolution,
    search,
    taxonomy,
)
from citybridge.api.schemas import record_component_schemas
from citybridge.errors import CitybridgeError
from citybridge.hub import Hub
from citybridge.settings import Settings

log = logging.getLogger("citybridge.api")
API_PREFIX = "/api/v1"
UPLOAD_PATHS = (f"{API_PREFIX}/import", "/import", "/import/preview", "/import/commit")
#: routes whose responses may legitimately run long (streams, big imports): no request timeout
UNTIMED = (f"{API_PREFIX}/export", f"{API_PREFIX}/import", "/import", "/import/preview", "/import/commit")

DESCRIPTION = """
The citybridge REST API: records (organisations, people, projects, documents, opportunities, places,
themes), their relations, stats, export, import, taxonomy and tagging; search (hybrid ranking, filters,
facets, best passages, more like this) and linking (peer cities, consortium partners), each result explained.

**Callers.** Without a token you are anonymous and see public records. A bearer token
(`Authorization: Bearer ...`) from `CITYBRIDGE_TOKENS` can make you a network member (network records),
a member of owner groups (their private records) or a curator (everything). Records you may not see
answer 404, exactly like records that do not exist.

**Writes** need a token with write rights (`CITYBRIDGE_WRITE_TOKEN`, or `"write": true` in
`CITYBRIDGE_TOKENS`); imports need a curator. In development with no token configured, writes are
accepted from 127.0.0.1 only, and such responses carry an `X-Citybridge-Dev-Write` header saying so.

**Errors** always have the shape `{"status", "code", "message", "field"}`.
"""


def _view_cache(hub: Hub) -> TTLCache:
    """The app's cache of derived views: stale after writes by this process or (SQLite) by any other."""
    from citybridge.store.state import change_token

    return TTLCache(stale=hub.settings.view_stale_seconds, version=lambda: change_token(hub.store))


def create_app(hub: Hub | None = None, *, settings: Settings | None = None, web: bool = True) -> FastAPI:
    """Build the application around a Hub (made from ``settings`` or the environment when not given)."""
    hub = hub or Hub(settings or Settings())
    app = FastAPIOffline(
        title="citybridge", version=__version__, description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json", docs_url="/api/docs", redoc_url="/api/redoc",
        static_url="/api/docs-static",
        responses={422: {"model": ErrorOut, "description": "Invalid input (the field is named)"}},
    )
    app.state.hub = hub
    app.state.cache = _view_cache(hub)
    if dev_local_writes(hub.settings, "127.0.0.1"):
        log.warning("no CITYBRIDGE_WRITE_TOKEN/CITYBRIDGE_TOKENS: API writes are accepted from 127.0.0.1 only")

    for router in (entities.router, relations.router, data.router, taxonomy.router, search.router, links.router,
                   resolution.router, notify.router, health.router, analytics.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(interop.catalog_router, prefix=API_PREFIX)
    app.include_router(interop.router)

    if web:
        from citybridge.web import mount_web

        mount_web(app)

    async def handle(request: Request, exc: Exception) -> Any:
        if web and not request.url.path.startswith("/api/"):
            from citybridge.web.views import error_page

            return error_page(request, *describe(exc)[:2])
        return await api_error(request, exc)

    for exc_type in (CitybridgeError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(exc_type, handle)

    app.add_middleware(UploadLimit, limit=hub.settings.max_upload_bytes, paths=UPLOAD_PATHS)
    app.add_middleware(RequestTimeout, seconds=hub.settings.request_timeout, untimed=UNTIMED)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the record schemas and our error schema in place of the default 422 body."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(record_component_schemas())
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path in schema.get("paths", {}).values():
        for op in path.values():
            resp = op.get("responses", {}).get("422")
            if resp:
                resp["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
                resp["description"] = "Invalid input (the field is named)"
    app.openapi_schema = schema
    return schema


class RequestTimeout:
    """ASGI middleware: a request whose response has not started after ``seconds`` gets a 504 error body.

    A response already streaming is left to finish; the worker thread of a sync route cannot be killed,
    so the timeout frees the client, not the CPU.
    """

    def __init__(self, app: ASGIApp, *, seconds: float, untimed: tuple[str, ...] = ()) -> None:
        self.app = app
        self.seconds = seconds
        self.untimed = untimed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.untimed:
            await self.app(scope, receive, send)
            return
        started = asyncio.Event()

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set()
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, watched))
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if done:
            task.result()
            return
        if started.is_set():
            await task
            return
        task.cancel()
        from fastapi.responses import JSONResponse

        from citybridge.api.errors import error_body

        body = error_body(504, "timeout", f"the request took longer than {self.seconds:g} s")
        await JSONResponse(body, status_code=504)(scope, receive, send)
