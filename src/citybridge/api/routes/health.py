"""``/health``: is this instance able to serve (store, schema, search index, disk)?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from citybridge.api.deps import HubDep

router = APIRouter(tags=["health"])


@router.get("/health", responses={503: {"description": "The store cannot be reached"}})
def health(hub: HubDep) -> Any:
    """Store reachable, migrations current, search index fresh, disk space. ``status`` is ``ok``,
    ``degraded`` (serving, but something needs attention: each check says what to do) or ``down`` (HTTP 503)."""
    report = hub.health()
    return JSONResponse(report, status_code=503 if report["status"] == "down" else 200,
                        headers={"Cache-Control": "no-store"})
