"""``/taxonomy`` (SDGs, pathways, user themes), ``/tag`` (texts -> labels with evidence) and ``/map``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from citybridge.api.deps import CacheDep, CallerDep, HubDep
from citybridge.api.routes.common import errors
from citybridge.api.schemas import MapOut, TagIn, TagOut, ThemeOut
from citybridge.errors import Invalid
from citybridge.model.entities import OrganizationType
from citybridge.model.taxonomy import PATHWAYS

router = APIRouter(tags=["taxonomy"])
MAX_TAG_CHARS = 100_000


@router.get("/taxonomy", response_model=list[ThemeOut], responses=errors(401, 422))
def taxonomy(hub: HubDep, cache: CacheDep,
             scheme: Annotated[str | None, Query(description="sdg, pathway or a user scheme", max_length=64)] = None,
             level: Annotated[str | None, Query(description="e.g. goal or target", max_length=32)] = None,
             ) -> list[dict[str, Any]]:
    """Taxonomy nodes: 17 SDGs and 169 targets, the 5 pathways, and themes users added."""
    themes = cache.get(("taxonomy", scheme), lambda: hub.taxonomy(scheme))
    return [{"id": t.id, "scheme": t.scheme, "code": t.code, "name": t.name, "parent": t.parent, "level": t.level,
             "description": t.description, "labels": t.labels} for t in themes if level is None or t.level == level]


@router.post("/tag", response_model=list[TagOut], responses=errors(401, 422, 503))
def tag(hub: HubDep, body: TagIn) -> list[dict[str, Any]]:
    """SDG, pathway and user-taxonomy labels for free texts, with scores and the evidence spans; nothing is
    stored."""
    for i, text in enumerate(body.texts):
        if len(text) > MAX_TAG_CHARS:
            raise Invalid(f"text longer than {MAX_TAG_CHARS:,} characters", field=f"texts.{i}")
    labels = hub.tag(body.texts, lang=body.lang)
    names = _names(hub)
    return [{"text": text, "labels": [
        {"scheme": lab.scheme, "code": lab.code, "name": names.get(f"{lab.scheme}:{lab.code}"),
         "score": round(float(lab.score), 4),
         "evidence": [{"text": e.text, "start": e.start, "end": e.end, "kind": e.kind} for e in lab.evidence]}
        for lab in labs]} for text, labs in zip(body.texts, labels, strict=True)]


def _names(hub: Any) -> dict[str, str]:
    from citybridge.model.taxonomy import sdg_nodes

    return {f"{n.scheme}:{n.code}": n.name for n in (*sdg_nodes(), *PATHWAYS)}


@router.get("/map", response_model=MapOut, responses=errors(401, 422))
def map_points(
    hub: HubDep, caller: CallerDep, cache: CacheDep,
    layer: Annotated[list[Literal["city", "organization", "project"]] | None, Query(
        description="layers to return (repeatable; default all)")] = None,
    sdg: Annotated[str | None, Query(pattern=r"^\d{1,2}(\.[0-9a-z]{1,2})?$", description="SDG goal or target")]
    = None,
    pathway: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,40}$", examples=["nature-based"])] = None,
    org_type: Annotated[OrganizationType | None, Query(description="organisations of this type only")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 3000,
) -> Response:
    """Points for the map: cities records are in or about, organisations with coordinates, and projects at
    their partners' places; filter by SDG, pathway and organisation type."""
    labels = tuple(x for x in (f"sdg:{sdg}" if sdg else None, f"pathway:{pathway}" if pathway else None) if x)
    layers = tuple(layer or ("city", "organization", "project"))
    key = ("map.json", caller, layers, labels, org_type, limit)

    def compute() -> bytes:  # validated and serialised once per view, not once per request (thousands of points)
        points = hub.map_layers(caller, layers=layers, labels=labels, org_type=org_type.value if org_type else None,
                                limit=limit)
        return MapOut.model_validate(points).model_dump_json().encode()

    return Response(cache.get(key, compute), media_type="application/json")
