"""The web UI: server-rendered pages (Jinja2) over :class:`citybridge.hub.Hub`, with a few small scripts
for the map and the network view. Everything it needs is served by the app itself (no CDN).

:func:`mount_web` adds the page routers in :data:`ROUTERS` and the ``/static`` files to an app.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from citybridge.web.account_pages import router as account_router
from citybridge.web.analytics_pages import router as analytics_router
from citybridge.web.import_pages import router as import_router
from citybridge.web.link_pages import router as link_router
from citybridge.web.notify_pages import router as notify_router
from citybridge.web.pages import router as pages_router
from citybridge.web.review_pages import router as review_router
from citybridge.web.search_pages import router as search_router

#: page routers, in order; a new group of pages is one more router here
ROUTERS: list[APIRouter] = [pages_router, search_router, link_router, import_router, review_router, notify_router,
                            account_router, analytics_router]


def mount_web(app: FastAPI) -> None:
    from citybridge.web.views import HERE

    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")


__all__ = ["ROUTERS", "mount_web"]
