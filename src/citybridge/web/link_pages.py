"""The "find help for a challenge" page: the linking service's sections with their explanations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from citybridge.errors import CitybridgeError
from citybridge.link.matchmaking import SECTIONS
from citybridge.web.views import caller_of, hub_of, render

router = APIRouter()


@router.get("/challenge", response_class=HTMLResponse, name="challenge_page")
def challenge_page(
    request: Request,
    text: Annotated[str | None, Query(max_length=5000)] = None,
    city: Annotated[str | None, Query(max_length=200)] = None,
    entity: Annotated[str | None, Query(max_length=200)] = None,
    want: Annotated[list[str] | None, Query(max_length=len(SECTIONS))] = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> HTMLResponse:
    hub, caller = hub_of(request), caller_of(request)
    chosen = [w for w in (want or []) if w]
    form = {"text": text or "", "city": city or "", "entity": entity or "", "want": chosen, "limit": limit}
    asked = bool((text or "").strip() or (entity or "").strip())
    result, error, status = None, None, 200
    if asked:
        try:
            result = hub.link(text or None, (entity or "").strip() or None, place=(city or "").strip() or None,
                              want=chosen or None, limit=limit, caller=caller)
        except CitybridgeError as exc:
            error, status = exc.message, exc.status
    return render(request, "challenge.html", caller=caller, form=form, result=result, error=error,
                  sections=SECTIONS, status_code=status, asked=asked)
