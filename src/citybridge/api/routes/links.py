"""``/peer-cities/{city_id}`` and ``/partners``: thin over :meth:`Hub.peer_cities` and
:meth:`Hub.suggest_partners`; every result carries its components and a plain-language explanation."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from citybridge.api.deps import CacheDep, CallerDep, HubDep
from citybridge.api.routes.common import ID_PATTERN, errors
from citybridge.api.search_schemas import PartnersIn, PartnersOut, PeerCitiesOut
from citybridge.errors import Invalid
from citybridge.hub import Hub
from citybridge.link.peer_cities import COMPONENTS, check_weights
from citybridge.model.access import Caller

router = APIRouter(tags=["linking"])
Weight = Annotated[float | None, Query(ge=0, le=100)]


def peer_cities_cached(hub: Hub, cache: Any, city: str, caller: Caller, *, weights: dict[str, float] | None = None,
                       limit: int = 10) -> list[Any]:
    """``hub.peer_cities`` through the app cache (cleared on every write): entity pages ask for the same city
    again and again, and each uncached answer checks the store's state."""
    key = ("peer_cities", caller, city, tuple(sorted((weights or {}).items())), limit)
    try:
        return cache.get(key, lambda: hub.peer_cities(city, weights=weights, limit=limit,  # type: ignore[no-any-return]
                                                      caller=caller))
    except Invalid as exc:
        if exc.field == "city":  # the path parameter is called city_id here
            raise Invalid(exc.message, field="city_id") from None
        raise


@router.get("/peer-cities/{city_id}", response_model=PeerCitiesOut, responses=errors(401, 404, 422))
def peer_cities(
    hub: HubDep, caller: CallerDep, cache: CacheDep,
    city_id: Annotated[str, Path(pattern=ID_PATTERN, description="a city place id (or simplemaps:<id>), or a "
                                 "local government located in a city", examples=["plc_lisbon"])],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    w_population: Weight = None, w_country: Weight = None, w_region: Weight = None, w_climate: Weight = None,
    w_profile: Weight = None, w_partners: Weight = None, w_networks: Weight = None,
) -> dict[str, Any]:
    """Cities most similar to a city, each with every component (population, country, region, climate,
    profile, partners, networks), its weighted contribution and the reasons in words.

    ``w_<component>`` overrides a component's weight (0 switches it off)."""
    given = {"population": w_population, "country": w_country, "region": w_region, "climate": w_climate,
             "profile": w_profile, "partners": w_partners, "networks": w_networks}
    weights = {k: v for k, v in given.items() if v is not None}
    assert set(given) == set(COMPONENTS)
    record = hub.get(city_id, caller=caller)
    results = peer_cities_cached(hub, cache, city_id, caller, weights=weights or None, limit=limit)
    return {"city": {"id": record.id, "name": record.name, "kind": record.kind.value},
            "weights": check_weights(weights), "results": [asdict(p) for p in results]}


@router.post("/partners", response_model=PartnersOut, responses=errors(401, 404, 422))
def partners(hub: HubDep, caller: CallerDep, body: PartnersIn) -> dict[str, Any]:
    """Organisations that would complete a consortium, best first, from a call/project text, a stored
    project and/or the current partners, within the constraints; each with its signals and an explanation
    drawn from real records (shared projects, profile matches, experience). Nothing is stored."""
    results = hub.suggest_partners(body.text, body.project, body.current_partners,
                                   body.constraints.model_dump(), weights=body.weights, caller=caller)
    return {"results": [asdict(s) for s in results]}


@router.get("/link", responses=errors(401, 404, 422))
def link(
    hub: HubDep, caller: CallerDep,
    text: Annotated[str | None, Query(max_length=5000, description="the challenge, in any supported language",
                                      examples=["reduce urban heat in dense neighbourhoods"])] = None,
    entity: Annotated[str | None, Query(pattern=ID_PATTERN, description="a stored city, organisation, project, "
                                        "call or document to start from")] = None,
    place: Annotated[str | None, Query(max_length=200, description="a city that focuses geography")] = None,
    want: Annotated[list[str] | None, Query(description="sections: evidence, practice, experts, organisations, "
                                            "peer_cities, opportunities, projects (default all)")] = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> dict[str, Any]:
    """Matchmaking: for a challenge and/or an entity, ranked sections of evidence, practice, experts,
    organisations, peer cities, open calls and projects; every item has its score, the score components and
    an explanation built from real records. Nothing is stored."""
    filters = {"country": country.upper()} if country else None
    result = hub.link(text, entity, place=place, filters=filters, want=want, limit=limit, caller=caller)
    return result.to_dict()  # type: ignore[no-any-return]
