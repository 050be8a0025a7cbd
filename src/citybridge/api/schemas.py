"""Request and response models of the REST API, with the examples the OpenAPI page shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from citybridge.model.entities import KIND_MODELS

ORG_EXAMPLE: dict[str, Any] = {
    "kind": "organization", "id": "org_lisbon_cm", "name": "Lisbon City Council", "org_type": "local_government",
    "country": "PT", "city": "Lisbon", "lat": 38.7223, "lon": -9.1393, "website": "https://www.lisboa.pt",
    "external_ids": {"wikidata": "Q1000"}, "tags": ["heat", "mobility"],
}
PROJECT_EXAMPLE: dict[str, Any] = {
    "kind": "project", "name": "Cool Streets", "acronym": "COOL", "start_date": "2021-01-01",
    "end_date": "2024-12-31", "description": "Nature-based cooling of school streets in Lisbon and Porto.",
}
PRIVATE_EXAMPLE: dict[str, Any] = {
    "kind": "document", "name": "Draft heat action plan", "doc_type": "policy", "visibility": "private",
    "owner": "lisbon-lab", "description": "Internal draft, not yet public.",
}
RECORD_EXAMPLES = {
    "organisation": {"summary": "A city government with coordinates", "value": ORG_EXAMPLE},
    "project": {"summary": "A project (its id is derived)", "value": PROJECT_EXAMPLE},
    "private": {"summary": "A private record visible to its owner group and curators", "value": PRIVATE_EXAMPLE},
}


def record_schema_name(kind: str) -> str:
    return f"{kind.capitalize()}Record"


def record_component_schemas() -> dict[str, Any]:
    """OpenAPI component schemas of every record kind, with ``kind`` as the discriminating property."""
    out: dict[str, Any] = {}
    for kind, model in KIND_MODELS.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        for name, sub in schema.pop("$defs", {}).items():
            out.setdefault(name, sub)
        schema["properties"] = {"kind": {"type": "string", "const": kind.value, "enum": [kind.value]},
                                **schema.get("properties", {})}
        schema["required"] = ["kind", *schema.get("required", [])]
        schema["title"] = record_schema_name(kind.value)
        out[record_schema_name(kind.value)] = schema
    return out


def record_body_schema() -> dict[str, Any]:
    kinds = [k.value for k in KIND_MODELS]
    return {
        "oneOf": [{"$ref": f"#/components/schemas/{record_schema_name(k)}"} for k in kinds],
        "discriminator": {"propertyName": "kind",
                          "mapping": {k: f"#/components/schemas/{record_schema_name(k)}" for k in kinds}},
    }


class EntityPage(BaseModel):
    """One page of records; pass ``next`` as ``after`` to get the following page (null: last page)."""

    items: list[dict[str, Any]] = Field(description="records in the exchange format (see the *Record schemas)",
                                        examples=[[ORG_EXAMPLE]])
    next: str | None = Field(default=None, examples=["org_lisbon_cm"])


class RelationOut(BaseModel):
    id: str = Field(examples=["rel_5f2c0a9d31b7e6a4c210"])
    type: str = Field(examples=["partner_in"])
    direction: Literal["out", "in"]
    role: str | None = Field(default=None, examples=["coordinator"])
    other_id: str | None = Field(examples=["prj_1a2b3c"])
    other_name: str | None = Field(examples=["Cool Streets"])
    other_kind: str | None = Field(examples=["project"])
    start_date: str | None = None
    end_date: str | None = None


class Evidence(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str | None = Field(default=None, description="record field the text is in", examples=["description"])
    start: int | None = Field(default=None, description="character offset in that field")
    end: int | None = None
    text: str | None = Field(default=None, examples=["urban heat island"], description="the passage; absent when "
                             "the evidence is a share of a field (language detection: field, share, confidence)")
    kind: str | None = Field(default=None, examples=["query"])


class AnnotationOut(BaseModel):
    label: str = Field(examples=["sdg:11"])
    name: str = Field(examples=["SDG 11: Sustainable cities and communities"])
    target_id: str | None = None
    score: float = Field(examples=[0.82])
    evidence: list[Evidence] = Field(default_factory=list)


class Annotations(BaseModel):
    languages: list[AnnotationOut] = Field(default_factory=list)
    tags: list[AnnotationOut] = Field(default_factory=list)
    places: list[AnnotationOut] = Field(default_factory=list)
    keywords: list[AnnotationOut] = Field(default_factory=list)


class HistoryEntry(BaseModel):
    version: int
    change: str = Field(examples=["update"])
    changed_at: datetime | None
    changed_by: str | None = Field(examples=["import:orgs.csv"])
    data: dict[str, Any] = Field(description="the version that was replaced")


class EntityDetail(BaseModel):
    """A record with its relations, annotations (with evidence), provenance and history."""

    record: dict[str, Any] = Field(examples=[ORG_EXAMPLE])
    version: int = Field(examples=[2])
    relations: list[RelationOut]
    annotations: Annotations
    provenance: list[dict[str, Any]] = Field(examples=[[{"source": "import:orgs.csv", "record_id": "17"}]])
    history: list[HistoryEntry]


class WriteResult(BaseModel):
    status: Literal["created", "updated", "unchanged"] = Field(examples=["created"])
    id: str = Field(examples=["org_lisbon_cm"])


class Rejection(BaseModel):
    where: str = Field(examples=["orgs.csv:7"])
    field: str | None = Field(default=None, examples=["country"])
    reason: str | None = Field(default=None, examples=["country must be an ISO 3166-1 alpha-2 code such as 'BR'"])
    id: str | None = None


class ImportReportOut(BaseModel):
    sources: list[str] = Field(examples=[["orgs.csv"]])
    created: int = Field(examples=[118])
    updated: int = Field(examples=[0])
    unchanged: int = Field(examples=[0])
    rejected: int = Field(examples=[2])
    rejections: list[Rejection] = Field(default_factory=list)
    unresolved: int = 0
    unresolved_examples: list[str] = Field(default_factory=list)
    inferred: list[dict[str, Any]] = Field(default_factory=list, description=(
        "per file without a mapping: the kind and the columns whose field was inferred (with the reason), "
        "and notes (header row found, columns ignored)"))


class StatsOut(BaseModel):
    records: int = Field(examples=[52310])
    by_kind: dict[str, int] = Field(examples=[{"organization": 40210, "project": 9800}])
    by_subtype: dict[str, dict[str, int]]
    relations: int = Field(examples=[150233])
    by_relation: dict[str, int] = Field(examples=[{"partner_in": 140000}])
    countries: int = Field(examples=[187])


class ThemeOut(BaseModel):
    id: str = Field(examples=["thm_8c1e2f"])
    scheme: str = Field(examples=["sdg"])
    code: str = Field(examples=["11"])
    name: str = Field(examples=["SDG 11: Sustainable cities and communities"])
    parent: str | None = None
    level: str | None = Field(default=None, examples=["goal"])
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, examples=[{"en": "Sustainable cities and communities"}])


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"texts": ["Green roofs and street trees to cool neighbourhoods during heatwaves"], "lang": "en"}]})

    texts: list[str] = Field(min_length=1, max_length=100, description="1-100 texts, each up to 100,000 characters")
    lang: str | None = Field(default=None, pattern=r"^[a-z]{2}$",
                             description="language of the texts (default: detected)")


class TagEvidence(BaseModel):
    text: str
    start: int
    end: int
    kind: str


class TagLabel(BaseModel):
    scheme: str = Field(examples=["sdg"])
    code: str = Field(examples=["11"])
    name: str | None = Field(default=None, examples=["SDG 11: Sustainable cities and communities"])
    score: float = Field(examples=[0.71])
    evidence: list[TagEvidence]


class TagOut(BaseModel):
    text: str
    labels: list[TagLabel]


class MapPoint(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    lat: float
    lon: float
    country: str | None = None


class MapOut(BaseModel):
    cities: list[MapPoint] = Field(description="cities records are located in or about; `n` = how many")
    organizations: list[MapPoint]
    projects: list[MapPoint] = Field(description="projects at their coordinator's (else first partner's) place")
    truncated: list[str] = Field(description="layers cut at the point limit")


class NetworkNode(BaseModel):
    id: str
    name: str
    kind: str
    subtype: str | None = None
    depth: int


class NetworkEdge(BaseModel):
    source: str
    target: str
    type: str
    role: str | None = None


class Collaborator(BaseModel):
    id: str
    name: str
    kind: str
    via: int = Field(description="shared projects, documents or organisations")


class NetworkOut(BaseModel):
    center: str
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]
    collaborators: list[Collaborator]
    truncated: bool
