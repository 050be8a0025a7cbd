"""Records and relations as JSON-LD nodes that use real schema.org terms only, the rest in the citybridge
vocabulary (:mod:`citybridge.interop.vocabulary`).

Each kind has its schema.org type by subtype (a project is a ``ResearchProject``, a paper a
``ScholarlyArticle``, a call a ``MonetaryGrant``, an SDG a ``DefinedTerm`` ...); a field becomes a schema.org
property only where schema.org defines it for that type (``dateCreated`` exists for creative works, not for
organisations), external ids become ``identifier`` values and ``sameAs`` links (ROR, ORCID, DOI, Wikidata,
GeoNames, UN SDG), and each relation becomes the schema.org property that fits both ends (``funder``,
``member``, ``author``, ``location``, ``about``, ``knowsAbout`` ...) plus a ``cb:Relation`` node keeping its
role and dates.
"""

from __future__ import annotations

import json
from typing import Any

from citybridge.interop.vocabulary import vocab_namespace

XSD = "http://www.w3.org/2001/XMLSchema#"

SCHEMA_TYPES: dict[tuple[str, str | None], str] = {
    ("organization", "local_government"): "GovernmentOrganization",
    ("organization", "university"): "CollegeOrUniversity",
    ("organization", "research_institute"): "ResearchOrganization",
    ("organization", "ngo"): "NGO",
    ("organization", "company"): "Corporation",
    ("organization", "funder"): "FundingAgency",
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
    ("opportunity", "event"): "Event",
    ("opportunity", None): "MonetaryGrant",
    ("place", "city"): "City",
    ("place", "country"): "Country",
    ("place", "region"): "AdministrativeArea",
    ("place", None): "Place",
    ("theme", None): "DefinedTerm",
}

SUBTYPE_FIELD = {"organization": "org_type", "document": "doc_type", "opportunity": "opp_type",
                 "place": "place_type", "project": "project_type"}

#: scheme -> resolver prefix of the IRIs ``sameAs`` links to
SAME_AS = {"ror": "https://ror.org/", "orcid": "https://orcid.org/", "doi": "https://doi.org/",
           "wikidata": "http://www.wikidata.org/entity/", "geonames": "https://sws.geonames.org/",
           "isni": "https://isni.org/isni/", "openalex": "https://openalex.org/"}
#: the UN's SDG knowledge organisation system (goals and targets by code)
SDG_IRI = "http://metadata.un.org/sdg/"

_DATE_TERMS = ("datePublished", "foundingDate", "dissolutionDate", "startDate", "endDate",
               "cb:startDate", "cb:endDate", "cb:opens", "cb:deadline")
_DATETIME_TERMS = ("dateCreated", "dateModified", "cb:created", "cb:modified", "cb:retrievedAt")


def family(schema_type: str) -> str:
    """The coarse family of a schema type: which properties its nodes may carry."""
    if schema_type in ("Person",):
        return "person"
    if schema_type in ("Event",):
        return "event"
    if schema_type in ("MonetaryGrant", "Grant"):
        return "grant"
    if schema_type in ("City", "Country", "AdministrativeArea", "Place"):
        return "place"
    if schema_type == "DefinedTerm":
        return "term"
    if schema_type in ("GovernmentOrganization", "CollegeOrUniversity", "ResearchOrganization", "NGO",
                       "Corporation", "FundingAgency", "Organization", "ResearchProject", "FundingScheme"):
        return "org"
    return "work"


def schema_type(kind: str, subtype: str | None) -> str:
    return SCHEMA_TYPES.get((kind, subtype)) or SCHEMA_TYPES[(kind, None)]


class LinkedData:
    """Builds JSON-LD nodes for one instance base IRI (see :mod:`citybridge.interop.vocabulary`)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.vocab = vocab_namespace(self.base)

    # ------------------------------------------------------------------ IRIs and context
    def record_iri(self, record_id: str) -> str:
        return f"{self.base}/entity/{record_id}"

    def relation_iri(self, relation_id: str) -> str:
        return f"{self.base}/relation/{relation_id}"

    def context(self) -> dict[str, Any]:
        ctx: dict[str, Any] = {"@vocab": "https://schema.org/", "cb": self.vocab, "xsd": XSD}
        for term in _DATE_TERMS:
            ctx[term] = {"@type": "xsd:date"}
        for term in _DATETIME_TERMS:
            ctx[term] = {"@type": "xsd:dateTime"}
        for term in ("sameAs", "url", "license", "isBasedOn", "cb:source", "cb:target"):
            ctx[term] = {"@type": "@id"}
        return ctx

    # ------------------------------------------------------------------ records
    def record_node(self, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON-LD node of a record (a stored record dict, as the exporter reads it)."""
        kind = body["kind"]
        subtype = body.get(SUBTYPE_FIELD.get(kind, ""))
        stype = schema_type(kind, subtype)
        fam = family(stype)
        node: dict[str, Any] = {"@id": self.record_iri(body["id"]), "@type": stype, "cb:kind": kind}
        if subtype:
            node["cb:subtype"] = subtype

        def add(prop: str, value: Any) -> None:
            if value in (None, "", [], {}):
                return
            values = value if isinstance(value, list) else [value]
            node.setdefault(prop, [])
            node[prop].extend(values)

        add("name", body.get("name"))
        add("description", body.get("description"))
        add("alternateName", body.get("acronym"))
        add("alternateName", body.get("aliases"))
        add("alternateName", body.get("ascii_name") if body.get("ascii_name") != body.get("name") else None)
        for lang, label in sorted((body.get("labels") or {}).items()):
            add("alternateName", {"@value": label, "@language": lang})
        url = body.get("website") or body.get("url") or body.get("homepage")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            add("url", url)
        self._languages_and_tags(fam, body, add)
        self._country(fam, body, add)
        getattr(self, f"_{kind}")(body, add, fam)
        self._identifiers(body, add)
        if fam == "work":
            add("dateCreated", body.get("created_at"))
            add("dateModified", body.get("updated_at"))
        else:
            add("cb:created", body.get("created_at"))
            add("cb:modified", body.get("updated_at"))
        add("cb:visibility", body.get("visibility", "public"))
        for prov in body.get("provenance") or []:
            add("cb:derivedFrom", self._provenance(prov))
        if body.get("attributes"):
            add("cb:attributes", json.dumps(body["attributes"], ensure_ascii=False, sort_keys=True))
        return {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in node.items()}

    @staticmethod
    def _languages_and_tags(fam: str, body: dict[str, Any], add: Any) -> None:
        langs = body.get("languages") or []
        if fam in ("work", "event"):
            add("inLanguage", langs)
        elif fam in ("org", "person"):
            add("knowsLanguage", langs)
        else:
            add("cb:language", langs)
        tags = body.get("tags") or []
        if fam in ("work", "event", "org", "place"):
            add("keywords", tags)
        elif fam == "person":
            add("knowsAbout", tags)
        else:
            add("cb:tag", tags)

    @staticmethod
    def _country(fam: str, body: dict[str, Any], add: Any) -> None:
        address: dict[str, Any] = {}
        if body.get("kind") == "organization":
            for field, prop in (("address", "streetAddress"), ("city", "addressLocality"),
                                ("region", "addressRegion")):
                if body.get(field):
                    address[prop] = body[field]
        if body.get("country"):
            if fam in ("org", "person", "place"):
                address["addressCountry"] = body["country"]
            else:
                add("cb:country", body["country"])
        if address and body.get("kind") != "project":
            add("address", {"@type": "PostalAddress", **address})
        elif address:
            add("cb:country", body["country"])

    def _organization(self, body: dict[str, Any], add: Any, fam: str) -> None:
        if body.get("established"):
            add("foundingDate", {"@value": str(body["established"]), "@type": XSD + "gYear"})
        add("cb:status", body.get("status"))
        if body.get("lat") is not None and body.get("lon") is not None:
            add("location", {"@type": "Place", "geo": {"@type": "GeoCoordinates", "latitude": body["lat"],
                                                          "longitude": body["lon"]}})

    def _person(self, body: dict[str, Any], add: Any, fam: str) -> None:
        add("givenName", body.get("given_name"))
        add("familyName", body.get("family_name"))
        add("email", body.get("email"))

    def _project(self, body: dict[str, Any], add: Any, fam: str) -> None:
        add("cb:startDate", body.get("start_date"))
        add("cb:endDate", body.get("end_date"))
        currency = body.get("currency") or "EUR"
        if body.get("funding") is not None:
            add("funding", {"@type": "MonetaryGrant",
                            "amount": {"@type": "MonetaryAmount", "value": body["funding"], "currency": currency}})
        if body.get("total_cost") is not None:
            add("cb:totalCost", {"@type": "MonetaryAmount", "value": body["total_cost"], "currency": currency})
        add("cb:programme", body.get("programme"))
        add("cb:status", body.get("status"))

    def _document(self, body: dict[str, Any], add: Any, fam: str) -> None:
        add("text", body.get("body"))
        add("datePublished", body.get("published"))
        if body.get("year"):
            add("copyrightYear", body["year"])
        add("author", [{"@type": "Person", "name": a} for a in body.get("authors") or []])
        if body.get("venue"):
            add("isPartOf", {"@type": "Periodical", "name": body["venue"]})
        if body.get("publisher"):
            add("publisher", {"@type": "Organization", "name": body["publisher"]})
        add("cb:contentHash", body.get("content_hash"))
        add("cb:pages", body.get("pages"))
        add("isBasedOn", [p["url"] for p in body.get("provenance") or [] if p.get("url")])

    def _opportunity(self, body: dict[str, Any], add: Any, fam: str) -> None:
        if fam == "event":
            add("startDate", body.get("opens"))
            add("endDate", body.get("deadline"))
        else:
            add("cb:opens", body.get("opens"))
            add("cb:deadline", body.get("deadline"))
            if body.get("amount") is not None:
                add("amount", {"@type": "MonetaryAmount", "value": body["amount"],
                               "currency": body.get("currency") or "EUR"})
        if body.get("funder"):
            add("funder", {"@type": "Organization", "name": body["funder"]})
        add("cb:eligibility", body.get("eligibility"))

    def _place(self, body: dict[str, Any], add: Any, fam: str) -> None:
        if body.get("lat") is not None and body.get("lon") is not None:
            add("geo", {"@type": "GeoCoordinates", "latitude": body["lat"], "longitude": body["lon"]})
        add("cb:admin1", body.get("admin1"))
        add("cb:population", body.get("population"))
        add("cb:unRegion", body.get("un_region"))
        add("cb:capital", body.get("capital"))

    def _theme(self, body: dict[str, Any], add: Any, fam: str) -> None:
        add("termCode", body.get("code"))
        scheme = body.get("scheme")
        if scheme:
            add("inDefinedTermSet", {"@id": f"{self.base}/themes/{scheme}", "@type": "DefinedTermSet",
                                     "name": scheme})
        if scheme == "sdg" and body.get("code"):
            add("sameAs", SDG_IRI + body["code"])
        add("cb:parentCode", body.get("parent"))
        add("cb:level", body.get("level"))
        add("cb:tag", body.get("keywords"))

    def _identifiers(self, body: dict[str, Any], add: Any) -> None:
        add("identifier", body["id"])
        for scheme, value in sorted((body.get("external_ids") or {}).items()):
            add("identifier", {"@type": "PropertyValue", "propertyID": scheme, "value": value})
            if scheme in SAME_AS:
                add("sameAs", SAME_AS[scheme] + value)
            elif scheme == "website" and value.startswith(("http://", "https://")):
                add("sameAs", value)

    @staticmethod
    def _provenance(prov: dict[str, Any]) -> dict[str, Any]:
        node: dict[str, Any] = {"@type": "Dataset", "name": prov.get("source")}
        if prov.get("url"):
            node["url"] = prov["url"]
        if prov.get("licence"):
            lic = prov["licence"]
            node["license"] = lic if lic.startswith(("http://", "https://")) else None
            if node["license"] is None:
                node.pop("license")
                node["usageInfo"] = lic
        if prov.get("record_id"):
            node["cb:sourceRecordId"] = prov["record_id"]
        if prov.get("retrieved_at"):
            node["cb:retrievedAt"] = prov["retrieved_at"]
        return node

    # ------------------------------------------------------------------ relations
    def relation_nodes(self, body: dict[str, Any], source_type: str | None,
                       target_type: str | None) -> list[dict[str, Any]]:
        """The nodes a relation contributes: the schema.org (or citybridge) property on the record at the end it
        fits, and a ``cb:Relation`` node with the relation's own data. ``*_type`` are the schema types of its
        ends (None when the end is not exported)."""
        src, tgt = self.record_iri(body["source"]), self.record_iri(body["target"])
        nodes: list[dict[str, Any]] = []
        if source_type and target_type:
            on_source, prop, inverse = relation_property(body["type"], source_type, target_type)
            if on_source:
                nodes.append({"@id": src, prop: {"@id": tgt}})
            else:
                nodes.append({"@id": tgt, prop: {"@id": src}})
            if inverse:
                nodes.append({"@id": tgt, inverse: {"@id": src}})
        rel: dict[str, Any] = {"@id": self.relation_iri(body["id"]), "@type": "cb:Relation",
                               "cb:relationType": body["type"], "cb:source": src, "cb:target": tgt}
        for key, prop in (("role", "cb:role"), ("start_date", "cb:startDate"), ("end_date", "cb:endDate"),
                          ("weight", "cb:weight"), ("visibility", "cb:visibility")):
            if body.get(key) not in (None, ""):
                rel[prop] = body[key]
        if body.get("attributes"):
            rel["cb:relationAttributes"] = json.dumps(body["attributes"], ensure_ascii=False, sort_keys=True)
        for prov in body.get("provenance") or []:
            rel.setdefault("cb:derivedFrom", []).append(self._provenance(prov))
        nodes.append(rel)
        return nodes


def relation_property(rel_type: str, source_type: str, target_type: str) -> tuple[bool, str, str | None]:
    """(on the source?, property, inverse property on the target or None) for a relation between nodes of
    these schema types; schema.org's where its domain and range fit, otherwise the citybridge term."""
    s, t = family(source_type), family(target_type)
    if rel_type == "member_of":
        return True, "memberOf", "member"
    if rel_type == "affiliated_with":
        return (True, "affiliation", None) if s == "person" else (True, "cb:affiliatedWith", None)
    if rel_type == "partner_in":
        return (False, "member", None) if t == "org" else (True, "cb:partnerIn", None)
    if rel_type == "leads":
        return True, "cb:leads", None
    if rel_type == "authored":
        return False, "author", None
    if rel_type == "about":
        if s in ("work", "event"):
            return True, "about", None
        if s in ("org", "person") and t == "term":
            return True, "knowsAbout", None
        if s == "org" and t == "place":
            return True, "areaServed", None
        return True, "cb:about", None
    if rel_type == "located_in":
        if s in ("org", "event"):
            return True, "location", None
        if s == "place":
            return True, "containedInPlace", "containsPlace"
        if s == "work":
            return True, "spatialCoverage", None
        if s == "person":
            return True, "homeLocation", None
        return True, "cb:locatedIn", None
    if rel_type == "funded_by":
        if t == "org" and target_type != "ResearchProject" and s in ("org", "person", "work", "grant", "event"):
            return True, "funder", None
        if t == "grant" and s in ("org", "person", "work", "event"):
            return True, "funding", "fundedItem"
        return True, "cb:fundedBy", None
    if rel_type == "cites":
        return True, "citation", None
    if rel_type == "serves_region":
        return True, "areaServed", None
    if rel_type == "expert_in":
        return True, "knowsAbout", None
    return True, "cb:relatedTo", None
