"""The curators' review page: proposed merges side by side (both records, the evidence) with accept /
reject, and the merge log with undo. Thin over the Hub's merge methods."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from citybridge.errors import CitybridgeError, Invalid
from citybridge.model.entities import record_to_dict
from citybridge.web.views import check_csrf, curator_grant, hub_of, render, same_origin

router = APIRouter()
PER_PAGE = 10
#: the fields shown side by side, in order
FIELDS = ("name", "subtype", "country", "city", "acronym", "aliases", "external_ids", "website", "provenance")
ACTIONS = {"accept": "accept_merge", "reject": "reject_merge", "undo": "undo_merge"}


def _side(record: Any, relations: int | None) -> dict[str, Any] | None:
    if record is None:
        return None
    body = record_to_dict(record)
    rows = []
    for f in FIELDS:
        v = record.subtype if f == "subtype" else body.get(f)
        if f == "external_ids" and v:
            v = ", ".join(f"{s}:{x}" for s, x in sorted(v.items()))
        elif f == "provenance" and v:
            v = ", ".join(sorted({p.get("source", "?") for p in v}))
        elif isinstance(v, list):
            v = "; ".join(str(x) for x in v[:8])
        if v not in (None, "", []):
            rows.append((f, str(v)))
    return {"id": record.id, "kind": record.kind.value, "name": record.name, "rows": rows, "relations": relations}


def _evidence(reasons: dict[str, Any]) -> dict[str, Any]:
    feats = reasons.get("features") or reasons.get("evidence") or {}
    plain = {k: v for k, v in reasons.items() if k not in ("features", "evidence", "candidates")
             and not isinstance(v, dict | list)}
    return {"plain": plain, "features": sorted(feats.items(), key=lambda kv: -abs(kv[1]))[:10],
            "candidates": reasons.get("candidates") or []}


@router.get("/review", response_class=HTMLResponse, name="review_page")
def review_page(
    request: Request,
    status: Annotated[str, Query(pattern="^(proposed|applied|rejected|undone)$")] = "proposed",
    kind: Annotated[str | None, Query(pattern="^(organization|person|place|document)?$")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    done: Annotated[str | None, Query(pattern="^(accept|reject|undo)$")] = None,
    merge: Annotated[str | None, Query(pattern=r"^mrg_[0-9a-f]{16}$")] = None,
) -> HTMLResponse:
    try:
        curator_grant(request)
    except CitybridgeError:
        return render(request, "review.html", allowed=False, status_code=403)
    hub = hub_of(request)
    rows = hub.merges(status=status, kind=kind or None, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    items = []
    for m in rows[:PER_PAGE]:
        d = hub.merge_detail(m["id"])
        items.append({"merge": m, "survivor": _side(d["survivor"], d["relations"]["survivor"]),
                      "merged": _side(d["merged"], d["relations"]["merged"]), "evidence": _evidence(m["reasons"])})
    return render(request, "review.html", allowed=True, items=items, status=status, kind=kind or "", page=page,
                  more=len(rows) > PER_PAGE, counts=hub.merge_counts(), done=done, done_id=merge)


@router.post("/review/{merge_id}/{action}", name="review_action")
async def review_action(request: Request, merge_id: str, action: str) -> RedirectResponse:
    same_origin(request)
    grant = curator_grant(request)
    if action not in ACTIONS:
        raise Invalid(f"unknown action '{action}' (accept, reject or undo)", field="action")
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, form)
    back = str(form.get("status") or "proposed")
    hub = hub_of(request)
    await run_in_threadpool(getattr(hub, ACTIONS[action]), merge_id, changed_by=f"web:{grant.caller.user}")
    request.app.state.cache.clear()
    back = back if back in ("proposed", "applied", "rejected", "undone") else "proposed"
    return RedirectResponse(f"/review?status={back}&done={action}&merge={merge_id}", status_code=303)
