"""The pages: home, browse, one page per record kind, map, collaboration network (sign-in: account_pages)."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from citybridge.api.routes.common import ID_PATTERN, subtypes
from citybridge.errors import Invalid
from citybridge.model.entities import Kind, OrganizationType, record_to_dict
from citybridge.model.taxonomy import PATHWAYS, sdg_nodes
from citybridge.web import basemap
from citybridge.web.views import caller_of, hub_of, render

router = APIRouter()
IdPath = Annotated[str, Path(pattern=ID_PATTERN)]
BROWSE_KINDS = ("organization", "person", "project", "document", "opportunity", "place")
MAP_POINTS = 800


def _cached(request: Request, key: Any, compute: Any) -> Any:
    return request.app.state.cache.get(key, compute)


@router.get("/", response_class=HTMLResponse, name="home")
def home(request: Request) -> HTMLResponse:
    caller = caller_of(request)
    data = _cached(request, ("overview", caller), lambda: hub_of(request).overview(caller))
    return render(request, "home.html", caller=caller, data=data,
                  kinds=[k for k in BROWSE_KINDS if data["by_kind"].get(k)],
                  top_sdg=max((s["count"] for s in data["by_sdg"]), default=0),
                  top_region=max(data["by_region"].values(), default=0))


@router.get("/browse", response_class=HTMLResponse, name="browse")
def browse(
    request: Request, kind: Annotated[Kind | None, Query()] = None,
    subtype: Annotated[str | None, Query(max_length=64)] = None,
    country: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$|^$")] = None,
    after: Annotated[str | None, Query(max_length=256)] = None,
) -> HTMLResponse:
    kind_value = kind.value if kind else None
    subtype = subtype or None
    if subtype and subtype not in subtypes(kind_value):
        raise Invalid(f"unknown type '{subtype}'", field="subtype")
    rows = hub_of(request).list(kind_value, subtype=subtype, country=country or None, after=after or None,
                                limit=50, caller=caller_of(request))
    params = {k: v for k, v in {"kind": kind_value, "subtype": subtype, "country": country}.items() if v}
    next_url = f"?{urlencode({**params, 'after': rows[-1].id})}" if len(rows) == 50 else None
    first_url = f"?{urlencode(params)}" if after else None
    return render(request, "browse.html", rows=rows, kind=kind_value, subtype=subtype, country=country or "",
                  kinds=BROWSE_KINDS, subtypes=sorted(subtypes(kind_value)), next_url=next_url, first_url=first_url)


@router.get("/entity/{entity_id}", response_class=HTMLResponse, name="entity")
def entity(request: Request, entity_id: IdPath) -> Any:
    hub, caller = hub_of(request), caller_of(request)
    data = hub.show(entity_id, caller=caller)
    record = data["record"]
    if record.id != entity_id and not entity_id.partition(":")[2]:  # merged into another record: its page
        return RedirectResponse(f"{request.scope.get('root_path', '')}/entity/{record.id}", status_code=301)
    marks = data["tags"] + data["places"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for rel in data["relations"]:
        groups.setdefault(rel["type"], []).append(rel)
    texts = []
    if record.description:
        texts.append(("entity.description", present_highlight(record.description, marks, "description")))
    body = getattr(record, "body", None)
    if body:
        texts.append(("entity.excerpt", present_highlight(body, marks, "body", 3000)))
    from citybridge.web.search_pages import peers_for

    return render(request, f"entity_{record.kind.value}.html", record=record, data=data, relation_groups=groups,
                  peers=peers_for(request, record, caller),
                  texts=texts, body=record_to_dict(record), has_marks=any(m for m in marks),
                  mappable=getattr(record, "lat", None) is not None and getattr(record, "lon", None) is not None)


def present_highlight(text: str, marks: list[dict[str, Any]], field: str, limit: int = 4000) -> Markup:
    from citybridge.web.present import evidence_spans, highlight

    return highlight(text, evidence_spans(marks, field), limit)


@router.get("/map", response_class=HTMLResponse, name="map_page")
def map_page(
    request: Request,
    layer: Annotated[list[str] | None, Query()] = None,
    sdg: Annotated[str | None, Query(pattern=r"^\d{1,2}$|^$")] = None,
    pathway: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,40}$|^$")] = None,
    org_type: Annotated[str | None, Query(max_length=40)] = None,
    focus: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> HTMLResponse:
    hub, caller = hub_of(request), caller_of(request)
    layers = tuple(layer or ("city", "organization", "project"))
    if org_type and org_type not in {t.value for t in OrganizationType}:
        raise Invalid(f"unknown organisation type '{org_type}'", field="org_type")
    labels = tuple(x for x in (f"sdg:{sdg}" if sdg else None, f"pathway:{pathway}" if pathway else None) if x)
    key = ("map", caller, layers, labels, org_type or None, MAP_POINTS)
    points = _cached(request, key, lambda: hub.map_layers(caller, layers=layers, labels=labels,
                                                          org_type=org_type or None, limit=MAP_POINTS))
    drawn = {name: [(*basemap.project(p["lon"], p["lat"]), p) for p in points[name]]
             for name in ("cities", "organizations", "projects")}
    focus_point = None
    if focus:
        rec = hub.get(focus, caller=caller)
        if getattr(rec, "lat", None) is not None and getattr(rec, "lon", None) is not None:
            focus_point = (*basemap.project(rec.lon, rec.lat), rec)  # type: ignore[attr-defined]
    goals = [n for n in sdg_nodes() if n.level == "goal"]
    return render(request, "map.html", countries=basemap.countries(), graticule=basemap.graticule(),
                  outline=basemap.outline(), width=basemap.WIDTH, height=basemap.HEIGHT, drawn=drawn,
                  points=points, layers=layers, sdg=sdg or "", pathway=pathway or "", org_type=org_type or "",
                  goals=goals, pathways=PATHWAYS, org_types=[t.value for t in OrganizationType],
                  focus=focus_point, total=sum(len(v) for v in drawn.values()))


@router.get("/network/{entity_id}", response_class=HTMLResponse, name="network_page")
def network_page(request: Request, entity_id: IdPath) -> HTMLResponse:
    hub, caller = hub_of(request), caller_of(request)
    record = hub.get(entity_id, caller=caller)
    graph = hub.network(record.id, caller=caller)
    return render(request, "network.html", record=record, graph=graph,
                  graph_json=Markup(json_island(graph)))


def json_island(value: object) -> str:
    """JSON for a ``<script type="application/json">`` block: every ``<``, ``>`` and ``&`` as a \\u escape, so
    no text in the data (``</script>``, ``<!--``) can end the block or change how the browser parses it."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
