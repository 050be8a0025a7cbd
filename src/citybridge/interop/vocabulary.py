"""The citybridge vocabulary: the terms the linked-data exports use where schema.org has none.

Its namespace is ``<base>/vocab#`` where ``<base>`` is the instance's own base IRI (the setting
``CITYBRIDGE_LINKED_DATA_BASE``, by default ``CITYBRIDGE_PUBLIC_URL``), never a domain the project does not
control; an instance serves the vocabulary itself at ``/vocab`` (Turtle), so every term dereferences.
Records are ``<base>/entity/<id>`` (their web page), relations ``<base>/relation/<id>``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

SCHEMA = "https://schema.org/"

#: term -> (rdf kind, comment); "class" or "property"
TERMS: dict[str, tuple[str, str]] = {
    "Relation": ("class", "A typed relation between two records, with its role, dates and weight"),
    "kind": ("property", "The citybridge kind of a record: organization, person, project, document, "
                         "opportunity, place or theme"),
    "subtype": ("property", "The kind's subtype, e.g. university, funding_call, city"),
    "visibility": ("property", "public, network or private (exports for anonymous callers hold public only)"),
    "created": ("property", "When the record was first stored (xsd:dateTime)"),
    "modified": ("property", "When the record last changed (xsd:dateTime)"),
    "status": ("property", "Status given by the source, e.g. SIGNED, CLOSED, active"),
    "country": ("property", "ISO 3166-1 alpha-2 country code"),
    "admin1": ("property", "Name of the first-level administrative region of a place"),
    "population": ("property", "Number of inhabitants of a place"),
    "unRegion": ("property", "UN M49 region of a place"),
    "capital": ("property", "Capital status of a place as given by its source"),
    "startDate": ("property", "Start date of a project"),
    "endDate": ("property", "End date of a project"),
    "totalCost": ("property", "Total cost of a project (schema:MonetaryAmount)"),
    "programme": ("property", "Name of the funding programme of a project"),
    "opens": ("property", "Date a call opens for applications"),
    "deadline": ("property", "Date a call closes"),
    "eligibility": ("property", "Who may apply to an opportunity"),
    "language": ("property", "ISO 639-1 code of a language the record's texts are in (where schema:inLanguage "
                             "does not apply)"),
    "tag": ("property", "Free keyword given by the source (where schema:keywords does not apply)"),
    "year": ("property", "Publication year of a document"),
    "pages": ("property", "Number of pages of a document"),
    "contentHash": ("property", "SHA-256 of a document's file"),
    "parentCode": ("property", "Code of the parent node of a theme in its scheme"),
    "level": ("property", "Level of a theme in its scheme, e.g. goal, target"),
    "attributes": ("property", "Source fields with no typed home, as a JSON text"),
    "derivedFrom": ("property", "Source dataset the record was built from (a schema:Dataset with licence)"),
    "sourceRecordId": ("property", "Id of the record in its source"),
    "retrievedAt": ("property", "When the record was retrieved from its source"),
    "relationType": ("property", "Type of a relation: member_of, partner_in, funded_by, ..."),
    "source": ("property", "Record a relation starts from"),
    "target": ("property", "Record a relation points to"),
    "role": ("property", "Role in a relation, e.g. coordinator"),
    "weight": ("property", "Weight or score of a relation"),
    "relationAttributes": ("property", "Source fields of a relation, as a JSON text"),
    "partnerIn": ("property", "An organisation or person takes part in a project or call"),
    "leads": ("property", "An organisation or person leads a project, organisation or call"),
    "affiliatedWith": ("property", "An organisation is affiliated with another"),
    "about": ("property", "A record is about a place or theme (where schema:about does not apply)"),
    "locatedIn": ("property", "A record is located in a place (where schema.org has no fitting property)"),
    "fundedBy": ("property", "A record is funded under a programme or project"),
    "relatedTo": ("property", "A record is related to another"),
}


def vocab_namespace(base: str) -> str:
    """The citybridge vocabulary namespace for an instance base IRI."""
    return base.rstrip("/") + "/vocab#"


def vocabulary_turtle(base: str) -> str:
    """The vocabulary as an RDFS document in Turtle."""
    ns = vocab_namespace(base)
    lines = [f"@prefix cb: <{ns}> .", "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .",
             "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .", "",
             f"<{ns[:-1]}> rdfs:label \"citybridge vocabulary\"@en ;",
             '    rdfs:comment "Terms of citybridge exports that schema.org does not have."@en .', ""]
    for term, (what, comment) in TERMS.items():
        rdf_type = "rdfs:Class" if what == "class" else "rdf:Property"
        lines.append(f"cb:{term} a {rdf_type} ;\n    rdfs:label {json.dumps(term)}@en ;\n"
                     f"    rdfs:comment {json.dumps(comment, ensure_ascii=False)}@en ;\n"
                     f"    rdfs:isDefinedBy <{ns[:-1]}> .")
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def schemaorg_terms() -> dict[str, Any]:
    """schema.org's types and the properties each may carry, vendored from the npm package ``schema-dts``
    (Apache-2.0; generated from schema.org, CC BY-SA 3.0) by ``scripts/vendor_schemaorg.py``."""
    raw = resources.files("citybridge.interop").joinpath("data/schemaorg-terms.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data


def schema_properties(type_name: str) -> frozenset[str]:
    """Every schema.org property a node of this type may carry (its own and inherited); empty if unknown."""
    data = schemaorg_terms()
    base = data["types"].get(type_name)
    if base is None:
        return frozenset()
    seen: set[str] = set()
    props: set[str] = set()
    stack = [base]
    while stack:
        name = stack.pop()
        if name in seen or name not in data["bases"]:
            continue
        seen.add(name)
        props.update(data["bases"][name]["properties"])
        stack.extend(data["bases"][name]["extends"])
    return frozenset(props)
