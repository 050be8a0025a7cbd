"""Typed relations between records, with optional attributes and dates."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from citybridge.model.entities import MAX_OWNER, Kind, Provenance, Visibility, storable

MAX_RELATION_ID = 64  # relations.id; key() gives 24 characters
MAX_ROLE = 64  # relations.role


class RelationType(StrEnum):
    member_of = "member_of"
    affiliated_with = "affiliated_with"
    partner_in = "partner_in"
    leads = "leads"
    authored = "authored"
    about = "about"
    located_in = "located_in"
    funded_by = "funded_by"
    cites = "cites"
    serves_region = "serves_region"
    expert_in = "expert_in"
    related_to = "related_to"


class PartnerRole(StrEnum):
    coordinator = "coordinator"
    partner = "partner"
    participant = "participant"
    associated = "associated"
    third_party = "third_party"
    other = "other"


_ANY = frozenset(Kind)
_AGENTS = frozenset({Kind.person, Kind.organization})

#: Which kinds may stand at each end of a relation type (source kinds, target kinds).
RELATION_RULES: dict[RelationType, tuple[frozenset[Kind], frozenset[Kind]]] = {
    RelationType.member_of: (_AGENTS, frozenset({Kind.organization})),
    RelationType.affiliated_with: (_AGENTS, frozenset({Kind.organization})),
    RelationType.partner_in: (_AGENTS, frozenset({Kind.project, Kind.opportunity})),
    RelationType.leads: (_AGENTS, frozenset({Kind.project, Kind.organization, Kind.opportunity})),
    RelationType.authored: (_AGENTS, frozenset({Kind.document})),
    RelationType.about: (_ANY, frozenset({Kind.place, Kind.theme})),
    RelationType.located_in: (_ANY - {Kind.theme}, frozenset({Kind.place})),
    RelationType.funded_by: (frozenset({Kind.project, Kind.document, Kind.opportunity, Kind.person}),
                             frozenset({Kind.organization, Kind.opportunity, Kind.project})),
    RelationType.cites: (frozenset({Kind.document}), frozenset({Kind.document})),
    RelationType.serves_region: (frozenset({Kind.organization}), frozenset({Kind.place})),
    RelationType.expert_in: (_AGENTS, frozenset({Kind.theme})),
    RelationType.related_to: (_ANY, _ANY),
}


class Relation(BaseModel):
    """A directed, typed edge ``source --type--> target``.

    Two relations with the same type, ends and role are the same relation (see :meth:`key`).
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default="", max_length=MAX_RELATION_ID)
    type: RelationType
    source: str = Field(min_length=1, description="id of the record the relation starts from")
    target: str = Field(min_length=1, description="id of the record it points to")
    role: str | None = Field(default=None, max_length=MAX_ROLE,
                             description="e.g. coordinator / partner for partner_in")
    start_date: date | None = None
    end_date: date | None = None
    weight: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    provenance: list[Provenance] = Field(default_factory=list)
    visibility: Visibility = Visibility.public
    owner: str | None = Field(default=None, max_length=MAX_OWNER)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    _attrs = field_validator("attributes")(lambda cls, v: storable(v))

    @model_validator(mode="after")
    def _check(self) -> Relation:
        if self.source == self.target:
            raise ValueError("a relation cannot point at its own source")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.visibility != Visibility.public and not self.owner:
            raise ValueError(f"a {self.visibility.value} relation needs an owner")
        if not self.id:
            self.id = self.key()
        return self

    def key(self) -> str:
        """Stable id from type, ends and role."""
        raw = f"{self.type}|{self.source}|{self.target}|{self.role or ''}"
        return "rel_" + hashlib.blake2b(raw.encode("utf-8"), digest_size=10).hexdigest()


_DEFAULTS: dict[str, Any] | None = None


def unchecked_relation(fields: dict[str, Any], fields_set: set[str] | None = None) -> Relation:
    """A Relation from values already known to be valid (parsed by a connector, or copied from a validated
    relation), without validation: what ``model_construct`` does, minus its per-call default inspection,
    which costs more than the rest of a snapshot import's relation handling."""
    global _DEFAULTS
    if _DEFAULTS is None:
        _DEFAULTS = {name: f.get_default(call_default_factory=True) for name, f in Relation.model_fields.items()
                     if not f.is_required()}
    rel = Relation.__new__(Relation)
    values = _DEFAULTS.copy()
    values["attributes"] = {}  # the two mutable defaults, fresh for each relation
    values["provenance"] = []
    values.update(fields)
    object.__setattr__(rel, "__dict__", values)
    object.__setattr__(rel, "__pydantic_fields_set__", set(fields) if fields_set is None else fields_set)
    object.__setattr__(rel, "__pydantic_extra__", None)
    object.__setattr__(rel, "__pydantic_private__", None)
    return rel


def unchecked_provenance(fields: dict[str, Any]) -> Provenance:
    """A Provenance from values already checked (text ``source``, ``record_id`` ...), without validation."""
    p = Provenance.__new__(Provenance)
    object.__setattr__(p, "__dict__", {"source": fields["source"], "record_id": fields.get("record_id"),
                                       "retrieved_at": None, "licence": fields.get("licence"),
                                       "url": fields.get("url")})
    object.__setattr__(p, "__pydantic_fields_set__", set(fields))
    object.__setattr__(p, "__pydantic_extra__", None)
    object.__setattr__(p, "__pydantic_private__", None)
    return p


def with_ends(rel: Relation, source: str, target: str) -> Relation:
    """A copy of ``rel`` pointing from ``source`` to ``target`` (ends resolved to record ids); a cheap
    ``model_copy(update=...)`` (which does not re-validate either)."""
    return unchecked_relation({**rel.__dict__, "source": source, "target": target},
                              rel.__pydantic_fields_set__ | {"source", "target"})


def check_relation_kinds(rel_type: RelationType, source_kind: Kind, target_kind: Kind) -> str | None:
    """Return why the kinds do not fit the relation type, or None when they do."""
    sources, targets = RELATION_RULES[rel_type]
    if source_kind not in sources:
        return f"{rel_type.value} cannot start from a {source_kind.value}"
    if target_kind not in targets:
        return f"{rel_type.value} cannot point to a {target_kind.value}"
    return None


def relation_to_dict(rel: Relation) -> dict[str, Any]:
    body = rel.model_dump(mode="json", exclude_none=True)
    body = {k: v for k, v in body.items() if v not in ({}, [], "")}
    return {"kind": "relation", **body}
