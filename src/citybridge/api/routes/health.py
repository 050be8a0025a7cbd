"""``/health``: is this instance able to serve (store, schema, search index, disk)?"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from citybridge.api.deps import HubDep

router = APIRouter(tags=["health"])


class CheckOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["ok", "degraded", "down", "failed"]
    detail: str
    fix: str | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded", "down"]
    checks: dict[str, CheckOut]


@router.get("/health", response_model=HealthOut)
def health(hub: HubDep) -> Any:
    """Store reachable, migrations current, search index fresh, disk space. ``status`` is ``ok``,
    ``degraded`` (serving, but something needs attention: each check says what to do in ``fix``) or ``down``
    (the store cannot be read; answered with HTTP 503 and the same body)."""
    report = hub.health()
    return JSONResponse(report, status_code=503 if report["status"] == "down" else 200,
                        headers={"Cache-Control": "no-store"})
