"""The search and linking pages: ``/search`` (facets, best passages, paging), ``/entity/{id}/similar``,
``/partners`` (the consortium builder form), and the peer-cities section of city and local-government
pages. Every page calls the Hub; nothing here ranks, filters or explains by itself."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from citybridge.api.routes.links import peer_cities_cached
from citybridge.api.routes.search import SearchDep
from citybridge.errors import CitybridgeError, Invalid, NotFound
from citybridge.model.access import Caller
from citybridge.model.entities import Organization, OrganizationType, Place, PlaceType, Record
from citybridge.web import facet_links
from citybridge.web.messages import pick_language, translator
from citybridge.web.pages import IdPath
from citybridge.web.views import caller_of, hub_of, render, templates

router = APIRouter()
templates.env.globals["tag_names"] = facet_links.tag_names()
MAX_RESULT_PAGES = 10_000
PEERS_SHOWN = 8
PARTNER_GROUPS = ("city", "research", "company", "ngo", "public")


def _translator(request: Request) -> Any:
    return translator(pick_language(request.query_params.get("lang"), request.headers.get("accept-language")))


def _disjunctive(hub: Any, params: Any, caller: Caller, counts: dict[str, dict[str, int]]) -> None:
    """Counts of a filtered facet as if its own filter were off, so other values can still be added (any of)."""
    for name in ("kind", "subtype", "sdg", "pathway", "country", "region", "language", "source"):
        if params.filters.get(name):
            others = {k: v for k, v in params.filters.items() if k != name}
            counts[name] = hub.search(params.q, others, (name,), 1, per_page=1, caller=caller,
                                      mode="lexical")["facets"].get(name, {})


@router.get("/search", response_class=HTMLResponse, name="search_page")
def search_page(request: Request, params: SearchDep) -> HTMLResponse:
    hub, caller, _ = hub_of(request), caller_of(request), _translator(request)
    pairs = [(k, v) for k, v in request.query_params.multi_items() if v != ""]
    asked = bool(params.q or params.filters)
    data = hub.search(params.q, params.filters, None, params.page, per_page=params.per_page, caller=caller,
                      mode=params.mode)
    counts = dict(data["facets"])
    if asked:
        _disjunctive(hub, params, caller, counts)
    last = max(1, min(math.ceil(data["total"] / params.per_page), MAX_RESULT_PAGES // params.per_page))
    window = range(max(1, params.page - 2), min(last, params.page + 2) + 1)
    pages = [(n, facet_links.page_url(pairs, n)) for n in window]
    return render(request, "search.html", caller=caller, q=params.q, data=data, asked=asked,
                  groups=facet_links.groups(counts, pairs, _), chips=facet_links.chips(pairs, _),
                  clear_url=facet_links.clear_filters(pairs), page=params.page, last=last, pages=pages,
                  prev_url=facet_links.page_url(pairs, params.page - 1) if params.page > 1 else None,
                  next_url=facet_links.page_url(pairs, params.page + 1) if params.page < last else None,
                  year_from=params.filters.get("year_from") or "", year_to=params.filters.get("year_to") or "",
                  hidden=[(k, v) for k, v in pairs if k not in ("q", "page", "year_from", "year_to")],
                  first=(params.page - 1) * params.per_page + 1,
                  feed_url="/feeds/search.atom?" + urlencode([(k, v) for k, v in pairs
                                                              if k not in ("page", "per_page")]),
                  follow=[(k, v) for k, v in pairs if k in ("sdg", "pathway", "country", "kind")])


@router.get("/entity/{entity_id}/similar", response_class=HTMLResponse, name="similar_page")
def similar_page(request: Request, entity_id: IdPath) -> HTMLResponse:
    hub, caller = hub_of(request), caller_of(request)
    record = hub.get(entity_id, caller=caller)
    data = hub.more_like_this(record.id, limit=20, caller=caller)
    return render(request, "similar.html", caller=caller, record=record, results=data["results"])


# ------------------------------------------------------------------ peer cities (entity pages)
def is_city_like(record: Record) -> bool:
    return (isinstance(record, Place) and record.place_type == PlaceType.city) or (
        isinstance(record, Organization) and record.org_type == OrganizationType.local_government)


def peers_for(request: Request, record: Record, caller: Caller) -> list[Any] | None:
    """Peer cities for a city or local-government page (None when the record is neither, or is in no known
    city); cached by the app until the next write."""
    if not is_city_like(record):
        return None
    try:
        return peer_cities_cached(hub_of(request), request.app.state.cache, record.id, caller, limit=PEERS_SHOWN)
    except (NotFound, Invalid):
        return None


# ------------------------------------------------------------------ partners
def _lines(text: str | None, limit: int) -> list[str]:
    return [x.strip() for x in (text or "").replace(",", "\n").splitlines() if x.strip()][:limit]


@router.get("/partners", response_class=HTMLResponse, name="partners_page")
def partners_page(
    request: Request,
    text: Annotated[str | None, Query(max_length=5000)] = None,
    partner: Annotated[list[str] | None, Query(max_length=50)] = None,
    partners: Annotated[str | None, Query(max_length=5000)] = None,
    country: Annotated[str | None, Query(max_length=400)] = None,
    org_type: Annotated[list[str] | None, Query(max_length=10)] = None,
    max_results: Annotated[int, Query(ge=1, le=50)] = 10,
) -> HTMLResponse:
    hub, caller = hub_of(request), caller_of(request)
    current = list(dict.fromkeys([*(partner or ()), *_lines(partners, 50)]))
    types = [t for t in org_type or () if t]
    countries = [c.upper() for c in _lines((country or "").replace(" ", ","), 60)]
    form = {"text": text or "", "partners": "\n".join(current), "country": " ".join(countries), "types": types,
            "max_results": max_results}
    known = [hub.get(p, caller=caller) for p in current if _exists(hub, p, caller)]
    asked = bool((text or "").strip() or current)
    results, error, status = None, None, 200
    if asked:
        try:
            results = hub.suggest_partners(text, None, current, {"countries": countries, "org_types": types,
                                                                 "max_results": max_results}, caller=caller)
        except CitybridgeError as exc:
            error, status = exc.message, exc.status
    return render(request, "partners.html", caller=caller, form=form, results=results, error=error,
                  status_code=status, known=known, groups=PARTNER_GROUPS, asked=asked)


def _exists(hub: Any, ref: str, caller: Caller) -> bool:
    try:
        hub.get(ref, caller=caller)
    except CitybridgeError:
        return False
    return True
