"""Entity kinds of the knowledge graph: pure pydantic models, no I/O.

Every record shares the :class:`Record` envelope (stable id, external ids, provenance,
visibility, languages, timestamps); each kind adds its own typed fields.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Kind(StrEnum):
    organization = "organization"
    person = "person"
    project = "project"
    document = "document"
    opportunity = "opportunity"
    place = "place"
    theme = "theme"


class OrganizationType(StrEnum):
    local_government = "local_government"
    network_office = "network_office"
    university = "university"
    research_institute = "research_institute"
    ngo = "ngo"
    company = "company"
    funder = "funder"
    network = "network"
    other = "other"


class DocumentType(StrEnum):
    paper = "paper"
    report = "report"
    guideline = "guideline"
    manual = "manual"
    policy = "policy"
    case_study = "case_study"
    news = "news"
    dataset = "dataset"
    other = "other"


class OpportunityType(StrEnum):
    funding_call = "funding_call"
    funding_programme = "funding_programme"
    research_call = "research_call"
    event = "event"
    fellowship = "fellowship"
    other = "other"


class PlaceType(StrEnum):
    city = "city"
    region = "region"
    country = "country"


class ProjectType(StrEnum):
    project = "project"
    programme = "programme"


class Visibility(StrEnum):
    public = "public"
    network = "network"
    private = "private"


#: External identifier schemes citybridge understands; values are normalised by :func:`normalize_external_id`.
EXTERNAL_ID_SCHEMES: tuple[str, ...] = (
    "ror", "orcid", "doi", "geonames", "openalex", "cordis", "wikidata", "website", "pic", "eu_grant", "eu_topic",
    "climate_adapt", "ec_news", "isni", "fundref", "grid", "simplemaps", "iso", "sdg", "pathway", "sha256",
)
"""``cordis`` is the CORDIS record number (rcn) of a project, ``eu_grant`` its grant agreement number, ``pic``
an EU participant identification code, ``eu_topic`` a Funding & Tenders call topic id, ``climate_adapt`` a
Climate-ADAPT funding-programme sheet, ``ec_news`` a Commission news item."""

_DOI_PREFIX = re.compile(r"^(https?://(dx\.)?doi\.org/|doi:)", re.I)
_ROR_PREFIX = re.compile(r"^https?://ror\.org/", re.I)
_ORCID_PREFIX = re.compile(r"^https?://orcid\.org/", re.I)
_OPENALEX_PREFIX = re.compile(r"^https?://(api\.)?openalex\.org/(\w+/)?", re.I)
_WIKIDATA_PREFIX = re.compile(r"^https?://(www\.)?wikidata\.org/(wiki|entity)/", re.I)
_GEONAMES_PREFIX = re.compile(r"^https?://(www\.|sws\.)?geonames\.org/", re.I)


def normalize_external_id(scheme: str, value: Any) -> str:
    """Return the canonical form of an external identifier, e.g. a DOI without its resolver prefix.

    >>> normalize_external_id("doi", "https://doi.org/10.1000/ABC")
    '10.1000/abc'
    """
    scheme = scheme.strip().lower()
    text = str(value).strip()
    if scheme == "doi":
        return _DOI_PREFIX.sub("", text).lower()
    if scheme == "ror":
        return _ROR_PREFIX.sub("", text).lower()
    if scheme == "orcid":
        return _ORCID_PREFIX.sub("", text).upper()
    if scheme == "openalex":
        return _OPENALEX_PREFIX.sub("", text).upper()
    if scheme == "wikidata":
        return _WIKIDATA_PREFIX.sub("", text).upper()
    if scheme == "geonames":
        return _GEONAMES_PREFIX.sub("", text).strip("/")
    if scheme == "website":
        return text.rstrip("/")
    return text


#: names a source gives when it knows none ("Organisation PIC 906007161", "H2020 project 1234")
PLACEHOLDER_NAME = re.compile(r"^(organisation|organization) pic \d+$|^h2020 project \d+$", re.I)


def is_placeholder_name(name: str) -> bool:
    """Whether a name only stands in for a missing one (a source's id dressed as a name)."""
    return bool(PLACEHOLDER_NAME.match(name.strip()))


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


_ID_PREFIX = {
    Kind.organization: "org",
    Kind.person: "per",
    Kind.project: "prj",
    Kind.document: "doc",
    Kind.opportunity: "opp",
    Kind.place: "plc",
    Kind.theme: "thm",
}


def derive_id(kind: Kind | str, key: str) -> str:
    """A stable id for a record from a natural key (e.g. ``"ror:05abc"``): the same key gives the same id
    on every machine, so independent imports of the same source agree."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=9).hexdigest()
    return f"{_ID_PREFIX[Kind(kind)]}_{digest}"


def new_id(kind: Kind | str) -> str:
    return f"{_ID_PREFIX[Kind(kind)]}_{uuid.uuid4().hex[:18]}"


class Provenance(BaseModel):
    """Where a record (or one version of it) came from."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="source name, e.g. 'ror', 'cordis', 'import:orgs.csv'")
    record_id: str | None = Field(default=None, description="id of the record in that source")
    retrieved_at: datetime | None = None
    licence: str | None = None
    url: str | None = None


_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
MAX_TEXT = 2_000_000  # characters; a 1 MB field is accepted, a 2 MB+ one is rejected
# lengths of the store's columns these values go into (store/tables.py; tests/store/test_sizes.py compares)
MAX_OWNER = 128
MAX_SCHEME = 32
MAX_EXTERNAL_ID = 512


def storable(value: dict[str, Any]) -> dict[str, Any]:
    """An attributes object the store can write as JSON (integers within 64 bits, string keys), or a ValueError."""
    try:
        orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError: e.g. "Integer exceeds 64-bit range"
        raise ValueError(f"cannot be stored as JSON: {exc}") from None
    return value


def no_nul(value: Any) -> Any:
    """A text without NUL characters: never meaningful in a name, and PostgreSQL refuses them."""
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


class Record(BaseModel):
    """Fields shared by every entity kind."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, use_enum_values=False)

    kind: ClassVar[Kind]
    subtype_field: ClassVar[str | None] = None

    id: str = Field(default="", description="stable citybridge id; derived from an external id when absent")
    name: str = Field(min_length=1, max_length=2000, description="display name or title")
    description: str | None = Field(default=None, description="abstract / summary / profile text")
    external_ids: dict[str, str] = Field(default_factory=dict)
    provenance: list[Provenance] = Field(default_factory=list)
    visibility: Visibility = Visibility.public
    owner: str | None = Field(default=None, max_length=MAX_OWNER,
                              description="user or group owning a network/private record")
    languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes of the record's texts")
    tags: list[str] = Field(default_factory=list, description="free keywords given by the source")
    attributes: dict[str, Any] = Field(default_factory=dict, description="source fields with no typed home")
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if v and not _ID_RE.match(v):
            raise ValueError("id must be 1-128 characters of letters, digits and _ . : -")
        return v

    _nul = field_validator("name", mode="before")(lambda cls, v: no_nul(v))
    _attrs = field_validator("attributes")(lambda cls, v: storable(v))

    @field_validator("description")
    @classmethod
    def _check_text(cls, v: str | None) -> str | None:
        if v is not None and len(v) > MAX_TEXT:
            raise ValueError(f"text longer than {MAX_TEXT:,} characters")
        return v

    @field_validator("external_ids", mode="before")
    @classmethod
    def _norm_ids(cls, v: Any) -> Any:
        if isinstance(v, dict):
            out: dict[str, str] = {}
            for key, value in v.items():
                if value is None or str(value).strip() == "":
                    continue
                scheme = str(key).strip().lower()
                norm = normalize_external_id(scheme, value)
                if len(scheme) > MAX_SCHEME:
                    raise ValueError(f"external id scheme '{scheme[:40]}...' is longer than {MAX_SCHEME} characters")
                if len(norm) > MAX_EXTERNAL_ID:
                    raise ValueError(f"{scheme} id is longer than {MAX_EXTERNAL_ID} characters")
                if "\x00" in norm:  # the store refuses it (PostgreSQL cannot hold it): a row error, not a crash
                    raise ValueError(f"{scheme} id holds a NUL character")
                out[scheme] = norm
            return out
        return v

    @field_validator("languages", "tags", mode="before")
    @classmethod
    def _split_list(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip() for p in re.split(r"[;|]", v) if p.strip()]
        return v

    @model_validator(mode="after")
    def _owner_for_restricted(self) -> Record:
        if self.visibility != Visibility.public and not self.owner:
            raise ValueError(f"a {self.visibility.value} record needs an owner")
        return self

    @property
    def subtype(self) -> str | None:
        if self.subtype_field is None:
            return None
        value = getattr(self, self.subtype_field)
        return None if value is None else str(value)  # the subtype enums are StrEnums: str() is the value

    def natural_key(self) -> str | None:
        """The key a stable id is derived from: the first external id by scheme priority."""
        for scheme in EXTERNAL_ID_SCHEMES:
            if scheme in self.external_ids:
                return f"{scheme}:{self.external_ids[scheme]}"
        for scheme in sorted(self.external_ids):
            return f"{scheme}:{self.external_ids[scheme]}"
        return None

    def text_fields(self) -> dict[str, str]:
        """The texts enrichment and search read, by field name."""
        out = {"name": self.name}
        if self.description:
            out["description"] = self.description
        return out


class Organization(Record):
    kind: ClassVar[Kind] = Kind.organization
    subtype_field: ClassVar[str | None] = "org_type"

    org_type: OrganizationType = OrganizationType.other
    acronym: str | None = None
    aliases: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict, description="name by language code")
    website: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    established: int | None = Field(default=None, ge=0, le=2200, description="year")
    status: str | None = None

    _c = field_validator("country")(lambda cls, v: _country(v))
    _a = field_validator("aliases", mode="before")(lambda cls, v: _split(v))


class Person(Record):
    kind: ClassVar[Kind] = Kind.person

    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    country: str | None = None
    homepage: str | None = None

    _c = field_validator("country")(lambda cls, v: _country(v))


class Project(Record):
    kind: ClassVar[Kind] = Kind.project
    subtype_field: ClassVar[str | None] = "project_type"

    project_type: ProjectType = ProjectType.project
    acronym: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    total_cost: float | None = None
    funding: float | None = Field(default=None, description="amount granted by the funder")
    currency: str | None = None
    programme: str | None = None
    status: str | None = None
    url: str | None = None
    country: str | None = None

    _c = field_validator("country")(lambda cls, v: _country(v))

    @model_validator(mode="after")
    def _dates(self) -> Project:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class Document(Record):
    kind: ClassVar[Kind] = Kind.document
    subtype_field: ClassVar[str | None] = "doc_type"

    doc_type: DocumentType = DocumentType.other
    body: str | None = Field(default=None, description="full text")
    published: date | None = None
    year: int | None = Field(default=None, ge=1000, le=2200)
    authors: list[str] = Field(default_factory=list, description="author names as printed")
    url: str | None = None
    venue: str | None = None
    publisher: str | None = None
    content_hash: str | None = None
    pages: int | None = Field(default=None, ge=0, le=10_000_000)

    _a = field_validator("authors", mode="before")(lambda cls, v: _split(v))

    @field_validator("body")
    @classmethod
    def _body(cls, v: str | None) -> str | None:
        if v is not None and len(v) > 50 * MAX_TEXT:
            raise ValueError("body longer than 100,000,000 characters")
        return v

    @model_validator(mode="after")
    def _year(self) -> Document:
        if self.year is None and self.published is not None:
            self.year = self.published.year
        return self

    def text_fields(self) -> dict[str, str]:
        out = super().text_fields()
        if self.body:
            out["body"] = self.body
        return out


class Opportunity(Record):
    kind: ClassVar[Kind] = Kind.opportunity
    subtype_field: ClassVar[str | None] = "opp_type"

    opp_type: OpportunityType = OpportunityType.other
    opens: date | None = None
    deadline: date | None = None
    url: str | None = None
    funder: str | None = None
    amount: float | None = None
    currency: str | None = None
    eligibility: str | None = None
    country: str | None = None

    _c = field_validator("country")(lambda cls, v: _country(v))


class Place(Record):
    kind: ClassVar[Kind] = Kind.place
    subtype_field: ClassVar[str | None] = "place_type"

    place_type: PlaceType = PlaceType.city
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    admin1: str | None = Field(default=None, description="first-level region name")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    population: int | None = Field(default=None, ge=0, le=100_000_000_000)
    un_region: str | None = None
    capital: str | None = None
    ascii_name: str | None = None

    _c = field_validator("country")(lambda cls, v: _country(v))


class Theme(Record):
    kind: ClassVar[Kind] = Kind.theme

    scheme: str = Field(min_length=1, description="taxonomy the node belongs to, e.g. 'sdg', 'pathway'")
    code: str = Field(min_length=1, description="code within the scheme, e.g. '11' or '11.6'")
    parent: str | None = Field(default=None, description="code of the parent node in the same scheme")
    level: str | None = None
    labels: dict[str, str] = Field(default_factory=dict, description="label by language code")
    keywords: list[str] = Field(default_factory=list)

    _k = field_validator("keywords", mode="before")(lambda cls, v: _split(v))


def _split(v: Any) -> Any:
    if isinstance(v, str):
        return [p.strip() for p in re.split(r"[;|]", v) if p.strip()]
    return v


def _country(v: str | None) -> str | None:
    if v is None:
        return None
    v = v.strip().upper()
    if not v:
        return None
    if not re.fullmatch(r"[A-Z]{2}", v):
        raise ValueError("country must be an ISO 3166-1 alpha-2 code such as 'BR'")
    return v


KIND_MODELS: dict[Kind, type[Record]] = {
    Kind.organization: Organization,
    Kind.person: Person,
    Kind.project: Project,
    Kind.document: Document,
    Kind.opportunity: Opportunity,
    Kind.place: Place,
    Kind.theme: Theme,
}



def model_for(kind: str) -> type[Record]:
    """The model class of a kind name; raises ValueError for an unknown kind."""
    try:
        return KIND_MODELS[Kind(kind)]
    except ValueError:
        raise ValueError(f"unknown kind '{kind}' (one of: {', '.join(k.value for k in Kind)})") from None


def record_from_dict(data: dict[str, Any]) -> Record:
    """Build a record of the kind named in ``data['kind']``."""
    payload = dict(data)
    kind = payload.pop("kind", None)
    if not kind:
        raise ValueError("missing 'kind'")
    return model_for(kind).model_validate(payload)


def record_to_dict(record: Record) -> dict[str, Any]:
    """JSON-ready dict with ``kind`` first and empty values left out (the canonical export form)."""
    body = record.model_dump(mode="json", exclude_none=True)
    body = {k: v for k, v in body.items() if v not in ({}, [], "")}
    return {"kind": str(record.kind), **body}

