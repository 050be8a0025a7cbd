"""``/search`` (ranked, filtered, faceted) and ``/entities/{id}/similar`` (more like this): thin over
:meth:`Hub.search <citybridge.hub.Hub.search>` and :meth:`Hub.more_like_this`. The web search page parses
its query string with the same :class:`SearchParams`, so both answer bad filters the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BeforeValidator, Field, StringConstraints

from citybridge.api.deps import CallerDep, HubDep
from citybridge.api.routes.common import errors, subtypes
from citybridge.api.routes.entities import IdPath
from citybridge.api.search_schemas import FacetName, PathwayCode, SdgGoal, SearchMode, SearchOut, SimilarOut
from citybridge.errors import Invalid
from citybridge.model.entities import Kind

router = APIRouter(tags=["search"])
MAX_PER_PAGE = 100
MAX_VALUES = 30  # values per repeatable filter
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: a year; empty (an HTML form's blank field) means no bound
Year = Annotated[Annotated[int, Field(ge=1, le=9999)] | None, BeforeValidator(lambda v: None if v == "" else v)]
FILTERS = ("kind", "subtype", "sdg", "pathway", "country", "region", "language", "source", "year_from", "year_to")


@dataclass
class SearchParams:
    """The query string of a search, validated (repeatable filters: any of the values may match)."""

    q: str
    filters: dict[str, Any]
    page: int
    per_page: int
    mode: str
    facets: tuple[str, ...] | None

    def active(self) -> list[tuple[str, str]]:
        """(filter, value) pairs in URL order, for links that add or remove one."""
        out: list[tuple[str, str]] = []
        for name in FILTERS:
            value = self.filters.get(name)
            if isinstance(value, list):
                out += [(name, str(v)) for v in value]
            elif value is not None:
                out.append((name, str(value)))
        return out


def search_params(
    q: Annotated[str, Query(max_length=1000, description='words, "phrases" and prefix*; empty: every record '
                                                         "matching the filters", examples=["urban heat"])] = "",
    kind: Annotated[list[Kind] | None, Query(description="record kinds (repeatable)", max_length=MAX_VALUES)] = None,
    subtype: Annotated[list[Name] | None, Query(description="e.g. local_government, university, report",
                                                max_length=MAX_VALUES)] = None,
    sdg: Annotated[list[SdgGoal] | None, Query(description="SDG goal numbers, 1-17 (repeatable)",
                                               max_length=MAX_VALUES)] = None,
    pathway: Annotated[list[PathwayCode] | None, Query(description="development pathways (repeatable)",
                                                       max_length=MAX_VALUES)] = None,
    country: Annotated[list[Country] | None, Query(description="ISO 3166-1 alpha-2 codes (repeatable)",
                                                   max_length=MAX_VALUES, examples=[["PT", "BR"]])] = None,
    region: Annotated[list[Name] | None, Query(description="UN sub-regions, as in the region facet",
                                               max_length=MAX_VALUES, examples=[["Southern Europe"]])] = None,
    language: Annotated[list[Language] | None, Query(description="ISO 639-1 codes of the detected language",
                                                     max_length=MAX_VALUES)] = None,
    source: Annotated[list[Name] | None, Query(description="where records came from, as in the source facet",
                                               max_length=MAX_VALUES)] = None,
    year_from: Annotated[Year, Query(description="first year (inclusive)")] = None,
    year_to: Annotated[Year, Query(description="last year (inclusive)")] = None,
    page: Annotated[int, Query(ge=1, le=1000, description="1-based page (at most the first 10,000 results)")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 10,
    mode: Annotated[SearchMode, Query(description="hybrid (default), lexical or dense ranking")] = SearchMode.hybrid,
    facet: Annotated[list[FacetName] | None, Query(description="facet counts to return (default: all)")] = None,
) -> SearchParams:
    known = subtypes(None)
    for value in subtype or ():
        if value not in known:
            raise Invalid(f"unknown subtype '{value}'", field="subtype")
    if year_from is not None and year_to is not None and year_from > year_to:
        raise Invalid("year_to is before year_from", field="year_to")
    if page * per_page > 10_000:
        raise Invalid("page out of range (at most the first 10,000 results)", field="page")
    filters: dict[str, Any] = {
        "kind": [k.value for k in kind or ()], "subtype": list(dict.fromkeys(subtype or ())),
        "sdg": [s.value for s in sdg or ()], "pathway": [p.value for p in pathway or ()],
        "country": list(dict.fromkeys(c.upper() for c in country or ())), "region": list(region or ()),
        "language": list(language or ()), "source": list(source or ()),
        "year_from": year_from, "year_to": year_to,
    }
    filters = {k: v for k, v in filters.items() if v not in (None, [])}
    return SearchParams(q=q.strip(), filters=filters, page=page, per_page=per_page, mode=mode.value,
                        facets=tuple(f.value for f in facet) if facet else None)


SearchDep = Annotated[SearchParams, Depends(search_params)]


@router.get("/search", response_model=SearchOut, responses=errors(401, 422))
def search(hub: HubDep, caller: CallerDep, params: SearchDep) -> dict[str, Any]:
    """Hybrid (lexical + semantic) search over every record the caller may see, with filters, facet counts
    over all matches, and each result's best passage with highlight offsets.

    Filters combine with AND; a repeated filter (``?sdg=11&sdg=13``) matches any of its values.
    Private and network records are filtered inside the search, so counts never reveal them."""
    return hub.search(params.q, params.filters, params.facets, params.page, per_page=params.per_page,
                      caller=caller, mode=params.mode)


@router.get("/entities/{entity_id}/similar", response_model=SimilarOut, responses=errors(401, 404, 422))
def similar(hub: HubDep, caller: CallerDep, entity_id: IdPath,
            limit: Annotated[int, Query(ge=1, le=50)] = 10) -> dict[str, Any]:
    """Records most like this one (its embedding and key terms, fused), that the caller may see."""
    return hub.more_like_this(entity_id, limit=limit, caller=caller)
