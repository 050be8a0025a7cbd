"""Request and response models of the search and linking routes (``/search``, ``/entities/{id}/similar``,
``/peer-cities/{city_id}``, ``/partners``), with the examples the OpenAPI page shows."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from citybridge.model.taxonomy import PATHWAYS

#: SDG goal numbers accepted by the ``sdg`` filter
SdgGoal = Enum("SdgGoal", {f"sdg{g}": str(g) for g in range(1, 18)}, type=str)  # type: ignore[misc]
#: pathway codes accepted by the ``pathway`` filter
PathwayCode = Enum("PathwayCode", {p.code.replace("-", "_"): p.code for p in PATHWAYS}, type=str)  # type: ignore[misc]


class FacetName(StrEnum):
    kind = "kind"
    subtype = "subtype"
    sdg = "sdg"
    pathway = "pathway"
    country = "country"
    region = "region"
    language = "language"
    year = "year"
    source = "source"


class SearchMode(StrEnum):
    hybrid = "hybrid"
    lexical = "lexical"
    dense = "dense"


class SnippetOut(BaseModel):
    """The best passage of a result: ``highlights`` are ``[start, end)`` offsets into ``text``."""

    field: str = Field(examples=["description"])
    start: int = Field(description="offset of the passage in the record field", examples=[120])
    end: int = Field(examples=[320])
    text: str = Field(examples=["... maps its urban heat island and plants street trees ..."])
    highlights: list[tuple[int, int]] = Field(examples=[[[13, 30]]])


class HitTag(BaseModel):
    label: str = Field(examples=["sdg:11"])
    score: float = Field(examples=[0.81])


class SearchHit(BaseModel):
    id: str = Field(examples=["doc_heat"])
    kind: str = Field(examples=["document"])
    subtype: str | None = Field(default=None, examples=["report"])
    name: str = Field(examples=["Heat action plan for school streets"])
    score: float = Field(examples=[0.87])
    country: str | None = Field(default=None, examples=["PT"])
    year: int | None = Field(default=None, examples=[2023])
    snippet: SnippetOut | None = Field(default=None, description="best passage (absent for an empty query)")
    tags: list[HitTag] = Field(default_factory=list, description="the record's strongest SDG/pathway tags")


SEARCH_EXAMPLE: dict[str, Any] = {
    "query": "urban heat", "mode": "hybrid", "total": 1, "page": 1, "per_page": 10, "took_ms": 3.1,
    "results": [{"id": "doc_heat", "kind": "document", "subtype": "report",
                 "name": "Heat action plan for school streets", "score": 0.87, "country": None, "year": 2023,
                 "snippet": {"field": "description", "start": 0, "end": 120,
                             "text": "Lisbon maps its urban heat island and plants street trees ...",
                             "highlights": [[16, 21], [22, 26]]},
                 "tags": [{"label": "sdg:11", "score": 0.81}]}],
    "facets": {"kind": {"document": 1}, "sdg": {"11": 1, "13": 1}, "country": {}, "year": {"2023": 1}},
}


class SearchOut(BaseModel):
    """One page of ranked results with facet counts over *all* matches the caller may see."""

    model_config = ConfigDict(json_schema_extra={"examples": [SEARCH_EXAMPLE]})

    query: str
    mode: str
    total: int = Field(description="matches the caller may see (lexical matches; the page may add semantic ones)")
    page: int
    per_page: int
    results: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(description="facet -> value -> count, largest first")
    took_ms: float


class SimilarOut(BaseModel):
    """Records most similar to one record (its embedding and key terms, fused); itself excluded."""

    record: str = Field(examples=["doc_heat"])
    results: list[SearchHit]


class PeerCityOut(BaseModel):
    id: str = Field(examples=["plc_porto"])
    name: str = Field(examples=["Porto"])
    country: str | None = Field(default=None, examples=["PT"])
    score: float = Field(description="weighted sum of the components", examples=[4.21])
    components: dict[str, float] = Field(description="component -> value in 0..1",
                                         examples=[{"population": 0.9, "country": 1.0, "region": 1.0}])
    contributions: dict[str, float] = Field(description="component -> weight x value (they sum to the score)")
    explanation: str = Field(examples=["same country (PT); same UN sub-region (Southern Europe)"])
    reasons: list[str] = Field(description="the explanation's parts, strongest first")
    evidence: dict[str, Any] = Field(default_factory=dict, description="shared themes, partners, networks")


class CityRef(BaseModel):
    id: str = Field(examples=["plc_lisbon"])
    name: str = Field(examples=["Lisbon"])
    kind: str = Field(examples=["place"])


class PeerCitiesOut(BaseModel):
    city: CityRef = Field(description="the record asked about (a city, or a local government in one)")
    weights: dict[str, float] = Field(description="the weights used, defaults filled in")
    results: list[PeerCityOut]


class PartnerConstraintsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    countries: list[str] = Field(default_factory=list, max_length=60,
                                 description="only organisations in these countries (ISO 3166-1 alpha-2)",
                                 examples=[["PT", "ES"]])
    exclude_countries: list[str] = Field(default_factory=list, max_length=60)
    org_types: list[str] = Field(default_factory=list, max_length=20,
                                 description="types (university, company, ...) or groups (city, research, "
                                             "company, ngo, public)", examples=[["city", "research"]])
    exclude: list[str] = Field(default_factory=list, max_length=200, description="organisation ids never to suggest")
    min_projects: int = Field(default=0, ge=0, le=10_000)
    max_results: int = Field(default=10, ge=1, le=50)


PARTNERS_EXAMPLE: dict[str, Any] = {
    "text": "Nature-based cooling of school streets during heatwaves, with the city and a university.",
    "current_partners": ["org_lisbon"],
    "constraints": {"countries": ["PT", "ES", "IT"], "org_types": ["research", "company"], "max_results": 5},
}


class PartnersIn(BaseModel):
    """What the consortium is about (a text and/or a stored project) and who is in it already."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PARTNERS_EXAMPLE]})

    text: str | None = Field(default=None, max_length=20_000, description="call or project description")
    project: str | None = Field(default=None, max_length=256, description="a stored project id (or cordis:<rcn>)")
    current_partners: list[str] = Field(default_factory=list, max_length=50,
                                        description="organisation ids (or pic:..., ror:...) already in the "
                                                    "consortium")
    constraints: PartnerConstraintsIn = Field(default_factory=PartnerConstraintsIn)
    weights: dict[str, float] | None = Field(default=None, description="signal -> weight (collab, network, "
                                             "expertise, type_fit, geo_home, geo_balance, experience, "
                                             "coordination, recent)")


class PartnerOut(BaseModel):
    id: str = Field(examples=["org_porto_uni"])
    name: str = Field(examples=["University of Porto"])
    score: float = Field(examples=[3.4])
    country: str | None = Field(default=None, examples=["PT"])
    org_type: str = Field(examples=["university"])
    components: dict[str, float] = Field(description="signal -> value in 0..1")
    contributions: dict[str, float] = Field(description="signal -> weight x value (they sum to the score)")
    explanation: str = Field(examples=["partnered with Lisbon City Council in 1 project (Cool Streets)"])
    reasons: list[str]
    evidence: dict[str, Any] = Field(default_factory=dict)
    ranked_by: str = Field(default="signals", description="what ordered the list: 'signals' (the score) or "
                           "'ranker' (the learned ranker, its rank_score)")
    rank_score: float | None = Field(default=None, description="the learned ranker's score, when it ordered")


class PartnersOut(BaseModel):
    results: list[PartnerOut]
