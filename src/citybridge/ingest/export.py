"""Export the store as JSON Lines, CSV or JSON-LD (schema.org), streamed.

JSON Lines is the lossless exchange format: ``import(export(store))`` reproduces every record and relation
exactly, timestamps included. CSV flattens lists and objects into JSON cells and reads back the same way.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal

from citybridge.errors import Invalid
from citybridge.model.entities import KIND_MODELS, Kind
from citybridge.model.relations import Relation
from citybridge.store.repository import Store

Format = Literal["jsonl", "csv", "jsonld"]

SCHEMA_TYPES: dict[tuple[str, str | None], str] = {
    ("organization", "local_government"): "GovernmentOrganization",
    ("organization", "network_office"): "Organization",
    ("organization", "university"): "CollegeOrUniversity",
    ("organization", "research_institute"): "ResearchOrganization",
    ("organization", "ngo"): "NGO",
    ("organization", "company"): "Corporation",
    ("organization", "funder"): "FundingAgency",
    ("organization", "network"): "Organization",
    ("organization", None): "Organization",
    ("person", None): "Person",
    ("project", "programme"): "FundingScheme",
    ("project", None): "ResearchProject",
    ("document", "paper"): "ScholarlyArticle",
    ("document", "report"): "Report",
    ("document", "news"): "NewsArticle",
    ("document", "dataset"): "Dataset",
    ("document", "policy"): "Legislation",
    ("document", "guideline"): "HowTo",
    ("document", "manual"): "TechArticle",
    ("document", "case_study"): "Article",
    ("document", None): "CreativeWork",
    ("opportunity", "funding_call"): "Grant",
    ("opportunity", "funding_programme"): "Grant",
    ("opportunity", "research_call"): "Grant",
    ("opportunity", "fellowship"): "Grant",
    ("opportunity", "event"): "Event",
    ("opportunity", None): "CreativeWork",
    ("place", "city"): "City",
    ("place", "country"): "Country",
    ("place", "region"): "AdministrativeArea",
    ("place", None): "Place",
    ("theme", None): "DefinedTerm",
}

#: relation type -> schema.org property on the source node (None: citybridge vocabulary only)
SCHEMA_PROPERTIES: dict[str, str] = {
    "member_of": "memberOf",
    "affiliated_with": "affiliation",
    "located_in": "location",
    "about": "about",
    "funded_by": "funder",
    "cites": "citation",
    "expert_in": "knowsAbout",
    "serves_region": "areaServed",
    "partner_in": "cb:partnerIn",
    "leads": "cb:leads",
    "authored": "cb:authored",
    "related_to": "cb:relatedTo",
}

JSONLD_CONTEXT = {
    "@vocab": "https://schema.org/",
    "cb": "https://citybridge.org/vocab#",
    "identifier": "https://schema.org/identifier",
    "dateCreated": {"@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
    "dateModified": {"@type": "http://www.w3.org/2001/XMLSchema#dateTime"},
}

_FIELD_TO_SCHEMA = {
    "name": "name", "description": "description", "website": "url", "url": "url", "acronym": "alternateName",
    "aliases": "alternateName", "start_date": "startDate", "end_date": "endDate", "published": "datePublished",
    "deadline": "cb:deadline", "opens": "cb:opens", "lat": "latitude", "lon": "longitude",
    "population": "cb:population", "country": "cb:countryCode", "languages": "inLanguage", "tags": "keywords",
    "keywords": "keywords", "email": "email", "given_name": "givenName", "family_name": "familyName",
    "body": "text", "year": "cb:year", "code": "termCode", "scheme": "inDefinedTermSet",
    "total_cost": "cb:totalCost", "funding": "cb:funding", "programme": "cb:programme",
}


def _csv_columns(kind: str | None) -> list[str]:
    models = [KIND_MODELS[Kind(kind)]] if kind and kind != "relation" else list(KIND_MODELS.values())
    cols: list[str] = ["kind"]
    if kind != "relation":
        for model in models:
            for name in model.model_fields:
                if name not in cols:
                    cols.append(name)
    if kind in (None, "relation"):
        for name in Relation.model_fields:
            if name not in cols:
                cols.append(name)
    return cols


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


class Exporter:
    """Streams the store in one of the export formats."""

    def __init__(self, store: Store, keep: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.store = store
        self.keep = keep  # e.g. a caller's visibility filter; None keeps everything

    def _bodies(self, kind: str | None) -> Iterator[dict[str, Any]]:
        if self.keep is None:
            yield from self._all_bodies(kind)
        else:
            yield from filter(self.keep, self._all_bodies(kind))

    def _all_bodies(self, kind: str | None) -> Iterator[dict[str, Any]]:
        if kind not in (None, "relation"):
            if kind not in {k.value for k in Kind}:
                raise Invalid(f"unknown kind '{kind}'", field="kind")
            yield from self.store.iter_record_dicts(kind)
            return
        if kind is None:
            yield from self.store.iter_record_dicts(None)
        for body in self.store.iter_relation_dicts():
            yield {"kind": "relation", **{k: v for k, v in body.items() if k != "kind"}}

    def write(self, out: IO[str], fmt: Format, *, kind: str | None = None) -> int:
        """Write the export to ``out``; returns the number of items written."""
        if fmt == "jsonl":
            return self._jsonl(out, kind)
        if fmt == "csv":
            return self._csv(out, kind)
        if fmt == "jsonld":
            return self._jsonld(out, kind)
        raise Invalid(f"unknown export format '{fmt}' (jsonl, csv, jsonld)", field="format")

    def _jsonl(self, out: IO[str], kind: str | None) -> int:
        n = 0
        for body in self._bodies(kind):
            out.write(json.dumps(body, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
        return n

    def _csv(self, out: IO[str], kind: str | None) -> int:
        cols = _csv_columns(kind)
        writer = csv.writer(out, lineterminator="\r\n")  # quotes any cell holding \r or \n
        writer.writerow(cols)
        n = 0
        for body in self._bodies(kind):
            writer.writerow([_csv_value(body.get(c)) for c in cols])
            n += 1
        return n

    def _jsonld(self, out: IO[str], kind: str | None) -> int:
        out.write('{"@context": ' + json.dumps(JSONLD_CONTEXT) + ', "@graph": [\n')
        n = 0
        for body in self._bodies(kind):
            node = self._relation_node(body) if body.get("kind") == "relation" else self._record_node(body)
            out.write(("" if n == 0 else ",\n") + json.dumps(node, ensure_ascii=False))
            n += 1
        out.write("\n]}\n")
        return n

    @staticmethod
    def _record_node(body: dict[str, Any]) -> dict[str, Any]:
        kind = body["kind"]
        subtype = body.get({"organization": "org_type", "document": "doc_type", "opportunity": "opp_type",
                            "place": "place_type", "project": "project_type"}.get(kind, ""))
        stype = SCHEMA_TYPES.get((kind, subtype)) or SCHEMA_TYPES[(kind, None)]
        node: dict[str, Any] = {"@id": f"cb:{body['id']}", "@type": stype, "cb:kind": kind}
        if subtype:
            node["cb:subtype"] = subtype
        for key, value in body.items():
            if key in ("id", "kind", "external_ids", "provenance", "created_at", "updated_at", "attributes",
                       "visibility", "owner", "labels"):
                continue
            prop = _FIELD_TO_SCHEMA.get(key, f"cb:{key}")
            if prop in node and isinstance(node[prop], list):
                node[prop] = node[prop] + (value if isinstance(value, list) else [value])
            elif prop in node:
                node[prop] = [node[prop]] + (value if isinstance(value, list) else [value])
            else:
                node[prop] = value
        ids = body.get("external_ids") or {}
        if ids:
            node["identifier"] = [
                {"@type": "PropertyValue", "propertyID": s, "value": v} for s, v in sorted(ids.items())
            ]
            if "doi" in ids:
                node["sameAs"] = f"https://doi.org/{ids['doi']}"
            elif "ror" in ids:
                node["sameAs"] = f"https://ror.org/{ids['ror']}"
            elif "orcid" in ids:
                node["sameAs"] = f"https://orcid.org/{ids['orcid']}"
        if body.get("labels"):
            node["cb:labels"] = [{"@value": v, "@language": k} for k, v in sorted(body["labels"].items())]
        if body.get("lat") is not None and body.get("lon") is not None:
            node["geo"] = {"@type": "GeoCoordinates", "latitude": body["lat"], "longitude": body["lon"]}
        node["dateCreated"] = body.get("created_at")
        node["dateModified"] = body.get("updated_at")
        node["cb:visibility"] = body.get("visibility", "public")
        if body.get("provenance"):
            node["cb:provenance"] = body["provenance"]
        if body.get("attributes"):
            node["cb:attributes"] = body["attributes"]
        return node

    @staticmethod
    def _relation_node(body: dict[str, Any]) -> dict[str, Any]:
        prop = SCHEMA_PROPERTIES.get(body["type"], f"cb:{body['type']}")
        node: dict[str, Any] = {
            "@id": f"cb:{body['id']}", "@type": "cb:Relation", "cb:relationType": body["type"],
            "cb:schemaProperty": prop, "cb:source": {"@id": f"cb:{body['source']}"},
            "cb:target": {"@id": f"cb:{body['target']}"},
        }
        for key in ("role", "start_date", "end_date", "weight", "attributes", "provenance", "visibility"):
            if body.get(key) not in (None, {}, []):
                node[f"cb:{key}"] = body[key]
        return node
