"""Domain model: entity kinds, relations and taxonomies. Pure pydantic, no I/O."""

from citybridge.model.entities import (
    KIND_MODELS,
    Document,
    DocumentType,
    Kind,
    Opportunity,
    OpportunityType,
    Organization,
    OrganizationType,
    Person,
    Place,
    PlaceType,
    Project,
    ProjectType,
    Provenance,
    Record,
    Theme,
    Visibility,
    derive_id,
    model_for,
    new_id,
    normalize_external_id,
    record_from_dict,
    record_to_dict,
    utcnow,
)
from citybridge.model.relations import (
    RELATION_RULES,
    PartnerRole,
    Relation,
    RelationType,
    check_relation_kinds,
    relation_to_dict,
)

__all__ = [
    "KIND_MODELS", "Document", "DocumentType", "Kind", "Opportunity", "OpportunityType", "Organization",
    "OrganizationType", "PartnerRole", "Person", "Place", "PlaceType", "Project", "ProjectType", "Provenance",
    "RELATION_RULES", "Record", "Relation", "RelationType", "Theme", "Visibility", "check_relation_kinds",
    "derive_id", "model_for", "new_id", "normalize_external_id", "record_from_dict", "record_to_dict",
    "relation_to_dict", "utcnow",
]
